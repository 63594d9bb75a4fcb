from __future__ import annotations

import threading

import pytest

from local.stack import LocalStack, StackConfig


@pytest.fixture
def stack():
    before = set(threading.enumerate())
    with LocalStack(StackConfig(log_level="CRITICAL")) as running:
        yield running
        assert running.errors == []
        assert running.invocation_errors == []
    # Nothing the stack started may outlive it.
    leftover = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert leftover == [], leftover
