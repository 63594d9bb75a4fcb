"""Reconciliation: when a callback is late or lost, ask the platform until the object is final
(one step per SQS message, re-enqueued with backoff: :mod:`schedule`), and the sweeper that
re-enqueues whatever is overdue, so a lost message or a crash never strands an object."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..errors import PlatformError
from .audits import DEFAULT_DENY_MESSAGE, Audits
from .context import Context
from .observations import apply_observation, flag_anomaly
from .platforms import pay_window
from .platforms.base import Observation, protocol_of
from .queue import ReconcileMessage
from .refund_openings import AuditStatus
from .schedule import SCHEDULES, SWEEP_SLACK
from .settings import RefundAudit
from .states import SUBMITTING, Kind, OrderStatus, is_terminal
from .store import DUE_INDEX_ATTRS, DUE_SHARDS, Change, ConditionFailed, object_key
from .transitions import auto_settlement_change, change_for, mismatch


class ReconcileOutcome(StrEnum):
    MISSING = "missing"  # no such object (a message of ours about nothing: dropped)
    TERMINAL = "terminal"  # already final
    MOVED = "moved"  # the platform's answer made it final
    RACED = "raced"  # a callback moved it meanwhile
    MISMATCH = "mismatch"  # the platform disagrees with our record: parked for a person
    EXHAUSTED = "exhausted"  # out of attempts: parked
    RESCHEDULED = "rescheduled"  # still pending: asked again later
    SETTLEMENT_DUE = "settlement_due"  # a paid order nears the platform's own settlement: warned once
    WATCH_ENDED = "watch_ended"  # a watched paid order is settled (ours or the platform's) or refunded

    @property
    def parked(self) -> bool:
        return self in (ReconcileOutcome.MISMATCH, ReconcileOutcome.EXHAUSTED)


@dataclass(frozen=True)
class ReconcileResult:
    """What one reconcile step did."""

    outcome: ReconcileOutcome
    status: str | None = None  # the final status, when the step moved the object


class Reconciler:
    def __init__(self, context: Context) -> None:
        self.ctx = context

    def reconcile(self, message: ReconcileMessage) -> ReconcileResult:
        """One reconcile step for one object; raises only for trouble worth a redelivery (the
        store unavailable)."""
        kind, ref = message.kind, message.ref
        store = self.ctx.store
        item, done = self._load(kind, ref)
        now = self.ctx.now()
        if done is not None and done.outcome is ReconcileOutcome.TERMINAL and _watch_due(item, now):
            return self._watch(item, now)
        if done is not None:
            return done
        attempts = int(item.get("reconcile_attempts", 0)) + 1
        obs, extra, rate_limited = self._ask(item, kind, ref, now)
        if (
            kind is Kind.ORDER
            and obs is not None
            and obs.status == OrderStatus.CREATED
            and _past_local_expiry(item, now)
        ):
            # Still unpaid well past its pay window (a cart abandoned before the cashier opened can
            # stay "processing" on the platform): it expires here, quietly, instead of being parked
            # as a failure. A payment that still arrives upgrades it (callbacks.py).
            facts = {"platform_message": "unpaid past its pay window; expired locally"}
            obs = Observation(kind, ref, OrderStatus.EXPIRED.value, facts, dict(obs.expect))
        if obs is not None and (bad := mismatch(obs, item)):
            # The platform disagrees with our record (amount): never apply it; a person must look.
            flag_anomaly(store, kind, ref, {"source": "reconcile", "outcome": "mismatch", "fields": bad, "at": now})
            self._park(item, message, now, f"mismatch: {', '.join(bad)}")
            return ReconcileResult(ReconcileOutcome.MISMATCH)
        if obs is not None and is_terminal(obs.status) and (obs.status != item["status"] or extra):
            if apply_observation(store, obs, item, now, extra):
                return ReconcileResult(ReconcileOutcome.MOVED, obs.status)
            return ReconcileResult(ReconcileOutcome.RACED)
        schedule = SCHEDULES[kind]
        if schedule.exhausted(item, attempts, now):
            self._park(item, message, now, "attempts exhausted")
            return ReconcileResult(ReconcileOutcome.EXHAUSTED)
        delay = schedule.delay(attempts, rate_limited=rate_limited)
        bookkeeping = {"reconcile_attempts": attempts, "due_at": now + delay + SWEEP_SLACK, "updated_at": now}
        if obs is not None and obs.status != item["status"]:
            change = change_for(obs, now)  # e.g. SUBMITTING -> CREATED: forward, not final
            change.set = {**change.set, **bookkeeping}
        else:
            change = Change(set=bookkeeping)
            change.where(change.expr.status_in([item["status"]]))
        try:
            store.update(object_key(kind, ref), change)
        except ConditionFailed:
            # a callback moved it meanwhile; its own transition handled scheduling
            return ReconcileResult(ReconcileOutcome.RACED)
        self.ctx.schedule(kind, ref, protocol_of(item.get("protocol")), delay)
        return ReconcileResult(ReconcileOutcome.RESCHEDULED)

    def _load(self, kind: Kind, ref: str) -> tuple[dict[str, Any], ReconcileResult | None]:
        """The object, or why this step has nothing to do: gone, final, or denied by policy just now."""
        item = self.ctx.store.get(kind, ref)
        if item is None:
            return {}, ReconcileResult(ReconcileOutcome.MISSING)
        if is_terminal(item["status"]):
            return item, ReconcileResult(ReconcileOutcome.TERMINAL)
        if kind is Kind.REFUND and (decided := self._audit_by_policy(item)) is not None:
            item = decided
            if is_terminal(item["status"]):  # denied
                return item, ReconcileResult(ReconcileOutcome.MOVED, item["status"])
        return item, None

    def _audit_by_policy(self, item: dict[str, Any]) -> dict[str, Any] | None:
        """Apply an automatic audit policy to a refund awaiting the merchant: the refund as it now
        is, or None if nothing was decided."""
        policy = self.ctx.settings.refund_audit
        audits = Audits(self.ctx)
        if item.get("audit_status") != AuditStatus.PENDING or policy is RefundAudit.MANUAL:
            return None
        if audits.deadline_passed(item):
            return None  # the platform approved it itself
        try:
            approve = policy is RefundAudit.APPROVE
            return audits.apply(item, approve=approve, deny_message=None if approve else DEFAULT_DENY_MESSAGE)
        except PlatformError:
            return None  # asked again at the next step

    def _ask(
        self, item: dict[str, Any], kind: Kind, ref: str, now: int
    ) -> tuple[Observation | None, dict[str, Any], bool]:
        """The platform's answer: (observation, extra attributes to set, whether rate limited)."""
        platform = self.ctx.platforms.of(item)
        try:
            return platform.observe(kind, ref), {}, False
        except PlatformError as exc:
            fault = platform.fault(kind, exc)
            lease_over = int(item.get("lease_until", 0)) <= now
            if item["status"] == SUBMITTING and lease_over and fault.unknown_object:
                # The platform never saw the request: it failed before reaching it.
                error = {"error": {"err_no": exc.err_no, "err_tips": "never reached the platform"}}
                return Observation(kind, ref, "FAILED"), error, fault.rate_limited
            if kind is Kind.ORDER and fault.unknown_object and _past_local_expiry(item, now):
                # The platform has no such order (a trade order's client never called
                # tt.requestOrder) and it can no longer be paid: it expires here (trade-spec §6.2).
                facts = {"platform_message": "never created on the platform; expired locally"}
                return Observation(kind, ref, OrderStatus.EXPIRED.value, facts), {}, fault.rate_limited
            return None, {}, fault.rate_limited

    def _watch(self, item: dict[str, Any], now: int) -> ReconcileResult:
        """A PAID order nearing the day the platform settles it by itself, in full to the seller
        (partners named in a later settlement would get nothing): settled since, or refunded in
        full, and the watch ends; otherwise the platform is asked, a warning is recorded once (a
        ``Payment Settlement Due`` event) and the order is looked at again after the deadline,
        daily, until the platform's own settlement shows — parked for a person after a week."""
        ref = item["out_order_no"]
        store = self.ctx.store
        platform = self.ctx.platforms.of(item)
        deadline = int(item.get("paid_at") or 0) + (platform.auto_settles_after or 0)
        key = object_key(Kind.ORDER, ref)
        if platform.auto_settles_after is None or item.get("settled_at") or item.get("auto_settled_at"):
            return self._end_watch(key)
        if int(item.get("refundable_amount", 1)) <= 0 and not item.get("settling"):
            return self._end_watch(key)  # refunded in full: nothing left to settle
        try:
            report = platform.settlement_report(ref)
        except PlatformError:
            return self._watch_again(key, now, now + WATCH_RETRY, ReconcileOutcome.RESCHEDULED)
        if report.automatic is not None:
            with contextlib.suppress(ConditionFailed):
                store.update(key, auto_settlement_change(report.automatic, now))
            return ReconcileResult(ReconcileOutcome.MOVED, "AUTO_SETTLED")
        if report.settled:
            settled = Change(set={"updated_at": now}, set_once={"settled_at": now}, remove=DUE_INDEX_ATTRS)
            settled.where(settled.expr.exists())
            store.update(key, settled)
            return ReconcileResult(ReconcileOutcome.WATCH_ENDED)
        if now < deadline:
            due = Change(
                set={"updated_at": now, "due_at": deadline + WATCH_RETRY},
                set_once={"settle_due_at": deadline},
            )
            due.where(due.expr.exists())
            store.update(key, due)
            return ReconcileResult(ReconcileOutcome.SETTLEMENT_DUE)
        if now > deadline + WATCH_GRACE:
            self._park(item, ReconcileMessage(Kind.ORDER, ref, platform.protocol), now, "auto-settlement not seen")
            return ReconcileResult(ReconcileOutcome.EXHAUSTED)
        return self._watch_again(key, now, now + WATCH_RETRY, ReconcileOutcome.RESCHEDULED)

    def _end_watch(self, key: dict) -> ReconcileResult:
        done = Change(remove=DUE_INDEX_ATTRS)
        done.where(done.expr.exists())
        self.ctx.store.update(key, done)
        return ReconcileResult(ReconcileOutcome.WATCH_ENDED)

    def _watch_again(self, key: dict, now: int, at: int, outcome: ReconcileOutcome) -> ReconcileResult:
        again = Change(set={"due_at": at})
        again.where(again.expr.exists())
        self.ctx.store.update(key, again)
        return ReconcileResult(outcome)

    def _park(self, item: dict[str, Any], message: ReconcileMessage, now: int, reason: str) -> None:
        change = Change(set={"reconcile_state": "EXHAUSTED", "updated_at": now}, remove=DUE_INDEX_ATTRS)
        change.where(change.expr.exists())
        self.ctx.store.update(object_key(message.kind, message.ref), change)
        if self.ctx.queue is not None:
            protocol = protocol_of(item.get("protocol"))
            self.ctx.queue.park(ReconcileMessage(message.kind, message.ref, protocol), reason)

    def sweep(self, *, limit_per_shard: int = 100) -> int:
        """Re-enqueue every object whose reconcile step is overdue (lost message, failed send,
        crash after the claim). Returns how many were enqueued."""
        now = self.ctx.now()
        store = self.ctx.store
        found: list[ReconcileMessage] = []
        for shard in range(DUE_SHARDS):
            for kind, ref in store.due(str(shard), now, limit_per_shard):
                # Push due_at forward first so the next sweep does not send it again; the
                # reconcile step sets the real next time.
                touch = Change(set={"due_at": now + SWEEP_SLACK})
                cond = touch.expr
                touch.where(cond.exists(), f"{cond.name('due_at')} <= {cond.value(now)}")
                try:
                    item = store.update(object_key(kind, ref), touch)  # ALL_NEW: names its protocol
                except ConditionFailed:
                    continue
                found.append(ReconcileMessage(kind, ref, protocol_of(item.get("protocol"))))
        if found and self.ctx.queue is not None:
            self.ctx.queue.schedule_now(found)
        return len(found)


# How long after its pay window an unpaid order (or one the platform never heard of) is kept open: the signed data
# the front end holds stays usable for up to an hour after signing (trade-spec §3.3 [S]), and a
# payment that still arrives after this upgrades the order (callbacks.py: paid after expiry).
LOCAL_EXPIRY_GRACE = 600

WATCH_RETRY = 86_400  # a watched order past its warning is looked at again daily
WATCH_GRACE = 7 * 86_400  # the platform's own settlement not seen a week after its day: parked


def _watch_due(item: dict[str, Any], now: int) -> bool:
    """A PAID order whose auto-settlement watch is due: the sweeper found it due and moved its
    due_at SWEEP_SLACK ahead before sending it. An earlier reconcile message for it that arrives
    late finds it due months from now, and does nothing."""
    due_at = item.get("due_at")
    return item.get("status") == OrderStatus.PAID and due_at is not None and int(due_at) <= now + SWEEP_SLACK


def _past_local_expiry(item: dict[str, Any], now: int) -> bool:
    if item.get("status") != OrderStatus.CREATED:
        return False
    return now >= int(item.get("created_at", now)) + pay_window(item, default=0) + LOCAL_EXPIRY_GRACE
