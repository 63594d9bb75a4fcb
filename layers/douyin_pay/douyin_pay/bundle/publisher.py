"""Publishing the stream's domain events to EventBridge, at least once, in order per object.

Lambda reads the table's stream shard by shard, in order, and hands the publisher a batch of
records. Their events go out in PutEvents calls of up to 10 entries. If an entry fails (or the call
does), the batch reports the first record not fully published as its failure (Lambda's
``ReportBatchItemFailures`` for streams): Lambda then retries from that record on, so nothing after
it is skipped and the order per object holds. Records after it that were already published go out
again — with the same ``event_id``, which consumers dedupe on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .domain_events import DomainEvent, events_of

MAX_ENTRIES = 10  # PutEvents' limit per call


@dataclass(frozen=True)
class PublishResult:
    """What one batch of stream records did on the bus."""

    published: int  # events accepted by the bus
    failed_record: str | None  # the sequence number to retry from (None: the whole batch is out)

    def batch_response(self) -> dict[str, Any]:
        failures = [{"itemIdentifier": self.failed_record}] if self.failed_record else []
        return {"batchItemFailures": failures}


class Publisher:
    def __init__(self, events_client: Any, bus: str) -> None:
        self._client = events_client
        self._bus = bus

    def publish(self, records: Sequence[Mapping[str, Any]]) -> PublishResult:
        pending: list[tuple[str, DomainEvent]] = [
            (record["dynamodb"]["SequenceNumber"], event) for record in records for event in events_of(record)
        ]
        published = 0
        for start in range(0, len(pending), MAX_ENTRIES):
            chunk = pending[start : start + MAX_ENTRIES]
            failed = self._put(chunk)
            if failed is not None:
                return PublishResult(published + failed, chunk[failed][0])
            published += len(chunk)
        return PublishResult(published, None)

    def _put(self, chunk: list[tuple[str, DomainEvent]]) -> int | None:
        """Index of the first entry the bus did not take (None: all taken)."""
        try:
            answer = self._client.put_events(Entries=[event.entry(self._bus) for _, event in chunk])
        except Exception:  # noqa: BLE001 - any failure of the call: retry this chunk's first record on
            return 0
        if not answer.get("FailedEntryCount"):
            return None
        for index, entry in enumerate(answer.get("Entries", [])):
            if entry.get("ErrorCode") or not entry.get("EventId"):
                return index
        return 0
