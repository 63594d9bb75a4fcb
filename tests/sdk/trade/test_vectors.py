"""trade-spec's RSA vectors (V-R1, V-R2, V-R3 and its negative case), through the public names only."""

from __future__ import annotations

import json

import pytest

from douyin_pay.errors import SignatureError
from douyin_pay.trade import (
    PaymentNotice,
    byte_authorization,
    parse_callback,
    request_order_data,
    rsa_sign,
    rsa_verify,
    sign_request_order,
    signature_message,
)
from tests.sdk.trade.helpers import VECTORS, private_der_b64, private_pem, public_der_b64, public_pem, vector


def test_every_vector_names_its_source_section():
    assert [v["kind"] for v in VECTORS] == ["rsa_sign", "request_order", "callback", "callback_reserialised"]
    for v in VECTORS:
        assert v["source"].startswith("trade-spec.md §"), v["source"]


class TestVR1:
    v = vector("rsa_sign")

    def test_the_five_line_message_is_the_vectors_string(self):
        body = '{"eventTime":1677653869000,"status":102}'
        message = signature_message("POST", "/abc", 1680835692, "gjjRNfQlzoDIJtVDOfUe", body)
        assert message == self.v["message"]
        assert message == 'POST\n/abc\n1680835692\ngjjRNfQlzoDIJtVDOfUe\n{"eventTime":1677653869000,"status":102}\n'

    @pytest.mark.parametrize(
        "key",
        [
            pytest.param(lambda v: v["private_key"], id="bare-base64-pkcs8-der"),
            pytest.param(lambda v: private_pem(fmt="pkcs8"), id="pkcs8-pem"),
            pytest.param(lambda v: private_pem(fmt="pkcs1"), id="pkcs1-pem"),
            pytest.param(lambda v: private_der_b64(fmt="pkcs1"), id="bare-base64-pkcs1-der"),
            pytest.param(lambda v: "\n".join(v["private_key"][i : i + 64] for i in range(0, 1700, 64)), id="wrapped"),
        ],
    )
    def test_signature_in_every_key_encoding(self, key):
        pem = key(self.v)
        message = signature_message(
            "POST", "/abc", "1680835692", "gjjRNfQlzoDIJtVDOfUe", self.v["message"].split("\n")[4]
        )
        assert rsa_sign(message, pem) == self.v["signature"]

    @pytest.mark.parametrize(
        "public",
        [
            pytest.param(lambda v: v["public_key"], id="bare-base64-spki"),
            pytest.param(lambda v: public_pem(fmt="spki"), id="spki-pem"),
            pytest.param(lambda v: public_pem(fmt="pkcs1"), id="pkcs1-pem"),
            pytest.param(lambda v: public_der_b64(fmt="pkcs1"), id="bare-base64-pkcs1-der"),
        ],
    )
    def test_verifies_with_every_public_key_encoding(self, public):
        key = public(self.v)
        assert rsa_verify(self.v["message"], self.v["signature"], key)
        assert rsa_verify(self.v["message"].encode(), self.v["signature"], [key])
        assert not rsa_verify(self.v["message"].replace("102", "103"), self.v["signature"], key)

    def test_pkcs1_pem_really_is_pkcs1(self):
        assert private_pem(fmt="pkcs1").startswith("-----BEGIN RSA PRIVATE KEY-----")
        assert private_pem(fmt="pkcs8").startswith("-----BEGIN PRIVATE KEY-----")
        assert public_pem(fmt="pkcs1").startswith("-----BEGIN RSA PUBLIC KEY-----")


class TestVR2:
    v = vector("request_order")

    def test_request_order_data_is_the_vectors_data_string(self):
        assert request_order_data(**self.v["inputs"]) == self.v["data"]

    def test_byte_authorization_is_the_vectors_header(self):
        header = byte_authorization(
            self.v["app_id"],
            request_order_data(**self.v["inputs"]),
            self.v["private_key"],
            self.v["key_version"],
            timestamp=self.v["timestamp"],
            nonce=self.v["nonce"],
        )
        assert header == self.v["byte_authorization"]
        assert header.endswith(",signature=" + self.v["signature"])

    def test_sign_request_order_returns_exactly_the_signed_string(self):
        data = request_order_data(**self.v["inputs"])
        params = sign_request_order(
            self.v["app_id"], data, private_pem(), 1, timestamp=self.v["timestamp"], nonce=self.v["nonce"]
        )
        assert params.data is data
        assert params.as_tt_request_order() == {
            "data": self.v["data"],
            "byteAuthorization": self.v["byte_authorization"],
        }


class TestVR3:
    def test_callback_verifies_and_parses(self):
        v = vector("callback")
        notice = parse_callback(v["headers"], v["body"].encode(), v["public_key"])
        assert isinstance(notice, PaymentNotice)
        for name, expected in v["expect"].items():
            assert getattr(notice, name) == expected, name
        assert notice.msg == json.loads(v["body"])["msg"]
        assert notice.log_id is None
        assert notice.currency is None
        assert notice.message == ""

    def test_callback_body_as_str_is_its_utf8(self):
        v = vector("callback")
        assert isinstance(parse_callback(v["headers"], v["body"], [v["public_key"]]), PaymentNotice)

    def test_reserialised_body_fails(self):
        v = vector("callback_reserialised")
        assert v["body"] != vector("callback")["body"]
        assert json.loads(v["body"]) == json.loads(vector("callback")["body"])
        with pytest.raises(SignatureError):
            parse_callback(v["headers"], v["body"].encode(), v["public_key"])
