"""TradeClient at the HTTP level, against a scripted server on loopback (trade-spec §4).

Checks the exact path, headers and bytes sent, each result shape, each error class, the retry and
token-refresh rules, and that invalid input sends nothing.
"""

from __future__ import annotations

import json
import socket
import threading

import pytest
import requests

from douyin_pay.errors import ConfigurationError, PlatformError, PlatformTransportError, ValidationError
from douyin_pay.trade import (
    AUTH_ERR_NOS,
    PRODUCTION_BASE_URL,
    AuditDetail,
    ItemOrder,
    ItemRefund,
    RefundCreated,
    RetryPolicy,
    SettleCreated,
    TradeClient,
    TradeOrder,
    refund_fields,
    settle_fields,
)
from tests.http_stub import Answer, running_stub

APP_ID = "tt0000000000000001"
PREFIX = "/api/trade_basic/v1/developer/"
REFUND = refund_fields(
    order_id="motb1",
    out_refund_no="r1",
    refund_total_amount=100,
    refund_reason=[{"code": 999, "text": "其他"}],
    order_entry_path="pages/refund/detail",
    order_entry_params={"out_refund_no": "r1"},
)
SETTLE = settle_fields(out_order_no="o1", out_settle_no="s1", settle_desc="分账")


class FakeTokens:
    """A TokenSource handing out clt.1, clt.2, ... and recording how it was asked."""

    def __init__(self) -> None:
        self.calls: list[str | None] = []
        self.current = 1
        self.lock = threading.Lock()

    def token(self, *, stale: str | None = None) -> str:
        with self.lock:
            self.calls.append(stale)
            if stale == f"clt.{self.current}":
                self.current += 1
            return f"clt.{self.current}"


def ok(data, **extra) -> Answer:
    return Answer.json({"err_no": 0, "err_msg": "", "log_id": "LOG-OK", "data": data, **extra})


@pytest.fixture
def stub():
    with running_stub() as s:
        s.default = ok({})
        yield s


@pytest.fixture
def tokens():
    return FakeTokens()


def make_client(stub, tokens, **kwargs) -> TradeClient:
    kwargs.setdefault("retry", RetryPolicy(query_attempts=3, mutation_attempts=2, backoff_base=0.0))
    kwargs.setdefault("timeout", (1.0, 1.0))
    return TradeClient(APP_ID, tokens, base_url=stub.base_url, sleep=lambda s: None, **kwargs)


class TestEndpoints:
    def test_order_query(self, stub, tokens):
        stub.queue(
            ok(
                {
                    "order_id": "motb73383242802221734767173",
                    "out_order_no": "o1",
                    "app_id": APP_ID,
                    "pay_status": "SUCCESS",
                    "pay_time": 1708586777000,
                    "pay_channel": 10,
                    "channel_pay_id": "TP1",
                    "trade_time": 1708586700000,
                    "total_amount": 100,
                    "discount_amount": 10,
                    "merchant_uid": "7122",
                    "item_order_list": [{"item_order_id": "ot1", "sku_id": "sku", "item_order_amount": 90}],
                    "cp_extra": "x",
                    "currency": "CNY",
                    "order_service_status": "INIT",
                }
            )
        )
        order = make_client(stub, tokens).order_query(order_id="motb73383242802221734767173")
        [sent] = stub.requests
        assert sent.path == PREFIX + "order_query/"
        assert sent.body == b'{"order_id":"motb73383242802221734767173"}'
        assert sent.headers["access-token"] == "clt.1"
        assert sent.headers["content-type"] == "application/json"
        assert order == TradeOrder(
            order_id="motb73383242802221734767173",
            out_order_no="o1",
            app_id=APP_ID,
            pay_status="SUCCESS",
            pay_time=1708586777000,
            pay_channel=10,
            channel_pay_id="TP1",
            trade_time=1708586700000,
            total_amount=100,
            discount_amount=10,
            merchant_uid="7122",
            item_order_list=(ItemOrder(item_order_id="ot1", sku_id="sku", item_order_amount=90),),
            cp_extra="x",
            currency="CNY",
            log_id="LOG-OK",
        )

    def test_order_query_unpaid_and_by_out_order_no(self, stub, tokens):
        stub.queue(ok({"order_id": "m", "out_order_no": "o1", "pay_status": "PROCESS", "total_amount": 100}))
        order = make_client(stub, tokens).order_query(out_order_no="o1")
        assert stub.requests[0].json() == {"out_order_no": "o1"}
        assert (order.pay_status, order.pay_time, order.pay_channel, order.item_order_list) == (
            "PROCESS",
            None,
            None,
            (),
        )

    def test_query_cps_keeps_big_ids_exact(self, stub, tokens):
        body = (
            b'{"err_no":0,"err_msg":"success","log_id":"L","data":{"order_id":"m","out_order_no":"o",'
            b'"total_commission_amount":5,"cps_item_list":[{"item_order_id":"ot1","sell_amount":100,'
            b'"source_type":1,"status":2,"commission_amount":5,"commission_rate":500,'
            b'"commission_user_douyinid":"d","commission_user_nickname":"n","task_id":"t",'
            b'"item_id":3102676463474216123}]}}'
        )
        stub.queue(Answer(body=body))
        cps = make_client(stub, tokens).query_cps(out_order_no="o")
        assert stub.requests[0].path == PREFIX + "query_cps/"
        [item] = cps.cps_item_list
        assert item.item_id == "3102676463474216123"
        assert (cps.total_commission_amount, item.commission_rate, cps.log_id) == (5, 500, "L")

    def test_refund_create_sends_exactly_the_fields(self, stub, tokens):
        stub.queue(ok({"refund_id": "ort1", "refund_audit_deadline": 1708846000000}))
        result = make_client(stub, tokens).refund_create(REFUND)
        [sent] = stub.requests
        assert sent.path == PREFIX + "refund_create/"
        assert sent.body == json.dumps(REFUND, ensure_ascii=False, separators=(",", ":")).encode()
        assert "app_id" not in sent.json()
        assert result == RefundCreated(refund_id="ort1", refund_audit_deadline=1708846000000, log_id="LOG-OK")

    def test_refund_query(self, stub, tokens):
        stub.queue(
            ok(
                {
                    "refund_list": [
                        {
                            "refund_id": "ort1",
                            "out_refund_no": "r1",
                            "order_id": "m",
                            "refund_status": "SUCCESS",
                            "refund_total_amount": 100,
                            "item_order_detail": [{"item_order_id": "ot1", "refund_amount": 100}],
                            "create_at": 1,
                            "refund_at": 2,
                            "message": "",
                            "refund_source": 2,
                            "merchant_audit_detail": {
                                "audit_status": "AGREE",
                                "need_refund_audit": 1,
                                "refund_audit_deadline": 3,
                                "deny_message": "",
                            },
                        },
                        {"refund_id": "ort2", "refund_status": "PROCESSING", "refund_total_amount": 5},
                    ]
                }
            )
        )
        first, second = make_client(stub, tokens).refund_query(order_id="m")
        assert stub.requests[0].json() == {"order_id": "m"}
        assert first.item_order_detail == (ItemRefund("ot1", 100),)
        assert first.merchant_audit_detail == AuditDetail(
            audit_status="AGREE", need_refund_audit=1, refund_audit_deadline=3, deny_message=""
        )
        assert (second.refund_status, second.merchant_audit_detail, second.currency) == ("PROCESSING", None, None)

    def test_refund_audit_callback(self, stub, tokens):
        client = make_client(stub, tokens)
        assert client.refund_audit_callback(refund_id="ort1", approve=True) == "LOG-OK"
        assert client.refund_audit_callback(refund_id="ort1", approve=False, deny_message="已发货") == "LOG-OK"
        approve, deny = stub.requests
        assert approve.path == PREFIX + "refund_audit_callback/"
        assert approve.json() == {"refund_id": "ort1", "refund_audit_status": 1}
        assert deny.json() == {"refund_id": "ort1", "refund_audit_status": 2, "deny_message": "已发货"}

    def test_settle_create(self, stub, tokens):
        stub.queue(ok({"settle_id": "ots7273", "wallet_settle_id": "w1"}))
        result = make_client(stub, tokens).settle_create(SETTLE)
        assert stub.requests[0].path == PREFIX + "settle_create/"
        assert stub.requests[0].json() == SETTLE
        assert result == SettleCreated(settle_id="ots7273", wallet_settle_id="w1", log_id="LOG-OK")

    def test_settle_query_is_an_array_and_accepts_both_id_spellings(self, stub, tokens):
        stub.queue(
            ok(
                [
                    {"settle_id": "ots1", "settle_status": "SUCCESS", "out_settle_no": "s1", "out_order_no": "o1"},
                    {
                        "settle_id": "ots2",
                        "settle_status": "INIT",
                        "out_settle_id": "s2",
                        "out_order_id": "o1",
                        "rake": 3,
                    },
                ]
            ),
            ok(None),
        )
        client = make_client(stub, tokens)
        first, second = client.settle_query(out_order_no="o1")
        assert (first.out_settle_no, second.out_settle_no, second.out_order_no, second.rake) == ("s1", "s2", "o1", 3)
        assert client.settle_query(settle_id="none") == ()
        assert stub.requests[0].path == PREFIX + "settle_query/"
        assert stub.requests[1].json() == {"settle_id": "none"}


class TestErrors:
    def test_http_400_with_err_no_is_a_platform_error_with_log_id(self, stub, tokens):
        stub.default = Answer.json({"err_no": 23111, "err_msg": "out_settle_no exists", "log_id": "L400"}, status=400)
        with pytest.raises(PlatformError) as info:
            make_client(stub, tokens).settle_create(SETTLE)
        error = info.value
        assert type(error) is PlatformError
        assert (error.err_no, error.err_msg, error.err_tips, error.log_id, error.http_status) == (
            23111,
            "out_settle_no exists",
            "out_settle_no exists",
            "L400",
            400,
        )
        assert not error.retryable
        assert "L400" in str(error)
        assert len(stub.requests) == 1

    def test_an_answer_without_log_id_gives_an_error_without_one(self, stub, tokens):
        stub.default = Answer.json({"err_no": 10000, "err_msg": "param error"})
        with pytest.raises(PlatformError) as info:
            make_client(stub, tokens).order_query(order_id="m")
        assert info.value.log_id is None

    def test_non_json_502_is_a_retryable_transport_error(self, stub, tokens):
        stub.default = Answer(status=502, body=b"<html>Bad Gateway</html>", content_type="text/html")
        with pytest.raises(PlatformTransportError) as info:
            make_client(stub, tokens).order_query(order_id="m")
        assert info.value.retryable
        assert (info.value.err_no, info.value.http_status) == (None, 502)
        assert len(stub.requests) == 3

    @pytest.mark.parametrize(
        "answer",
        [
            Answer(status=404, body=b"not found", content_type="text/plain"),
            Answer(status=200, body=b"[1]"),
            Answer(status=200, body=b'{"err_msg":"no err_no"}'),
            Answer.json({"err_no": 0, "data": {"order_id": "m"}}),  # unreadable: no pay_status
            Answer.json(
                {"err_no": 0, "data": {"order_id": "m", "out_order_no": "o", "pay_status": "S", "total_amount": "1"}}
            ),
            Answer.json({"err_no": 0, "data": {}}, status=400),
        ],
    )
    def test_no_readable_answer_is_a_transport_error(self, stub, tokens, answer):
        stub.default = answer
        with pytest.raises(PlatformTransportError):
            make_client(stub, tokens, retry=RetryPolicy(query_attempts=1)).order_query(order_id="m")

    @pytest.mark.parametrize("err_no", [13000, 23000])
    def test_system_errors_are_retried_with_identical_bytes(self, stub, tokens, err_no):
        stub.queue(
            Answer.json({"err_no": err_no, "err_msg": "system error", "log_id": "L1"}),
            ok({"refund_id": "ort1"}),
        )
        assert make_client(stub, tokens).refund_create(REFUND).refund_id == "ort1"
        first, second = stub.requests
        assert first.body == second.body

    def test_mutation_retries_resend_identical_bytes_and_are_bounded(self, stub, tokens):
        stub.default = Answer(status=503, body=b"unavailable", content_type="text/plain")
        with pytest.raises(PlatformTransportError):
            make_client(stub, tokens).refund_create(REFUND)
        assert len(stub.requests) == 2
        assert stub.requests[0].body == stub.requests[1].body

    def test_definitive_refusals_are_not_retried(self, stub, tokens):
        stub.default = Answer.json({"err_no": 22004, "err_msg": "dup"})
        with pytest.raises(PlatformError) as info:
            make_client(stub, tokens).refund_create(REFUND)
        assert not info.value.retryable
        assert len(stub.requests) == 1

    def test_backoff_sleeps_between_attempts(self, stub, tokens):
        stub.default = Answer.json({"err_no": 13000})
        sleeps: list[float] = []
        client = TradeClient(
            APP_ID,
            tokens,
            base_url=stub.base_url,
            sleep=sleeps.append,
            retry=RetryPolicy(query_attempts=3, backoff_base=0.1, backoff_cap=0.15),
        )
        with pytest.raises(PlatformError):
            client.query_cps(order_id="m")
        assert len(sleeps) == 2
        assert all(0 <= s <= 0.15 for s in sleeps)

    def test_read_timeout(self, stub, tokens):
        stub.default = Answer.json({"err_no": 0}, delay=0.6)
        client = make_client(stub, tokens, timeout=(1.0, 0.2), retry=RetryPolicy(query_attempts=1))
        with pytest.raises(PlatformTransportError, match="timed out") as info:
            client.order_query(order_id="m")
        assert info.value.retryable

    def test_connection_refused(self, tokens):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        client = TradeClient(APP_ID, tokens, base_url=f"http://127.0.0.1:{port}", retry=RetryPolicy(query_attempts=1))
        with pytest.raises(PlatformTransportError, match="connection failed"):
            client.order_query(order_id="m")


class TestTokenRejected:
    @pytest.mark.parametrize(
        "rejection",
        [
            Answer.json({"err_no": sorted(AUTH_ERR_NOS)[0], "err_msg": "access_token invalid"}),
            Answer.json({"err_no": sorted(AUTH_ERR_NOS)[1], "err_msg": "access_token expired"}, status=401),
            Answer(status=401, body=b"unauthorized", content_type="text/plain"),
        ],
    )
    def test_one_forced_refresh_and_one_retry(self, stub, tokens, rejection):
        stub.queue(rejection, ok({"refund_id": "ort1"}))
        assert make_client(stub, tokens).refund_create(REFUND).refund_id == "ort1"
        first, second = stub.requests
        assert (first.headers["access-token"], second.headers["access-token"]) == ("clt.1", "clt.2")
        assert first.body == second.body
        assert tokens.calls == [None, "clt.1"]

    def test_a_second_rejection_is_raised(self, stub, tokens):
        stub.default = Answer.json({"err_no": 28001008, "err_msg": "expired", "log_id": "LA"})
        with pytest.raises(PlatformError) as info:
            make_client(stub, tokens).order_query(order_id="m")
        assert (info.value.err_no, info.value.log_id) == (28001008, "LA")
        assert len(stub.requests) == 2
        assert tokens.calls == [None, "clt.1"]

    def test_the_refresh_does_not_use_up_a_retry(self, stub, tokens):
        stub.queue(
            Answer.json({"err_no": 28001003}),
            Answer.json({"err_no": 13000}),
            Answer.json({"err_no": 13000}),
            ok({"order_id": "m", "out_order_no": "o", "pay_status": "SUCCESS", "total_amount": 1}),
        )
        assert make_client(stub, tokens).order_query(order_id="m").pay_status == "SUCCESS"
        assert [r.headers["access-token"] for r in stub.requests] == ["clt.1", "clt.2", "clt.2", "clt.2"]

    def test_tokens_never_appear_in_errors_or_repr(self, stub, tokens):
        stub.default = Answer.json({"err_no": 10000, "err_msg": "param error"})
        client = make_client(stub, tokens)
        with pytest.raises(PlatformError) as info:
            client.order_query(order_id="m")
        assert "clt." not in str(info.value)
        assert "clt." not in repr(client)
        assert repr(client) == f"TradeClient(app_id={APP_ID!r}, base_url={stub.base_url!r})"


class TestValidationSendsNothing:
    @pytest.mark.parametrize(
        "call",
        [
            lambda c: c.order_query(),
            lambda c: c.order_query(order_id="m", out_order_no="o"),
            lambda c: c.order_query(order_id="a" * 65),
            lambda c: c.query_cps(),
            lambda c: c.refund_query(refund_id="r", order_id="m"),
            lambda c: c.refund_query(),
            lambda c: c.settle_query(),
            lambda c: c.settle_query(settle_id="a", out_settle_no="b"),
            lambda c: c.refund_create({**REFUND, "refund_total_amount": 0}),
            lambda c: c.refund_create({**REFUND, "refund_reason": [{"code": 1, "text": ""}]}),
            lambda c: c.refund_create({**REFUND, "extra": 1}),
            lambda c: c.settle_create({**SETTLE, "settle_params": '[{"merchant_uid":"7","amount":0}]'}),
            lambda c: c.settle_create({"out_order_no": "o1"}),
            lambda c: c.refund_audit_callback(refund_id="r", approve=False),
            lambda c: c.refund_audit_callback(refund_id="r", approve=False, deny_message="x" * 513),
            lambda c: c.refund_audit_callback(refund_id="r", approve=True, deny_message="x"),
            lambda c: c.refund_audit_callback(refund_id="r", approve=1),
        ],
    )
    def test_invalid_calls_raise_and_send_nothing(self, stub, tokens, call):
        with pytest.raises(ValidationError):
            call(make_client(stub, tokens))
        assert stub.requests == []


class TestSettings:
    def test_every_call_sets_timeouts_tls_and_no_redirects(self, tokens):
        seen = {}

        class RecordingSession(requests.Session):
            def post(self, url, **kwargs):
                seen.update(kwargs, url=url)
                raise requests.ConnectionError("offline")

        client = TradeClient(APP_ID, tokens, session=RecordingSession(), retry=RetryPolicy(query_attempts=1))
        with pytest.raises(PlatformTransportError):
            client.order_query(order_id="m")
        assert seen["url"] == "https://open.douyin.com/api/trade_basic/v1/developer/order_query/"
        assert seen["timeout"] == (3.05, 10.0)
        assert seen["verify"] is True
        assert seen["allow_redirects"] is False

    def test_base_url(self, tokens):
        assert PRODUCTION_BASE_URL == "https://open.douyin.com"
        assert TradeClient(APP_ID, tokens, base_url="https://example.com/").base_url == "https://example.com"
        for url in ("http://open.douyin.com", "ftp://x", "open.douyin.com", "http://10.0.0.1"):
            with pytest.raises(ConfigurationError):
                TradeClient(APP_ID, tokens, base_url=url)

    @pytest.mark.parametrize(
        ("app_id", "source", "timeout"),
        [
            ("", FakeTokens(), (1, 1)),
            (APP_ID, object(), (1, 1)),
            (APP_ID, FakeTokens(), (0, 1)),
            (APP_ID, FakeTokens(), None),
        ],
    )
    def test_configuration_is_checked(self, app_id, source, timeout):
        with pytest.raises(ConfigurationError):
            TradeClient(app_id, source, timeout=timeout)

    def test_close_closes_only_a_session_it_created(self, tokens):
        closed: list[str] = []

        class CountingSession(requests.Session):
            def close(self):
                closed.append("given")
                super().close()

        with TradeClient(APP_ID, tokens, session=CountingSession()):
            pass
        assert closed == []
        with TradeClient(APP_ID, tokens) as client:
            assert client._owns_session
