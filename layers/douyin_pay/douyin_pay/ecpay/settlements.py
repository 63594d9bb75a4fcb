"""The platform's record of one settlement (分账), as a settle_finish notice and query_platform_order
both report it: one model and one reader for the two places it appears."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import _fields as read


@dataclass(frozen=True)
class SettlePayeeAmount:
    """One payee's share of a settlement, in fen."""

    merchant_uid: str
    amount: int


@dataclass(frozen=True)
class PlatformSettlement:
    """One settlement as the platform records it; amounts in fen, times as the platform writes them."""

    settle_no: str
    settle_status: str
    payees: tuple[SettlePayeeAmount, ...]  # settle_info (notice) / settle_param_list (query)
    service_charge: int | None
    cps: int | None
    created_at: str
    settled_at: str
    settle_way: str
    out_settle_no: str = ""  # absent for an automatic settlement
    settle_plat_no: str = ""  # notices only


def read_settlement(item: object, payees_key: str, fail: read.Fail) -> PlatformSettlement:
    """One settlement object; ``payees_key`` is where its payees are (the two sources differ)."""
    if not isinstance(item, Mapping):
        fail(payees_key, "must be in an object")
    return PlatformSettlement(
        settle_no=read.as_str(item, "settle_no", fail),
        settle_status=read.as_str(item, "settle_status", fail),
        payees=tuple(_payee(p, payees_key, fail) for p in read.as_list(item, payees_key, fail)),
        service_charge=read.as_amount(item, "service_charge", fail),
        cps=read.as_amount(item, "cps", fail),
        created_at=read.as_str(item, "created_at", fail),
        settled_at=read.as_str(item, "settled_at", fail),
        settle_way=read.as_str(item, "settle_way", fail),
        out_settle_no=read.as_str(item, "out_settle_no", fail),
        settle_plat_no=read.as_str(item, "settle_plat_no", fail),
    )


def _payee(payee: Any, key: str, fail: read.Fail) -> SettlePayeeAmount:
    if not isinstance(payee, Mapping):
        fail(key, "must hold objects")
    return SettlePayeeAmount(
        merchant_uid=read.as_str(payee, "merchant_uid", fail, required=True),
        amount=read.as_amount(payee, "amount", fail, required=True),
    )
