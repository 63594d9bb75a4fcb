"""The ``withdraw`` callback (ecpay-spec §6.4 [S DOC-HG]) parsed into its typed notice."""

from __future__ import annotations

import json

import pytest

from douyin_pay import GenericNotice, MalformedCallbackError, SignatureError, WithdrawNotice, parse_callback
from tests.sdk.ecpay.test_notices import TOKEN, body_of, envelope

# The field set of HeartGarlic/douyin-openapi's MerchantWithdrawCallbackResponseMsg, with values of
# the shapes the platform uses elsewhere (19-digit platform ids, unix seconds).
WITHDRAW_MSG = {
    "status": "SUCCESS",
    "extra": "cp-extra-1",
    "message": "",
    "withdraw_at": 1722769986,
    "order_id": "7398108028895054107",
    "out_order_id": "wd-2024-0001",
    "ch_order_id": "2024080422001478031451493029",
}


def parse(msg: dict | str, **kwargs) -> object:
    text = msg if isinstance(msg, str) else json.dumps(msg, ensure_ascii=False)
    return parse_callback(body_of(envelope(text, type_="withdraw", **kwargs)), TOKEN)


class TestWithdrawNotice:
    def test_signed_callback_parses_into_the_typed_notice(self):
        notice = parse(WITHDRAW_MSG)
        assert isinstance(notice, WithdrawNotice)
        assert not isinstance(notice, GenericNotice)
        assert (notice.type, notice.status, notice.out_order_id) == ("withdraw", "SUCCESS", "wd-2024-0001")
        assert notice.order_id == "7398108028895054107"
        assert notice.ch_order_id == "2024080422001478031451493029"
        assert notice.withdraw_at == 1722769986
        assert (notice.extra, notice.message) == ("cp-extra-1", "")
        assert notice.data == WITHDRAW_MSG

    def test_withdraw_at_as_digit_text_is_read_as_seconds(self):
        assert parse({**WITHDRAW_MSG, "withdraw_at": "1722769986"}).withdraw_at == 1722769986

    def test_a_failure_carries_its_message(self):
        notice = parse({**WITHDRAW_MSG, "status": "FAIL", "message": "银行卡信息有误"})
        assert (notice.status, notice.message) == ("FAIL", "银行卡信息有误")

    def test_optional_fields_may_be_missing(self):
        notice = parse({"status": "PROCESSING", "out_order_id": "wd-1"})
        assert (notice.order_id, notice.ch_order_id, notice.withdraw_at, notice.extra) == ("", "", None, "")

    @pytest.mark.parametrize("missing", ["out_order_id", "status"])
    def test_missing_identifying_field_is_malformed_and_named(self, missing):
        msg = {k: v for k, v in WITHDRAW_MSG.items() if k != missing}
        with pytest.raises(MalformedCallbackError) as caught:
            parse(msg)
        assert caught.value.field == missing

    @pytest.mark.parametrize(
        ("field", "value"),
        [("withdraw_at", 1722769986.5), ("withdraw_at", "yesterday"), ("withdraw_at", True), ("status", ["SUCCESS"])],
    )
    def test_wrongly_typed_field_is_malformed_and_named(self, field, value):
        with pytest.raises(MalformedCallbackError) as caught:
            parse({**WITHDRAW_MSG, field: value})
        assert caught.value.field == field

    def test_msg_that_is_not_an_object_is_malformed(self):
        with pytest.raises(MalformedCallbackError) as caught:
            parse("[1, 2]")
        assert caught.value.field == "msg"

    def test_signature_is_checked_before_the_msg_is_read(self):
        with pytest.raises(SignatureError):
            parse({"no": "fields"}, token="another-token")
