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

from .platforms.base import AutoSettlement, Observation
from .states import Kind, OrderStatus, SettlementStatus, allowed_sources, is_terminal
from .store import CONFLICT_RETRIES, DUE_INDEX_ATTRS, Change, Store, TransactionFailed, due_shard, object_key

__all__ = [
    "auto_settlement_change",
    "change_for",
    "facts_change",
    "fail_refund",
    "finish_settlement",
    "mismatch",
    "release_action",
    "reserved",
    "settled_order_action",
]


def change_for(obs: Observation, now: int) -> Change:
    """The conditional update applying ``obs``: forward-only, and only if ``expect`` matches."""
    facts = dict(obs.facts)
    if obs.kind is Kind.ORDER and obs.status == OrderStatus.PAID and not facts.get("paid_at"):
        # The settlement cycle counts from the payment: when the platform did not say when, the
        # first time we learnt of it (never earlier than the truth, so never opens too early).
        facts["paid_at"] = now
    change = Change(set={"status": obs.status, "updated_at": now}, set_once=facts)
    cond = change.expr
    sources = allowed_sources(obs.kind, obs.status)
    if is_terminal(obs.status):
        change.remove = ("lease_until", *DUE_INDEX_ATTRS)
        if obs.follow_up is not None:
            # Entering PAID: the order stays in the due index, to be looked at again before the
            # platform settles it by itself. Only on entering: re-applying PAID (a duplicate, a late
            # fact) must not re-arm a watch its settlement ended, so that is facts_change's job.
            paid_at = int(facts["paid_at"])
            change.set = {**change.set, "due_at": paid_at + obs.follow_up, "due_shard": due_shard(obs.kind, obs.ref)}
            change.remove = ("lease_until",)
            sources = tuple(s for s in sources if s != obs.status)
    change.where(cond.exists(), cond.status_in(sources))
    change.where(*(cond.eq(k, v) for k, v in obs.expect.items()))
    return change


def facts_change(obs: Observation, now: int) -> Change:
    """Record facts the platform learnt late (an influencer's commission, ``item_id``) on an
    object already in ``obs.status``, without moving it."""
    change = Change(set={"updated_at": now}, set_once={k: v for k, v in obs.facts.items() if k != "platform_message"})
    cond = change.expr
    change.where(cond.exists(), cond.eq("status", obs.status))
    change.where(*(cond.eq(k, v) for k, v in obs.expect.items()))
    return change


def auto_settlement_change(auto: AutoSettlement, now: int) -> Change:
    """The platform settled the PAID order by itself: recorded once (the first report wins), and
    the order leaves the watch. Its later refunds come from the withdrawable balance."""
    record = auto.record()
    change = Change(
        set={"updated_at": now},
        set_once={
            "auto_settled_at": auto.settled_at or now,
            "auto_settlement": record,
            "commission": auto.commission,
        },
        remove=DUE_INDEX_ATTRS,
    )
    cond = change.expr
    change.where(cond.eq("status", OrderStatus.PAID), f"attribute_not_exists({cond.name('auto_settled_at')})")
    return change


def settled_order_action(store: Store, settlement: Mapping[str, Any], status: str, now: int) -> dict:
    """The order's side of a settlement reaching its final ``status``, in the same transaction: the
    order no longer has a settlement in flight (``settling``); after a success it is settled
    (``settled_at``: later refunds need all_settle, the auto-settlement watch ends)."""
    ref = settlement["out_settle_no"]
    change = Change(set={"updated_at": now}, remove=("settling",))
    cond = change.expr
    if status == SettlementStatus.SUCCEEDED:
        change.set_once = {"settled_at": now, "settled_by": ref}
        change.remove = ("settling", *DUE_INDEX_ATTRS)
    settling = cond.name("settling")
    change.where(cond.exists(), f"attribute_not_exists({settling}) OR {settling} = {cond.value(ref)}")
    return store.update_action(object_key(Kind.ORDER, settlement["out_order_no"]), change)


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


def finish_settlement(store: Store, change: Change, obs: Observation, out_order_no: str, now: int) -> None:
    """Apply ``change`` (a settlement's move to its final status) and the order's side of it
    (:func:`settled_order_action`) atomically. If only the order's side cannot apply (a later
    settlement of the order is already in flight: this is a late repeat), the settlement alone is
    updated. Raises :class:`~douyin_pay.bundle.store.ConditionFailed` /
    :class:`~douyin_pay.bundle.store.TransactionFailed` like the settlement's own write."""
    key = object_key(obs.kind, obs.ref)
    settlement = {"out_settle_no": obs.ref, "out_order_no": out_order_no}
    try:
        store.transact(
            [store.update_action(key, change), settled_order_action(store, settlement, obs.status, now)],
            conflict_retries=CONFLICT_RETRIES,
        )
    except TransactionFailed as exc:
        if exc.conflict or exc.condition_failed(0):
            raise
        store.update(key, change)
