"""Request signing (MD5 + SALT) and callback signing (SHA1 + token), as the official demos do.

The platform is written in Go and signs what it decodes from the body (ecpay-spec §5.2, §5.4), so
this module reproduces the official Go sample exactly, with two decisions of our own that remove
the sample's ambiguities instead of guessing at them:

* integers are rendered as plain digits at any size (never ``1e+06``);
* a dict or list is rendered as compact JSON text, and :func:`wire_value` turns it into exactly
  that string for the request body, so what is signed is what is sent.

Floats, booleans and ``None`` have no rendering every implementation agrees on, so they are refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from ..errors import UnsignableValueError

# Identity fields the platform never signs (official demos, ecpay-spec §5.2).
UNSIGNED_KEYS = frozenset({"app_id", "thirdparty_id", "sign", "other_settle_params"})

# Go's strings.TrimSpace set (unicode.IsSpace). Python's str.strip() would also strip U+001C..U+001F,
# which Go keeps, so the set is spelled out.
GO_WHITESPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


def wire_value(key: str, value: object) -> str | int:
    """Return ``value`` as it is put in the JSON request body.

    Strings and integers go as they are; a dict or list becomes its compact JSON text (a string
    field), which is also what gets signed.
    """
    if isinstance(value, bool) or value is None or isinstance(value, float):
        raise UnsignableValueError(key, type(value))
    if isinstance(value, (str, int)):
        return value
    if isinstance(value, (Mapping, list, tuple)):
        try:
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise UnsignableValueError(key, type(value)) from exc
    raise UnsignableValueError(key, type(value))


def _render(key: str, value: object) -> str:
    wired = wire_value(key, value)
    text = wired if isinstance(wired, str) else str(wired)
    try:
        text.encode("utf-8")  # the signature is over UTF-8; a lone surrogate has no encoding
    except UnicodeEncodeError as exc:
        raise UnsignableValueError(key, type(value)) from exc
    return text


def _normalise(text: str) -> str:
    text = text.strip(GO_WHITESPACE)
    if len(text) > 1 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1]
    return text.strip(GO_WHITESPACE)


def request_sign(params: Mapping[str, object], salt: str) -> str:
    """The ``sign`` field of an ecpay v1 request body: lowercase hex MD5 (ecpay-spec §5.2).

    Every top-level value except the four identity keys is rendered, trimmed, stripped of one pair
    of surrounding double quotes and trimmed again; ``""`` and ``"null"`` are dropped (zero is kept);
    the SALT is added; the values are sorted by code point (= UTF-8 byte order, as Go sorts) and
    joined with ``&``.
    """
    values = []
    for key, value in params.items():
        if key in UNSIGNED_KEYS:
            continue
        text = _normalise(_render(key, value))
        if text in ("", "null"):
            continue
        values.append(text)
    values.append(salt)
    values.sort()
    return hashlib.md5("&".join(values).encode("utf-8")).hexdigest()


def callback_sign(token: str, timestamp: str, nonce: str, msg: str) -> str:
    """The expected ``msg_signature`` of a callback: SHA1 of the four sorted strings, concatenated."""
    parts = sorted((token, timestamp, nonce, msg))
    return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()
