"""The validated bodies of refund_create and settle_create (trade-spec §4.5, §4.8).

:func:`refund_fields` and :func:`settle_fields` take Python values and return the wire dict (only set
fields; nested JSON-string fields already serialised). :func:`check_refund_fields` and
:func:`check_settle_fields` validate such a wire dict: the builders end with them, and the client
runs them again on whatever dict it is given. That second check is deliberate: the bundle records
the fields before sending and may send them later from storage, where a number can come back as a
Decimal or a key can go missing; the client refuses such a dict before any byte is sent instead of
letting the platform spend the business number on it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ValidationError
from . import validation as rules

REFUND_REASON_CODES = frozenset({101, 102, 103, 999})  # 不想要了, 商家服务原因, 商品质量问题, 其他 (§4.5)
MAX_REFUND_REASONS = 10
MAX_REASON_TEXT_CHARS = 49  # "text <50 chars"
MAX_ITEM_ORDER_DETAIL = 99  # "<100 entries"
MAX_SETTLE_PARAMS_BYTES = 512  # §4.8 [S]

_REFUND_KEYS = (
    "order_id",
    "out_refund_no",
    "refund_total_amount",
    "refund_reason",
    "order_entry_schema",
    "cp_extra",
    "notify_url",
    "refund_all",
    "item_order_detail",
    "currency",
)
_SETTLE_KEYS = ("out_order_no", "out_settle_no", "settle_desc", "settle_params", "item_order_id", "ext", "notify_url")


def _pick(field: str, item: object, names: tuple[str, ...]) -> dict[str, object]:
    """``names`` of a mapping (exactly those keys: a misspelt one must not vanish) or of an object
    (a dataclass such as :class:`~douyin_pay.trade.ItemRefund`)."""
    if isinstance(item, Mapping):
        _exact_keys(field, item, set(names))
        return {name: item[name] for name in names}
    return {name: getattr(item, name, None) for name in names}


def _list(field: str, value: object, low: int, high: int | None = None) -> Sequence[object]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise ValidationError(field, "must be a list", code="invalid_list")
    if len(value) < low or (high is not None and len(value) > high):
        limits = f"{low} to {high}" if high is not None else f"at least {low}"
        raise ValidationError(field, f"must have {limits} entries", code="invalid_list")
    return value


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"repeated key {key!r}")
        result[key] = value
    return result


def _exact_keys(field: str, item: object, keys: set[str]) -> Mapping[str, Any]:
    if not isinstance(item, Mapping) or set(item) != keys:
        raise ValidationError(field, f"must be an object with keys {sorted(keys)}", code="invalid_object")
    return item


def _known(fields: Mapping[str, object], allowed: Sequence[str], endpoint: str) -> None:
    if not isinstance(fields, Mapping):
        raise ValidationError(endpoint, "fields must be a mapping", code="invalid_object")
    for key in fields:
        if key not in allowed:
            raise ValidationError(str(key), f"is not a {endpoint} field", code="unknown_field")


def _refund_reasons(value: object) -> list[dict[str, object]]:
    reasons = []
    for i, entry in enumerate(_list("refund_reason", value, 1, MAX_REFUND_REASONS)):
        where = f"refund_reason[{i}]"
        item = _exact_keys(where, entry, {"code", "text"})
        code = item["code"]
        if type(code) is not int or code not in REFUND_REASON_CODES:  # 101.0 == 101: refused too
            raise ValidationError(f"{where}.code", f"must be one of {sorted(REFUND_REASON_CODES)}", code="invalid_code")
        text = rules.optional_text(f"{where}.text", item["text"], max_chars=MAX_REASON_TEXT_CHARS)
        reasons.append({"code": code, "text": text})
    return reasons


def _item_order_detail(value: object) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    seen: set[str] = set()
    for i, entry in enumerate(_list("item_order_detail", value, 1, MAX_ITEM_ORDER_DETAIL)):
        where = f"item_order_detail[{i}]"
        item = _exact_keys(where, entry, {"item_order_id", "refund_amount"})
        item_id = rules.business_no(f"{where}.item_order_id", item["item_order_id"])
        if item_id in seen:
            raise ValidationError(f"{where}.item_order_id", "appears twice", code="duplicate_item")
        seen.add(item_id)
        items.append(
            {"item_order_id": item_id, "refund_amount": rules.amount(f"{where}.refund_amount", item["refund_amount"])}
        )
    return items


def check_refund_fields(fields: Mapping[str, object]) -> dict[str, object]:
    """A refund_create wire dict, checked; returned as a new dict in the documented order."""
    _known(fields, _REFUND_KEYS, "refund_create")
    for key in _REFUND_KEYS[:5]:
        if fields.get(key) is None:
            raise ValidationError(key, "is required", code="missing_field")
    schema = _exact_keys("order_entry_schema", fields["order_entry_schema"], {"path", "params"})
    if not isinstance(schema["params"], str):
        raise ValidationError("order_entry_schema.params", "must be a JSON object string", code="invalid_json")
    checks = {
        "order_id": lambda v: rules.business_no("order_id", v),  # the platform's id, not out_order_no (§9 pitfall 7)
        "out_refund_no": lambda v: rules.business_no("out_refund_no", v),
        "refund_total_amount": lambda v: rules.amount("refund_total_amount", v),
        "refund_reason": _refund_reasons,
        "order_entry_schema": lambda v: rules.schema("order_entry_schema", v["path"], v["params"]),
        "cp_extra": lambda v: rules.optional_text("cp_extra", v, max_bytes=rules.MAX_CP_EXTRA_BYTES),
        "notify_url": lambda v: rules.https_url("notify_url", v),
        "refund_all": lambda v: rules.flag("refund_all", v),
        "item_order_detail": _item_order_detail,
        "currency": lambda v: rules.currency("currency", v),
    }
    result = {key: checks[key](fields[key]) for key in _REFUND_KEYS if fields.get(key) is not None}
    if result.get("refund_all") is True and "item_order_detail" in result:
        # refund_all refunds what was paid; an item breakdown beside it contradicts it (§4.5).
        raise ValidationError("refund_all", "must not be combined with item_order_detail", code="conflicting_fields")
    return result


def refund_fields(
    *,
    order_id: str,
    out_refund_no: str,
    refund_total_amount: int,
    refund_reason: Sequence[Mapping[str, object]],
    order_entry_path: str,
    order_entry_params: Mapping[str, object] | str | None = None,
    cp_extra: str | None = None,
    notify_url: str | None = None,
    refund_all: bool | None = None,
    item_order_detail: Sequence[Mapping[str, object] | object] | None = None,
    currency: str | None = None,
) -> dict[str, object]:
    """Validated refund_create fields (trade-spec §4.5); unset ones are left out.

    ``refund_reason`` is a list of ``{"code": 101|102|103|999, "text": "…"}`` (1–10);
    ``item_order_detail`` a list of ``{"item_order_id", "refund_amount"}`` (or :class:`ItemRefund`).
    Whether item_order_detail is required when ``refund_all`` is not true is single-sourced (§4.5
    [S]); it is not required here, and the platform's answer decides.
    """
    wire: dict[str, object] = {
        "order_id": order_id,
        "out_refund_no": out_refund_no,
        "refund_total_amount": refund_total_amount,
        "refund_reason": refund_reason,
        "order_entry_schema": rules.schema("order_entry_schema", order_entry_path, order_entry_params),
        "cp_extra": cp_extra,
        "notify_url": notify_url,
        "refund_all": refund_all,
        "currency": currency,
    }
    if item_order_detail is not None:
        entries = _list("item_order_detail", item_order_detail, 1, MAX_ITEM_ORDER_DETAIL)
        names = ("item_order_id", "refund_amount")
        wire["item_order_detail"] = [_pick(f"item_order_detail[{i}]", e, names) for i, e in enumerate(entries)]
    return check_refund_fields(wire)


def _settle_params_text(text: str) -> str:
    """The payees' JSON string (§9 pitfall 11), each payee checked; sent exactly as given."""
    rules.optional_text("settle_params", text, max_bytes=MAX_SETTLE_PARAMS_BYTES)
    try:
        payees = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except (ValueError, RecursionError):
        raise ValidationError("settle_params", "must be a JSON list of payees", code="invalid_json") from None
    seen: set[str] = set()
    for i, entry in enumerate(_list("settle_params", payees, 1)):
        where = f"settle_params[{i}]"
        item = _exact_keys(where, entry, {"merchant_uid", "amount"})
        uid = rules.business_no(f"{where}.merchant_uid", item["merchant_uid"])
        if uid in seen:
            raise ValidationError(f"{where}.merchant_uid", "appears twice", code="duplicate_payee")
        seen.add(uid)
        rules.amount(f"{where}.amount", item["amount"])
    return text


def check_settle_fields(fields: Mapping[str, object]) -> dict[str, object]:
    """A settle_create wire dict, checked; returned as a new dict in the documented order."""
    _known(fields, _SETTLE_KEYS, "settle_create")
    for key in _SETTLE_KEYS[:3]:
        if fields.get(key) is None:
            raise ValidationError(key, "is required", code="missing_field")
    if fields.get("settle_params") is not None and not isinstance(fields["settle_params"], str):
        raise ValidationError("settle_params", "must be the JSON string of the payees", code="invalid_json")
    checks = {
        "out_order_no": lambda v: rules.business_no("out_order_no", v),
        "out_settle_no": lambda v: rules.business_no("out_settle_no", v),
        "settle_desc": lambda v: rules.text("settle_desc", v),
        "settle_params": _settle_params_text,
        "item_order_id": lambda v: rules.business_no("item_order_id", v),
        "ext": lambda v: rules.optional_text("ext", v, max_bytes=rules.MAX_CP_EXTRA_BYTES),
        "notify_url": lambda v: rules.https_url("notify_url", v),
    }
    return {key: checks[key](fields[key]) for key in _SETTLE_KEYS if fields.get(key) is not None}


def settle_fields(
    *,
    out_order_no: str,
    out_settle_no: str,
    settle_desc: str,
    settle_params: Sequence[Mapping[str, object] | object] | None = None,
    item_order_id: str | None = None,
    ext: str | None = None,
    notify_url: str | None = None,
) -> dict[str, object]:
    """Validated settle_create fields (trade-spec §4.8); unset ones are left out.

    ``settle_params`` lists third-party payees ``{"merchant_uid": str, "amount": fen > 0}``; it is
    sent as one compact JSON *string* of at most 512 bytes. ``ext`` (≤2048 bytes) comes back as
    ``cp_extra`` in settle_query.
    """
    payees = None
    if settle_params is not None:
        entries = _list("settle_params", settle_params, 1)
        payees = rules.compact_json(
            "settle_params",
            [_pick(f"settle_params[{i}]", e, ("merchant_uid", "amount")) for i, e in enumerate(entries)],
        )
    wire = {
        "out_order_no": out_order_no,
        "out_settle_no": out_settle_no,
        "settle_desc": settle_desc,
        "settle_params": payees,
        "item_order_id": item_order_id,
        "ext": ext,
        "notify_url": notify_url,
    }
    return check_settle_fields(wire)
