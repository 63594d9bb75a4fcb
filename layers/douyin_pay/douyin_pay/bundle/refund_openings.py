"""Refunds the platform opens: a user asked for a refund in Douyin (trade-spec §5.5 ``pre_create_refund``).

The platform asks for our refund number and will not take no for an answer: a refusal only makes
it retry for 72 h (§5.3, pitfall 8). So the refund is recorded, its amount reserved on the order in
the same transaction (succeeded + in-flight refunds never exceed what was paid), and answered.
Refusing happens at the audit step (:mod:`audits`), when the platform asks for one.

The refund is due for reconciliation at once: the sweeper sends it to the reconcile queue within
minutes, where an automatic audit policy is applied and its outcome followed like any refund's.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from .context import Context
from .platforms.base import RefundOpening, VerifiedNotice
from .states import Kind, OrderStatus, RefundStatus
from .store import CONFLICT_RETRIES, Change, ConditionFailed, Guard, TransactionFailed, due_shard, object_key

NOTICES = "notices"


class AuditStatus(StrEnum):
    NOT_REQUIRED = "NOT_REQUIRED"
    PENDING = "PENDING"  # the platform waits for the merchant (or approves at the deadline)
    APPROVED = "APPROVED"
    DENIED = "DENIED"


class OpeningOutcome(StrEnum):
    RECORDED = "recorded"  # recorded and its amount reserved
    EXISTS = "exists"  # a redelivery: recorded before
    UNRESERVED = "unreserved"  # recorded, but the order could not cover it: flagged for a person


class RefundOpenings:
    def __init__(self, context: Context) -> None:
        self.ctx = context

    def open(self, notice: VerifiedNotice, now: int) -> OpeningOutcome:
        opening = notice.opening
        assert opening is not None
        store = self.ctx.store
        refund = self._record(notice, opening, now)
        key = object_key(Kind.REFUND, opening.out_refund_no)
        reserve = Change(add={"refundable_amount": -opening.refund_amount})
        cond = reserve.expr
        reserve.where(
            cond.exists(),
            cond.eq("status", OrderStatus.PAID),
            cond.eq("protocol", opening.protocol.value),
            f"{cond.name('refundable_amount')} >= {cond.value(opening.refund_amount)}",
        )
        actions = [
            store.put_action(key, refund, Guard.absent()),
            store.update_action(object_key(Kind.ORDER, opening.out_order_no), reserve),
        ]
        try:
            store.transact(actions, conflict_retries=CONFLICT_RETRIES)
        except TransactionFailed as exc:
            if exc.condition_failed(0):
                return OpeningOutcome.EXISTS
            if exc.conflict:
                raise
            order = exc.item(1)
            if order is None:
                problem = "order_unknown"
            else:
                problem = f"order {order.get('status')}, refundable {order.get('refundable_amount')}"
            anomaly = {"source": "callback", "outcome": "unreserved", "fields": [problem], "at": now}
            flagged = {**refund, "anomalies": [anomaly], "unreserved": True}
            try:
                store.put(key, flagged, Guard.absent())
            except ConditionFailed:  # recorded meanwhile by a redelivery
                return OpeningOutcome.EXISTS
            return OpeningOutcome.UNRESERVED
        return OpeningOutcome.RECORDED

    @staticmethod
    def _record(notice: VerifiedNotice, opening: RefundOpening, now: int) -> dict[str, Any]:
        audit = AuditStatus.PENDING if opening.needs_audit else AuditStatus.NOT_REQUIRED
        return {
            "out_refund_no": opening.out_refund_no,
            "out_order_no": opening.out_order_no,
            "refund_amount": opening.refund_amount,
            "reason": opening.reason,
            **opening.facts,
            "kind": Kind.REFUND.value,
            "protocol": opening.protocol.value,
            "status": RefundStatus.PROCESSING.value,
            "origin": "user",
            "audit_status": audit.value,
            "audit_deadline": opening.audit_deadline if opening.needs_audit else None,
            "created_at": now,
            "updated_at": now,
            "reconcile_attempts": 0,
            "due_shard": due_shard(Kind.REFUND, opening.out_refund_no),
            "due_at": now,  # the next sweep sends it to reconciliation (and to an automatic audit)
            NOTICES: {notice.notice_id},
        }
