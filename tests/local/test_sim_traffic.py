"""Traffic: rate limits (1001) and injected faults."""

from __future__ import annotations

import time

import pytest
import requests

from local.douyin_sim import SimulatorConfig
from local.douyin_sim.config import ConfigHolder
from local.douyin_sim.traffic import FAULT_MODES, RateLimiter
from tests.local.sim_helpers import _ORDER, APP_ID, SALT, TOKEN

# ---------------------------------------------------------------------------- traffic


class TestRateLimits:
    def test_over_the_limit_is_1001(self, sim):
        simulator, client = sim
        simulator.configure(rate_limits={"query_order": 5})
        codes = [client.call("query_order", out_order_no="NOPE")["err_no"] for _ in range(6)]
        assert codes[:5] == [2000] * 5
        assert codes[5] == 1001

    def test_none_disables_the_limit(self, sim):
        simulator, client = sim
        simulator.configure(rate_limits={"query_order": None})
        assert all(client.call("query_order", out_order_no="NOPE")["err_no"] == 2000 for _ in range(40))

    def test_sliding_window(self):
        now = [100.0]
        limiter = RateLimiter(ConfigHolder(SimulatorConfig(APP_ID, SALT, TOKEN)), monotonic=lambda: now[0])
        assert all(limiter.allow("settle") for _ in range(30))
        assert not limiter.allow("settle")
        now[0] += 0.999
        assert not limiter.allow("settle")
        now[0] += 0.001
        assert limiter.allow("settle")
        assert all(limiter.allow("create_order") for _ in range(1000))  # no documented limit


class TestFaults:
    @pytest.mark.parametrize(
        ("mode", "status"),
        [
            ("err_1000", 200),
            ("err_1001", 200),
            ("http_500", 500),
            ("http_503", 503),
            ("garbage", 200),
            ("html", 502),
        ],
    )
    def test_failing_modes_do_not_apply_the_request(self, sim, mode, status):
        simulator, client = sim
        simulator.inject_fault("create_order", mode)
        response = client.raw("create_order", client.body({"out_order_no": "F1", **_ORDER}))
        assert response.status_code == status
        if mode.startswith("err_"):
            assert response.json()["err_no"] == int(mode[4:])
        elif mode == "garbage":
            with pytest.raises(requests.JSONDecodeError):
                response.json()
        elif mode == "html":
            assert response.headers["Content-Type"].startswith("text/html")
            assert "502" in response.text
        assert client.call("query_order", out_order_no="F1")["err_no"] == 2000
        assert client.create_order("F1")["err_no"] == 0  # the fault is used up

    def test_accept_then_500_applies_the_request(self, sim):
        simulator, client = sim
        simulator.inject_fault("create_order", "accept_then_500")
        assert client.raw("create_order", client.body({"out_order_no": "F1", **_ORDER})).status_code == 500
        order_id = client.call("query_order", out_order_no="F1")["order_id"]
        assert client.call("create_order", out_order_no="F1", **_ORDER)["data"]["order_id"] == order_id

    def test_timeout_applies_late(self, sim):
        simulator, client = sim
        simulator.configure(fault_timeout_seconds=0.6)
        simulator.inject_fault("create_order", "timeout")
        with pytest.raises(requests.exceptions.ReadTimeout):
            client.raw("create_order", client.body({"out_order_no": "F1", **_ORDER}), timeout=0.2)
        deadline = time.monotonic() + 3
        while client.call("query_order", out_order_no="F1")["err_no"] != 0:
            assert time.monotonic() < deadline
            time.sleep(0.05)

    def test_count_and_wildcard(self, sim):
        simulator, client = sim
        simulator.inject_fault("*", "http_503", count=2)
        assert client.raw("query_order", client.body({"out_order_no": "X"})).status_code == 503
        assert client.raw("query_refund", client.body({"out_refund_no": "X"})).status_code == 503
        assert client.call("query_order", out_order_no="X")["err_no"] == 2000

    def test_unknown_mode_is_refused(self, sim):
        simulator, _ = sim
        with pytest.raises(ValueError, match="unknown fault mode"):
            simulator.inject_fault("create_order", "explode")
        assert "accept_then_500" in FAULT_MODES
