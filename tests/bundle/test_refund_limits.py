"""The platform's refund limits, checked with the refund's reservation on its order (one
transaction, so a refund the platform would refuse is a 409 that spends no business number): no
refund of an order paid more than a year ago, and at most 50 refunds of a WeChat-paid order, 300 of
an Alipay-paid one."""

from __future__ import annotations

import pytest

from tests.bundle.harness import notice_body, payment_msg
from tests.bundle.test_api import ORDER

DAY = 86_400


def paid(bundle, way: str = "10") -> None:
    assert bundle.create_payment(ORDER)[0] == 201
    bundle.sim.pay("order-1", way=int(way))
    msg = {**payment_msg("order-1", 12800), "way": way, "paid_at": int(bundle.clock())}
    assert bundle.callback(notice_body("payment", msg))[0] == 200


def refund(bundle, no: str) -> tuple[int, dict]:
    return bundle.refund("order-1", {"out_refund_no": no, "refund_amount": 1, "reason": "r"})


def test_refunds_are_counted_on_the_order(bundle):
    paid(bundle)
    assert refund(bundle, "r-1")[0] == 201
    assert refund(bundle, "r-2")[0] == 201
    assert bundle.item("ORDER#order-1", "ORDER")["refund_requests"] == 2


def test_no_refund_a_year_after_the_payment(bundle):
    paid(bundle)
    bundle.advance(365 * DAY + 5)
    status, body = refund(bundle, "r-late")
    assert (status, body["code"]) == (409, "refund_window_closed")
    assert bundle.item("REFUND#r-late", "REFUND") is None
    assert bundle.item("ORDER#order-1", "ORDER")["refundable_amount"] == 12800  # nothing reserved


@pytest.mark.parametrize(("way", "limit"), [("1", 50), ("2", 300)])
def test_refunds_per_order_stop_at_the_channel_limit(bundle, way, limit):
    paid(bundle, way)
    bundle.tamper_order("order-1", refund_requests=limit - 1)
    assert refund(bundle, "r-last")[0] == 201
    status, body = refund(bundle, "r-over")
    assert (status, body["code"]) == (409, "refund_limit_reached")
    assert bundle.item("REFUND#r-over", "REFUND") is None
    assert "r-over" not in bundle.sim.state()["refunds"]


def test_no_count_limit_for_douyin_pay(bundle):
    paid(bundle, "10")
    bundle.tamper_order("order-1", refund_requests=300)
    assert refund(bundle, "r-more")[0] == 201
