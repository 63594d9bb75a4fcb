from __future__ import annotations

import threading

import pytest

from local.stack import LocalStack, StackConfig


def _run(config: StackConfig):
    before = set(threading.enumerate())
    with LocalStack(config) as running:
        yield running
        assert running.errors == []
        assert running.invocation_errors == []
    # Nothing the stack started may outlive it.
    leftover = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert leftover == [], leftover


@pytest.fixture
def stack():
    yield from _run(StackConfig(log_level="CRITICAL"))


@pytest.fixture
def fast_stack():
    """Time at 360x: the sweeper runs every 0.8 s and a visibility timeout lasts 1 s, so redrive
    and sweeping can be watched in seconds."""
    yield from _run(StackConfig(log_level="CRITICAL", speed=360))


@pytest.fixture
def trade_stack():
    """A stack whose new orders use the trade system (the template's Protocol=trade)."""
    yield from _run(StackConfig(log_level="CRITICAL", protocol="trade"))
