"""request_sign / callback_sign: the known-answer vectors (vector_files.py), then the edge cases.

Edge cases state the exact string the official algorithm hashes (worked out by hand from
ecpay-spec §5.2), so each test checks the rendering rules, not the code against itself.
"""

from __future__ import annotations

import hashlib

import pytest

from douyin_pay import UnsignableValueError, callback_sign, request_sign, wire_value
from tests.sdk.ecpay.vector_files import load_vectors


def md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


@pytest.mark.parametrize("vector", load_vectors("request"))
def test_request_vectors(vector):
    assert request_sign(vector["params"], vector["salt"]) == vector["sign"]


@pytest.mark.parametrize("vector", load_vectors("callback"))
def test_callback_vectors(vector):
    assert callback_sign(vector["token"], vector["timestamp"], vector["nonce"], vector["msg"]) == vector["signature"]


def test_official_vector_string_to_hash():
    """ecpay-spec §5.6 E1 prints the exact joined string; hash it independently."""
    joined = (
        "0&172800&2376&https://www.xxx.com&pages/user/orderDetail/orderDetail?id=997979879879879879"
        "&test-02167569xxxxxx&test-payment_subject-test-paym...&your_payment_salt"
        "&强烈推荐！经典腊汁肉夹馍团购价仅需7.92元！"
    )
    assert md5(joined) == "54f102e7115f8a6a3e6af4633dc33959"


class TestRendering:
    def test_zero_is_kept(self):
        assert request_sign({"a": "A1", "disable_msg": 0}, "SALT") == md5("0&A1&SALT")

    def test_empty_and_null_are_dropped(self):
        params = {"a": "A1", "b": "", "c": "null", "d": "  ", "e": '"null"', "f": '""'}
        assert request_sign(params, "SALT") == md5("A1&SALT")

    def test_null_in_other_case_is_kept(self):
        assert request_sign({"a": "NULL"}, "S") == md5("NULL&S")

    def test_one_pair_of_quotes_is_stripped_then_trimmed(self):
        assert request_sign({"a": '" x "'}, "S") == md5("S&x")
        assert request_sign({"a": '""q""'}, "S") == md5('"q"&S')

    def test_a_lone_or_one_sided_quote_is_kept(self):
        assert request_sign({"a": '"', "b": '"x', "c": 'y"'}, "S") == md5('"&"x&S&y"')

    def test_whitespace_is_trimmed_as_go_does(self):
        # U+3000 and U+00A0 are Unicode spaces (trimmed); U+001F is not white space in Go (kept).
        assert request_sign({"a": "\u3000 x\t\n", "b": "\xa0y\xa0"}, "S") == md5("S&x&y")
        assert request_sign({"a": "z\x1f"}, "S") == md5("S&z\x1f")

    def test_inner_whitespace_is_kept(self):
        assert request_sign({"a": "a  b"}, "S") == md5("S&a  b")

    @pytest.mark.parametrize("amount", [1_000_000, 10_000_000_000, 12345678901])
    def test_large_integers_are_plain_digits(self, amount):
        assert request_sign({"total_amount": amount}, "SALT") == md5(f"{amount}&SALT")

    def test_spec_e4_large_amount(self):
        params = {
            "app_id": "tt123",
            "out_order_no": "A1",
            "total_amount": 1000000,
            "subject": "s",
            "body": "b",
            "valid_time": 900,
        }
        assert request_sign(params, "SALT") == "d1f117e877258ec14891ef5e1c771597"

    def test_spec_e4_expand_order_info_object_is_signed_as_its_json_text(self):
        params = {
            "app_id": "tt123",
            "out_order_no": "A2",
            "total_amount": 100,
            "subject": "s",
            "body": "b",
            "valid_time": 900,
            "expand_order_info": {"original_delivery_fee": 15, "actual_delivery_fee": 10},
        }
        # The same as sending the JSON string (spec E4, last-but-one row).
        assert request_sign(params, "SALT") == "b7a12f5c4028369b697a7897d7c3ef00"

    def test_spec_e4_settle_params_string(self):
        params = {
            "app_id": "tt123",
            "out_settle_no": "S1",
            "out_order_no": "A1",
            "settle_desc": "分账",
            "settle_params": '[{"merchant_uid":"696458350318359362","amount":60}]',
        }
        assert request_sign(params, "SALT") == "1a7b7c2570c8817c8a273b6d74cc3065"

    def test_nested_values_are_compact_json_with_cjk_kept_and_key_order_given(self):
        value = {"b": [1, "二"], "a": {"x": None}}
        assert wire_value("k", value) == '{"b":[1,"二"],"a":{"x":null}}'
        assert request_sign({"k": value}, "S") == md5('S&{"b":[1,"二"],"a":{"x":null}}')

    def test_list_values(self):
        payees = [{"merchant_uid": "1", "amount": 2}]
        assert request_sign({"k": payees}, "S") == md5('S&[{"merchant_uid":"1","amount":2}]')
        assert request_sign({"k": ("x",)}, "S") == md5('S&["x"]')

    def test_the_four_unsigned_keys_are_skipped(self):
        base = {"out_order_no": "A1"}
        extra = {"app_id": "tt1", "thirdparty_id": "tp", "sign": "zz", "other_settle_params": "o"}
        assert request_sign({**base, **extra}, "S") == request_sign(base, "S") == md5("A1&S")

    def test_other_keys_are_signed_even_if_unknown(self):
        assert request_sign({"nonce": "n1", "a": "A"}, "S") == md5("A&S&n1")

    def test_salt_is_sorted_like_any_value(self):
        assert request_sign({"a": "zzz", "b": "AAA"}, "mmm") == md5("AAA&mmm&zzz")

    def test_key_order_does_not_matter(self):
        a = {"out_order_no": "A1", "subject": "s", "total_amount": 5}
        b = dict(reversed(list(a.items())))
        assert request_sign(a, "S") == request_sign(b, "S") == md5("5&A1&S&s")

    def test_sort_is_by_code_point_cjk_and_emoji(self):
        # Code point (= UTF-8 byte) order puts U+FF01 (！) before U+1F600 (😀); Java's UTF-16 order
        # would put the emoji first (ecpay-spec §5.5). Go sorts bytes, so we must too.
        params = {"a": "😀", "b": "！", "c": "中", "d": "a"}
        assert request_sign(params, "S") == md5("S&a&中&！&😀")

    def test_utf8_is_hashed(self):
        assert request_sign({"a": "é"}, "S") == hashlib.md5("S&é".encode()).hexdigest()
        assert request_sign({"a": "é"}, "S") != hashlib.md5("S&é".encode("latin-1")).hexdigest()

    def test_duplicate_values_are_kept(self):
        assert request_sign({"a": "x", "b": "x"}, "S") == md5("S&x&x")

    def test_output_is_lowercase_hex(self):
        sign = request_sign({"a": "x"}, "S")
        assert len(sign) == 32
        assert sign == sign.lower()
        int(sign, 16)


class TestRefusedValues:
    @pytest.mark.parametrize("value", [1.0, 0.5, True, False, None, float("nan"), b"x", object()])
    def test_ambiguous_values_are_refused(self, value):
        with pytest.raises(UnsignableValueError) as info:
            request_sign({"field_x": value}, "S")
        assert isinstance(info.value, TypeError)
        assert "field_x" in str(info.value)

    def test_nested_values_are_json_text_so_only_non_json_is_refused(self):
        # A nested value is sent and signed as one JSON text, which is unambiguous; NaN is not JSON.
        assert wire_value("k", {"x": 1.5}) == '{"x":1.5}'
        with pytest.raises(UnsignableValueError):
            wire_value("k", {"x": float("nan")})
        with pytest.raises(UnsignableValueError):
            wire_value("k", {"x": object()})

    def test_refused_key_is_skipped_when_unsigned(self):
        # An unsigned identity key is never rendered, so its type does not matter to the signature.
        assert request_sign({"sign": None, "a": "A"}, "S") == md5("A&S")

    def test_lone_surrogate_is_refused_with_the_typed_error(self):
        with pytest.raises(UnsignableValueError) as info:
            request_sign({"subject": "a\ud800b"}, "S")
        assert info.value.key == "subject"

    def test_error_does_not_contain_the_salt(self):
        with pytest.raises(UnsignableValueError) as info:
            request_sign({"k": 1.5}, "very-secret-salt")
        assert "very-secret-salt" not in str(info.value)


class TestCallbackSign:
    def test_sorted_and_concatenated_without_separator(self):
        expected = hashlib.sha1(b"1652675265808508529999fdsifakhflasjfxxxxxxxxx").hexdigest()
        assert callback_sign("fdsifakhflasjfxxxxxxxxx", "1652675265", "9999", "80850852") == expected

    def test_argument_order_does_not_matter(self):
        assert callback_sign("t", "1", "2", "m") == callback_sign("m", "2", "1", "t")

    def test_cjk_msg_is_utf8(self):
        expected = hashlib.sha1("1ntok中".encode()).hexdigest()  # "中" sorts after ASCII
        assert callback_sign("tok", "1", "n", "中") == expected
