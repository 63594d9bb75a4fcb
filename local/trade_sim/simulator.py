"""``TradeSimulator``: wires the clock, platform, notifier and HTTP server together.

Its Python methods mirror the ``/_sim/`` control routes, so tests of other components can drive
the simulator in-process as well as over HTTP.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from local.douyin_sim.clock import SimClock
from local.douyin_sim.traffic import RateLimiter

from . import crypto
from .api import TradeApi
from .config import ConfigHolder, TradeSimulatorConfig, public_view
from .faults import fault_injector
from .notifier import Delivery, Notifier
from .platform import Platform
from .records import ControlError, Notice
from .server import TradeHTTPServer


class TradeSimulator:
    """A local Douyin 通用交易系统 (trade_basic v1). Use as a context manager, or start() / stop()."""

    def __init__(self, config: TradeSimulatorConfig, *, clock: SimClock | None = None) -> None:
        """``clock``: a clock shared with another simulator (the local stack runs both platforms
        on one simulated time); by default its own, from ``speed`` and ``start_time``."""
        self._config = ConfigHolder(config)
        self.clock = clock or SimClock(config.speed, config.start_time)
        self.notifier = Notifier(
            self._config,
            self.clock,
            tick=self._tick,
            next_due=self._next_due,
            on_reply=self._on_reply,
            still_wanted=self._still_wanted,
        )
        self.platform = Platform(self._config, self.clock, emit=self.notifier.submit)
        self.api = TradeApi(self._config, self.clock, self.platform)
        # douyin_sim's limiter only reads ``config.get().rate_limits[endpoint]``: it fits unchanged.
        self.limiter = RateLimiter(self._config)  # type: ignore[arg-type]
        self.faults = fault_injector()
        self._server: TradeHTTPServer | None = None
        self._serve_thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()
        self._stopped = False

    def _tick(self) -> None:
        self.platform.tick()

    def _next_due(self) -> float | None:
        return self.platform.next_due()

    def _on_reply(self, notice: Notice, reply: Any) -> str:
        return self.platform.answer_pre_create_refund(notice.subject_id, reply)

    def _still_wanted(self, notice: Notice) -> bool:
        return self.platform.still_wanted(notice)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> TradeSimulator:
        with self._lifecycle:
            if self._server is not None or self._stopped:
                raise RuntimeError("a simulator starts once")
            server = TradeHTTPServer(self._config.get().port, self)
            self._server = server
            self.notifier.start()
            self._serve_thread = threading.Thread(
                target=server.serve_forever, args=(0.05,), name="trade-sim-http", daemon=True
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

    def __enter__(self) -> TradeSimulator:
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
    def config(self) -> TradeSimulatorConfig:
        return self._config.get()

    @property
    def platform_public_key_pem(self) -> str:
        """The key a callback receiver verifies Byte-Signature with (changes on rotation)."""
        return self._config.get().platform_public_key_pem

    @property
    def token_fetches(self) -> int:
        """How many client_tokens were issued so far."""
        return self.platform.tokens.fetches

    # ------------------------------------------------------------------ the client stand-in

    def request_order(self, data: Any, byte_authorization: Any, client_platform: str = "android") -> dict[str, Any]:
        """Play tt.requestOrder: ``{orderId, itemOrderList, logId}`` or ``{errNo, errMsg, errLogId}``."""
        return self.api.request_order(data, byte_authorization, client_platform)

    def get_order_payment(self, order_id: str, outcome: str = "pay", pay_channel: int | None = None) -> dict[str, Any]:
        """Play tt.getOrderPayment: "pay" (→ SUCCESS callback), "cancel" (→ CANCEL/USER_CANCEL
        callback; still payable until it expires) or "leave" (nothing now)."""
        return self.platform.get_order_payment(order_id, outcome, pay_channel)

    # ------------------------------------------------------------------ control (mirrors /_sim/)

    def user_refund(
        self, out_order_no: str, amount: int | None = None, need_audit: bool = False, reason: str = ""
    ) -> dict[str, Any]:
        """A user asks for a refund: a platform refund and a pre_create_refund callback."""
        return self.platform.user_refund(out_order_no, amount, need_audit, reason)

    def set_cps(self, out_order_no: str, commission_amount: int, commission_rate: int = 0) -> dict[str, Any]:
        return self.platform.set_cps(out_order_no, commission_amount, commission_rate)

    def complete_refund(self, out_refund_no: str, status: str = "SUCCESS") -> dict[str, Any]:
        return self.platform.complete_refund(out_refund_no, status)

    def complete_settlement(self, out_settle_no: str, status: str = "SUCCESS") -> dict[str, Any]:
        return self.platform.complete_settlement(out_settle_no, status)

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

    def rotate_platform_key(self, private_key_pem: str | None = None) -> str:
        """A new platform key pair (generated unless given); callbacks are signed with it from now
        on. Returns the new public key PEM."""
        pem = private_key_pem or crypto.generate_private_key_pem()
        crypto.load_private_key(pem)
        return self._config.set_platform_key(pem).platform_public_key_pem

    def upload_app_key(self, key_version: str, public_key_pem: str | None) -> dict[str, Any]:
        """Register an app public key under ``key_version`` (None retires that version)."""
        if not key_version:
            raise ValueError("key_version is required")
        try:
            if public_key_pem is not None:
                crypto.load_app_public_key(public_key_pem)
            cfg = self._config.set_app_key(key_version, public_key_pem)
        except KeyError:
            raise ControlError(404, f"no app key version {key_version}") from None
        return {"key_versions": sorted(cfg.app_public_keys)}

    def state(self) -> dict[str, Any]:
        return {
            "now": self.clock.now(),
            "config": public_view(self._config.get()),
            **self.platform.state(),
            "faults": self.faults.pending(),
            "callbacks": self.notifier.status(),
        }

    def deliveries(self) -> list[Delivery]:
        return self.notifier.deliveries()

    def wait_for_deliveries(self, n: int, timeout: float = 5.0) -> list[Delivery]:
        """Block until at least ``n`` callback attempts were made; TimeoutError otherwise."""
        return self.notifier.wait_for(n, timeout)
