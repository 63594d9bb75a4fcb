"""The simulator takes the shapes the platform's documented examples send, and stays strict about
anything else (issue #12 items 9, 11, 12, 13). Over loopback HTTP with a frozen clock."""

from __future__ import annotations

import json

import pytest

from tests.local.sim_helpers import SETTLE_CYCLE
from tests.local.sim_money_helpers import accepted, advance, configure, control, pay, payees, refused, state, synced

NOT_FOUND = 2000


def settled(client, no: str = "A1", settle: str = "S1", uid: str = "partner_01", **extra) -> str:
    """Pay, sync and settle order ``no`` with ``uid`` receiving 1000 fen; the settle_no once it succeeded."""
    pay(client, no)
    synced(client, no)
    advance(client, SETTLE_CYCLE)
    settle_no = accepted(client.settle(settle, order=no, settle_params=payees(1000, uid), **extra))["settle_no"]
    advance(client, 3)  # settle_processing_seconds
    assert state(client)["settlements"][settle]["status"] == "SUCCESS"
    return settle_no


def create_return(client, no: str = "RT1", uid: str = "partner_01", **reference) -> dict:
    return client.call(
        "create_return", out_return_no=no, merchant_uid=uid, return_amount=10, return_desc="d", **reference
    )


class TestMerchantUid:
    """Item 9: a string of 1-32 characters, the same rule as the SDK's."""

    def test_underscore_payee_settles_and_returns(self, sim):
        _, client = sim
        settled(client, uid="partner_01")
        assert state(client)["settlements"]["S1"]["payees"] == [{"merchant_uid": "partner_01", "amount": 1000}]
        assert accepted(create_return(client, out_settle_no="S1"))["return_info"]["merchant_uid"] == "partner_01"

    @pytest.mark.parametrize("uid", ["", "m" * 33, 7])
    def test_refused(self, sim, uid):
        _, client = sim
        pay(client)
        synced(client)
        advance(client, SETTLE_CYCLE)
        tips = refused(client.settle("S1", settle_params=json.dumps([{"merchant_uid": uid, "amount": 1}])))
        assert "settle_params[0].merchant_uid" in tips
        assert "merchant_uid" in refused(create_return(client, uid=uid, out_settle_no="S1"))


class TestCreateReturnReferences:
    """Item 11: settle_no, out_settle_no or both; both naming different settlements is refused."""

    def test_both_naming_the_same_settlement(self, sim):
        _, client = sim
        settle_no = settled(client)
        info = accepted(create_return(client, settle_no=settle_no, out_settle_no="S1"))["return_info"]
        assert (info["settle_no"], info["out_settle_no"]) == (settle_no, "S1")

    def test_both_naming_different_settlements(self, sim):
        _, client = sim
        first = settled(client, "A1", "S1")
        settled(client, "A2", "S2")
        tips = refused(create_return(client, settle_no=first, out_settle_no="S2"))
        assert tips == (
            "参数错误 invalid parameter settle_no/out_settle_no: "
            f"settle_no {first} and out_settle_no S2 name different settlements"
        )
        assert state(client)["returns"] == {}

    def test_an_unknown_one_beside_a_known_one(self, sim):
        _, client = sim
        settle_no = settled(client)
        assert create_return(client, settle_no=settle_no, out_settle_no="S9")["err_no"] == NOT_FOUND
        assert create_return(client, "RT2", settle_no="999", out_settle_no="S1")["err_no"] == NOT_FOUND

    def test_an_automatic_settlement_has_no_out_settle_no(self, make_sim):
        _, client = make_sim(auto_settle_days=1)
        pay(client)
        advance(client, 86_400)
        [key] = state(client)["settlements"]
        assert create_return(client, out_settle_no=key)["err_no"] == NOT_FOUND


class TestValidTime:
    """Item 12: a valid_time under 300 is raised to 300 (§3.1), not refused."""

    def test_180_gives_300_seconds(self, sim):
        _, client = sim
        assert client.create_order("A1", valid_time=180)["err_no"] == 0
        order = state(client)["orders"]["A1"]
        assert order["expire_at"] - order["created_at"] == 300
        advance(client, 200)
        assert client.order_status("A1") == "PROCESSING"
        advance(client, 100)
        assert client.order_status("A1") == "TIMEOUT"


class TestRefundTotalAmount:
    """Item 13: when create_refund carries total_amount it must be the order's amount."""

    def test_the_orders_amount_is_accepted(self, sim):
        _, client = sim
        pay(client, amount=10000)
        accepted(client.refund("R1", 500, total_amount=10000))

    @pytest.mark.parametrize("value", [9999, 10001])
    def test_another_amount_is_refused(self, sim, value):
        _, client = sim
        pay(client, amount=10000)
        tips = refused(client.refund("R1", 500, total_amount=value))
        assert tips == f"参数错误 invalid parameter total_amount: {value} is not the order's amount 10000"
        assert state(client)["refunds"] == {}

    @pytest.mark.parametrize("value", ["10000", 10000.0, True, 0])
    def test_not_an_amount_is_refused(self, sim, value):
        _, client = sim
        pay(client, amount=10000)
        assert "total_amount" in refused(client.refund("R1", 500, total_amount=value))


class TestSettleShapes:
    """Item 13: an empty payee list and ``finish``."""

    def test_empty_payee_list_settles_everything_to_the_seller(self, sim):
        _, client = sim
        pay(client, amount=10000)
        synced(client)
        advance(client, SETTLE_CYCLE)
        accepted(client.settle("S1", settle_params="[]"))
        settlement = state(client)["settlements"]["S1"]
        assert (settlement["payees"], settlement["seller_amount"]) == ([], 10000 - 60)

    @pytest.mark.parametrize("shape", ["{}", "null", "[1]", '[{"merchant_uid":"m1"}]'])
    def test_other_shapes_are_refused(self, sim, shape):
        _, client = sim
        pay(client)
        synced(client)
        advance(client, SETTLE_CYCLE)
        assert "settle_params" in refused(client.settle("S1", settle_params=shape))

    def freed_after_settling(self, make_sim, **finish):
        """S1 settles A1 while a 3000 refund is in progress; the refund then fails, freeing 3000."""
        _, client = make_sim(refund_processing_seconds=None)
        pay(client, amount=10000)
        synced(client)
        advance(client, SETTLE_CYCLE)
        accepted(client.refund("R1", 3000))
        accepted(client.settle("S1", settle_params="[]", **finish))
        advance(client, 3)
        control(client, "POST", "refunds/R1/complete", {"status": "FAIL"})
        return client

    def test_finish_true_makes_the_settlement_the_last(self, make_sim):
        client = self.freed_after_settling(make_sim, finish="true")
        assert state(client)["settlements"]["S1"]["final"] is True
        assert refused(client.settle("S2")) == "已完结分账 order A1 was finished by settlement S1"

    def test_finish_false_or_absent_leaves_it_open(self, make_sim):
        client = self.freed_after_settling(make_sim, finish="false")
        accepted(client.settle("S2"))
        assert state(client)["settlements"]["S2"]["settle_amount"] == 3000

    def test_a_failed_final_settlement_does_not_close_the_order(self, make_sim):
        _, client = make_sim(settle_outcome="FAIL")
        pay(client)
        synced(client)
        advance(client, SETTLE_CYCLE)
        accepted(client.settle("S1", finish="true"))
        advance(client, 3)
        configure(client, settle_outcome="SUCCESS")
        accepted(client.settle("S2"))

    @pytest.mark.parametrize("value", [True, 1, "1", "TRUE", "yes"])
    def test_finish_other_values_are_refused(self, sim, value):
        _, client = sim
        pay(client)
        synced(client)
        advance(client, SETTLE_CYCLE)
        assert refused(client.settle("S1", finish=value)).startswith("参数错误 invalid parameter finish")
