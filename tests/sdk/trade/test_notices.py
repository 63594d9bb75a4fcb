"""parse_callback: verification first, then the typed notice of each callback type (trade-spec §5)."""

from __future__ import annotations

import json

import pytest

from douyin_pay.errors import ConfigurationError, MalformedCallbackError, SignatureError
from douyin_pay.trade import (
    GenericNotice,
    ItemRefund,
    PaymentNotice,
    PreCreateRefundNotice,
    RefundItemDetail,
    RefundNotice,
    SettleNotice,
    parse_callback,
)
from tests.sdk.trade.helpers import (
    NONCE,
    SAMPLE_KEY,
    SAMPLE_PUBLIC_KEY,
    TS,
    envelope,
    other_key,
    private_pem,
    public_pem,
    sign_callback,
    signed,
)

PAYMENT = {
    "app_id": "tt1683603e89bd1ac801",
    "out_order_no": "1210246155355688960",
    "order_id": "motb73383242802221734767173",
    "status": "SUCCESS",
    "total_amount": 1,
    "discount_amount": 0,
    "pay_channel": 10,
    "channel_pay_id": "TP2024022215260600681574525640",
    "user_bill_pay_id": "DTPS2402221526119010630764156176",
    "merchant_uid": "71223625266663938860",
    "event_time": 1708586777000,
}
REFUND = {
    "app_id": "tt1",
    "status": "SUCCESS",
    "order_id": "motb1",
    "refund_id": "ort1",
    "out_refund_no": "",
    "refund_total_amount": 300,
    "refund_item_detail": {
        "item_order_quantity": 2,
        "item_order_detail": [
            {"item_order_id": "ot1", "refund_amount": 100},
            {"item_order_id": "ot2", "refund_amount": 200},
        ],
    },
    "is_all_settled": False,
    "cp_extra": "x",
    "message": "",
    "event_time": 1708586777000,
    "refund_type": 2,
}
PRE_CREATE_REFUND = {
    "app_id": "tt1",
    "open_id": "oid",
    "refund_id": "ort1",
    "order_id": "motb1",
    "out_order_no": "o1",
    "refund_total_amount": 100,
    "need_refund_audit": 1,
    "refund_audit_deadline": 1708846000000,
    "create_refund_time": 1708586777000,
    "refund_source": 1,
    "refund_reason": ["不想要了", "其他"],
    "refund_description": "desc",
    "cp_extra": "",
    "refund_item_detail": {
        "item_order_quantity": 1,
        "item_order_detail": [{"item_order_id": "ot1", "refund_amount": 100}],
    },
}
SETTLE = {
    "app_id": "tt1",
    "status": "SUCCESS",
    "order_id": "motb1",
    "settle_id": "ots1",
    "out_settle_no": "s1",
    "cp_extra": "",
    "message": "",
    "event_time": 1708586777000,
    "rake": 692,
    "commission": 0,
    "settle_amount": 19800,
    "settle_detail": "商户号72789245768543296350-分成金额(分)19108",
    "item_order_id": "",
    "is_auto_settle": False,
}


def parse(kind: str, msg, *, now=None, keys=SAMPLE_PUBLIC_KEY):
    headers, body = signed(kind, msg)
    return parse_callback(headers, body, keys, now=now)


class TestTypes:
    def test_payment_success(self):
        notice = parse("payment", PAYMENT)
        assert isinstance(notice, PaymentNotice)
        assert (notice.type, notice.version, notice.timestamp, notice.nonce, notice.log_id) == (
            "payment",
            "3.0",
            int(TS),
            NONCE,
            "LOG1",
        )
        assert notice.msg == json.dumps(PAYMENT, separators=(",", ":"))
        assert (notice.app_id, notice.out_order_no, notice.total_amount, notice.pay_channel) == (
            "tt1683603e89bd1ac801",
            "1210246155355688960",
            1,
            10,
        )
        assert notice.user_bill_pay_id == "DTPS2402221526119010630764156176"

    def test_payment_cancel_time_out(self):
        msg = {"app_id": "tt1", "out_order_no": "o1", "order_id": "motb1", "status": "CANCEL", "total_amount": 100}
        notice = parse("payment", {**msg, "message": "TIME_OUT", "event_time": 1, "currency": "DIAMOND"})
        assert (notice.status, notice.message, notice.pay_channel, notice.discount_amount) == (
            "CANCEL",
            "TIME_OUT",
            None,
            0,
        )
        assert (notice.channel_pay_id, notice.merchant_uid, notice.currency) == ("", "", "DIAMOND")

    def test_refund(self):
        notice = parse("refund", REFUND)
        assert isinstance(notice, RefundNotice)
        assert notice.out_refund_no == ""
        assert notice.refund_item_detail == RefundItemDetail(
            item_order_quantity=2,
            item_order_detail=(ItemRefund("ot1", 100), ItemRefund("ot2", 200)),
        )
        assert (notice.is_all_settled, notice.refund_type, notice.refund_total_amount) == (False, 2, 300)

    def test_pre_create_refund(self):
        notice = parse("pre_create_refund", PRE_CREATE_REFUND)
        assert isinstance(notice, PreCreateRefundNotice)
        assert notice.needs_audit
        assert notice.need_refund_audit == 1
        assert notice.refund_reason == ("不想要了", "其他")
        assert notice.out_refund_no == ""
        assert notice.currency is None
        assert notice.refund_item_detail.item_order_detail == (ItemRefund("ot1", 100),)
        no_audit = parse("pre_create_refund", {**PRE_CREATE_REFUND, "need_refund_audit": 2, "out_refund_no": "r1"})
        assert not no_audit.needs_audit
        assert no_audit.out_refund_no == "r1"

    def test_settle(self):
        notice = parse("settle", SETTLE)
        assert isinstance(notice, SettleNotice)
        assert (notice.settle_amount, notice.rake, notice.commission, notice.is_auto_settle) == (19800, 692, 0, False)
        assert notice.settle_detail.startswith("商户号")

    def test_unknown_type_is_kept_as_generic(self):
        notice = parse("fulfil", {"app_id": "tt1", "anything": [1, 2]})
        assert isinstance(notice, GenericNotice)
        assert (notice.type, notice.app_id, notice.data["anything"]) == ("fulfil", "tt1", [1, 2])

    def test_dedupe_key_ignores_timestamp_and_nonce(self):
        body = envelope("payment", PAYMENT)
        first = parse_callback(sign_callback(body), body, SAMPLE_PUBLIC_KEY)
        again = parse_callback(sign_callback(body, ts="1700000999", nonce="other"), body, SAMPLE_PUBLIC_KEY)
        assert first.dedupe_key == again.dedupe_key
        assert first.dedupe_key != parse("payment", {**PAYMENT, "status": "CANCEL"}).dedupe_key


class TestHeaders:
    @pytest.mark.parametrize("case", [str.lower, str.upper, lambda n: "HTTP_" + n.upper().replace("-", "_")])
    def test_names_are_case_insensitive(self, case):
        headers, body = signed("payment", PAYMENT)
        notice = parse_callback({case(k): v for k, v in headers.items()}, body, SAMPLE_PUBLIC_KEY)
        assert notice.out_order_no == PAYMENT["out_order_no"]
        assert notice.log_id == "LOG1"

    @pytest.mark.parametrize("missing", ["Byte-Timestamp", "Byte-Nonce-Str", "Byte-Signature"])
    def test_a_missing_signature_header_is_a_signature_error(self, missing):
        headers, body = signed("payment", PAYMENT)
        del headers[missing]
        with pytest.raises(SignatureError, match=missing.lower()):
            parse_callback(headers, body, SAMPLE_PUBLIC_KEY)

    @pytest.mark.parametrize(
        "timestamp", ["", "17000000010", "1700000001.0", "+1700000001", "-1", " 1700000001", "1e9", "１７", "0x10"]
    )
    def test_a_timestamp_that_is_not_1_to_10_digits_is_a_signature_error(self, timestamp):
        body = envelope("payment", PAYMENT)
        with pytest.raises(SignatureError, match="byte-timestamp"):
            parse_callback(sign_callback(body, ts=timestamp), body, SAMPLE_PUBLIC_KEY)

    @pytest.mark.parametrize("nonce", ["", "a b", "a\nb", "x" * 257])
    def test_a_garbled_nonce_is_a_signature_error(self, nonce):
        headers, body = signed("payment", PAYMENT)
        headers["Byte-Nonce-Str"] = nonce
        with pytest.raises(SignatureError):
            parse_callback(headers, body, SAMPLE_PUBLIC_KEY)

    @pytest.mark.parametrize("signature", ["not base64!", "", "QUJD", 123])
    def test_a_garbled_signature_is_a_signature_error(self, signature):
        headers, body = signed("payment", PAYMENT)
        headers["Byte-Signature"] = signature
        with pytest.raises(SignatureError):
            parse_callback(headers, body, SAMPLE_PUBLIC_KEY)

    def test_two_different_values_for_one_header_are_refused(self):
        headers, body = signed("payment", PAYMENT)
        headers["byte-timestamp"] = "1700000002"
        with pytest.raises(SignatureError, match="twice"):
            parse_callback(headers, body, SAMPLE_PUBLIC_KEY)


class TestVerification:
    def test_signed_with_another_key_fails(self):
        body = envelope("payment", PAYMENT)
        headers = sign_callback(body, key=private_pem(other_key()))
        with pytest.raises(SignatureError):
            parse_callback(headers, body, SAMPLE_PUBLIC_KEY)
        assert parse_callback(headers, body, [SAMPLE_PUBLIC_KEY, public_pem(other_key())]).total_amount == 1

    def test_the_timestamp_and_nonce_are_signed(self):
        headers, body = signed("payment", PAYMENT)
        for name, value in (("Byte-Timestamp", "1700000002"), ("Byte-Nonce-Str", NONCE + "x")):
            with pytest.raises(SignatureError):
                parse_callback({**headers, name: value}, body, SAMPLE_PUBLIC_KEY)

    def test_the_app_private_key_never_verifies_by_accident(self):
        # Pitfall 3: verifying with the app key instead of the platform key. A private key is not a
        # public key: configuration error, not a silent pass or fail.
        headers, body = signed("payment", PAYMENT)
        with pytest.raises(ConfigurationError):
            parse_callback(headers, body, SAMPLE_KEY)

    def test_no_platform_key_is_a_configuration_error_before_anything_else(self):
        with pytest.raises(ConfigurationError):
            parse_callback({}, b"", [])

    def test_verification_comes_before_parsing(self):
        # A forged body that is not even JSON: SignatureError, not MalformedCallbackError.
        headers, _ = signed("payment", PAYMENT)
        with pytest.raises(SignatureError):
            parse_callback(headers, b"not json", SAMPLE_PUBLIC_KEY)


class TestFreshness:
    NOW = int(TS)

    @pytest.mark.parametrize("offset", [0, 24 * 3600 + 300, -(24 * 3600 + 300)])
    def test_inside_the_window(self, offset):
        assert parse("payment", PAYMENT, now=self.NOW + offset).total_amount == 1

    @pytest.mark.parametrize("offset", [24 * 3600 + 301, -(24 * 3600 + 301)])
    def test_outside_the_window(self, offset):
        with pytest.raises(SignatureError, match="freshness"):
            parse("payment", PAYMENT, now=self.NOW + offset)

    def test_pre_create_refund_has_the_72_hour_window(self):
        inside, outside = 72 * 3600 + 900, 72 * 3600 + 901
        assert parse("pre_create_refund", PRE_CREATE_REFUND, now=self.NOW + inside).refund_id == "ort1"
        with pytest.raises(SignatureError):
            parse("pre_create_refund", PRE_CREATE_REFUND, now=self.NOW + outside)
        with pytest.raises(SignatureError):
            parse("refund", REFUND, now=self.NOW + inside)

    def test_no_now_no_freshness_check(self):
        assert parse("payment", PAYMENT).timestamp == self.NOW


class TestMalformed:
    def signed_body(self, body: bytes):
        return parse_callback(sign_callback(body), body, SAMPLE_PUBLIC_KEY)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            (b"not json", None),
            (b"[1,2]", None),
            (b'{"version":"3.0","type":"payment"}', "msg"),
            (b'{"version":"3.0","type":"payment","msg":{"app_id":"tt1"}}', "msg"),
            (b'{"version":"3.0","type":"payment","msg":"[1]"}', "msg"),
            (b'{"version":"3.0","type":"payment","msg":"not json"}', "msg"),
            (b'{"version":"3.0","msg":"{}"}', "type"),
            (b'{"version":"3.0","type":7,"msg":"{}"}', "type"),
            (b'{"version":3.0,"type":"payment","msg":"{}"}', "version"),
            (b'{"type":"payment","type":"refund","msg":"{}"}', "type"),
        ],
    )
    def test_verified_but_not_a_callback(self, body, field):
        with pytest.raises(MalformedCallbackError) as info:
            self.signed_body(body)
        assert info.value.field == field

    def test_type_longer_than_32_characters(self):
        with pytest.raises(MalformedCallbackError) as info:
            parse("x" * 33, {"app_id": "tt1"})
        assert info.value.field == "type"
        assert isinstance(parse("x" * 32, {"app_id": "tt1"}), GenericNotice)

    @pytest.mark.parametrize("field", ["app_id", "out_order_no", "order_id", "status", "total_amount"])
    def test_a_required_payment_field_missing(self, field):
        with pytest.raises(MalformedCallbackError) as info:
            parse("payment", {k: v for k, v in PAYMENT.items() if k != field})
        assert info.value.field == field

    @pytest.mark.parametrize(
        ("field", "value"),
        [(f, v) for f in ("total_amount", "discount_amount") for v in ("100", 100.0, True, -1)]
        + [("total_amount", None)],
    )
    def test_money_must_be_a_json_integer(self, field, value):
        with pytest.raises(MalformedCallbackError) as info:
            parse("payment", {**PAYMENT, field: value})
        assert info.value.field == field

    @pytest.mark.parametrize(
        ("kind", "base", "field", "value"),
        [
            ("refund", REFUND, "refund_total_amount", "300"),
            ("refund", REFUND, "refund_id", None),
            ("refund", REFUND, "refund_item_detail", [1]),
            (
                "refund",
                REFUND,
                "refund_item_detail",
                {"item_order_detail": [{"item_order_id": "a", "refund_amount": 1.5}]},
            ),
            ("pre_create_refund", PRE_CREATE_REFUND, "need_refund_audit", True),
            ("pre_create_refund", PRE_CREATE_REFUND, "need_refund_audit", 3),
            ("pre_create_refund", PRE_CREATE_REFUND, "need_refund_audit", "1"),
            ("pre_create_refund", PRE_CREATE_REFUND, "refund_reason", "不想要了"),
            ("pre_create_refund", PRE_CREATE_REFUND, "refund_reason", [101]),
            ("settle", SETTLE, "settle_amount", 198.0),
            ("settle", SETTLE, "settle_id", None),
        ],
    )
    def test_wrong_types(self, kind, base, field, value):
        msg = {k: v for k, v in base.items() if k != field}
        if value is not None:
            msg[field] = value
        with pytest.raises(MalformedCallbackError) as info:
            parse(kind, msg)
        assert info.value.field in (field, "item_order_detail", "refund_amount")

    def test_repeated_msg_keys_are_refused(self):
        msg = json.dumps(PAYMENT, separators=(",", ":"))[:-1] + ',"total_amount":999}'
        with pytest.raises(MalformedCallbackError, match="repeats"):
            parse("payment", msg)

    def test_big_ids_stay_exact_strings(self):
        notice = parse("payment", {**PAYMENT, "out_order_no": 3102676463474216001})
        assert notice.out_order_no == "3102676463474216001"
