"""SQS partial batch responses (the event source mapping's ReportBatchItemFailures), for the queue
consumers.

Powertools' batch utility does the same, but importing it loads the data classes of every event
source it knows and asyncio: about 25 ms of each consumer's cold start, for the three fields of an
SQS record these consumers read. Its behaviour is kept: a record whose handler raises is reported
by its message id (SQS makes only that one visible again); a batch in which every record failed
raises :class:`EntireBatchFailed` unless told not to, so the invocation fails as Lambda counts
errors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class _Logger(Protocol):
    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None: ...


@dataclass(frozen=True)
class SqsRecord:
    """What a consumer reads of one SQS record."""

    message_id: str
    body: str
    receipt_handle: str
    receive_count: int  # ApproximateReceiveCount: 1 on the first delivery

    @classmethod
    def from_event(cls, raw: Mapping[str, Any]) -> SqsRecord:
        attributes = raw.get("attributes") or {}
        return cls(
            message_id=str(raw["messageId"]),
            body=str(raw.get("body") or ""),
            receipt_handle=str(raw.get("receiptHandle") or ""),
            receive_count=int(attributes.get("ApproximateReceiveCount") or 1),
        )


class EntireBatchFailed(Exception):
    """Every record of the batch failed: the invocation fails, and SQS redelivers them all."""

    def __init__(self, failures: list[tuple[str, BaseException]]) -> None:
        self.failures = failures
        kinds = sorted({type(exc).__name__ for _, exc in failures})
        super().__init__(f"all {len(failures)} records failed ({', '.join(kinds)})")


def process_batch(
    event: Mapping[str, Any],
    handle: Callable[[SqsRecord], None],
    logger: _Logger,
    *,
    raise_on_entire_batch_failure: bool = True,
) -> dict[str, list[dict[str, str]]]:
    """Run ``handle`` on each record in order; the answer Lambda expects, naming the failed ones."""
    raws = event.get("Records") or []
    failures: list[tuple[str, BaseException]] = []
    for raw in raws:
        record = SqsRecord.from_event(raw)
        try:
            handle(record)
        except Exception as exc:  # any failure: the record is left for SQS to deliver again
            failures.append((record.message_id, exc))
            logger.warning(
                "record failed; SQS delivers it again",
                extra={"message_id": record.message_id, "error": type(exc).__name__},
                exc_info=exc,
            )
    if raws and len(failures) == len(raws) and raise_on_entire_batch_failure:
        raise EntireBatchFailed(failures)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id, _ in failures]}
