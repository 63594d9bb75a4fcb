"""signature_message, rsa_sign / rsa_verify and byte_authorization beyond the vectors."""

from __future__ import annotations

import base64
import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from douyin_pay.errors import ConfigurationError, ValidationError
from douyin_pay.trade import byte_authorization, new_nonce, rsa_sign, rsa_verify, signature_message
from douyin_pay.trade import keys as trade_keys
from tests.sdk.trade.helpers import SAMPLE_KEY, SAMPLE_PUBLIC_KEY, other_key, private_pem, public_pem, vector

V1 = vector("rsa_sign")


def pem_of(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class TestSignatureMessage:
    def test_five_lines_each_ending_in_lf(self):
        assert signature_message("POST", "/requestOrder", 1, "n", "a\nb") == "POST\n/requestOrder\n1\nn\na\nb\n"

    @pytest.mark.parametrize("field", ["method", "uri", "timestamp", "nonce"])
    def test_a_line_break_outside_the_body_is_refused(self, field):
        parts = {"method": "POST", "uri": "/x", "timestamp": "1", "nonce": "n", "body": "{}"}
        parts[field] = "a\rb" if field == "uri" else "a\nb"
        with pytest.raises(ValidationError) as info:
            signature_message(**parts)
        assert info.value.field == field


class TestKeys:
    def test_a_1024_bit_key_is_a_configuration_error(self):
        small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - must be refused
        with pytest.raises(ConfigurationError, match="1024-bit"):
            rsa_sign("x", pem_of(small))

    def test_a_non_rsa_key_is_a_configuration_error(self):
        with pytest.raises(ConfigurationError, match="not an RSA key"):
            rsa_sign("x", pem_of(ec.generate_private_key(ec.SECP256R1())))

    @pytest.mark.parametrize(
        "bad",
        ["", "   ", "not a key at all!", "QUJD", "-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n", 42],
    )
    def test_unreadable_private_keys_never_echo_the_text(self, bad):
        with pytest.raises(ConfigurationError) as info:
            rsa_sign("x", bad)
        assert info.value.__cause__ is None
        if isinstance(bad, str) and len(bad) > 3:
            assert bad.strip() not in str(info.value)

    def test_the_key_is_never_in_the_error(self):
        truncated = SAMPLE_KEY[:-40]
        with pytest.raises(ConfigurationError) as info:
            rsa_sign("x", truncated)
        text = str(info.value) + repr(info.value.args)
        assert SAMPLE_KEY[:40] not in text
        assert SAMPLE_KEY[100:140] not in text

    def test_an_encrypted_key_is_refused_clearly(self):
        key = other_key().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pw"),
        )
        with pytest.raises(ConfigurationError, match="encrypted"):
            rsa_sign("x", key.decode())

    def test_parsed_keys_are_cached(self):
        trade_keys.private_key.cache_clear()
        rsa_sign("a", SAMPLE_KEY)
        rsa_sign("b", SAMPLE_KEY)
        info = trade_keys.private_key.cache_info()
        assert (info.misses, info.hits) == (1, 1)

    def test_a_weak_platform_key_is_refused(self):
        small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - must be refused
        with pytest.raises(ConfigurationError, match="at least 2048"):
            rsa_verify("x", "QUJD", public_pem(small))

    def test_no_platform_key_is_a_configuration_error_not_a_pass(self):
        with pytest.raises(ConfigurationError):
            rsa_verify(V1["message"], V1["signature"], [])
        with pytest.raises(ConfigurationError):
            rsa_verify(V1["message"], V1["signature"], "")

    def test_a_private_key_given_as_the_platform_key_is_refused(self):
        with pytest.raises(ConfigurationError):
            rsa_verify(V1["message"], V1["signature"], private_pem())


class TestVerify:
    @pytest.mark.parametrize("garbled", ["", "!!!!", "abc", V1["signature"] + "A", "Zm9v\n", "签名", None])
    def test_garbled_signatures_are_false_not_errors(self, garbled):
        assert rsa_verify(V1["message"], garbled, SAMPLE_PUBLIC_KEY) is False

    def test_rotation_either_key_verifies(self):
        old, new = SAMPLE_PUBLIC_KEY, public_pem(other_key())
        by_new = rsa_sign("hello", pem_of(other_key()))
        assert rsa_verify(V1["message"], V1["signature"], [new, old])
        assert rsa_verify("hello", by_new, [old, new])
        assert not rsa_verify("hello", by_new, [old])
        assert not rsa_verify(V1["message"], V1["signature"], (new,))

    def test_signature_of_another_message_is_false(self):
        assert not rsa_verify("other", V1["signature"], SAMPLE_PUBLIC_KEY)

    def test_round_trip_with_non_ascii(self):
        message = 'POST\n/requestOrder\n1\nn\n{"title":"测试商品 ☕"}\n'
        assert rsa_verify(message.encode("utf-8"), rsa_sign(message, SAMPLE_KEY), SAMPLE_PUBLIC_KEY)

    def test_signature_is_standard_base64_of_256_bytes(self):
        signature = rsa_sign("x", SAMPLE_KEY)
        assert len(base64.b64decode(signature, validate=True)) == 256


class TestByteAuthorization:
    PATTERN = re.compile(
        r"SHA256-RSA2048 appid=tt1,nonce_str=(?P<nonce>[A-Za-z0-9]{32}),timestamp=(?P<ts>[0-9]+),"
        r"key_version=3,signature=(?P<sig>[A-Za-z0-9+/]+={0,2})"
    )

    def test_defaults_are_now_and_a_fresh_32_char_nonce(self, monkeypatch):
        monkeypatch.setattr("time.time", lambda: 1_700_000_123.9)
        first = self.PATTERN.fullmatch(byte_authorization("tt1", "{}", SAMPLE_KEY, 3))
        second = self.PATTERN.fullmatch(byte_authorization("tt1", "{}", SAMPLE_KEY, "3"))
        assert first
        assert second
        assert first["ts"] == "1700000123"
        assert first["nonce"] != second["nonce"]
        message = signature_message("POST", "/requestOrder", first["ts"], first["nonce"], "{}")
        assert rsa_verify(message, first["sig"], SAMPLE_PUBLIC_KEY)

    def test_new_nonce_alphabet(self):
        nonces = {new_nonce() for _ in range(50)}
        assert len(nonces) == 50
        assert all(re.fullmatch(r"[A-Za-z0-9]{32}", n) for n in nonces)

    @pytest.mark.parametrize("nonce", ["a,b", 'a"b', "a=b", "a b", "a\tb", "a\rb", "a\nb", ""])
    def test_unsafe_nonces_are_refused(self, nonce):
        with pytest.raises(ValidationError) as info:
            byte_authorization("tt1", "{}", SAMPLE_KEY, 1, nonce=nonce)
        assert info.value.field == "nonce"

    @pytest.mark.parametrize("timestamp", [-1, 1.5, True, "12a", "", "1e9"])
    def test_bad_timestamps_are_refused(self, timestamp):
        with pytest.raises(ValidationError):
            byte_authorization("tt1", "{}", SAMPLE_KEY, 1, timestamp=timestamp, nonce="n")

    @pytest.mark.parametrize(("app_id", "version"), [("tt,1", 1), ("", 1), ("tt1", "1 "), ("tt1", True), ("tt1", "")])
    def test_unsafe_app_id_or_key_version_is_a_configuration_error(self, app_id, version):
        with pytest.raises(ConfigurationError):
            byte_authorization(app_id, "{}", SAMPLE_KEY, version, timestamp=1, nonce="n")

    def test_empty_data_is_refused(self):
        with pytest.raises(ValidationError):
            byte_authorization("tt1", "", SAMPLE_KEY, 1, timestamp=1, nonce="n")
