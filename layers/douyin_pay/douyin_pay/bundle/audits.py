"""The merchant's audit of a refund a user asked for (trade-spec §4.7): approve or deny it, by
policy (reconciliation applies ``DOUYIN_REFUND_AUDIT`` = approve / deny) or by hand
(``POST /refunds/{out_refund_no}/audit`` when the policy is manual).

The platform approves on its own 72 h after the refund was opened (§4.7, pitfall 9); after that
deadline a decision is refused here, and the refund's outcome arrives like any other's.

A denial ends the refund here: it becomes FAILED and its reserved amount goes back to the order in
one transaction. Whether the platform also sends a FAIL callback is not documented (§10.8 [?]); if
it does, it finds the refund already FAILED and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import PlatformError, ValidationError
from .api import ApiError, checked_ref, not_found, platform_failure
from .context import Context
from .refund_openings import AuditStatus
from .states import Kind, RefundStatus
from .store import Change, ConditionFailed, TransactionFailed, object_key
from .transitions import fail_refund
from .views import view

DENY_MESSAGE_MAX_BYTES = 512  # trade-spec §4.7
DEFAULT_DENY_MESSAGE = "refused by the merchant"


def decision_of(body: object) -> tuple[bool, str | None]:
    """(approve, deny_message) from ``{"decision": "approve" | "deny", "deny_message": "..."}``."""
    if not isinstance(body, dict):
        raise ValidationError("body", "must be a JSON object", code="invalid_body")
    for key in body:
        if key not in ("decision", "deny_message"):
            raise ValidationError(key, "is not a field of this request", code="unknown_field")
    decision = body.get("decision")
    if decision not in ("approve", "deny"):
        raise ValidationError("decision", 'must be "approve" or "deny"', code="invalid_field")
    message = body.get("deny_message")
    if decision == "approve":
        if message is not None:
            raise ValidationError("deny_message", "is only for a denial", code="invalid_field")
        return True, None
    if not isinstance(message, str) or not message.strip():
        raise ValidationError("deny_message", "is required to deny a refund", code="missing_field")
    if len(message.encode("utf-8")) > DENY_MESSAGE_MAX_BYTES:
        raise ValidationError("deny_message", f"must be at most {DENY_MESSAGE_MAX_BYTES} bytes", code="too_long")
    return False, message


class Audits:
    def __init__(self, context: Context) -> None:
        self.ctx = context

    def decide(self, out_refund_no: str, body: object) -> dict[str, Any]:
        """The route: apply the merchant's decision, answer the refund's view."""
        approve, message = decision_of(body)
        ref = checked_ref(Kind.REFUND, out_refund_no)
        item = self.ctx.store.get(Kind.REFUND, ref)
        if item is None:
            raise not_found(Kind.REFUND, ref)
        status = item.get("audit_status")
        if status != AuditStatus.PENDING:
            raise ApiError(
                409,
                "audit_not_pending",
                f"refund {ref!r} awaits no audit" + (f" (audit {status})" if status else ""),
                audit_status=status,
            )
        if self.deadline_passed(item):
            raise ApiError(
                409,
                "audit_deadline_passed",
                f"the platform approved refund {ref!r} itself at its audit deadline",
                audit_deadline=item.get("audit_deadline"),
            )
        try:
            return view(Kind.REFUND, self.apply(item, approve=approve, deny_message=message))
        except PlatformError as exc:
            raise platform_failure(exc, self.ctx.platforms.of(item).fault(Kind.REFUND, exc)) from exc

    def deadline_passed(self, item: Mapping[str, Any]) -> bool:
        deadline = item.get("audit_deadline")
        return deadline is not None and self.ctx.now() >= int(deadline)

    def apply(self, item: Mapping[str, Any], *, approve: bool, deny_message: str | None) -> dict[str, Any]:
        """Tell the platform, then record the decision (raises :class:`PlatformError`). Returns the
        refund as it now is."""
        platform = self.ctx.platforms.of(item)
        platform.audit_refund(item, approve=approve, deny_message=deny_message)
        now = self.ctx.now()
        ref = item["out_refund_no"]
        key = object_key(Kind.REFUND, ref)
        decided = AuditStatus.APPROVED if approve else AuditStatus.DENIED
        change = Change(set={"audit_status": decided.value, "updated_at": now})
        if not approve:
            change = Change(
                set={
                    "audit_status": decided.value,
                    "status": RefundStatus.FAILED.value,
                    "platform_message": deny_message,
                    "updated_at": now,
                },
                remove=("due_shard", "due_at"),
            )
        cond = change.expr
        change.where(cond.eq("audit_status", AuditStatus.PENDING), cond.eq("status", RefundStatus.PROCESSING))
        store = self.ctx.store
        try:
            if approve:
                return store.update(key, change)
            fail_refund(store, key, change, item)
        except (ConditionFailed, TransactionFailed):
            pass  # decided meanwhile (another request, or the platform's outcome arrived)
        return store.get(Kind.REFUND, ref) or dict(item)
