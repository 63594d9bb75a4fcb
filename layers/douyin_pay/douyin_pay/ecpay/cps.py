"""An order's influencer (CPS, 达人分佣) data: the commission comes off the settleable amount and is
known only some time after the payment (ecpay-spec §3.2, §3.14, §6.4).

It arrives in two places and three shapes: query_order's ``cps_info`` (an object, or in one SDK's
typing its JSON text, at the top level or inside ``payment_info``) and the payment callback's
``extra`` (JSON text such as ``{"cps_info":"poi","share_amount":"299"}``, or ``""`` / ``"null"``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import _fields as read


@dataclass(frozen=True)
class CpsInfo:
    """An order's influencer data: the commission (fen) and who earned it."""

    share_amount: int | None = read.wire("share_amount", read.as_amount)  # the commission, fen
    douyin_id: str = read.wire("douyin_id", read.as_str)
    nickname: str = read.wire("nickname", read.as_str)


def cps_mapping(value: object) -> Mapping[str, Any] | None:
    """CPS data as an object, whether sent as one or as its JSON text (None: no CPS data).

    Anything that is not an object is "no CPS data" rather than an unreadable answer: the order's
    state is what a query or a notice is for, and the commission is asked again before settling.
    The amount inside is still read strictly (:class:`CpsInfo`)."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else None
        except (ValueError, RecursionError):
            return None
    if not isinstance(value, Mapping) or not value:
        return None
    return value
