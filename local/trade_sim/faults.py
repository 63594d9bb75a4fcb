"""Injected faults in front of the platform (the rate limiter is douyin_sim's, reused as is).

What each mode does to the next request(s) of an endpoint:

  system_error     200 + err_no 28001005 "系统繁忙" (client_token: data.error_code 2190002 [I]);
                   the request is NOT applied
  http_500/503     a bare HTTP error; not applied
  garbage          200, Content-Type application/json, but the body is not JSON; not applied
  html             502 with an nginx-style HTML page (a gateway in front); not applied
  timeout          hold the answer for fault_timeout_seconds (real), then apply and answer: the
                   client has given up, yet the platform did the work
  accept_then_500  apply the request, then answer 500: accepted, but the client saw an error
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .config import FAULT_ENDPOINTS

FAULT_MODES = ("system_error", "http_500", "http_503", "garbage", "html", "timeout", "accept_then_500")


@dataclass
class _Armed:
    endpoint: str  # an endpoint name or "*"
    mode: str
    remaining: int


class FaultInjector:
    """Faults armed for the next ``count`` requests of an endpoint, first armed first served."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[_Armed] = []

    def arm(self, endpoint: str, mode: str, count: int = 1) -> None:
        if endpoint != "*" and endpoint not in FAULT_ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {FAULT_ENDPOINTS} or '*'")
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r}; one of {FAULT_MODES}")
        if type(count) is not int or count < 1:
            raise ValueError("count must be a positive integer")
        with self._lock:
            self._armed.append(_Armed(endpoint, mode, count))

    def take(self, endpoint: str) -> str | None:
        with self._lock:
            for armed in self._armed:
                if armed.endpoint in (endpoint, "*"):
                    armed.remaining -= 1
                    if armed.remaining == 0:
                        self._armed.remove(armed)
                    return armed.mode
        return None

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def pending(self) -> list[dict[str, object]]:
        with self._lock:
            return [{"endpoint": a.endpoint, "mode": a.mode, "count": a.remaining} for a in self._armed]
