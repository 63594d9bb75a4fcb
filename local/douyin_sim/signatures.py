"""The platform's side of the two ecpay signatures (ecpay-spec §5.2, §6.2), written for the simulator.

This module deliberately does not use the SDK (``douyin_pay``): if the simulator checked requests
and signed callbacks with the SDK's own code, a bug there would agree with itself and every
end-to-end test would still pass. It is written from the spec, the way the Go platform works:

* a request's ``sign`` is checked against the body *as decoded*, each top-level value rendered as
  Go prints it (§5.4): a string as itself, a number as its JSON text (json.Number, so 1000000 is
  never ``1e+06``), ``true``/``false``, and a JSON null as ``<nil>`` — which, unlike ``""`` and
  ``"null"``, is *not* dropped;
* an object or array value is signed as its compact JSON text (keys in the order received, numbers
  as sent). §5.4 leaves this open; compact JSON is the rule the layer sends by (it puts such values
  in the body as that very string), so a client following it gets the same answer here either way.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from .validation import RawNumber

# Fields that identify the caller or carry the signature; never signed (§5.2).
_NOT_SIGNED = frozenset({"sign", "app_id", "thirdparty_id", "other_settle_params"})

# Go's strings.TrimSpace removes what unicode.IsSpace accepts: the Latin-1 spaces (\t \n \v \f \r,
# space, NEL, NBSP) and, above Latin-1, the Unicode White_Space property. Python's str.strip()
# differs (it also strips U+001C..U+001F), so the set is written out.
_GO_SPACE = "".join(
    ["\t\n\v\f\r \x85\xa0", "\u1680", *map(chr, range(0x2000, 0x200B)), "\u2028\u2029\u202f\u205f\u3000"]
)


class UnsignableBody(ValueError):
    """A value with no UTF-8 text (a lone surrogate from a ``\\ud800`` escape): nothing can match it."""


def _compact_json(value: Any) -> str:
    """JSON text with no spaces, numbers exactly as they arrived."""
    if isinstance(value, RawNumber):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{_compact_json(k)}:{_compact_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_compact_json(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _go_text(value: Any) -> str:
    """How the platform prints one decoded top-level value before trimming."""
    if isinstance(value, str):  # a RawNumber is its own text, as json.Number is in Go
        return str(value)
    if value is True or value is False:  # before int: bool is an int in Python, not in JSON
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value is None:
        return "<nil>"
    return _compact_json(value)


def _signed_form(text: str) -> str:
    """Trim, drop one pair of surrounding double quotes, trim again (§5.2)."""
    text = text.strip(_GO_SPACE)
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        text = text[1:-1]
    return text.strip(_GO_SPACE)


def request_signature(body: Mapping[str, Any], salt: str) -> str:
    """The ``sign`` the platform expects for a decoded request body (lowercase hex MD5)."""
    parts = [salt]
    for key, value in body.items():
        if key in _NOT_SIGNED:
            continue
        text = _signed_form(_go_text(value))
        if text not in ("", "null"):
            parts.append(text)
    try:
        encoded = [part.encode("utf-8") for part in parts]
    except UnicodeEncodeError as exc:
        raise UnsignableBody("a body value has no UTF-8 form") from exc
    # Go's sort.Strings compares bytes, so sort the UTF-8 bytes themselves.
    return hashlib.md5(b"&".join(sorted(encoded))).hexdigest()


def request_sign_matches(body: Mapping[str, Any], salt: str, sign: str) -> bool:
    """Whether ``sign`` is the platform's signature of ``body``, compared in constant time."""
    try:
        expected = request_signature(body, salt)
    except UnsignableBody:
        return False
    # surrogatepass: a sign holding a lone surrogate must be a mismatch, not a crash.
    return hmac.compare_digest(expected.encode("ascii"), sign.encode("utf-8", "surrogatepass"))


def callback_signature(token: str, timestamp: str, nonce: str, msg: str) -> str:
    """A callback's ``msg_signature``: SHA1 hex of token, timestamp, nonce and msg, sorted and
    concatenated with no separator (§6.2)."""
    parts = sorted(part.encode("utf-8") for part in (token, timestamp, nonce, msg))
    return hashlib.sha1(b"".join(parts)).hexdigest()
