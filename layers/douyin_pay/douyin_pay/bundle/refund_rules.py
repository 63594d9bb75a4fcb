"""The platform's rules on refunding an order (the year after payment, the payment channel's count),
stated once: checked in a refund's claim, explained when the claim fails, and shown as what an
order can really refund now."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .api import ApiError
from .states import OrderStatus
from .store import Expr

DAY = 86_400
REFUND_WINDOW = 365 * DAY  # no refund of an order paid more than a year ago
# Refunds per order by payment channel (way: 1 WeChat, 2 Alipay), the channels' own limits; the way
# is stored as a number (ecpay) or as text (trade system), so both forms are matched.
REFUND_LIMITS = {1: 50, 2: 300}


def refund_clauses(cond: Expr, now: int) -> list[str]:
    """The platform's refund limits on the order (checked with the reservation, nothing spent)."""
    paid_at, requests, way = cond.name("paid_at"), cond.name("refund_requests"), cond.name("way")
    out = [f"attribute_not_exists({paid_at}) OR {paid_at} > {cond.value(now - REFUND_WINDOW)}"]
    for channel, limit in REFUND_LIMITS.items():
        ways = f"{cond.value(channel)}, {cond.value(str(channel))}"
        out.append(
            f"attribute_not_exists({requests}) OR attribute_not_exists({way}) OR NOT ({way} IN ({ways})) "
            f"OR {requests} < {cond.value(limit)}"
        )
    return out


def refund_refusal(out_order_no: str, order: Mapping[str, Any], now: int) -> ApiError | None:
    """Why a PAID order failed :func:`refund_clauses` (None: it did not)."""
    paid_at = order.get("paid_at")
    if paid_at is not None and int(paid_at) <= now - REFUND_WINDOW:
        return ApiError(
            409, "refund_window_closed", f"order {out_order_no!r} was paid more than a year ago: it cannot be refunded"
        )
    way = order.get("way")
    limit = REFUND_LIMITS.get(int(way)) if str(way).isdigit() else None
    if limit is not None and int(order.get("refund_requests", 0)) >= limit:
        return ApiError(
            409,
            "refund_limit_reached",
            f"order {out_order_no!r} has had {limit} refunds, the most its payment channel allows",
        )
    return None


def refundable_now(order: Mapping[str, Any], now: int | None) -> int:
    """What a refund could take from ``order`` now (fen): nothing unless it is PAID, nothing once
    the year after payment is over (with ``now``) or the channel's refund count is used up; else the
    amount no refund holds yet. A settled order stays refundable: ecpay's refund then comes from the
    withdrawable balance (all_settle=1, set by the bundle) and the trade system's likewise, so the
    platform may still refuse it when that balance is short, which no read here can know."""
    if order.get("status") != OrderStatus.PAID:
        return 0
    if refund_refusal(str(order.get("out_order_no", "")), order, now if now is not None else 0) is not None:
        return 0
    return int(order.get("refundable_amount", 0))
