"""Reconciliation (SQS) and the sweeper: every object reaches a known final state even when
callbacks are lost, SQS sends fail or a function crashes mid-way."""

from __future__ import annotations

import json

import pytest

from douyin_pay.bundle import runtime
from douyin_pay.bundle.queue import ReconcileMessage
from douyin_pay.bundle.schedule import SCHEDULES, SWEEP_SLACK
from douyin_pay.bundle.states import Kind
from tests.bundle.harness import load_handler, notice_body, payment_msg
from tests.bundle.test_api import ORDER, REFUND, SETTLE, paid_order

# Past the latest due time of a fresh object: the first step (60 s + 10 % jitter) or the submit
# lease (60 s), plus the sweeper's slack.
OVERDUE = SCHEDULES[Kind.ORDER].delays[0] * 1.1 + SWEEP_SLACK + 1


def message(kind: str, ref: str) -> str:
    return ReconcileMessage(Kind(kind), ref).body()


def step(bundle, kind: str, ref: str) -> dict:
    """Run one reconcile step through the handler and return the batch response."""
    return bundle.reconcile([message(kind, ref)])


class TestOrders:
    def test_lost_payment_callback_is_recovered(self, bundle):
        bundle.create_payment(ORDER)
        bundle.sim.pay("order-1")  # the simulator drops every callback in these tests
        assert step(bundle, "order", "order-1") == {"batchItemFailures": []}
        order = bundle.item("ORDER#order-1", "ORDER")
        assert order["status"] == "PAID"
        assert order["way"] == 10
        assert order["due_at"] == order["paid_at"] + 130 * 86_400  # the auto-settlement watch

    def test_pending_order_is_rescheduled_with_backoff(self, bundle):
        bundle.create_payment(ORDER)
        bundle.calls.reset()
        step(bundle, "order", "order-1")
        # One reconcile step for a pending object: read, update bookkeeping, re-enqueue.
        assert bundle.calls.count() == {"GetItem": 1, "UpdateItem": 1, "SendMessage": 1}
        [sent] = bundle.calls.sent()
        assert json.loads(sent["MessageBody"]) == {"v": 1, "kind": "order", "ref": "order-1", "protocol": "ecpay"}
        assert 108 <= sent["DelaySeconds"] <= 132  # second step: 120 s ± 10 %
        order = bundle.item("ORDER#order-1", "ORDER")
        assert order["reconcile_attempts"] == 1
        assert order["status"] == "CREATED"

    def test_terminal_object_costs_one_read_and_no_platform_call(self, bundle):
        bundle.create_payment(ORDER)
        bundle.callback(notice_body("payment", payment_msg("order-1", 12800)))
        queries_before = bundle.sim.state()["callbacks"]["attempts"]
        bundle.calls.reset()
        assert step(bundle, "order", "order-1") == {"batchItemFailures": []}
        assert bundle.calls.count() == {"GetItem": 1}
        assert bundle.sim.state()["callbacks"]["attempts"] == queries_before

    def test_unpaid_order_expires_after_valid_time(self, bundle):
        bundle.create_payment({**ORDER, "valid_time": 300})
        bundle.advance(301)
        step(bundle, "order", "order-1")
        order = bundle.item("ORDER#order-1", "ORDER")
        assert order["status"] == "EXPIRED"
        assert "due_at" not in order

    def test_rate_limited_query_backs_off(self, bundle):
        bundle.create_payment(ORDER)
        bundle.sim.inject_fault("query_order", "err_1001")
        bundle.calls.reset()
        assert step(bundle, "order", "order-1") == {"batchItemFailures": []}
        [sent] = bundle.calls.sent()
        assert sent["DelaySeconds"] >= 108  # at least the schedule, and never under a minute
        assert bundle.item("ORDER#order-1", "ORDER")["status"] == "CREATED"

    @pytest.mark.parametrize("mode", ["err_1000", "http_500", "garbage", "html"])
    def test_platform_trouble_reschedules(self, bundle, mode):
        bundle.create_payment(ORDER)
        bundle.sim.inject_fault("query_order", mode)
        assert step(bundle, "order", "order-1") == {"batchItemFailures": []}
        assert bundle.item("ORDER#order-1", "ORDER")["reconcile_attempts"] == 1
        assert bundle.queue_depth() == 2  # the creation's message and the re-enqueued one

    def test_an_abandoned_order_expires_quietly(self, bundle, monkeypatch):
        """The platform still says the order is unpaid (processing) long after its pay window — a
        cart abandoned before the cashier opened: it expires here, and nothing is parked."""
        from douyin_pay.bundle.platforms.base import Observation
        from douyin_pay.bundle.platforms.ecpay import EcpayPlatform

        def still_processing(self, kind, ref):
            return Observation(kind, ref, "CREATED", {}, {"total_amount": 12800})

        monkeypatch.setattr(EcpayPlatform, "observe", still_processing)
        bundle.create_payment({**ORDER, "valid_time": 300})
        bundle.advance(300 + 590)  # inside the grace: asked again later
        assert step(bundle, "order", "order-1") == {"batchItemFailures": []}
        assert bundle.item("ORDER#order-1", "ORDER")["status"] == "CREATED"
        bundle.advance(20)
        assert step(bundle, "order", "order-1") == {"batchItemFailures": []}
        order = bundle.item("ORDER#order-1", "ORDER")
        assert order["status"] == "EXPIRED"
        assert order["platform_message"] == "unpaid past its pay window; expired locally"
        assert "reconcile_state" not in order
        assert bundle.queued(bundle.resources.dlq_url) == []
        # A payment that still comes is not lost: the order is upgraded (and flagged).
        assert bundle.callback(notice_body("payment", payment_msg("order-1", 12800)))[0] == 200
        assert bundle.item("ORDER#order-1", "ORDER")["status"] == "PAID"

    def test_exhausted_attempts_are_parked_in_the_dlq(self, bundle):
        bundle.create_payment({**ORDER, "valid_time": 300})
        bundle.sim.inject_fault("query_order", "http_503", count=1)
        bundle.advance(300 + 3600 + 1)  # past valid_time + the hour of grace
        assert step(bundle, "order", "order-1") == {"batchItemFailures": []}
        order = bundle.item("ORDER#order-1", "ORDER")
        assert order["reconcile_state"] == "EXHAUSTED"
        assert "due_at" not in order
        [parked] = bundle.queued(bundle.resources.dlq_url)
        assert json.loads(parked["Body"])["ref"] == "order-1"
        assert bundle.get("payments", "order-1")[1]["reconcile_state"] == "EXHAUSTED"


class TestRefundsAndSettlements:
    def test_refund_still_processing_is_checked_again_soon(self, bundle):
        paid_order(bundle)
        bundle.refund("order-1", REFUND)
        bundle.calls.reset()
        step(bundle, "refund", "refund-1")
        [sent] = bundle.calls.sent()
        assert 27 <= sent["DelaySeconds"] <= 33  # refunds: 15 s, then 30 s, ...
        assert bundle.item("REFUND#refund-1", "REFUND")["status"] == "PROCESSING"

    def test_refund_outcome_by_reconciliation(self, bundle):
        paid_order(bundle)
        bundle.refund("order-1", REFUND)
        bundle.sim.complete_refund("refund-1", "SUCCESS")
        step(bundle, "refund", "refund-1")
        assert bundle.item("REFUND#refund-1", "REFUND")["status"] == "SUCCEEDED"

    def test_failed_refund_by_reconciliation_releases_the_amount(self, bundle):
        paid_order(bundle)
        bundle.refund("order-1", REFUND)
        bundle.sim.complete_refund("refund-1", "FAIL")
        step(bundle, "refund", "refund-1")
        assert bundle.item("REFUND#refund-1", "REFUND")["status"] == "FAILED"
        assert bundle.item("ORDER#order-1", "ORDER")["refundable_amount"] == 12800
        step(bundle, "refund", "refund-1")  # a repeated step changes nothing
        assert bundle.item("ORDER#order-1", "ORDER")["refundable_amount"] == 12800

    def test_settlement_by_reconciliation(self, bundle):
        paid_order(bundle)
        bundle.settle("order-1", SETTLE)
        bundle.sim.complete_settlement("settle-1", "SUCCESS")
        step(bundle, "settlement", "settle-1")
        settlement = bundle.item("SETTLE#settle-1", "SETTLE")
        assert settlement["status"] == "SUCCEEDED"
        assert settlement["settle_amount"] > 0


class TestBatch:
    def test_partial_failures_are_reported_per_record(self, bundle):
        bundle.create_payment(ORDER)
        from local.events import sqs_event

        event = sqs_event([{"body": "not a reconcile message"}, {"body": message("order", "order-1")}])
        response = bundle.invoke("reconcile", event)
        assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
        assert bundle.item("ORDER#order-1", "ORDER")["reconcile_attempts"] == 1

    def test_records_left_near_the_deadline_are_returned(self, bundle):
        bundle.create_payment(ORDER)
        bundle.create_payment({**ORDER, "out_order_no": "order-2"})
        from local.events import lambda_context, sqs_event

        context = lambda_context("ReconcileFunction", timeout_ms=60_000)
        remaining = iter([50_000, 5_000])  # plenty for the first record, too little for the second
        context.get_remaining_time_in_millis = lambda: next(remaining)
        event = sqs_event([{"body": message("order", "order-1")}, {"body": message("order", "order-2")}])
        response = load_handler("reconcile").lambda_handler(event, context)
        assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
        assert bundle.item("ORDER#order-1", "ORDER")["reconcile_attempts"] == 1
        assert bundle.item("ORDER#order-2", "ORDER")["reconcile_attempts"] == 0


class TestNothingIsStranded:
    def test_sqs_send_failure_after_the_platform_accepted(self, bundle, monkeypatch):
        def broken(*args, **kwargs):
            raise RuntimeError("SQS unavailable")

        with monkeypatch.context() as patch:
            patch.setattr(runtime.queue(), "schedule", broken)
            status, _ = bundle.create_payment(ORDER)
        assert status == 201  # the order exists; the caller gets its answer
        assert bundle.queue_depth() == 0
        bundle.sim.pay("order-1")
        assert bundle.sweep() == {"enqueued": 0}  # not overdue yet
        bundle.advance(OVERDUE)
        assert bundle.sweep() == {"enqueued": 1}
        [sent] = bundle.queued()
        assert json.loads(sent["Body"]) == {"v": 1, "kind": "order", "ref": "order-1", "protocol": "ecpay"}
        bundle.reconcile([sent["Body"]])
        assert bundle.item("ORDER#order-1", "ORDER")["status"] == "PAID"
        assert bundle.sweep() == {"enqueued": 0}

    def test_crash_between_platform_call_and_table_write(self, bundle, monkeypatch):
        from douyin_pay.bundle.store import Store

        def crash(self, key, change):
            raise SystemExit("the function died here")

        with monkeypatch.context() as patch:
            patch.setattr(Store, "update", crash)
            with pytest.raises(SystemExit):
                bundle.create_payment(ORDER)
        # The platform created the order, our record is still the claim.
        assert "order-1" in bundle.sim.state()["orders"]
        assert bundle.item("ORDER#order-1", "ORDER")["status"] == "SUBMITTING"
        bundle.advance(OVERDUE)
        assert bundle.sweep() == {"enqueued": 1}
        [sent] = bundle.queued()
        bundle.reconcile([sent["Body"]])
        order = bundle.item("ORDER#order-1", "ORDER")
        assert order["status"] == "CREATED"
        assert order["order_id"] == bundle.sim.state()["orders"]["order-1"]["order_id"]
        # The caller's retry of the identical request gets the order, token included.
        status, body = bundle.create_payment(ORDER)
        assert status == 200
        assert body["order_token"]

    def test_crash_before_the_platform_call_fails_the_claim(self, bundle, monkeypatch):
        from douyin_pay.ecpay.client import EcpayClient

        def crash(self, endpoint, fields):
            raise SystemExit("died before sending")

        with monkeypatch.context() as patch:
            patch.setattr(EcpayClient, "submit", crash)
            with pytest.raises(SystemExit):
                bundle.create_payment(ORDER)
        assert bundle.sim.state()["orders"] == {}
        bundle.advance(OVERDUE)
        assert bundle.sweep() == {"enqueued": 1}
        [sent] = bundle.queued()
        bundle.reconcile([sent["Body"]])
        order = bundle.item("ORDER#order-1", "ORDER")
        assert order["status"] == "FAILED"
        assert order["error"]["err_tips"] == "never reached the platform"

    def test_sweeper_sends_each_overdue_object_once(self, bundle):
        bundle.create_payment(ORDER)
        bundle.create_payment({**ORDER, "out_order_no": "order-2"})
        bundle.queued()  # the creation messages were "lost"
        bundle.advance(OVERDUE)
        assert bundle.sweep() == {"enqueued": 2}
        assert bundle.sweep() == {"enqueued": 0}
