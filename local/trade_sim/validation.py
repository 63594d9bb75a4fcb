"""Field rules the way the platform applies them (trade-spec §3.2, §4.5–4.9).

Each helper reads one field and either returns a typed value or raises :class:`Refusal` with a
message that names the field and the rule, so a developer can fix the request from the answer
alone. Numbers must be JSON integers (the Go platform decodes into int64: no strings, no floats,
no booleans); strings must be JSON strings; unknown fields are ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ERR_PARAM = 10000  # "参数错误", the documented parameter error (§3.1, §4.2)


class Refusal(Exception):
    """The platform refuses: ``err_no`` with ``err_msg``."""

    def __init__(self, err_no: int, err_msg: str) -> None:
        super().__init__(f"{err_no}: {err_msg}")
        self.err_no = err_no
        self.err_msg = err_msg


def param_error(field: str, rule: str) -> Refusal:
    return Refusal(ERR_PARAM, f"参数错误 invalid parameter {field}: {rule}")


def _nbytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def is_int(value: object) -> bool:
    return type(value) is int  # bool is an int subclass; JSON true is no number


def string(
    body: Mapping[str, Any], field: str, *, required: bool, max_bytes: int | None = None, where: str = ""
) -> str:
    name = where + field
    value = body.get(field)
    if value is None or value == "":
        if required:
            raise param_error(name, "required")
        return ""
    if not isinstance(value, str):
        raise param_error(name, "must be a string")
    if max_bytes is not None and _nbytes(value) > max_bytes:
        raise param_error(name, f"at most {max_bytes} bytes (UTF-8)")
    return value


def integer(body: Mapping[str, Any], field: str, *, required: bool, minimum: int | None = None, where: str = "") -> int:
    name = where + field
    value = body.get(field)
    if value is None:
        if required:
            raise param_error(name, "required")
        return 0
    if not is_int(value):
        raise param_error(name, "must be a JSON integer (not a string, float or bool)")
    if minimum is not None and value < minimum:
        raise param_error(name, f"must be >= {minimum}")
    return value


def https_url(body: Mapping[str, Any], field: str, *, where: str = "") -> str:
    value = string(body, field, required=False, max_bytes=512, where=where)
    if value and not re.fullmatch(r"https://[^\s/?#]+[^\s]*", value):
        raise param_error(where + field, "must be an https:// URL")
    return value


# ---------------------------------------------------------------------------- Schema (§3.2)

_PATH = re.compile(r"[A-Za-z0-9_/]+")


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("a key repeats")
    return dict(pairs)


def schema(value: object, where: str, *, required: bool) -> dict[str, str] | None:
    """``{path, params}``: path is a page path of letters, digits, ``_`` and ``/`` (no leading
    ``/``, no query string, ≤512 bytes); params is a *string* holding a JSON object (≤512 bytes,
    no repeated keys)."""
    if value is None:
        if required:
            raise param_error(where, "required")
        return None
    if not isinstance(value, dict):
        raise param_error(where, "must be an object {path, params}")
    path = string(value, "path", required=True, max_bytes=512, where=where + ".")
    if not _PATH.fullmatch(path) or path.startswith("/"):
        raise param_error(
            where + ".path", "a page path of letters, digits, _ and /, without a leading / or ? : & * (no query)"
        )
    out = {"path": path}
    params = value.get("params")
    if params is not None:
        if not isinstance(params, str):
            raise param_error(where + ".params", "must be a STRING holding a JSON object (not an object)")
        if _nbytes(params) > 512:
            raise param_error(where + ".params", "at most 512 bytes")
        try:
            parsed = json.loads(params, object_pairs_hook=_no_repeated_keys)
        except ValueError as exc:
            raise param_error(where + ".params", f"must hold a JSON object ({exc})") from None
        if not isinstance(parsed, dict):
            raise param_error(where + ".params", "must hold a JSON object")
        out["params"] = params
    return out


# ---------------------------------------------------------------------------- tt.requestOrder data

PAY_CHANNELS = (1, 2, 10)  # WeChat, Alipay, Douyin Pay
DIAMOND_CHANNEL = 20
CURRENCIES = ("CNY", "DIAMOND")
PAY_EXPIRE_DEFAULT, PAY_EXPIRE_MAX = 300, 172_800
# 号卡 goods types whose skuAttr is required (OD-RODS).
SKU_ATTR_TYPES = frozenset(range(101, 108))


@dataclass(frozen=True)
class Sku:
    sku_id: str
    price: int
    quantity: int
    title: str
    image: str
    type: int
    tag_group_id: str
    sku_attr: str
    entry_schema: dict[str, str] | None


@dataclass(frozen=True)
class OrderData:
    out_order_no: str
    total_amount: int
    currency: str
    pay_expire_seconds: int
    pay_notify_url: str
    merchant_uid: str
    order_entry_schema: dict[str, str]
    limit_pay_way_list: tuple[int, ...]
    sku: Sku


def parse_order_data(data: str, client_platform: str) -> OrderData:
    """The ``data`` string of tt.requestOrder, checked field by field (errNo 10000 on a failure)."""
    try:
        body = json.loads(data)
    except ValueError:
        raise param_error("data", "is not JSON") from None
    if not isinstance(body, dict):
        raise param_error("data", "must be a JSON object")
    sku = _sku_list(body.get("skuList"))
    currency = body.get("currency", "CNY")
    if currency not in CURRENCIES:
        raise param_error("currency", f"must be one of {CURRENCIES}")
    if client_platform == "ios" and currency != "DIAMOND":
        raise param_error("currency", 'iOS must send currency="DIAMOND" (amounts in diamonds)')
    if currency == "DIAMOND" and sku.quantity != 1:
        raise param_error("skuList[0].quantity", 'must be 1 with currency="DIAMOND" (diamond refunds cannot be split)')
    total = integer(body, "totalAmount", required=True, minimum=1)
    promotion_id = string(body, "promotionId", required=False)
    gross = sku.price * sku.quantity
    # [I] totalAmount is price × quantity, or less when a merchant promotion (promotionId) applies.
    if total != gross and not (promotion_id and total < gross):
        raise param_error("totalAmount", f"must equal price × quantity = {gross}")
    expire = integer(body, "payExpireSeconds", required=False, minimum=0) or PAY_EXPIRE_DEFAULT
    if expire > PAY_EXPIRE_MAX:
        raise param_error("payExpireSeconds", f"at most {PAY_EXPIRE_MAX} (48 h)")
    return OrderData(
        out_order_no=string(body, "outOrderNo", required=True, max_bytes=64),
        total_amount=total,
        currency=currency,
        pay_expire_seconds=expire,
        pay_notify_url=https_url(body, "payNotifyUrl"),
        merchant_uid=string(body, "merchantUid", required=False, max_bytes=64),
        order_entry_schema=schema(body.get("orderEntrySchema"), "orderEntrySchema", required=True) or {},
        limit_pay_way_list=_limit_pay_ways(body.get("limitPayWayList")),
        sku=sku,
    )


def _sku_list(value: object) -> Sku:
    if not isinstance(value, list) or not value:
        raise param_error("skuList", "required, a list")
    if len(value) != 1:
        raise param_error("skuList", "exactly one item is supported (目前只支持传入一项)")
    item = value[0]
    where = "skuList[0]."
    if not isinstance(item, dict):
        raise param_error("skuList[0]", "must be an object")
    quantity = integer(item, "quantity", required=True, where=where)
    if not 0 < quantity <= 100:
        raise param_error(where + "quantity", "must be in (0, 100]")
    images = item.get("imageList")
    if not isinstance(images, list) or len(images) != 1:
        raise param_error(where + "imageList", "exactly one image URL is supported")
    image = string({"imageList[0]": images[0]}, "imageList[0]", required=True, max_bytes=512, where=where)
    goods_type = integer(item, "type", required=True, minimum=1, where=where)
    sku_attr = string(item, "skuAttr", required=goods_type in SKU_ATTR_TYPES, where=where)
    if goods_type in SKU_ATTR_TYPES:
        try:
            attrs = json.loads(sku_attr)
        except ValueError:
            attrs = None
        if not isinstance(attrs, dict):
            raise param_error(where + "skuAttr", "must be a string holding a JSON object (号卡 types 101–107)")
    return Sku(
        sku_id=string(item, "skuId", required=True, max_bytes=64, where=where),
        price=integer(item, "price", required=True, minimum=1, where=where),
        quantity=quantity,
        title=string(item, "title", required=True, max_bytes=256, where=where),
        image=image,
        type=goods_type,
        tag_group_id=string(item, "tagGroupId", required=True, where=where),
        sku_attr=sku_attr,
        entry_schema=schema(item.get("entrySchema"), where + "entrySchema", required=False),
    )


def _limit_pay_ways(value: object) -> tuple[int, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(is_int(v) and v in PAY_CHANNELS for v in value):
        raise param_error("limitPayWayList", f"must be a list of channel numbers in {PAY_CHANNELS}")
    return tuple(value)


# ---------------------------------------------------------------------------- server APIs

REFUND_REASON_CODES = frozenset({101, 102, 103, 999})


def refund_reasons(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``refund_reason``: 1–10 objects ``{code ∈ {101,102,103,999}, text < 50 characters}``."""
    value = body.get("refund_reason")
    if not isinstance(value, list) or not value:
        raise param_error("refund_reason", "required, a list of {code, text} objects")
    if len(value) > 10:
        raise param_error("refund_reason", "at most 10 entries")
    out = []
    for i, item in enumerate(value):
        where = f"refund_reason[{i}]."
        if not isinstance(item, dict):
            raise param_error(f"refund_reason[{i}]", "must be an object {code, text} (not a string)")
        code = integer(item, "code", required=True, where=where)
        if code not in REFUND_REASON_CODES:
            raise param_error(where + "code", f"must be one of {sorted(REFUND_REASON_CODES)}")
        text = item.get("text")
        if not isinstance(text, str):
            raise param_error(where + "text", "required string")
        if len(text) >= 50:
            raise param_error(where + "text", "fewer than 50 characters")
        out.append({"code": code, "text": text})
    return out


def item_order_detail(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    value = body.get("item_order_detail")
    if not isinstance(value, list) or not value:
        raise param_error("item_order_detail", "required unless refund_all is true")
    if len(value) >= 100:
        raise param_error("item_order_detail", "fewer than 100 entries")
    out = []
    for i, item in enumerate(value):
        where = f"item_order_detail[{i}]."
        if not isinstance(item, dict):
            raise param_error(f"item_order_detail[{i}]", "must be an object {item_order_id, refund_amount}")
        out.append(
            {
                "item_order_id": string(item, "item_order_id", required=True, max_bytes=64, where=where),
                "refund_amount": integer(item, "refund_amount", required=True, minimum=1, where=where),
            }
        )
    return out


@dataclass(frozen=True)
class Payee:
    merchant_uid: str
    amount: int


def settle_params(body: Mapping[str, Any]) -> tuple[Payee, ...]:
    """§4.8: a JSON **string** (≤512 bytes) of ``[{merchant_uid, amount}]``."""
    raw = body.get("settle_params")
    if raw is None or raw == "":
        return ()
    if not isinstance(raw, str):
        raise param_error("settle_params", "must be a STRING holding a JSON array (not a JSON array)")
    if _nbytes(raw) > 512:
        raise param_error("settle_params", "at most 512 bytes")
    try:
        items = json.loads(raw)
    except ValueError:
        raise param_error("settle_params", "is not valid JSON") from None
    if not isinstance(items, list):
        raise param_error("settle_params", "must hold a JSON array")
    payees = []
    for i, item in enumerate(items):
        where = f"settle_params[{i}]."
        if not isinstance(item, dict):
            raise param_error(f"settle_params[{i}]", "must be an object {merchant_uid, amount}")
        uid = string(item, "merchant_uid", required=True, max_bytes=64, where=where)
        payees.append(Payee(uid, integer(item, "amount", required=True, minimum=1, where=where)))
    if len({p.merchant_uid for p in payees}) != len(payees):
        raise param_error("settle_params", "a merchant_uid appears twice")
    return tuple(payees)


def one_of(body: Mapping[str, Any], fields: tuple[str, ...], *, exactly: bool) -> tuple[str, str]:
    """(field, value) of the identifying field sent. With ``exactly``, sending two is refused;
    otherwise the first in ``fields`` wins (the documented priority)."""
    sent = [(f, string(body, f, required=False, max_bytes=64)) for f in fields]
    sent = [(f, v) for f, v in sent if v]
    if not sent:
        raise param_error("/".join(fields), "one of them is required")
    if exactly and len(sent) > 1:
        raise param_error("/".join(fields), "send exactly one of them")
    return sent[0]
