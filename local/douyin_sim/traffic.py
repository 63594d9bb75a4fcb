"""Traffic conditions in front of the platform: rate limits and injected faults."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .config import BILL_ENDPOINTS, ECPAY_ENDPOINTS, ENDPOINTS, ORDER_SYNC_ENDPOINTS, SAAS_ENDPOINTS, ConfigHolder

# What each fault mode does to the next request(s) of an endpoint:
#   err_1000        200 + {"err_no":1000}: internal error, result unknown; the request is NOT applied
#   err_1001        200 + {"err_no":1001}: busy; not applied
#   err_2010        200 + {"err_no":2010}: a definitive refusal (parameter error) for a reason the
#                   simulator does not model; not applied
#   err_-1          200 + the order-sync "-1 系统错误" (token: err_no -1, order_push: err_code -1);
#                   not applied
#   http_500/503    a bare HTTP error; not applied
#   garbage         200, Content-Type application/json, but the body is not JSON; not applied
#   html            502 with an nginx-style HTML page (a gateway in front of the platform); not applied
#   timeout         hold the answer for fault_timeout_seconds (real), then apply and answer: the
#                   client has given up, yet the platform did the work
#   accept_then_500 apply the request, then answer 500: accepted, but the client saw an error
FAULT_MODES = (
    "err_1000", "err_1001", "err_2010", "err_-1", "http_500", "http_503", "garbage", "html", "timeout",
    "accept_then_500",
)  # fmt: skip

# Modes that answer one protocol's error code, and the endpoints of that protocol: ecpay's 1000 /
# 1001 are no answer of the order-sync endpoints, whose only system error is -1, and the other way
# round. Arming such a mode on another endpoint is refused; one armed on "*" waits for an endpoint
# it fits. Modes not listed here (HTTP-level ones) fit every endpoint.
MODE_ENDPOINTS: Mapping[str, tuple[str, ...]] = {
    "err_1000": (*ECPAY_ENDPOINTS, *SAAS_ENDPOINTS),
    "err_1001": (*ECPAY_ENDPOINTS, *SAAS_ENDPOINTS),
    "err_2010": (*ECPAY_ENDPOINTS, *SAAS_ENDPOINTS),
    "err_-1": (*ORDER_SYNC_ENDPOINTS, *BILL_ENDPOINTS),  # the bill's "system error" is -1 (§4)
}


@dataclass
class _Armed:
    endpoint: str  # an endpoint name or "*"
    mode: str
    remaining: int


class FaultInjector:
    """Faults armed for the next ``count`` requests of an endpoint, first armed first served.

    ``endpoints`` and ``modes``: what may be armed (ecpay's by default; the trade simulator passes
    its own). ``mode_endpoints``: modes that fit only some endpoints (see MODE_ENDPOINTS)."""

    def __init__(
        self,
        endpoints: tuple[str, ...] = ENDPOINTS,
        modes: tuple[str, ...] = FAULT_MODES,
        mode_endpoints: Mapping[str, tuple[str, ...]] = MODE_ENDPOINTS,
    ) -> None:
        self._endpoints = tuple(endpoints)
        self._modes = tuple(modes)
        self._mode_endpoints = dict(mode_endpoints)
        self._lock = threading.Lock()
        self._armed: list[_Armed] = []

    def arm(self, endpoint: str, mode: str, count: int = 1) -> None:
        if endpoint != "*" and endpoint not in self._endpoints:
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {self._endpoints} or '*'")
        if mode not in self._modes:
            raise ValueError(f"unknown fault mode {mode!r}; one of {self._modes}")
        if endpoint != "*" and not self._fits(mode, endpoint):
            raise ValueError(f"fault mode {mode!r} is no answer of {endpoint!r}; it fits {self._mode_endpoints[mode]}")
        if type(count) is not int or count < 1:
            raise ValueError("count must be a positive integer")
        with self._lock:
            self._armed.append(_Armed(endpoint, mode, count))

    def take(self, endpoint: str) -> str | None:
        with self._lock:
            for armed in self._armed:
                if armed.endpoint in (endpoint, "*") and self._fits(armed.mode, endpoint):
                    armed.remaining -= 1
                    if armed.remaining == 0:
                        self._armed.remove(armed)
                    return armed.mode
        return None

    def _fits(self, mode: str, endpoint: str) -> bool:
        fits = self._mode_endpoints.get(mode)
        return fits is None or endpoint in fits

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def pending(self) -> list[dict[str, object]]:
        with self._lock:
            return [{"endpoint": a.endpoint, "mode": a.mode, "count": a.remaining} for a in self._armed]


class RateLimiter:
    """Per-endpoint sliding one-second window in real time (ecpay-spec §7.1; excess → 1001)."""

    def __init__(self, config: ConfigHolder, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._config = config
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._recent: dict[str, deque[float]] = {}

    def allow(self, endpoint: str) -> bool:
        limit = self._config.get().rate_limits.get(endpoint)
        if limit is None:
            return True
        now = self._monotonic()
        with self._lock:
            window = self._recent.setdefault(endpoint, deque())
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= limit:
                return False  # refused requests do not count against the window
            window.append(now)
            return True
