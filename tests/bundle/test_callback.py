"""The callback Function URL: verification first, one single-item write, monotonic, idempotent."""

from __future__ import annotations

import json
import threading

import pytest

from douyin_pay.bundle.callbacks import TakenNotices
from tests.bundle.harness import (
    OLD_TOKEN,
    fresh_callbacks,
    notice_body,
    payment_msg,
    refund_msg,
    settle_msg,
)
from tests.bundle.test_api import ORDER, REFUND, SETTLE, paid_order

SUCCESS = {"err_no": 0, "err_tips": "success"}


def audits(caplog) -> list[dict]:
    """The callback's audit log lines (one per verified notice) since the last call."""
    found = [
        {key: getattr(r, key) for key in ("notice_id", "ref", "outcome", "signed")}
        for r in caplog.records
        if hasattr(r, "notice_id")
    ]
    caplog.clear()
    return found


def notices_of(bundle, pk: str, sk: str) -> set[str]:
    return set((bundle.item(pk, sk) or {}).get("notices", set()))


class TestPaymentNotice:
    def test_moves_created_to_paid_with_one_single_item_write(self, bundle, caplog):
        bundle.create_payment(ORDER)
        bundle.calls.reset()
        caplog.clear()
        msg = payment_msg("order-1", 12800)
        status, reply = bundle.callback(notice_body("payment", msg))
        assert (status, reply) == (200, SUCCESS)
        assert bundle.calls.count() == {"UpdateItem": 1}
        order = bundle.item("ORDER#order-1", "ORDER")
        assert order["status"] == "PAID"
        assert order["way"] == 10
        # Final, but watched: due again 20 days before the platform would settle it by itself.
        assert order["due_at"] == order["paid_at"] + 130 * 86_400
        # The notice is recorded on the order it changed, and nowhere else in the table.
        assert [i["pk"] for i in bundle.table_items()] == ["ORDER#order-1"]
        [audit] = audits(caplog)
        assert order["notices"] == {audit["notice_id"]}
        assert (audit["outcome"], audit["ref"]) == ("applied", "order-1")
        assert json.loads(audit["signed"]) == msg  # the signed message, as the audit trail

    def test_duplicate_is_acknowledged_with_one_call_and_changes_nothing(self, bundle):
        bundle.create_payment(ORDER)
        body = notice_body("payment", payment_msg("order-1", 12800))
        bundle.callback(body)
        before = bundle.table_items()
        bundle.calls.reset()
        status, reply = bundle.callback(body)  # where the notice was taken: it is known there
        assert (status, reply) == (200, SUCCESS)
        assert bundle.calls.count() == {}
        bundle.another_callback_environment()
        status, reply = bundle.callback(body)
        assert (status, reply) == (200, SUCCESS)
        assert bundle.calls.count() == {"UpdateItem": 1}  # its condition failed: nothing written
        assert bundle.table_items() == before

    def test_redelivery_with_new_timestamp_and_nonce_is_a_duplicate(self, bundle, caplog):
        bundle.create_payment(ORDER)
        caplog.clear()
        bundle.callback(
            notice_body("payment", payment_msg("order-1", 12800), timestamp=str(int(bundle.clock()) - 100), nonce="1")
        )
        status, _ = bundle.callback(
            notice_body("payment", payment_msg("order-1", 12800), timestamp=str(int(bundle.clock()) - 30), nonce="2")
        )
        assert status == 200
        assert [a["outcome"] for a in audits(caplog)] == ["applied", "duplicate"]
        assert len(notices_of(bundle, "ORDER#order-1", "ORDER")) == 1

    def test_a_replay_under_another_unsigned_type_is_the_same_notice(self, bundle, caplog):
        # ecpay does not sign `type`: the notice's id is over the signed msg only.
        bundle.create_payment(ORDER)
        msg = payment_msg("order-1", 12800)
        assert bundle.callback(notice_body("payment", msg))[0] == 200
        caplog.clear()
        bundle.calls.reset()
        assert bundle.callback(notice_body("payment", msg, timestamp=str(int(bundle.clock()) + 7), nonce="7"))[0] == 200
        assert [a["outcome"] for a in audits(caplog)] == ["duplicate"]
        assert len(notices_of(bundle, "ORDER#order-1", "ORDER")) == 1

    def test_concurrent_duplicates_make_exactly_one_transition(self, bundle):
        # Lambda runs one invocation per execution environment at a time, so concurrency means
        # several environments racing on the table: each thread runs the handler's logic with
        # its own service (own boto3 client), against one shared table.
        bundle.create_payment(ORDER)
        body = notice_body("payment", payment_msg("order-1", 12800))
        outcomes: list[str] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(8)

        def environment() -> None:
            try:
                callbacks = fresh_callbacks(bundle)
                notice = callbacks.ctx.platforms.default.read_notice({}, body)
                barrier.wait()
                outcomes.append(callbacks.apply(notice).outcome)
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=environment) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert sorted(outcomes) == ["applied"] + ["duplicate"] * 7
        order = bundle.item("ORDER#order-1", "ORDER")
        assert order["status"] == "PAID"
        assert len(order["notices"]) == 1

    def test_base64_body_from_the_function_url(self, bundle):
        bundle.create_payment(ORDER)
        status, _ = bundle.callback(notice_body("payment", payment_msg("order-1", 12800)), base64=True)
        assert status == 200
        assert bundle.item("ORDER#order-1", "ORDER")["status"] == "PAID"

    def test_token_rotation(self, bundle):
        bundle.create_payment(ORDER)
        status, _ = bundle.callback(notice_body("payment", payment_msg("order-1", 12800), token=OLD_TOKEN))
        assert status == 200
        assert bundle.item("ORDER#order-1", "ORDER")["status"] == "PAID"

    def test_amount_mismatch_is_recorded_surfaced_and_not_applied(self, bundle):
        bundle.create_payment(ORDER)
        status, reply = bundle.callback(notice_body("payment", payment_msg("order-1", 1)))
        assert (status, reply) == (200, SUCCESS)  # acknowledged: retries would not change it
        _, order = bundle.get("payments", "order-1")
        assert order["status"] == "CREATED"
        [anomaly] = order["anomalies"]
        assert (anomaly["outcome"], anomaly["fields"]) == ("mismatch", ["total_amount"])

    def test_a_mismatch_is_flagged_once_however_often_it_comes(self, bundle):
        bundle.create_payment(ORDER)
        body = notice_body("payment", payment_msg("order-1", 1))
        bundle.calls.reset()
        assert bundle.callback(body)[0] == 200
        assert bundle.calls.count() == {"UpdateItem": 2}  # the transition refused, then the flag
        bundle.calls.reset()
        bundle.another_callback_environment()
        assert bundle.callback(body)[0] == 200
        assert bundle.calls.count() == {"UpdateItem": 1}  # a duplicate: known from the first answer
        bundle.calls.reset()
        assert bundle.callback(body)[0] == 200  # and now known in this environment too
        assert bundle.calls.count() == {}
        assert len(bundle.get("payments", "order-1")[1]["anomalies"]) == 1

    def test_app_id_mismatch_is_recorded_and_not_applied(self, bundle):
        bundle.create_payment(ORDER)
        bundle.calls.reset()
        status, _ = bundle.callback(notice_body("payment", payment_msg("order-1", 12800, app_id="tt9999999999")))
        assert status == 200
        _, order = bundle.get("payments", "order-1")
        assert order["status"] == "CREATED"
        assert order["anomalies"][0]["fields"] == ["app_id"]

    def test_unknown_order_is_logged_acknowledged_and_writes_nothing(self, bundle, caplog):
        caplog.clear()
        bundle.calls.reset()
        status, _ = bundle.callback(notice_body("payment", payment_msg("never-created", 100)))
        assert status == 200
        assert [a["outcome"] for a in audits(caplog)] == ["unknown_object"]
        assert bundle.calls.count() == {"UpdateItem": 1}
        assert bundle.table_items() == []

    def test_late_payment_after_expiry_upgrades_to_paid_and_raises_the_anomaly(self, bundle):
        # The money was taken: the order must be refundable, and a person must hear of it.
        bundle.create_payment(ORDER)
        from douyin_pay.bundle import runtime
        from douyin_pay.bundle.observations import apply_observation
        from douyin_pay.bundle.platforms.base import Observation
        from douyin_pay.bundle.states import Kind

        expired = Observation(Kind.ORDER, "order-1", "EXPIRED")
        apply_observation(runtime.store(), expired, bundle.item("ORDER#order-1", "ORDER"), int(bundle.clock()))
        body = notice_body("payment", payment_msg("order-1", 12800))
        status, _ = bundle.callback(body)
        assert status == 200
        _, order = bundle.get("payments", "order-1")
        assert order["status"] == "PAID"
        assert [a["outcome"] for a in order["anomalies"]] == ["paid_after_expiry"]
        stored = bundle.item("ORDER#order-1", "ORDER")
        assert stored["due_at"] == stored["paid_at"] + 130 * 86_400  # watched until settled, like any paid order
        assert bundle.callback(body)[0] == 200  # a redelivery changes nothing
        assert len(bundle.get("payments", "order-1")[1]["anomalies"]) == 1


class TestTakenNotices:
    """What an execution environment remembers of the notices it took (callbacks.TakenNotices)."""

    def test_the_oldest_ids_are_forgotten_first(self):
        taken = TakenNotices(capacity=2)
        for notice_id in ("a", "b", "c"):
            taken.add(notice_id)
        assert ("a" in taken, "b" in taken, "c" in taken) == (False, True, True)

    def test_a_notice_about_nothing_is_asked_about_every_time(self, bundle, caplog):
        # Nothing recorded its id: its repeat must reach the table again, not memory.
        body = notice_body("payment", payment_msg("order-1", 12800))
        caplog.clear()
        for _ in range(2):
            bundle.calls.reset()
            assert bundle.callback(body)[0] == 200
            assert bundle.calls.count() == {"UpdateItem": 1}
        assert [a["outcome"] for a in audits(caplog)] == ["unknown_object", "unknown_object"]

    def test_a_stale_notice_is_asked_about_every_time(self, bundle):
        paid_order(bundle)
        late = notice_body("payment", {**payment_msg("order-1", 12800), "status": "PROCESSING"})
        for _ in range(2):
            bundle.calls.reset()
            assert bundle.callback(late)[0] == 200
            assert bundle.calls.count() == {"UpdateItem": 1}

    def test_a_repeat_where_it_was_taken_is_logged_as_a_duplicate(self, bundle, caplog):
        bundle.create_payment(ORDER)
        body = notice_body("payment", payment_msg("order-1", 12800))
        caplog.clear()
        bundle.callback(body)
        bundle.callback(body)
        assert [a["outcome"] for a in audits(caplog)] == ["applied", "duplicate"]  # the audit trail has both


class TestRejected:
    def test_bad_signature_is_401_and_writes_nothing(self, bundle):
        bundle.create_payment(ORDER)
        before = bundle.table_items()
        bundle.calls.reset()
        status, reply = bundle.callback(notice_body("payment", payment_msg("order-1", 12800), token="forged"))
        assert status == 401
        assert reply["err_no"] != 0
        assert bundle.calls.count() == {}  # verified before any table I/O
        assert bundle.table_items() == before

    @pytest.mark.parametrize("body", [b"not json", b"{}", b'{"msg": "x"}', b"[]"])
    def test_malformed_body_is_400_and_writes_nothing(self, bundle, body):
        bundle.calls.reset()
        status, _ = bundle.callback(body)
        assert status == 400
        assert bundle.calls.count() == {}
        assert bundle.table_items() == []

    def test_oversized_body_is_413(self, bundle):
        status, _ = bundle.callback(b'{"msg": "' + b"x" * 20_000 + b'"}')
        assert status == 413
        assert bundle.table_items() == []

    @pytest.mark.parametrize("age", [49 * 3600, -20 * 60])
    def test_a_timestamp_outside_the_window_is_401_and_writes_nothing(self, bundle, age):
        bundle.create_payment(ORDER)
        before = bundle.table_items()
        bundle.calls.reset()
        when = str(int(bundle.clock()) - age)
        status, _ = bundle.callback(notice_body("payment", payment_msg("order-1", 12800), timestamp=when))
        assert status == 401
        assert bundle.calls.count() == {}
        assert bundle.table_items() == before

    def test_a_retry_a_day_after_the_first_attempt_is_still_taken(self, bundle):
        # The platform may keep the first attempt's timestamp through ~24 h of retries (§6.3).
        bundle.create_payment(ORDER)
        when = str(int(bundle.clock()) - 24 * 3600 - 5 * 60)
        assert bundle.callback(notice_body("payment", payment_msg("order-1", 12800), timestamp=when))[0] == 200
        assert bundle.item("ORDER#order-1", "ORDER")["status"] == "PAID"

    @pytest.mark.parametrize("timestamp", ["1764072", "17640720000"])
    def test_a_timestamp_not_in_the_platform_form_is_400(self, bundle, timestamp):
        bundle.calls.reset()
        status, _ = bundle.callback(notice_body("payment", payment_msg("order-1", 12800), timestamp=timestamp))
        assert status == 400
        assert bundle.calls.count() == {}

    def test_no_token_configured_is_a_500_never_a_pass(self, bundle):
        bundle.create_payment(ORDER)
        bundle.put_secret(tokens=())
        status, _ = bundle.callback(notice_body("payment", payment_msg("order-1", 12800)))
        assert status == 500
        assert bundle.item("ORDER#order-1", "ORDER")["status"] == "CREATED"


class TestRefundAndSettleNotices:
    def test_refund_success(self, bundle):
        paid_order(bundle)
        bundle.refund("order-1", REFUND)
        bundle.calls.reset()
        status, _ = bundle.callback(notice_body("refund", refund_msg("refund-1", 3000)))
        assert status == 200
        assert bundle.calls.count() == {"UpdateItem": 1}
        assert bundle.get("refunds", "refund-1")[1]["status"] == "SUCCEEDED"
        assert bundle.get("payments", "order-1")[1]["refundable_amount"] == 9800

    def test_refund_failure_releases_the_amount_once(self, bundle):
        paid_order(bundle)
        bundle.refund("order-1", REFUND)
        body = notice_body("refund", refund_msg("refund-1", 3000, status="FAIL"))
        bundle.calls.reset()
        assert bundle.callback(body)[0] == 200
        assert bundle.calls.count() == {"GetItem": 1, "TransactWriteItems": 1}  # the order is on the refund
        bundle.calls.reset()
        bundle.another_callback_environment()
        assert bundle.callback(body)[0] == 200
        assert bundle.calls.count() == {"GetItem": 1}  # a repeat is answered from that read
        other = notice_body(
            "refund", refund_msg("refund-1", 3000, status="FAIL"), timestamp=str(int(bundle.clock()) + 5), nonce="9"
        )
        assert bundle.callback(other)[0] == 200
        assert bundle.get("refunds", "refund-1")[1]["status"] == "FAILED"
        assert bundle.get("payments", "order-1")[1]["refundable_amount"] == 12800

    def test_refund_amount_mismatch(self, bundle):
        paid_order(bundle)
        bundle.refund("order-1", REFUND)
        bundle.callback(notice_body("refund", refund_msg("refund-1", 9999)))
        _, refund = bundle.get("refunds", "refund-1")
        assert refund["status"] == "PROCESSING"
        assert refund["anomalies"][0]["fields"] == ["refund_amount"]

    def test_out_of_order_refund_notices_never_move_back(self, bundle):
        paid_order(bundle)
        bundle.refund("order-1", REFUND)
        assert bundle.callback(notice_body("refund", refund_msg("refund-1", 3000, status="SUCCESS")))[0] == 200
        late = notice_body("refund", refund_msg("refund-1", 3000, status="PROCESSING"))
        assert bundle.callback(late)[0] == 200
        assert bundle.get("refunds", "refund-1")[1]["status"] == "SUCCEEDED"

    def test_settle_notice(self, bundle):
        paid_order(bundle)
        bundle.settle("order-1", SETTLE)
        bundle.calls.reset()
        status, _ = bundle.callback(notice_body("settle", settle_msg("settle-1", "order-1")))
        assert status == 200
        # The settlement and its order, in one transaction: the order is settled (its refunds now
        # need all_settle), has no settlement in flight and leaves the auto-settlement watch.
        assert bundle.calls.count() == {"TransactWriteItems": 1}
        _, settlement = bundle.get("settlements", "settle-1")
        assert (settlement["status"], settlement["settle_amount"], settlement["rake"]) == ("SUCCEEDED", 9940, 60)
        order = bundle.item("ORDER#order-1", "ORDER")
        assert order["settled_by"] == "settle-1"
        assert order["settled_at"] >= order["paid_at"]
        assert "settling" not in order
        assert "due_at" not in order

    def test_settle_notice_for_another_order_is_a_mismatch(self, bundle):
        paid_order(bundle)
        bundle.settle("order-1", SETTLE)
        bundle.callback(notice_body("settle", settle_msg("settle-1", "order-other")))
        _, settlement = bundle.get("settlements", "settle-1")
        assert settlement["status"] == "PROCESSING"
        assert settlement["anomalies"][0]["fields"] == ["out_order_no"]

    def test_an_undocumented_type_is_counted_and_acknowledged_without_a_write_or_its_text(self, bundle, caplog):
        # type is not signed: a captured notice replayed under invented types must cost nothing,
        # and the invented text must not reach the logs.
        bundle.create_payment(ORDER)
        bundle.callback(notice_body("payment", payment_msg("order-1", 12800)))
        before = bundle.table_items()
        caplog.clear()
        bundle.calls.reset()
        invented = "payment<script>x" + "y" * 16
        status, reply = bundle.callback(notice_body(invented, payment_msg("order-1", 12800)))
        assert (status, reply) == (200, SUCCESS)
        assert [a["outcome"] for a in audits(caplog)] == ["unknown_type"]
        assert bundle.calls.count() == {}
        assert bundle.table_items() == before
        assert invented not in caplog.text

    def test_a_type_longer_than_the_platform_allows_is_a_400(self, bundle):
        bundle.calls.reset()
        status, _ = bundle.callback(notice_body("p" * 33, payment_msg("order-1", 12800)))
        assert status == 400
        assert bundle.calls.count() == {}

    def test_withdraw_notice_is_logged_and_acknowledged_without_a_write(self, bundle, caplog):
        # Typed by the SDK (WithdrawNotice), but nothing of the bundle's to move.
        caplog.clear()
        bundle.calls.reset()
        msg = {"status": "SUCCESS", "order_id": "W1", "out_order_id": "wd-1", "withdraw_at": 1722769986}
        assert bundle.callback(notice_body("withdraw", msg)) == (200, SUCCESS)
        assert [a["outcome"] for a in audits(caplog)] == ["recorded"]
        assert bundle.calls.count() == {}
        assert bundle.table_items() == []

    def test_settle_finish_is_logged(self, bundle, caplog):
        caplog.clear()
        msg = {"ma_app_id": "tt0123456789abcdef", "out_order_id": "order-1", "auto_settle_list": []}
        assert bundle.callback(notice_body("settle_finish", msg))[0] == 200
        assert [a["outcome"] for a in audits(caplog)] == ["recorded"]
        assert bundle.table_items() == []
