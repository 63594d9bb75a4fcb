"""The HTTP API handlers (create payment / refund / settlement, query) against moto + the simulator."""

from __future__ import annotations

import json
import threading
import time
from typing import ClassVar

import pytest

from tests.bundle.harness import SALT, notice_body, payment_msg

ORDER = {
    "out_order_no": "order-1",
    "total_amount": 12800,
    "subject": "拿铁咖啡",
    "body": "拿铁 大杯 ×1",
    "valid_time": 1800,
    "cp_extra": "demo",
}


def paid_order(bundle, no: str = "order-1", amount: int = 12800) -> None:
    status, body = bundle.create_payment({**ORDER, "out_order_no": no, "total_amount": amount})
    assert status == 201, body
    bundle.sim.pay(no)
    status, reply = bundle.callback(notice_body("payment", payment_msg(no, amount)))
    assert (status, reply) == (200, {"err_no": 0, "err_tips": "success"})


class TestCreatePayment:
    def test_creates_on_the_platform_and_records_the_order(self, bundle):
        status, body = bundle.create_payment(ORDER)
        assert status == 201
        assert body["status"] == "CREATED"
        assert body["out_order_no"] == "order-1"
        assert body["total_amount"] == 12800
        assert body["order_id"]
        assert body["order_token"]
        assert bundle.sim.state()["orders"]["order-1"]["total_amount"] == 12800
        assert bundle.item("ORDER#order-1", "ORDER")["order_id"] == body["order_id"]

    def test_notify_url_is_always_the_callback_url(self, bundle):
        bundle.create_payment(ORDER)
        stored = json.loads(bundle.item("ORDER#order-1", "ORDER")["request"])
        assert stored["notify_url"] == "https://callback.localhost/"
        status, body = bundle.create_payment({**ORDER, "out_order_no": "o2", "notify_url": "https://evil.example/"})
        assert (status, body["code"], body["field"]) == (400, "unknown_field", "notify_url")

    def test_schedules_reconciliation(self, bundle):
        bundle.create_payment(ORDER)
        assert bundle.queue_depth() == 1
        item = bundle.item("ORDER#order-1", "ORDER")
        assert item["due_at"] > item["created_at"]

    def test_same_body_gets_the_same_answer(self, bundle):
        first = bundle.create_payment(ORDER)
        again = bundle.create_payment(ORDER)
        assert first[0] == 201
        assert again[0] == 200
        assert again[1]["order_token"] == first[1]["order_token"]
        assert list(bundle.sim.state()["orders"]) == ["order-1"]

    def test_different_body_is_a_conflict(self, bundle):
        bundle.create_payment(ORDER)
        status, body = bundle.create_payment({**ORDER, "total_amount": 1})
        assert (status, body["code"], body["retryable"]) == (409, "idempotency_conflict", False)

    def test_a_live_claim_is_a_retryable_conflict(self, bundle):
        # A concurrent duplicate: the first request has claimed the number and is still calling
        # the platform when the second arrives.
        bundle.sim.inject_fault("create_order", "timeout")
        bundle.sim.configure(fault_timeout_seconds=1.5)
        results = []
        slow = threading.Thread(target=lambda: results.append(bundle.create_payment(ORDER)))
        slow.start()
        deadline = time.monotonic() + 5
        while bundle.item("ORDER#order-1", "ORDER") is None and time.monotonic() < deadline:
            time.sleep(0.02)
        status, body = bundle.create_payment(ORDER)
        slow.join()
        assert (status, body["code"], body["retryable"]) == (409, "request_in_progress", True)

    @pytest.mark.parametrize(
        ("change", "field", "code"),
        [
            ({"total_amount": 0}, "total_amount", "amount_out_of_range"),
            ({"total_amount": 12.5}, "total_amount", "invalid_amount"),
            ({"total_amount": "12800"}, "total_amount", "invalid_amount"),
            ({"subject": "字" * 43}, "subject", "too_long"),
            ({"valid_time": 0}, "valid_time", "out_of_range"),
            ({"out_order_no": "bad no"}, "out_order_no", "invalid_business_no"),
            ({"surprise": 1}, "surprise", "unknown_field"),
        ],
    )
    def test_bad_input_is_a_400_and_writes_nothing(self, bundle, change, field, code):
        status, body = bundle.create_payment({**ORDER, **change})
        assert status == 400
        assert (body["code"], body["field"], body["retryable"]) == (code, field, False)
        assert bundle.table_items() == []
        assert bundle.queue_depth() == 0

    def test_missing_field(self, bundle):
        status, body = bundle.create_payment({k: v for k, v in ORDER.items() if k != "subject"})
        assert (status, body["code"], body["field"]) == (400, "missing_field", "subject")

    @pytest.mark.parametrize("raw", [b"not json", b"[1,2]", b"\xff\xfe"])
    def test_body_not_a_json_object(self, bundle, raw):
        status, body = bundle.api("POST", "/payments", route="POST /payments", raw=raw)
        assert status == 400
        assert body["code"] in ("invalid_json", "invalid_body")
        assert bundle.table_items() == []

    def test_oversized_body(self, bundle):
        status, body = bundle.api("POST", "/payments", route="POST /payments", raw=b'{"x": "' + b"a" * 70_000 + b'"}')
        assert (status, body["code"]) == (413, "body_too_large")

    @pytest.mark.parametrize(
        ("mode", "code", "err_no"),
        [
            ("err_1000", "platform_unavailable", 1000),
            ("err_1001", "platform_busy", 1001),  # rate limited: said so, not "did not answer"
            ("http_500", "platform_unavailable", None),
            ("garbage", "platform_unavailable", None),
            ("html", "platform_unavailable", None),
        ],
    )
    def test_retryable_platform_trouble_is_503_and_a_retry_succeeds(self, bundle, mode, code, err_no):
        bundle.sim.inject_fault("create_order", mode)
        got, body = bundle.create_payment(ORDER)
        assert (got, body["code"], body["retryable"]) == (503, code, True)
        assert body.get("err_no") == err_no
        item = bundle.item("ORDER#order-1", "ORDER")
        assert item["status"] == "SUBMITTING"  # kept, so the sweeper can settle it if nobody retries
        got, body = bundle.create_payment(ORDER)
        assert got == 201, body
        assert body["status"] == "CREATED"

    def test_platform_refusal_is_502_recorded_and_replayed(self, bundle):
        # A wrong SALT in the secret: the platform answers 2008, a definitive refusal.
        bundle.put_secret(salt="not-the-platform-salt")
        status, body = bundle.create_payment(ORDER)
        assert (status, body["code"], body["err_no"], body["retryable"]) == (502, "platform_rejected", 2008, False)
        item = bundle.item("ORDER#order-1", "ORDER")
        assert item["status"] == "FAILED"
        assert "due_at" not in item  # nothing left to reconcile
        assert bundle.queue_depth() == 0
        bundle.put_secret(salt=SALT)
        again = bundle.create_payment(ORDER)  # same body: same answer, the number is spent
        assert (again[0], again[1]["err_no"]) == (502, 2008)
        assert bundle.get("payments", "order-1")[1]["error"]["err_no"] == 2008


# The refund and settlement most tests make; other modules import these, never the test classes
# (an imported class is collected and run again there).
REFUND = {"out_refund_no": "refund-1", "refund_amount": 3000, "reason": "顾客取消一杯"}
SETTLE = {
    "out_settle_no": "settle-1",
    "settle_desc": "订单结算",
    "settle_params": [{"merchant_uid": "696458350318359362", "amount": 1000}],
}


class TestRefunds:
    REFUND: ClassVar[dict] = REFUND

    def test_refund_of_a_paid_order(self, bundle):
        paid_order(bundle)
        status, body = bundle.refund("order-1", self.REFUND)
        assert status == 201, body
        assert body["status"] == "PROCESSING"
        assert body["refund_no"]
        _, order = bundle.get("payments", "order-1")
        assert order["refundable_amount"] == 12800 - 3000
        assert order["refunded_or_pending_amount"] == 3000

    def test_refund_of_an_unpaid_order_is_refused_and_writes_nothing(self, bundle):
        bundle.create_payment(ORDER)
        before = bundle.table_items()
        status, body = bundle.refund("order-1", self.REFUND)
        assert (status, body["code"]) == (409, "order_not_paid")
        assert bundle.table_items() == before

    def test_refund_of_an_unknown_order(self, bundle):
        status, body = bundle.refund("nope", self.REFUND)
        assert (status, body["code"]) == (404, "order_not_found")
        assert bundle.table_items() == []

    def test_refunds_never_exceed_the_paid_amount(self, bundle):
        paid_order(bundle)
        assert bundle.refund("order-1", {**self.REFUND, "refund_amount": 10000})[0] == 201
        status, body = bundle.refund("order-1", {**self.REFUND, "out_refund_no": "refund-2", "refund_amount": 2801})
        assert (status, body["code"], body["refundable_amount"]) == (409, "refund_exceeds_refundable", 2800)
        assert bundle.refund("order-1", {**self.REFUND, "out_refund_no": "refund-3", "refund_amount": 2800})[0] == 201
        _, order = bundle.get("payments", "order-1")
        assert order["refundable_amount"] == 0

    def test_refund_is_idempotent_and_does_not_reserve_twice(self, bundle):
        paid_order(bundle)
        first = bundle.refund("order-1", self.REFUND)
        again = bundle.refund("order-1", self.REFUND)
        assert (first[0], again[0]) == (201, 200)
        assert again[1]["refund_no"] == first[1]["refund_no"]
        assert bundle.get("payments", "order-1")[1]["refundable_amount"] == 12800 - 3000
        status, body = bundle.refund("order-1", {**self.REFUND, "refund_amount": 1})
        assert (status, body["code"]) == (409, "idempotency_conflict")

    def test_unknown_outcome_keeps_the_reservation(self, bundle):
        paid_order(bundle)
        bundle.sim.inject_fault("create_refund", "err_1000")
        status, body = bundle.refund("order-1", self.REFUND)
        assert (status, body["retryable"]) == (503, True)
        # Outcome unknown: the reservation is kept until the refund is known to have failed.
        assert bundle.get("payments", "order-1")[1]["refundable_amount"] == 9800
        assert bundle.refund("order-1", self.REFUND)[0] == 201  # the identical retry goes through

    def test_platform_refusal_releases_the_reservation(self, bundle):
        paid_order(bundle)
        bundle.put_secret(salt="not-the-platform-salt")
        status, body = bundle.refund("order-1", self.REFUND)
        assert (status, body["err_no"]) == (502, 2008)
        assert bundle.get("refunds", "refund-1")[1]["status"] == "FAILED"
        assert bundle.get("payments", "order-1")[1]["refundable_amount"] == 12800

    def test_bad_refund_input(self, bundle):
        paid_order(bundle)
        status, body = bundle.refund("order-1", {**self.REFUND, "refund_amount": -5})
        assert (status, body["field"]) == (400, "refund_amount")
        status, body = bundle.refund("order-1", {**self.REFUND, "reason": "r" * 101})
        assert (status, body["field"]) == (400, "reason")


class TestSettlements:
    SETTLE: ClassVar[dict] = SETTLE

    def test_settle_a_paid_order(self, bundle):
        paid_order(bundle)
        status, body = bundle.settle("order-1", self.SETTLE)
        assert status == 201, body
        assert body["status"] == "PROCESSING"
        assert body["settle_no"]
        assert body["settle_params"] == self.SETTLE["settle_params"]

    def test_settle_before_payment_is_refused(self, bundle):
        bundle.create_payment(ORDER)
        status, body = bundle.settle("order-1", self.SETTLE)
        assert (status, body["code"]) == (409, "order_not_paid")
        assert bundle.item("SETTLE#settle-1", "SETTLE") is None

    def test_settle_idempotent(self, bundle):
        paid_order(bundle)
        assert bundle.settle("order-1", self.SETTLE)[0] == 201
        assert bundle.settle("order-1", self.SETTLE)[0] == 200
        assert bundle.settle("order-1", {**self.SETTLE, "settle_desc": "other"})[1]["code"] == "idempotency_conflict"

    def test_too_many_payees(self, bundle):
        paid_order(bundle)
        payees = [{"merchant_uid": f"m{i}", "amount": 1} for i in range(5)]
        status, body = bundle.settle("order-1", {**self.SETTLE, "settle_params": payees})
        assert (status, body["field"]) == (400, "settle_params")


class TestQuery:
    def test_reads_the_table(self, bundle):
        bundle.create_payment(ORDER)
        bundle.calls.reset()
        status, body = bundle.get("payments", "order-1")
        assert status == 200
        assert body["status"] == "CREATED"
        assert "request_hash" not in body
        assert "request" not in body
        assert bundle.calls.count() == {"GetItem": 1}

    @pytest.mark.parametrize("what", ["payments", "refunds", "settlements"])
    def test_unknown_is_404(self, bundle, what):
        status, body = bundle.get(what, "nothing-here")
        assert status == 404
        assert body["code"].endswith("_not_found")

    def test_refresh_asks_the_platform_and_applies_the_answer(self, bundle):
        bundle.create_payment(ORDER)
        bundle.sim.pay("order-1")  # the callback is lost (drop="all")
        assert bundle.get("payments", "order-1")[1]["status"] == "CREATED"
        status, body = bundle.get("payments", "order-1", refresh=True)
        assert (status, body["status"]) == (200, "PAID")
        assert body["way"] == 10

    def test_refresh_of_a_refund(self, bundle):
        paid_order(bundle)
        bundle.refund("order-1", TestRefunds.REFUND)
        bundle.sim.complete_refund("refund-1", "SUCCESS")
        status, body = bundle.get("refunds", "refund-1", refresh=True)
        assert (status, body["status"]) == (200, "SUCCEEDED")

    def test_refresh_when_the_platform_is_down_is_503(self, bundle):
        bundle.create_payment(ORDER)
        bundle.sim.inject_fault("query_order", "http_503", count=5)
        status, body = bundle.get("payments", "order-1", refresh=True)
        assert (status, body["code"], body["retryable"]) == (503, "platform_unavailable", True)


class TestAwsCallBudget:
    """The README's Performance table, counted with a botocore hook on the handlers' clients."""

    def test_create_payment(self, bundle):
        bundle.create_payment(ORDER)  # warm: the secret is fetched once per environment, not counted here
        bundle.calls.reset()
        assert bundle.create_payment({**ORDER, "out_order_no": "order-2"})[0] == 201
        assert bundle.calls.count() == {"PutItem": 1, "UpdateItem": 1, "SendMessage": 1}

    def test_replayed_create_payment_is_one_write_attempt(self, bundle):
        bundle.create_payment(ORDER)
        bundle.calls.reset()
        assert bundle.create_payment(ORDER)[0] == 200
        assert bundle.calls.count() == {"PutItem": 1}

    def test_create_refund(self, bundle):
        paid_order(bundle)
        bundle.calls.reset()
        assert bundle.refund("order-1", TestRefunds.REFUND)[0] == 201
        assert bundle.calls.count() == {"TransactWriteItems": 1, "UpdateItem": 1, "SendMessage": 1}

    def test_create_settlement(self, bundle):
        paid_order(bundle)
        bundle.calls.reset()
        no_payees = {k: v for k, v in TestSettlements.SETTLE.items() if k != "settle_params"}
        assert bundle.settle("order-1", no_payees)[0] == 201
        assert bundle.calls.count() == {"TransactWriteItems": 1, "UpdateItem": 1, "SendMessage": 1}

    def test_create_settlement_with_payees_asks_the_settleable_amount(self, bundle):
        # Payees are checked against what the platform lets go to them (the commission is known
        # late): one read makes sure the query goes to the order's protocol, one counter write
        # spends the stack's query budget.
        paid_order(bundle)
        bundle.calls.reset()
        assert bundle.settle("order-1", TestSettlements.SETTLE)[0] == 201
        assert bundle.calls.count() == {"GetItem": 1, "TransactWriteItems": 1, "UpdateItem": 2, "SendMessage": 1}
