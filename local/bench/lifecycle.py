"""One payment's whole life, step by step, with the DynamoDB calls and capacity units each costs:
create and pay, the payment notice, one query, a refund and its notice, a settlement and its
notice, then the three reconcile steps that find each object final. Used by the bench and by
tests/bundle/test_capacity.py, so both measure the same thing. A notice step says which signed
body it delivers, so the bench can hand the same notice to the Powertools baseline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .bundle_env import payment_notice, reconcile_message, refund_notice, settle_notice
from .common import AMOUNT

# The floor for that work, as the outside cost review put it: every state change one single-item
# write, no transactions and no second write per create, and one read: 7 calls, and 12 write units
# counting the index (each of the six writes 1 table unit, and 1 index unit as the object enters
# or leaves the sparse due index).
FLOOR = {"calls": 7, "wru": 12, "rru": 1}
# The goal for one lifecycle: at most 1.5x the floor's write units, table and index together.
WRU_GOAL = 1.5 * FLOOR["wru"]

ORDER = {"out_order_no": "life-1", "total_amount": AMOUNT, "subject": "拿铁咖啡", "body": "拿铁 大杯 ×1"}
REFUND = {"out_refund_no": "life-1-r", "refund_amount": 3000, "reason": "少送了一杯"}
SETTLE = {"out_settle_no": "life-1-s", "settle_desc": "分账"}


@dataclass(frozen=True)
class Step:
    """One step: a request, query or reconcile (``run``), or a callback notice (``notice`` builds
    its signed body; the caller delivers it)."""

    run: Callable[[], Any] | None = None
    notice: Callable[[], bytes] | None = None


def steps(b: Any) -> dict[str, Step]:
    def create_and_pay() -> Any:
        answer = b.create_payment(ORDER)
        b.sim.pay(ORDER["out_order_no"])
        return answer

    def pay_notice() -> bytes:
        order_id = b.item(f"ORDER#{ORDER['out_order_no']}", "ORDER")["order_id"]
        return payment_notice(ORDER["out_order_no"], order_id)

    return {
        "create": Step(run=create_and_pay),
        "pay notice": Step(notice=pay_notice),
        "query": Step(run=lambda: b.get("payments", ORDER["out_order_no"])),
        "refund": Step(run=lambda: b.refund(ORDER["out_order_no"], REFUND)),
        "refund notice": Step(notice=lambda: refund_notice(REFUND["out_refund_no"], REFUND["refund_amount"])),
        "settle": Step(run=lambda: b.settle(ORDER["out_order_no"], SETTLE)),
        "settle notice": Step(notice=lambda: settle_notice(SETTLE["out_settle_no"], ORDER["out_order_no"])),
        "reconcile x3 (final)": Step(
            run=lambda: b.reconcile(
                [
                    reconcile_message("order", ORDER["out_order_no"]),
                    reconcile_message("refund", REFUND["out_refund_no"]),
                    reconcile_message("settlement", SETTLE["out_settle_no"]),
                ]
            )
        ),
    }
