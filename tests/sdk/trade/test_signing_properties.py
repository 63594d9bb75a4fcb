"""Properties of SHA256-RSA2048 signing: round trip for any text, and any one-byte change fails."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from douyin_pay.errors import SignatureError
from douyin_pay.trade import parse_callback, rsa_sign, rsa_verify, signature_message
from tests.sdk.trade.helpers import SAMPLE_KEY, SAMPLE_PUBLIC_KEY, envelope, sign_callback

# Any Unicode text that has a UTF-8 encoding (no lone surrogates).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)


@settings(max_examples=40, deadline=None)
@given(body=TEXT, nonce=st.text("abcXYZ019_", min_size=1, max_size=32), ts=st.integers(0, 9_999_999_999))
def test_sign_then_verify_round_trips(body, nonce, ts):
    message = signature_message("POST", "/requestOrder", ts, nonce, body)
    assert rsa_verify(message, rsa_sign(message, SAMPLE_KEY), SAMPLE_PUBLIC_KEY)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), msg=TEXT)
def test_any_single_byte_change_to_the_body_fails_verification(data, msg):
    body = envelope("payment", msg)
    headers = sign_callback(body)
    index = data.draw(st.integers(0, len(body) - 1), label="index")
    delta = data.draw(st.integers(1, 255), label="delta")
    changed = bytearray(body)
    changed[index] = (changed[index] + delta) % 256
    message = b"%s\n%s\n%s\n" % (headers["Byte-Timestamp"].encode(), headers["Byte-Nonce-Str"].encode(), bytes(changed))
    assert not rsa_verify(message, headers["Byte-Signature"], SAMPLE_PUBLIC_KEY)
    try:
        parse_callback(headers, bytes(changed), SAMPLE_PUBLIC_KEY)
    except SignatureError:
        pass
    else:
        raise AssertionError("a changed body verified")
