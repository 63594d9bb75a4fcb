"""What the bundle knows of a trade-system object without the trade adapter: what a stored order
shows the front end, how long it stays payable, and whose callbacks are the trade system's. Pure
functions, so a read or the callback's routing loads neither the adapter nor the port's types
(trade.py uses these same functions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def stored_pay_params(item: Mapping[str, Any]) -> dict[str, Any] | None:
    # Signing needs the private key: a read shows none; POST the same order again for fresh ones.
    return None


def pay_window(valid_time: int) -> int:
    return valid_time  # payExpireSeconds has no documented minimum (trade-spec §4): nothing is raised


def claims_callback(headers: Mapping[str, str]) -> bool:
    # The trade system signs in headers (trade-spec §5.1); ecpay never sends Byte-Signature.
    return any(name.lower() == "byte-signature" for name in headers)
