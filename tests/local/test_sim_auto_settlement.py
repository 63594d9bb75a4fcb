"""The platform's own settlement of an order still holding in-transit money ``auto_settle_days``
(150) days after its payment, announced once by a ``settle_finish`` notice (or, by switch, a
``settle`` notice with ``is_auto_settle`` true).

Over loopback HTTP with a frozen clock (speed 0), moved with /_sim/clock/advance, so the deadline
is exact to the second. Beijing times are written out here rather than formatted by the simulator:
START is 2025-06-15 23:06:40, and 150 days later is 2025-11-12 23:06:40.
"""

from __future__ import annotations

import time

import pytest

from douyin_pay.ecpay.notices import SettleFinishNotice, SettleNotice
from douyin_pay.ecpay.results import PlatformOrderResult
from douyin_pay.ecpay.settlements import SettlePayeeAmount
from tests.local.sim_helpers import APP_ID, DAY, SETTLE_CYCLE, START, msg_of, signature_by_hand
from tests.local.sim_money_helpers import (
    FEE_10000,
    accepted,
    advance,
    configure,
    control,
    parsed,
    pay,
    refused,
    state,
    synced,
)

AUTO = 150 * DAY
DEADLINE = START + AUTO
DEADLINE_TEXT = "2025-11-12 23:06:40"
COMMISSION = 1000


def paid_and_announced(client, receiver, **args) -> dict:
    """A paid order (10000 fen) whose payment callback was delivered; its view."""
    view = pay(client, **args)
    advance(client, 1)
    receiver.wait(1)
    return view


def to_deadline(client, already: float = 1) -> None:
    """Move the clock to the deadline, ``already`` seconds having passed since the payment."""
    advance(client, AUTO - already)


def settlements(client) -> dict:
    return state(client)["settlements"]


# ---------------------------------------------------------------------------- the switches


class TestSwitches:
    def test_defaults(self, sim):
        simulator, client = sim
        config = state(client)["config"]
        assert (config["auto_settle_days"], config["auto_settle_notice"]) == (150, "settle_finish")
        assert config["delays"]["settle_finish"] == 5
        assert simulator.config.auto_settle_days == 150

    @pytest.mark.parametrize(
        "changes",
        [
            {"auto_settle_days": -1},
            {"auto_settle_days": "150"},
            {"auto_settle_days": True},
            {"auto_settle_days": None},
            {"auto_settle_notice": "settle_result"},
            {"auto_settle_notice": ""},
            {"delays": {"settle_finished": 1}},
        ],
    )
    def test_refused_values_change_nothing(self, sim, changes):
        simulator, client = sim
        response = client.control("POST", "config", changes)
        assert response.status_code == 400, response.text
        assert simulator.config.auto_settle_days == 150
        assert simulator.config.auto_settle_notice == "settle_finish"


# ---------------------------------------------------------------------------- the settlement


class TestAutoSettlement:
    def test_exactly_at_the_deadline_not_one_second_before(self, sim, receiver):
        _, client = sim
        paid_and_announced(client, receiver, commission=COMMISSION, commission_delay=0)
        assert state(client)["orders"]["A1"]["auto_settle_at"] == DEADLINE
        advance(client, AUTO - 2)
        assert settlements(client) == {}
        advance(client, 1)
        assert state(client)["now"] == DEADLINE
        s = settlements(client)["auto:A1"]
        seller = state(client)["orders"]["A1"]["seller_uid"]
        assert s["out_settle_no"] == ""
        assert s["status"] == "SUCCESS"
        assert (s["created_at"], s["settled_at"]) == (DEADLINE, DEADLINE)
        assert s["settle_way"] == 2
        assert (s["settle_amount"], s["rake"], s["commission"]) == (10000, FEE_10000, COMMISSION)
        assert s["seller_amount"] == 10000 - FEE_10000 - COMMISSION
        assert s["payees"] == []
        assert s["settle_detail"] == f"商户号{seller}-分成金额(分){10000 - FEE_10000 - COMMISSION}"
        order = state(client)["orders"]["A1"]
        assert (order["unsettled"], order["auto_settle_at"]) == (0, None)

    def test_stamped_at_the_deadline_when_noticed_later(self, sim):
        _, client = sim
        pay(client)
        advance(client, AUTO + 7200)  # one jump; the tick at the end applies it
        assert settlements(client)["auto:A1"]["settled_at"] == DEADLINE

    def test_next_due_wakes_the_notifier_for_it(self, sim):
        simulator, client = sim
        pay(client)
        assert simulator.platform.next_due() == DEADLINE
        configure(client, auto_settle_days=1)
        assert simulator.platform.next_due() == START + DAY
        configure(client, auto_settle_days=0)
        assert simulator.platform.next_due() is None

    def test_it_happens_without_any_request_on_a_running_clock(self, sim, receiver):
        simulator, client = sim
        paid_and_announced(client, receiver)
        simulator.configure(speed=30_000_000)  # 150 days in about half a second
        bodies = receiver.wait(2, timeout=10)
        assert bodies[1]["type"] == "settle_finish"
        simulator.configure(speed=0)
        assert simulator.platform.settlements["auto:A1"].settled_at == DEADLINE

    def test_one_settle_finish_notice_read_by_the_sdk_and_not_resent(self, sim, receiver):
        simulator, client = sim
        paid_and_announced(client, receiver, commission=COMMISSION, commission_delay=0)
        to_deadline(client)
        advance(client, 4)
        time.sleep(0.1)
        assert len(receiver.received) == 1  # its delay is 5 s
        advance(client, 1)
        body = receiver.wait(2)[1]
        assert body["type"] == "settle_finish"
        assert body["msg_signature"] == signature_by_hand(body)
        assert body["timestamp"] == str(int(DEADLINE + 5))
        s = settlements(client)["auto:A1"]
        seller = state(client)["orders"]["A1"]["seller_uid"]
        assert msg_of(body) == {
            "ma_app_id": APP_ID,
            "out_order_id": "A1",
            "auto_settle_list": [
                {
                    "created_at": DEADLINE_TEXT,
                    "settle_plat_no": s["settle_plat_no"],
                    "settle_no": s["settle_no"],
                    "settle_info": [{"merchant_uid": seller, "amount": 10000 - FEE_10000 - COMMISSION}],
                    "settle_status": "SUCCESS",
                    "service_charge": FEE_10000,
                    "cps": COMMISSION,
                    "settled_at": DEADLINE_TEXT,
                    "settle_way": "2",
                }
            ],
        }
        assert s["settle_plat_no"] != s["settle_no"]
        notice = parsed(receiver, 1)
        assert isinstance(notice, SettleFinishNotice)
        assert (notice.app_id, notice.out_order_no) == (APP_ID, "A1")
        (auto,) = notice.auto_settle_list
        assert auto.settle_no == s["settle_no"]
        assert auto.settle_plat_no == s["settle_plat_no"]
        assert auto.settle_status == "SUCCESS"
        assert auto.payees == (SettlePayeeAmount(seller, 10000 - FEE_10000 - COMMISSION),)
        assert (auto.service_charge, auto.cps) == (FEE_10000, COMMISSION)
        assert (auto.created_at, auto.settled_at, auto.settle_way) == (DEADLINE_TEXT, DEADLINE_TEXT, "2")
        assert auto.out_settle_no == ""
        # Acknowledged: nothing pending, nothing more a day later.
        assert [d.ok for d in simulator.wait_for_deliveries(2)] == [True, True]
        assert state(client)["callbacks"]["pending"] == []
        advance(client, DAY)
        time.sleep(0.1)
        assert len(receiver.received) == 2
        assert len(simulator.deliveries()) == 2

    def test_a_failed_delivery_is_retried_like_any_notice(self, sim, receiver):
        simulator, client = sim
        paid_and_announced(client, receiver)
        receiver.status = 500
        to_deadline(client)
        advance(client, 5)
        receiver.wait(2)
        receiver.status = 200
        advance(client, 15)  # the first retry interval (§6.3)
        bodies = receiver.wait(3)
        assert [b["type"] for b in bodies] == ["payment", "settle_finish", "settle_finish"]
        assert bodies[2]["msg"] == bodies[1]["msg"]
        log = simulator.wait_for_deliveries(3)
        assert [(d.type, d.attempt, d.ok) for d in log[1:]] == [("settle_finish", 1, False), ("settle_finish", 2, True)]
        advance(client, DAY)
        time.sleep(0.1)
        assert len(receiver.received) == 3

    def test_drop_and_delays_know_settle_finish(self, sim, receiver):
        simulator, client = sim
        pay(client, "A1")
        configure(client, drop=["settle_finish"])
        advance(client, AUTO + 60)
        dropped = state(client)["callbacks"]["dropped"]
        assert [d["type"] for d in dropped] == ["settle_finish"]
        configure(client, drop=None, delays={"settle_finish": 30})
        pay(client, "A2")
        advance(client, AUTO + 29)
        time.sleep(0.1)
        assert [b["type"] for b in receiver.bodies()].count("settle_finish") == 0
        advance(client, 1)
        assert receiver.wait(3)[-1]["type"] == "settle_finish"
        last = simulator.wait_for_deliveries(3)[-1]  # A1's payment, A2's, A2's settle_finish
        assert (last.type, last.sim_time) == ("settle_finish", START + AUTO + 60 + AUTO + 30)


# ---------------------------------------------------------------------------- afterwards


class TestAfterwards:
    def test_settle_is_refused(self, sim, receiver):
        _, client = sim
        paid_and_announced(client, receiver)
        synced(client)
        to_deadline(client)
        tips = refused(client.settle("S1"))
        assert tips == (
            f"order A1 has nothing left to settle: 已自动结算 the platform settled it automatically at {DEADLINE_TEXT}"
        )

    def test_a_refund_needs_all_settle(self, sim, receiver):
        _, client = sim
        paid_and_announced(client, receiver)
        to_deadline(client)
        assert "在途资金不足" in refused(client.refund("R1", 100))
        accepted(client.refund("R2", 100, all_settle=1))
        assert settlements(client).keys() == {"auto:A1"}  # no second settlement for the refund

    def test_query_platform_order_lists_it(self, sim, receiver):
        _, client = sim
        paid_and_announced(client, receiver, commission=COMMISSION, commission_delay=0)
        to_deadline(client)
        answer = client.call("query_platform_order", out_order_no="A1")
        s = settlements(client)["auto:A1"]
        seller = state(client)["orders"]["A1"]["seller_uid"]
        assert answer["platform_order"]["settle_info_list"] == [
            {
                "settle_no": s["settle_no"],
                "out_settle_no": "",
                "settle_param_list": [{"merchant_uid": seller, "amount": 10000 - FEE_10000 - COMMISSION}],
                "settle_way": 2,
                "settle_status": "SUCCESS",
                "cps": COMMISSION,
                "service_charge": FEE_10000,
                "created_at": DEADLINE_TEXT,
                "settled_at": int(DEADLINE),
            }
        ]
        (read,) = PlatformOrderResult.from_response(answer).settlements
        assert (read.settle_no, read.out_settle_no, read.settle_way, read.cps) == (s["settle_no"], "", "2", COMMISSION)

    def test_query_settle_knows_nothing_of_it(self, sim, receiver):
        _, client = sim
        paid_and_announced(client, receiver)
        to_deadline(client)
        settle_no = settlements(client)["auto:A1"]["settle_no"]
        assert client.call("query_settle", out_settle_no=settle_no)["err_no"] == 2000
        assert client.call("query_settle", out_settle_no="auto:A1")["err_no"] == 2010  # no business number
        assert client.call("query_settle", out_settle_no="auto")["err_no"] == 2000

    def test_the_state_shows_it(self, sim):
        simulator, client = sim
        pay(client)
        to_deadline(client, already=0)
        assert simulator.state()["settlements"]["auto:A1"]["settle_way"] == 2
        assert state(client)["settlements"]["auto:A1"]["status"] == "SUCCESS"


# ---------------------------------------------------------------------------- when it does not happen


class TestNotSettled:
    def test_an_order_already_settled(self, sim, receiver):
        _, client = sim
        paid_and_announced(client, receiver)
        synced(client)
        advance(client, SETTLE_CYCLE)
        accepted(client.settle("S1"))
        advance(client, AUTO + DAY)
        assert settlements(client).keys() == {"S1"}
        types = [b["type"] for b in receiver.wait(2)]
        time.sleep(0.1)
        assert types == ["payment", "settle"]
        assert len(receiver.received) == 2

    def test_an_order_fully_refunded(self, sim, receiver):
        _, client = sim
        paid_and_announced(client, receiver)
        accepted(client.refund("R1", 6000))
        accepted(client.refund("R2", 4000))
        advance(client, AUTO + DAY)
        assert settlements(client) == {}
        time.sleep(0.1)
        assert [b["type"] for b in receiver.bodies()] == ["payment", "refund", "refund"]

    def test_an_order_never_paid(self, sim):
        _, client = sim
        assert client.create_order("A1")["err_no"] == 0
        advance(client, AUTO + DAY)
        assert settlements(client) == {}

    def test_off_with_zero_days(self, make_sim):
        simulator, client = make_sim(auto_settle_days=0)
        pay(client)
        assert state(client)["orders"]["A1"]["auto_settle_at"] is None
        advance(client, 400 * DAY)
        assert settlements(client) == {}
        assert simulator.platform.next_due() is None

    def test_off_at_runtime_and_back_on_settles_at_the_old_deadline(self, sim):
        _, client = sim
        pay(client)
        configure(client, auto_settle_days=0)
        advance(client, AUTO + DAY)
        assert settlements(client) == {}
        configure(client, auto_settle_days=150)
        assert settlements(client)["auto:A1"]["settled_at"] == DEADLINE


# ---------------------------------------------------------------------------- what it moves


class TestWhatItMoves:
    def test_the_rest_after_a_partial_refund(self, sim):
        _, client = sim
        pay(client)
        accepted(client.refund("R1", 3000))
        to_deadline(client, already=0)
        s = settlements(client)["auto:A1"]
        assert (s["settle_amount"], s["rake"], s["commission"], s["seller_amount"]) == (7000, 42, 0, 7000 - 42)

    def test_the_commission_is_capped_at_what_the_fee_leaves(self, sim):
        _, client = sim
        pay(client, commission=5000, commission_delay=0)
        accepted(client.refund("R1", 6000))
        synced(client)
        advance(client, SETTLE_CYCLE)
        assert "佣金 5000 > 4000" in refused(client.settle("S1"))  # never settleable by the developer
        advance(client, AUTO - SETTLE_CYCLE)
        s = settlements(client)["auto:A1"]
        assert (s["settle_amount"], s["rake"], s["commission"], s["seller_amount"]) == (4000, 24, 3976, 0)

    def test_waits_for_a_settlement_in_progress_then_follows_its_failure(self, make_sim, receiver):
        _, client = make_sim(settle_processing_seconds=None)
        paid_and_announced(client, receiver)
        synced(client)
        advance(client, AUTO - 1 - 60)
        accepted(client.settle("S1"))
        advance(client, 3600)
        assert settlements(client).keys() == {"S1"}  # processing at the deadline
        assert state(client)["orders"]["A1"]["auto_settle_at"] is None
        control(client, "POST", "settlements/S1/complete", {"status": "FAIL"})
        s = settlements(client)["auto:A1"]
        assert s["settled_at"] == DEADLINE - 60 + 3600  # when the failure freed the money
        assert s["settle_amount"] == 10000

    def test_money_freed_during_a_settlement_in_progress_waits_for_it(self, make_sim):
        _, client = make_sim(settle_processing_seconds=None, refund_processing_seconds=None)
        pay(client)
        synced(client)
        advance(client, SETTLE_CYCLE)
        accepted(client.refund("R1", 3000))
        accepted(client.settle("S1"))  # moves the other 7000
        advance(client, AUTO - SETTLE_CYCLE)
        control(client, "POST", "refunds/R1/complete", {"status": "FAIL"})  # 3000 in transit again
        assert state(client)["orders"]["A1"]["unsettled"] == 3000
        advance(client, 60)
        assert settlements(client).keys() == {"S1"}  # not while S1 is in progress
        control(client, "POST", "settlements/S1/complete", {"status": "SUCCESS"})
        s = settlements(client)["auto:A1"]
        assert (s["settle_amount"], s["settled_at"]) == (3000, DEADLINE + 60)

    def test_money_freed_after_an_auto_settlement_is_settled_again(self, make_sim):
        _, client = make_sim(refund_processing_seconds=None)
        pay(client)
        accepted(client.refund("R1", 3000))
        to_deadline(client, already=0)
        assert settlements(client)["auto:A1"]["settle_amount"] == 7000
        advance(client, 60)
        control(client, "POST", "refunds/R1/complete", {"status": "FAIL"})
        second = settlements(client)["auto:A1:2"]
        assert (second["settle_amount"], second["settled_at"], second["settle_way"]) == (3000, DEADLINE + 60, 2)


# ---------------------------------------------------------------------------- the settle variant


class TestSettleNoticeVariant:
    def test_one_settle_notice_with_is_auto_settle(self, make_sim, receiver):
        simulator, client = make_sim(auto_settle_notice="settle")
        paid_and_announced(client, receiver, commission=COMMISSION, commission_delay=0)
        to_deadline(client)
        advance(client, 5)  # the settle delay
        body = receiver.wait(2)[1]
        assert body["type"] == "settle"
        s = settlements(client)["auto:A1"]
        seller = state(client)["orders"]["A1"]["seller_uid"]
        assert msg_of(body) == {
            "app_id": APP_ID,
            "cp_settle_no": "",
            "cp_extra": "",
            "status": "SUCCESS",
            "rake": FEE_10000,
            "commission": COMMISSION,
            "settle_detail": f"商户号{seller}-分成金额(分){10000 - FEE_10000 - COMMISSION}",
            "settled_at": int(DEADLINE),
            "message": "",
            "order_id": s["order_id"],
            "channel_settle_id": s["channel_settle_id"],
            "settle_amount": 10000,
            "settle_no": s["settle_no"],
            "out_order_no": "A1",
            "is_auto_settle": True,
        }
        advance(client, DAY)
        time.sleep(0.1)
        assert len(receiver.received) == 2
        assert state(client)["callbacks"]["pending"] == []
        assert [d.type for d in simulator.deliveries()] == ["payment", "settle"]

    def test_read_by_the_sdk(self, make_sim, receiver):
        _, client = make_sim(auto_settle_notice="settle")
        paid_and_announced(client, receiver)
        to_deadline(client)
        advance(client, 5)
        receiver.wait(2)
        notice = parsed(receiver, 1)
        assert isinstance(notice, SettleNotice)
        assert notice.is_auto_settle is True
        assert notice.out_settle_no == ""
        assert notice.automatic
