"""Merchant balance, withdrawal and withdrawal query (ecpay-spec §3.12) at the HTTP level."""

from __future__ import annotations

import pytest

from douyin_pay import (
    MerchantBalance,
    PlatformError,
    PlatformTransportError,
    ValidationError,
    WithdrawOrderResult,
    WithdrawResult,
    WithdrawStatus,
)
from tests.http_stub import Answer
from tests.sdk.ecpay.test_client import APP_ID, SALT, make_client, md5

MERCHANT = "69631798443938962290"


BALANCE_ANSWER = {
    "err_no": 0,
    "err_tips": "",
    "account_info": {"online_balance": 12800, "withdrawable_balacne": 9940, "freeze_balance": 0},
    "settle_info": {"settle_type": 1, "settle_account": "", "bankcard_no": "6222****1234", "bank_name": "招商银行"},
    "merchant_entity": 1,
}


class TestQueryMerchantBalance:
    def test_body_path_signature_and_typed_result(self, stub):
        stub.queue(Answer.json(BALANCE_ANSWER))
        balance = make_client(stub).query_merchant_balance(MERCHANT, "hz")
        [sent] = stub.requests
        assert sent.path == "/api/apps/ecpay/saas/query_merchant_balance"
        # §5.2 by hand: the two values and the SALT, sorted, joined by "&" (app_id is not signed).
        assert sent.json() == {
            "app_id": APP_ID,
            "merchant_uid": MERCHANT,
            "channel_type": "hz",
            "sign": md5(f"{MERCHANT}&hz&{SALT}"),
        }
        assert balance == MerchantBalance(
            online_balance=12800,
            withdrawable_balance=9940,
            freeze_balance=0,
            settle_type=1,
            settle_account="",
            bankcard_no="6222****1234",
            bank_name="招商银行",
            merchant_entity=1,
        )

    def test_correctly_spelt_key_is_read_too_and_a_disagreement_refused(self, stub):
        account = {"online_balance": 1, "withdrawable_balance": 5, "freeze_balance": 0}
        stub.queue(Answer.json({"err_no": 0, "account_info": account}))
        assert make_client(stub).query_merchant_balance(MERCHANT, "wx").withdrawable_balance == 5
        stub.queue(*[Answer.json({"err_no": 0, "account_info": {**account, "withdrawable_balacne": 6}})] * 3)
        with pytest.raises(PlatformTransportError, match="withdrawable_balacne"):
            make_client(stub).query_merchant_balance(MERCHANT, "wx")

    @pytest.mark.parametrize("bad", [12.5, "12.50", -1, True])
    def test_an_amount_that_is_not_fen_is_refused(self, stub, bad):
        answer = {**BALANCE_ANSWER, "account_info": {**BALANCE_ANSWER["account_info"], "online_balance": bad}}
        stub.queue(*[Answer.json(answer)] * 3)
        with pytest.raises(PlatformTransportError, match="online_balance"):
            make_client(stub).query_merchant_balance(MERCHANT, "hz")

    def test_missing_account_info_is_unreadable(self, stub):
        stub.queue(*[Answer.json({"err_no": 0, "err_tips": ""})] * 3)
        with pytest.raises(PlatformTransportError, match="account_info"):
            make_client(stub).query_merchant_balance(MERCHANT, "hz")

    def test_error_envelope_becomes_platform_error(self, stub):
        stub.queue(Answer.json({"err_no": 4000, "err_tips": "商户号和APPID不对应"}))
        with pytest.raises(PlatformError) as caught:
            make_client(stub).query_merchant_balance(MERCHANT, "hz")
        assert (caught.value.err_no, caught.value.retryable) == (4000, False)
        assert len(stub.requests) == 1

    def test_busy_is_retried_with_the_identical_body(self, stub):
        stub.queue(Answer.json({"err_no": 1001, "err_tips": "busy"}), Answer.json(BALANCE_ANSWER))
        make_client(stub).query_merchant_balance(MERCHANT, "hz")
        first, second = stub.requests
        assert first.body == second.body

    @pytest.mark.parametrize(
        ("args", "field"),
        [
            ((MERCHANT, "bank"), "channel_type"),
            (("m" * 33, "hz"), "merchant_uid"),  # the platform states 32 characters at most
            ((MERCHANT, None), "channel_type"),
        ],
    )
    def test_invalid_fields_are_refused_before_sending(self, stub, args, field):
        with pytest.raises(ValidationError) as caught:
            make_client(stub).query_merchant_balance(*args)
        assert caught.value.field == field
        assert stub.requests == []


class TestMerchantWithdraw:
    def test_body_path_signature_and_result(self, stub):
        stub.queue(Answer.json({"err_no": 0, "err_tips": "", "order_id": "7398108028895054107", "merchant_entity": 1}))
        result = make_client(stub).merchant_withdraw(
            MERCHANT, "alipay", 9940, "wd-0001", callback="https://cb.example/withdraw", cp_extra="x"
        )
        assert result == WithdrawResult(order_id="7398108028895054107", merchant_entity=1)
        [sent] = stub.requests
        assert sent.path == "/api/apps/ecpay/saas/merchant_withdraw"
        body = sent.json()
        assert body == {
            "app_id": APP_ID,
            "merchant_uid": MERCHANT,
            "channel_type": "alipay",
            "withdraw_amount": 9940,
            "out_order_id": "wd-0001",
            "callback": "https://cb.example/withdraw",
            "cp_extra": "x",
            "sign": md5(f"{MERCHANT}&9940&alipay&https://cb.example/withdraw&{SALT}&wd-0001&x"),
        }

    def test_unset_options_are_left_out_of_body_and_signature(self, stub):
        stub.queue(Answer.json({"err_no": 0, "order_id": "W1"}))
        make_client(stub).merchant_withdraw(MERCHANT, "wx", 1, "wd-2")
        body = stub.requests[0].json()
        assert set(body) == {"app_id", "merchant_uid", "channel_type", "withdraw_amount", "out_order_id", "sign"}
        assert body["sign"] == md5(f"1&{MERCHANT}&{SALT}&wd-2&wx")

    def test_an_answer_without_order_id_is_unreadable(self, stub):
        stub.queue(*[Answer.json({"err_no": 0})] * 2)
        with pytest.raises(PlatformTransportError, match="order_id"):
            make_client(stub).merchant_withdraw(MERCHANT, "wx", 1, "wd-3")
        assert len(stub.requests) == 2  # a mutation: resent identically, mutation_attempts times

    def test_a_refusal_is_not_retried(self, stub):
        stub.queue(Answer.json({"err_no": 2010, "err_tips": "可提现余额不足"}))
        with pytest.raises(PlatformError) as caught:
            make_client(stub).merchant_withdraw(MERCHANT, "wx", 100, "wd-4")
        assert caught.value.err_no == 2010
        assert len(stub.requests) == 1

    @pytest.mark.parametrize(
        ("amount", "out_order_id", "field"),
        [
            (0, "wd-1", "withdraw_amount"),
            (1.5, "wd-1", "withdraw_amount"),
            (True, "wd-1", "withdraw_amount"),
            ("100", "wd-1", "withdraw_amount"),
            (100, "wd 1", "out_order_id"),
            (100, "w" * 65, "out_order_id"),
            (100, "", "out_order_id"),
        ],
    )
    def test_amount_is_fen_and_out_order_id_a_business_number(self, stub, amount, out_order_id, field):
        with pytest.raises(ValidationError) as caught:
            make_client(stub).merchant_withdraw(MERCHANT, "wx", amount, out_order_id)
        assert caught.value.field == field
        assert stub.requests == []

    def test_callback_must_be_https(self, stub):
        with pytest.raises(ValidationError) as caught:
            make_client(stub).merchant_withdraw(MERCHANT, "wx", 1, "wd-5", callback="http://cb.example/x")
        assert caught.value.field == "callback"


class TestQueryWithdrawOrder:
    @pytest.mark.parametrize("key", ["statusMsg", "status_msg"])
    def test_body_and_each_spelling_of_the_status_text(self, stub, key):
        stub.queue(Answer.json({"err_no": 0, "err_tips": "", "status": "REEXCHANGE", key: "退票"}))
        result = make_client(stub).query_withdraw_order(MERCHANT, "hz", "wd-0001")
        assert result == WithdrawOrderResult(status=WithdrawStatus.REEXCHANGE, status_msg="退票")
        [sent] = stub.requests
        assert sent.path == "/api/apps/ecpay/saas/query_withdraw_order"
        assert sent.json() == {
            "app_id": APP_ID,
            "merchant_uid": MERCHANT,
            "channel_type": "hz",
            "out_order_id": "wd-0001",
            "sign": md5(f"{MERCHANT}&hz&{SALT}&wd-0001"),
        }

    def test_an_unknown_status_is_refused(self, stub):
        stub.queue(*[Answer.json({"err_no": 0, "status": "DONE"})] * 3)
        with pytest.raises(PlatformTransportError, match="status"):
            make_client(stub).query_withdraw_order(MERCHANT, "hz", "wd-1")

    def test_provider_mode_sends_thirdparty_id_unsigned(self, stub):
        stub.queue(Answer.json({"err_no": 0, "status": "SUCCESS"}))
        make_client(stub, thirdparty_id="tta4bad2000001234").query_withdraw_order(MERCHANT, "hz", "wd-1")
        body = stub.requests[0].json()
        assert body["thirdparty_id"] == "tta4bad2000001234"
        assert body["sign"] == md5(f"{MERCHANT}&hz&{SALT}&wd-1")
