"""An ecpay order's pay window as the platform counts it (issue #12 item 12): a ``valid_time``
under 300 s is sent as given and raised to 300 s by the platform (ecpay-spec §3.1, DOC-HG), so the
bundle neither expires nor gives up on such an order before 300 s."""

from __future__ import annotations

from douyin_pay.bundle.platforms import pay_window
from douyin_pay.bundle.platforms.base import Observation
from douyin_pay.bundle.reconciler import LOCAL_EXPIRY_GRACE
from douyin_pay.bundle.schedule import SCHEDULES
from douyin_pay.bundle.states import Kind
from tests.bundle.test_api import ORDER
from tests.bundle.test_reconcile import step


def test_order_created_with_180_is_not_expired_at_200_s(bundle):
    status, answer = bundle.create_payment({**ORDER, "valid_time": 180})
    assert (status, answer["valid_time"]) == (201, 180)  # recorded and sent as given
    bundle.advance(200)
    assert step(bundle, "order", "order-1") == {"batchItemFailures": []}
    assert bundle.item("ORDER#order-1", "ORDER")["status"] == "CREATED"
    bundle.sim.pay("order-1")  # the platform still takes the payment at 200 s
    step(bundle, "order", "order-1")
    assert bundle.item("ORDER#order-1", "ORDER")["status"] == "PAID"


def test_local_expiry_counts_from_the_effective_window(bundle, monkeypatch):
    from douyin_pay.bundle.platforms.ecpay import EcpayPlatform

    def still_processing(self, kind, ref):
        return Observation(kind, ref, "CREATED", {}, {"total_amount": 12800})

    monkeypatch.setattr(EcpayPlatform, "observe", still_processing)
    bundle.create_payment({**ORDER, "valid_time": 180})
    bundle.advance(180 + LOCAL_EXPIRY_GRACE + 10)  # past the requested window + grace, not the real one
    step(bundle, "order", "order-1")
    assert bundle.item("ORDER#order-1", "ORDER")["status"] == "CREATED"
    bundle.advance(300 - 180)
    step(bundle, "order", "order-1")
    assert bundle.item("ORDER#order-1", "ORDER")["status"] == "EXPIRED"


def test_reconciliation_gives_up_an_hour_after_the_effective_window():
    order = SCHEDULES[Kind.ORDER]
    ecpay = {"created_at": 0, "valid_time": 180, "protocol": "ecpay"}
    assert not order.exhausted(ecpay, 1, 180 + 3600 + 1)
    assert order.exhausted(ecpay, 1, 300 + 3600)
    assert order.exhausted({**ecpay, "protocol": None}, 1, 300 + 3600)  # legacy items are ecpay's


def test_trade_orders_keep_their_own_window():
    # payExpireSeconds has no documented minimum (trade-spec §4): nothing is raised.
    trade = {"created_at": 0, "valid_time": 180, "protocol": "trade"}
    assert pay_window(trade, default=0) == 180
    assert SCHEDULES[Kind.ORDER].exhausted(trade, 1, 180 + 3600)
