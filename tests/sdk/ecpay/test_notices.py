"""parse_callback: verification on raw strings, typed notices, and every way a body can be wrong."""

from __future__ import annotations

import json

import pytest

from douyin_pay import (
    CallbackError,
    ConfigurationError,
    DouyinPayError,
    GenericNotice,
    MalformedCallbackError,
    PaymentNotice,
    RefundNotice,
    SettleFinishNotice,
    SettleNotice,
    SignatureError,
    callback_sign,
    parse_callback,
)
from douyin_pay.ecpay.notices import TIMESTAMP_MAX_AGE, TIMESTAMP_MAX_LEAD
from tests.sdk.ecpay.vector_files import load_vectors

TOKEN = "test-callback-token"
OLD_TOKEN = "previous-callback-token"


def envelope(
    msg: str, *, type_: str = "payment", token: str = TOKEN, timestamp: str = "1722769986", nonce: str = "5280"
) -> dict:
    return {
        "msg": msg,
        "msg_signature": callback_sign(token, timestamp, nonce, msg),
        "nonce": nonce,
        "timestamp": timestamp,
        "type": type_,
    }


def body_of(env: dict) -> bytes:
    return json.dumps(env, ensure_ascii=False).encode()


PAYMENT_MSG = json.dumps(
    {
        "appid": "tt0001",
        "cp_orderno": "order-1",
        "cp_extra": "x",
        "way": "10",
        "channel_no": "c1",
        "total_amount": 12800,
        "status": "SUCCESS",
        "seller_uid": "s1",
        "extra": "",
        "item_id": "",
        "paid_at": 1722769986,
        "message": "",
        "order_id": "N1",
    },
    ensure_ascii=False,
    separators=(",", ":"),
)


class TestVectors:
    @pytest.mark.parametrize("vector", load_vectors("callback_body"))
    def test_body_vector_verifies_and_parses(self, vector):
        notice = parse_callback(vector["body"], vector["token"])
        assert isinstance(notice, PaymentNotice)
        assert notice.app_id == "tt226e54d3bd581bf801"
        assert notice.out_order_no == "202408041111312119"
        assert notice.order_id == "7398108028895054107"
        assert notice.total_amount == 1
        assert notice.way == 2
        assert notice.paid_at == 1722769986
        assert notice.status == "SUCCESS"

    @pytest.mark.parametrize("vector", load_vectors("callback_body"))
    def test_body_vector_fails_with_another_token(self, vector):
        with pytest.raises(SignatureError):
            parse_callback(vector["body"], vector["token"] + "x")

    # Only the vectors whose msg is a JSON object can travel in a payment callback body.
    @pytest.mark.parametrize("vector", load_vectors("callback", where=lambda v: v["msg"].startswith("{")))
    def test_callback_vectors_through_a_whole_body(self, vector):
        body = {
            "msg": vector["msg"],
            "msg_signature": vector["signature"],
            "nonce": vector["nonce"],
            "timestamp": vector["timestamp"],
            "type": "payment",
        }
        notice = parse_callback(json.dumps(body), vector["token"])
        assert notice.msg == vector["msg"]

    @pytest.mark.parametrize("vector", load_vectors("callback_body"))
    def test_reencoded_msg_does_not_verify(self, vector):
        body = json.loads(vector["body"])
        body["msg"] = json.dumps(json.loads(body["msg"]))  # same data, default spacing
        with pytest.raises(SignatureError):
            parse_callback(json.dumps(body), vector["token"])


class TestVerification:
    def test_valid_notice(self):
        assert isinstance(parse_callback(body_of(envelope(PAYMENT_MSG)), TOKEN), PaymentNotice)

    @pytest.mark.parametrize("field", ["msg", "timestamp", "nonce", "msg_signature"])
    def test_tampered_field_is_rejected(self, field):
        env = envelope(PAYMENT_MSG)
        env[field] = env[field].replace("1", "2", 1) if "1" in env[field] else env[field] + "0"
        with pytest.raises(SignatureError):
            parse_callback(body_of(env), TOKEN)

    def test_tampered_amount_inside_msg_is_rejected(self):
        env = envelope(PAYMENT_MSG)
        env["msg"] = env["msg"].replace("12800", "1")
        with pytest.raises(SignatureError):
            parse_callback(body_of(env), TOKEN)

    def test_type_is_not_signed_but_a_changed_type_cannot_pass_as_another_notice(self):
        # `type` is outside the signature (official algorithm); switching it makes the msg fail
        # the other type's required fields rather than produce a wrong notice.
        env = envelope(PAYMENT_MSG)
        env["type"] = "refund"
        with pytest.raises(MalformedCallbackError):
            parse_callback(body_of(env), TOKEN)

    def test_wrong_token(self):
        with pytest.raises(SignatureError):
            parse_callback(body_of(envelope(PAYMENT_MSG)), "another-token")

    def test_uppercase_signature_is_not_accepted(self):
        env = envelope(PAYMENT_MSG)
        env["msg_signature"] = env["msg_signature"].upper()
        with pytest.raises(SignatureError):
            parse_callback(body_of(env), TOKEN)

    def test_token_rotation_accepts_old_and_new(self):
        old = body_of(envelope(PAYMENT_MSG, token=OLD_TOKEN))
        new = body_of(envelope(PAYMENT_MSG, token=TOKEN))
        assert parse_callback(old, [TOKEN, OLD_TOKEN]).out_order_no == "order-1"
        assert parse_callback(new, (TOKEN, OLD_TOKEN)).out_order_no == "order-1"
        with pytest.raises(SignatureError):
            parse_callback(old, [TOKEN])

    @pytest.mark.parametrize("tokens", ["", [], [""], [TOKEN, ""], (), [None]])
    def test_missing_token_is_a_configuration_error_never_a_pass(self, tokens):
        # Even a body "signed" with an empty token must not pass.
        body = body_of(envelope(PAYMENT_MSG, token=""))
        with pytest.raises(ConfigurationError):
            parse_callback(body, tokens)

    def test_numeric_timestamp_keeps_its_exact_digits(self):
        env = envelope(PAYMENT_MSG, timestamp="1722769986")
        raw = body_of(env).decode().replace('"timestamp": "1722769986"', '"timestamp": 1722769986')
        assert '"timestamp": 1722769986' in raw
        notice = parse_callback(raw, TOKEN)
        assert notice.timestamp == "1722769986"

    def test_float_timestamp_is_malformed(self):
        raw = body_of(envelope(PAYMENT_MSG)).decode().replace('"timestamp": "1722769986"', '"timestamp": 1.7e9')
        with pytest.raises(MalformedCallbackError):
            parse_callback(raw, TOKEN)

    def test_signature_is_checked_before_msg_is_parsed(self):
        env = envelope("not json at all")
        env["msg_signature"] = "0" * 40
        with pytest.raises(SignatureError):
            parse_callback(body_of(env), TOKEN)

    def test_escaped_slashes_in_raw_msg_verify(self):
        # Some encoders escape "/" as "\/"; the raw text is what was signed.
        msg = PAYMENT_MSG.replace('"cp_extra":"x"', '"cp_extra":"https:\\/\\/a.b\\/c"')
        notice = parse_callback(body_of(envelope(msg)), TOKEN)
        assert notice.cp_extra == "https://a.b/c"

    def test_errors_never_reveal_the_expected_signature_or_token(self):
        env = envelope(PAYMENT_MSG)
        expected = env["msg_signature"]
        env["msg_signature"] = "f" * 40
        with pytest.raises(SignatureError) as info:
            parse_callback(body_of(env), TOKEN)
        text = str(info.value) + repr(info.value.args)
        assert expected not in text
        assert TOKEN not in text

    def test_redelivery_has_the_same_dedupe_key(self):
        first = parse_callback(body_of(envelope(PAYMENT_MSG, timestamp="1722769986", nonce="1")), TOKEN)
        again = parse_callback(body_of(envelope(PAYMENT_MSG, timestamp="1722770001", nonce="2")), TOKEN)
        other = parse_callback(body_of(envelope(PAYMENT_MSG.replace("order-1", "order-2"))), TOKEN)
        assert first.dedupe_key == again.dedupe_key != other.dedupe_key

    def test_dedupe_key_is_over_the_signed_msg_only_not_the_unsigned_type(self):
        # type is outside the signature: a replay under another type must not be another notice.
        as_payment = parse_callback(body_of(envelope(PAYMENT_MSG)), TOKEN)
        as_unknown = parse_callback(body_of(envelope(PAYMENT_MSG, type_="payment_v9")), TOKEN)
        assert isinstance(as_unknown, GenericNotice)
        assert as_payment.dedupe_key == as_unknown.dedupe_key


class TestTimestampAndType:
    """The signed string joins the sorted values with no separator: without a fixed form, digits
    could move between timestamp and nonce and the signature would still verify."""

    def test_digits_moved_from_timestamp_to_nonce_are_refused(self):
        env = envelope(PAYMENT_MSG, timestamp="1722769986", nonce="5280")
        moved = {**env, "timestamp": "172276998", "nonce": "65280"}
        # The captured signature still holds over the moved digits: only the form can refuse them.
        assert callback_sign(TOKEN, moved["timestamp"], moved["nonce"], PAYMENT_MSG) == env["msg_signature"]
        with pytest.raises(MalformedCallbackError) as info:
            parse_callback(body_of(moved), TOKEN)
        assert info.value.field == "timestamp"

    @pytest.mark.parametrize("timestamp", ["172276998", "17227699861", "0722769986", " 1722769986", "1722769986.0"])
    def test_only_ten_digits_are_a_timestamp(self, timestamp):
        with pytest.raises(MalformedCallbackError) as info:
            parse_callback(body_of(envelope(PAYMENT_MSG, timestamp=timestamp)), TOKEN)
        assert info.value.field == "timestamp"

    def test_a_numeric_ten_digit_timestamp_is_the_platform_form(self):
        raw = body_of(envelope(PAYMENT_MSG)).decode().replace('"timestamp": "1722769986"', '"timestamp": 1722769986')
        assert parse_callback(raw, TOKEN).timestamp == "1722769986"

    @pytest.mark.parametrize(
        ("age", "accepted"),
        [
            (0, True),
            (24 * 3600 + 4 * 60, True),  # the platform's last retry, if it keeps the first timestamp
            (TIMESTAMP_MAX_AGE, True),
            (TIMESTAMP_MAX_AGE + 1, False),
            (-TIMESTAMP_MAX_LEAD, True),
            (-TIMESTAMP_MAX_LEAD - 1, False),
        ],
    )
    def test_window_around_now(self, age, accepted):
        body = body_of(envelope(PAYMENT_MSG, timestamp="1722769986"))
        now = 1722769986 + age
        if accepted:
            assert parse_callback(body, TOKEN, now=now).out_order_no == "order-1"
        else:
            with pytest.raises(SignatureError, match="window"):
                parse_callback(body, TOKEN, now=now)

    def test_a_stale_body_is_still_checked_for_its_signature_first(self):
        env = envelope(PAYMENT_MSG, timestamp="1722769986")
        env["msg_signature"] = "0" * 40
        with pytest.raises(SignatureError, match="does not verify"):
            parse_callback(body_of(env), TOKEN, now=1722769986 + 10 * 86400)

    def test_type_longer_than_the_platform_allows_is_malformed(self):
        assert parse_callback(body_of(envelope(PAYMENT_MSG, type_="t" * 32)), TOKEN).type == "t" * 32
        with pytest.raises(MalformedCallbackError) as info:
            parse_callback(body_of(envelope(PAYMENT_MSG, type_="t" * 33)), TOKEN)
        assert info.value.field == "type"

    def test_an_integer_past_pythons_digit_limit_is_malformed_not_a_crash(self):
        msg = PAYMENT_MSG.replace('"total_amount":12800', '"total_amount":' + "9" * 5000)
        with pytest.raises(MalformedCallbackError) as info:
            parse_callback(body_of(envelope(msg)), TOKEN)
        assert info.value.field == "msg"

    @pytest.mark.parametrize("tokens", ["   ", ["\t"], [TOKEN + "\n"], [" " + TOKEN]])
    def test_blank_or_padded_token_is_a_configuration_error(self, tokens):
        with pytest.raises(ConfigurationError):
            parse_callback(body_of(envelope(PAYMENT_MSG)), tokens)


class TestMalformed:
    @pytest.mark.parametrize(
        "body",
        [b"", b"not json", b"\xff\xfe", b"[]", b'"text"', b"null", b"{}", '{"msg": 1}'],
    )
    def test_bad_bodies(self, body):
        with pytest.raises(MalformedCallbackError):
            parse_callback(body, TOKEN)

    @pytest.mark.parametrize("field", ["msg", "msg_signature", "nonce", "timestamp", "type"])
    def test_missing_envelope_field_is_named(self, field):
        env = envelope(PAYMENT_MSG)
        del env[field]
        with pytest.raises(MalformedCallbackError) as info:
            parse_callback(body_of(env), TOKEN)
        assert info.value.field == field

    def test_repeated_key_is_refused(self):
        env = envelope(PAYMENT_MSG)
        raw = body_of(env).decode()
        raw = raw[:-1] + ', "msg": "{}"}'
        with pytest.raises(MalformedCallbackError):
            parse_callback(raw, TOKEN)

    @pytest.mark.parametrize("msg", ["not json", "[1, 2]", "12"])
    def test_msg_not_a_json_object(self, msg):
        with pytest.raises(MalformedCallbackError):
            parse_callback(body_of(envelope(msg)), TOKEN)

    @pytest.mark.parametrize(
        ("key", "value"),
        [
            ("total_amount", 1.5),
            ("total_amount", "12.00"),
            ("total_amount", -1),
            ("total_amount", True),
            ("cp_orderno", None),
            ("appid", None),
            ("total_amount", None),
            ("cp_orderno", {"a": 1}),
        ],
    )
    def test_bad_payment_fields(self, key, value):
        data = json.loads(PAYMENT_MSG)
        if value is None:
            del data[key]
        else:
            data[key] = value
        with pytest.raises(MalformedCallbackError) as info:
            parse_callback(body_of(envelope(json.dumps(data))), TOKEN)
        assert info.value.field == key

    def test_all_errors_share_the_base_class(self):
        assert issubclass(SignatureError, CallbackError)
        assert issubclass(MalformedCallbackError, CallbackError)
        assert issubclass(CallbackError, DouyinPayError)
        assert issubclass(ConfigurationError, DouyinPayError)
        assert not issubclass(SignatureError, MalformedCallbackError)


class TestNoticeTypes:
    def test_payment_fields_and_way_normalised(self):
        notice = parse_callback(body_of(envelope(PAYMENT_MSG)), TOKEN)
        assert (notice.app_id, notice.out_order_no, notice.order_id) == ("tt0001", "order-1", "N1")
        assert notice.total_amount == 12800
        assert notice.way == 10
        assert notice.cp_extra == "x"
        assert notice.data["channel_no"] == "c1"

    def test_amount_as_digit_string_is_read_as_fen(self):
        data = json.loads(PAYMENT_MSG) | {"total_amount": "12800"}
        assert parse_callback(body_of(envelope(json.dumps(data))), TOKEN).total_amount == 12800

    def test_amounts_up_to_ten_billion_fen(self):
        data = json.loads(PAYMENT_MSG) | {"total_amount": 10_000_000_000}
        assert parse_callback(body_of(envelope(json.dumps(data))), TOKEN).total_amount == 10_000_000_000

    def test_refund(self):
        msg = json.dumps(
            {
                "appid": "tt0001",
                "cp_refundno": "r-1",
                "cp_extra": "",
                "status": "SUCCESS",
                "refund_amount": 500,
                "is_all_settled": False,
                "refunded_at": 1700000000,
                "message": "",
                "order_id": "N1",
                "refund_no": "R1",
            }
        )
        notice = parse_callback(body_of(envelope(msg, type_="refund")), TOKEN)
        assert isinstance(notice, RefundNotice)
        assert (notice.out_refund_no, notice.refund_amount, notice.status) == ("r-1", 500, "SUCCESS")
        assert notice.is_all_settled is False
        assert notice.refund_no == "R1"
        assert notice.refunded_at == 1700000000

    def test_settle_uses_app_id_not_appid(self):
        msg = json.dumps(
            {
                "app_id": "tt0001",
                "cp_settle_no": "s-1",
                "cp_extra": "",
                "status": "SUCCESS",
                "rake": 6,
                "commission": 0,
                "settle_detail": "商户号1-分成金额(分)100",
                "settled_at": 1700000001,
                "message": "",
                "order_id": "N1",
                "channel_settle_id": "c",
                "settle_amount": 994,
                "settle_no": "S1",
                "out_order_no": "order-1",
                "is_auto_settle": 0,
            }
        )
        notice = parse_callback(body_of(envelope(msg, type_="settle")), TOKEN)
        assert isinstance(notice, SettleNotice)
        assert (notice.app_id, notice.out_settle_no, notice.settle_amount, notice.rake) == ("tt0001", "s-1", 994, 6)
        assert notice.is_auto_settle is False
        assert notice.out_order_no == "order-1"

    def test_settle_also_reads_the_older_appid_spelling(self):
        # hardening #10: the older documentation's settle example names the app `appid`.
        msg = json.dumps({"appid": "tt0001", "cp_settle_no": "s-1", "status": "SUCCESS", "settle_amount": 994})
        notice = parse_callback(body_of(envelope(msg, type_="settle")), TOKEN)
        assert isinstance(notice, SettleNotice)
        assert notice.app_id == "tt0001"
        without = json.dumps({"cp_settle_no": "s-1", "status": "SUCCESS"})
        with pytest.raises(MalformedCallbackError):
            parse_callback(body_of(envelope(without, type_="settle")), TOKEN)

    @pytest.mark.parametrize(
        ("extra", "commission"),
        [('{"cps_info":"poi","share_amount":"299"}', 299), ("", None), ("null", None), ('{"cps_info":"poi"}', None)],
    )
    def test_payment_extra_carries_the_commission(self, extra, commission):
        msg = json.dumps({**json.loads(PAYMENT_MSG), "extra": extra})
        notice = parse_callback(body_of(envelope(msg)), TOKEN)
        assert (notice.cps.share_amount if notice.cps else None) == commission

    def test_payment_extra_with_a_commission_that_is_not_fen_is_malformed(self):
        msg = json.dumps({**json.loads(PAYMENT_MSG), "extra": '{"share_amount":"-1"}'})
        with pytest.raises(MalformedCallbackError):
            _ = parse_callback(body_of(envelope(msg)), TOKEN).cps

    def test_an_automatic_settlement_may_come_as_type_settle(self):
        # The documents leave open how an auto-settlement is announced: is_auto_settle with no
        # cp_settle_no is the order's, not malformed.
        auto = {"app_id": "tt0001", "cp_settle_no": "", "status": "SUCCESS", "is_auto_settle": True}
        notice = parse_callback(body_of(envelope(json.dumps({**auto, "out_order_no": "o-1"}), type_="settle")), TOKEN)
        assert isinstance(notice, SettleNotice)
        assert notice.automatic
        assert notice.out_order_no == "o-1"
        with pytest.raises(MalformedCallbackError):  # an automatic settlement names its order
            parse_callback(body_of(envelope(json.dumps(auto), type_="settle")), TOKEN)
        own = {**auto, "is_auto_settle": False, "out_order_no": "o-1"}
        with pytest.raises(MalformedCallbackError):  # one of ours must name its number
            parse_callback(body_of(envelope(json.dumps(own), type_="settle")), TOKEN)

    def test_settle_finish(self):
        msg = json.dumps(
            {
                "ma_app_id": "tt0001",
                "out_order_id": "order-1",
                "auto_settle_list": [
                    {
                        "created_at": "2024-01-01 00:00:00",
                        "settle_plat_no": "p",
                        "settle_no": "S9",
                        "settle_info": [{"merchant_uid": "m1", "amount": 100}],
                        "settle_status": "SUCCESS",
                        "service_charge": 1,
                        "cps": 0,
                        "settled_at": 1700000002,
                        "settle_way": "auto",
                    }
                ],
            }
        )
        notice = parse_callback(body_of(envelope(msg, type_="settle_finish")), TOKEN)
        assert isinstance(notice, SettleFinishNotice)
        assert notice.out_order_no == "order-1"
        [item] = notice.auto_settle_list
        assert item.payees[0].amount == 100
        assert item.settled_at == "1700000002"

    def test_unknown_type_is_kept_as_generic(self):
        msg = json.dumps({"status": "SUCCESS", "order_id": "W1"})
        notice = parse_callback(body_of(envelope(msg, type_="transfer")), TOKEN)
        assert isinstance(notice, GenericNotice)
        assert notice.type == "transfer"
        assert notice.msg == msg
        assert notice.data == {"status": "SUCCESS", "order_id": "W1"}

    def test_unknown_type_with_non_json_msg_keeps_the_raw_text(self):
        notice = parse_callback(body_of(envelope("plain text", type_="transfer")), TOKEN)
        assert isinstance(notice, GenericNotice)
        assert notice.msg == "plain text"
        assert notice.data == {}

    def test_bytes_and_str_bodies_agree(self):
        raw = body_of(envelope(PAYMENT_MSG))
        assert parse_callback(raw, TOKEN) == parse_callback(raw.decode(), TOKEN)
