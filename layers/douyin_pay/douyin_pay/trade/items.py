"""The item-level breakdowns that callbacks and query answers share: one model and one reader each.

An order has one or more item orders (``item_order_id``); refunds name the amount taken from each
(trade-spec §4.3, §4.6, §5.5).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import _fields as read


@dataclass(frozen=True)
class ItemRefund:
    """The part of a refund taken from one item order (``item_order_detail[]``)."""

    item_order_id: str
    refund_amount: int


@dataclass(frozen=True)
class RefundItemDetail:
    """``refund_item_detail`` of refund and pre_create_refund callbacks."""

    item_order_quantity: int | None = None
    item_order_detail: tuple[ItemRefund, ...] = ()


NO_ITEM_DETAIL = RefundItemDetail()


def _object(item: object, key: str, fail: read.Fail) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        fail(key, "must hold objects")
    return item


def item_refunds(
    data: Mapping[str, Any], key: str, fail: read.Fail, *, required: bool = False
) -> tuple[ItemRefund, ...]:
    """A list of ``{item_order_id, refund_amount}``; absent means none."""
    if required and data.get(key) is None:
        fail(key, "is missing")
    result = []
    for entry in read.as_list(data, key, fail):
        item = _object(entry, key, fail)
        result.append(
            ItemRefund(
                item_order_id=read.as_str(item, "item_order_id", fail, required=True),
                refund_amount=read.as_json_amount(item, "refund_amount", fail, required=True),
            )
        )
    return tuple(result)


def refund_item_detail(
    data: Mapping[str, Any], key: str, fail: read.Fail, *, required: bool = False
) -> RefundItemDetail:
    """``{item_order_quantity, item_order_detail[…]}``; absent means an empty breakdown."""
    if required and data.get(key) is None:
        fail(key, "is missing")
    detail = read.as_mapping(data, key, fail)
    return RefundItemDetail(
        item_order_quantity=read.as_json_int(detail, "item_order_quantity", fail),
        item_order_detail=item_refunds(detail, "item_order_detail", fail),
    )
