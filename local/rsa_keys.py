"""RSA-2048 key pairs for the local stack and the tests: what a team makes with
``openssl genrsa -out app_private.pem 2048`` and uploads the public half of. Generated per run, so a
key only ever exists inside the process that made it."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def new_key() -> str:
    """A fresh RSA-2048 private key, PKCS#8 PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fmt = serialization.PrivateFormat.PKCS8
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


def public_pem(private_pem: str) -> str:
    """The SubjectPublicKeyInfo PEM of a private key (what is uploaded to the console)."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    fmt = serialization.PublicFormat.SubjectPublicKeyInfo
    return key.public_key().public_bytes(serialization.Encoding.PEM, fmt).decode()
