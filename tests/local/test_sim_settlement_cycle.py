"""The settlement cycle (switches settle_cycle_days, settle_after) and the seller-as-payee refusal,
over loopback HTTP against the running simulator.

Money is settleable settle_cycle_days after the payment (settle_after "payment", the older rule) or
after the fulfilment (核销, "fulfilment": the platform learns of it from the first applied order push
with order_status 4, at the time it receives it). A settle before then is refused at once with 2010
and spends its out_settle_no. The clock is frozen (speed 0) and moved over /_sim/clock/advance, so
every boundary is exact to the second. Expected times are written out in Beijing time here rather
than formatted by the simulator.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from local.douyin_sim import SimulatorConfig
from tests.local.sim_helpers import APP_ID, DAY, SALT, SETTLE_CYCLE, START, TOKEN, Client
from tests.local.sim_money_helpers import advance, configure, control, state

T0 = int(START * 1000)  # a 13-digit update_time
NOT_FULFILLED = "原支付单未支付成功并核销,禁止分账 order A1 is not fulfilled"


def too_early(when: str, no: str = "A1") -> str:
    return f"未到结算周期,禁止分账 order {no} can be settled from {when}"


# ---------------------------------------------------------------------------- HTTP helpers


def paid(client: Client, no: str = "A1", amount: int = 1000) -> dict[str, Any]:
    """Create the order, pay it over the control route and sync it as paid; the paid order's view."""
    assert client.create_order(no, total_amount=amount)["err_no"] == 0
    view = control(client, "POST", f"orders/{no}/pay")
    assert client.push_status(no, 1)["err_code"] == 0
    return view


def refused(answer: dict[str, Any]) -> str:
    assert answer["err_no"] == 2010, answer
    assert set(answer) == {"err_no", "err_tips"}
    return answer["err_tips"]


def accepted(answer: dict[str, Any]) -> str:
    assert answer["err_no"] == 0, answer
    return answer["settle_no"]


def payees(*uids: str) -> str:
    return json.dumps([{"merchant_uid": uid, "amount": 10} for uid in uids])


# ---------------------------------------------------------------------------- settle_after = payment


class TestFromPayment:
    def test_the_default_is_7_days_from_the_payment(self, sim):
        simulator, client = sim
        assert simulator.config.settle_cycle_days == 7
        assert simulator.config.settle_after == "payment"
        config = state(client)["config"]
        assert config["settle_cycle_days"] == 7
        assert config["settle_after"] == "payment"

    def test_refused_one_second_before_the_cycle_ends_and_accepted_at_it(self, sim):
        _, client = sim
        view = paid(client)
        assert view["paid_at"] == START
        assert refused(client.settle("S1")) == too_early("2025-06-22 23:06:40")
        assert advance(client, SETTLE_CYCLE - 1) == START + SETTLE_CYCLE - 1
        assert refused(client.settle("S2")) == too_early("2025-06-22 23:06:40")
        assert state(client)["settlements"] == {}
        assert advance(client, 1) == START + SETTLE_CYCLE
        settle_no = accepted(client.settle("S3"))
        settlement = state(client)["settlements"]["S3"]
        assert settlement["settle_no"] == settle_no
        assert settlement["settle_amount"] == 1000

    def test_the_time_shown_is_never_one_still_refused(self, sim):
        _, client = sim
        advance(client, 0.5)
        assert paid(client)["paid_at"] == START + 0.5
        advance(client, SETTLE_CYCLE - 0.5)  # half a second short
        # Settleable from xx:06:40.5; the time shown to the second is the next whole one.
        assert refused(client.settle("S1")) == too_early("2025-06-22 23:06:41")
        advance(client, 0.5)
        accepted(client.settle("S2"))

    def test_each_order_counts_from_its_own_payment(self, sim):
        _, client = sim
        paid(client, "A1")
        advance(client, DAY)
        paid(client, "A2")
        advance(client, SETTLE_CYCLE - DAY)
        accepted(client.settle("S1", order="A1"))
        assert refused(client.settle("S2", order="A2")) == too_early("2025-06-23 23:06:40", "A2")

    def test_the_cycle_follows_the_not_paid_and_order_sync_checks(self, sim):
        _, client = sim
        client.create_order("A1")
        assert "原支付单未支付成功,禁止分账 order A1 is PROCESSING" in refused(client.settle("S1"))
        control(client, "POST", "orders/A1/pay")
        # Paid but never pushed: the order-sync refusal comes before the cycle's.
        assert "pushed status none" in refused(client.settle("S2"))
        assert client.push_status("A1", 1)["err_code"] == 0
        assert "未到结算周期" in refused(client.settle("S3"))

    def test_a_refusal_spends_the_number(self, sim):
        _, client = sim
        paid(client)
        first = refused(client.settle("S1"))
        advance(client, SETTLE_CYCLE)
        again = refused(client.settle("S1"))
        assert again.startswith(first)
        assert "out_settle_no S1 was spent by a failed request, use a new one" in again
        spent = state(client)["spent_numbers"]["settle"]
        assert spent == {"S1": {"err_no": 2010, "err_tips": first}}
        assert state(client)["settlements"] == {}
        accepted(client.settle("S2"))

    def test_a_shorter_cycle_set_at_runtime_applies_to_paid_orders(self, sim):
        simulator, client = sim
        paid(client)
        assert configure(client, settle_cycle_days=1.5)["settle_cycle_days"] == 1.5
        assert simulator.config.settle_cycle_days == 1.5
        advance(client, 1.5 * DAY - 1)
        assert refused(client.settle("S1")) == too_early("2025-06-17 11:06:40")
        advance(client, 1)
        accepted(client.settle("S2"))


# ---------------------------------------------------------------------------- settle_after = fulfilment


class TestFromFulfilment:
    def test_an_unfulfilled_order_is_refused_with_the_documented_text(self, make_sim):
        _, client = make_sim(settle_after="fulfilment")
        paid(client)
        assert refused(client.settle("S1")) == NOT_FULFILLED
        advance(client, 10 * SETTLE_CYCLE)  # time since the payment does not help
        assert refused(client.settle("S2")) == NOT_FULFILLED
        assert state(client)["settlements"] == {}

    def test_the_refusal_spends_the_number(self, make_sim):
        _, client = make_sim(settle_after="fulfilment")
        paid(client)
        assert refused(client.settle("S1")) == NOT_FULFILLED
        assert client.push_status("A1", 4)["err_code"] == 0
        advance(client, SETTLE_CYCLE)
        again = refused(client.settle("S1"))
        assert again.startswith(NOT_FULFILLED)
        assert "use a new one" in again
        assert "S1" in state(client)["spent_numbers"]["settle"]
        accepted(client.settle("S2"))

    def test_a_push_with_status_4_starts_the_cycle_at_its_receive_time(self, make_sim):
        _, client = make_sim(settle_after="fulfilment")
        paid(client)
        advance(client, 2 * DAY)
        # update_time says the payment's moment; the cycle counts from when the push arrived.
        assert client.push_status("A1", 4, update_time=T0 + 1)["err_code"] == 0
        assert state(client)["order_sync"]["A1"]["pushes"][-1]["received_at"] == START + 2 * DAY
        advance(client, SETTLE_CYCLE - 1)
        assert refused(client.settle("S1")) == too_early("2025-06-24 23:06:40")
        advance(client, 1)
        accepted(client.settle("S2"))

    def test_the_first_fulfilment_push_counts_not_a_later_one(self, make_sim):
        _, client = make_sim(settle_after="fulfilment")
        paid(client)
        assert client.push_status("A1", 4, update_time=T0 + 10)["err_code"] == 0
        advance(client, 3 * DAY)
        assert client.push_status("A1", 4, update_time=T0 + 20)["err_code"] == 0
        advance(client, SETTLE_CYCLE - 3 * DAY)
        accepted(client.settle("S1"))

    def test_a_fulfilment_push_that_was_not_applied_does_not_count(self, make_sim):
        _, client = make_sim(settle_after="fulfilment")
        paid(client)  # its push has an update_time from the client's rising counter (T0 + 0)
        assert client.push_status("A1", 1, update_time=T0 + 100)["err_code"] == 0
        # Older than the order's status: answered 0, kept with applied false, no fulfilment.
        assert client.push_status("A1", 4, update_time=T0 + 50)["err_code"] == 0
        assert state(client)["order_sync"]["A1"]["pushes"][-1]["applied"] is False
        advance(client, SETTLE_CYCLE)
        assert refused(client.settle("S1")) == NOT_FULFILLED
        assert state(client)["orders"]["A1"]["settleable_at"] is None

    def test_fulfilled_then_paid_status_again_still_counts_from_the_fulfilment(self, make_sim):
        _, client = make_sim(settle_after="fulfilment")
        paid(client)
        assert client.push_status("A1", 4, update_time=T0 + 10)["err_code"] == 0
        # A partial refund and back: the current status is 1 again, the fulfilment stands.
        assert client.push_status("A1", 5, update_time=T0 + 20)["err_code"] == 0
        assert client.push_status("A1", 1, update_time=T0 + 30)["err_code"] == 0
        advance(client, SETTLE_CYCLE)
        accepted(client.settle("S1"))

    def test_a_fulfilment_pushed_before_the_payment_counts_from_the_payment(self, make_sim):
        _, client = make_sim(settle_after="fulfilment")
        assert client.create_order("A1", total_amount=1000)["err_no"] == 0
        assert client.push_status("A1", 4)["err_code"] == 0
        advance(client, 600)  # within the order's valid_time (900 s)
        control(client, "POST", "orders/A1/pay")
        assert state(client)["orders"]["A1"]["settleable_at"] == START + 600 + SETTLE_CYCLE
        advance(client, SETTLE_CYCLE - 1)
        assert refused(client.settle("S1")) == too_early("2025-06-22 23:16:40")
        advance(client, 1)
        accepted(client.settle("S2"))

    def test_switching_mode_at_runtime(self, sim):
        simulator, client = sim
        paid(client)
        advance(client, SETTLE_CYCLE)
        assert configure(client, settle_after="fulfilment")["settle_after"] == "fulfilment"
        assert simulator.config.settle_after == "fulfilment"
        assert refused(client.settle("S1")) == NOT_FULFILLED
        configure(client, settle_after="payment")
        accepted(client.settle("S2"))

    def test_fulfilment_does_not_need_order_sync_switched_on(self, make_sim):
        # The platform learns of the fulfilment only from the push, whatever require_order_sync says.
        _, client = make_sim(settle_after="fulfilment", require_order_sync=False)
        assert client.create_order("A1", total_amount=1000)["err_no"] == 0
        control(client, "POST", "orders/A1/pay")
        advance(client, SETTLE_CYCLE)
        assert refused(client.settle("S1")) == NOT_FULFILLED
        assert client.push_status("A1", 4)["err_code"] == 0
        assert refused(client.settle("S2")) == too_early("2025-06-29 23:06:40")


# ---------------------------------------------------------------------------- 0 turns the rule off


class TestOff:
    def test_zero_days_at_construction(self, make_sim):
        simulator, client = make_sim(settle_cycle_days=0)
        assert simulator.config.settle_cycle_days == 0
        paid(client)
        accepted(client.settle("S1"))

    def test_zero_days_at_runtime_and_back(self, sim):
        _, client = sim
        paid(client, "A1")
        paid(client, "A2")
        assert configure(client, settle_cycle_days=0)["settle_cycle_days"] == 0
        accepted(client.settle("S1", order="A1"))
        configure(client, settle_cycle_days=7)
        assert refused(client.settle("S2", order="A2")) == too_early("2025-06-22 23:06:40", "A2")

    def test_zero_days_also_lifts_the_fulfilment_requirement(self, make_sim):
        _, client = make_sim(settle_after="fulfilment", settle_cycle_days=0)
        paid(client)
        assert state(client)["orders"]["A1"]["settleable_at"] == START  # the payment, no fulfilment
        accepted(client.settle("S1"))

    def test_zero_days_leaves_the_other_rules(self, make_sim):
        _, client = make_sim(settle_cycle_days=0)
        assert client.create_order("A1", total_amount=1000)["err_no"] == 0
        control(client, "POST", "orders/A1/pay")
        assert "pushed status none" in refused(client.settle("S1"))


# ---------------------------------------------------------------------------- the switches


class TestSwitches:
    @pytest.mark.parametrize(
        "changes",
        [
            {"settle_cycle_days": -1},
            {"settle_cycle_days": -0.001},
            {"settle_cycle_days": "7"},
            {"settle_cycle_days": True},
            {"settle_cycle_days": None},
            {"settle_after": "fulfillment"},
            {"settle_after": "Payment"},
            {"settle_after": ""},
            {"settle_after": None},
            {"settle_after": 1},
        ],
    )
    def test_refused_values_change_nothing(self, sim, changes):
        simulator, client = sim
        response = client.control("POST", "config", changes)
        assert response.status_code == 400, response.text
        assert next(iter(changes)) in response.json()["error"]
        assert simulator.config.settle_cycle_days == 7
        assert simulator.config.settle_after == "payment"
        config = state(client)["config"]
        assert (config["settle_cycle_days"], config["settle_after"]) == (7, "payment")

    def test_a_refused_pair_changes_neither(self, sim):
        simulator, client = sim
        response = client.control("POST", "config", {"settle_after": "fulfilment", "settle_cycle_days": -2})
        assert response.status_code == 400
        assert simulator.config.settle_after == "payment"

    def test_accepted_values_show_in_the_public_config(self, sim):
        _, client = sim
        answer = configure(client, settle_cycle_days=1, settle_after="fulfilment")
        assert (answer["settle_cycle_days"], answer["settle_after"]) == (1, "fulfilment")
        config = state(client)["config"]
        assert (config["settle_cycle_days"], config["settle_after"]) == (1, "fulfilment")

    @pytest.mark.parametrize(
        ("overrides", "named"),
        [
            ({"settle_cycle_days": -1}, "settle_cycle_days"),
            ({"settle_cycle_days": math.nan}, "settle_cycle_days"),
            ({"settle_cycle_days": math.inf}, "settle_cycle_days"),
            ({"settle_cycle_days": "7"}, "settle_cycle_days"),
            ({"settle_after": "delivery"}, "settle_after"),
        ],
    )
    def test_construction_validates(self, overrides, named):
        with pytest.raises(ValueError, match=named):
            SimulatorConfig(APP_ID, SALT, TOKEN, **overrides)


# ---------------------------------------------------------------------------- settleable_at in the state


class TestSettleableAt:
    def test_payment_mode(self, sim):
        _, client = sim
        assert client.create_order("A1", total_amount=1000)["err_no"] == 0
        assert state(client)["orders"]["A1"]["settleable_at"] is None  # not paid
        advance(client, 60)
        view = control(client, "POST", "orders/A1/pay")
        assert view["settleable_at"] == START + 60 + SETTLE_CYCLE
        assert state(client)["orders"]["A1"]["settleable_at"] == START + 60 + SETTLE_CYCLE
        configure(client, settle_cycle_days=2)
        assert state(client)["orders"]["A1"]["settleable_at"] == START + 60 + 2 * DAY
        configure(client, settle_cycle_days=0)
        assert state(client)["orders"]["A1"]["settleable_at"] == START + 60

    def test_fulfilment_mode(self, make_sim):
        _, client = make_sim(settle_after="fulfilment")
        paid(client)
        assert state(client)["orders"]["A1"]["settleable_at"] is None  # waits for the fulfilment
        advance(client, 3600)
        assert client.push_status("A1", 4)["err_code"] == 0
        assert state(client)["orders"]["A1"]["settleable_at"] == START + 3600 + SETTLE_CYCLE

    def test_it_is_the_moment_the_settle_is_first_accepted(self, make_sim):
        _, client = make_sim(settle_after="fulfilment", settle_cycle_days=0.25)
        paid(client)
        advance(client, 1234)
        assert client.push_status("A1", 4)["err_code"] == 0
        settleable_at = state(client)["orders"]["A1"]["settleable_at"]
        assert settleable_at == START + 1234 + DAY / 4
        now = advance(client, settleable_at - 1 - (START + 1234))
        assert now == settleable_at - 1
        assert "未到结算周期" in refused(client.settle("S1"))
        assert advance(client, 1) == settleable_at
        accepted(client.settle("S2"))


# ---------------------------------------------------------------------------- the seller is no payee


class TestSellerIsNoPayee:
    def test_the_seller_as_a_payee_is_refused(self, sim):
        _, client = sim
        seller = paid(client)["seller_uid"]
        assert seller == state(client)["config"]["seller_uid"]
        advance(client, SETTLE_CYCLE)
        tips = refused(client.settle("S1", settle_params=payees("m1", seller)))
        assert tips == "分账方不能是卖家 settle_params[1].merchant_uid is the seller"
        assert state(client)["settlements"] == {}
        accepted(client.settle("S2", settle_params=payees("m1")))

    def test_it_spends_the_number(self, sim):
        _, client = sim
        seller = paid(client)["seller_uid"]
        advance(client, SETTLE_CYCLE)
        refused(client.settle("S1", settle_params=payees(seller)))
        again = refused(client.settle("S1", settle_params=payees("m1")))
        assert again.startswith("分账方不能是卖家 settle_params[0].merchant_uid is the seller")
        assert "use a new one" in again

    def test_refused_at_once_before_the_cycle_ends(self, sim):
        _, client = sim
        seller = paid(client)["seller_uid"]
        tips = refused(client.settle("S1", settle_params=payees(seller)))
        assert tips == "分账方不能是卖家 settle_params[0].merchant_uid is the seller"

    def test_the_seller_is_the_one_the_order_was_paid_to(self, sim):
        _, client = sim
        seller = paid(client)["seller_uid"]
        configure(client, seller_uid="69400000000000000001")
        advance(client, SETTLE_CYCLE)
        tips = refused(client.settle("S1", settle_params=payees(seller)))
        assert tips == "分账方不能是卖家 settle_params[0].merchant_uid is the seller"
