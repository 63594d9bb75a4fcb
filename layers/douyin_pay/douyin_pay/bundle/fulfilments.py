"""Fulfilment (核销): the merchant says a paid order has been delivered or used.

One conditional write records it on the order (``fulfilled_at``); the table's stream announces it
as ``Payment Fulfilled``, and order sync pushes the order as fulfilled, which is one of the two
statuses the platform settles an ecpay order in. Recording it again answers the same order (200):
a retried request is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .api import ApiError, checked_ref, not_found, order_not_paid
from .context import Context
from .platforms import adapter_class
from .platforms.protocol import LEGACY_PROTOCOL, PaymentProtocol, protocol_of
from .states import Kind, OrderStatus
from .store import Change, ConditionFailed, object_key
from .views import view


@dataclass(frozen=True)
class Fulfilment:
    """The order's view after a fulfilment, and whether this request recorded it."""

    view: dict[str, Any]
    created: bool  # False when the order was fulfilled already


class Fulfilments:
    def __init__(self, context: Context) -> None:
        self.ctx = context

    def fulfil(self, out_order_no: str) -> Fulfilment:
        ref = checked_ref(Kind.ORDER, out_order_no)
        now = self.ctx.now()
        change = Change(set={"fulfilled_at": now, "updated_at": now})
        cond = change.expr
        protocols = [p.value for p in PaymentProtocol if adapter_class(p).records_fulfilment]
        protocol_clause = f"{cond.name('protocol')} IN ({', '.join(cond.value(p) for p in protocols)})"
        if LEGACY_PROTOCOL.value in protocols:  # orders from before items named their protocol
            protocol_clause = f"attribute_not_exists({cond.name('protocol')}) OR {protocol_clause}"
        change.where(
            cond.exists(),
            cond.eq("status", OrderStatus.PAID),
            f"attribute_not_exists({cond.name('fulfilled_at')})",
            f"{cond.name('refundable_amount')} > {cond.value(0)}",
            protocol_clause,
        )
        try:
            return Fulfilment(view(Kind.ORDER, self.ctx.store.update(object_key(Kind.ORDER, ref), change)), True)
        except ConditionFailed as exc:
            order = exc.item
        if order is None:
            raise not_found(Kind.ORDER, ref)
        protocol = protocol_of(order.get("protocol"))
        if not adapter_class(protocol).records_fulfilment:
            raise ApiError(
                409,
                "fulfilment_not_supported",
                f"order {ref!r} uses the {protocol.value} protocol, whose fulfilment this bundle does not record",
            )
        if order.get("fulfilled_at"):
            return Fulfilment(view(Kind.ORDER, order), False)
        if order.get("status") != OrderStatus.PAID:
            raise order_not_paid(ref, order.get("status"))
        raise ApiError(409, "order_refunded", f"order {ref!r} has been refunded in full: nothing left to fulfil")
