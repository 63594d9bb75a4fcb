"""Domain events end to end on the local stack: the table's stream → the publisher → the bus → the
merchant's queue (a rule), under duplicate storms and concurrent identical callbacks."""

from __future__ import annotations

import json
import threading
import time

import requests

from tests.e2e.test_local_stack import create, pay, wait_status

WAIT = 20.0


def events_for(stack, ref: str, expected: int, inbox: list[dict]) -> list[dict]:
    """The events about ``ref`` once ``expected`` arrived, then one more second for any extra."""
    deadline = time.monotonic() + WAIT
    while len([e for e in inbox if e["detail"]["ref"] == ref]) < expected and time.monotonic() < deadline:
        inbox += stack.merchant_events()
        time.sleep(0.1)
    time.sleep(1.0)
    inbox += stack.merchant_events()
    return [e for e in inbox if e["detail"]["ref"] == ref]


def test_a_duplicate_storm_announces_each_change_once(stack):
    stack.sim.configure(duplicates=4)
    create(stack, "ev-dup-1")
    pay(stack, "ev-dup-1")
    wait_status(stack, "/payments/ev-dup-1", "PAID")
    events = events_for(stack, "ev-dup-1", 2, [])
    assert [e["detail-type"] for e in events] == ["Payment Created", "Payment Paid"]


def test_concurrent_identical_callbacks_announce_one_payment(stack):
    stack.sim.configure(drop=["payment"])
    create(stack, "ev-race-1")
    body = stack.sign_notice(
        "payment",
        {
            "appid": stack.config.app_id,
            "cp_orderno": "ev-race-1",
            "total_amount": 12800,
            "status": "SUCCESS",
            "way": "10",
            "order_id": "N1",
            "paid_at": 1,
        },
    )
    barrier = threading.Barrier(8)

    def deliver() -> None:
        barrier.wait()
        requests.post(stack.callback.url, data=body, timeout=10)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_status(stack, "/payments/ev-race-1", "PAID")
    events = events_for(stack, "ev-race-1", 2, [])
    assert [e["detail-type"] for e in events] == ["Payment Created", "Payment Paid"]
    paid = events[1]["detail"]
    assert (paid["previous_status"], paid["object"]["way"]) == ("CREATED", 10)


def test_a_failed_publish_is_delivered_on_the_retry(stack, monkeypatch):
    from douyin_pay.bundle import runtime

    client = runtime.aws_client("events")
    real = client.put_events
    failures = {"left": 3}

    def flaky(**kwargs):
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("the bus is unreachable")
        return real(**kwargs)

    monkeypatch.setattr(client, "put_events", flaky)
    create(stack, "ev-retry-1")
    events = events_for(stack, "ev-retry-1", 1, [])
    assert failures["left"] == 0  # the publish did fail, three times
    assert [e["detail-type"] for e in events] == ["Payment Created"]


def test_the_webhook_gets_every_event_with_its_header_and_retries_a_failing_endpoint(stack):
    webhook = stack.webhook
    webhook.status = 503  # the merchant's endpoint is down for a while
    create(stack, "ev-hook-1")
    time.sleep(1.5)
    assert webhook.received == []
    webhook.status = 200
    deadline = time.monotonic() + WAIT
    while not [e for e in webhook.received if e["detail"]["ref"] == "ev-hook-1"] and time.monotonic() < deadline:
        time.sleep(0.1)
    [event] = [e for e in webhook.received if e["detail"]["ref"] == "ev-hook-1"]
    assert event["detail-type"] == "Payment Created"
    assert webhook.refused == 0  # every request carried the connection's header


def test_an_event_the_webhook_refuses_goes_to_its_dead_letter_queue(stack):
    stack.webhook.status = 400  # a client error is not retried
    create(stack, "ev-hook-2")
    sqs = stack._client("sqs")
    deadline = time.monotonic() + WAIT
    parked: list = []
    while not parked and time.monotonic() < deadline:
        parked = sqs.receive_message(QueueUrl=stack.webhook_dlq_url, MaxNumberOfMessages=10).get("Messages", [])
        time.sleep(0.1)
    assert [json.loads(m["Body"])["detail"]["ref"] for m in parked] == ["ev-hook-2"]
