"""The queue consumers' partial batch responses (sqs_batch.py), which replace Powertools' batch
utility on the reconcile and order-sync consumers: the same answers, for less cold start."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.utilities.data_classes import SQSEvent

from douyin_pay.bundle.sqs_batch import EntireBatchFailed, SqsRecord, process_batch
from local.events import sqs_event
from tests.contracts.event_files import load_event


class Recorder:
    def __init__(self) -> None:
        self.lines: list[tuple[str, dict]] = []

    def warning(self, msg, *args, **kwargs) -> None:
        self.lines.append((msg, kwargs))


def failing_on(*bodies: str):
    seen: list[str] = []

    def handle(record: SqsRecord) -> None:
        seen.append(record.body)
        if record.body in bodies:
            raise ValueError(f"cannot handle {record.body}")

    return handle, seen


def test_every_record_handled_reports_no_failure():
    handle, seen = failing_on()
    event = sqs_event([{"body": "a"}, {"body": "b"}])
    assert process_batch(event, handle, Recorder()) == {"batchItemFailures": []}
    assert seen == ["a", "b"]


def test_a_failed_record_is_named_by_its_message_id_and_the_rest_still_run():
    handle, seen = failing_on("b")
    log = Recorder()
    event = sqs_event([{"body": "a"}, {"body": "b"}, {"body": "c"}])
    answer = process_batch(event, handle, log)
    assert answer == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    assert seen == ["a", "b", "c"]
    [(_, kwargs)] = log.lines
    assert kwargs["extra"] == {"message_id": event["Records"][1]["messageId"], "error": "ValueError"}
    assert isinstance(kwargs["exc_info"], ValueError)


def test_a_batch_that_failed_whole_fails_the_invocation():
    handle, _ = failing_on("a", "b")
    event = sqs_event([{"body": "a"}, {"body": "b"}])
    with pytest.raises(EntireBatchFailed) as raised:
        process_batch(event, handle, Recorder())
    assert [message_id for message_id, _ in raised.value.failures] == [r["messageId"] for r in event["Records"]]
    assert "all 2 records failed (ValueError)" in str(raised.value)


def test_or_reports_every_record_when_told_not_to_raise():
    handle, _ = failing_on("a", "b")
    event = sqs_event([{"body": "a"}, {"body": "b"}])
    answer = process_batch(event, handle, Recorder(), raise_on_entire_batch_failure=False)
    assert answer == {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}


def test_an_empty_batch_is_not_a_failure():
    handle, seen = failing_on()
    assert process_batch({"Records": []}, handle, Recorder()) == {"batchItemFailures": []}
    assert seen == []


def test_records_read_as_powertools_reads_them():
    # The sample event (events/reconcile_batch.json) through both readers.
    raw = load_event("reconcile_batch.json")
    ours = [SqsRecord.from_event(r) for r in raw["Records"]]
    theirs = list(SQSEvent(raw).records)
    assert [(r.message_id, r.body, r.receipt_handle, r.receive_count) for r in ours] == [
        (r.message_id, r.body, r.receipt_handle, int(r.attributes.approximate_receive_count)) for r in theirs
    ]
    assert [json.loads(r.body)["kind"] for r in ours] == ["order", "refund"]


def test_the_receive_count_is_read_from_the_attributes():
    event = sqs_event([{"body": "a", "receive_count": 4}])
    assert SqsRecord.from_event(event["Records"][0]).receive_count == 4
    del event["Records"][0]["attributes"]
    assert SqsRecord.from_event(event["Records"][0]).receive_count == 1
