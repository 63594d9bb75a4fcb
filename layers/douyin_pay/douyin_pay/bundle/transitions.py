"""What the platform told us, as a state transition on one of our objects.

An :class:`Observation` comes from a callback notice or from a query result; :func:`change_for`
turns it into one conditional UpdateItem that moves the object forward only along the allowed
transitions and only if the amount (or owning order) matches what we stored. Both the callback and
reconciliation apply observations this way, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..ecpay.notices import PaymentNotice, RefundNotice, SettleNotice
from ..ecpay.results import OrderQueryResult, RefundQueryResult, SettleQueryResult
from .states import (
    Kind,
    allowed_sources,
    is_terminal,
    order_status_from_platform,
    refund_status_from_platform,
    settlement_status_from_platform,
)
from .store import DUE_INDEX_ATTRS, Change, object_key

__all__ = ["Observation", "change_for", "from_notice", "from_query", "mismatch", "release_change"]


@dataclass(frozen=True)
class Observation:
    kind: Kind
    ref: str
    status: str  # our status the platform reports
    facts: Mapping[str, Any] = field(default_factory=dict)  # platform ids, times, fees
    expect: Mapping[str, Any] = field(default_factory=dict)  # must equal what we stored


def from_notice(notice: PaymentNotice | RefundNotice | SettleNotice) -> Observation | None:
    """None when the notice reports no state we act on (e.g. a refund still PROCESSING)."""
    if isinstance(notice, PaymentNotice):
        status = order_status_from_platform(notice.status)
        facts = {
            "order_id": notice.order_id,
            "paid_at": notice.paid_at,
            "way": notice.way,
            "channel_no": notice.channel_no,
            "payment_order_no": notice.payment_order_no,
            "seller_uid": notice.seller_uid,
            "item_id": notice.item_id,
        }
        return _observation(Kind.ORDER, notice.out_order_no, status, facts, {"total_amount": notice.total_amount})
    if isinstance(notice, RefundNotice):
        status = refund_status_from_platform(notice.status)
        facts = {
            "refund_no": notice.refund_no,
            "refunded_at": notice.refunded_at,
            "is_all_settled": notice.is_all_settled,
            "platform_message": notice.message,
        }
        return _observation(Kind.REFUND, notice.out_refund_no, status, facts, {"refund_amount": notice.refund_amount})
    status = settlement_status_from_platform(notice.status)
    facts = {
        "settle_no": notice.settle_no,
        "settle_amount": notice.settle_amount,
        "rake": notice.rake,
        "commission": notice.commission,
        "settled_at": notice.settled_at,
        "settle_detail": notice.settle_detail,
        "platform_message": notice.message,
    }
    expect = {"out_order_no": notice.out_order_no} if notice.out_order_no else {}
    return _observation(Kind.SETTLEMENT, notice.out_settle_no, status, facts, expect)


def from_query(kind: Kind, ref: str, result: Any) -> Observation | None:
    if isinstance(result, OrderQueryResult):
        p = result.payment
        facts = {
            "order_id": result.order_id,
            "pay_time": p.pay_time,
            "way": p.way,
            "channel_no": p.channel_no,
            "seller_uid": p.seller_uid,
            "item_id": p.item_id,
        }
        status = order_status_from_platform(p.order_status)
        return _observation(kind, ref, status, facts, {"total_amount": p.total_fee})
    if isinstance(result, RefundQueryResult):
        facts = {
            "refund_no": result.refund_no,
            "refunded_at": result.refunded_at,
            "is_all_settled": result.is_all_settled,
            "platform_message": result.msg,
        }
        status = refund_status_from_platform(result.refund_status)
        return _observation(kind, ref, status, facts, {"refund_amount": result.refund_amount})
    if isinstance(result, SettleQueryResult):
        facts = {
            "settle_no": result.settle_no,
            "settle_amount": result.settle_amount,
            "rake": result.rake,
            "commission": result.commission,
            "settled_at": result.settled_at,
            "settle_detail": result.settle_detail,
            "platform_message": result.msg,
        }
        return _observation(kind, ref, settlement_status_from_platform(result.settle_status), facts, {})
    raise TypeError(f"not a query result: {type(result).__name__}")


def _observation(
    kind: Kind, ref: str, status: Any, facts: Mapping[str, Any], expect: Mapping[str, Any]
) -> Observation | None:
    if status is None:
        return None
    return Observation(kind, ref, str(status), {k: v for k, v in facts.items() if v not in (None, "")}, expect)


def change_for(obs: Observation, now: int) -> Change:
    """The conditional update applying ``obs``: forward-only, and only if ``expect`` matches."""
    change = Change(set={"status": obs.status, "updated_at": now}, set_once=dict(obs.facts))
    e = change.expr
    change.where(e.exists(), e.status_in(allowed_sources(obs.kind, obs.status)))
    change.where(*(e.eq(k, v) for k, v in obs.expect.items()))
    if is_terminal(obs.status):
        change.remove = ("lease_until", *DUE_INDEX_ATTRS)
    return change


def release_change(refund: Mapping[str, Any]) -> tuple[dict, Change]:
    """Give a failed refund's reserved amount back to its order (exactly once: the refund's own
    FAILED transition is not re-appliable, and this runs in the same transaction)."""
    change = Change(add={"refundable_amount": int(refund["refund_amount"])})
    change.where(change.expr.exists())
    return object_key(Kind.ORDER, refund["out_order_no"]), change


def mismatch(obs: Observation, stored: Mapping[str, Any]) -> list[str]:
    """Fields of ``expect`` whose value differs from the stored object."""
    return [k for k, v in obs.expect.items() if stored.get(k) != v]
