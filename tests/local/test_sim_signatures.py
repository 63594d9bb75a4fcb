"""The simulator's own signature code (local/douyin_sim/signatures.py), checked on known answers.

Every expectation is either a public vector or the exact string the platform hashes, worked out by
hand from ecpay-spec §5.2 / §6.2; nothing here asks the SDK, which the simulator exists to check.
Bodies are given as JSON text and decoded the way the simulator decodes a request, because the
platform signs what it decoded, not what a client meant to send.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from local.douyin_sim.api import decode_body
from local.douyin_sim.signatures import (
    UnsignableBody,
    callback_signature,
    request_sign_matches,
    request_signature,
)
from tests.local.sim_helpers import APP_ID
from tests.sdk.ecpay.vector_files import load_vectors


def md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def decoded(text: str) -> dict:
    return decode_body(text.encode("utf-8"), "application/json")


# -- public vectors ------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", load_vectors("request"))
def test_request_vectors(vector):
    body = decoded(json.dumps(vector["params"], ensure_ascii=False))
    assert request_signature(body, vector["salt"]) == vector["sign"]
    assert request_sign_matches(body, vector["salt"], vector["sign"])


@pytest.mark.parametrize("vector", load_vectors("callback"))
def test_callback_vectors(vector):
    signature = callback_signature(vector["token"], vector["timestamp"], vector["nonce"], vector["msg"])
    assert signature == vector["signature"]


@pytest.mark.parametrize("vector", load_vectors("callback_body"))
def test_callback_body_vectors(vector):
    body = json.loads(vector["body"])
    signature = callback_signature(vector["token"], body["timestamp"], body["nonce"], body["msg"])
    assert signature == body["msg_signature"]


@pytest.mark.parametrize("vector", load_vectors("request", where=lambda v: "valid_time" in v["params"]))
def test_a_published_signed_order_is_accepted_over_http(make_sim, vector):
    # The published body and sign, posted as they are: app_id added where the vector has none (it
    # is never signed); provider mode where the vector has a thirdparty_id.
    params = vector["params"]
    _, client = make_sim(
        app_id=params.get("app_id", APP_ID), salt=vector["salt"], thirdparty_id=params.get("thirdparty_id")
    )
    body = {"app_id": APP_ID, **params, "sign": vector["sign"]}
    tampered = {**body, "total_amount": body["total_amount"] + 1}
    assert client.raw("create_order", tampered).json()["err_no"] == 2008
    assert client.raw("create_order", body).json()["err_no"] == 0


def test_vectors_file_has_every_kind():
    # Guards against the parametrised tests silently running on an empty list.
    assert len(load_vectors("request")) >= 6
    assert len(load_vectors("request", where=lambda v: "valid_time" in v["params"])) >= 4
    assert len(load_vectors("callback")) >= 3
    assert len(load_vectors("callback_body")) >= 1


# -- request sign: how the Go platform renders what it decoded -----------------------------------


class TestRequestRendering:
    def test_zero_is_kept(self):
        assert request_signature(decoded('{"out_order_no":"A1","disable_msg":0}'), "S") == md5("0&A1&S")

    def test_large_integer_is_its_digits_not_1e06(self):
        # ecpay-spec §5.6 E4, first row (not 1e+06, the second row).
        body = decoded(
            '{"app_id":"tt123","out_order_no":"A1","total_amount":1000000,"subject":"s","body":"b","valid_time":900}'
        )
        assert request_signature(body, "SALT") == "d1f117e877258ec14891ef5e1c771597"

    def test_a_number_with_a_fraction_or_exponent_is_signed_as_sent(self):
        # json.Number keeps the text: 100.50 is not shortened to 100.5, 1e6 is not expanded.
        body = decoded('{"a":100.50,"b":1e6,"c":-0.0}')
        assert request_signature(body, "S") == md5("-0.0&100.50&1e6&S")

    def test_bool_and_null_are_printed_as_go_prints_them(self):
        # <nil> is neither "" nor "null", so it is signed, not dropped.
        body = decoded('{"a":true,"b":false,"c":null}')
        assert request_signature(body, "S") == md5("<nil>&S&false&true")

    def test_empty_and_null_text_are_dropped(self):
        body = decoded('{"a":"","b":"null","c":"NULL","d":"  "}')
        assert request_signature(body, "S") == md5("NULL&S")

    def test_identity_fields_are_not_signed(self):
        body = decoded('{"app_id":"x","thirdparty_id":"y","sign":"z","other_settle_params":"w","a":"A"}')
        assert request_signature(body, "S") == md5("A&S")

    def test_trim_is_go_trimspace(self):
        # U+3000, NBSP and NEL are Go spaces; U+001C and U+001F are not (Python's strip() takes them).
        body = decoded(r'{"a":"\u3000 x\t\n","b":"\u00a0y\u0085","c":"z\u001f","d":"\u001cw"}')
        assert request_signature(body, "S") == md5("\x1cw&S&x&y&z\x1f")

    def test_one_pair_of_surrounding_quotes_is_dropped_then_trimmed(self):
        body = decoded(r'{"a":"\" x \"","b":"\"\"q\"\"","c":"\"","d":"\"x"}')
        assert request_signature(body, "S") == md5('"&"q"&"x&S&x')

    def test_object_and_array_are_compact_json_as_received(self):
        # Keys in the order sent, spaces gone, the number text kept (1.50).
        body = decoded('{"k": {"b": [1, "二"], "a": {"x": null, "f": 1.50}}, "l": [ true ]}')
        assert request_signature(body, "S") == md5('S&[true]&{"b":[1,"二"],"a":{"x":null,"f":1.50}}')

    def test_json_text_in_a_string_is_signed_verbatim(self):
        # ecpay-spec §5.6 E4: expand_order_info sent as a string, and a settle request.
        order = decoded(
            '{"app_id":"tt123","out_order_no":"A2","total_amount":100,"subject":"s","body":"b","valid_time":900,'
            '"expand_order_info":"{\\"original_delivery_fee\\":15,\\"actual_delivery_fee\\":10}"}'
        )
        assert request_signature(order, "SALT") == "b7a12f5c4028369b697a7897d7c3ef00"
        settle = decoded(
            '{"out_settle_no":"S1","out_order_no":"A1","settle_desc":"分账",'
            '"settle_params":"[{\\"merchant_uid\\":\\"696458350318359362\\",\\"amount\\":60}]"}'
        )
        assert request_signature(settle, "SALT") == "1a7b7c2570c8817c8a273b6d74cc3065"

    def test_sorted_by_utf8_bytes_as_go_sorts(self):
        # UTF-16 order (Java, JS) would put 😀 before ！; Go's byte order puts it last.
        body = decoded('{"a":"😀","b":"！","c":"中","d":"a"}')
        assert request_signature(body, "S") == md5("S&a&中&！&😀")

    def test_keys_play_no_part_and_equal_values_both_count(self):
        assert request_signature(decoded('{"a":"x","b":"x"}'), "S") == md5("S&x&x")
        assert request_signature(decoded('{"zz":"A"}'), "S") == md5("A&S")


class TestRequestMatch:
    def test_exact_lowercase_digest_only(self):
        body = decoded('{"a":"A"}')
        assert request_sign_matches(body, "S", md5("A&S"))
        assert not request_sign_matches(body, "S", md5("A&S").upper())
        assert not request_sign_matches(body, "S", md5("A&S") + " ")
        assert not request_sign_matches(body, "T", md5("A&S"))

    def test_a_value_with_no_utf8_form_matches_nothing(self):
        # A lone surrogate escape decodes, but has no UTF-8 bytes to hash: no client can sign it.
        body = decoded(r'{"subject":"a\ud800b"}')
        with pytest.raises(UnsignableBody):
            request_signature(body, "S")
        assert not request_sign_matches(body, "S", md5("a\ufffdb&S"))

    def test_a_sign_with_no_utf8_form_is_a_mismatch_not_a_crash(self):
        assert not request_sign_matches(decoded('{"a":"A"}'), "S", "\ud800")


# -- callback msg_signature ----------------------------------------------------------------------


class TestCallbackSignature:
    def test_parts_are_sorted_and_joined_without_separator(self):
        assert callback_signature("t", "1", "2", "m") == sha1("12mt")
        assert callback_signature("m", "2", "1", "t") == sha1("12mt")

    def test_sorted_by_utf8_bytes_and_hashed_as_utf8(self):
        assert callback_signature("😀", "！", "中", "a") == sha1("a中！😀")
