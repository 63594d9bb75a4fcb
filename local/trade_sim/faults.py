"""Injected faults in front of the platform: douyin_sim's injector and rate limiter, reused.

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

from local.douyin_sim.traffic import FaultInjector as _Injector

from .config import FAULT_ENDPOINTS

FAULT_MODES = ("system_error", "http_500", "http_503", "garbage", "html", "timeout", "accept_then_500")


def fault_injector() -> _Injector:
    """douyin_sim's injector (first armed, first served), over the trade endpoints and modes."""
    return _Injector(FAULT_ENDPOINTS, FAULT_MODES)
