"""Reading RSA keys in every encoding the console, its key tool and peers hand out (trade-spec §2.1).

App private keys come as PKCS#8 (``BEGIN PRIVATE KEY``), PKCS#1 (``BEGIN RSA PRIVATE KEY``) or bare
base64 DER of either, on one line or wrapped; platform public keys as SPKI (``BEGIN PUBLIC KEY``),
PKCS#1 (``BEGIN RSA PUBLIC KEY``) or bare base64 DER. Copy-paste helpers that read only one form fail
opaquely on the other (§9 pitfall 16), so all are read here, once.

``cryptography`` is imported inside the functions: a module importing this one (the callback
handler's cold start) pays for it only when a key is first used. Parsed keys are cached on the exact
text given, because parsing costs far more than one signature.

No error message here quotes the key text: it is a secret, and messages reach logs.
"""

from __future__ import annotations

import base64
import binascii
import functools
from typing import TYPE_CHECKING

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

# SHA256-RSA2048 is the scheme's name (trade-spec §2.1, §3.3): the app key must be exactly 2048 bits.
APP_KEY_BITS = 2048
# The platform key signs with the same scheme; a larger key is tolerated, a weaker one refused.
MIN_PLATFORM_KEY_BITS = 2048


def _der(text: str, what: str) -> bytes:
    """Bare base64 DER, one line or wrapped; white space anywhere is ignored."""
    compact = "".join(text.split())
    try:
        der = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(f"{what} is neither PEM nor base64 DER") from None
    if not der:
        raise ConfigurationError(f"{what} is empty")
    return der


def _text(key: str | bytes, what: str) -> str:
    if isinstance(key, bytes):
        try:
            key = key.decode("ascii")
        except UnicodeDecodeError:
            raise ConfigurationError(f"{what} is not ASCII PEM or base64 text") from None
    if not isinstance(key, str) or not key.strip():
        raise ConfigurationError(f"{what} is missing")
    return key.strip()


@functools.lru_cache(maxsize=16)
def private_key(key: str | bytes) -> RSAPrivateKey:
    """The app private key, checked to be RSA-2048. Raises :class:`ConfigurationError`."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    what = "the app private key"
    text = _text(key, what)
    try:
        if text.startswith("-----BEGIN"):
            # load_pem_private_key reads PKCS#8 and PKCS#1 ("traditional OpenSSL") PEM alike.
            parsed = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        else:
            parsed = serialization.load_der_private_key(_der(text, what), password=None)
    except TypeError:
        raise ConfigurationError(f"{what} is encrypted; give it unencrypted") from None
    except (ValueError, UnsupportedAlgorithm, UnicodeEncodeError):
        # `from None`: the parser's own message is not needed and the chain would keep the text.
        raise ConfigurationError(f"{what} is not a readable PKCS#8 or PKCS#1 private key") from None
    if not isinstance(parsed, RSAPrivateKey):
        raise ConfigurationError(f"{what} is not an RSA key (SHA256-RSA2048 needs RSA)")
    if parsed.key_size != APP_KEY_BITS:
        raise ConfigurationError(f"{what} is {parsed.key_size}-bit RSA; SHA256-RSA2048 needs 2048-bit")
    return parsed


@functools.lru_cache(maxsize=16)
def public_key(key: str | bytes) -> RSAPublicKey:
    """A platform public key, checked to be RSA of at least 2048 bits. Raises :class:`ConfigurationError`."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    what = "the platform public key"
    text = _text(key, what)
    try:
        if text.startswith("-----BEGIN"):
            # SPKI ("PUBLIC KEY") and PKCS#1 ("RSA PUBLIC KEY") PEM are both read here.
            parsed = serialization.load_pem_public_key(text.encode("ascii"))
        else:
            parsed = serialization.load_der_public_key(_der(text, what))
    except (ValueError, UnsupportedAlgorithm, UnicodeEncodeError):
        raise ConfigurationError(f"{what} is not a readable SPKI or PKCS#1 public key") from None
    if not isinstance(parsed, RSAPublicKey):
        raise ConfigurationError(f"{what} is not an RSA key")
    if parsed.key_size < MIN_PLATFORM_KEY_BITS:
        raise ConfigurationError(f"{what} is {parsed.key_size}-bit RSA; at least 2048-bit is required")
    return parsed
