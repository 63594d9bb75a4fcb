"""The platform's money rules after payment (ecpay-spec §3.3, §3.5, §3.9, §6.4), against the simulator:

* an influencer's (CPS) commission comes off what a settlement may hand to payees, and is known
  only some time after payment: a settlement with payees asks the platform first, and a refresh
  of a PAID order records the commission and ``item_id`` without changing its status;
* an order nobody settled is settled by the platform itself 150 days after payment: the notice
  (``settle_finish``, or ``settle`` with ``is_auto_settle``) is applied to the order, and a watch
  warns before the day and finds the platform's settlement if the notice never came;
* a refund after the order was settled must say so (``all_settle = 1``): the bundle knows, and sets it;
* every query the API makes spends the stack's share of the platform's query limit.
"""

from __future__ import annotations

import json

import pytest

from douyin_pay.bundle.api import ApiError
from douyin_pay.bundle.query_budget import QueryBudget, api_share
from douyin_pay.bundle.store import Store
from tests.bundle.harness import APP_ID, notice_body, payment_msg, settle_msg
from tests.bundle.test_api import ORDER

DAY = 86_400
PAYEE = "696458350318359362"


def paid(bundle, *, commission: int = 0, delay: float = 0, total: int = 12800) -> dict:
    """A paid order; the simulator knows its commission ``delay`` seconds after payment."""
    assert bundle.create_payment({**ORDER, "total_amount": total})[0] == 201
    bundle.sim.pay("order-1", commission=commission, commission_delay=delay)
    msg = payment_msg("order-1", total)
    msg["paid_at"] = int(bundle.clock())
    if commission and not delay:
        msg["extra"] = json.dumps({"cps_info": "poi", "share_amount": str(commission)})
    assert bundle.callback(notice_body("payment", msg))[0] == 200
    return bundle.item("ORDER#order-1", "ORDER")


def settle(bundle, no: str, amount: int | None) -> tuple[int, dict]:
    body = {"out_settle_no": no, "settle_desc": "结算"}
    if amount is not None:
        body["settle_params"] = [{"merchant_uid": PAYEE, "amount": amount}]
    return bundle.settle("order-1", body)


def sent_request(bundle, pk: str, sk: str) -> dict:
    return json.loads(bundle.item(pk, sk)["request"])


# -- CPS commission ---------------------------------------------------------------------------


def test_a_commission_in_the_payment_notice_is_kept_on_the_order(bundle):
    order = paid(bundle, commission=299)
    assert order["commission"] == 299
    assert bundle.get("payments", "order-1")[1]["commission"] == 299


def test_a_refresh_of_a_paid_order_records_the_late_commission_without_moving_it(bundle):
    order = paid(bundle, commission=500, delay=3600)
    assert "commission" not in order
    assert "commission" not in bundle.get("payments", "order-1", refresh=True)[1]  # not computed yet
    bundle.advance(3600)
    status, view = bundle.get("payments", "order-1", refresh=True)
    assert status == 200
    assert (view["status"], view["commission"]) == ("PAID", 500)
    assert view["item_id"]  # reported late too
    assert view["cps_info"]["douyin_id"]


def test_payees_are_held_to_what_the_platform_lets_them_have(bundle):
    # 12800 paid, 500 to the influencer (known an hour after payment), 0.6 % fee on 12800 (77):
    # at most 12223 can go to payees — whether or not the commission was visible at payment.
    paid(bundle, commission=500, delay=3600)
    bundle.advance(3600)
    status, body = settle(bundle, "s-1", 12224)
    assert (status, body["code"]) == (409, "settle_exceeds_settleable")
    assert (body["settleable_amount"], body["commission"]) == (12223, 500)
    assert bundle.item("SETTLE#s-1", "SETTLE") is None  # the number is not spent
    status, body = settle(bundle, "s-1", 12223)
    assert status == 201, body
    assert bundle.item("ORDER#order-1", "ORDER")["commission"] == 500  # learnt on the way


def test_an_early_settlement_is_held_to_the_commission_the_platform_already_knows(bundle):
    # Asked before the commission is computed, the platform reports none: the bundle can only hold
    # the payees to the fee, and the platform's own check (the simulator's, like the platform's)
    # refuses what the commission then takes. The README's go-live checklist says to settle late.
    paid(bundle, commission=500, delay=3600)
    status, body = settle(bundle, "s-1", 12723)
    assert status == 422, body  # the platform's business refusal: the caller's to handle, not an outage
    assert body["code"] == "platform_refused"


def test_a_settlement_without_payees_asks_nothing(bundle):
    paid(bundle, commission=500, delay=3600)
    bundle.calls.reset()
    assert settle(bundle, "s-1", None)[0] == 201
    assert "GetItem" not in bundle.calls.count()


# -- the query budget -------------------------------------------------------------------------


def test_the_api_share_is_what_reconciliation_leaves():
    assert api_share(30, 5) == 5
    assert api_share(30, 2) == 20
    assert api_share(15, 5) == 1  # never none: a person waiting gets one query a second


def test_the_budget_counts_per_second_across_the_stack(bundle):
    now = [1_000_000.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)

    store = Store(bundle.resources.table_name, bundle.session.client("dynamodb"))
    first, second = (QueryBudget(store, 2, clock=lambda: now[0], sleep=sleep) for _ in range(2))
    first.take()
    second.take()  # another function, the same second: the same counter
    with pytest.raises(ApiError) as refused:
        first.take()  # waits into the next second once (the clock stands still here), then refuses
    assert (refused.value.status, refused.value.code, refused.value.retryable) == (503, "query_budget_exhausted", True)
    assert slept == [1.0]
    now[0] += 1
    first.take()  # a new second, a new share


def test_a_refresh_beyond_the_budget_asks_nothing(bundle, monkeypatch):
    monkeypatch.setenv("PLATFORM_QUERY_QPS", "26")  # 26 - 5 x 5 = 1 query a second for the API
    from douyin_pay.bundle import runtime

    runtime.reset()
    monkeypatch.setattr("time.sleep", lambda _s: None)
    paid(bundle)
    frozen = bundle.clock()
    monkeypatch.setattr(runtime, "now", lambda: frozen)  # both refreshes in one second
    assert bundle.get("payments", "order-1", refresh=True)[0] == 200
    bundle.sim.inject_fault("query_order", "err_1000")  # would answer the next query_order, if one came
    status, body = bundle.get("payments", "order-1", refresh=True)
    assert (status, body["code"]) == (503, "query_budget_exhausted")
    assert bundle.sim.state()["faults"] == [{"endpoint": "query_order", "mode": "err_1000", "count": 1}]


# -- refunds after settlement -----------------------------------------------------------------


def test_a_refund_after_the_settlement_comes_from_the_withdrawable_balance(bundle):
    paid(bundle)
    assert settle(bundle, "s-1", None)[0] == 201
    bundle.sim.complete_settlement("s-1")
    assert bundle.callback(notice_body("settle", settle_msg("s-1", "order-1")))[0] == 200
    refund = {"out_refund_no": "r-1", "refund_amount": 100, "reason": "退一杯"}
    status, body = bundle.refund("order-1", {**refund, "all_settle": 0})
    assert (status, body["code"]) == (400, "all_settle_conflict")
    status, body = bundle.refund("order-1", refund)
    assert status == 201, body
    assert sent_request(bundle, "REFUND#r-1", "REFUND")["all_settle"] == 1
    assert bundle.refund("order-1", refund)[0] == 200  # the same request again: the same refund


def test_no_refund_while_a_settlement_moves_the_money(bundle):
    paid(bundle)
    assert settle(bundle, "s-1", None)[0] == 201
    status, body = bundle.refund("order-1", {"out_refund_no": "r-1", "refund_amount": 100, "reason": "退"})
    assert (status, body["code"], body["retryable"]) == (409, "settlement_in_progress", True)
    assert bundle.item("REFUND#r-1", "REFUND") is None


def test_a_refund_before_any_settlement_leaves_all_settle_out(bundle):
    paid(bundle)
    assert bundle.refund("order-1", {"out_refund_no": "r-1", "refund_amount": 100, "reason": "退"})[0] == 201
    assert "all_settle" not in sent_request(bundle, "REFUND#r-1", "REFUND")


# -- auto-settlement --------------------------------------------------------------------------


def settle_finish_msg(out_order_no: str, *, amount: int = 12723) -> dict:
    return {
        "ma_app_id": APP_ID,
        "out_order_id": out_order_no,
        "auto_settle_list": [
            {
                "created_at": "2026-04-29 12:00:00",
                "settle_plat_no": "P9",
                "settle_no": "S9",
                "settle_info": [{"merchant_uid": "S1", "amount": amount}],
                "settle_status": "SUCCESS",
                "service_charge": 77,
                "cps": 0,
                "settled_at": "1777435200",
                "settle_way": "2",
            }
        ],
    }


@pytest.mark.parametrize("announced_as", ["settle_finish", "settle"])
def test_an_auto_settlement_notice_is_applied_to_the_order(bundle, announced_as):
    paid(bundle)
    if announced_as == "settle_finish":
        body = notice_body("settle_finish", settle_finish_msg("order-1"))
    else:  # the undocumented alternative: type=settle, is_auto_settle, no cp_settle_no
        msg = {**settle_msg("", "order-1"), "is_auto_settle": True, "settle_amount": 12800, "rake": 77}
        body = notice_body("settle", msg)
    assert bundle.callback(body)[0] == 200
    order = bundle.item("ORDER#order-1", "ORDER")
    assert order["status"] == "PAID"
    assert order["auto_settlement"]["amount"] == 12723
    assert "due_at" not in order  # the watch is over
    assert bundle.callback(body)[0] == 200  # notified once, but a redelivery changes nothing
    assert bundle.item("ORDER#order-1", "ORDER")["updated_at"] == order["updated_at"]
    status, answer = settle(bundle, "s-1", None)
    assert (status, answer["code"]) == (409, "order_auto_settled")
    assert bundle.refund("order-1", {"out_refund_no": "r-1", "refund_amount": 100, "reason": "退"})[0] == 201
    assert sent_request(bundle, "REFUND#r-1", "REFUND")["all_settle"] == 1


def test_the_watch_warns_before_the_day_then_finds_the_platforms_settlement(bundle):
    order = paid(bundle)
    assert order["due_at"] == order["paid_at"] + 130 * DAY
    bundle.sweep()
    assert not [m for m in bundle.queued() if json.loads(m["Body"])["ref"] == "order-1"]  # not due yet
    bundle.advance(130 * DAY)
    bundle.sweep()  # the due index brings it back
    assert [json.loads(m["Body"])["ref"] for m in bundle.queued()].count("order-1") == 1
    assert bundle.reconcile([_message("order-1")]) == {"batchItemFailures": []}
    order = bundle.item("ORDER#order-1", "ORDER")
    assert order["settle_due_at"] == order["paid_at"] + 150 * DAY
    assert order["due_at"] == order["settle_due_at"] + DAY
    assert bundle.publish()
    bundle.advance(21 * DAY)  # the platform settles it by itself at day 150 (its notice is lost here)
    assert bundle.reconcile([_message("order-1")]) == {"batchItemFailures": []}
    order = bundle.item("ORDER#order-1", "ORDER")
    assert order["auto_settlement"]["amount"] > 0
    assert "due_at" not in order


def test_a_settled_order_leaves_the_watch_without_a_platform_query(bundle):
    paid(bundle)
    assert settle(bundle, "s-1", None)[0] == 201
    bundle.sim.complete_settlement("s-1")
    assert bundle.callback(notice_body("settle", settle_msg("s-1", "order-1")))[0] == 200
    assert "due_at" not in bundle.item("ORDER#order-1", "ORDER")


def test_an_early_reconcile_message_for_a_watched_order_does_nothing(bundle):
    paid(bundle)
    before = bundle.item("ORDER#order-1", "ORDER")
    assert bundle.reconcile([_message("order-1")]) == {"batchItemFailures": []}
    assert bundle.item("ORDER#order-1", "ORDER") == before


def _message(ref: str) -> str:
    return json.dumps({"kind": "order", "ref": ref, "protocol": "ecpay"})
