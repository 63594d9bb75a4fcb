"""``DouyinSimulator``: wires the clock, platform, order sync, notifier and HTTP server together.

Its Python methods mirror the ``/_sim/`` control routes, so tests of other components can drive
the simulator in-process as well as over HTTP.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from .api import EcpayApi
from .bills import BillApi
from .clock import SimClock
from .config import SAAS_ENDPOINTS, ConfigHolder, SimulatorConfig, public_view
from .funds import Funds
from .notifier import Delivery, Notifier
from .order_sync import OrderSync
from .platform import ControlError, Platform
from .server import SimHTTPServer
from .traffic import FaultInjector, RateLimiter


class DouyinSimulator:
    """A local Douyin ecpay v1 platform (with order sync). Use as a context manager, or start() / stop()."""

    def __init__(self, config: SimulatorConfig) -> None:
        self._config = ConfigHolder(config)
        self.clock = SimClock(config.speed, config.start_time)
        self.notifier = Notifier(self._config, self.clock, tick=self._tick, next_due=self._next_due)
        self.order_sync = OrderSync(self._config, self.clock)
        self.platform = Platform(
            self._config,
            self.clock,
            emit=self.notifier.submit,
            pushed_status=self.order_sync.pushed_status,
            fulfilled_at=self.order_sync.fulfilled_at,
        )
        self.funds = Funds(self.platform)
        saas = {name: getattr(self.funds, name) for name in SAAS_ENDPOINTS}
        self.api = EcpayApi(self._config, self.platform, saas)
        self.bills = BillApi(self._config, self.platform, self.funds)
        self.limiter = RateLimiter(self._config)
        self.faults = FaultInjector()
        self._server: SimHTTPServer | None = None
        self._serve_thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()
        self._stopped = False

    def _tick(self) -> None:
        self.platform.tick()

    def _next_due(self) -> float | None:
        return self.platform.next_due()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> DouyinSimulator:
        with self._lifecycle:
            if self._server is not None or self._stopped:
                raise RuntimeError("a simulator starts once")
            server = SimHTTPServer(self._config.get().port, self)
            self._server = server
            self.notifier.start()
            self._serve_thread = threading.Thread(
                target=server.serve_forever, args=(0.05,), name="douyin-sim-http", daemon=True
            )
            self._serve_thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every connection, and join the server and notifier threads."""
        with self._lifecycle:
            if self._stopped:
                return
            self._stopped = True
            server, self._server = self._server, None
            if server is not None:
                server.shutdown()
                server.server_close()
            if self._serve_thread is not None:
                self._serve_thread.join()
            self.notifier.stop()

    def __enter__(self) -> DouyinSimulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the simulator is not running")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config(self) -> SimulatorConfig:
        return self._config.get()

    # ------------------------------------------------------------------ control (mirrors /_sim/)

    def pay(
        self, out_order_no: str, way: int = 10, commission: int = 0, commission_delay: float | None = None
    ) -> dict[str, Any]:
        """Play tt.pay succeeding: the order becomes SUCCESS and a payment callback follows.

        ``commission`` (fen) > 0 makes it a CPS order whose commission and item_id become known
        ``commission_delay`` simulated seconds later (None: the switch ``cps_commission_delay``)."""
        return self.platform.pay(out_order_no, way, commission, commission_delay)

    def cancel(self, out_order_no: str) -> dict[str, Any]:
        """Play the user closing the cashier: nothing is notified; the order expires later."""
        return self.platform.cancel(out_order_no)

    def complete_refund(self, out_refund_no: str, status: str = "SUCCESS") -> dict[str, Any]:
        return self.platform.complete_refund(out_refund_no, status)

    def complete_settlement(self, out_settle_no: str, status: str = "SUCCESS") -> dict[str, Any]:
        return self.platform.complete_settlement(out_settle_no, status)

    def sync_record(self, out_order_no: str) -> dict[str, Any]:
        """The order's order-sync record (current status and every accepted push); 404 if none."""
        record = self.order_sync.record(out_order_no)
        if record is None:
            raise ControlError(404, f"order {out_order_no} was never pushed")
        return record

    def advance(self, seconds: float) -> float:
        """Move the simulated clock forward; returns the new simulated time."""
        now = self.clock.advance(seconds)
        self.platform.tick()  # expiry and completions are visible as soon as this returns
        self.notifier.wake()
        return now

    def configure(self, **switches: Any) -> dict[str, Any]:
        """Change runtime switches (see config.RUNTIME_SWITCHES); returns the new public config."""
        cfg = self._config.update(**switches)
        if "speed" in switches:
            self.clock.set_speed(cfg.speed)
        self.notifier.wake()
        return public_view(cfg)

    def inject_fault(self, endpoint: str, mode: str, count: int = 1) -> None:
        """Make the next ``count`` requests to ``endpoint`` (or "*") fail in ``mode``."""
        self.faults.arm(endpoint, mode, count)

    def state(self) -> dict[str, Any]:
        return {
            "now": self.clock.now(),
            "config": public_view(self._config.get()),
            **self.platform.state(),
            **self.order_sync.state(),
            "faults": self.faults.pending(),
            "callbacks": self.notifier.status(),
        }

    def deliveries(self) -> list[Delivery]:
        return self.notifier.deliveries()

    def wait_for_deliveries(self, n: int, timeout: float = 5.0) -> list[Delivery]:
        """Block until at least ``n`` callback attempts were made; TimeoutError otherwise."""
        return self.notifier.wait_for(n, timeout)
