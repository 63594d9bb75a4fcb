"""ecpay's access_token: the fetch against a loopback stub (POST /api/apps/v2/token), and the shared
InMemoryTokenSource caching an AccessToken as it caches trade's ClientToken."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
import requests

import douyin_pay
import douyin_pay.trade.tokens as trade_tokens
from douyin_pay import _tokens
from douyin_pay.ecpay import AccessToken, fetch_access_token
from douyin_pay.ecpay import access_token as module
from douyin_pay.errors import ConfigurationError, PlatformError, PlatformTransportError
from tests.http_stub import Answer, running_stub

APP_ID = "tt0000000000000001"
SECRET = "very-secret-app-secret"
TOKEN = "0801121846735352506a356a6e"
TOKEN_ANSWER = {"err_no": 0, "err_tips": "success", "data": {"access_token": TOKEN, "expires_in": 7200}}


@pytest.fixture
def stub():
    with running_stub() as s:
        s.default = Answer.json(TOKEN_ANSWER)
        yield s


def fetch(stub, **kwargs) -> AccessToken:
    kwargs.setdefault("timeout", (1.0, 1.0))
    return fetch_access_token(APP_ID, SECRET, base_url=stub.base_url, **kwargs)


def assert_no_secret(text: str) -> None:
    assert SECRET not in text
    assert TOKEN not in text


class TestFetch:
    def test_request_and_result(self, stub):
        before = time.time()
        token = fetch(stub)
        after = time.time()
        [sent] = stub.requests
        assert sent.path == "/api/apps/v2/token"
        assert sent.headers["content-type"] == "application/json"
        assert sent.json() == {"appid": APP_ID, "secret": SECRET, "grant_type": "client_credential"}
        assert token.access_token == TOKEN
        assert before + 7200 <= token.expires_at <= after + 7200
        assert_no_secret(repr(token))

    def test_the_default_host_is_the_ecpay_host(self):
        from douyin_pay.ecpay import client

        assert module.PRODUCTION_BASE_URL == client.PRODUCTION_BASE_URL == "https://developer.toutiao.com"

    @pytest.mark.parametrize(
        ("err_no", "tips", "retryable"),
        [
            (40014, "参数错误", False),
            (40015, "appid 错误", False),
            (40017, "secret 错误", False),
            (40020, "grant_type 不是 client_credential", False),
            (-1, "系统错误", True),
        ],
    )
    def test_error_codes(self, stub, err_no, tips, retryable):
        stub.default = Answer.json({"err_no": err_no, "err_tips": tips, "data": {}})
        with pytest.raises(PlatformError) as info:
            fetch(stub)
        error = info.value
        assert type(error) is PlatformError
        assert (error.err_no, error.err_tips, error.retryable, error.http_status) == (err_no, tips, retryable, 200)
        assert_no_secret(str(error))
        assert len(stub.requests) == 1  # never retried here, not even -1: a fetch invalidates the last

    @pytest.mark.parametrize(
        "answer",
        [
            Answer(status=500, body=b'{"err_no":0}'),
            Answer(status=502, body=b"bad gateway", content_type="text/plain"),
            Answer.json(TOKEN_ANSWER, status=429),
            Answer(body=b"<html>not json</html>", content_type="text/html"),
            Answer(body=b"[1, 2]"),
            Answer.json({"err_tips": "no err_no", "data": TOKEN_ANSWER["data"]}),
            Answer.json({**TOKEN_ANSWER, "err_no": "0"}),
            Answer.json({**TOKEN_ANSWER, "err_no": False}),
            Answer.json({"err_no": 0, "err_tips": "success"}),
            Answer.json({"err_no": 0, "data": {"expires_in": 7200}}),
            Answer.json({"err_no": 0, "data": {"access_token": "", "expires_in": 7200}}),
            Answer.json({"err_no": 0, "data": {"access_token": 1234, "expires_in": 7200}}),
            Answer.json({"err_no": 0, "data": {"access_token": TOKEN, "expires_in": "7200"}}),
            Answer.json({"err_no": 0, "data": {"access_token": TOKEN, "expires_in": 0}}),
            Answer.json({"err_no": 0, "data": {"access_token": TOKEN, "expires_in": True}}),
        ],
    )
    def test_no_usable_answer_is_a_transport_error(self, stub, answer):
        stub.default = answer
        with pytest.raises(PlatformTransportError) as info:
            fetch(stub)
        assert info.value.retryable
        assert info.value.err_no is None
        assert_no_secret(str(info.value))
        assert len(stub.requests) == 1

    def test_a_client_error_status_is_a_definitive_refusal(self, stub):
        stub.default = Answer(status=404, body=b"not found", content_type="text/plain")
        with pytest.raises(PlatformError) as info:
            fetch(stub)
        assert not isinstance(info.value, PlatformTransportError)
        assert (info.value.http_status, info.value.retryable) == (404, False)

    def test_timeout(self, stub):
        stub.default = Answer.json(TOKEN_ANSWER, delay=0.5)
        with pytest.raises(PlatformTransportError, match="timed out"):
            fetch(stub, timeout=(1.0, 0.1))

    def test_connection_refused(self):
        with running_stub() as gone:
            url = gone.base_url
        with pytest.raises(PlatformTransportError, match="connection failed") as info:
            fetch_access_token(APP_ID, SECRET, base_url=url, timeout=(0.5, 0.5))
        assert_no_secret(str(info.value))

    def test_a_given_session_is_used_and_left_open(self, stub):
        class Session(requests.Session):
            posts = 0
            closed = False

            def post(self, *args, **kwargs):
                self.posts += 1
                return super().post(*args, **kwargs)

            def close(self):
                self.closed = True
                super().close()

        session = Session()
        fetch(stub, session=session)
        assert (session.posts, session.closed) == (1, False)

    @pytest.mark.parametrize(
        ("app_id", "secret", "kwargs"),
        [
            ("", SECRET, {}),
            (None, SECRET, {}),
            (APP_ID, "", {}),
            (APP_ID, None, {}),
            (APP_ID, SECRET, {"base_url": "http://developer.toutiao.com"}),
            (APP_ID, SECRET, {"timeout": (0, 1)}),
        ],
    )
    def test_configuration(self, app_id, secret, kwargs):
        with pytest.raises(ConfigurationError) as info:
            fetch_access_token(app_id, secret, **kwargs)
        assert SECRET not in str(info.value)


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class TestInMemoryTokenSourceWithAccessToken:
    def test_trade_tokens_re_exports_the_shared_machinery(self):
        assert trade_tokens.InMemoryTokenSource is _tokens.InMemoryTokenSource
        assert trade_tokens.TokenSource is _tokens.TokenSource
        assert (trade_tokens.MIN_REFRESH_MARGIN, trade_tokens.REFRESH_MARGIN_SHARE) == (300.0, 0.1)
        assert douyin_pay.trade.InMemoryTokenSource is _tokens.InMemoryTokenSource

    def test_twenty_threads_share_one_real_fetch(self, stub):
        stub.default = Answer.json(TOKEN_ANSWER, delay=0.1)
        source = _tokens.InMemoryTokenSource(lambda: fetch(stub))
        barrier = threading.Barrier(20)
        results: list[str] = []

        def worker():
            barrier.wait()
            results.append(source.token())

        threads = [threading.Thread(target=worker) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(5)
        assert len(stub.requests) == 1
        assert results == [TOKEN] * 20
        assert TOKEN not in repr(source)

    def test_refreshes_ahead_of_expiry_and_on_a_stale_token(self):
        clock = Clock()
        fetched: list[AccessToken] = []

        def fetch_one() -> AccessToken:
            fetched.append(AccessToken(access_token=f"act.{len(fetched) + 1}", expires_at=clock() + 7200))
            return fetched[-1]

        source = _tokens.InMemoryTokenSource(fetch_one, clock=clock)
        assert source.token() == "act.1"
        clock.now += 7200 - 720 - 1  # margin = max(300 s, 10 % of 7200 s) = 720 s
        assert source.token() == "act.1"
        clock.now += 1
        assert source.token() == "act.2"
        assert source.token(stale="act.1") == "act.2"  # someone else's stale token: no refetch
        assert source.token(stale="act.2") == "act.3"
        assert len(fetched) == 3

    @pytest.mark.parametrize(
        "value",
        [
            "act.raw",
            None,
            AccessToken(access_token="", expires_at=2e9),
            AccessToken(access_token="act.x", expires_at=True),
            AccessToken(access_token="act.x", expires_at="2000000000"),
            AccessToken(access_token="act.x", expires_at=float("nan")),
        ],
    )
    def test_a_fetch_must_return_an_issued_token(self, value):
        with pytest.raises(ConfigurationError) as info:
            _tokens.InMemoryTokenSource(lambda: value).token()
        assert "act.x" not in str(info.value)


def test_importing_the_fetch_does_not_load_requests():
    code = (
        "import sys\n"
        "from douyin_pay.ecpay import access_token\n"
        "from douyin_pay.errors import PlatformTransportError\n"
        "assert 'requests' not in sys.modules, 'requests imported eagerly'\n"
        "try:\n"
        "    access_token.fetch_access_token('tt1', 's', base_url='http://127.0.0.1:9', timeout=(0.5, 0.5))\n"
        "except PlatformTransportError:\n"
        "    pass\n"
        "assert 'requests' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
