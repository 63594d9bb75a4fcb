"""Configuration and the simulated clock."""

from __future__ import annotations

import pytest

from local.douyin_sim import SimulatorConfig
from local.douyin_sim.clock import SimClock
from tests.local.sim_helpers import APP_ID, APP_SECRET, SALT, TOKEN


def test_secrets_stay_out_of_repr():
    text = repr(SimulatorConfig(APP_ID, SALT, TOKEN, app_secret=APP_SECRET))
    assert SALT not in text
    assert TOKEN not in text
    assert APP_SECRET not in text


def test_app_secret_defaults_to_a_random_one():
    first, second = SimulatorConfig(APP_ID, SALT, TOKEN), SimulatorConfig(APP_ID, SALT, TOKEN)
    assert len(first.app_secret) >= 32
    assert first.app_secret != second.app_secret


def test_config_rejects_nonsense():
    with pytest.raises(ValueError, match="refund_outcome"):
        SimulatorConfig(APP_ID, SALT, TOKEN, refund_outcome="MAYBE")
    with pytest.raises(ValueError, match="drop"):
        SimulatorConfig(APP_ID, SALT, TOKEN, drop=frozenset({"lunch"}))
    with pytest.raises(ValueError, match="rate limit"):
        SimulatorConfig(APP_ID, SALT, TOKEN, rate_limits={"query_order": 0})
    with pytest.raises(ValueError, match="app_secret"):
        SimulatorConfig(APP_ID, SALT, TOKEN, app_secret="")
    with pytest.raises(ValueError, match="require_order_sync"):
        SimulatorConfig(APP_ID, SALT, TOKEN, require_order_sync=1)  # type: ignore[arg-type]


class TestClock:
    def test_speed_and_advance(self):
        real = [0.0]
        clock = SimClock(speed=10, start=1000.0, monotonic=lambda: real[0])
        real[0] = 2.0
        assert clock.now() == 1020.0
        assert clock.advance(5) == 1025.0
        clock.set_speed(0)  # continuous across a speed change
        real[0] = 100.0
        assert clock.now() == 1025.0
        assert clock.real_seconds_until(1030.0) is None
        clock.set_speed(2)
        assert clock.real_seconds_until(1030.0) == 2.5
        assert clock.real_seconds_until(10.0) == 0.0
        with pytest.raises(ValueError, match="only moves forward"):
            clock.advance(-1)
