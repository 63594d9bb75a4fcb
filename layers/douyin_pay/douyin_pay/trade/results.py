"""Typed results of the trade_basic server APIs (trade-spec §4.3–§4.9).

Each result declares its wire shape on its fields (:func:`~douyin_pay._fields.wire`). Amounts must be
JSON integers (fen); big ids (``item_id`` is a 19-digit number, §9 pitfall 14) are kept as strings,
exactly, whether they arrive as strings or as JSON integers. An answer that cannot be read as
documented raises :class:`PlatformTransportError`: with err_no 0 but an unreadable body, the outcome
is unknown and the identical request may be repeated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from .. import _fields as read
from ..errors import PlatformTransportError
from .items import ItemRefund, item_refunds

PAY_CHANNELS = {1: "WECHAT", 2: "ALIPAY", 10: "DOUYIN_PAY", 20: "DIAMOND"}  # §1.1, §5.5

_str, _int, _amount = read.as_str, read.as_int, read.as_json_amount


def log_id_of(payload: Mapping[str, Any]) -> str | None:
    """The answer's ``log_id``: the platform support id, logged with every call (§4.1)."""
    log_id = payload.get("log_id")
    return log_id if isinstance(log_id, str) and log_id else None


def failing(payload: Mapping[str, Any]) -> read.Fail:
    log_id = log_id_of(payload)

    def fail(key: str, problem: str) -> NoReturn:
        raise PlatformTransportError(f"unexpected platform response: {key!r} {problem}", log_id=log_id)

    return fail


def _data(payload: Mapping[str, Any], fail: read.Fail) -> Mapping[str, Any]:
    if not isinstance(payload.get("data"), Mapping):
        fail("data", "is missing")
    return payload["data"]


def _objects(data: Mapping[str, Any], key: str, fail: read.Fail) -> list[Mapping[str, Any]]:
    items = read.as_list(data, key, fail)
    if not all(isinstance(item, Mapping) for item in items):
        fail(key, "must hold objects")
    return items


def _optional_str(data: Mapping[str, Any], key: str, fail: read.Fail) -> str | None:
    return read.as_str(data, key, fail) or None


@dataclass(frozen=True, kw_only=True)
class ItemOrder:
    """One item order of an order (``item_order_list[]``)."""

    item_order_id: str = read.wire("item_order_id", _str, required=True)
    sku_id: str = read.wire("sku_id", _str, default="")
    item_order_amount: int = read.wire("item_order_amount", _amount, required=True)


@dataclass(frozen=True, kw_only=True)
class TradeOrder:
    """order_query (§4.3). ``pay_status`` is as sent: PROCESS (not PROCESSING), SUCCESS, FAIL, TIMEOUT, INIT."""

    order_id: str = read.wire("order_id", _str, required=True)
    out_order_no: str = read.wire("out_order_no", _str, required=True)
    pay_status: str = read.wire("pay_status", _str, required=True)
    total_amount: int = read.wire("total_amount", _amount, required=True)
    discount_amount: int = read.wire("discount_amount", _amount, fallback=0, default=0)
    app_id: str = read.wire("app_id", _str, default="")
    pay_time: int | None = read.wire("pay_time", _int, default=None)  # ms; only when paid
    pay_channel: int | None = read.wire("pay_channel", read.as_way, default=None)  # only when paid
    channel_pay_id: str = read.wire("channel_pay_id", _str, default="")
    trade_time: int | None = read.wire("trade_time", _int, default=None)  # ms, order creation
    merchant_uid: str = read.wire("merchant_uid", _str, default="")
    item_order_list: tuple[ItemOrder, ...] = ()
    cp_extra: str = read.wire("cp_extra", _str, default="")
    currency: str | None = read.wire("currency", _optional_str, default=None)
    log_id: str | None = None

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> TradeOrder:
        fail = failing(payload)
        data = _data(payload, fail)
        items = tuple(read.build(ItemOrder, i, fail) for i in _objects(data, "item_order_list", fail))
        return read.build(cls, data, fail, item_order_list=items, log_id=log_id_of(payload))


@dataclass(frozen=True, kw_only=True)
class CpsItem:
    """One entry of ``cps_item_list`` (§4.4). ``commission_rate`` is per 10,000."""

    item_order_id: str = read.wire("item_order_id", _str, default="")
    sell_amount: int | None = read.wire("sell_amount", _amount, default=None)
    source_type: int | None = read.wire("source_type", _int, default=None)
    status: int | None = read.wire("status", _int, default=None)
    commission_amount: int | None = read.wire("commission_amount", _amount, default=None)
    commission_rate: int | None = read.wire("commission_rate", _int, default=None)
    commission_user_douyinid: str = read.wire("commission_user_douyinid", _str, default="")
    commission_user_nickname: str = read.wire("commission_user_nickname", _str, default="")
    task_id: str = read.wire("task_id", _str, default="")
    item_id: str = read.wire("item_id", _str, default="")  # a 19-digit number: kept as exact text


@dataclass(frozen=True, kw_only=True)
class CpsInfo:
    """query_cps (§4.4)."""

    order_id: str = read.wire("order_id", _str, default="")
    out_order_no: str = read.wire("out_order_no", _str, default="")
    total_commission_amount: int | None = read.wire("total_commission_amount", _amount, default=None)
    cps_item_list: tuple[CpsItem, ...] = ()
    log_id: str | None = None

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> CpsInfo:
        fail = failing(payload)
        data = _data(payload, fail)
        items = tuple(read.build(CpsItem, i, fail) for i in _objects(data, "cps_item_list", fail))
        return read.build(cls, data, fail, cps_item_list=items, log_id=log_id_of(payload))


@dataclass(frozen=True, kw_only=True)
class RefundCreated:
    """refund_create (§4.5): accepted only; the result comes by callback or refund_query."""

    refund_id: str = read.wire("refund_id", _str, required=True)
    refund_audit_deadline: int | None = read.wire("refund_audit_deadline", _int, default=None)  # ms
    log_id: str | None = None

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> RefundCreated:
        fail = failing(payload)
        return read.build(cls, _data(payload, fail), fail, log_id=log_id_of(payload))


@dataclass(frozen=True, kw_only=True)
class AuditDetail:
    """``merchant_audit_detail`` (§4.6). ``audit_status``: INIT, TOAUDIT, AGREE, DENY, OVERTIME."""

    audit_status: str = read.wire("audit_status", _str, default="")
    need_refund_audit: int | None = read.wire("need_refund_audit", _int, default=None)  # 1 needs, 2 not
    refund_audit_deadline: int | None = read.wire("refund_audit_deadline", _int, default=None)  # ms
    deny_message: str = read.wire("deny_message", _str, default="")


@dataclass(frozen=True, kw_only=True)
class TradeRefund:
    """One entry of refund_query's ``refund_list`` (§4.6). ``refund_status``: PROCESSING, SUCCESS, FAIL."""

    refund_id: str = read.wire("refund_id", _str, required=True)
    refund_status: str = read.wire("refund_status", _str, required=True)
    refund_total_amount: int = read.wire("refund_total_amount", _amount, required=True)
    out_refund_no: str = read.wire("out_refund_no", _str, default="")
    order_id: str = read.wire("order_id", _str, default="")
    item_order_detail: tuple[ItemRefund, ...] = read.wire("item_order_detail", item_refunds, default=())
    create_at: int | None = read.wire("create_at", _int, default=None)  # ms
    refund_at: int | None = read.wire("refund_at", _int, default=None)  # ms
    message: str = read.wire("message", _str, default="")
    refund_source: int | None = read.wire("refund_source", _int, default=None)
    merchant_audit_detail: AuditDetail | None = None
    currency: str | None = read.wire("currency", _optional_str, default=None)


def _refund(item: Mapping[str, Any], fail: read.Fail) -> TradeRefund:
    audit = read.as_mapping(item, "merchant_audit_detail", fail)
    detail = read.build(AuditDetail, audit, fail) if audit else None
    return read.build(TradeRefund, item, fail, merchant_audit_detail=detail)


def refunds_from_response(payload: Mapping[str, Any]) -> tuple[TradeRefund, ...]:
    """refund_query's ``data.refund_list`` (at most 50 for an order_id query); none is empty."""
    fail = failing(payload)
    return tuple(_refund(item, fail) for item in _objects(_data(payload, fail), "refund_list", fail))


@dataclass(frozen=True, kw_only=True)
class SettleCreated:
    """settle_create (§4.8): accepted; the result comes by callback or settle_query."""

    settle_id: str = read.wire("settle_id", _str, required=True)
    wallet_settle_id: str = read.wire("wallet_settle_id", _str, default="")
    log_id: str | None = None

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> SettleCreated:
        fail = failing(payload)
        return read.build(cls, _data(payload, fail), fail, log_id=log_id_of(payload))


def _aliased(alias: str) -> read.Reader:
    """A string read from its documented key, or else from the name one peer uses (§4.9 [?])."""

    def reader(data: Mapping[str, Any], key: str, fail: read.Fail) -> str:
        return read.as_str(data, key, fail) or read.as_str(data, alias, fail)

    return reader


@dataclass(frozen=True, kw_only=True)
class TradeSettlement:
    """One entry of settle_query's ``data`` array (§4.9). ``settle_status``: INIT, PROCESSING, SUCCESS, FAIL."""

    settle_id: str = read.wire("settle_id", _str, required=True)
    settle_status: str = read.wire("settle_status", _str, required=True)
    out_settle_no: str = read.wire("out_settle_no", _aliased("out_settle_id"), default="")
    order_id: str = read.wire("order_id", _str, default="")
    out_order_no: str = read.wire("out_order_no", _aliased("out_order_id"), default="")
    item_order_id: str = read.wire("item_order_id", _str, default="")
    settle_amount: int | None = read.wire("settle_amount", _amount, default=None)
    rake: int | None = read.wire("rake", _amount, default=None)
    commission: int | None = read.wire("commission", _amount, default=None)
    platform_ticket: int | None = read.wire("platform_ticket", _amount, default=None)
    settle_at: int | None = read.wire("settle_at", _int, default=None)  # ms
    settle_detail: str = read.wire("settle_detail", _str, default="")
    cp_extra: str = read.wire("cp_extra", _str, default="")  # settle_create's `ext`


def settlements_from_response(payload: Mapping[str, Any]) -> tuple[TradeSettlement, ...]:
    """settle_query's ``data``: an array (§4.9); null or absent is no settlement."""
    fail = failing(payload)
    return tuple(read.build(TradeSettlement, item, fail) for item in _objects(payload, "data", fail))
