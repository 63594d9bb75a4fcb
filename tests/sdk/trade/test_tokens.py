"""client_token: the fetch (against a loopback stub) and InMemoryTokenSource's caching rules (§2.3)."""

from __future__ import annotations

import threading
import time

import pytest

from douyin_pay.errors import ConfigurationError, PlatformError, PlatformTransportError
from douyin_pay.trade import ClientToken, InMemoryTokenSource, TokenSource, fetch_client_token
from tests.http_stub import Answer, running_stub

SECRET = "very-secret-client-secret"
TOKEN_ANSWER = {
    "data": {"access_token": "clt.abc123", "description": "", "error_code": 0, "expires_in": 7200},
    "message": "success",
}


@pytest.fixture
def stub():
    with running_stub() as s:
        s.default = Answer.json(TOKEN_ANSWER)
        yield s


class TestFetch:
    def test_request_and_result(self, stub):
        before = time.time()
        token = fetch_client_token("tt1", SECRET, base_url=stub.base_url)
        [sent] = stub.requests
        assert sent.path == "/oauth/client_token/"
        assert sent.headers["content-type"] == "application/json"
        assert sent.json() == {"grant_type": "client_credential", "client_key": "tt1", "client_secret": SECRET}
        assert token.access_token == "clt.abc123"
        assert before + 7200 <= token.expires_at <= time.time() + 7200
        assert "clt.abc123" not in repr(token)

    @pytest.mark.parametrize(("code", "retryable"), [(10020, True), (10013, False), (10002, False), (10003, False)])
    def test_error_codes(self, stub, code, retryable):
        stub.default = Answer.json({"data": {"error_code": code, "description": "bad"}, "message": "error"})
        with pytest.raises(PlatformError) as info:
            fetch_client_token("tt1", SECRET, base_url=stub.base_url)
        assert (info.value.err_no, info.value.retryable, info.value.err_msg) == (code, retryable, "bad")
        assert SECRET not in str(info.value)
        assert len(stub.requests) == 1  # never retried here

    @pytest.mark.parametrize(
        "answer",
        [
            Answer(status=502, body=b"bad gateway", content_type="text/plain"),
            Answer.json({"message": "no data"}),
            Answer.json({"data": {"error_code": 0, "expires_in": 7200}}),
            Answer.json({"data": {"error_code": 0, "access_token": "clt.x", "expires_in": "7200"}}),
            Answer.json({"data": {"error_code": 0, "access_token": "clt.x", "expires_in": 0}}),
            Answer.json(TOKEN_ANSWER, status=500),
        ],
    )
    def test_no_usable_answer_is_a_transport_error(self, stub, answer):
        stub.default = answer
        with pytest.raises(PlatformTransportError) as info:
            fetch_client_token("tt1", SECRET, base_url=stub.base_url)
        assert SECRET not in str(info.value)

    @pytest.mark.parametrize(
        ("app_id", "secret", "url"), [("", SECRET, None), ("tt1", "", None), ("tt1", SECRET, "http://x.com")]
    )
    def test_configuration(self, app_id, secret, url):
        with pytest.raises(ConfigurationError) as info:
            fetch_client_token(app_id, secret, **({"base_url": url} if url else {}))
        assert SECRET not in str(info.value)


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Fetcher:
    def __init__(self, clock: Clock, lifetime: float = 7200, delay: float = 0.0) -> None:
        self.clock, self.lifetime, self.delay = clock, lifetime, delay
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self) -> ClientToken:
        time.sleep(self.delay)
        with self.lock:
            self.count += 1
            return ClientToken(access_token=f"clt.{self.count}", expires_at=self.clock() + self.lifetime)


class TestInMemoryTokenSource:
    def test_is_a_token_source(self):
        assert isinstance(InMemoryTokenSource(lambda: None), TokenSource)

    def test_twenty_threads_on_an_expired_cache_fetch_once(self):
        clock = Clock()
        fetch = Fetcher(clock, delay=0.05)
        source = InMemoryTokenSource(fetch, clock=clock)
        assert source.token() == "clt.1"
        clock.now += 7200  # expired
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
        assert fetch.count == 2
        assert results == ["clt.2"] * 20

    def test_refreshes_ahead_of_expiry(self):
        clock = Clock()
        fetch = Fetcher(clock)
        source = InMemoryTokenSource(fetch, clock=clock)
        assert source.token() == "clt.1"
        start = clock.now
        clock.now = start + 7200 - 720 - 1  # margin = max(300, 10 % of 7200) = 720 s
        assert source.token() == "clt.1"
        clock.now = start + 7200 - 720
        assert source.token() == "clt.2"
        assert fetch.count == 2

    def test_the_margin_is_at_least_300_seconds(self):
        clock = Clock()
        fetch = Fetcher(clock, lifetime=1000)
        source = InMemoryTokenSource(fetch, clock=clock)
        source.token()
        clock.now += 1000 - 301
        assert source.token() == "clt.1"
        clock.now += 1
        assert source.token() == "clt.2"

    def test_a_very_short_lived_token_is_not_refetched_on_every_call(self):
        clock = Clock()
        fetch = Fetcher(clock, lifetime=100)
        source = InMemoryTokenSource(fetch, clock=clock)
        assert [source.token() for _ in range(5)] == ["clt.1"] * 5
        clock.now += 50
        assert source.token() == "clt.2"

    def test_stale_equal_to_the_cached_token_forces_a_refresh(self):
        clock = Clock()
        fetch = Fetcher(clock)
        source = InMemoryTokenSource(fetch, clock=clock)
        assert source.token() == "clt.1"
        assert source.token(stale="clt.1") == "clt.2"
        assert fetch.count == 2

    def test_stale_other_than_the_cached_token_does_not_refetch(self):
        clock = Clock()
        fetch = Fetcher(clock)
        source = InMemoryTokenSource(fetch, clock=clock)
        source.token()
        source.token(stale="clt.1")  # now holds clt.2
        # A second caller that was also rejected with clt.1 finds the refresh already done.
        assert source.token(stale="clt.1") == "clt.2"
        assert source.token(stale="clt.0") == "clt.2"
        assert fetch.count == 2

    def test_twenty_threads_rejected_with_the_same_token_refresh_once(self):
        clock = Clock()
        fetch = Fetcher(clock, delay=0.02)
        source = InMemoryTokenSource(fetch, clock=clock)
        source.token()
        barrier = threading.Barrier(20)
        results: list[str] = []

        def worker():
            barrier.wait()
            results.append(source.token(stale="clt.1"))

        threads = [threading.Thread(target=worker) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(5)
        assert fetch.count == 2
        assert set(results) == {"clt.2"}

    def test_a_failed_fetch_is_raised_and_retried_next_time(self):
        clock = Clock()
        calls = []

        def fetch():
            calls.append(1)
            if len(calls) == 1:
                raise PlatformError(10020, "rate limited", retryable=True)
            return ClientToken(access_token="clt.ok", expires_at=clock() + 7200)

        source = InMemoryTokenSource(fetch, clock=clock)
        with pytest.raises(PlatformError):
            source.token()
        assert source.token() == "clt.ok"

    def test_repr_never_shows_the_token(self):
        clock = Clock()
        source = InMemoryTokenSource(Fetcher(clock), clock=clock)
        source.token()
        assert "clt." not in repr(source)

    def test_fetch_must_return_a_client_token(self):
        with pytest.raises(ConfigurationError):
            InMemoryTokenSource(lambda: "clt.raw").token()
