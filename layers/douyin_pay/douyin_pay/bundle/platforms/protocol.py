"""Which protocol an object speaks: the one fact about protocols that settings, messages and reads
need without the port's types (base.py) or an adapter."""

from __future__ import annotations

from enum import StrEnum


class PaymentProtocol(StrEnum):
    """Which of Douyin's payment protocols an object was created with; it keeps it for life."""

    ECPAY = "ecpay"  # 担保支付 (ecpay v1)
    TRADE = "trade"  # 通用交易系统 (trade_basic v1)


# Items and reconcile messages written before objects recorded their protocol are ecpay's: it was
# the only protocol then.
LEGACY_PROTOCOL = PaymentProtocol.ECPAY


def protocol_of(value: object) -> PaymentProtocol:
    """The protocol recorded on an item or a message (absent: :data:`LEGACY_PROTOCOL`).

    Raises ValueError for a value that names no protocol this bundle speaks."""
    return PaymentProtocol(value) if value else LEGACY_PROTOCOL
