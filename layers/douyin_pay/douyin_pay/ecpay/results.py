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
from .settlements import PlatformSettlement, read_settlement

PAY_WAYS = {1: "WECHAT", 2: "ALIPAY", 3: "BANK_CARD", 10: "DOUYIN_PAY"}


def _unexpected(key: str, problem: str) -> NoReturn:
    # A 200 answer we cannot read leaves the outcome unknown: retry the identical request.
    raise PlatformTransportError(f"unexpected platform response: {key!r} {problem}")


@dataclass(frozen=True)
class CreateOrderResult:
    """What the mini-program passes to ``tt.pay``."""

    order_id: str
    order_token: str

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> CreateOrderResult:
        data = read.as_mapping(payload, "data", _unexpected)
        return cls(
            order_id=read.as_str(data, "order_id", _unexpected, required=True),
            order_token=read.as_str(data, "order_token", _unexpected, required=True),
        )


@dataclass(frozen=True)
class CpsInfo:
    share_amount: int | None
    douyin_id: str
    nickname: str


@dataclass(frozen=True)
class PaymentInfo:
    total_fee: int
    order_status: str  # SUCCESS / TIMEOUT / PROCESSING / FAIL
    pay_time: str
    way: int | None
    channel_no: str
    channel_gateway_no: str
    seller_uid: str
    item_id: str
    cp_extra: str


@dataclass(frozen=True)
class OrderQueryResult:
    out_order_no: str
    order_id: str
    payment: PaymentInfo
    cps_info: CpsInfo | None

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> OrderQueryResult:
        info = read.as_mapping(payload, "payment_info", _unexpected)
        if not info:
            _unexpected("payment_info", "is missing")
        # The docs disagree on where cps_info sits (ecpay-spec §3.2); accept either place.
        cps = read.as_mapping(payload, "cps_info", _unexpected) or read.as_mapping(info, "cps_info", _unexpected)
        return cls(
            out_order_no=read.as_str(payload, "out_order_no", _unexpected),
            order_id=read.as_str(payload, "order_id", _unexpected),
            payment=PaymentInfo(
                total_fee=read.as_amount(info, "total_fee", _unexpected, required=True),
                order_status=read.as_str(info, "order_status", _unexpected, required=True),
                pay_time=read.as_str(info, "pay_time", _unexpected),
                way=read.as_way(info, "way", _unexpected),
                channel_no=read.as_str(info, "channel_no", _unexpected),
                channel_gateway_no=read.as_str(info, "channel_gateway_no", _unexpected),
                seller_uid=read.as_str(info, "seller_uid", _unexpected),
                item_id=read.as_str(info, "item_id", _unexpected),
                cp_extra=read.as_str(info, "cp_extra", _unexpected),
            ),
            cps_info=CpsInfo(
                share_amount=read.as_amount(cps, "share_amount", _unexpected),
                douyin_id=read.as_str(cps, "douyin_id", _unexpected),
                nickname=read.as_str(cps, "nickname", _unexpected),
            )
            if cps
            else None,
        )


@dataclass(frozen=True)
class RefundResult:
    refund_no: str

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> RefundResult:
        return cls(refund_no=read.as_str(payload, "refund_no", _unexpected))


@dataclass(frozen=True)
class RefundQueryResult:
    refund_no: str
    refund_amount: int
    refund_status: str  # SUCCESS / FAIL / PROCESSING
    refunded_at: int | None
    is_all_settled: bool | None
    cp_extra: str
    msg: str

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> RefundQueryResult:
        info = read.as_mapping(payload, "refundInfo", _unexpected)
        if not info:
            _unexpected("refundInfo", "is missing")
        return cls(
            refund_no=read.as_str(info, "refund_no", _unexpected),
            refund_amount=read.as_amount(info, "refund_amount", _unexpected, required=True),
            refund_status=read.as_str(info, "refund_status", _unexpected, required=True),
            refunded_at=read.as_int(info, "refunded_at", _unexpected),
            is_all_settled=read.as_bool(info, "is_all_settled", _unexpected),
            cp_extra=read.as_str(info, "cp_extra", _unexpected),
            msg=read.as_str(info, "msg", _unexpected),
        )


@dataclass(frozen=True)
class SettleResult:
    settle_no: str

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> SettleResult:
        return cls(settle_no=read.as_str(payload, "settle_no", _unexpected))


@dataclass(frozen=True)
class SettleQueryResult:
    settle_no: str
    settle_amount: int | None
    settle_status: str  # SUCCESS / FAIL / PROCESSING
    settle_detail: str
    settled_at: int | None
    rake: int | None
    commission: int | None
    cp_extra: str
    msg: str

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> SettleQueryResult:
        info = read.as_mapping(payload, "settle_info", _unexpected)
        if not info:
            _unexpected("settle_info", "is missing")
        return cls(
            settle_no=read.as_str(info, "settle_no", _unexpected),
            settle_amount=read.as_amount(info, "settle_amount", _unexpected),
            settle_status=read.as_str(info, "settle_status", _unexpected, required=True),
            settle_detail=read.as_str(info, "settle_detail", _unexpected),
            settled_at=read.as_int(info, "settled_at", _unexpected),
            rake=read.as_amount(info, "rake", _unexpected),
            commission=read.as_amount(info, "commission", _unexpected),
            cp_extra=read.as_str(info, "cp_extra", _unexpected),
            msg=read.as_str(info, "msg", _unexpected),
        )


@dataclass(frozen=True)
class ReturnInfo:
    """分账回退 (create_return / query_return)."""

    return_no: str
    out_return_no: str
    settle_no: str
    out_settle_no: str
    merchant_uid: str
    return_amount: int | None
    return_status: str
    fail_reason: str
    finish_time: int | None
    cp_extra: str

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> ReturnInfo:
        info = read.as_mapping(payload, "return_info", _unexpected)
        return cls(
            return_no=read.as_str(info, "return_no", _unexpected),
            out_return_no=read.as_str(info, "out_return_no", _unexpected),
            settle_no=read.as_str(info, "settle_no", _unexpected),
            out_settle_no=read.as_str(info, "out_settle_no", _unexpected),
            merchant_uid=read.as_str(info, "merchant_uid", _unexpected),
            return_amount=read.as_amount(info, "return_amount", _unexpected),
            return_status=read.as_str(info, "return_status", _unexpected),
            fail_reason=read.as_str(info, "fail_reason", _unexpected),
            finish_time=read.as_int(info, "finish_time", _unexpected),
            cp_extra=read.as_str(info, "cp_extra", _unexpected),
        )


@dataclass(frozen=True)
class UnsettleAmountResult:
    """可分账余额: what is still settleable on an order, with the raw breakdown."""

    out_order_no: str
    unsettle_amount: int
    detail: Mapping[str, Any]

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> UnsettleAmountResult:
        data = read.as_mapping(payload, "data", _unexpected)
        return cls(
            out_order_no=read.as_str(data, "out_order_no", _unexpected),
            unsettle_amount=read.as_amount(data, "unsettle_amount", _unexpected, required=True),
            detail=read.as_mapping(data, "detail", _unexpected),
        )


@dataclass(frozen=True)
class PlatformOrderResult:
    """Settlements the platform made or recorded for an order (incl. automatic ones)."""

    settlements: tuple[PlatformSettlement, ...]

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> PlatformOrderResult:
        order = read.as_mapping(payload, "platform_order", _unexpected)
        settlements = read.as_list(order, "settle_info_list", _unexpected)
        return cls(settlements=tuple(read_settlement(i, "settle_param_list", _unexpected) for i in settlements))
