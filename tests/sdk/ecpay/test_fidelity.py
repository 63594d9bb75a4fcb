"""Protocol fidelity against the platform's documented examples (issue #12 items 9, 11, 12, 13).

Each signature is written out by hand from the signing rule (ecpay-spec §5.2: the values except
app_id/thirdparty_id/sign, plus the SALT, sorted by code point and joined with "&"), never
recomputed by the code under test.
"""

from __future__ import annotations

import json

import pytest

from douyin_pay import EcpayClient, RetryPolicy, SettlePayee, ValidationError
from douyin_pay.ecpay import validation as rules
from tests.http_stub import Answer
from tests.sdk.ecpay.test_client import md5

APP_ID = "tt0000000000000001"
SALT = "unit-test-salt"


def make_client(stub) -> EcpayClient:
    retry = RetryPolicy(query_attempts=1, mutation_attempts=1, backoff_base=0.0)
    return EcpayClient(APP_ID, SALT, base_url=stub.base_url, sleep=lambda s: None, retry=retry, timeout=(1.0, 1.0))


def sent(stub) -> dict:
    [request] = stub.requests
    return request.json()


class TestMerchantUid:
    """Item 9: a merchant_uid is a string of 1-32 characters (MA-SETTLE, MA-RETURN), not only
    letters and digits; the signing-safety rules of any text still apply."""

    def test_settle_payee_with_underscore_is_sent_and_signed(self, stub):
        stub.queue(Answer.json({"err_no": 0, "settle_no": "S1"}))
        make_client(stub).settle("s1", "o1", "分账", settle_params=[SettlePayee("partner_01", 60)])
        body = sent(stub)
        assert body["settle_params"] == '[{"merchant_uid":"partner_01","amount":60}]'
        assert body["sign"] == md5('[{"merchant_uid":"partner_01","amount":60}]&o1&s1&unit-test-salt&分账')

    def test_create_return_to_a_payee_with_underscore(self, stub):
        stub.queue(Answer.json({"err_no": 0, "return_info": {"out_return_no": "rt1", "return_status": "SUCCESS"}}))
        make_client(stub).create_return("rt1", "partner_01", 10, "退分账", out_settle_no="s1")
        body = sent(stub)
        assert body["merchant_uid"] == "partner_01"
        assert body["sign"] == md5("10&partner_01&rt1&s1&unit-test-salt&退分账")

    @pytest.mark.parametrize("uid", ["m" * 32, "a.b-c_d", "商户1"])
    def test_any_text_of_at_most_32_characters(self, uid):
        assert rules.merchant_uid("merchant_uid", uid) == uid
        assert rules.settle_params("settle_params", [{"merchant_uid": uid, "amount": 1}])[0]["merchant_uid"] == uid

    @pytest.mark.parametrize("uid", ["", "m" * 33, " m1", "m1\u3000", '"m1"', "null", 1, None])
    def test_refused(self, stub, uid):
        client = make_client(stub)
        with pytest.raises(ValidationError) as info:
            client.create_return("rt1", uid, 10, "d", out_settle_no="s1")
        assert (info.value.field, info.value.code) == ("merchant_uid", "invalid_merchant_uid")
        with pytest.raises(ValidationError) as info:
            client.settle("s1", "o1", "d", settle_params=[{"merchant_uid": uid, "amount": 1}])
        assert (info.value.field, info.value.code) == ("settle_params[0].merchant_uid", "invalid_merchant_uid")
        assert stub.requests == []


class TestCreateReturnReferences:
    """Item 11: settle_no, out_settle_no or both (the documented sample sends both)."""

    def test_both_are_sent_and_signed(self, stub):
        stub.queue(Answer.json({"err_no": 0, "return_info": {"out_return_no": "rt1", "return_status": "SUCCESS"}}))
        make_client(stub).create_return("rt1", "m_1", 10, "退分账", settle_no="S1", out_settle_no="s1")
        body = sent(stub)
        assert (body["settle_no"], body["out_settle_no"]) == ("S1", "s1")
        assert body["sign"] == md5("10&S1&m_1&rt1&s1&unit-test-salt&退分账")

    def test_settle_no_alone(self, stub):
        stub.queue(Answer.json({"err_no": 0, "return_info": {"out_return_no": "rt1", "return_status": "SUCCESS"}}))
        make_client(stub).create_return("rt1", "m1", 10, "d", settle_no="S1")
        body = sent(stub)
        assert body["settle_no"] == "S1"
        assert "out_settle_no" not in body

    def test_neither_is_refused(self, stub):
        with pytest.raises(ValidationError) as info:
            make_client(stub).create_return("rt1", "m1", 10, "d")
        assert info.value.code == "missing_field"
        assert stub.requests == []

    def test_a_bad_reference_is_refused_even_beside_a_good_one(self, stub):
        with pytest.raises(ValidationError) as info:
            make_client(stub).create_return("rt1", "m1", 10, "d", settle_no="bad no", out_settle_no="s1")
        assert info.value.field == "settle_no"
        assert stub.requests == []


class TestValidTime:
    """Item 12: any integer 1..172800 is sent as given; the platform raises < 300 to 300."""

    def test_documented_example_value_is_sent_as_given(self, stub):
        stub.queue(Answer.json({"err_no": 0, "data": {"order_id": "N1", "order_token": "t"}}))
        make_client(stub).create_order("o1", 100, "s", "b", 180)
        body = sent(stub)
        assert body["valid_time"] == 180
        assert body["sign"] == md5("100&180&b&o1&s&unit-test-salt")

    @pytest.mark.parametrize("seconds", [1, 299, 300, 172_800])
    def test_accepted(self, stub, seconds):
        stub.queue(Answer.json({"err_no": 0, "data": {"order_id": "N1", "order_token": "t"}}))
        make_client(stub).create_order("o1", 100, "s", "b", seconds)
        assert sent(stub)["valid_time"] == seconds

    @pytest.mark.parametrize("seconds", [0, -1, 172_801, True, 180.0, "180", None])
    def test_refused(self, stub, seconds):
        with pytest.raises(ValidationError) as info:
            make_client(stub).create_order("o1", 100, "s", "b", seconds)
        assert info.value.field == "valid_time"
        assert stub.requests == []

    @pytest.mark.parametrize(("given", "effective"), [(1, 300), (180, 300), (300, 300), (301, 301), (172_800, 172_800)])
    def test_effective_valid_time(self, given, effective):
        assert rules.effective_valid_time(given) == effective


class TestRefundTotalAmount:
    """Item 13: create_refund may carry the order's total_amount (DOC-2021 example, SKIT)."""

    def test_sent_and_signed(self, stub):
        stub.queue(Answer.json({"err_no": 0, "refund_no": "R1"}))
        make_client(stub).create_refund("o1", "r1", 500, "不想要了", total_amount=19800)
        body = sent(stub)
        assert body["total_amount"] == 19800
        assert body["sign"] == md5("19800&500&o1&r1&unit-test-salt&不想要了")

    def test_left_out_when_not_given(self, stub):
        stub.queue(Answer.json({"err_no": 0, "refund_no": "R1"}))
        make_client(stub).create_refund("o1", "r1", 500, "d")
        assert "total_amount" not in sent(stub)

    @pytest.mark.parametrize("value", [0, 10_000_000_001, 1.5, True, "19800"])
    def test_validated_like_other_amounts(self, stub, value):
        with pytest.raises(ValidationError) as info:
            make_client(stub).create_refund("o1", "r1", 500, "d", total_amount=value)
        assert info.value.field == "total_amount"
        assert stub.requests == []


class TestSettleShapes:
    """Item 13: an empty payee list is sent as "[]"; ``finish`` marks the last settlement."""

    def test_empty_payee_list_is_sent_as_json_text(self, stub):
        stub.queue(Answer.json({"err_no": 0, "settle_no": "S1"}))
        make_client(stub).settle("s1", "o1", "结算", settle_params=[])
        body = sent(stub)
        assert body["settle_params"] == "[]"
        assert body["sign"] == md5("[]&o1&s1&unit-test-salt&结算")

    def test_finish_is_sent_as_the_string_true(self, stub):
        stub.queue(Answer.json({"err_no": 0, "settle_no": "S1"}))
        make_client(stub).settle("s1", "o1", "结算", settle_params=[], finish=True)
        body = sent(stub)
        assert body["finish"] == "true"
        assert body["sign"] == md5("[]&o1&s1&true&unit-test-salt&结算")

    def test_finish_false_sends_nothing(self, stub):
        stub.queue(Answer.json({"err_no": 0, "settle_no": "S1"}))
        make_client(stub).settle("s1", "o1", "结算", finish=False)
        body = sent(stub)
        assert "finish" not in body
        assert body["sign"] == md5("o1&s1&unit-test-salt&结算")

    @pytest.mark.parametrize("value", [1, 0, "true", "1"])
    def test_finish_must_be_a_boolean(self, stub, value):
        with pytest.raises(ValidationError) as info:
            make_client(stub).settle("s1", "o1", "d", finish=value)
        assert (info.value.field, info.value.code) == ("finish", "invalid_flag")
        assert stub.requests == []

    def test_five_payees_still_refused(self, stub):
        with pytest.raises(ValidationError) as info:
            make_client(stub).settle("s1", "o1", "d", settle_params=[SettlePayee(f"m{i}", 1) for i in range(5)])
        assert info.value.field == "settle_params"
        assert stub.requests == []

    def test_payees_round_trip(self, stub):
        stub.queue(Answer.json({"err_no": 0, "settle_no": "S1"}))
        payees = [{"merchant_uid": "a_1", "amount": 1}, {"merchant_uid": "b-2", "amount": 2}]
        make_client(stub).settle("s1", "o1", "d", settle_params=payees)
        assert json.loads(sent(stub)["settle_params"]) == payees
