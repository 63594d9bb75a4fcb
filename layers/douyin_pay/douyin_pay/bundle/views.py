"""What the API returns for a stored object: its public fields, never the request hash or the
bundle's bookkeeping."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .platforms import stored_pay_params
from .platforms.protocol import protocol_of
from .refund_rules import refundable_now
from .states import Kind, OrderStatus

_VIEW_FIELDS = {
    Kind.ORDER: (
        "out_order_no",
        "status",
        "total_amount",
        "refundable_amount",
        "subject",
        "body",
        "valid_time",
        "cp_extra",
        "order_id",
        "order_token",
        "paid_at",
        "pay_time",
        "way",
        "channel_no",
        "fulfilled_at",
        "item_id",
        "commission",
        "cps_info",
        "settled_at",
        "settled_by",
        "settle_due_at",
        "auto_settled_at",
        "auto_settlement",
        "currency",
        "created_at",
        "updated_at",
    ),
    Kind.REFUND: (
        "out_refund_no",
        "out_order_no",
        "status",
        "refund_amount",
        "reason",
        "refund_no",
        "refunded_at",
        "is_all_settled",
        "platform_message",
        "origin",
        "audit_status",
        "audit_deadline",
        "created_at",
        "updated_at",
    ),
    Kind.SETTLEMENT: (
        "out_settle_no",
        "out_order_no",
        "status",
        "settle_desc",
        "settle_params",
        "settle_no",
        "settle_amount",
        "rake",
        "commission",
        "settled_at",
        "settle_detail",
        "platform_message",
        "created_at",
        "updated_at",
    ),
}


_UNSET: Any = object()


def view(kind: Kind, item: Mapping[str, Any], *, pay_params: Any = _UNSET, now: int | None = None) -> dict[str, Any]:
    """The API's view of an object. ``pay_params``: an order's, when the caller has them (a create
    answer); otherwise what the item alone shows. ``now``: the time of the read, for what an order
    can still refund (without it, the year after payment is not checked)."""
    out = {k: item[k] for k in _VIEW_FIELDS[kind] if item.get(k) is not None}
    out["protocol"] = protocol_of(item.get("protocol")).value
    if kind is Kind.SETTLEMENT and isinstance(out.get("settle_params"), str):
        out["settle_params"] = json.loads(out["settle_params"])
    if kind is Kind.ORDER:
        if "refundable_amount" in out:
            # The stored amount is the reservation counter; what a caller needs is what a refund
            # can take now (0 before payment, after expiry, past the refund window or count).
            out["refundable_amount"] = refundable_now(item, now)
        if item.get("status") == OrderStatus.PAID:
            out["refunded_or_pending_amount"] = int(item["total_amount"]) - int(item.get("refundable_amount", 0))
        params = stored_pay_params(item) if pay_params is _UNSET else pay_params
        if params:
            out["pay_params"] = params
    if kind is Kind.ORDER and (sync := _order_sync(item)):
        out["order_sync"] = sync
    if kind is Kind.REFUND and out.get("audit_status") == "PENDING" and out.get("status") == "SUCCEEDED":
        # A refund the platform carried out was approved: by the platform itself at the audit
        # deadline when the merchant did not answer (nothing tells the bundle so otherwise).
        out["audit_status"] = "APPROVED"
    for extra in ("error", "anomalies", "reconcile_state"):
        if item.get(extra):
            out[extra] = item[extra]
    return out


def _order_sync(item: Mapping[str, Any]) -> dict[str, Any] | None:
    """Where the order stands in the platform's order center (ecpay's 订单同步): whether it can be
    synced (the fields it lacks), and the last status pushed, when and with what error."""
    if "sync_missing" not in item:
        return None  # an order of a protocol the platform syncs itself, or from before order sync
    missing = list(item.get("sync_missing") or [])
    out: dict[str, Any] = {"syncable": not missing}
    if missing:
        out["missing"] = missing
    for name, key in (
        ("sync_status", "status"),
        ("sync_status_text", "status_text"),
        ("sync_time", "update_time"),
        ("synced_at", "pushed_at"),
        ("sync_error", "error"),
    ):
        if item.get(name) is not None:
            out[key] = item[name]
    return out
