"""What the platform told us, as a state transition on one of our objects.

An :class:`~douyin_pay.bundle.platforms.base.Observation` comes from a callback notice or a query
result (the platform adapter builds it); :func:`change_for` turns it into one conditional UpdateItem
that moves the object forward only along the allowed transitions and only if the amount (or owning
order) matches what we stored. Both the callback and
reconciliation apply observations this way, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .platforms.base import Observation
from .states import Kind, OrderStatus, allowed_sources, is_terminal
from .store import DUE_INDEX_ATTRS, Change, Store, object_key

__all__ = ["change_for", "fail_refund", "mismatch", "release_action", "reserved"]


def change_for(obs: Observation, now: int) -> Change:
    """The conditional update applying ``obs``: forward-only, and only if ``expect`` matches."""
    facts = dict(obs.facts)
    if obs.kind is Kind.ORDER and obs.status == OrderStatus.PAID and not facts.get("paid_at"):
        # The settlement cycle counts from the payment: when the platform did not say when, the
        # first time we learnt of it (never earlier than the truth, so never opens too early).
        facts["paid_at"] = now
    change = Change(set={"status": obs.status, "updated_at": now}, set_once=facts)
    cond = change.expr
    change.where(cond.exists(), cond.status_in(allowed_sources(obs.kind, obs.status)))
    change.where(*(cond.eq(k, v) for k, v in obs.expect.items()))
    if is_terminal(obs.status):
        change.remove = ("lease_until", *DUE_INDEX_ATTRS)
    return change


def release_action(store: Store, refund: Mapping[str, Any]) -> dict:
    """The transaction action that gives a failed refund's reserved amount back to its order
    (exactly once: the refund's own FAILED transition is not re-appliable, and this runs in the
    same transaction)."""
    change = Change(add={"refundable_amount": int(refund["refund_amount"])})
    change.where(change.expr.exists())
    return store.update_action(object_key(Kind.ORDER, refund["out_order_no"]), change)


def fail_refund(store: Store, key: Mapping[str, Any], change: Change, refund: Mapping[str, Any]) -> None:
    """Apply ``change`` (the refund's move to FAILED) and release its amount, atomically."""
    if not reserved(refund):
        store.update(key, change)
        return
    store.transact([store.update_action(key, change), release_action(store, refund)])


def reserved(refund: Mapping[str, Any]) -> bool:
    """Whether the refund's amount was reserved on its order (a refund the platform opened that the
    order could not cover was recorded without: refund_openings.py)."""
    return not refund.get("unreserved")


def mismatch(obs: Observation, stored: Mapping[str, Any]) -> list[str]:
    """Fields of ``expect`` whose value differs from the stored object."""
    return [k for k, v in obs.expect.items() if stored.get(k) != v]
