"""EcpayClient at the HTTP level, against a scripted server on loopback.

Checks the exact bytes sent, the path, the signature, each response shape, each error class, the
retry rules and the validation that happens before any byte is sent.
"""

from __future__ import annotations

import hashlib
import json
import socket

import pytest
import requests

from douyin_pay import (
    PRODUCTION_BASE_URL,
    SANDBOX_BASE_URL,
    ConfigurationError,
    CreateOrderResult,
    EcpayClient,
    PlatformError,
    PlatformTransportError,
    RetryPolicy,
    SettlePayee,
    ValidationError,
    request_sign,
)
from tests.http_stub import Answer

APP_ID = "tt0000000000000001"
SALT = "unit-test-salt"


def make_client(stub, **kwargs) -> EcpayClient:
    kwargs.setdefault("retry", RetryPolicy(query_attempts=3, mutation_attempts=2, backoff_base=0.0))
    kwargs.setdefault("timeout", (1.0, 1.0))
    return EcpayClient(APP_ID, SALT, base_url=stub.base_url, sleep=lambda s: None, **kwargs)


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def assert_signed(recorded) -> dict:
    body = recorded.json()
    assert body["sign"] == request_sign(body, SALT)
    assert recorded.headers["content-type"] == "application/json"
    return body


class TestCreateOrder:
    def test_exact_body_signature_and_result(self, stub):
        stub.queue(Answer.json({"err_no": 0, "err_tips": "", "data": {"order_id": "N1", "order_token": "tok=="}}))
        result = make_client(stub).create_order(
            "order-1",
            12800,
            "测试商品",
            "测试商品 详情",
            900,
            cp_extra="extra",
            notify_url="https://cb.example/x",
            disable_msg=0,
            msg_page="pages/index",
        )
        assert result == CreateOrderResult(order_id="N1", order_token="tok==")
        [sent] = stub.requests
        assert sent.path == "/api/apps/ecpay/v1/create_order"
        # The hand-built string of ecpay-spec §5.2 for exactly these values:
        expected_sign = md5(
            "0&12800&900&extra&https://cb.example/x&order-1&pages/index&unit-test-salt&测试商品&测试商品 详情"
        )
        assert sent.json() == {
            "app_id": APP_ID,
            "out_order_no": "order-1",
            "total_amount": 12800,
            "subject": "测试商品",
            "body": "测试商品 详情",
            "valid_time": 900,
            "cp_extra": "extra",
            "notify_url": "https://cb.example/x",
            "disable_msg": 0,
            "msg_page": "pages/index",
            "sign": expected_sign,
        }
        # Non-ASCII goes as UTF-8, compact, so the platform reads the same text that was signed.
        assert "测试商品".encode() in sent.body
        assert b": " not in sent.body

    def test_unset_fields_are_left_out(self, stub):
        stub.queue(Answer.json({"err_no": 0, "data": {"order_id": "N1", "order_token": "t"}}))
        make_client(stub).create_order("o1", 1, "s", "b", 300)
        body = assert_signed(stub.requests[0])
        assert set(body) == {"app_id", "out_order_no", "total_amount", "subject", "body", "valid_time", "sign"}

    def test_expand_order_info_is_sent_as_the_json_string_it_is_signed_as(self, stub):
        stub.queue(Answer.json({"err_no": 0, "data": {"order_id": "N1", "order_token": "t"}}))
        make_client(stub).create_order(
            "o1", 100, "s", "b", 900, expand_order_info={"original_delivery_fee": 15, "actual_delivery_fee": 10}
        )
        body = assert_signed(stub.requests[0])
        assert body["expand_order_info"] == '{"original_delivery_fee":15,"actual_delivery_fee":10}'

    def test_amount_of_ten_billion_fen_is_sent_as_digits(self, stub):
        stub.queue(Answer.json({"err_no": 0, "data": {"order_id": "N1", "order_token": "t"}}))
        make_client(stub).create_order("o1", 10_000_000_000, "s", "b", 900)
        assert b'"total_amount":10000000000' in stub.requests[0].body
        assert_signed(stub.requests[0])

    def test_missing_data_wrapper_is_an_unknown_outcome(self, stub):
        stub.default = Answer.json({"err_no": 0, "order_id": "N1", "order_token": "t"})
        with pytest.raises(PlatformTransportError) as info:
            make_client(stub).create_order("o1", 1, "s", "b", 300)
        assert info.value.retryable


class TestQueries:
    def test_query_order_top_level_fields_and_numeric_way(self, stub):
        stub.queue(
            Answer.json(
                {
                    "err_no": 0,
                    "err_tips": "",
                    "out_order_no": "o1",
                    "order_id": "N1",
                    "payment_info": {
                        "total_fee": 68800,
                        "order_status": "SUCCESS",
                        "pay_time": "2021-07-01 01:43:15",
                        "way": 2,
                        "channel_no": "ch",
                        "channel_gateway_no": "gw",
                        "seller_uid": "s",
                        "item_id": "i",
                    },
                    "cps_info": {"share_amount": "299", "douyin_id": "d", "nickname": "n"},
                }
            )
        )
        result = make_client(stub).query_order("o1")
        assert stub.requests[0].path.endswith("/query_order")
        assert assert_signed(stub.requests[0]) == {
            "app_id": APP_ID,
            "out_order_no": "o1",
            "sign": md5("o1&unit-test-salt"),
        }
        assert result.order_id == "N1"
        assert result.payment.total_fee == 68800
        assert result.payment.order_status == "SUCCESS"
        assert result.payment.way == 2
        assert result.cps_info.share_amount == 299

    @pytest.mark.parametrize(
        ("place", "cps", "expected"),
        [
            # hardening #14: another SDK types cps_info as text inside payment_info.
            ("payment_info", '{"share_amount":"299","douyin_id":"d","nickname":"n"}', 299),
            ("top", '{"share_amount":"15"}', 15),
            ("payment_info", {"share_amount": 7}, 7),
            ("payment_info", "", None),
            ("top", "null", None),
            ("top", "not json", None),  # no CPS data, not an unreadable answer
            ("top", ["x"], None),
        ],
    )
    def test_cps_info_in_either_place_and_either_form(self, stub, place, cps, expected):
        info = {"total_fee": 1000, "order_status": "SUCCESS", "pay_time": "2021-07-01 01:43:15", "way": 1}
        answer = {"err_no": 0, "out_order_no": "o1", "order_id": "N1", "payment_info": info}
        (info if place == "payment_info" else answer)["cps_info"] = cps
        stub.queue(Answer.json(answer))
        result = make_client(stub).query_order("o1")
        assert result.payment.order_status == "SUCCESS"
        assert (result.cps_info.share_amount if result.cps_info else None) == expected

    def test_a_commission_that_is_not_fen_is_refused(self, stub):
        info = {"total_fee": 1000, "order_status": "SUCCESS", "cps_info": '{"share_amount":"2.99"}'}
        stub.queue(Answer.json({"err_no": 0, "payment_info": info}))
        with pytest.raises(PlatformTransportError):
            make_client(stub).query_order("o1")

    def test_unpaid_order_way_zero_is_none(self, stub):
        stub.queue(
            Answer.json(
                {
                    "err_no": 0,
                    "out_order_no": "o1",
                    "order_id": "N1",
                    "payment_info": {"total_fee": 1, "order_status": "PROCESSING", "pay_time": "", "way": 0},
                }
            )
        )
        result = make_client(stub).query_order("o1")
        assert result.payment.way is None
        assert result.cps_info is None

    def test_query_refund_camel_case_refund_info(self, stub):
        stub.queue(
            Answer.json(
                {
                    "err_no": 0,
                    "refundInfo": {
                        "refund_no": "R1",
                        "refund_amount": 500,
                        "refund_status": "SUCCESS",
                        "refunded_at": 1700000000,
                        "is_all_settled": True,
                        "cp_extra": "",
                        "msg": "",
                    },
                }
            )
        )
        result = make_client(stub).query_refund("r1")
        assert assert_signed(stub.requests[0])["out_refund_no"] == "r1"
        assert (result.refund_no, result.refund_amount, result.refund_status) == ("R1", 500, "SUCCESS")
        assert result.is_all_settled is True

    def test_query_settle_nested_settle_info(self, stub):
        stub.queue(
            Answer.json(
                {
                    "err_no": 0,
                    "settle_info": {
                        "settle_no": "S1",
                        "settle_amount": 994,
                        "settle_status": "SUCCESS",
                        "rake": 6,
                        "commission": 0,
                        "settle_detail": "d",
                        "settled_at": 1700000000,
                        "cp_extra": "",
                        "msg": "",
                    },
                }
            )
        )
        result = make_client(stub).query_settle("s1")
        assert stub.requests[0].path.endswith("/query_settle")
        assert (result.settle_no, result.settle_amount, result.rake, result.settle_status) == ("S1", 994, 6, "SUCCESS")

    def test_unsettle_amount(self, stub):
        stub.queue(
            Answer.json(
                {"err_no": 0, "data": {"out_order_no": "o1", "unsettle_amount": 700, "detail": {"payment_rake": 6}}}
            )
        )
        result = make_client(stub).unsettle_amount("o1")
        assert stub.requests[0].path.endswith("/unsettle_amount")
        assert result.unsettle_amount == 700
        assert result.detail["payment_rake"] == 6

    def test_query_platform_order(self, stub):
        stub.queue(
            Answer.json(
                {
                    "err_no": 0,
                    "platform_order": {
                        "settle_info_list": [
                            {
                                "settle_no": "S1",
                                "out_settle_no": "s1",
                                "settle_param_list": [{"merchant_uid": "m", "amount": 5}],
                                "settle_way": 1,
                                "settle_status": "SUCCESS",
                                "cps": 0,
                                "service_charge": 1,
                                "created_at": "2024-01-01 00:00:00",
                                "settled_at": "2024-01-02 00:00:00",
                            }
                        ]
                    },
                }
            )
        )
        result = make_client(stub).query_platform_order("o1")
        body = assert_signed(stub.requests[0])
        assert body["query_type"] == 1
        [settlement] = result.settlements
        assert settlement.payees[0].amount == 5
        assert settlement.settle_way == "1"

    def test_query_return_by_either_number(self, stub):
        info = {
            "return_no": "RT1",
            "out_return_no": "rt1",
            "settle_no": "S1",
            "merchant_uid": "m1",
            "return_amount": 10,
            "return_status": "SUCCESS",
            "finish_time": 1700000000,
        }
        stub.default = Answer.json({"err_no": 0, "return_info": info})
        client = make_client(stub)
        assert client.query_return(out_return_no="rt1").return_amount == 10
        assert client.query_return(return_no="RT1").return_no == "RT1"
        assert "return_no" not in stub.requests[0].json()
        assert "out_return_no" not in stub.requests[1].json()
        with pytest.raises(ValidationError):
            client.query_return()


class TestMutations:
    def test_create_refund(self, stub):
        stub.queue(Answer.json({"err_no": 0, "err_tips": "", "refund_no": "R1"}))
        result = make_client(stub).create_refund("o1", "r1", 500, "不想要了", all_settle=0)
        assert result.refund_no == "R1"
        sent = stub.requests[0]
        assert sent.path.endswith("/create_refund")
        assert sent.json() == {
            "app_id": APP_ID,
            "out_order_no": "o1",
            "out_refund_no": "r1",
            "reason": "不想要了",
            "refund_amount": 500,
            "all_settle": 0,
            "sign": md5("0&500&o1&r1&unit-test-salt&不想要了"),
        }

    def test_settle_with_payees_sends_a_json_string(self, stub):
        stub.queue(Answer.json({"err_no": 0, "settle_no": "S1"}))
        result = make_client(stub).settle("s1", "o1", "分账", settle_params=[SettlePayee("696458350318359362", 60)])
        assert result.settle_no == "S1"
        body = assert_signed(stub.requests[0])
        assert body["settle_params"] == '[{"merchant_uid":"696458350318359362","amount":60}]'
        # ecpay-spec §5.6 E4 (settle row) with this client's salt; "[" sorts before lowercase letters.
        assert body["sign"] == md5('[{"merchant_uid":"696458350318359362","amount":60}]&o1&s1&unit-test-salt&分账')

    def test_settle_without_payees(self, stub):
        stub.queue(Answer.json({"err_no": 0, "settle_no": "S1"}))
        make_client(stub).settle("s1", "o1", "结算")
        assert "settle_params" not in stub.requests[0].json()

    def test_create_return(self, stub):
        stub.queue(
            Answer.json(
                {
                    "err_no": 0,
                    "return_info": {"out_return_no": "rt1", "return_no": "RT1", "return_status": "PROCESSING"},
                }
            )
        )
        result = make_client(stub).create_return("rt1", "m1", 10, "退分账", out_settle_no="s1")
        body = assert_signed(stub.requests[0])
        assert stub.requests[0].path.endswith("/create_return")
        assert body["out_settle_no"] == "s1"
        assert "settle_no" not in body
        assert result.return_status == "PROCESSING"

    def test_create_return_needs_a_settlement_reference(self, stub):
        # Both references together are allowed (issue #12 item 11: tests/sdk/ecpay/test_fidelity.py).
        client = make_client(stub)
        with pytest.raises(ValidationError):
            client.create_return("rt1", "m1", 10, "d")
        assert stub.requests == []


class TestServiceProviderMode:
    def test_thirdparty_id_is_sent_but_not_signed(self, stub):
        stub.queue(Answer.json({"err_no": 0, "refundInfo": {"refund_amount": 1, "refund_status": "SUCCESS"}}))
        make_client(stub, thirdparty_id="tt_provider").query_refund("r1")
        body = stub.requests[0].json()
        assert body["thirdparty_id"] == "tt_provider"
        assert body["sign"] == md5("r1&unit-test-salt")


class TestErrors:
    def test_definitive_error_is_not_retried(self, stub):
        stub.default = Answer.json({"err_no": 2008, "err_tips": "签名校验异常"})
        with pytest.raises(PlatformError) as info:
            make_client(stub).query_order("o1")
        assert (info.value.err_no, info.value.err_tips, info.value.retryable) == (2008, "签名校验异常", False)
        assert len(stub.requests) == 1

    @pytest.mark.parametrize("err_no", [2010, 2042, 2047, 2048, 2000, 3101])
    def test_other_definitive_errors(self, stub, err_no):
        stub.default = Answer.json({"err_no": err_no, "err_tips": "x"})
        with pytest.raises(PlatformError) as info:
            make_client(stub).create_refund("o1", "r1", 1, "r")
        assert not info.value.retryable
        assert len(stub.requests) == 1

    @pytest.mark.parametrize("err_no", [1000, 1001])
    def test_retryable_errors_are_retried_a_bounded_number_of_times(self, stub, err_no):
        stub.default = Answer.json({"err_no": err_no, "err_tips": "busy"})
        with pytest.raises(PlatformError) as info:
            make_client(stub).query_order("o1")
        assert info.value.retryable
        assert info.value.err_no == err_no
        assert len(stub.requests) == 3

    def test_query_succeeds_after_a_rate_limit(self, stub):
        stub.queue(
            Answer.json({"err_no": 1001, "err_tips": "busy"}),
            Answer.json({"err_no": 0, "refundInfo": {"refund_amount": 1, "refund_status": "PROCESSING"}}),
        )
        assert make_client(stub).query_refund("r1").refund_status == "PROCESSING"
        assert len(stub.requests) == 2

    def test_mutation_retry_resends_identical_bytes(self, stub):
        stub.queue(
            Answer.json({"err_no": 1000, "err_tips": "internal"}),
            Answer.json({"err_no": 0, "data": {"order_id": "N1", "order_token": "t"}}),
        )
        make_client(stub).create_order("o1", 1, "s", "b", 300)
        first, second = stub.requests
        assert first.body == second.body

    def test_mutation_retries_are_bounded(self, stub):
        stub.default = Answer(status=503, body=b"unavailable", content_type="text/plain")
        with pytest.raises(PlatformTransportError):
            make_client(stub).settle("s1", "o1", "d")
        assert len(stub.requests) == 2

    def test_backoff_sleeps_between_attempts(self, stub):
        stub.default = Answer.json({"err_no": 1001})
        sleeps: list[float] = []
        client = EcpayClient(
            APP_ID,
            SALT,
            base_url=stub.base_url,
            sleep=sleeps.append,
            retry=RetryPolicy(query_attempts=3, backoff_base=0.1, backoff_cap=0.15),
        )
        with pytest.raises(PlatformError):
            client.query_order("o1")
        assert len(sleeps) == 2
        assert all(0 <= s <= 0.15 for s in sleeps)

    @pytest.mark.parametrize(
        ("answer", "http_status"),
        [
            (Answer(status=500, body=b"oops", content_type="text/plain"), 500),
            (Answer(status=502, body=b"<html><body>Bad Gateway</body></html>", content_type="text/html"), 502),
            (Answer(status=429, body=b"slow down", content_type="text/plain"), 429),
            (Answer(status=200, body=b"<html>maintenance</html>", content_type="text/html"), 200),
            (Answer(status=200, body=b"[1, 2]"), 200),
            (Answer(status=200, body=b'{"err_tips": "no err_no"}'), 200),
        ],
    )
    def test_transport_trouble_is_retryable(self, stub, answer, http_status):
        stub.default = answer
        with pytest.raises(PlatformTransportError) as info:
            make_client(stub).query_order("o1")
        assert info.value.retryable
        assert info.value.err_no is None
        assert info.value.http_status == http_status
        assert len(stub.requests) == 3

    def test_http_client_error_is_definitive(self, stub):
        stub.default = Answer(status=404, body=b"not found", content_type="text/plain")
        with pytest.raises(PlatformError) as info:
            make_client(stub).query_order("o1")
        assert not info.value.retryable
        assert info.value.http_status == 404
        assert len(stub.requests) == 1

    def test_read_timeout(self, stub):
        stub.default = Answer.json({"err_no": 0}, delay=0.6)
        client = make_client(stub, timeout=(1.0, 0.2), retry=RetryPolicy(query_attempts=1))
        with pytest.raises(PlatformTransportError, match="timed out") as info:
            client.query_order("o1")
        assert info.value.retryable

    def test_connection_refused(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        client = EcpayClient(APP_ID, SALT, base_url=f"http://127.0.0.1:{port}", retry=RetryPolicy(query_attempts=1))
        with pytest.raises(PlatformTransportError, match="connection failed"):
            client.query_order("o1")

    def test_errors_never_contain_the_salt(self, stub):
        stub.default = Answer.json({"err_no": 2008, "err_tips": "bad sign"})
        with pytest.raises(PlatformError) as info:
            make_client(stub).query_order("o1")
        assert SALT not in str(info.value)
        assert SALT not in repr(make_client(stub))


class TestTransportSettings:
    def test_every_call_sets_timeouts_and_tls_verification(self):
        seen = {}

        class RecordingSession(requests.Session):
            def post(self, url, **kwargs):
                seen.update(kwargs, url=url)
                raise requests.ConnectionError("offline")

        client = EcpayClient(
            APP_ID, SALT, base_url=PRODUCTION_BASE_URL, session=RecordingSession(), retry=RetryPolicy(query_attempts=1)
        )
        with pytest.raises(PlatformTransportError):
            client.query_order("o1")
        assert seen["url"] == "https://developer.toutiao.com/api/apps/ecpay/v1/query_order"
        assert seen["verify"] is True
        assert seen["timeout"] == (3.05, 10.0)
        assert seen["allow_redirects"] is False

    def test_base_urls(self):
        assert PRODUCTION_BASE_URL == "https://developer.toutiao.com"
        assert SANDBOX_BASE_URL == "https://open-sandbox.douyin.com"
        assert EcpayClient(APP_ID, SALT, base_url=SANDBOX_BASE_URL + "/").base_url == SANDBOX_BASE_URL

    @pytest.mark.parametrize(
        "url", ["http://developer.toutiao.com", "ftp://x", "developer.toutiao.com", "http://10.0.0.1:8080"]
    )
    def test_plain_http_only_on_loopback(self, url):
        with pytest.raises(ConfigurationError):
            EcpayClient(APP_ID, SALT, base_url=url)

    @pytest.mark.parametrize(("app_id", "salt"), [("", SALT), (APP_ID, ""), ("x" * 65, SALT)])
    def test_configuration_is_checked(self, app_id, salt):
        with pytest.raises(ConfigurationError) as info:
            EcpayClient(app_id, salt, base_url=SANDBOX_BASE_URL)
        assert SALT not in str(info.value)

    def test_the_host_is_a_choice_never_a_silent_default(self):
        with pytest.raises(TypeError, match="base_url"):
            EcpayClient(APP_ID, SALT)  # type: ignore[call-arg]
        assert "open-sandbox" in repr(EcpayClient(APP_ID, SALT, base_url=SANDBOX_BASE_URL))


GOOD_ORDER = {"out_order_no": "o1", "total_amount": 100, "subject": "s", "body": "b", "valid_time": 900}


class TestValidationBeforeSending:
    """Each bad field raises a ValidationError naming it, and nothing is sent."""

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("total_amount", 0),
            ("total_amount", 10_000_000_001),
            ("total_amount", 1.0),
            ("total_amount", "100"),
            ("total_amount", True),
            ("valid_time", 0),
            ("valid_time", 172_801),
            ("valid_time", 300.0),
            ("valid_time", True),
            ("out_order_no", ""),
            ("out_order_no", "x" * 65),
            ("out_order_no", "has space"),
            ("out_order_no", "订单1"),
            ("subject", "中" * 43),
            ("subject", "a" * 129),
            ("subject", ""),
            ("subject", " padded"),
            ("subject", '"quoted"'),
            ("subject", "null"),
            ("body", "🍔" * 33),
            ("notify_url", "http://cb.example/x"),
            ("notify_url", "https://"),
            ("notify_url", "https://a/" + "x" * 250),
            ("cp_extra", "x" * 2049),
            ("disable_msg", 2),
            ("disable_msg", True),
            ("limit_pay_way", "LIMIT_CASH"),
            ("expand_order_info", {"tip": 1}),
            ("expand_order_info", {"actual_delivery_fee": -1}),
        ],
    )
    def test_create_order_fields(self, stub, field, value):
        kwargs = {**GOOD_ORDER, field: value}
        with pytest.raises(ValidationError) as info:
            make_client(stub).create_order(**kwargs)
        assert info.value.field.startswith(field)
        assert stub.requests == []

    def test_limits_are_inclusive(self, stub):
        stub.default = Answer.json({"err_no": 0, "data": {"order_id": "N1", "order_token": "t"}})
        client = make_client(stub)
        client.create_order("a" * 64, 10_000_000_000, "中" * 42, "a" * 42, 172_800, cp_extra="x" * 2048)
        client.create_order("o-_*1", 1, "s", "b", 300, limit_pay_way="LIMIT_WX,LIMIT_ALI")
        assert len(stub.requests) == 2

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"refund_amount": 0}, "refund_amount"),
            ({"reason": "r" * 101}, "reason"),
            ({"reason": ""}, "reason"),
            ({"out_refund_no": "bad/no"}, "out_refund_no"),
            ({"all_settle": 3}, "all_settle"),
        ],
    )
    def test_create_refund_fields(self, stub, kwargs, field):
        args = {"out_order_no": "o1", "out_refund_no": "r1", "refund_amount": 1, "reason": "r"} | kwargs
        with pytest.raises(ValidationError) as info:
            make_client(stub).create_refund(**args)
        assert info.value.field == field
        assert stub.requests == []

    @pytest.mark.parametrize(
        ("settle_params", "field"),
        [
            ([SettlePayee(str(i), 1) for i in range(5)], "settle_params"),
            ([SettlePayee("", 1)], "settle_params[0].merchant_uid"),
            ([SettlePayee("m" * 33, 1)], "settle_params[0].merchant_uid"),
            ([SettlePayee("m1", 0)], "settle_params[0].amount"),
            ([SettlePayee("m1", 1.5)], "settle_params[0].amount"),
            (
                [{"merchant_uid": "m1", "amount": 1}, {"merchant_uid": "m1", "amount": 2}],
                "settle_params[1].merchant_uid",
            ),
            ("[]", "settle_params"),
        ],
    )
    def test_settle_params(self, stub, settle_params, field):
        with pytest.raises(ValidationError) as info:
            make_client(stub).settle("s1", "o1", "d", settle_params=settle_params)
        assert info.value.field == field
        assert stub.requests == []

    def test_settle_desc_limit(self, stub):
        with pytest.raises(ValidationError) as info:
            make_client(stub).settle("s1", "o1", "分" * 81)
        assert info.value.field == "settle_desc"

    def test_four_payees_are_allowed(self, stub):
        stub.default = Answer.json({"err_no": 0, "settle_no": "S1"})
        payees = [{"merchant_uid": f"m{i}", "amount": i + 1} for i in range(4)]
        make_client(stub).settle("s1", "o1", "d", settle_params=payees)
        assert json.loads(stub.requests[0].json()["settle_params"]) == payees
