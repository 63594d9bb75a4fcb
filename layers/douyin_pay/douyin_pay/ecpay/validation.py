"""Field rules of the ecpay v1 API (ecpay-spec §3), checked before anything is sent.

Each checker raises :class:`~douyin_pay.errors.ValidationError` naming the field, so a bad request
never reaches the platform, where a definitive refusal would also spend the business number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from ..errors import ValidationError
from .signing import GO_WHITESPACE

MIN_AMOUNT = 1
MAX_AMOUNT = 10_000_000_000  # fen, ecpay-spec §3.1
# valid_time: the newer documentation raises a value under 300 to 300 and lowers one over 172800
# (ecpay-spec §3.1 [DOC-HG, TS-DY]); its own example sends 180. A value in [1, 172800] is sent as
# given (see effective_valid_time); one over 172800 is refused rather than silently shortened.
MIN_VALID_TIME = 1
PLATFORM_MIN_VALID_TIME = 300
MAX_VALID_TIME = 172_800
MAX_SETTLE_PAYEES = 4
MAX_MERCHANT_UID_CHARS = 32
LIMIT_PAY_WAYS = frozenset({"LIMIT_WX", "LIMIT_ALI", "LIMIT_DYZF"})

_BUSINESS_NO = re.compile(r"[0-9A-Za-z_\-*]{1,64}")


def business_no(field: str, value: object) -> str:
    """An ``out_*_no``: 1–64 characters of digits, letters, ``_``, ``-``, ``*``."""
    if not isinstance(value, str) or not _BUSINESS_NO.fullmatch(value):
        raise ValidationError(field, "must be 1-64 characters of 0-9 A-Z a-z _ - *", code="invalid_business_no")
    return value


def amount(field: str, value: object, *, minimum: int = MIN_AMOUNT, maximum: int = MAX_AMOUNT) -> int:
    """An amount in integer fen; floats and numeric strings are refused, never rounded."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, "must be an integer amount in fen", code="invalid_amount")
    if not minimum <= value <= maximum:
        raise ValidationError(field, f"must be between {minimum} and {maximum} fen", code="amount_out_of_range")
    return value


def integer_range(field: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, "must be an integer", code="invalid_integer")
    if not low <= value <= high:
        raise ValidationError(field, f"must be between {low} and {high}", code="out_of_range")
    return value


def effective_valid_time(valid_time: int) -> int:
    """The pay window the platform actually gives an order created with ``valid_time`` seconds.

    The newer create_order documentation (DOC-HG: HeartGarlic/douyin-openapi ``douyin_openapi.go``,
    "小于5分钟会被置为5分钟"; ecpay-spec §3.1) says a value under 300 is raised to 300, so an order
    sent with 180 (the documentation's own example) stays payable for 300 s. Whatever computes an
    expiry from ``valid_time`` must use this, or it gives up on an order that can still be paid.
    """
    return max(valid_time, PLATFORM_MIN_VALID_TIME)


def text(
    field: str,
    value: object,
    *,
    max_chars: int | None = None,
    max_bytes: int | None = None,
    required: bool = True,
) -> str:
    """Free text. Leading/trailing white space and a surrounding pair of double quotes are refused:
    implementations trim and strip differently (ecpay-spec §5.5, §8.2), so such a value could be
    signed one way here and verified another way there."""
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string", code="invalid_text")
    if not _encodable(value):
        raise ValidationError(field, "must be valid Unicode text (no lone surrogates)", code="invalid_text")
    if not value:
        if required:
            raise ValidationError(field, "must not be empty", code="missing_field")
        return value
    if value != value.strip(GO_WHITESPACE):
        raise ValidationError(field, "must not start or end with white space", code="invalid_text")
    if len(value) > 1 and value[0] == value[-1] == '"':
        raise ValidationError(field, "must not be wrapped in double quotes", code="invalid_text")
    if value == "null":
        raise ValidationError(
            field, 'must not be the text "null" (the platform skips it when signing)', code="invalid_text"
        )
    if max_chars is not None and len(value) > max_chars:
        raise ValidationError(field, f"must be at most {max_chars} characters", code="too_long")
    if max_bytes is not None and len(value.encode("utf-8")) > max_bytes:
        raise ValidationError(field, f"must be at most {max_bytes} bytes in UTF-8", code="too_long")
    return value


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def https_url(field: str, value: object, *, max_length: int = 256) -> str:
    """A callback URL: https with a host, as the platform requires (ecpay-spec §3.1)."""
    if not isinstance(value, str) or len(value) > max_length:
        raise ValidationError(field, f"must be an https URL of at most {max_length} characters", code="invalid_url")
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or any(c.isspace() for c in value) or not _encodable(value):
        raise ValidationError(field, "must be an https URL", code="invalid_url")
    return value


def flag(field: str, value: object) -> int:
    """A 0/1 switch (``disable_msg``, ``all_settle``); booleans are refused, they sign ambiguously."""
    if type(value) is not int or value not in (0, 1):  # 1.0 == 1 and True == 1: both refused
        raise ValidationError(field, "must be 0 or 1", code="invalid_flag")
    return value


def limit_pay_way(field: str, value: object) -> str:
    ways = text(field, value, max_chars=64)
    unknown = [w for w in ways.split(",") if w not in LIMIT_PAY_WAYS]
    if unknown:
        raise ValidationError(
            field, f"unknown channel(s) {unknown}; use {sorted(LIMIT_PAY_WAYS)}", code="invalid_limit_pay_way"
        )
    return ways


def expand_order_info(field: str, value: object) -> dict[str, int]:
    """Food-delivery fees: ``{"original_delivery_fee": fen, "actual_delivery_fee": fen}``."""
    keys = ("original_delivery_fee", "actual_delivery_fee")
    if not isinstance(value, Mapping) or set(value) - set(keys):
        raise ValidationError(field, f"must be an object with keys {list(keys)}", code="invalid_object")
    return {k: amount(f"{field}.{k}", value[k], minimum=0) for k in keys if k in value}


def settle_params(field: str, payees: object) -> list[dict[str, object]]:
    """Third-party payees of a settlement: at most 4, each a valid merchant_uid and a positive amount.

    An empty list is allowed and is sent as ``"[]"``: the payees are optional (MA-SETTLE) and the
    seller receives whatever no payee is given ("会自动将未指定的货款分配给卖家账户", DOC-2021:
    handsomegyr/bytedance ``Ecpay.php``), so ``[]`` means the same as no list. SDKs send it so:
    SKIT (``AppsECPaySettleV1Request.SettleParameterList`` defaults to an empty list, serialised
    as a JSON string) and DOC-2021's PHP sample (``json_encode`` of the array it is given).
    """
    if isinstance(payees, (str, bytes)) or not isinstance(payees, Sequence):
        raise ValidationError(field, "must be a list of {merchant_uid, amount}", code="invalid_settle_params")
    if len(payees) > MAX_SETTLE_PAYEES:
        raise ValidationError(field, f"must name at most {MAX_SETTLE_PAYEES} payees", code="invalid_settle_params")
    result: list[dict[str, object]] = []
    seen: set[str] = set()
    for i, payee in enumerate(payees):
        where = f"{field}[{i}]"
        uid = getattr(payee, "merchant_uid", None) if not isinstance(payee, Mapping) else payee.get("merchant_uid")
        fen = getattr(payee, "amount", None) if not isinstance(payee, Mapping) else payee.get("amount")
        uid = merchant_uid(f"{where}.merchant_uid", uid)
        if uid in seen:
            raise ValidationError(f"{where}.merchant_uid", "appears twice", code="duplicate_payee")
        seen.add(uid)
        result.append({"merchant_uid": uid, "amount": amount(f"{where}.amount", fen)})
    return result


def merchant_uid(field: str, value: object) -> str:
    """A merchant number (商户号): the platform states only "string, at most 32" (MA-SETTLE's
    settle_params, MA-RETURN), and its examples are not all digits and letters, so no character
    set is imposed beyond the signing-safety rules of :func:`text`."""
    try:
        return text(field, value, max_chars=MAX_MERCHANT_UID_CHARS)
    except ValidationError as exc:
        raise ValidationError(field, exc.detail, code="invalid_merchant_uid") from None


def finish(field: str, value: object) -> str | None:
    """The settle request's ``finish`` (完结分账: this settlement is the order's last).

    MA-SETTLE's notes name the flag; DOC-HG (HeartGarlic/douyin-openapi, ``SettleParams.Finish``)
    types it as a *string* sent only when set (``omitempty``). No source gives its values, so
    ``True`` is sent as the text ``"true"`` [inferred; confirm in the sandbox] and ``False`` sends
    nothing, which is what every other SDK does. Only real booleans are taken: ``1`` or ``"yes"``
    would be a guess at a wire form.
    """
    if type(value) is not bool:
        raise ValidationError(field, "must be True or False", code="invalid_flag")
    return "true" if value else None


def at_least_one(fields: Sequence[tuple[str, object]]) -> list[tuple[str, object]]:
    """Of alternative fields (e.g. ``settle_no`` / ``out_settle_no``), the given ones; at least one."""
    given = [(name, value) for name, value in fields if value is not None]
    if not given:
        names = " / ".join(name for name, _ in fields)
        raise ValidationError(names, "at least one must be given", code="missing_field")
    return given


def exactly_one(fields: Sequence[tuple[str, object]]) -> tuple[str, object]:
    """Of alternative fields (e.g. ``settle_no`` / ``out_settle_no``), exactly one must be given."""
    given = [(name, value) for name, value in fields if value is not None]
    if len(given) != 1:
        raise ValidationError(" / ".join(name for name, _ in fields), "exactly one must be given", code="missing_field")
    return given[0]
