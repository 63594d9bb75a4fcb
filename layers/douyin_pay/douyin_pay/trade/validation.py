"""Field rules of the trade system's requests (trade-spec §3.2, §4.5, §4.7, §4.8), checked before anything
is signed or sent.

Each checker raises :class:`~douyin_pay.errors.ValidationError` naming the field. Limits are in UTF-8
bytes where the platform states bytes. Where the spec is silent about a charset ([?]), a value is
accepted unless it holds control characters, which no platform field is documented to carry and which
would only cause trouble in logs and headers.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..errors import ValidationError

MAX_BUSINESS_NO_BYTES = 64  # outOrderNo (§3.2 [S]), order_id, out_refund_no (§4.5 [C])
MAX_URL_BYTES = 512  # payNotifyUrl (§3.2 [S]), notify_url (§4.5 [C])
MAX_SCHEMA_BYTES = 512  # Schema path and params (§3.2)
MAX_CP_EXTRA_BYTES = 2048  # cp_extra (§4.5), ext (§4.8)
INT64_MAX = 2**63 - 1  # amounts are int64 fen on the wire (§4.5)
CURRENCIES = frozenset({"CNY", "DIAMOND"})  # §3.2 currency

_SCHEMA_PATH = re.compile(r"[A-Za-z0-9_/]+")


def utf8_len(value: str) -> int:
    return len(value.encode("utf-8"))


def _has_control(value: str) -> bool:
    return any(unicodedata.category(c) in ("Cc", "Cs") for c in value)


def text(field: str, value: object, *, max_bytes: int | None = None, max_chars: int | None = None) -> str:
    """A non-empty string, valid Unicode, without control characters, within the limits."""
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string", code="invalid_text")
    if not value:
        raise ValidationError(field, "must not be empty", code="missing_field")
    return optional_text(field, value, max_bytes=max_bytes, max_chars=max_chars)


def optional_text(field: str, value: object, *, max_bytes: int | None = None, max_chars: int | None = None) -> str:
    """Like :func:`text`, but the empty string is allowed (free text such as ``cp_extra``)."""
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string", code="invalid_text")
    if _has_control(value):
        raise ValidationError(field, "must not contain control characters or lone surrogates", code="invalid_text")
    if max_chars is not None and len(value) > max_chars:
        raise ValidationError(field, f"must be at most {max_chars} characters", code="too_long")
    if max_bytes is not None and utf8_len(value) > max_bytes:
        raise ValidationError(field, f"must be at most {max_bytes} bytes in UTF-8", code="too_long")
    return value


def business_no(field: str, value: object) -> str:
    """A platform or developer number (``order_id``, ``out_*_no``): 1–64 bytes.

    The charset is undocumented (§3.2, §10.3 [?]); only control characters and surrounding white space
    are refused, since an id that trims differently in two systems would not match itself.
    """
    result = text(field, value, max_bytes=MAX_BUSINESS_NO_BYTES)
    if result != result.strip():
        raise ValidationError(field, "must not start or end with white space", code="invalid_business_no")
    return result


def integer(field: str, value: object, low: int, high: int) -> int:
    """An integer in [low, high]; bools and floats are refused, never rounded."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, "must be an integer", code="invalid_integer")
    if not low <= value <= high:
        raise ValidationError(field, f"must be between {low} and {high}", code="out_of_range")
    return value


def amount(field: str, value: object) -> int:
    """A positive amount in integer fen (or diamonds, §3.2 currency)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, "must be an integer amount in fen", code="invalid_amount")
    if not 0 < value <= INT64_MAX:
        raise ValidationError(field, "must be a positive amount", code="amount_out_of_range")
    return value


def currency(field: str, value: object) -> str:
    if not isinstance(value, str) or value not in CURRENCIES:
        raise ValidationError(field, f"must be one of {sorted(CURRENCIES)}", code="invalid_currency")
    return str(value)


def https_url(field: str, value: object, *, max_bytes: int = MAX_URL_BYTES) -> str:
    """A callback URL: https with a host, at most ``max_bytes``."""
    url = text(field, value, max_bytes=max_bytes)
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or any(c.isspace() for c in url):
        raise ValidationError(field, "must be an https URL", code="invalid_url")
    return url


def flag(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(field, "must be true or false", code="invalid_flag")
    return value


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"repeated key {key!r}")
        result[key] = value
    return result


def compact_json(field: str, value: object) -> str:
    """``value`` as compact JSON text (what goes on the wire as a string field)."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        raise ValidationError(field, "must be JSON-serialisable (strings, integers, lists, objects)") from None


def json_object_text(field: str, value: object, *, max_bytes: int | None = None) -> str:
    """A JSON object as a string: a mapping is serialised compactly; a string must already be one.

    Keys must not repeat (§3.2 Schema). The result is what is sent and signed.
    """
    if isinstance(value, Mapping):
        result = compact_json(field, dict(value))
    elif isinstance(value, str):
        try:
            parsed = json.loads(value, object_pairs_hook=_no_duplicate_keys)
        except (ValueError, RecursionError):
            raise ValidationError(field, "must be a JSON object without repeated keys", code="invalid_json") from None
        if not isinstance(parsed, dict):
            raise ValidationError(field, "must be a JSON object", code="invalid_json")
        result = value
    else:
        raise ValidationError(field, "must be a mapping or the text of a JSON object", code="invalid_json")
    # JSON text may hold white space between tokens (json.loads refused any other control character);
    # only a lone surrogate, which has no UTF-8, and the size are left to check.
    if any(unicodedata.category(c) == "Cs" for c in result):
        raise ValidationError(field, "must be valid Unicode (no lone surrogates)", code="invalid_text")
    if max_bytes is not None and utf8_len(result) > max_bytes:
        raise ValidationError(field, f"must be at most {max_bytes} bytes in UTF-8", code="too_long")
    return result


def schema_path(field: str, value: object) -> str:
    """A mini-program page path: ``[A-Za-z0-9_/]``, no leading ``/``, no query, ≤512 bytes (§3.2)."""
    path = text(field, value, max_bytes=MAX_SCHEMA_BYTES)
    if not _SCHEMA_PATH.fullmatch(path) or path.startswith("/"):
        raise ValidationError(
            field, "must be a page path of letters, digits, _ and / without a leading /", code="invalid_path"
        )
    return path


def schema(field: str, path: object, params: object) -> dict[str, str]:
    """A page Schema ``{path, params}``; ``params`` is a JSON object *string* ≤512 bytes (§3.2).

    No params is sent as ``"{}"``: the field is documented as a k-v JSON string, and an empty object
    is the one value that means "none" in that shape.
    """
    return {
        "path": schema_path(f"{field}.path", path),
        "params": json_object_text(f"{field}.params", {} if params is None else params, max_bytes=MAX_SCHEMA_BYTES),
    }


def exactly_one(fields: list[tuple[str, object]]) -> tuple[str, object]:
    """Of alternative lookup keys, exactly one must be given."""
    given = [(name, value) for name, value in fields if value is not None]
    if len(given) != 1:
        names = " / ".join(name for name, _ in fields)
        raise ValidationError(names, "exactly one must be given", code="missing_field")
    return given[0]
