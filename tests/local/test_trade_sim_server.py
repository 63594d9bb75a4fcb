"""The simulator as a process and a server: control routes, config, faults, rate limits, the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from local.trade_sim import TradeSimulator, TradeSimulatorConfig
from local.trade_sim.config import RUNTIME_SWITCHES
from tests.local.trade_helpers import APP_ID, APP_KEY, CLIENT_SECRET, order_data, public_pem


class TestConfig:
    def test_a_platform_key_is_generated_and_secrets_stay_out_of_repr(self):
        cfg = TradeSimulatorConfig(app_id=APP_ID, client_secret="very-secret")
        assert cfg.platform_private_key_pem is not None
        assert "BEGIN PUBLIC KEY" in cfg.platform_public_key_pem
        assert "very-secret" not in repr(cfg)
        assert "PRIVATE" not in repr(cfg)

    @pytest.mark.parametrize(
        ("overrides", "match"),
        [
            ({"app_public_keys": {"1": "not a key"}}, "key"),
            ({"client_secret": ""}, "client_secret"),
            ({"duplicate_out_order_no": "ignore"}, "duplicate_out_order_no"),
            ({"settle_error_http_status": 500}, "settle_error_http_status"),
            ({"refund_outcome": "MAYBE"}, "refund_outcome"),
            ({"delays": {"bogus": 1}}, "delays"),
            ({"drop": frozenset({"bogus"})}, "drop"),
            ({"rate_limits": {"order_query": 0}}, "rate limit"),
            ({"speed": -1}, "speed"),
        ],
    )
    def test_invalid_configs_are_refused(self, overrides, match):
        settings = {"app_id": APP_ID, "client_secret": CLIENT_SECRET, **overrides}
        with pytest.raises(ValueError, match=match):
            TradeSimulatorConfig(**settings)

    def test_identity_and_keys_are_not_runtime_switches(self):
        for fixed in ("app_id", "client_secret", "app_public_keys", "platform_private_key_pem", "port"):
            assert fixed not in RUNTIME_SWITCHES

    def test_config_route(self, trade_sim):
        sim, client = trade_sim
        answer = client.control("config", {"refund_outcome": "FAIL", "delays": {"refund": 1}, "drop": "settle"})
        assert answer.status_code == 200
        view = answer.json()
        assert view["refund_outcome"] == "FAIL"
        assert view["delays"]["refund"] == 1
        assert view["delays"]["payment"] == 1  # merged, not replaced
        assert view["drop"] == ["settle"]
        assert "client_secret" not in view
        assert "platform_private_key_pem" not in view
        assert sim.config.refund_outcome == "FAIL"
        assert client.control("config", {"app_id": "tt1"}).status_code == 400
        assert client.control("config", {"refund_outcome": "MAYBE"}).status_code == 400
        assert client.control("config", {"nope": 1}).status_code == 400
        assert sim.config.refund_outcome == "FAIL"


class TestControlRoutes:
    def test_health_state_and_clock(self, trade_sim):
        sim, client = trade_sim
        assert client.http.get(client.base_url + "/_sim/health").json() == {"ok": True, "now": sim.clock.now()}
        assert client.control("clock/advance", {"seconds": 90}).json() == {"now": sim.clock.now()}
        assert client.control("clock/advance", {"seconds": -1}).status_code == 400
        assert client.control("clock/advance", {"seconds": "1"}).status_code == 400
        client.paid_order()
        assert client.call("order_query", {"out_order_no": "O1"})["err_no"] == 0
        state = client.http.get(client.base_url + "/_sim/state").json()
        assert set(state) >= {"now", "config", "client_token", "orders", "refunds", "settlements", "callbacks"}
        assert state["orders"]["O1"]["pay_status"] == "SUCCESS"
        assert state["client_token"]["fetches"] == 1

    def test_unknown_routes_and_bad_bodies(self, trade_sim):
        _, client = trade_sim
        assert client.control("nope").status_code == 404
        assert client.http.get(client.base_url + "/_sim/nope").status_code == 404
        assert client.http.delete(client.base_url + "/_sim/state").status_code == 405
        assert client.http.post(client.base_url + "/_sim/config", data=b"[1]").status_code == 400
        assert client.control("client/get_order_payment", {}).status_code == 400  # orderId required
        assert client.control("client/request_order", {"data": "x"}).status_code == 400

    def test_the_python_api_mirrors_the_routes(self, trade_sim, trade_receiver):
        sim, client = trade_sim
        from tests.local.trade_helpers import byte_authorization, dumps

        text = dumps(order_data())
        answer = sim.request_order(text, byte_authorization(text, client.now()))
        assert sim.get_order_payment(answer["orderId"], "pay", 2)["pay_channel"] == 2
        refund = sim.user_refund("O1", 10, need_audit=False, reason="r")
        assert refund["refund_total_amount"] == 10
        assert sim.set_cps("O1", 3)["commission_amount"] == 3
        sim.advance(1)
        assert len(sim.wait_for_deliveries(2)) == 2

    def test_the_server_listens_on_loopback_only(self, trade_sim):
        sim, _ = trade_sim
        assert sim._server.server_address[0] == "127.0.0.1"

    def test_stop_closes_the_port(self):
        cfg = TradeSimulatorConfig(app_id=APP_ID, client_secret=CLIENT_SECRET, speed=0)
        sim = TradeSimulator(cfg).start()
        url = sim.base_url
        assert requests.get(url + "/_sim/health", timeout=5).ok
        sim.stop()
        sim.stop()  # idempotent
        with pytest.raises(requests.ConnectionError):
            requests.get(url + "/_sim/health", timeout=5)


class TestFaults:
    def test_http_500_then_normal(self, trade_sim):
        _, client = trade_sim
        token = client.token
        assert client.control("faults", {"endpoint": "order_query", "mode": "http_500"}).json()["armed"]
        assert client.post("order_query", {"out_order_no": "x"}, token=token).status_code == 500
        assert client.call("order_query", {"out_order_no": "x"})["err_no"] == 20000

    @pytest.mark.parametrize(
        ("mode", "status"), [("http_503", 503), ("garbage", 200), ("html", 502), ("system_error", 200)]
    )
    def test_modes_that_do_not_apply_the_request(self, trade_sim, mode, status):
        sim, client = trade_sim
        order_id = client.paid_order()
        item = client.item_of(order_id)
        from tests.local.trade_helpers import refund_body

        sim.inject_fault("refund_create", mode)
        response = client.post("refund_create", refund_body(order_id, item))
        assert response.status_code == status
        if mode == "system_error":
            assert response.json()["err_no"] == 28001005
        if mode == "garbage":
            with pytest.raises(requests.JSONDecodeError):
                response.json()
        assert client.call("refund_query", {"order_id": order_id})["data"]["refund_list"] == []

    def test_accept_then_500_applies_the_request(self, trade_sim):
        sim, client = trade_sim
        order_id = client.paid_order()
        item = client.item_of(order_id)
        from tests.local.trade_helpers import refund_body

        sim.inject_fault("refund_create", "accept_then_500")
        assert client.post("refund_create", refund_body(order_id, item)).status_code == 500
        (refund,) = client.call("refund_query", {"out_refund_no": "R1"})["data"]["refund_list"]
        assert refund["refund_total_amount"] == 100

    def test_timeout_applies_after_holding_the_answer(self, make_trade_sim):
        sim, client = make_trade_sim(fault_timeout_seconds=0.3)
        client.paid_order()
        token = client.token
        sim.inject_fault("*", "timeout")
        with pytest.raises(requests.Timeout):
            client.http.post(
                client.base_url + "/api/trade_basic/v1/developer/settle_create/",
                json={"out_order_no": "O1", "out_settle_no": "S1", "settle_desc": "d"},
                headers={"access-token": token},
                timeout=0.1,
            )
        time.sleep(0.5)
        assert len(client.call("settle_query", {"out_settle_no": "S1"})["data"]) == 1

    def test_client_token_faults(self, trade_sim):
        sim, client = trade_sim
        sim.inject_fault("client_token", "system_error", count=2)
        assert client.fetch_token()["data"]["error_code"] != 0
        assert client.fetch_token()["data"]["error_code"] != 0
        assert client.fetch_token()["data"]["error_code"] == 0
        assert sim.token_fetches == 1

    def test_bad_fault_requests(self, trade_sim):
        _, client = trade_sim
        assert client.control("faults", {"endpoint": "query_order", "mode": "http_500"}).status_code == 400
        assert client.control("faults", {"endpoint": "order_query", "mode": "explode"}).status_code == 400
        assert client.control("faults", {"endpoint": "order_query", "mode": "http_500", "count": 0}).status_code == 400

    def test_rate_limits(self, make_trade_sim):
        _, client = make_trade_sim(rate_limits={"order_query": 2})
        token = client.token
        answers = [client.call("order_query", {"out_order_no": "x"}, token=token) for _ in range(3)]
        assert [a["err_no"] for a in answers] == [20000, 20000, 28003018]
        assert answers[2]["_http"] == 200
        assert answers[2]["log_id"]
        time.sleep(1.05)
        assert client.call("order_query", {"out_order_no": "x"})["err_no"] == 20000


class TestCommandLine:
    def test_help(self):
        result = subprocess.run(
            [sys.executable, "-m", "local.trade_sim", "--help"], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0
        assert "TRADE_SIM_CLIENT_SECRET" in result.stdout
        assert "--deliver-to" in result.stdout

    def test_the_secret_must_come_from_the_environment(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADE_SIM_")}
        result = subprocess.run(
            [sys.executable, "-m", "local.trade_sim", "--app-id", APP_ID],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=30,
        )
        assert result.returncode == 2
        assert "TRADE_SIM_CLIENT_SECRET" in result.stderr

    def test_it_runs_and_stops_on_sigterm(self, tmp_path):
        key_file = tmp_path / "app.pem"
        key_file.write_text(public_pem(APP_KEY))
        out = tmp_path / "platform.pem"
        env = {**os.environ, "TRADE_SIM_CLIENT_SECRET": CLIENT_SECRET}
        args = ["--app-id", APP_ID, "--app-key", f"1={key_file}", "--platform-public-key-out", str(out)]
        proc = subprocess.Popen(
            [sys.executable, "-m", "local.trade_sim", *args], stdout=subprocess.PIPE, text=True, env=env
        )
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:")
            assert requests.get(url + "/_sim/health", timeout=5).json()["ok"] is True
            assert "BEGIN PUBLIC KEY" in out.read_text()
            token = requests.post(
                url + "/oauth/client_token/",
                json={"grant_type": "client_credential", "client_key": APP_ID, "client_secret": CLIENT_SECRET},
                timeout=5,
            ).json()
            assert token["data"]["error_code"] == 0
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0


def test_a_running_clock_expires_orders_and_retries_on_its_own(make_trade_sim, trade_receiver):
    """speed 600: 300 s of expiry and a 12 s retry pass in about half a second, with no advance()."""
    _, client = make_trade_sim(speed=600)
    trade_receiver.answer = lambda received: (500, b"down")
    client.create_order(payExpireSeconds=300)
    first, second = trade_receiver.wait(2, timeout=10)
    assert first.msg["message"] == "TIME_OUT"
    assert first.raw == second.raw
    gap = int(second.headers["Byte-Timestamp"]) - int(first.headers["Byte-Timestamp"])
    assert 12 <= gap <= 14
