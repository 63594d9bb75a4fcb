"""tt.requestOrder's ``data`` string and its ``byteAuthorization`` (trade-spec §3).

:func:`request_order_data` checks the §3.2 limits and renders ``data`` once, as compact JSON in a
fixed key order; :func:`sign_request_order` signs exactly that string. The mini-program must pass
both to tt.requestOrder untouched: parsing and re-serialising ``data`` breaks the signature (§9
pitfall 2).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..errors import ValidationError
from . import validation as rules
from .signing import byte_authorization

MAX_QUANTITY = 100  # 0 < quantity ≤ 100 (§3.2)
MAX_PAY_EXPIRE_SECONDS = 172_800  # 48 h (§3.2)
MAX_TITLE_BYTES = 256
MAX_IMAGE_URL_BYTES = 512
LIMIT_PAY_WAYS = frozenset({1, 2, 10})  # channels that can be hidden: WeChat, Alipay, Douyin Pay (§3.2)
# 号卡 goods types: skuAttr is required for them (§3.2, 2nd reading).
SKU_ATTR_REQUIRED_TYPES = frozenset(range(101, 108))


@dataclass(frozen=True)
class RequestOrderParams:
    """What the server returns to the mini-program for ``tt.requestOrder``."""

    data: str
    byte_authorization: str

    def as_tt_request_order(self) -> dict[str, str]:
        """The two arguments of ``tt.requestOrder``, named as the client API names them."""
        return {"data": self.data, "byteAuthorization": self.byte_authorization}


def _limit_pay_way(value: Iterable[object]) -> list[int]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ValidationError("limit_pay_way", "must be a list of channel numbers", code="invalid_limit_pay_way")
    ways = list(value)
    for way in ways:
        if type(way) is not int or way not in LIMIT_PAY_WAYS:  # 1.0 == 1 and True == 1: both refused
            raise ValidationError(
                "limit_pay_way", f"unknown channel {way!r}; use {sorted(LIMIT_PAY_WAYS)}", code="invalid_limit_pay_way"
            )
    if len(set(ways)) != len(ways):
        raise ValidationError("limit_pay_way", "names a channel twice", code="invalid_limit_pay_way")
    return ways


def _price(total_amount: int, quantity: int, price: int | None) -> int:
    if price is None:
        price = total_amount // quantity
    rules.amount("price", price)
    # Whether the platform requires totalAmount = price × quantity is undocumented (§3.2, §10.3 [?]);
    # every peer sends it so, and an order whose lines do not add up is refused here, not there.
    if price * quantity != total_amount:
        raise ValidationError("price", "price × quantity must equal total_amount", code="amount_mismatch")
    return price


def _sku(
    *,
    sku_id: object,
    price: int,
    quantity: int,
    title: object,
    image_url: object,
    goods_type: object,
    tag_group_id: object,
    entry_path: object,
    entry_params: object,
    sku_attr: object,
) -> dict[str, object]:
    goods = rules.integer("goods_type", goods_type, 1, 2**31 - 1)
    sku: dict[str, object] = {
        "skuId": rules.text("sku_id", sku_id),
        "price": price,
        "quantity": quantity,
        "title": rules.text("title", title, max_bytes=MAX_TITLE_BYTES),
        "imageList": [rules.text("image_url", image_url, max_bytes=MAX_IMAGE_URL_BYTES)],
        "type": goods,
        "tagGroupId": rules.text("tag_group_id", tag_group_id),
    }
    if entry_path is not None:
        sku["entrySchema"] = rules.schema("entry", entry_path, entry_params)
    elif entry_params is not None:
        raise ValidationError("entry_params", "needs entry_path", code="missing_field")
    if sku_attr is not None:
        sku["skuAttr"] = rules.json_object_text("sku_attr", sku_attr)
    elif goods in SKU_ATTR_REQUIRED_TYPES:
        raise ValidationError("sku_attr", f"is required for goods_type {goods} (号卡)", code="missing_field")
    return sku


def request_order_data(
    *,
    out_order_no: str,
    total_amount: int,
    sku_id: str,
    title: str,
    image_url: str,
    goods_type: int,
    tag_group_id: str,
    order_entry_path: str,
    order_entry_params: Mapping[str, object] | str | None = None,
    quantity: int = 1,
    price: int | None = None,
    currency: str | None = None,
    pay_expire_seconds: int | None = None,
    pay_notify_url: str | None = None,
    merchant_uid: str | None = None,
    limit_pay_way: Iterable[int] | None = None,
    sku_attr: Mapping[str, object] | str | None = None,
    entry_path: str | None = None,
    entry_params: Mapping[str, object] | str | None = None,
    promotion_id: str | None = None,
) -> str:
    """The ``data`` string for tt.requestOrder: validated, compact JSON, one SKU (trade-spec §3.2).

    Amounts are integer fen (diamonds when ``currency="DIAMOND"``); ``price`` defaults to
    ``total_amount // quantity`` and must multiply back to it. Mappings (``order_entry_params``,
    ``entry_params``, ``sku_attr``) are sent as the JSON strings the platform expects; a string is
    taken as already-serialised JSON object text. Raises :class:`ValidationError` naming the field.
    """
    total = rules.amount("total_amount", total_amount)
    count = rules.integer("quantity", quantity, 1, MAX_QUANTITY)
    if currency is not None and rules.currency("currency", currency) == "DIAMOND" and count != 1:
        # Diamond refunds cannot be split, so a diamond order holds one unit (§3.2, 2nd reading).
        raise ValidationError("quantity", 'must be 1 with currency "DIAMOND"', code="out_of_range")
    sku = _sku(
        sku_id=sku_id,
        price=_price(total, count, price),
        quantity=count,
        title=title,
        image_url=image_url,
        goods_type=goods_type,
        tag_group_id=tag_group_id,
        entry_path=entry_path,
        entry_params=entry_params,
        sku_attr=sku_attr,
    )
    data: dict[str, object] = {
        "skuList": [sku],
        "outOrderNo": rules.business_no("out_order_no", out_order_no),
        "totalAmount": total,
    }
    if currency is not None:
        data["currency"] = currency
    if pay_expire_seconds is not None:
        # 0 would mean "default 300 s" on the platform; say 300 instead of relying on that (§3.2).
        data["payExpireSeconds"] = rules.integer("pay_expire_seconds", pay_expire_seconds, 1, MAX_PAY_EXPIRE_SECONDS)
    if pay_notify_url is not None:
        data["payNotifyUrl"] = rules.https_url("pay_notify_url", pay_notify_url)
    if merchant_uid is not None:
        data["merchantUid"] = rules.business_no("merchant_uid", merchant_uid)
    data["orderEntrySchema"] = rules.schema("order_entry", order_entry_path, order_entry_params)
    if limit_pay_way is not None:
        data["limitPayWayList"] = _limit_pay_way(limit_pay_way)
    if promotion_id is not None:
        data["promotionId"] = rules.text("promotion_id", promotion_id)
    return rules.compact_json("data", data)


def sign_request_order(
    app_id: str,
    data: str,
    private_key_pem: str | bytes,
    key_version: str | int,
    *,
    timestamp: int | str | None = None,
    nonce: str | None = None,
) -> RequestOrderParams:
    """``data`` with its ``byteAuthorization``: the string returned is exactly the string signed."""
    authorization = byte_authorization(app_id, data, private_key_pem, key_version, timestamp=timestamp, nonce=nonce)
    return RequestOrderParams(data=data, byte_authorization=authorization)
