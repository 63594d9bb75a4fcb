"""How long an order can be paid, as its platform counts it.

ecpay raises a ``valid_time`` under 300 s to 300 s (ecpay-spec §3.1, DOC-HG), so an order created
with 180 is still payable at 200 s: whatever gives up on or expires an order must count from the
effective window, not the requested one. The trade system's ``payExpireSeconds`` has no documented
minimum (trade-spec §4), so a trade order's window is what it asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..ecpay.validation import effective_valid_time
from .platforms.base import PaymentProtocol, protocol_of


def pay_window(item: Mapping[str, Any], *, default: int) -> int:
    """Seconds after ``created_at`` the order ``item`` stays payable (``default`` if it has no
    ``valid_time``)."""
    requested = int(item.get("valid_time", default))
    if protocol_of(item.get("protocol")) is PaymentProtocol.ECPAY:
        return effective_valid_time(requested)
    return requested
