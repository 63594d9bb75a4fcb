"""Monotonic state machines for orders, refunds and settlements.

Each object moves forward only: SUBMITTING → in-flight → terminal. ``SUBMITTING`` is ours, not the
platform's: the record is claimed before the platform is called, so a crash between the platform
call and the table write leaves a record that reconciliation finds and settles.

A transition is applied as a conditional write whose condition is :func:`allowed_sources`; a late
or repeated notice therefore can never move an object backwards.
"""

from __future__ import annotations

from enum import StrEnum

# Ours, not the platform's: the record is claimed before the platform is called. Every kind has it.
SUBMITTING = "SUBMITTING"


# A change of an order that is not a status: the merchant's fulfilment (核销) of a paid order.
FULFILLED = "FULFILLED"


class Kind(StrEnum):
    ORDER = "order"
    REFUND = "refund"
    SETTLEMENT = "settlement"


class OrderStatus(StrEnum):
    SUBMITTING = SUBMITTING
    CREATED = "CREATED"
    PAID = "PAID"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"


class RefundStatus(StrEnum):
    SUBMITTING = SUBMITTING
    PROCESSING = "PROCESSING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class SettlementStatus(StrEnum):
    SUBMITTING = SUBMITTING
    PROCESSING = "PROCESSING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


STATUSES: dict[Kind, type[StrEnum]] = {
    Kind.ORDER: OrderStatus,
    Kind.REFUND: RefundStatus,
    Kind.SETTLEMENT: SettlementStatus,
}

_RANK = {"SUBMITTING": 0, "CREATED": 1, "PROCESSING": 1, "PAID": 2, "EXPIRED": 2, "SUCCEEDED": 2, "FAILED": 2}

# Re-applying the state an object already has is harmless only where the transition touches no
# other item: a refund's FAILED releases its reserved amount on the order, so it must happen once.
_REAPPLICABLE = {
    Kind.ORDER: {OrderStatus.CREATED, OrderStatus.PAID},
    Kind.REFUND: {RefundStatus.PROCESSING, RefundStatus.SUCCEEDED},
    Kind.SETTLEMENT: {SettlementStatus.PROCESSING, SettlementStatus.SUCCEEDED, SettlementStatus.FAILED},
}


def is_terminal(status: str) -> bool:
    return _RANK[status] == 2


def allowed_sources(kind: Kind, target: str) -> tuple[str, ...]:
    """The statuses from which ``kind`` may move to ``target``: strictly earlier ones, plus
    ``target`` itself where re-applying it is harmless."""
    rank = _RANK[target]
    sources = [s.value for s in STATUSES[kind] if _RANK[s] < rank]
    if target in _REAPPLICABLE[kind]:
        sources.append(target)
    return tuple(sources)


# The status an object takes when the platform accepts its request (the in-flight one).
ACCEPTED: dict[Kind, str] = {
    Kind.ORDER: OrderStatus.CREATED,
    Kind.REFUND: RefundStatus.PROCESSING,
    Kind.SETTLEMENT: SettlementStatus.PROCESSING,
}
