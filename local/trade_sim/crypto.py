"""The platform's side of the trade system's RSA signatures (trade-spec §3.3, §5.2), written for
the simulator from the spec with ``cryptography`` primitives.

This module deliberately does not use the SDK (``douyin_pay``): if the simulator checked
byteAuthorization and signed callbacks with the SDK's own code, a bug there would agree with
itself and every end-to-end test would still pass.

* Algorithm: RSASSA-PKCS1-v1_5 with SHA-256 over the UTF-8 bytes, standard Base64 (with padding).
* tt.requestOrder signs ``POST\\n/requestOrder\\n{timestamp}\\n{nonce}\\n{data}\\n`` with the app
  private key; the platform verifies it with the app public key of the sent ``key_version``.
* A callback is signed over ``{Byte-Timestamp}\\n{Byte-Nonce-Str}\\n{raw body}\\n`` with the
  platform private key.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SCHEME: Final = "SHA256-RSA2048"
AUTH_FIELDS: Final = ("appid", "nonce_str", "timestamp", "key_version", "signature")


class AuthorizationError(ValueError):
    """A byteAuthorization value that cannot be parsed."""


# ---------------------------------------------------------------------------- keys


def _der_or_pem(text: str) -> tuple[bytes, bool]:
    """(bytes, is_pem): PEM text as is, or a bare base64 DER blob decoded (trade-spec §2.1)."""
    stripped = text.strip()
    if stripped.startswith("-----BEGIN"):
        return stripped.encode("ascii"), True
    try:
        return base64.b64decode("".join(stripped.split()), validate=True), False
    except (binascii.Error, ValueError):
        raise ValueError("not a PEM key nor base64 DER") from None


@functools.lru_cache(maxsize=64)
def load_private_key(text: str) -> rsa.RSAPrivateKey:
    """A PKCS#8 or PKCS#1 private key, PEM or bare base64 DER."""
    data, is_pem = _der_or_pem(text)
    try:
        key = (
            serialization.load_pem_private_key(data, password=None)
            if is_pem
            else serialization.load_der_private_key(data, password=None)
        )
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not an RSA private key: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


@functools.lru_cache(maxsize=64)
def load_public_key(text: str) -> rsa.RSAPublicKey:
    """An SPKI (``BEGIN PUBLIC KEY``) or PKCS#1 (``BEGIN RSA PUBLIC KEY``) key, PEM or base64 DER."""
    data, is_pem = _der_or_pem(text)
    try:
        key = serialization.load_pem_public_key(data) if is_pem else serialization.load_der_public_key(data)
    except (ValueError, TypeError, AssertionError) as exc:
        raise ValueError(f"not an RSA public key: {exc}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key


def load_app_public_key(text: str) -> rsa.RSAPublicKey:
    """An app public key as the console accepts it: RSA with a 2048-bit modulus (SHA256-RSA2048)."""
    if not isinstance(text, str):
        raise ValueError("a public key is PEM text")
    key = load_public_key(text)
    if key.key_size != 2048:
        raise ValueError(f"the app key must be RSA-2048 (SHA256-RSA2048), not {key.key_size}-bit")
    return key


def generate_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


@functools.lru_cache(maxsize=64)
def public_pem_of(private_key_pem: str) -> str:
    """The SPKI PEM of a private key's public half."""
    public = load_private_key(private_key_pem).public_key()
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(
        "ascii"
    )


# ---------------------------------------------------------------------------- sign / verify


def sign(private_key_pem: str, message: bytes) -> str:
    """Base64 SHA256withRSA (PKCS#1 v1.5) signature of ``message``."""
    signature = load_private_key(private_key_pem).sign(message, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def verify(public_key_pem: str, message: bytes, signature_b64: str) -> bool:
    """Whether ``signature_b64`` (strict standard Base64) signs ``message`` under the key."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        load_public_key(public_key_pem).verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def request_order_message(timestamp: str, nonce: str, data: str) -> bytes:
    """The five-line string tt.requestOrder's byteAuthorization signs (§3.3)."""
    return f"POST\n/requestOrder\n{timestamp}\n{nonce}\n{data}\n".encode()


def callback_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    """What Byte-Signature signs: the raw body bytes, never a re-serialisation (§5.2)."""
    return timestamp.encode("ascii") + b"\n" + nonce.encode("ascii") + b"\n" + body + b"\n"


# ---------------------------------------------------------------------------- byteAuthorization

# One k=v pair: a quoted value (no '"' inside) or an unquoted one running to the next comma.
_PAIR = re.compile(r'\s*([A-Za-z_]+)\s*=\s*(?:"([^"]*)"|([^,"]*?))\s*(?:,|$)')


def parse_byte_authorization(value: str) -> dict[str, str]:
    """``SHA256-RSA2048 k=v,k="v",…`` → {k: v}. Values may be quoted or not, in any order (§3.3).

    Raises :class:`AuthorizationError` on another scheme, a malformed pair, a repeated or a
    missing field. Unknown fields are ignored.
    """
    if not isinstance(value, str):
        raise AuthorizationError("byteAuthorization must be a string")
    scheme, sep, rest = value.strip().partition(" ")
    if scheme != SCHEME or not sep:
        raise AuthorizationError(f"the scheme must be {SCHEME}")
    rest = rest.strip()
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        match = _PAIR.match(rest, pos)
        if match is None or match.end() == pos:
            raise AuthorizationError(f"malformed byteAuthorization near {rest[pos : pos + 20]!r}")
        key = match.group(1)
        if key in fields:
            raise AuthorizationError(f"{key} appears twice")
        fields[key] = match.group(2) if match.group(2) is not None else match.group(3)
        pos = match.end()
    missing = [k for k in AUTH_FIELDS if not fields.get(k)]
    if missing:
        raise AuthorizationError(f"missing {', '.join(missing)}")
    return {k: fields[k] for k in AUTH_FIELDS}
