"""Callback verification and typed notices of the trade system (trade-spec §5).

:func:`parse_callback` verifies ``Byte-Signature`` over ``Byte-Timestamp + "\\n" + Byte-Nonce-Str +
"\\n" + RAW_BODY + "\\n"`` with the **platform** public key (§5.2, §9 pitfall 3), on the body bytes
exactly as received (never re-serialised, §9 pitfall 2), and only then parses the body
``{"version":"3.0","type":…,"msg":"<JSON string>"}`` and its double-encoded ``msg`` into a typed
notice. Replays of a validly signed notice are not rejected here (the platform retries, §5.4):
process notices idempotently, keyed on the business ids and status, not on the nonce.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .. import _fields as read
from .._callbacks import malformed as _malformed
from .._callbacks import no_duplicate_keys as _no_duplicate_keys
from ..errors import MalformedCallbackError, SignatureError
from .items import NO_ITEM_DETAIL, RefundItemDetail, refund_item_detail
from .signing import platform_keys, rsa_verify

# Freshness windows around `now`, in seconds, past or future. No rule is documented (§5.2 [?]) nor
# whether a retry is re-signed with a fresh timestamp (§10.5 [?]); these follow §5.2's
# recommendation [I]: a day plus clock skew, and for pre_create_refund, which the platform retries
# for 72 h (§5.4), 72 h plus a quarter of an hour. A window too narrow would refuse retries forever.
FRESHNESS_WINDOW = 24 * 3600 + 5 * 60
PRE_CREATE_REFUND_WINDOW = 72 * 3600 + 15 * 60
MAX_TYPE_LENGTH = 32

_TIMESTAMP = re.compile(r"[0-9]{1,10}")  # unix seconds (§5.1); no sign, no fraction, no exponent
# Letters, digits and `_` ≤128 per one transcription (§5.1 [S]); any visible ASCII up to 256 is
# accepted, so a slightly different platform nonce is not refused, while line breaks (which would
# shift the signed lines) and other oddities are.
_NONCE = re.compile(r"[\x21-\x7e]{1,256}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]{4,2048}={0,2}")

HEADER_TIMESTAMP = "byte-timestamp"
HEADER_NONCE = "byte-nonce-str"
HEADER_SIGNATURE = "byte-signature"
HEADER_LOG_ID = "byte-logid"
HEADER_IDENTIFY_NAME = "byte-identifyname"
_HEADERS = frozenset({HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE, HEADER_LOG_ID, HEADER_IDENTIFY_NAME})


@dataclass(frozen=True, kw_only=True)
class Notice:
    """What every verified callback carries. ``msg`` is the exact signed ``msg`` string."""

    type: str
    version: str
    msg: str
    data: Mapping[str, Any] = field(repr=False)
    timestamp: int
    nonce: str
    log_id: str | None
    app_id: str

    @property
    def dedupe_key(self) -> str:
        """Identifies the notice across redeliveries, whatever timestamp and nonce they carry."""
        return hashlib.sha256(f"{self.type}\n{self.msg}".encode()).hexdigest()


_str, _int, _amount, _bool = read.as_str, read.as_int, read.as_json_amount, read.as_bool


def _optional_str(data: Mapping[str, Any], key: str, fail: read.Fail) -> str | None:
    """A string that is ``None`` when absent or empty (``currency``: absent means the default, CNY)."""
    return read.as_str(data, key, fail) or None


def _audit_flag(data: Mapping[str, Any], key: str, fail: read.Fail, *, required: bool = False) -> int:
    # An int, 1 = needs audit, 2 = no audit; a bool (as one peer's tests send) is refused (§9 pitfall 8).
    value = read.as_json_int(data, key, fail, required=required)
    if value not in (1, 2):
        fail(key, "must be 1 (needs audit) or 2 (no audit)")
    return value


def _strings(data: Mapping[str, Any], key: str, fail: read.Fail) -> tuple[str, ...]:
    values = read.as_list(data, key, fail)
    if not all(isinstance(v, str) for v in values):
        fail(key, "must be a list of strings")
    return tuple(values)


@dataclass(frozen=True, kw_only=True)
class PaymentNotice(Notice):
    """``type = payment``: SUCCESS, or CANCEL with ``message`` USER_CANCEL / TIME_OUT (§5.5, §9 pitfall 6).

    Amounts are fen (diamonds when ``currency == "DIAMOND"``); paid = total − discount.
    """

    TYPE: ClassVar[str] = "payment"
    app_id: str = read.wire("app_id", _str, required=True)
    out_order_no: str = read.wire("out_order_no", _str, required=True)
    order_id: str = read.wire("order_id", _str, required=True)
    status: str = read.wire("status", _str, required=True)
    total_amount: int = read.wire("total_amount", _amount, required=True)
    # Absent reads as no discount: the field is informational, total_amount is what is compared.
    discount_amount: int = read.wire("discount_amount", _amount, fallback=0, default=0)
    pay_channel: int | None = read.wire("pay_channel", read.as_way, default=None)
    channel_pay_id: str = read.wire("channel_pay_id", _str, default="")
    user_bill_pay_id: str = read.wire("user_bill_pay_id", _str, default="")
    merchant_uid: str = read.wire("merchant_uid", _str, default="")
    message: str = read.wire("message", _str, default="")
    event_time: int | None = read.wire("event_time", _int, default=None)
    cp_extra: str = read.wire("cp_extra", _str, default="")
    currency: str | None = read.wire("currency", _optional_str, default=None)


@dataclass(frozen=True, kw_only=True)
class RefundNotice(Notice):
    """``type = refund``: the result (SUCCESS / FAIL) of a refund (§5.5)."""

    TYPE: ClassVar[str] = "refund"
    app_id: str = read.wire("app_id", _str, required=True)
    status: str = read.wire("status", _str, required=True)
    order_id: str = read.wire("order_id", _str, required=True)
    refund_id: str = read.wire("refund_id", _str, required=True)
    refund_total_amount: int = read.wire("refund_total_amount", _amount, required=True)
    out_refund_no: str = read.wire("out_refund_no", _str, default="")  # "may be empty" (§5.5 [S])
    # read.wire returns a dataclasses.field, and the default is a frozen instance shared safely.
    refund_item_detail: RefundItemDetail = read.wire("refund_item_detail", refund_item_detail, default=NO_ITEM_DETAIL)  # noqa: RUF009
    is_all_settled: bool | None = read.wire("is_all_settled", _bool, default=None)
    cp_extra: str = read.wire("cp_extra", _str, default="")
    message: str = read.wire("message", _str, default="")
    event_time: int | None = read.wire("event_time", _int, default=None)
    currency: str | None = read.wire("currency", _optional_str, default=None)
    refund_type: int | None = read.wire("refund_type", _int, default=None)


@dataclass(frozen=True, kw_only=True)
class PreCreateRefundNotice(Notice):
    """``type = pre_create_refund``: a user or customer service applied for a refund (§5.5).

    Answer synchronously with a unique ``out_refund_no`` (§5.3); refusing is only possible at the
    audit step (:meth:`TradeClient.refund_audit_callback`) when :attr:`needs_audit`.
    """

    TYPE: ClassVar[str] = "pre_create_refund"
    app_id: str = read.wire("app_id", _str, required=True)
    refund_id: str = read.wire("refund_id", _str, required=True)
    order_id: str = read.wire("order_id", _str, required=True)
    refund_total_amount: int = read.wire("refund_total_amount", _amount, required=True)
    need_refund_audit: int = read.wire("need_refund_audit", _audit_flag, required=True)
    open_id: str = read.wire("open_id", _str, default="")
    out_order_no: str = read.wire("out_order_no", _str, default="")
    refund_audit_deadline: int | None = read.wire("refund_audit_deadline", _int, default=None)
    create_refund_time: int | None = read.wire("create_refund_time", _int, default=None)
    refund_source: int | None = read.wire("refund_source", _int, default=None)
    refund_reason: tuple[str, ...] = read.wire("refund_reason", _strings, default=())
    refund_description: str = read.wire("refund_description", _str, default="")
    cp_extra: str = read.wire("cp_extra", _str, default="")
    # read.wire returns a dataclasses.field, and the default is a frozen instance shared safely.
    refund_item_detail: RefundItemDetail = read.wire("refund_item_detail", refund_item_detail, default=NO_ITEM_DETAIL)  # noqa: RUF009
    currency: str | None = read.wire("currency", _optional_str, default=None)
    out_refund_no: str = read.wire("out_refund_no", _str, default="")  # set only if the refund exists

    @property
    def needs_audit(self) -> bool:
        """Whether the merchant must approve or deny (else it is auto-approved after 72 h, §4.7)."""
        return self.need_refund_audit == 1


@dataclass(frozen=True, kw_only=True)
class SettleNotice(Notice):
    """``type = settle``: the result (SUCCESS / FAIL) of a settlement (§5.5)."""

    TYPE: ClassVar[str] = "settle"
    app_id: str = read.wire("app_id", _str, required=True)
    status: str = read.wire("status", _str, required=True)
    order_id: str = read.wire("order_id", _str, required=True)
    settle_id: str = read.wire("settle_id", _str, required=True)
    out_settle_no: str = read.wire("out_settle_no", _str, default="")  # none for an automatic settlement
    cp_extra: str = read.wire("cp_extra", _str, default="")
    message: str = read.wire("message", _str, default="")
    event_time: int | None = read.wire("event_time", _int, default=None)
    rake: int | None = read.wire("rake", _amount, default=None)
    commission: int | None = read.wire("commission", _amount, default=None)
    settle_amount: int | None = read.wire("settle_amount", _amount, default=None)
    settle_detail: str = read.wire("settle_detail", _str, default="")
    item_order_id: str = read.wire("item_order_id", _str, default="")
    is_auto_settle: bool | None = read.wire("is_auto_settle", _bool, default=None)


@dataclass(frozen=True, kw_only=True)
class GenericNotice(Notice):
    """A verified notice of a type this SDK does not model: kept (``data`` holds its msg), not dropped."""


AnyNotice = PaymentNotice | RefundNotice | PreCreateRefundNotice | SettleNotice | GenericNotice

_MODELLED: dict[str, type[PaymentNotice | RefundNotice | PreCreateRefundNotice | SettleNotice]] = {
    cls.TYPE: cls for cls in (PaymentNotice, RefundNotice, PreCreateRefundNotice, SettleNotice)
}


def _header_name(name: str) -> str:
    # Case-insensitive (§5.2); WSGI/Django spell them HTTP_BYTE_SIGNATURE, so that form is read too.
    lowered = name.lower().replace("_", "-")
    return lowered.removeprefix("http-")


def _signature_headers(headers: Mapping[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in headers.items():
        key = _header_name(name) if isinstance(name, str) else ""
        if key not in _HEADERS:
            continue
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if not isinstance(value, str):
            raise SignatureError(f"callback header {key} is not text")
        if found.get(key, value) != value:
            raise SignatureError(f"callback header {key} is given twice with different values")
        found[key] = value
    for key, pattern in ((HEADER_TIMESTAMP, _TIMESTAMP), (HEADER_NONCE, _NONCE), (HEADER_SIGNATURE, _BASE64)):
        if key not in found:
            raise SignatureError(f"callback header {key} is missing")
        if not pattern.fullmatch(found[key]):
            raise SignatureError(f"callback header {key} is malformed")
    return found


def _body_bytes(body: bytes | bytearray | memoryview | str) -> bytes:
    if isinstance(body, str):
        try:
            return body.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedCallbackError("callback body is not valid Unicode") from None
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    raise MalformedCallbackError("callback body must be the raw request body (bytes)")


def _load_json(text: bytes | str, what: str, key: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except (ValueError, RecursionError):
        # ValueError covers JSONDecodeError and bytes that are not UTF-8.
        raise MalformedCallbackError(f"callback {what} is not JSON", field=key) from None
    if not isinstance(value, dict):
        raise MalformedCallbackError(f"callback {what} is not a JSON object", field=key)
    return value


def _envelope(raw: bytes) -> tuple[str, str, str]:
    """``(type, version, msg)`` of a verified body."""
    envelope = _load_json(raw, "body", None)
    kind, version, msg = envelope.get("type"), envelope.get("version", ""), envelope.get("msg")
    if not isinstance(kind, str) or not 0 < len(kind) <= MAX_TYPE_LENGTH:
        raise MalformedCallbackError(f"callback type must be a string of 1-{MAX_TYPE_LENGTH} characters", field="type")
    if not isinstance(version, str):
        # "3.0" for trade_basic (§5.1). Not enforced: the signature already proves the platform sent it.
        raise MalformedCallbackError("callback version must be a string", field="version")
    if not isinstance(msg, str):
        raise MalformedCallbackError("callback msg must be a string", field="msg")
    return kind, version, msg


def _check_freshness(kind: str, timestamp: int, now: float | None) -> None:
    if now is None:
        return
    window = PRE_CREATE_REFUND_WINDOW if kind == PreCreateRefundNotice.TYPE else FRESHNESS_WINDOW
    if abs(now - timestamp) > window:
        raise SignatureError("callback Byte-Timestamp is outside the freshness window")


def verify_callback(headers: Mapping[str, Any], body: bytes | str, platform_public_keys: Any) -> dict[str, str]:
    """Raise :class:`SignatureError` unless ``Byte-Signature`` verifies over the raw body with one of
    the platform keys; return the (lower-cased) signature headers."""
    platform_keys(platform_public_keys)  # configuration errors first: they are ours, not the sender's
    found = _signature_headers(headers)
    message = b"%s\n%s\n%s\n" % (found[HEADER_TIMESTAMP].encode(), found[HEADER_NONCE].encode(), _body_bytes(body))
    if not rsa_verify(message, found[HEADER_SIGNATURE], platform_public_keys):
        raise SignatureError("callback Byte-Signature does not verify with any platform public key")
    return found


def parse_callback(
    headers: Mapping[str, Any],
    body: bytes | str,
    platform_public_keys: str | bytes | Sequence[str | bytes],
    *,
    now: float | None = None,
) -> AnyNotice:
    """Verify a trade-system callback and return its typed notice.

    ``headers`` are the request headers (names case-insensitive); ``body`` is the raw request body
    (a str is taken as its UTF-8 encoding); ``platform_public_keys`` is the platform key, or several
    during a rotation. With ``now`` (unix seconds), a ``Byte-Timestamp`` more than 24 h 5 min away
    (72 h 15 min for pre_create_refund) is refused.

    Raises :class:`SignatureError` (missing/garbled signature headers, no key verifies, stale),
    then — only for a verified body — :class:`MalformedCallbackError` (``field`` names what is
    wrong), and :class:`ConfigurationError` when no usable platform key is configured.
    """
    found = verify_callback(headers, body, platform_public_keys)
    kind, version, msg = _envelope(_body_bytes(body))
    timestamp = int(found[HEADER_TIMESTAMP])
    _check_freshness(kind, timestamp, now)
    data = _load_json(msg, "msg", "msg")
    base: dict[str, Any] = {
        "type": kind,
        "version": version,
        "msg": msg,
        "data": data,
        "timestamp": timestamp,
        "nonce": found[HEADER_NONCE],
        "log_id": found.get(HEADER_LOG_ID) or None,
    }
    model = _MODELLED.get(kind)
    if model is None:
        app_id = data.get("app_id")
        return GenericNotice(**base, app_id=app_id if isinstance(app_id, str) else "")
    return read.build(model, data, _malformed, **base)
