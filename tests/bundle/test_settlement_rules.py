"""The platform's settlement rules, checked in the settlement's claim (one transaction with its
order), so a settlement the platform would refuse is a 409 that spends no business number:

* the settlement cycle (结算周期): N days after the payment (or the fulfilment, 核销) — and
  ``paid_at`` is known from every source the payment can be learnt from, since the cycle counts
  from it;
* one settlement at a time per order, at most 50 requests per order, and never the seller as a
  payee (ecpay-spec §3.5)."""

from __future__ import annotations

import pytest

from douyin_pay.bundle import runtime
from douyin_pay.bundle.platforms.base import Observation
from douyin_pay.bundle.states import Kind
from douyin_pay.bundle.transitions import change_for
from tests.bundle.harness import notice_body, payment_msg, settle_msg
from tests.bundle.test_api import ORDER

DAY = 86_400
SETTLE = {"out_settle_no": "cycle-s", "settle_desc": "结算"}


@pytest.fixture
def cycle(bundle, monkeypatch):
    """The bundle with a 7-day cycle after payment (the older ecpay rule)."""
    monkeypatch.setenv("SETTLE_CYCLE_DAYS", "7")
    runtime.reset()
    bundle.sim.configure(settle_cycle_days=7)  # and the platform's, which would refuse it too
    return bundle


def paid(bundle) -> dict:
    assert bundle.create_payment(ORDER)[0] == 201
    bundle.sim.pay("order-1")
    msg = payment_msg("order-1", 12800)
    msg["paid_at"] = int(bundle.clock())
    assert bundle.callback(notice_body("payment", msg))[0] == 200
    return bundle.get("payments", "order-1")[1]


def test_a_settlement_before_the_cycle_is_refused_with_when_it_opens(cycle):
    order = paid(cycle)
    cycle.advance(7 * DAY - 60)
    status, body = cycle.settle("order-1", SETTLE)
    assert (status, body["code"], body["retryable"]) == (409, "settlement_not_open", False)
    assert body["opens_at"] == order["paid_at"] + 7 * DAY
    assert cycle.item("SETTLE#cycle-s", "SETTLE") is None  # nothing written
    assert "cycle-s" not in cycle.sim.state()["settlements"]  # nothing sent: the number is not spent

    cycle.advance(60)
    status, body = cycle.settle("order-1", SETTLE)  # the same number, once the cycle has passed
    assert status == 201, body


def test_with_the_cycle_after_fulfilment_an_unfulfilled_order_is_refused(cycle, monkeypatch):
    monkeypatch.setenv("SETTLE_AFTER", "fulfilment")
    monkeypatch.setenv("SETTLE_CYCLE_DAYS", "3")
    runtime.reset()
    cycle.sim.configure(settle_cycle_days=0)  # the simulator learns of 核销 only by order sync, off here
    paid(cycle)
    cycle.advance(30 * DAY)
    status, body = cycle.settle("order-1", SETTLE)
    assert (status, body["code"]) == (409, "order_not_fulfilled")

    route = "POST /payments/{out_order_no}/fulfilment"
    status, order = cycle.api("POST", "/payments/order-1/fulfilment", route=route)
    assert status == 201
    cycle.advance(3 * DAY - 1)
    status, body = cycle.settle("order-1", SETTLE)
    assert (status, body["code"], body["opens_at"]) == (409, "settlement_not_open", order["fulfilled_at"] + 3 * DAY)
    cycle.advance(1)
    assert cycle.settle("order-1", SETTLE)[0] == 201


def test_no_cycle_when_it_is_zero_days(bundle):
    paid(bundle)
    assert bundle.settle("order-1", SETTLE)[0] == 201


def test_paid_at_comes_from_a_query_when_the_callback_is_lost(cycle):
    """A query says when the order was paid only as Beijing-time text: it is stored as unix seconds."""
    assert cycle.create_payment(ORDER)[0] == 201
    cycle.sim.pay("order-1")
    pay_time = cycle.sim.state()["orders"]["order-1"]["paid_at"]
    _, order = cycle.get("payments", "order-1", refresh=True)
    assert order["status"] == "PAID"
    assert order["paid_at"] == int(pay_time)  # to the second: the text has no fraction
    assert order["pay_time"]  # the text, as the platform wrote it, is kept too


def test_paid_at_is_the_first_time_we_learnt_of_a_payment_the_platform_did_not_date():
    obs = Observation(Kind.ORDER, "o-1", "PAID", facts={"way": 10}, expect={})
    change = change_for(obs, 1_764_072_000)
    assert change.set_once["paid_at"] == 1_764_072_000
    dated = Observation(Kind.ORDER, "o-1", "PAID", facts={"paid_at": 1_764_000_000}, expect={})
    assert change_for(dated, 1_764_072_000).set_once["paid_at"] == 1_764_000_000
    refund = Observation(Kind.REFUND, "r-1", "SUCCEEDED", facts={}, expect={})
    assert "paid_at" not in change_for(refund, 1_764_072_000).set_once


# -- sequencing and caps ----------------------------------------------------------------------------


def settle(bundle, no: str, **extra) -> tuple[int, dict]:
    return bundle.settle("order-1", {"out_settle_no": no, "settle_desc": "结算", **extra})


def test_a_settlement_waits_for_the_previous_one(bundle):
    paid(bundle)
    assert settle(bundle, "s-1")[0] == 201
    status, body = settle(bundle, "s-2")
    assert (status, body["code"], body["retryable"], body["in_progress"]) == (
        409,
        "settlement_in_progress",
        True,
        "s-1",
    )
    assert bundle.item("SETTLE#s-2", "SETTLE") is None
    assert "s-2" not in bundle.sim.state()["settlements"]

    bundle.sim.complete_settlement("s-1", "FAIL")  # a failed settlement may be followed by another
    assert bundle.callback(notice_body("settle", settle_msg("s-1", "order-1", status="FAIL")))[0] == 200
    status, body = settle(bundle, "s-2")  # the same number: the refusal did not spend it
    assert status == 201, body
    assert bundle.item("ORDER#order-1", "ORDER")["settling"] == "s-2"
    assert bundle.item("ORDER#order-1", "ORDER")["settle_requests"] == 2


def test_a_finished_settlement_is_cleared_by_its_final_notice(bundle):
    paid(bundle)
    assert settle(bundle, "s-1")[0] == 201
    bundle.sim.complete_settlement("s-1")
    assert bundle.callback(notice_body("settle", settle_msg("s-1", "order-1")))[0] == 200
    assert "settling" not in bundle.item("ORDER#order-1", "ORDER")
    status, body = settle(bundle, "s-2")  # sent: s-1 is over (the platform then finds nothing left)
    assert (status, body["code"]) == (422, "platform_refused")
    assert "nothing left to settle" in body["err_tips"]
    assert bundle.item("ORDER#order-1", "ORDER")["settling"] == "s-2"


def test_a_marker_left_by_an_older_version_is_cleared_by_the_next_settlement(bundle):
    # Before settlement notices wrote the order, a finished settlement's marker stayed until the
    # next settlement found it finished; that order is then also known to be settled.
    paid(bundle)
    assert settle(bundle, "s-1")[0] == 201
    bundle.sim.complete_settlement("s-1")
    assert bundle.callback(notice_body("settle", settle_msg("s-1", "order-1")))[0] == 200
    bundle.tamper_order("order-1", settling="s-1", remove=("settled_at", "settled_by"))
    status, _ = settle(bundle, "s-2")
    assert status == 422  # sent (the platform finds nothing left)
    order = bundle.item("ORDER#order-1", "ORDER")
    assert (order["settling"], order["settled_by"]) == ("s-2", "s-1")


def test_at_most_fifty_settle_requests_per_order(bundle):
    paid(bundle)
    bundle.tamper_order("order-1", settle_requests=50)
    status, body = settle(bundle, "s-51")
    assert (status, body["code"]) == (409, "settle_limit_reached")
    assert bundle.item("SETTLE#s-51", "SETTLE") is None


def test_the_seller_is_never_a_payee(bundle):
    paid(bundle)  # the payment notice names the seller: S1
    status, body = settle(
        bundle, "s-1", settle_params=[{"merchant_uid": "M2", "amount": 100}, {"merchant_uid": "S1", "amount": 1}]
    )
    assert (status, body["code"]) == (409, "payee_is_seller")
    assert bundle.item("SETTLE#s-1", "SETTLE") is None
    assert settle(bundle, "s-1", settle_params=[{"merchant_uid": "M2", "amount": 100}])[0] == 201
