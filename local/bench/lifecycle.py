"""One payment's whole life, step by step, with the DynamoDB calls and capacity units each costs:
create and pay, the payment notice, one query, a refund and its notice, a settlement and its
notice, then the three reconcile steps that find each object final. Used by the bench and by
tests/bundle/test_capacity.py, so both measure the same thing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .bundle_env import payment_notice, reconcile_message, refund_notice, settle_notice
from .common import AMOUNT

# The floor for that work, as the outside cost review put it: every state change one single-item
# write, no transactions and no second write per create (7 calls, 12 write units with the index),
# and one read.
FLOOR = {"calls": 7, "wru": 12, "rru": 1}

ORDER = {"out_order_no": "life-1", "total_amount": AMOUNT, "subject": "拿铁咖啡", "body": "拿铁 大杯 ×1"}
REFUND = {"out_refund_no": "life-1-r", "refund_amount": 3000, "reason": "少送了一杯"}
SETTLE = {"out_settle_no": "life-1-s", "settle_desc": "分账"}


def steps(b: Any) -> dict[str, Callable[[], Any]]:
    def create_and_pay() -> Any:
        answer = b.create_payment(ORDER)
        b.sim.pay(ORDER["out_order_no"])
        return answer

    def pay_notice() -> Any:
        order_id = b.item(f"ORDER#{ORDER['out_order_no']}", "ORDER")["order_id"]
        return b.callback(payment_notice(ORDER["out_order_no"], order_id))

    return {
        "create": create_and_pay,
        "pay notice": pay_notice,
        "query": lambda: b.get("payments", ORDER["out_order_no"]),
        "refund": lambda: b.refund(ORDER["out_order_no"], REFUND),
        "refund notice": lambda: b.callback(refund_notice(REFUND["out_refund_no"], REFUND["refund_amount"])),
        "settle": lambda: b.settle(ORDER["out_order_no"], SETTLE),
        "settle notice": lambda: b.callback(settle_notice(SETTLE["out_settle_no"], ORDER["out_order_no"])),
        "reconcile x3 (final)": lambda: b.reconcile(
            [
                reconcile_message("order", ORDER["out_order_no"]),
                reconcile_message("refund", REFUND["out_refund_no"]),
                reconcile_message("settlement", SETTLE["out_settle_no"]),
            ]
        ),
    }
