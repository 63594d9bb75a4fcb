"""Typed results of the platform API, hiding its response quirks (ecpay-spec §3, §8.9).

``create_order`` wraps its payload in ``data``, ``query_refund`` uses camelCase ``refundInfo``,
``query_settle`` nests ``settle_info`` and ``way`` is a number here but a string in callbacks;
callers see one shape per result, amounts as int fen and ``way`` as an int (or ``None`` if unpaid).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from .. import _fields as f
from ..errors import PlatformTransportError
from .notices import SettlePayeeAmount

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
        data = f.as_mapping(payload, "data", _unexpected)
        return cls(
            order_id=f.as_str(data, "order_id", _unexpected, required=True),
            order_token=f.as_str(data, "order_token", _unexpected, required=True),
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
        info = f.as_mapping(payload, "payment_info", _unexpected)
        if not info:
            _unexpected("payment_info", "is missing")
        # The docs disagree on where cps_info sits (ecpay-spec §3.2); accept either place.
        cps = f.as_mapping(payload, "cps_info", _unexpected) or f.as_mapping(info, "cps_info", _unexpected)
        return cls(
            out_order_no=f.as_str(payload, "out_order_no", _unexpected),
            order_id=f.as_str(payload, "order_id", _unexpected),
            payment=PaymentInfo(
                total_fee=f.as_amount(info, "total_fee", _unexpected, required=True),
                order_status=f.as_str(info, "order_status", _unexpected, required=True),
                pay_time=f.as_str(info, "pay_time", _unexpected),
                way=f.as_way(info, "way", _unexpected),
                channel_no=f.as_str(info, "channel_no", _unexpected),
                channel_gateway_no=f.as_str(info, "channel_gateway_no", _unexpected),
                seller_uid=f.as_str(info, "seller_uid", _unexpected),
                item_id=f.as_str(info, "item_id", _unexpected),
                cp_extra=f.as_str(info, "cp_extra", _unexpected),
            ),
            cps_info=CpsInfo(
                share_amount=f.as_amount(cps, "share_amount", _unexpected),
                douyin_id=f.as_str(cps, "douyin_id", _unexpected),
                nickname=f.as_str(cps, "nickname", _unexpected),
            )
            if cps
            else None,
        )


@dataclass(frozen=True)
class RefundResult:
    refund_no: str

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> RefundResult:
        return cls(refund_no=f.as_str(payload, "refund_no", _unexpected))


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
        info = f.as_mapping(payload, "refundInfo", _unexpected)
        if not info:
            _unexpected("refundInfo", "is missing")
        return cls(
            refund_no=f.as_str(info, "refund_no", _unexpected),
            refund_amount=f.as_amount(info, "refund_amount", _unexpected, required=True),
            refund_status=f.as_str(info, "refund_status", _unexpected, required=True),
            refunded_at=f.as_int(info, "refunded_at", _unexpected),
            is_all_settled=f.as_bool(info, "is_all_settled", _unexpected),
            cp_extra=f.as_str(info, "cp_extra", _unexpected),
            msg=f.as_str(info, "msg", _unexpected),
        )


@dataclass(frozen=True)
class SettleResult:
    settle_no: str

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> SettleResult:
        return cls(settle_no=f.as_str(payload, "settle_no", _unexpected))


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
        info = f.as_mapping(payload, "settle_info", _unexpected)
        if not info:
            _unexpected("settle_info", "is missing")
        return cls(
            settle_no=f.as_str(info, "settle_no", _unexpected),
            settle_amount=f.as_amount(info, "settle_amount", _unexpected),
            settle_status=f.as_str(info, "settle_status", _unexpected, required=True),
            settle_detail=f.as_str(info, "settle_detail", _unexpected),
            settled_at=f.as_int(info, "settled_at", _unexpected),
            rake=f.as_amount(info, "rake", _unexpected),
            commission=f.as_amount(info, "commission", _unexpected),
            cp_extra=f.as_str(info, "cp_extra", _unexpected),
            msg=f.as_str(info, "msg", _unexpected),
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
        info = f.as_mapping(payload, "return_info", _unexpected)
        return cls(
            return_no=f.as_str(info, "return_no", _unexpected),
            out_return_no=f.as_str(info, "out_return_no", _unexpected),
            settle_no=f.as_str(info, "settle_no", _unexpected),
            out_settle_no=f.as_str(info, "out_settle_no", _unexpected),
            merchant_uid=f.as_str(info, "merchant_uid", _unexpected),
            return_amount=f.as_amount(info, "return_amount", _unexpected),
            return_status=f.as_str(info, "return_status", _unexpected),
            fail_reason=f.as_str(info, "fail_reason", _unexpected),
            finish_time=f.as_int(info, "finish_time", _unexpected),
            cp_extra=f.as_str(info, "cp_extra", _unexpected),
        )


@dataclass(frozen=True)
class UnsettleAmountResult:
    """可分账余额: what is still settleable on an order, with the raw breakdown."""

    out_order_no: str
    unsettle_amount: int
    detail: Mapping[str, Any]

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> UnsettleAmountResult:
        data = f.as_mapping(payload, "data", _unexpected)
        return cls(
            out_order_no=f.as_str(data, "out_order_no", _unexpected),
            unsettle_amount=f.as_amount(data, "unsettle_amount", _unexpected, required=True),
            detail=f.as_mapping(data, "detail", _unexpected),
        )


@dataclass(frozen=True)
class PlatformSettlement:
    settle_no: str
    out_settle_no: str
    settle_params: tuple[SettlePayeeAmount, ...]
    settle_way: str
    settle_status: str
    cps: int | None
    service_charge: int | None
    created_at: str
    settled_at: str


@dataclass(frozen=True)
class PlatformOrderResult:
    """Settlements the platform made or recorded for an order (incl. automatic ones)."""

    settlements: tuple[PlatformSettlement, ...]

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> PlatformOrderResult:
        order = f.as_mapping(payload, "platform_order", _unexpected)
        settlements = []
        for item in f.as_list(order, "settle_info_list", _unexpected):
            if not isinstance(item, Mapping):
                _unexpected("settle_info_list", "must hold objects")
            payees = tuple(
                SettlePayeeAmount(
                    merchant_uid=f.as_str(p, "merchant_uid", _unexpected),
                    amount=f.as_amount(p, "amount", _unexpected, required=True),
                )
                for p in f.as_list(item, "settle_param_list", _unexpected)
                if isinstance(p, Mapping) or _unexpected("settle_param_list", "must hold objects")
            )
            settlements.append(
                PlatformSettlement(
                    settle_no=f.as_str(item, "settle_no", _unexpected),
                    out_settle_no=f.as_str(item, "out_settle_no", _unexpected),
                    settle_params=payees,
                    settle_way=f.as_str(item, "settle_way", _unexpected),
                    settle_status=f.as_str(item, "settle_status", _unexpected),
                    cps=f.as_amount(item, "cps", _unexpected),
                    service_charge=f.as_amount(item, "service_charge", _unexpected),
                    created_at=f.as_str(item, "created_at", _unexpected),
                    settled_at=f.as_str(item, "settled_at", _unexpected),
                )
            )
        return cls(settlements=tuple(settlements))
