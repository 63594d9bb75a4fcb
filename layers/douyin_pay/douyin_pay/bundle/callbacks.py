"""Receiving the platform's callbacks: verify (the adapter, on the headers and the raw body, before
any I/O), then apply the notice with one single-item conditional write.

The notice's idempotency record lives in the object it changes: the UpdateItem that moves the
object forward also adds the notice's id to the object's ``notices`` set, and its condition is the
allowed transition itself plus "this id is not there yet". When the condition fails, the item as
it was (``ALL_OLD``) tells a duplicate from a stale notice, a mismatch or a conflict without a
second read. Only an anomaly (flagged on the object) and a refund's failure (which gives the
reserved amount back to the order) cost a second call. A settlement's final notice changes its
order too (no settlement in flight any more; after a success the order is settled), in one
two-item transaction: once per settlement. An order's automatic settlement (the platform's own,
150 days after payment) is one write on the order. A repeat that reaches the execution environment
that took the notice is known there (:class:`TakenNotices`) and costs no call at all.

Nothing else is stored per notice: the audit trail of every verified notice is the callback
function's log line (the signed message, its id and the outcome), and the change it makes is on the
object itself (its status, facts, ``notices`` and any ``anomalies``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .api import ApiError
from .context import Context
from .observations import new_facts
from .platforms.base import Observation, Reply, Target, VerifiedNotice
from .states import SUBMITTING, Kind, OrderStatus, RefundStatus, is_terminal
from .store import CONFLICT_RETRIES, Change, ConditionFailed, TransactionFailed, due_shard, object_key
from .transitions import (
    auto_settlement_change,
    change_for,
    facts_change,
    finish_settlement,
    mismatch,
    release_action,
    reserved,
)

NOTICES = "notices"  # the ids of the notices an object has taken (a string set)


class NoticeOutcome(StrEnum):
    APPLIED = "applied"  # the object moved forward
    DUPLICATE = "duplicate"  # this notice was handled before
    STALE = "stale"  # the object is already there or further on
    MISMATCH = "mismatch"  # amount, order or app id differs from our record: never applied
    CONFLICT = "conflict"  # a different final state than ours (e.g. a refund failed after it succeeded)
    PAID_AFTER_EXPIRY = "paid_after_expiry"  # paid after we expired it: upgraded to PAID, money was taken
    OPENED = "opened"  # a refund the platform opened (a user asked in Douyin) is recorded
    AUTO_SETTLED = "auto_settled"  # the platform settled the order by itself: recorded on it
    UNKNOWN_OBJECT = "unknown_object"  # about nothing we created
    RECORDED = "recorded"  # verified and logged; nothing to move (withdraw, settle_finish, PROCESSING)
    UNKNOWN_TYPE = "unknown_type"  # verified, of a type the protocol does not document: counted only

    @property
    def anomaly(self) -> bool:
        """Money and our record disagree: a person must look."""
        return self in (NoticeOutcome.MISMATCH, NoticeOutcome.CONFLICT, NoticeOutcome.PAID_AFTER_EXPIRY)


@dataclass(frozen=True)
class NoticeResult:
    """What a verified notice did (``outcome``), and to which object."""

    outcome: NoticeOutcome
    target: Target | None = None

    @property
    def anomaly(self) -> bool:
        return self.outcome.anomaly

    @property
    def ref(self) -> str | None:
        return self.target.ref if self.target else None


@dataclass(frozen=True)
class Delivery:
    """One callback request, handled: the verified notice, what it did, and the platform's answer."""

    notice: VerifiedNotice
    result: NoticeResult
    reply: Reply


# The outcomes after which the notice's id is on its object for good (or, for a refund the platform
# opened or an order it settled itself, a repeat finds its record): a repeat can only be a duplicate.
_TAKEN = frozenset(
    {
        NoticeOutcome.APPLIED,
        NoticeOutcome.DUPLICATE,
        NoticeOutcome.MISMATCH,
        NoticeOutcome.CONFLICT,
        NoticeOutcome.PAID_AFTER_EXPIRY,
        NoticeOutcome.OPENED,
        NoticeOutcome.AUTO_SETTLED,
    }
)
REMEMBERED_NOTICES = 1024  # per execution environment: ids of 32 characters, some 100 KB at most


class TakenNotices:
    """The ids of the notices this execution environment has seen taken, the oldest forgotten
    first. A notice's id is the hash of its signed message, so a redelivery that lands here is
    answered as the table would answer it (a duplicate: nothing changes, the same reply) without
    a call; one that lands in another environment costs the table's one failed write."""

    def __init__(self, capacity: int = REMEMBERED_NOTICES) -> None:
        self._capacity = capacity
        self._ids: dict[str, None] = {}  # insertion-ordered: the oldest first

    def __contains__(self, notice_id: str) -> bool:
        return notice_id in self._ids

    def add(self, notice_id: str) -> None:
        self._ids[notice_id] = None
        while len(self._ids) > self._capacity:
            del self._ids[next(iter(self._ids))]


class Callbacks:
    def __init__(self, context: Context) -> None:
        self.ctx = context
        self.taken = TakenNotices()  # one per execution environment, as runtime.callbacks() is

    def receive(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        """Verify and apply one callback. Raises :class:`~douyin_pay.errors.CallbackError` (bad
        signature, malformed body) before anything is read or written."""
        platform = self.ctx.platforms.for_callback(headers)
        notice = platform.read_notice(headers, body)
        return Delivery(notice, self.apply(notice), platform.acknowledge(notice))

    def apply(self, notice: VerifiedNotice) -> NoticeResult:
        if not notice.modelled:
            return NoticeResult(NoticeOutcome.UNKNOWN_TYPE)
        target = notice.target
        if target is None:
            return NoticeResult(NoticeOutcome.RECORDED)
        if notice.notice_id in self.taken:
            return NoticeResult(NoticeOutcome.DUPLICATE, target)
        result = self._apply(notice, target)
        if result.outcome in _TAKEN:
            self.taken.add(notice.notice_id)
        return result

    def _apply(self, notice: VerifiedNotice, target: Target) -> NoticeResult:
        obs = notice.observation
        now = self.ctx.now()
        if notice.app_id != self.ctx.settings.app_id:
            return self._flag(notice, target, NoticeOutcome.MISMATCH, ["app_id"], now)
        if notice.opening is not None:
            return self._opened(notice, target, now)
        if notice.auto_settlement is not None:
            return self._auto_settled(notice, target, now)
        if obs is None:
            return NoticeResult(NoticeOutcome.RECORDED, target)
        change = self._once(change_for(obs, now), notice)
        try:
            if obs.kind is Kind.REFUND and obs.status == RefundStatus.FAILED:
                return self._fail_refund(notice, obs, change, now)
            if obs.kind is Kind.SETTLEMENT and is_terminal(obs.status):
                return self._finish_settlement(notice, obs, change, now)
            self.ctx.store.update(object_key(obs.kind, obs.ref), change)
        except ConditionFailed as exc:
            return self._not_applied(notice, obs, exc.item, now)
        return NoticeResult(NoticeOutcome.APPLIED, target)

    def _opened(self, notice: VerifiedNotice, target: Target, now: int) -> NoticeResult:
        """A refund the platform opened (trade only): its module loads with the first one."""
        from .refund_openings import OpeningOutcome, RefundOpenings

        outcomes = {
            OpeningOutcome.RECORDED: NoticeOutcome.OPENED,
            OpeningOutcome.EXISTS: NoticeOutcome.DUPLICATE,
            OpeningOutcome.UNRESERVED: NoticeOutcome.MISMATCH,  # recorded and flagged: a person must look
        }
        return NoticeResult(outcomes[RefundOpenings(self.ctx).open(notice, now)], target)

    @staticmethod
    def _once(change: Change, notice: VerifiedNotice) -> Change:
        """``change``, applied only by the first delivery of ``notice`` (its id joins ``notices``)."""
        change.add = {**change.add, NOTICES: {notice.notice_id}}
        change.where(change.expr.lacks(NOTICES, notice.notice_id))
        return change

    def _auto_settled(self, notice: VerifiedNotice, target: Target, now: int) -> NoticeResult:
        """The platform settled a PAID order by itself, in full to the seller (notified once)."""
        change = self._once(auto_settlement_change(notice.auto_settlement, now), notice)
        try:
            self.ctx.store.update(object_key(target.kind, target.ref), change)
        except ConditionFailed as exc:
            stored = exc.item
            if stored is None:
                return NoticeResult(NoticeOutcome.UNKNOWN_OBJECT, target)
            if notice.notice_id in stored.get(NOTICES, ()) or stored.get("auto_settled_at"):
                return NoticeResult(NoticeOutcome.DUPLICATE, target)
            # Settled by the platform, but not PAID here: money moved against our record.
            return self._flag(notice, target, NoticeOutcome.CONFLICT, [f"{stored.get('status')}->AUTO_SETTLED"], now)
        return NoticeResult(NoticeOutcome.AUTO_SETTLED, target)

    def _finish_settlement(self, notice: VerifiedNotice, obs: Observation, change: Change, now: int) -> NoticeResult:
        """A settlement's final status, with its order's side in the same transaction. The order's
        number comes with the notice; a notice without it costs a read of the settlement first."""
        out_order_no = obs.expect.get("out_order_no")
        if not out_order_no:
            settlement = self.ctx.store.get(obs.kind, obs.ref)
            if settlement is None:
                return NoticeResult(NoticeOutcome.UNKNOWN_OBJECT, obs.target)
            out_order_no = settlement["out_order_no"]
        try:
            finish_settlement(self.ctx.store, change, obs, out_order_no, now)
        except TransactionFailed as exc:
            if exc.conflict:
                raise _store_busy() from exc
            return self._not_applied(notice, obs, exc.item(0), now)
        return NoticeResult(NoticeOutcome.APPLIED, obs.target)

    def _fail_refund(self, notice: VerifiedNotice, obs: Observation, change: Change, now: int) -> NoticeResult:
        """A refund's failure also gives its reserved amount back to the order, in one transaction;
        the order's number lives on the refund, so it is read first (the second call)."""
        store = self.ctx.store
        key = object_key(obs.kind, obs.ref)
        refund = store.get(obs.kind, obs.ref)
        if refund is None:
            return NoticeResult(NoticeOutcome.UNKNOWN_OBJECT, obs.target)
        if _settled_by_read(notice, obs, refund):
            # Answered from the read the release needs anyway: a repeat costs no write (a cancelled
            # transaction would bill both its items), and a final refund's status never changes again.
            return self._not_applied(notice, obs, refund, now)
        if not reserved(refund):
            try:
                store.update(key, change)
            except ConditionFailed as exc:
                return self._not_applied(notice, obs, exc.item, now)
            return NoticeResult(NoticeOutcome.APPLIED, obs.target)
        try:
            store.transact(
                [store.update_action(key, change), release_action(store, refund)], conflict_retries=CONFLICT_RETRIES
            )
        except TransactionFailed as exc:
            if exc.conflict:
                raise _store_busy() from exc
            return self._not_applied(notice, obs, exc.item(0), now)
        return NoticeResult(NoticeOutcome.APPLIED, obs.target)

    def _not_applied(
        self, notice: VerifiedNotice, obs: Observation, stored: Mapping[str, Any] | None, now: int
    ) -> NoticeResult:
        """Why the transition's condition failed, from the item as it was (no second read)."""
        if stored is None:
            return NoticeResult(NoticeOutcome.UNKNOWN_OBJECT, obs.target)
        if notice.notice_id in stored.get(NOTICES, ()):
            return NoticeResult(NoticeOutcome.DUPLICATE, obs.target)
        if bad := mismatch(obs, stored):
            return self._flag(notice, obs.target, NoticeOutcome.MISMATCH, bad, now)
        current = stored.get("status", "")
        if obs.kind is Kind.ORDER and current == OrderStatus.EXPIRED and obs.status == OrderStatus.PAID:
            return self._pay_after_expiry(notice, obs, now)
        if is_terminal(current) and is_terminal(obs.status) and current != obs.status:
            # e.g. paid after we recorded it as expired: money moved against our record — surface it.
            return self._flag(notice, obs.target, NoticeOutcome.CONFLICT, [f"{current}->{obs.status}"], now)
        if current == obs.status and new_facts(obs, stored):
            # A later delivery that knows more (the commission, item_id reported late): kept.
            with contextlib.suppress(ConditionFailed):
                self.ctx.store.update(object_key(obs.kind, obs.ref), self._once(facts_change(obs, now), notice))
                return NoticeResult(NoticeOutcome.APPLIED, obs.target)
        return NoticeResult(NoticeOutcome.STALE, obs.target)

    def _pay_after_expiry(self, notice: VerifiedNotice, obs: Observation, now: int) -> NoticeResult:
        """The platform took the money for an order we had expired (a late tt.requestOrder, a
        payment racing the deadline): the money is real, so the order becomes PAID — refundable and
        settleable — and the anomaly is raised for a person (trade-spec §6.2)."""
        anomaly = {"source": "callback", "outcome": NoticeOutcome.PAID_AFTER_EXPIRY.value, "fields": ["EXPIRED->PAID"]}
        change = Change(
            set={"status": obs.status, "updated_at": now},
            set_once=dict(obs.facts),
            append={"anomalies": [{**anomaly, "notice": notice.notice_id, "at": now}]},
            add={NOTICES: {notice.notice_id}},
        )
        if obs.follow_up is not None:  # watched until settled, like any paid order of its protocol
            paid_at = int(obs.facts.get("paid_at") or now)
            change.set = {**change.set, "due_at": paid_at + obs.follow_up, "due_shard": due_shard(obs.kind, obs.ref)}
        cond = change.expr
        change.where(cond.eq("status", OrderStatus.EXPIRED), cond.lacks(NOTICES, notice.notice_id))
        change.where(*(cond.eq(k, v) for k, v in obs.expect.items()))
        try:
            self.ctx.store.update(object_key(obs.kind, obs.ref), change)
        except ConditionFailed:
            return NoticeResult(NoticeOutcome.DUPLICATE, obs.target)
        return NoticeResult(NoticeOutcome.PAID_AFTER_EXPIRY, obs.target)

    def _flag(
        self, notice: VerifiedNotice, target: Target, outcome: NoticeOutcome, detail: list[str], now: int
    ) -> NoticeResult:
        """Surface an anomaly on its object, once per notice (the id joins ``notices`` with it)."""
        anomaly = {"source": "callback", "outcome": outcome.value, "fields": detail, "notice": notice.notice_id}
        flag = Change(append={"anomalies": [{**anomaly, "at": now}]}, add={NOTICES: {notice.notice_id}})
        cond = flag.expr
        flag.where(cond.exists(), cond.lacks(NOTICES, notice.notice_id))
        try:
            self.ctx.store.update(object_key(target.kind, target.ref), flag)
        except ConditionFailed as exc:
            if exc.item is None:
                return NoticeResult(NoticeOutcome.UNKNOWN_OBJECT, target)
            return NoticeResult(NoticeOutcome.DUPLICATE, target)
        return NoticeResult(outcome, target)


def _settled_by_read(notice: VerifiedNotice, obs: Observation, stored: Mapping[str, Any]) -> bool:
    """Whether the object as read already decides the notice, as the write's failed condition
    would: this notice was taken before, the object is final, or the amounts disagree (none of
    these can change between the read and a write)."""
    return (
        notice.notice_id in stored.get(NOTICES, ())
        or is_terminal(stored.get("status", SUBMITTING))
        or bool(mismatch(obs, stored))
    )


def _store_busy() -> ApiError:
    """A transaction cancelled by concurrent ones, past its retries: the platform redelivers."""
    return ApiError(503, "store_busy", "concurrent updates; the platform will retry", retryable=True)
