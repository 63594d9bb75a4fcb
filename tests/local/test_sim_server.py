"""The HTTP surface and the server's lifecycle: routes, start, stop, the command line."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from local.douyin_sim import DouyinSimulator, SimulatorConfig
from tests.local.sim_helpers import APP_ID, APP_SECRET, CALLBACK_HOST, SALT, START, TOKEN, Client, push_paid

# ---------------------------------------------------------------------------- HTTP surface


class TestHttpSurface:
    def test_methods_and_paths(self, sim):
        _, client = sim
        url = f"{client.base_url}/api/apps/ecpay/v1/query_order"
        assert client.http.get(url, timeout=5).status_code == 405
        assert client.http.put(url, json={}, timeout=5).status_code == 405
        unknown = f"{client.base_url}/api/apps/ecpay/v1/close_order"
        assert client.http.post(unknown, json={}, timeout=5).status_code == 404
        assert client.http.post(f"{client.base_url}/elsewhere", json={}).status_code == 404

    def test_control_routes(self, make_sim, receiver):
        # The control routes, not the settlement cycle: S1 is settled right after the payment.
        simulator, client = make_sim(settle_cycle_days=0)
        client.create_order("A1", total_amount=1000)
        client.create_order("A2")
        assert client.control("POST", "orders/A2/cancel").status_code == 200
        assert client.control("POST", "orders/A1/pay", {"way": 1}).json()["way"] == 1
        assert client.control("POST", "orders/A1/pay").status_code == 409
        assert client.control("POST", "orders/NOPE/pay").status_code == 404
        assert client.control("POST", "orders/A2/pay", {"way": 7}).status_code == 400
        config = client.control("POST", "config", {"refund_processing_seconds": None}).json()
        assert config["refund_processing_seconds"] is None
        assert "salt" not in config
        assert "token" not in config
        assert client.control("POST", "config", {"salt": "x"}).status_code == 400
        client.refund("R1", 1)
        push_paid(client)
        assert client.settle("S1")["err_no"] == 0
        assert client.control("POST", "refunds/R1/complete", {"status": "SUCCESS"}).status_code == 200
        assert client.control("POST", "refunds/R1/complete", {"status": "SUCCESS"}).status_code == 409
        assert client.control("POST", "settlements/S1/complete", {"status": "FAIL"}).status_code == 200
        now = client.control("POST", "clock/advance", {"seconds": 20}).json()["now"]
        assert now == START + 20
        fault = {"endpoint": "query_order", "mode": "html"}
        assert client.control("POST", "faults", fault).status_code == 200
        assert client.raw("query_order", client.body({"out_order_no": "A1"})).status_code == 502
        assert client.control("POST", "faults", {"endpoint": "nope", "mode": "html"}).status_code == 400
        simulator.wait_for_deliveries(3)
        state = client.control("GET", "state").json()
        assert state["orders"]["A1"]["status"] == "SUCCESS"
        assert state["orders"]["A2"]["cashier_closed_at"]
        assert state["refunds"]["R1"]["status"] == "SUCCESS"
        assert state["settlements"]["S1"]["status"] == "FAIL"
        assert SALT not in json.dumps(state, ensure_ascii=False)
        assert TOKEN not in json.dumps(state)
        assert APP_SECRET not in json.dumps(state)
        deliveries = client.control("GET", "deliveries").json()
        assert {d["type"] for d in deliveries} == {"payment", "refund", "settle"}
        assert set(deliveries[0]) >= {"type", "url", "body", "http_status", "attempt", "sim_time"}
        assert client.control("GET", "health").json()["ok"] is True
        assert client.control("POST", "nowhere", {}).status_code == 404


# ---------------------------------------------------------------------------- lifecycle


def _sim_threads() -> set[threading.Thread]:
    return set(threading.enumerate())


def _threads_left(before: set[threading.Thread], grace: float = 2.0) -> set[threading.Thread]:
    """Threads started since ``before`` that are still alive after a short grace period: a request
    thread of the test's own receiver may take a moment to finish; a leaked thread never does."""
    deadline = time.monotonic() + grace
    while (left := _sim_threads() - before) and time.monotonic() < deadline:
        time.sleep(0.02)
    return left


def test_stop_leaves_nothing_running(receiver):
    before = _sim_threads()
    config = SimulatorConfig(APP_ID, SALT, TOKEN, speed=0, deliver_to={CALLBACK_HOST: receiver.url})
    simulator = DouyinSimulator(config)
    simulator.start()
    port = simulator.port
    client = Client(simulator.base_url)
    client.create_order("A1")
    simulator.pay("A1")
    # A request held by the "timeout" fault must not keep stop() waiting for it.
    simulator.configure(fault_timeout_seconds=30)
    simulator.inject_fault("query_order", "timeout")
    outcome: list[BaseException] = []

    def hang() -> None:
        try:
            client.raw("query_order", {}, timeout=10)
        except requests.RequestException as exc:
            outcome.append(exc)

    hanging = threading.Thread(target=hang)
    hanging.start()
    # Stop only once the request is held: its handler has taken the armed fault. (A fixed sleep
    # was sometimes too short on a loaded machine, and then the test checked nothing held.)
    deadline = time.monotonic() + 10
    while simulator.state()["faults"]:
        assert time.monotonic() < deadline, "the request never reached the simulator"
        time.sleep(0.01)
    started = time.monotonic()
    simulator.stop()
    assert time.monotonic() - started < 3
    hanging.join(5)
    assert len(outcome) == 1  # the held request was cut off, not answered late
    simulator.stop()  # idempotent
    assert _threads_left(before) == set()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_context_manager_and_base_url():
    before = _sim_threads()
    with DouyinSimulator(SimulatorConfig(APP_ID, SALT, TOKEN)) as simulator:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", simulator.base_url)
        assert simulator._server is not None
        assert simulator._server.server_address[0] == "127.0.0.1"
        with pytest.raises(RuntimeError):
            simulator.start()
    assert _threads_left(before) == set()


def test_command_line_entry_point():
    repo = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "DOUYIN_SIM_SALT": SALT,
        "DOUYIN_SIM_TOKEN": TOKEN,
        "DOUYIN_SIM_APP_SECRET": APP_SECRET,
        "PYTHONPATH": os.pathsep.join([str(repo / "layers" / "douyin_pay"), str(repo)]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "local.douyin_sim", "--app-id", APP_ID, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=repo,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        client = Client(url)
        assert client.create_order("A1")["err_no"] == 0
        assert client.access_token()  # the app secret came from the environment
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    no_secrets = {k: v for k, v in env.items() if not k.startswith("DOUYIN_SIM_")}
    failed = subprocess.run(
        [sys.executable, "-m", "local.douyin_sim", "--app-id", APP_ID],
        capture_output=True,
        text=True,
        env=no_secrets,
        cwd=repo,
        timeout=20,
        check=False,
    )
    assert failed.returncode == 2
    assert "DOUYIN_SIM_SALT" in failed.stderr
