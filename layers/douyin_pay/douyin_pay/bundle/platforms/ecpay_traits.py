"""What the bundle knows of an ecpay object without the ecpay adapter: what a stored order shows
the front end, how long it stays payable, and whose callbacks are ecpay's. Pure functions of a
stored item or a request's headers, so a read (or the callback's routing) does not load the
adapter and the port's types (ecpay.py uses these same functions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def stored_pay_params(item: Mapping[str, Any]) -> dict[str, Any] | None:
    """``tt.pay`` takes ``orderInfo: {order_id, order_token}`` (ecpay-spec §3.1)."""
    if item.get("order_id") and item.get("order_token"):
        return {"order_id": item["order_id"], "order_token": item["order_token"]}
    return None


def pay_window(valid_time: int) -> int:
    """Under 300 s is raised to 300 s (ecpay-spec §3.1, DOC-HG): an order sent with 180 is still
    payable at 200 s."""
    from ...ecpay.validation import effective_valid_time

    return effective_valid_time(valid_time)


def claims_callback(headers: Mapping[str, str]) -> bool:
    # ecpay signs inside the body (msg_signature), so it takes whatever no header-signed protocol
    # claimed.
    return True
