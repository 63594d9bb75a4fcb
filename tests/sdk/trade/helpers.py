"""Shared test material: the V-R1 sample key pair (trade-spec §3.4, a published sample, not a
credential), key conversions done with cryptography itself, and a callback signer that plays the
platform as §5.6 does."""

from __future__ import annotations

import base64
import functools
import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from douyin_pay.trade import rsa_sign

VECTORS_FILE = Path(__file__).parent / "vectors" / "trade-vectors.json"
VECTORS: list[dict] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))


def vector(kind: str) -> dict:
    [found] = [v for v in VECTORS if v["kind"] == kind]
    return found


SAMPLE_KEY = vector("rsa_sign")["private_key"]  # bare base64 PKCS#8 DER, one line
SAMPLE_PUBLIC_KEY = vector("rsa_sign")["public_key"]  # bare base64 SPKI DER


def _loaded_sample():
    return serialization.load_der_private_key(base64.b64decode(SAMPLE_KEY), password=None)


def private_pem(key=None, fmt: str = "pkcs8") -> str:
    key = key or _loaded_sample()
    form = serialization.PrivateFormat.PKCS8 if fmt == "pkcs8" else serialization.PrivateFormat.TraditionalOpenSSL
    return key.private_bytes(serialization.Encoding.PEM, form, serialization.NoEncryption()).decode()


def private_der_b64(key=None, fmt: str = "pkcs8") -> str:
    key = key or _loaded_sample()
    form = serialization.PrivateFormat.PKCS8 if fmt == "pkcs8" else serialization.PrivateFormat.TraditionalOpenSSL
    return base64.b64encode(key.private_bytes(serialization.Encoding.DER, form, serialization.NoEncryption())).decode()


def public_pem(key=None, fmt: str = "spki") -> str:
    key = (key or _loaded_sample()).public_key()
    form = serialization.PublicFormat.SubjectPublicKeyInfo if fmt == "spki" else serialization.PublicFormat.PKCS1
    return key.public_bytes(serialization.Encoding.PEM, form).decode()


def public_der_b64(key=None, fmt: str = "spki") -> str:
    key = (key or _loaded_sample()).public_key()
    form = serialization.PublicFormat.SubjectPublicKeyInfo if fmt == "spki" else serialization.PublicFormat.PKCS1
    return base64.b64encode(key.public_bytes(serialization.Encoding.DER, form)).decode()


@functools.cache
def other_key() -> rsa.RSAPrivateKey:
    """A second 2048-bit key, for rotations and wrong-key cases (generated once per run)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


TS = "1700000001"
NONCE = "m7cgbhrKIYu9V94xgCOEekbG9Vh7y50j"


def envelope(kind: str, msg: dict | str, version: str = "3.0") -> bytes:
    text = msg if isinstance(msg, str) else json.dumps(msg, ensure_ascii=False, separators=(",", ":"))
    return json.dumps({"version": version, "msg": text, "type": kind}, ensure_ascii=False).encode()


def sign_callback(body: bytes, *, ts: str = TS, nonce: str = NONCE, key: str = SAMPLE_KEY) -> dict[str, str]:
    """The headers the platform would send with ``body``."""
    signature = rsa_sign(b"%s\n%s\n%s\n" % (ts.encode(), nonce.encode(), body), key)
    return {"Byte-Timestamp": ts, "Byte-Nonce-Str": nonce, "Byte-Signature": signature, "Byte-Logid": "LOG1"}


def signed(kind: str, msg: dict | str, **kwargs) -> tuple[dict[str, str], bytes]:
    body = envelope(kind, msg)
    return sign_callback(body, **kwargs), body
