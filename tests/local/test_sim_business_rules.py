"""Idempotency of business numbers (§2) and the business rules of orders, refunds, settlements and returns."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from local.douyin_sim.platform import ControlError, rake_of
from tests.local.sim_helpers import SETTLE_CYCLE, paid_order, push_paid

# ---------------------------------------------------------------------------- idempotency (§2)


class TestIdempotency:
    def test_repeat_with_changed_params_returns_the_first_result(self, sim):
        _, client = sim
        first = client.create_order("A1", total_amount=100)
        again = client.create_order("A1", total_amount=999, subject="changed")
        assert again == first
        assert client.call("query_order", out_order_no="A1")["payment_info"]["total_fee"] == 100

    def test_repeated_refund_and_settle_numbers(self, sim):
        simulator, client = sim
        paid_order(simulator, client)
        first = client.refund("R1", 100)
        again = client.refund("R1", 500, reason="x")
        assert again == first
        assert client.call("query_refund", out_refund_no="R1")["refundInfo"]["refund_amount"] == 100
        push_paid(client)
        simulator.advance(SETTLE_CYCLE)
        s1 = client.settle("S1")
        assert s1["err_no"] == 0
        assert client.settle("S1", desc="other") == s1

    def test_a_failed_first_request_poisons_the_number(self, sim):
        simulator, client = sim
        refused = client.create_order("P1", subject="s" * 43)
        assert refused["err_no"] == 2010
        retry = client.create_order("P1")  # now valid, same number
        assert retry["err_no"] == 2010
        assert "use a new" in retry["err_tips"]
        assert client.call("query_order", out_order_no="P1")["err_no"] == 2000
        assert client.create_order("P2")["err_no"] == 0
        assert "P1" in simulator.state()["spent_numbers"]["order"]

    def test_a_refused_refund_poisons_its_number(self, sim):
        simulator, client = sim
        client.create_order("A1")
        unpaid = client.refund("R1", 1)
        assert unpaid["err_no"] == 2010
        simulator.pay("A1")
        again = client.refund("R1", 1)
        assert again["err_no"] == 2010
        assert "use a new" in again["err_tips"]
        fresh = client.refund("R2", 1)
        assert fresh["err_no"] == 0


# ---------------------------------------------------------------------------- business rules


class TestBusinessRules:
    def test_refunds_never_exceed_the_paid_amount(self, sim):
        simulator, client = sim
        paid_order(simulator, client, amount=1000)

        def refund(no: str, amount: int) -> dict[str, Any]:
            return client.refund(no, amount)

        assert refund("R0", 1001)["err_no"] == 2010
        assert refund("R1", 600)["err_no"] == 0  # processing counts too
        assert refund("R2", 401)["err_no"] == 2010
        assert refund("R3", 400)["err_no"] == 0
        assert refund("R4", 1)["err_no"] == 2010

    def test_refunds_only_within_a_year_of_payment(self, sim):
        simulator, client = sim
        paid_order(simulator, client, "Y1", amount=1000)
        simulator.advance(365 * 86_400)
        # The platform settled the order by itself at 150 days: a refund now needs all_settle=1.
        assert client.refund("RY1", 1, order="Y1", all_settle=1)["err_no"] == 0  # the last second of the year
        simulator.advance(1)
        late = client.refund("RY2", 1, order="Y1", all_settle=1)
        assert late["err_no"] == 2010
        assert "超过退款期限" in late["err_tips"]

    @pytest.mark.parametrize(("way", "limit"), [(1, 50), (2, 300), (10, None)])
    def test_refunds_per_order_are_limited_by_the_payment_channel(self, make_sim, way, limit):
        # Without create_refund's 50 QPS limit: this is about the count per order, not the rate.
        simulator, client = make_sim(rate_limits={"create_refund": None})
        assert client.create_order("W1", total_amount=1000)["err_no"] == 0
        simulator.pay("W1", way=way)
        allowed = limit if limit is not None else 400
        for n in range(allowed):
            assert client.refund(f"RW{n}", 1, order="W1")["err_no"] == 0, n
        over = client.refund("RW-over", 1, order="W1")
        if limit is None:
            assert over["err_no"] == 0  # Douyin Pay: no such limit modelled
        else:
            assert over["err_no"] == 2010
            assert "退款次数超过上限" in over["err_tips"]

    def test_a_failed_refund_frees_its_amount(self, make_sim):
        simulator, client = make_sim(refund_processing_seconds=None)
        paid_order(simulator, client, amount=1000)
        client.refund("R1", 1000)
        simulator.complete_refund("R1", "FAIL")
        assert client.call("query_refund", out_refund_no="R1")["refundInfo"]["refund_status"] == "FAIL"
        answer = client.refund("R2", 1000)
        assert answer["err_no"] == 0

    def test_refund_on_unpaid_or_unknown_order(self, sim):
        _, client = sim
        client.create_order("A1")
        unpaid = client.refund("R1", 1)
        assert unpaid["err_no"] == 2010
        unknown = client.refund("R2", 1, order="NOPE")
        assert unknown["err_no"] == 2000

    def test_settle_before_payment_is_refused(self, sim):
        _, client = sim
        client.create_order("A1")
        assert client.settle("S1")["err_no"] == 2010

    def test_settle_params_bounded_by_paid_minus_refunded(self, sim):
        simulator, client = sim
        paid_order(simulator, client, amount=1000)
        push_paid(client)
        simulator.advance(SETTLE_CYCLE)
        client.refund("R1", 300)

        def settle(no: str, amount: int) -> dict[str, Any]:
            payees = json.dumps([{"merchant_uid": "m1", "amount": amount}])
            return client.settle(no, settle_params=payees)

        # 700 in transit, less the fee of 4 the seller's share must cover.
        assert settle("S1", 697)["err_no"] == 2010
        assert settle("S2", 696)["err_no"] == 0
        assert client.call("query_settle", out_settle_no="S2")["settle_info"]["settle_amount"] == 700
        # A second settlement while the first is processing is refused (§3.5).
        assert settle("S3", 1)["err_no"] == 2010

    def test_refund_after_settlement_needs_all_settle(self, sim):
        simulator, client = sim
        paid_order(simulator, client, amount=1000)
        push_paid(client)
        simulator.advance(SETTLE_CYCLE)
        assert client.settle("S1")["err_no"] == 0
        simulator.advance(3)
        before = client.refund("R1", 100)
        assert before["err_no"] == 2010
        assert "all_settle" in before["err_tips"]
        after = client.refund("R2", 100, all_settle=1)
        assert after["err_no"] == 0
        assert client.call("query_refund", out_refund_no="R2")["refundInfo"]["is_all_settled"] is True

    def test_returns_are_bounded_by_the_payee_share(self, sim):
        simulator, client = sim
        paid_order(simulator, client, amount=1000)
        push_paid(client)
        simulator.advance(SETTLE_CYCLE)
        payees = json.dumps([{"merchant_uid": "m1", "amount": 100}])
        assert client.settle("S1", settle_params=payees)["err_no"] == 0

        def ret(no: str, amount: int, uid: str = "m1", **extra: Any) -> dict[str, Any]:
            fields = {"out_settle_no": "S1", "return_desc": "d", "merchant_uid": uid, **extra}
            return client.call("create_return", out_return_no=no, return_amount=amount, **fields)

        assert ret("T0", 10)["err_no"] == 2010  # the settlement has not completed yet
        simulator.advance(3)
        assert ret("T1", 60)["err_no"] == 0
        assert ret("T2", 41)["err_no"] == 2010
        assert ret("T3", 40)["err_no"] == 0
        assert ret("T4", 1, uid="m2")["err_no"] == 2010
        assert ret("T5", 1, out_settle_no="NOPE")["err_no"] == 2000

    def test_not_found_codes(self, sim):
        _, client = sim
        assert client.call("query_order", out_order_no="NOPE")["err_no"] == 2000
        assert client.call("query_refund", out_refund_no="NOPE")["err_no"] == 3101
        assert client.call("query_settle", out_settle_no="NOPE")["err_no"] == 2000
        assert client.call("query_return", out_return_no="NOPE")["err_no"] == 4408
        assert client.call("query_return", out_return_no="T" * 65)["err_no"] == 2102
        assert client.call("unsettle_amount", out_order_no="NOPE")["err_no"] == 2000

    def test_expiry(self, sim):
        simulator, client = sim
        client.create_order("A1", valid_time=600)
        simulator.advance(600)
        assert client.order_status("A1") == "TIMEOUT"
        with pytest.raises(ControlError) as excinfo:
            simulator.pay("A1")
        assert excinfo.value.status == 409

    def test_cancel_notifies_nothing_and_the_order_still_expires(self, sim, receiver):
        simulator, client = sim
        client.create_order("A1", valid_time=600)
        simulator.cancel("A1")
        simulator.advance(30)
        assert client.order_status("A1") == "PROCESSING"
        simulator.advance(600)
        assert client.order_status("A1") == "TIMEOUT"
        time.sleep(0.1)
        assert simulator.deliveries() == []
        assert receiver.received == []

    def test_pay_twice_and_unknown(self, sim):
        simulator, client = sim
        paid_order(simulator, client)
        with pytest.raises(ControlError) as twice:
            simulator.pay("A1")
        assert twice.value.status == 409
        with pytest.raises(ControlError) as unknown:
            simulator.pay("NOPE")
        assert unknown.value.status == 404


def test_rake_rounds_half_up():
    assert [rake_of(a) for a in (83, 84, 100, 10000, 1)] == [0, 1, 1, 60, 0]
