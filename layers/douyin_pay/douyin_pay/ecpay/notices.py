"""Callback verification and typed notices (ecpay-spec §6).

:func:`parse_callback` takes the raw request body, verifies ``msg_signature`` over the raw
``timestamp``, ``nonce`` and ``msg`` strings (never over re-encoded JSON), and only then parses
``msg`` into a typed notice. Replays of a validly signed notice are not rejected here: the platform
retries for about a day, and the state machine makes a repeated notice harmless.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, NoReturn

from .. import _fields as read
from ..errors import ConfigurationError, MalformedCallbackError, SignatureError
from .settlements import PlatformSettlement, read_settlement
from .signing import callback_sign

_REQUIRED_ENVELOPE = ("msg", "msg_signature", "nonce", "timestamp", "type")


@dataclass(frozen=True, kw_only=True)
class Notice:
    """What every verified callback carries. ``msg`` is the raw text that was verified."""

    type: str
    msg: str
    data: Mapping[str, Any] = field(repr=False)
    timestamp: str
    nonce: str

    @property
    def dedupe_key(self) -> str:
        """Identifies the notice across redeliveries, whatever timestamp and nonce they carry."""
        return hashlib.sha256(f"{self.type}\n{self.msg}".encode()).hexdigest()


@dataclass(frozen=True, kw_only=True)
class PaymentNotice(Notice):
    """``type = payment``: the buyer paid (only successes are notified)."""

    TYPE: ClassVar[str] = "payment"
    app_id: str
    out_order_no: str
    order_id: str
    total_amount: int
    status: str
    way: int | None
    paid_at: int | None
    cp_extra: str = ""
    channel_no: str = ""
    channel_gateway_no: str = ""
    payment_order_no: str = ""
    out_channel_order_no: str = ""
    seller_uid: str = ""
    extra: str = ""
    item_id: str = ""
    message: str = ""
    ec_pay_trade_no: str = ""


@dataclass(frozen=True, kw_only=True)
class RefundNotice(Notice):
    """``type = refund``: the money-arrival result of a refund (SUCCESS / FAIL)."""

    TYPE: ClassVar[str] = "refund"
    app_id: str
    out_refund_no: str
    refund_amount: int
    status: str
    refund_no: str = ""
    order_id: str = ""
    is_all_settled: bool | None = None
    refunded_at: int | None = None
    cp_extra: str = ""
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class SettleNotice(Notice):
    """``type = settle``: the result of a settlement you requested (SUCCESS / FAIL)."""

    TYPE: ClassVar[str] = "settle"
    app_id: str
    out_settle_no: str
    status: str
    settle_amount: int | None = None
    rake: int | None = None
    commission: int | None = None
    settle_no: str = ""
    out_order_no: str = ""
    order_id: str = ""
    settle_detail: str = ""
    settled_at: int | None = None
    channel_settle_id: str = ""
    is_auto_settle: bool | None = None
    cp_extra: str = ""
    message: str = ""


# A settlement the platform made by itself; the same model as query_platform_order reports.
AutoSettlement = PlatformSettlement


@dataclass(frozen=True, kw_only=True)
class SettleFinishNotice(Notice):
    """``type = settle_finish``: the platform settled an order automatically (notified once)."""

    TYPE: ClassVar[str] = "settle_finish"
    app_id: str
    out_order_no: str
    auto_settle_list: tuple[AutoSettlement, ...] = ()


@dataclass(frozen=True, kw_only=True)
class GenericNotice(Notice):
    """A verified notice of a type this SDK does not model (``withdraw``, ...): kept, not dropped."""


def _malformed(key: str, problem: str) -> NoReturn:
    raise MalformedCallbackError(f"callback msg field {key!r} {problem}", field=key)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            # Two values for one key: which one was signed is ambiguous, so refuse the body.
            raise MalformedCallbackError(f"callback body repeats field {key!r}", field=key)
        result[key] = value
    return result


def _reject_float(text: str) -> NoReturn:
    raise MalformedCallbackError("callback envelope fields must be strings or integers")


def _load_envelope(body: bytes | str) -> dict[str, Any]:
    if isinstance(body, (bytes, bytearray)):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedCallbackError("callback body is not UTF-8") from exc
    try:
        envelope = json.loads(
            body,
            parse_int=str,  # keep a numeric timestamp's exact digits: the text was signed
            parse_float=_reject_float,
            parse_constant=_reject_float,
            object_pairs_hook=_no_duplicate_keys,
        )
    except (json.JSONDecodeError, RecursionError) as exc:
        raise MalformedCallbackError("callback body is not JSON") from exc
    if not isinstance(envelope, dict):
        raise MalformedCallbackError("callback body is not a JSON object")
    for key in _REQUIRED_ENVELOPE:
        value = envelope.get(key)
        if not isinstance(value, str):
            problem = "is missing" if value is None else "must be a string"
            raise MalformedCallbackError(f"callback field {key!r} {problem}", field=key)
        try:
            value.encode("utf-8")  # the signature is over UTF-8; a lone surrogate has none
        except UnicodeEncodeError as exc:
            raise MalformedCallbackError(f"callback field {key!r} is not valid Unicode", field=key) from exc
    return envelope


def _token_list(tokens: str | Sequence[str]) -> tuple[str, ...]:
    candidates = (tokens,) if isinstance(tokens, str) else tuple(tokens)
    if not candidates or not all(isinstance(t, str) and t for t in candidates):
        # A missing token must never turn verification into a pass (peers.md: flxxyz).
        raise ConfigurationError("no callback token configured")
    return candidates


def verify_callback(envelope: Mapping[str, str], tokens: str | Sequence[str]) -> None:
    """Raise :class:`SignatureError` unless ``msg_signature`` matches one of ``tokens``.

    Every token is tried, so the time taken does not reveal which one matched.
    """
    candidates = _token_list(tokens)
    provided = envelope["msg_signature"].encode("utf-8")
    matched = False
    for token in candidates:
        expected = callback_sign(token, envelope["timestamp"], envelope["nonce"], envelope["msg"])
        matched |= hmac.compare_digest(expected.encode("ascii"), provided)
    if not matched:
        raise SignatureError("callback msg_signature does not verify")


def _payment(base: dict[str, Any], d: Mapping[str, Any]) -> PaymentNotice:
    return PaymentNotice(
        **base,
        app_id=read.as_str(d, "appid", _malformed, required=True),
        out_order_no=read.as_str(d, "cp_orderno", _malformed, required=True),
        order_id=read.as_str(d, "order_id", _malformed),
        total_amount=read.as_amount(d, "total_amount", _malformed, required=True),
        status=read.as_str(d, "status", _malformed) or "SUCCESS",
        way=read.as_way(d, "way", _malformed),
        paid_at=read.as_int(d, "paid_at", _malformed),
        cp_extra=read.as_str(d, "cp_extra", _malformed),
        channel_no=read.as_str(d, "channel_no", _malformed),
        channel_gateway_no=read.as_str(d, "channel_gateway_no", _malformed),
        payment_order_no=read.as_str(d, "payment_order_no", _malformed),
        out_channel_order_no=read.as_str(d, "out_channel_order_no", _malformed),
        seller_uid=read.as_str(d, "seller_uid", _malformed),
        extra=read.as_str(d, "extra", _malformed),
        item_id=read.as_str(d, "item_id", _malformed),
        message=read.as_str(d, "message", _malformed),
        ec_pay_trade_no=read.as_str(d, "ec_pay_trade_no", _malformed),
    )


def _refund(base: dict[str, Any], d: Mapping[str, Any]) -> RefundNotice:
    return RefundNotice(
        **base,
        app_id=read.as_str(d, "appid", _malformed, required=True),
        out_refund_no=read.as_str(d, "cp_refundno", _malformed, required=True),
        refund_amount=read.as_amount(d, "refund_amount", _malformed, required=True),
        status=read.as_str(d, "status", _malformed, required=True),
        refund_no=read.as_str(d, "refund_no", _malformed),
        order_id=read.as_str(d, "order_id", _malformed),
        is_all_settled=read.as_bool(d, "is_all_settled", _malformed),
        refunded_at=read.as_int(d, "refunded_at", _malformed),
        cp_extra=read.as_str(d, "cp_extra", _malformed),
        message=read.as_str(d, "message", _malformed),
    )


def _settle(base: dict[str, Any], d: Mapping[str, Any]) -> SettleNotice:
    return SettleNotice(
        **base,
        app_id=read.as_str(d, "app_id", _malformed, required=True),
        out_settle_no=read.as_str(d, "cp_settle_no", _malformed, required=True),
        status=read.as_str(d, "status", _malformed, required=True),
        settle_amount=read.as_amount(d, "settle_amount", _malformed),
        rake=read.as_amount(d, "rake", _malformed),
        commission=read.as_amount(d, "commission", _malformed),
        settle_no=read.as_str(d, "settle_no", _malformed),
        out_order_no=read.as_str(d, "out_order_no", _malformed),
        order_id=read.as_str(d, "order_id", _malformed),
        settle_detail=read.as_str(d, "settle_detail", _malformed),
        settled_at=read.as_int(d, "settled_at", _malformed),
        channel_settle_id=read.as_str(d, "channel_settle_id", _malformed),
        is_auto_settle=read.as_bool(d, "is_auto_settle", _malformed),
        cp_extra=read.as_str(d, "cp_extra", _malformed),
        message=read.as_str(d, "message", _malformed),
    )


def _settle_finish(base: dict[str, Any], d: Mapping[str, Any]) -> SettleFinishNotice:
    return SettleFinishNotice(
        **base,
        app_id=read.as_str(d, "ma_app_id", _malformed, required=True),
        out_order_no=read.as_str(d, "out_order_id", _malformed, required=True),
        auto_settle_list=tuple(
            read_settlement(i, "settle_info", _malformed) for i in read.as_list(d, "auto_settle_list", _malformed)
        ),
    )


_BUILDERS = {
    PaymentNotice.TYPE: _payment,
    RefundNotice.TYPE: _refund,
    SettleNotice.TYPE: _settle,
    SettleFinishNotice.TYPE: _settle_finish,
}

AnyNotice = PaymentNotice | RefundNotice | SettleNotice | SettleFinishNotice | GenericNotice


def parse_callback(body: bytes | str, tokens: str | Sequence[str]) -> AnyNotice:
    """Verify a callback body and return its typed notice.

    ``body`` is the raw request body; ``tokens`` is the callback token, or several during a
    rotation (the platform signs with the token in force when the order was paid).

    Raises :class:`MalformedCallbackError` for a body that is not a callback,
    :class:`SignatureError` when no token verifies it and :class:`ConfigurationError` when no token
    is configured. The signature is checked before ``msg`` is parsed.
    """
    _token_list(tokens)  # configuration errors first: they are ours, not the sender's
    envelope = _load_envelope(body)
    verify_callback(envelope, tokens)
    base: dict[str, Any] = {
        "type": envelope["type"],
        "msg": envelope["msg"],
        "timestamp": envelope["timestamp"],
        "nonce": envelope["nonce"],
    }
    builder = _BUILDERS.get(envelope["type"])
    try:
        data = json.loads(envelope["msg"])
    except (json.JSONDecodeError, RecursionError) as exc:
        if builder is None:
            return GenericNotice(**base, data={})
        raise MalformedCallbackError("callback msg is not JSON", field="msg") from exc
    if not isinstance(data, dict):
        if builder is None:
            return GenericNotice(**base, data={})
        raise MalformedCallbackError("callback msg is not a JSON object", field="msg")
    if builder is None:
        return GenericNotice(**base, data=data)
    return builder({**base, "data": data}, data)
