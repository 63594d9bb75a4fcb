"""The bench's Powertools baseline (local/bench/baseline.py) behaves as the common way does in
Lambda: configured as a careful user would, and with a fresh context per invocation, so that a
duplicate arriving while the first delivery is in flight is told so, however long the execution
environment has lived."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from local.bench.baseline import (
    RECORD_SECONDS,
    RETRY_WINDOW_SECONDS,
    PowertoolsEnvironment,
    competent_config,
    create_idempotency_table,
)

TABLE = "idempotency"
TIMEOUT_MS = 1000  # the function's timeout in these tests: short, so an environment outlives it


@pytest.fixture
def session(mocked_aws: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    boto3 = pytest.importorskip("boto3")
    monkeypatch.setattr("local.functions.Functions.timeout_ms", staticmethod(lambda _logical_id: TIMEOUT_MS))
    session = boto3.Session(region_name="us-east-1")
    admin = session.client("dynamodb")
    create_idempotency_table(admin, TABLE)
    admin.close()
    return session


class HeldWrite:
    """A state write that holds its first caller until released, and counts every call."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def __call__(self, _client: Any, _notice: dict[str, Any]) -> str:
        self.calls += 1
        if self.calls == 1:
            self.entered.set()
            self.release.wait(10)
        return "applied"


def test_the_records_outlive_the_platforms_retries_and_the_local_cache_is_on():
    config = competent_config()
    assert config.expires_after_seconds == RECORD_SECONDS > RETRY_WINDOW_SECONDS == 24 * 3600 + 4 * 60
    assert config.use_local_cache is True


def test_a_duplicate_in_flight_is_in_progress_even_in_an_environment_older_than_the_timeout(session):
    write = HeldWrite()
    first, second = (PowertoolsEnvironment(session, idempotency_table=TABLE, write=write) for _ in range(2))
    time.sleep(TIMEOUT_MS / 1000 + 0.2)  # both environments have lived past one invocation's timeout
    payload = {"dedupe_key": "notice-1"}
    outcomes: list[str] = []
    runner = threading.Thread(target=lambda: outcomes.append(first.handle(None, payload)))
    runner.start()
    try:
        assert write.entered.wait(10)
        # The first delivery's record is in progress, its invocation's time not yet up: the
        # duplicate must not run the state write a second time.
        assert second.handle(None, payload) == "in_progress"
    finally:
        write.release.set()
        runner.join(10)
    assert outcomes == ["applied"]
    assert write.calls == 1
    assert second.handle(None, payload) == "replay"  # now from the table: 1 failed PutItem
    assert first.handle(None, payload) == "replay"  # and from the first environment's local cache
    assert write.calls == 1
    first.close()
    second.close()
