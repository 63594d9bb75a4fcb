"""CPS (influencer) orders: a commission known only some time after the payment, and taken at
settlement whether the client could see it yet or not.

Over loopback HTTP with a frozen clock (speed 0), moved with /_sim/clock/advance. The control route
``POST /_sim/orders/{no}/pay`` takes ``commission`` (fen) and ``commission_delay`` (simulated
seconds, default the switch ``cps_commission_delay``). Before the delay the payment callback's
``extra`` and ``item_id`` are empty and query_order has no ``cps_info``; settle refuses payees +
fee + commission above the in-transit money at any time. Every payload is also read by the SDK.
"""

from __future__ import annotations

import json
import math
import re

import pytest

from douyin_pay.ecpay.notices import PaymentNotice, SettleNotice
from douyin_pay.ecpay.results import OrderQueryResult, SettleQueryResult, UnsettleAmountResult
from local.douyin_sim.platform import ControlError
from tests.local.sim_helpers import DAY, SETTLE_CYCLE, START, msg_of
from tests.local.sim_money_helpers import (
    FEE_10000,
    accepted,
    advance,
    configure,
    control,
    parsed,
    pay,
    payees,
    refused,
    state,
    synced,
)

COMMISSION = 1000
# What payees may get from 10000 in transit with a commission of 1000: 10000 − 60 − 1000.
LIMIT = 10000 - FEE_10000 - COMMISSION


def over_limit(payee_total: int, fee: int, commission: int, unsettled: int) -> str:
    return f"分账金额超过可分账金额 settle_params {payee_total} + 手续费 {fee} + 佣金 {commission} > {unsettled}"


def query(client, no: str = "A1") -> dict:
    answer = client.call("query_order", out_order_no=no)
    assert answer["err_no"] == 0, answer
    return answer


# ---------------------------------------------------------------------------- the control route


class TestPayControl:
    @pytest.mark.parametrize(
        "args",
        [
            {"commission": -1},
            {"commission": 1.5},
            {"commission": "100"},
            {"commission": True},
            {"commission": None},
            {"commission": 10000},  # = total_amount
            {"commission": 10001},
            {"commission": 100, "commission_delay": -1},
            {"commission": 100, "commission_delay": "60"},
            {"commission": 100, "commission_delay": True},
            {"commission_delay": -0.5},
        ],
    )
    def test_bad_values_are_refused_and_change_nothing(self, sim, args):
        _, client = sim
        assert client.create_order("A1", total_amount=10000)["err_no"] == 0
        response = client.control("POST", "orders/A1/pay", args)
        assert response.status_code == 400, response.text
        assert next(iter(args)) in response.json()["error"]
        order = state(client)["orders"]["A1"]
        assert order["status"] == "PROCESSING"
        assert (order["commission"], order["commission_known_at"]) == (0, None)
        assert control(client, "POST", "orders/A1/pay")["status"] == "SUCCESS"

    @pytest.mark.parametrize("delay", [math.inf, math.nan])
    def test_no_endless_delay_in_process_either(self, sim, delay):
        simulator, client = sim
        assert client.create_order("A1")["err_no"] == 0
        with pytest.raises(ControlError, match="commission_delay") as refusal:
            simulator.pay("A1", commission=100, commission_delay=delay)
        assert refusal.value.status == 400

    def test_the_largest_commission_is_one_fen_less_than_the_order(self, sim):
        _, client = sim
        view = pay(client, amount=10000, commission=9999, commission_delay=0)
        assert view["commission"] == 9999

    def test_no_commission_is_no_cps_order(self, sim):
        _, client = sim
        view = pay(client)
        assert (view["commission"], view["commission_known_at"], view["item_id"]) == (0, None, "")
        advance(client, DAY)
        answer = query(client)
        assert "cps_info" not in answer
        assert answer["payment_info"]["item_id"] == ""

    def test_the_delay_defaults_to_the_switch(self, sim):
        simulator, client = sim
        assert simulator.config.cps_commission_delay == 60
        assert state(client)["config"]["cps_commission_delay"] == 60
        assert pay(client, "A1", commission=100)["commission_known_at"] == START + 60
        assert configure(client, cps_commission_delay=3600)["cps_commission_delay"] == 3600
        assert pay(client, "A2", commission=100)["commission_known_at"] == START + 3600
        assert pay(client, "A3", commission=100, commission_delay=5)["commission_known_at"] == START + 5

    @pytest.mark.parametrize("value", [-1, "60", True, None])
    def test_the_switch_refuses_bad_values(self, sim, value):
        simulator, client = sim
        response = client.control("POST", "config", {"cps_commission_delay": value})
        assert response.status_code == 400
        assert "cps_commission_delay" in response.json()["error"]
        assert simulator.config.cps_commission_delay == 60

    def test_the_views_show_the_commission_and_when_it_is_known(self, sim):
        _, client = sim
        view = pay(client, commission=COMMISSION, commission_delay=120)
        order = state(client)["orders"]["A1"]
        for shown in (view, order):
            assert shown["commission"] == COMMISSION
            assert shown["commission_known_at"] == START + 120
            assert re.fullmatch(r"\d{19}", shown["item_id"])
            assert shown["douyin_id"]
            assert shown["nickname"]


# ---------------------------------------------------------------------------- what the client sees


class TestVisibility:
    def test_callback_empty_before_the_delay_and_query_shows_them_after(self, sim, receiver):
        _, client = sim
        pay(client, commission=299, commission_delay=60)
        advance(client, 1)  # the payment callback's delay
        (body,) = receiver.wait(1)
        msg = msg_of(body)
        assert (msg["extra"], msg["item_id"]) == ("", "")
        notice = parsed(receiver, 0)
        assert isinstance(notice, PaymentNotice)
        assert (notice.extra, notice.item_id) == ("", "")

        advance(client, 58)  # one second before the commission is known
        before = query(client)
        assert "cps_info" not in before
        assert before["payment_info"]["item_id"] == ""
        assert OrderQueryResult.from_response(before).cps_info is None

        advance(client, 1)
        after = query(client)
        item_id = state(client)["orders"]["A1"]["item_id"]
        assert after["payment_info"]["item_id"] == item_id
        assert re.fullmatch(r"\d{19}", item_id)
        order = state(client)["orders"]["A1"]
        assert after["cps_info"] == {
            "share_amount": "299",
            "douyin_id": order["douyin_id"],
            "nickname": order["nickname"],
        }
        result = OrderQueryResult.from_response(after)
        assert result.cps_info is not None
        assert result.cps_info.share_amount == 299
        assert result.cps_info.douyin_id == order["douyin_id"]
        assert result.payment.item_id == item_id

    def test_known_at_payment_the_callback_carries_them(self, sim, receiver):
        _, client = sim
        pay(client, commission=299, commission_delay=0)
        advance(client, 1)
        msg = msg_of(receiver.wait(1)[0])
        assert msg["extra"] == '{"cps_info":"poi","share_amount":"299"}'
        assert msg["item_id"] == state(client)["orders"]["A1"]["item_id"]
        assert re.fullmatch(r"\d{19}", msg["item_id"])
        notice = parsed(receiver, 0)
        assert isinstance(notice, PaymentNotice)
        assert json.loads(notice.extra) == {"cps_info": "poi", "share_amount": "299"}
        assert notice.item_id == msg["item_id"]
        assert query(client)["cps_info"]["share_amount"] == "299"

    def test_a_retry_after_the_delay_repeats_the_first_msg(self, sim, receiver):
        simulator, client = sim
        receiver.status = 500
        pay(client, commission=299, commission_delay=10)
        advance(client, 1)
        receiver.wait(1)
        receiver.status = 200
        advance(client, 15)  # the first retry, 5 s after the commission became known
        first, second = receiver.wait(2)
        assert second["msg"] == first["msg"]
        assert (msg_of(second)["extra"], msg_of(second)["item_id"]) == ("", "")
        assert [d.ok for d in simulator.wait_for_deliveries(2)] == [False, True]


# ---------------------------------------------------------------------------- settle


class TestSettle:
    def test_refused_over_the_limit_before_the_commission_is_visible(self, sim):
        _, client = sim
        pay(client, commission=COMMISSION, commission_delay=10 * DAY)
        synced(client)
        advance(client, SETTLE_CYCLE)
        assert "cps_info" not in query(client)  # the client cannot know yet
        unsettled = client.call("unsettle_amount", out_order_no="A1")["data"]
        assert unsettled["unsettle_amount"] == 10000
        tips = refused(client.settle("S1", settle_params=payees(LIMIT + 1)))
        assert tips == over_limit(LIMIT + 1, FEE_10000, COMMISSION, 10000)
        assert "S1" not in state(client)["settlements"]
        accepted(client.settle("S2", settle_params=payees(LIMIT)))  # exactly at the limit
        settlement = state(client)["settlements"]["S2"]
        assert settlement["commission"] == COMMISSION
        assert settlement["rake"] == FEE_10000
        assert settlement["seller_amount"] == 0

    def test_refused_over_the_limit_after_the_commission_is_visible(self, sim):
        _, client = sim
        pay(client, commission=COMMISSION)
        synced(client)
        advance(client, SETTLE_CYCLE)
        assert query(client)["cps_info"]["share_amount"] == str(COMMISSION)
        tips = refused(client.settle("S1", settle_params=payees(LIMIT + 1)))
        assert tips == over_limit(LIMIT + 1, FEE_10000, COMMISSION, 10000)
        accepted(client.settle("S2", settle_params=payees(LIMIT)))

    def test_the_seller_share_must_cover_the_fee_without_a_commission(self, sim):
        _, client = sim
        pay(client, amount=1000)
        synced(client)
        advance(client, SETTLE_CYCLE)
        assert refused(client.settle("S1", settle_params=payees(995))) == over_limit(995, 6, 0, 1000)
        accepted(client.settle("S2", settle_params=payees(994)))
        assert state(client)["settlements"]["S2"]["seller_amount"] == 0

    def test_commission_on_the_settle_callback_and_query_settle(self, sim, receiver):
        _, client = sim
        pay(client, commission=COMMISSION, commission_delay=0)
        advance(client, 1)
        receiver.wait(1)
        synced(client)
        advance(client, SETTLE_CYCLE)
        settle_no = accepted(client.settle("S1", settle_params=payees(1000)))["settle_no"]
        seller = state(client)["orders"]["A1"]["seller_uid"]
        seller_amount = 10000 - FEE_10000 - COMMISSION - 1000
        advance(client, 3 + 5)  # completed after 3 s, its callback 5 s later
        msg = msg_of(receiver.wait(2)[1])
        assert msg["commission"] == COMMISSION
        assert msg["rake"] == FEE_10000
        assert msg["settle_amount"] == 10000
        assert msg["settle_detail"] == f"商户号{seller}-分成金额(分){seller_amount},商户号m1-分成金额(分)1000"
        assert msg["is_auto_settle"] is False
        notice = parsed(receiver, 1)
        assert isinstance(notice, SettleNotice)
        assert (notice.commission, notice.rake, notice.settle_no) == (COMMISSION, FEE_10000, settle_no)
        info = client.call("query_settle", out_settle_no="S1")
        assert info["settle_info"]["commission"] == COMMISSION
        assert info["settle_info"]["rake"] == FEE_10000
        result = SettleQueryResult.from_response(info)
        assert (result.commission, result.settle_status) == (COMMISSION, "SUCCESS")
        (entry,) = client.call("query_platform_order", out_order_no="A1")["platform_order"]["settle_info_list"]
        assert (entry["cps"], entry["service_charge"], entry["settle_way"]) == (COMMISSION, FEE_10000, 1)

    def test_the_commission_is_taken_once(self, make_sim):
        # A refund in progress during the settlement that then fails frees its money again; the
        # second settlement moves it without a second commission.
        _, client = make_sim(refund_processing_seconds=None)
        pay(client, commission=COMMISSION, commission_delay=0)
        synced(client)
        advance(client, SETTLE_CYCLE)
        accepted(client.refund("R1", 3000))
        accepted(client.settle("S1"))
        advance(client, 3)
        first = state(client)["settlements"]["S1"]
        assert (first["settle_amount"], first["rake"], first["commission"]) == (7000, 42, COMMISSION)
        assert first["seller_amount"] == 7000 - 42 - COMMISSION
        control(client, "POST", "refunds/R1/complete", {"status": "FAIL"})
        accepted(client.settle("S2"))
        second = state(client)["settlements"]["S2"]
        assert (second["settle_amount"], second["rake"], second["commission"]) == (3000, 18, 0)
        assert second["seller_amount"] == 3000 - 18

    def test_a_failed_settlement_leaves_the_commission_to_the_next(self, make_sim):
        _, client = make_sim(settle_outcome="FAIL")
        pay(client, commission=COMMISSION, commission_delay=0)
        synced(client)
        advance(client, SETTLE_CYCLE)
        accepted(client.settle("S1"))
        advance(client, 3)
        assert state(client)["settlements"]["S1"]["status"] == "FAIL"
        assert refused(client.settle("S2", settle_params=payees(LIMIT + 1))) == over_limit(
            LIMIT + 1, FEE_10000, COMMISSION, 10000
        )
        accepted(client.settle("S3", settle_params=payees(LIMIT)))
        assert state(client)["settlements"]["S3"]["commission"] == COMMISSION


# ---------------------------------------------------------------------------- unsettle_amount


class TestUnsettleAmount:
    def test_the_commission_counts_once_known(self, sim):
        _, client = sim
        pay(client, commission=COMMISSION, commission_delay=60)
        advance(client, 59)
        before = client.call("unsettle_amount", out_order_no="A1")["data"]
        assert before["unsettle_amount"] == 10000
        assert before["detail"]["commission"] == 0
        assert before["detail"]["payment_rake"] == FEE_10000
        advance(client, 1)
        after = client.call("unsettle_amount", out_order_no="A1")
        data = after["data"]
        assert data["unsettle_amount"] == 10000 - COMMISSION
        assert data["detail"]["commission"] == COMMISSION
        assert data["detail"]["payment_rake"] == FEE_10000
        result = UnsettleAmountResult.from_response(after)
        assert result.unsettle_amount == 10000 - COMMISSION
        assert result.detail["commission"] == COMMISSION

    def test_after_a_refund_and_after_the_settlement(self, sim):
        _, client = sim
        pay(client, commission=COMMISSION, commission_delay=0)
        synced(client)
        accepted(client.refund("R1", 2000))
        data = client.call("unsettle_amount", out_order_no="A1")["data"]
        assert data["unsettle_amount"] == 8000 - COMMISSION
        assert [r["amount"] for r in data["detail"]["refund_info"]] == [2000]
        advance(client, SETTLE_CYCLE)
        accepted(client.settle("S1"))
        data = client.call("unsettle_amount", out_order_no="A1")["data"]
        assert data["unsettle_amount"] == 0
        assert data["detail"]["commission"] == 0  # taken by the settlement

    def test_no_commission_no_change(self, sim):
        _, client = sim
        pay(client)
        data = client.call("unsettle_amount", out_order_no="A1")["data"]
        assert (data["unsettle_amount"], data["detail"]["commission"]) == (10000, 0)
