"""Typed results of the platform API, hiding its response quirks (ecpay-spec §3, §8.9).

``create_order`` wraps its payload in ``data``, ``query_refund`` uses camelCase ``refundInfo``,
``query_settle`` nests ``settle_info`` and ``way`` is a number here but a string in callbacks;
callers see one shape per result, amounts as int fen and ``way`` as an int (or ``None`` if unpaid).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from .. import _fields as read
from ..errors import PlatformTransportError
from .cps import CpsInfo, cps_mapping
from .settlements import PlatformSettlement, read_settlement

PAY_WAYS = {1: "WECHAT", 2: "ALIPAY", 3: "BANK_CARD", 10: "DOUYIN_PAY"}


def _unexpected(key: str, problem: str) -> NoReturn:
    # A 200 answer we cannot read leaves the outcome unknown: retry the identical request.
    raise PlatformTransportError(f"unexpected platform response: {key!r} {problem}")


# Each result declares its wire shape on its fields (:func:`~douyin_pay._fields.wire`); the
# classmethods only say where in the answer the object sits.
_str, _amount, _int = read.as_str, read.as_amount, read.as_int


def _section(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """A nested object the answer must have."""
    section = read.as_mapping(payload, key, _unexpected)
    if not section:
        _unexpected(key, "is missing")
    return section


@dataclass(frozen=True)
class CreateOrderResult:
    """What the mini-program passes to ``tt.pay``."""

    order_id: str = read.wire("order_id", _str, required=True)
    order_token: str = read.wire("order_token", _str, required=True)

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> CreateOrderResult:
        return read.build(cls, read.as_mapping(payload, "data", _unexpected), _unexpected)


@dataclass(frozen=True)
class PaymentInfo:
    """query_order's ``payment_info``: the payment's state and how it was paid (fen)."""

    total_fee: int = read.wire("total_fee", _amount, required=True)
    order_status: str = read.wire("order_status", _str, required=True)  # SUCCESS / TIMEOUT / PROCESSING / FAIL
    pay_time: str = read.wire("pay_time", _str)
    way: int | None = read.wire("way", read.as_way)
    channel_no: str = read.wire("channel_no", _str)
    channel_gateway_no: str = read.wire("channel_gateway_no", _str)
    seller_uid: str = read.wire("seller_uid", _str)
    item_id: str = read.wire("item_id", _str)
    cp_extra: str = read.wire("cp_extra", _str)


@dataclass(frozen=True)
class OrderQueryResult:
    """query_order's answer: the order, its payment and its CPS data."""

    out_order_no: str = read.wire("out_order_no", _str)
    order_id: str = read.wire("order_id", _str)
    payment: PaymentInfo
    cps_info: CpsInfo | None = None

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> OrderQueryResult:
        info = _section(payload, "payment_info")
        # The docs disagree on where cps_info sits (ecpay-spec §3.2), and one SDK types it as JSON
        # text: accept either place and either form.
        cps = cps_mapping(payload.get("cps_info")) or cps_mapping(info.get("cps_info"))
        return read.build(
            cls,
            payload,
            _unexpected,
            payment=read.build(PaymentInfo, info, _unexpected),
            cps_info=read.build(CpsInfo, cps, _unexpected) if cps else None,
        )


@dataclass(frozen=True)
class RefundResult:
    """create_refund's answer: the platform's refund number."""

    refund_no: str = read.wire("refund_no", _str)

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> RefundResult:
        return read.build(cls, payload, _unexpected)


@dataclass(frozen=True)
class RefundQueryResult:
    """query_refund's answer: the refund's state (fen)."""

    refund_no: str = read.wire("refund_no", _str)
    refund_amount: int = read.wire("refund_amount", _amount, required=True)
    refund_status: str = read.wire("refund_status", _str, required=True)  # SUCCESS / FAIL / PROCESSING
    refunded_at: int | None = read.wire("refunded_at", _int)
    is_all_settled: bool | None = read.wire("is_all_settled", read.as_bool)
    cp_extra: str = read.wire("cp_extra", _str)
    msg: str = read.wire("msg", _str)

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> RefundQueryResult:
        return read.build(cls, _section(payload, "refundInfo"), _unexpected)


@dataclass(frozen=True)
class SettleResult:
    """settle's answer: the platform's settlement number."""

    settle_no: str = read.wire("settle_no", _str)

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> SettleResult:
        return read.build(cls, payload, _unexpected)


@dataclass(frozen=True)
class SettleQueryResult:
    """query_settle's answer: the settlement's state (fen)."""

    settle_no: str = read.wire("settle_no", _str)
    settle_amount: int | None = read.wire("settle_amount", _amount)
    settle_status: str = read.wire("settle_status", _str, required=True)  # SUCCESS / FAIL / PROCESSING
    settle_detail: str = read.wire("settle_detail", _str)
    settled_at: int | None = read.wire("settled_at", _int)
    rake: int | None = read.wire("rake", _amount)
    commission: int | None = read.wire("commission", _amount)
    cp_extra: str = read.wire("cp_extra", _str)
    msg: str = read.wire("msg", _str)

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> SettleQueryResult:
        return read.build(cls, _section(payload, "settle_info"), _unexpected)


@dataclass(frozen=True)
class ReturnInfo:
    """分账回退 (create_return / query_return)."""

    return_no: str = read.wire("return_no", _str)
    out_return_no: str = read.wire("out_return_no", _str)
    settle_no: str = read.wire("settle_no", _str)
    out_settle_no: str = read.wire("out_settle_no", _str)
    merchant_uid: str = read.wire("merchant_uid", _str)
    return_amount: int | None = read.wire("return_amount", _amount)
    return_status: str = read.wire("return_status", _str)
    fail_reason: str = read.wire("fail_reason", _str)
    finish_time: int | None = read.wire("finish_time", _int)
    cp_extra: str = read.wire("cp_extra", _str)

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> ReturnInfo:
        return read.build(cls, read.as_mapping(payload, "return_info", _unexpected), _unexpected)


@dataclass(frozen=True)
class UnsettleAmountResult:
    """可分账余额: what is still settleable on an order, with the raw breakdown."""

    out_order_no: str = read.wire("out_order_no", _str)
    unsettle_amount: int = read.wire("unsettle_amount", _amount, required=True)
    detail: Mapping[str, Any] = read.wire("detail", read.as_mapping)

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> UnsettleAmountResult:
        return read.build(cls, read.as_mapping(payload, "data", _unexpected), _unexpected)


@dataclass(frozen=True)
class PlatformOrderResult:
    """Settlements the platform made or recorded for an order (incl. automatic ones)."""

    settlements: tuple[PlatformSettlement, ...]

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> PlatformOrderResult:
        order = read.as_mapping(payload, "platform_order", _unexpected)
        settlements = read.as_list(order, "settle_info_list", _unexpected)
        return cls(settlements=tuple(read_settlement(i, "settle_param_list", _unexpected) for i in settlements))
