"""Fault injection on the AWS side: DynamoDB throttling at each write of each path. The caller
always gets a clear, retryable answer, nothing half-done is left behind, and every object still
reaches its final state. (Platform faults — timeouts, 5xx, 1000, 1001, garbage, HTML — are in
test_api.py and test_reconcile.py.)"""

from __future__ import annotations

import time

import pytest
from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import MockRawResponse

from douyin_pay.bundle import runtime
from douyin_pay.bundle.schedule import SUBMIT_LEASE
from tests.bundle.harness import notice_body, payment_msg
from tests.bundle.test_api import ORDER


class Throttle:
    """Answers the next ``times`` calls of one DynamoDB operation with
    ProvisionedThroughputExceededException, as the SDK raises it once its own retries are spent.

    Injected at botocore's ``before-call`` (which short-circuits the request), so the emulator never
    applies a throttled request — as DynamoDB does not."""

    def __init__(self, operation: str, times: int) -> None:
        self.operation = operation
        self.left = times
        self.answered = 0

    def __call__(self, **_):
        if self.left <= 0:
            return None
        self.left -= 1
        self.answered += 1
        http = AWSResponse("https://dynamodb.local/", 400, {}, MockRawResponse(b""))
        parsed = {
            "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate of requests exceeds capacity"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        return http, parsed

    def install(self) -> Throttle:
        runtime.aws_client("dynamodb").meta.events.register_first(f"before-call.dynamodb.{self.operation}", self)
        return self


def test_throttled_claim_is_503_and_writes_nothing(bundle):
    throttle = Throttle("PutItem", 1).install()
    status, body = bundle.create_payment(ORDER)
    assert (status, body["code"], body["retryable"]) == (503, "store_unavailable", True)
    assert throttle.answered == 1
    assert bundle.table_items() == []
    assert bundle.sim.state()["orders"] == {}  # the platform was never called
    assert bundle.create_payment(ORDER)[0] == 201


def test_throttled_result_write_after_the_platform_accepted(bundle):
    Throttle("UpdateItem", 1).install()
    status, body = bundle.create_payment(ORDER)
    assert (status, body["code"], body["retryable"]) == (503, "store_unavailable", True)
    assert "order-1" in bundle.sim.state()["orders"]  # the platform has the order
    assert bundle.item("ORDER#order-1", "ORDER")["status"] == "SUBMITTING"
    # Retrying at once finds the claim still leased to the failed attempt.
    status, body = bundle.create_payment(ORDER)
    assert (status, body["code"], body["retryable"]) == (409, "request_in_progress", True)
    bundle.advance(SUBMIT_LEASE + 1)
    status, body = bundle.create_payment(ORDER)  # takes over, resends the identical body
    assert status == 201
    assert body["order_id"] == bundle.sim.state()["orders"]["order-1"]["order_id"]
    assert len(bundle.sim.state()["orders"]) == 1


def test_throttled_callback_asks_the_platform_to_retry_and_applies_later(bundle):
    bundle.create_payment(ORDER)
    throttle = Throttle("UpdateItem", 1).install()
    notice = notice_body("payment", payment_msg("order-1", 12800))
    status, reply = bundle.callback(notice)
    assert status == 503
    assert reply == {"err_no": 503, "err_tips": "storage is busy; retry"}  # not 0: the platform retries
    assert throttle.answered == 1
    assert bundle.item("ORDER#order-1", "ORDER")["status"] == "CREATED"
    assert "notices" not in bundle.item("ORDER#order-1", "ORDER")  # nothing of the notice was kept
    assert bundle.callback(notice) == (200, {"err_no": 0, "err_tips": "success"})  # the platform's retry
    assert bundle.item("ORDER#order-1", "ORDER")["status"] == "PAID"


@pytest.mark.parametrize("operation", ["GetItem", "UpdateItem"])
def test_throttled_reconcile_step_is_redelivered(bundle, operation):
    bundle.create_payment(ORDER)
    bundle.sim.pay("order-1")
    Throttle(operation, 1).install()
    from douyin_pay.bundle.queue import ReconcileMessage
    from douyin_pay.bundle.states import Kind
    from local.events import sqs_event

    event = sqs_event(
        [
            {"body": ReconcileMessage(Kind.ORDER, "order-1").body()},
            {"body": ReconcileMessage(Kind.ORDER, "order-1").body()},
        ]
    )
    response = bundle.invoke("reconcile", event)
    # The throttled record is reported failed (SQS redelivers it); the other one went through.
    assert len(response["batchItemFailures"]) == 1
    assert bundle.item("ORDER#order-1", "ORDER")["status"] == "PAID"


def short_platform_timeout(monkeypatch) -> None:
    from douyin_pay.bundle.platforms import ecpay as ecpay_adapter

    monkeypatch.setattr(ecpay_adapter, "PLATFORM_READ_TIMEOUT", 0.3)
    for adapters in runtime._platforms.values():
        adapters.close()  # the next platform client is built with it


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_platform_timing_out_on_create_is_retryable_and_the_retry_gets_the_same_order(bundle, monkeypatch):
    short_platform_timeout(monkeypatch)
    # The platform applies the request but answers only after the client gave up.
    bundle.sim.configure(fault_timeout_seconds=1.0)
    bundle.sim.inject_fault("create_order", "timeout")
    status, body = bundle.create_payment(ORDER)
    assert (status, body["code"], body["retryable"]) == (503, "platform_unavailable", True)
    wait_until(lambda: "order-1" in bundle.sim.state()["orders"])  # it did reach the platform
    status, body = bundle.create_payment(ORDER)  # the identical retry takes over at once
    assert status == 201
    assert body["order_id"] == bundle.sim.state()["orders"]["order-1"]["order_id"]
    assert len(bundle.sim.state()["orders"]) == 1


def test_platform_timing_out_during_reconciliation_reschedules(bundle, monkeypatch):
    bundle.create_payment(ORDER)
    bundle.sim.pay("order-1")
    short_platform_timeout(monkeypatch)
    bundle.sim.configure(fault_timeout_seconds=1.0)
    bundle.sim.inject_fault("query_order", "timeout")
    from douyin_pay.bundle.queue import ReconcileMessage
    from douyin_pay.bundle.states import Kind
    from local.events import sqs_event

    body = ReconcileMessage(Kind.ORDER, "order-1").body()
    assert bundle.invoke("reconcile", sqs_event([{"body": body}])) == {"batchItemFailures": []}
    assert bundle.item("ORDER#order-1", "ORDER")["status"] == "CREATED"  # unknown yet: try again later
    assert bundle.item("ORDER#order-1", "ORDER")["reconcile_attempts"] == 1
    assert bundle.invoke("reconcile", sqs_event([{"body": body}])) == {"batchItemFailures": []}
    assert bundle.item("ORDER#order-1", "ORDER")["status"] == "PAID"
