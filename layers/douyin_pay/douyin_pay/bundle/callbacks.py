"""Receiving the platform's callbacks: verify (the adapter, on the headers and the raw body, before
any I/O), then record the notice and move state forward in one transaction on the normal path.

A duplicate costs one failed transaction; a stale, mismatched or orphan notice is recorded (and
surfaced on the object for a mismatch) but never applied as a success.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .api import ApiError
from .context import Context
from .platforms.base import Observation, Reply, Target, VerifiedNotice
from .states import Kind, RefundStatus, is_terminal
from .store import CONFLICT_RETRIES, Change, ConditionFailed, Guard, TransactionFailed, event_key, object_key
from .transitions import change_for, mismatch, release_action

EVENT_TTL = 90 * 86_400  # callback event records are kept 90 days (TTL), objects forever


class NoticeOutcome(StrEnum):
    APPLIED = "applied"  # the object moved forward
    DUPLICATE = "duplicate"  # this notice was handled before
    STALE = "stale"  # the object is already there or further on
    MISMATCH = "mismatch"  # amount, order or app id differs from our record: never applied
    CONFLICT = "conflict"  # a different final state than ours (paid after we expired it)
    UNKNOWN_OBJECT = "unknown_object"  # about nothing we created
    RECORDED = "recorded"  # verified and kept; nothing to move (withdraw, settle_finish, PROCESSING)

    @property
    def anomaly(self) -> bool:
        """Money and our record disagree: a person must look."""
        return self in (NoticeOutcome.MISMATCH, NoticeOutcome.CONFLICT)


@dataclass(frozen=True)
class NoticeResult:
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


class Callbacks:
    def __init__(self, context: Context) -> None:
        self.ctx = context

    def receive(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        """Verify and apply one callback. Raises :class:`~douyin_pay.errors.CallbackError` (bad
        signature, malformed body) before anything is read or written."""
        platform = self.ctx.platforms.for_callback(headers)
        notice = platform.read_notice(headers, body)
        return Delivery(notice, self.apply(notice), platform.acknowledge(notice))

    def apply(self, notice: VerifiedNotice) -> NoticeResult:
        now = self.ctx.now()
        event = {"type": notice.type, "msg": notice.message, "received_at": now, "expires_at": now + EVENT_TTL}
        target, obs = notice.target, notice.observation
        if target is None:
            return self._record(notice, event, NoticeOutcome.RECORDED, None)
        if notice.app_id != self.ctx.settings.app_id:
            return self._record(notice, event, NoticeOutcome.MISMATCH, target, detail=["app_id"])
        if obs is None:
            return self._record(notice, event, NoticeOutcome.RECORDED, target)
        store = self.ctx.store
        applied = {**event, "kind": obs.kind.value, "ref": obs.ref, "outcome": NoticeOutcome.APPLIED.value}
        actions = [
            store.put_action(event_key(notice.dedupe_key), {**applied, "status": obs.status}, Guard.absent()),
            store.update_action(object_key(obs.kind, obs.ref), change_for(obs, now)),
        ]
        if obs.kind is Kind.REFUND and obs.status == RefundStatus.FAILED:
            refund = store.get(obs.kind, obs.ref)  # the order to release lives on the refund
            if refund is None:
                return self._record(notice, event, NoticeOutcome.UNKNOWN_OBJECT, target)
            actions.append(release_action(store, refund))
        try:
            store.transact(actions, conflict_retries=CONFLICT_RETRIES)
        except TransactionFailed as exc:
            if exc.condition_failed(0):
                return NoticeResult(NoticeOutcome.DUPLICATE, target)
            if exc.conflict:
                raise ApiError(
                    503, "store_busy", "concurrent updates; the platform will retry", retryable=True
                ) from exc
            return self._classify_and_record(notice, event, obs, exc.item(1))
        return NoticeResult(NoticeOutcome.APPLIED, target)

    def _classify_and_record(
        self, notice: VerifiedNotice, event: dict, obs: Observation, stored: Mapping[str, Any] | None
    ) -> NoticeResult:
        if stored is None:
            return self._record(notice, event, NoticeOutcome.UNKNOWN_OBJECT, obs.target)
        if bad := mismatch(obs, stored):
            return self._record(notice, event, NoticeOutcome.MISMATCH, obs.target, detail=bad)
        current = stored.get("status", "")
        if is_terminal(current) and is_terminal(obs.status) and current != obs.status:
            # e.g. paid after we recorded it as expired: money moved against our record — surface it.
            detail = [f"{current}->{obs.status}"]
            return self._record(notice, event, NoticeOutcome.CONFLICT, obs.target, detail=detail)
        return self._record(notice, event, NoticeOutcome.STALE, obs.target)

    def _record(
        self,
        notice: VerifiedNotice,
        event: dict,
        outcome: NoticeOutcome,
        target: Target | None,
        detail: list[str] | None = None,
    ) -> NoticeResult:
        """Record a notice that is not applied; an anomaly is also flagged on its object, atomically."""
        store = self.ctx.store
        attrs = {
            **event,
            "outcome": outcome.value,
            "kind": target.kind.value if target else None,
            "ref": target.ref if target else None,
            "detail": detail,
        }
        key = event_key(notice.dedupe_key)
        result = NoticeResult(outcome, target)
        if outcome.anomaly and target:
            anomaly = {
                "source": "callback",
                "outcome": outcome.value,
                "fields": detail,
                "event": notice.dedupe_key,
                "at": event["received_at"],
            }
            flag = Change(append={"anomalies": [anomaly]})
            flag.where(flag.expr.exists())
            try:
                store.transact(
                    [
                        store.put_action(key, attrs, Guard.absent()),
                        store.update_action(object_key(target.kind, target.ref), flag),
                    ]
                )
                return result
            except TransactionFailed as exc:
                if exc.condition_failed(0):
                    return NoticeResult(NoticeOutcome.DUPLICATE, target)
                # no such object: record the event alone
        try:
            store.put(key, attrs, Guard.absent())
        except ConditionFailed:
            return NoticeResult(NoticeOutcome.DUPLICATE, target)
        return result
