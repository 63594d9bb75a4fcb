"""SHA256-RSA2048: the 5-line string to sign, signing, verifying, and tt.requestOrder's byteAuthorization.

trade-spec §3.3: the string to sign is five lines, each ending in ``\\n`` (method, URI, timestamp,
nonce, body); the signature is RSASSA-PKCS1-v1_5 with SHA-256 over its UTF-8 bytes, in standard
base64. For tt.requestOrder the method and URI are the constants ``POST`` and ``/requestOrder``, and
the body is the exact ``data`` string handed to the client: what is signed is what is sent, never a
re-serialisation (§9 pitfall 2).
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import string
import time
from collections.abc import Sequence

from ..errors import ConfigurationError, ValidationError
from . import keys

SCHEME = "SHA256-RSA2048"
REQUEST_ORDER_URI = "/requestOrder"

_NONCE_ALPHABET = string.ascii_letters + string.digits
NONCE_LENGTH = 32
# byteAuthorization's values are unquoted (§9 pitfall 1), so none may hold a separator of the header.
_UNSAFE_IN_HEADER = re.compile(r'[,"=\s]')
_DIGITS = re.compile(r"[0-9]+")


def new_nonce() -> str:
    """32 characters of ``[A-Za-z0-9]`` from :mod:`secrets`: safe unquoted (§3.3 [I])."""
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(NONCE_LENGTH))


def _line(field: str, value: object) -> str:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str):
        raise ValidationError(field, "must be a string", code="invalid_text")
    if "\n" in text or "\r" in text:
        # A line break would move text from one line of the signed string to another.
        raise ValidationError(field, "must not contain a line break", code="invalid_text")
    return text


def signature_message(method: str, uri: str, timestamp: int | str, nonce: str, body: str) -> str:
    """``f"{method}\\n{uri}\\n{timestamp}\\n{nonce}\\n{body}\\n"``, the string SHA256-RSA2048 signs.

    Every part is used as given (the platform signs ``POST``, upper case); only ``body`` may hold
    line breaks, being the last line.
    """
    if not isinstance(body, str):
        raise ValidationError("body", "must be a string", code="invalid_text")
    parts = [_line(name, value) for name, value in (("method", method), ("uri", uri), ("timestamp", timestamp))]
    return "\n".join([*parts, _line("nonce", nonce), body]) + "\n"


def _utf8(message: str | bytes) -> bytes:
    if isinstance(message, bytes):
        return message
    if not isinstance(message, str):
        raise ValidationError("message", "must be text or bytes", code="invalid_text")
    try:
        return message.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("message", "must be valid Unicode (no lone surrogates)", code="invalid_text") from None


def _key_text(key: object, what: str) -> str | bytes:
    # Checked before the cached parser sees it: an unhashable value would fail with a TypeError.
    if not isinstance(key, (str, bytes)):
        raise ConfigurationError(f"{what} must be PEM or base64 DER text")
    return key


def rsa_sign(message: str | bytes, private_key_pem: str | bytes) -> str:
    """SHA256withRSA (PKCS#1 v1.5) of ``message``'s UTF-8 bytes with the app private key, base64.

    The key may be PKCS#8 or PKCS#1 PEM, or bare base64 DER of either; it must be RSA-2048
    (:class:`ConfigurationError` otherwise, never quoting the key).
    """
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    data = _utf8(message)
    key = keys.private_key(_key_text(private_key_pem, "the app private key"))
    return base64.b64encode(key.sign(data, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")


def platform_keys(public_keys: str | bytes | Sequence[str | bytes]) -> tuple[object, ...]:
    """The parsed platform keys; none at all is a configuration error, never a pass."""
    given = (public_keys,) if isinstance(public_keys, (str, bytes)) else public_keys
    if isinstance(given, Sequence):
        given = tuple(given)
    else:
        raise ConfigurationError("the platform public keys must be a key or a sequence of keys")
    if not given:
        raise ConfigurationError("no platform public key configured")
    return tuple(keys.public_key(_key_text(k, "the platform public key")) for k in given)


def rsa_verify(message: str | bytes, signature_b64: str, public_keys: str | bytes | Sequence[str | bytes]) -> bool:
    """Whether ``signature_b64`` is a valid SHA256withRSA signature of ``message`` by any of ``public_keys``.

    Several keys cover a rotation: true if any verifies. A signature that is not strict base64 is
    simply not valid (False); an unreadable key is a :class:`ConfigurationError`.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    candidates = platform_keys(public_keys)
    data = _utf8(message)
    if not isinstance(signature_b64, str) or not signature_b64:
        return False
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return False
    for key in candidates:
        try:
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[attr-defined]
        except InvalidSignature:
            continue
        return True
    return False


def _header_value(field: str, value: object, error: type[Exception]) -> str:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not text or _UNSAFE_IN_HEADER.search(text):
        message = 'must be non-empty, without , " = or white space (byteAuthorization is unquoted)'
        if error is ConfigurationError:
            raise ConfigurationError(f"{field} {message}")
        raise ValidationError(field, message, code="invalid_header_value")
    return text


def _timestamp(value: int | str | None) -> str:
    if value is None:
        return str(int(time.time()))
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return value
    raise ValidationError("timestamp", "must be unix seconds (a non-negative integer)", code="invalid_timestamp")


def byte_authorization(
    app_id: str,
    data: str,
    private_key_pem: str | bytes,
    key_version: str | int,
    *,
    timestamp: int | str | None = None,
    nonce: str | None = None,
) -> str:
    """tt.requestOrder's ``byteAuthorization`` for ``data`` (trade-spec §3.3).

    ``SHA256-RSA2048 appid=…,nonce_str=…,timestamp=…,key_version=…,signature=…``: unquoted, in the
    official order, over ``signature_message("POST", "/requestOrder", timestamp, nonce, data)``.
    ``timestamp`` defaults to now (unix seconds), ``nonce`` to 32 random alphanumerics.
    """
    app = _header_value("app_id", app_id, ConfigurationError)
    version = _header_value("key_version", key_version, ConfigurationError)
    nonce_str = _header_value("nonce", new_nonce() if nonce is None else nonce, ValidationError)
    ts = _timestamp(timestamp)
    if not isinstance(data, str) or not data:
        raise ValidationError("data", "must be the non-empty data string", code="invalid_text")
    signature = rsa_sign(signature_message("POST", REQUEST_ORDER_URI, ts, nonce_str, data), private_key_pem)
    return f"{SCHEME} appid={app},nonce_str={nonce_str},timestamp={ts},key_version={version},signature={signature}"
