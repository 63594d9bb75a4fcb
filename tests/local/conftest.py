"""The Douyin ecpay v1 simulator, driven over loopback HTTP like a real client would.

Most tests freeze the simulated clock (speed 0) and move it with advance(), so callback timing is
exact and nothing sleeps; the retry-schedule test runs a compressed clock instead.

The fixtures: a callback receiver and simulators started against it (``sim``, ``make_sim``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from local.douyin_sim import DouyinSimulator, SimulatorConfig
from local.trade_sim import TradeSimulator, TradeSimulatorConfig
from tests.local.sim_helpers import (
    APP_ID,
    APP_SECRET,
    CALLBACK_HOST,
    NOTIFY_URL,
    SALT,
    START,
    TOKEN,
    Client,
    Receiver,
)
from tests.local.trade_helpers import APP_ID as TRADE_APP_ID
from tests.local.trade_helpers import APP_KEY, CLIENT_SECRET, PLATFORM_KEY, Received, TradeClient, public_pem
from tests.local.trade_helpers import NOTIFY_URL as TRADE_NOTIFY_URL
from tests.local.trade_helpers import Receiver as TradeReceiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with rec.cond:
                rec.received.append((self.path, raw))
                rec.cond.notify_all()
            self.send_response(rec.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(rec.answer)))
            self.end_headers()
            self.wfile.write(rec.answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    yield from _serve(Handler, rec)


def _serve(handler: type[BaseHTTPRequestHandler], rec: Any) -> Iterator[Any]:
    """Serve ``handler`` on loopback for one test; ``rec.url`` is where."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def make_sim(receiver: Receiver) -> Iterator[Callable[..., tuple[DouyinSimulator, Client]]]:
    started: list[DouyinSimulator] = []

    def make(**overrides: Any) -> tuple[DouyinSimulator, Client]:
        settings: dict[str, Any] = {
            "app_id": APP_ID,
            "salt": SALT,
            "token": TOKEN,
            "app_secret": APP_SECRET,
            "speed": 0,
            "start_time": START,
            "deliver_to": {CALLBACK_HOST: receiver.url},
            "default_notify_url": NOTIFY_URL,
        }
        sim = DouyinSimulator(SimulatorConfig(**{**settings, **overrides})).start()
        started.append(sim)
        return sim, Client(sim.base_url, thirdparty_id=overrides.get("thirdparty_id"))

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: Callable[..., tuple[DouyinSimulator, Client]]) -> tuple[DouyinSimulator, Client]:
    return make_sim()


# ---------------------------------------------------------------------------- trade_sim fixtures


@pytest.fixture
def trade_receiver() -> Iterator[TradeReceiver]:
    rec = TradeReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received = Received(self.path, dict(self.headers.items()), raw)
            status, answer = rec.answer(received)
            with rec.cond:
                rec.received.append(received)
                rec.cond.notify_all()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    yield from _serve(Handler, rec)


@pytest.fixture
def make_trade_sim(trade_receiver: TradeReceiver) -> Iterator[Callable[..., tuple[TradeSimulator, TradeClient]]]:
    started: list[TradeSimulator] = []

    def make(**overrides: Any) -> tuple[TradeSimulator, TradeClient]:
        settings: dict[str, Any] = {
            "app_id": TRADE_APP_ID,
            "client_secret": CLIENT_SECRET,
            "app_public_keys": {"1": public_pem(APP_KEY)},
            "platform_private_key_pem": PLATFORM_KEY,
            "speed": 0,
            "start_time": START,
            "deliver_to": {CALLBACK_HOST: trade_receiver.url},
            "default_notify_url": TRADE_NOTIFY_URL,
        }
        sim = TradeSimulator(TradeSimulatorConfig(**{**settings, **overrides})).start()
        started.append(sim)
        return sim, TradeClient(sim)

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def trade_sim(make_trade_sim: Callable[..., tuple[TradeSimulator, TradeClient]]) -> tuple[TradeSimulator, TradeClient]:
    return make_trade_sim()


@pytest.fixture
def mocked_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto's AWS in this process (the bench's meters and baseline), with test credentials and no
    endpoint override, so nothing reaches a real account or a local stack."""
    moto = pytest.importorskip("moto")
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with moto.mock_aws():
        yield
