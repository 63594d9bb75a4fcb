"""Callback verification and typed notices (ecpay-spec §6).

:func:`parse_callback` takes the raw request body, verifies ``msg_signature`` over the raw
``timestamp``, ``nonce`` and ``msg`` strings (never over re-encoded JSON), and only then parses
``msg`` into a typed notice. Replays of a validly signed notice are not rejected here: the platform
retries for about a day, and the state machine makes a repeated notice harmless. What is refused is a
``timestamp`` not in the platform's form (10 digits: the signed string has no separators, so digits
could otherwise move between ``timestamp`` and ``nonce`` and still verify) and, given ``now``, one
outside :data:`TIMESTAMP_MAX_AGE` / :data:`TIMESTAMP_MAX_LEAD`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, NoReturn

from .. import _fields as read
from .._callbacks import malformed as _malformed
from .._callbacks import no_duplicate_keys as _no_duplicate_keys
from ..errors import ConfigurationError, MalformedCallbackError, SignatureError
from .cps import CpsInfo, cps_mapping
from .settlements import PlatformSettlement, read_settlement
from .signing import callback_sign

_REQUIRED_ENVELOPE = ("msg", "msg_signature", "nonce", "timestamp", "type")
MAX_TYPE_LENGTH = 32  # ecpay-spec §6.1: type is a string of at most 32 characters
_TIMESTAMP = re.compile(r"[1-9][0-9]{9}")  # unix seconds as the platform sends them, e.g. "1722769986"

# The accepted distance of a verified callback's timestamp from ``now``. The platform retries for
# about 24 h 4 min (15 s ... 6 h, ecpay-spec §6.3), and the documents do not say whether a retry is
# re-signed with a fresh timestamp: tolerant on purpose, twice that span, so that a platform
# backlog never turns a genuine retry into a refusal repeated until the retries run out. Ahead of
# ``now`` only clock skew is allowed.
TIMESTAMP_MAX_AGE = 48 * 3600
TIMESTAMP_MAX_LEAD = 15 * 60


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
        """Identifies the notice across redeliveries, whatever timestamp and nonce they carry: over
        the signed ``msg`` alone, since ``type`` is not signed and a replay could change it."""
        return hashlib.sha256(self.msg.encode()).hexdigest()


# Each notice declares its wire shape on its fields (:func:`~douyin_pay._fields.wire`): the msg key,
# the strict reader, whether it is required. One declaration, read by one builder.
_str, _amount, _int, _bool = read.as_str, read.as_amount, read.as_int, read.as_bool


def _settle_app_id(data: Mapping[str, Any], key: str, fail: read.Fail, *, required: bool = False) -> str:
    """The settle callback names the app ``app_id``; an older documented example spells it
    ``appid`` like the payment and refund callbacks (ecpay-spec §6.4): either is read."""
    if data.get(key) in (None, "") and data.get("appid") not in (None, ""):
        key = "appid"
    return read.as_str(data, key, fail, required=required)


@dataclass(frozen=True, kw_only=True)
class PaymentNotice(Notice):
    """``type = payment``: the buyer paid (only successes are notified)."""

    TYPE: ClassVar[str] = "payment"
    app_id: str = read.wire("appid", _str, required=True)
    out_order_no: str = read.wire("cp_orderno", _str, required=True)
    order_id: str = read.wire("order_id", _str)
    total_amount: int = read.wire("total_amount", _amount, required=True)
    status: str = read.wire("status", _str, fallback="SUCCESS")  # only successes are sent; often unsaid
    way: int | None = read.wire("way", read.as_way)
    paid_at: int | None = read.wire("paid_at", _int)
    cp_extra: str = read.wire("cp_extra", _str, default="")
    channel_no: str = read.wire("channel_no", _str, default="")
    channel_gateway_no: str = read.wire("channel_gateway_no", _str, default="")
    payment_order_no: str = read.wire("payment_order_no", _str, default="")
    out_channel_order_no: str = read.wire("out_channel_order_no", _str, default="")
    seller_uid: str = read.wire("seller_uid", _str, default="")
    extra: str = read.wire("extra", _str, default="")
    item_id: str = read.wire("item_id", _str, default="")
    message: str = read.wire("message", _str, default="")
    ec_pay_trade_no: str = read.wire("ec_pay_trade_no", _str, default="")

    @property
    def cps(self) -> CpsInfo | None:
        """The influencer data carried in ``extra`` (None: none yet, or not a CPS order). A
        commission that does not read as fen is refused like any malformed amount."""
        found = cps_mapping(self.extra)
        return read.build(CpsInfo, found, _malformed) if found and "share_amount" in found else None


@dataclass(frozen=True, kw_only=True)
class RefundNotice(Notice):
    """``type = refund``: the money-arrival result of a refund (SUCCESS / FAIL)."""

    TYPE: ClassVar[str] = "refund"
    app_id: str = read.wire("appid", _str, required=True)
    out_refund_no: str = read.wire("cp_refundno", _str, required=True)
    refund_amount: int = read.wire("refund_amount", _amount, required=True)
    status: str = read.wire("status", _str, required=True)
    refund_no: str = read.wire("refund_no", _str, default="")
    order_id: str = read.wire("order_id", _str, default="")
    is_all_settled: bool | None = read.wire("is_all_settled", _bool, default=None)
    refunded_at: int | None = read.wire("refunded_at", _int, default=None)
    cp_extra: str = read.wire("cp_extra", _str, default="")
    message: str = read.wire("message", _str, default="")


@dataclass(frozen=True, kw_only=True)
class SettleNotice(Notice):
    """``type = settle``: the result of a settlement you requested (SUCCESS / FAIL)."""

    TYPE: ClassVar[str] = "settle"
    app_id: str = read.wire("app_id", _settle_app_id, required=True)
    # Empty only for a settlement the platform made by itself (``is_auto_settle``): the documents
    # leave open whether an auto-settlement is announced this way or by settle_finish, so both are read.
    out_settle_no: str = read.wire("cp_settle_no", _str, default="")
    status: str = read.wire("status", _str, required=True)
    settle_amount: int | None = read.wire("settle_amount", _amount, default=None)
    rake: int | None = read.wire("rake", _amount, default=None)
    commission: int | None = read.wire("commission", _amount, default=None)
    settle_no: str = read.wire("settle_no", _str, default="")
    out_order_no: str = read.wire("out_order_no", _str, default="")
    order_id: str = read.wire("order_id", _str, default="")
    settle_detail: str = read.wire("settle_detail", _str, default="")
    settled_at: int | None = read.wire("settled_at", _int, default=None)
    channel_settle_id: str = read.wire("channel_settle_id", _str, default="")
    is_auto_settle: bool | None = read.wire("is_auto_settle", _bool, default=None)
    cp_extra: str = read.wire("cp_extra", _str, default="")
    message: str = read.wire("message", _str, default="")

    @property
    def automatic(self) -> bool:
        """The platform settled the order by itself (150 days after payment): it names no
        settlement of yours, only the order."""
        return bool(self.is_auto_settle) and not self.out_settle_no


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
class WithdrawNotice(Notice):
    """``type = withdraw``: the result of a merchant withdrawal (``merchant_withdraw``).

    Fields from the doc table copied into HeartGarlic/douyin-openapi (``MerchantWithdrawCallbackResponseMsg``,
    ecpay-spec §6.4 [S DOC-HG]); ``withdraw_at`` is unix seconds there. ``status`` takes the values
    of ``query_withdraw_order`` (SUCCESS / FAIL / PROCESSING / REEXCHANGE, houseme/bytedance
    ``payment/withdraw/domain.go``). No source says which fields are always present: the two
    numbers that identify the withdrawal and its status are required, the rest may be empty.
    """

    TYPE: ClassVar[str] = "withdraw"
    out_order_id: str = read.wire("out_order_id", _str, required=True)
    status: str = read.wire("status", _str, required=True)
    order_id: str = read.wire("order_id", _str, default="")
    ch_order_id: str = read.wire("ch_order_id", _str, default="")
    withdraw_at: int | None = read.wire("withdraw_at", _int, default=None)
    extra: str = read.wire("extra", _str, default="")
    message: str = read.wire("message", _str, default="")


@dataclass(frozen=True, kw_only=True)
class GenericNotice(Notice):
    """A verified notice of a type this SDK does not model: kept, not dropped.

    ``transfer`` is one: it appears only as a constant name in houseme/bytedance
    (``payment/constant/constant.go``, "异步转账类型"), and no public document or SDK lists the
    fields of its ``msg`` (searched: SKIT, HeartGarlic/douyin-openapi, yansongda/pay, houseme,
    handsomegyr/bytedance), so there is nothing to type it by.
    """


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
    except (ValueError, RecursionError) as exc:
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
    if not _TIMESTAMP.fullmatch(envelope["timestamp"]):
        raise MalformedCallbackError("callback field 'timestamp' must be 10 digits of unix seconds", field="timestamp")
    if not 0 < len(envelope["type"]) <= MAX_TYPE_LENGTH:
        raise MalformedCallbackError(f"callback field 'type' must be 1-{MAX_TYPE_LENGTH} characters", field="type")
    return envelope


def _token_list(tokens: str | Sequence[str]) -> tuple[str, ...]:
    candidates = (tokens,) if isinstance(tokens, str) else tuple(tokens)
    if not candidates or not all(isinstance(t, str) and t.strip() for t in candidates):
        # A missing token must never turn verification into a pass (a known bug of another SDK).
        raise ConfigurationError("no callback token configured")
    if any(t != t.strip() for t in candidates):
        # Pasted with a line break: it would never verify, and every notice would look forged.
        raise ConfigurationError("a callback token has white space around it")
    return candidates


def _check_freshness(timestamp: str, now: float | None) -> None:
    if now is None:
        return
    age = now - int(timestamp)
    if age > TIMESTAMP_MAX_AGE or -age > TIMESTAMP_MAX_LEAD:
        raise SignatureError("callback timestamp is outside the accepted window")


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


def _settle_finish(base: dict[str, Any], d: Mapping[str, Any]) -> SettleFinishNotice:
    return SettleFinishNotice(
        **base,
        app_id=read.as_str(d, "ma_app_id", _malformed, required=True),
        out_order_no=read.as_str(d, "out_order_id", _malformed, required=True),
        auto_settle_list=tuple(
            read_settlement(i, "settle_info", _malformed) for i in read.as_list(d, "auto_settle_list", _malformed)
        ),
    )


def _settle(base: dict[str, Any], d: Mapping[str, Any]) -> SettleNotice:
    notice = read.build(SettleNotice, d, _malformed, **base)
    if not notice.out_settle_no and not notice.is_auto_settle:
        _malformed("cp_settle_no", "is missing")
    if notice.automatic and not notice.out_order_no:
        _malformed("out_order_no", "is missing")  # an automatic settlement is known only by its order
    return notice


def _declared(cls: type[PaymentNotice | RefundNotice | WithdrawNotice]) -> Callable[..., AnyNotice]:
    return lambda base, data: read.build(cls, data, _malformed, **base)


_BUILDERS: dict[str, Callable[[dict[str, Any], Mapping[str, Any]], AnyNotice]] = {
    PaymentNotice.TYPE: _declared(PaymentNotice),
    RefundNotice.TYPE: _declared(RefundNotice),
    SettleNotice.TYPE: _settle,
    SettleFinishNotice.TYPE: _settle_finish,
    WithdrawNotice.TYPE: _declared(WithdrawNotice),
}

AnyNotice = PaymentNotice | RefundNotice | SettleNotice | SettleFinishNotice | WithdrawNotice | GenericNotice


def parse_callback(body: bytes | str, tokens: str | Sequence[str], *, now: float | None = None) -> AnyNotice:
    """Verify a callback body and return its typed notice.

    ``body`` is the raw request body; ``tokens`` is the callback token, or several during a
    rotation (the platform signs with the token in force when the order was paid, so an old token
    stays needed as long as orders paid under it can still be refunded or settled). With ``now``
    (unix seconds), a timestamp more than 48 h old or 15 min ahead is refused as a
    :class:`SignatureError`.

    Raises :class:`MalformedCallbackError` for a body that is not a callback,
    :class:`SignatureError` when no token verifies it and :class:`ConfigurationError` when no token
    is configured. The signature is checked before ``msg`` is parsed.
    """
    _token_list(tokens)  # configuration errors first: they are ours, not the sender's
    envelope = _load_envelope(body)
    verify_callback(envelope, tokens)
    _check_freshness(envelope["timestamp"], now)
    base: dict[str, Any] = {
        "type": envelope["type"],
        "msg": envelope["msg"],
        "timestamp": envelope["timestamp"],
        "nonce": envelope["nonce"],
    }
    builder = _BUILDERS.get(envelope["type"])
    try:
        data = json.loads(envelope["msg"])
    except (ValueError, RecursionError) as exc:  # ValueError: also an integer past Python's digit limit
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
