"""The HTTP layer: ecpay v1 routes, the order-sync routes and the ``/_sim/`` control routes,
loopback only.

``POST /api/apps/ecpay/v1/<endpoint>`` passes through fault injection, then the rate limiter,
then the ecpay pipeline (api.py); so does ``POST /api/apps/ecpay/saas/<endpoint>`` (the merchant's
balance and withdrawals, funds.py). ``GET /api/apps/bill`` ("bill") and ``GET /api/apps/bills``
("bills") and ``GET /api/apps/fund/bills`` ("fund_bills") pass through the same two, then
bills.py. ``POST /api/apps/v2/token`` (endpoint "token") and
``POST /api/apps/order/v2/push`` ("order_push") pass through the same two, then order_sync.py.
Any other method on one of these paths is 405, an unknown path 404 (Go's plain-text "404 page not
found", since the platform is a Go service).

Control routes (JSON in, JSON out; 400 bad input, 404 unknown object, 409 wrong state):
  POST /_sim/orders/{out_order_no}/pay        {"way": 10, "commission": 0, "commission_delay": 60}
  POST /_sim/orders/{out_order_no}/cancel
  POST /_sim/refunds/{out_refund_no}/complete {"status": "SUCCESS"|"FAIL"}
  POST /_sim/settlements/{out_settle_no}/complete {"status": ...}
  POST /_sim/clock/advance                    {"seconds": 60}
  POST /_sim/config                           {switch: value, ...}
  POST /_sim/faults                           {"endpoint": "query_order", "mode": "http_500", "count": 1}
  GET  /_sim/state | /_sim/deliveries | /_sim/health
  GET  /_sim/orders/{out_order_no}/sync           (404 if the order was never pushed)
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from ..closing_server import ClosingHTTPServer
from .config import ECPAY_ENDPOINTS, SAAS_ENDPOINTS
from .order_sync import system_error
from .platform import ControlError

if TYPE_CHECKING:
    from .simulator import DouyinSimulator

log = logging.getLogger(__name__)

ECPAY_PREFIX = "/api/apps/ecpay/v1/"
SAAS_PREFIX = "/api/apps/ecpay/saas/"
BILL_PATHS = {"/api/apps/bill": "bill", "/api/apps/bills": "bills", "/api/apps/fund/bills": "fund_bills"}
ORDER_SYNC_PATHS = {"/api/apps/v2/token": "token", "/api/apps/order/v2/push": "order_push"}
MAX_BODY = 1 << 20

_BAD_GATEWAY_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


class SimHTTPServer(ClosingHTTPServer):
    """The simulator's server: closed with nothing left running (local/closing_server.py)."""

    def __init__(self, port: int, sim: DouyinSimulator) -> None:
        self.sim = sim
        self.stopping = threading.Event()
        super().__init__(port, _Handler)

    def connections_shut(self) -> None:
        # Only now wake the handlers held by the "timeout" fault: woken before their connection
        # was shut down, one could still write its whole answer, and a stop would answer late.
        self.stopping.set()


class _Handler(BaseHTTPRequestHandler):
    server: SimHTTPServer
    protocol_version = "HTTP/1.0"  # one request per connection: nothing idles in keep-alive
    timeout = 10  # a client that sends nothing cannot hold a thread for long
    server_version = "douyin-sim/1.0"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    # ------------------------------------------------------------------ plumbing

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, obj: Any) -> None:
        body = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=_jsonable).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8")

    def _send_text(self, status: int, text: str) -> None:
        self._send(status, text.encode("utf-8"), "text/plain; charset=utf-8")

    def _read_body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._send_text(413, "request body too large\n")
            return None
        return self.rfile.read(length) if length else b""

    def _dispatch(self, method: str) -> None:
        path = urlsplit(self.path).path
        try:
            if path.startswith("/_sim/"):
                self._control(method, path)
                return
            route = self._route(path)
            if route is None:
                self._send_text(404, "404 page not found\n")
            elif method != route[1]:
                self._send_text(405, "405 method not allowed\n")
            else:
                route[2](route[0])
        except OSError:
            pass  # the client went away, or stop() shut the connection down

    def _route(self, path: str) -> tuple[str, str, Callable[[str], None]] | None:
        """(endpoint, the method it takes, its handler) for a platform path; None if unknown."""
        for prefix, names in ((ECPAY_PREFIX, ECPAY_ENDPOINTS), (SAAS_PREFIX, SAAS_ENDPOINTS)):
            if path.startswith(prefix):
                name = path[len(prefix) :]
                return (name, "POST", self._endpoint) if name in names else None
        if path in ORDER_SYNC_PATHS:
            return ORDER_SYNC_PATHS[path], "POST", self._endpoint
        if path in BILL_PATHS:
            return BILL_PATHS[path], "GET", self._bill
        return None

    # ------------------------------------------------------------------ ecpay and order sync

    def _endpoint(self, endpoint: str) -> None:
        raw = self._read_body()
        if raw is None:
            return
        sim = self.server.sim
        ecpay = endpoint in ECPAY_ENDPOINTS or endpoint in SAAS_ENDPOINTS
        mode = sim.faults.take(endpoint)
        if self._answered_by_fault(endpoint, mode):
            return
        if not sim.limiter.allow(endpoint):
            # §7.1: exceeding the QPS limit answers err_no 1001. The order-sync endpoints have no
            # documented limit (none unless set); over one set by hand they answer their only
            # retryable code, -1 [I].
            if ecpay:
                self._send_json(200, {"err_no": 1001, "err_tips": "请求过于频繁 rate limit exceeded, retry"})
            else:
                self._send_json(200, system_error(endpoint, "rate limit exceeded, retry"))
            return
        if mode == "timeout":
            self.server.stopping.wait(sim.config.fault_timeout_seconds)
        handler = sim.api if ecpay else sim.order_sync
        answer = handler.handle(endpoint, raw, self.headers.get("Content-Type"))
        if mode == "accept_then_500":
            self._send_text(500, "Internal Server Error\n")
            return
        self._send_json(200, answer)

    def _bill(self, endpoint: str) -> None:
        """A bill GET: fault injection and the rate limiter as for the POST endpoints, then bills.py."""
        sim = self.server.sim
        mode = sim.faults.take(endpoint)
        if mode == "err_-1":  # the bill's "system error" (§4), in ecpay's envelope
            self._send_json(200, {"err_no": -1, "err_tips": "系统错误 system error, retry"})
            return
        if self._answered_by_fault(endpoint, mode):
            return
        if not sim.limiter.allow(endpoint):
            # No limit is documented; over one set by hand: the bill's only retryable code, -1 [I].
            self._send_json(200, {"err_no": -1, "err_tips": "rate limit exceeded, retry"})
            return
        if mode == "timeout":
            self.server.stopping.wait(sim.config.fault_timeout_seconds)
        status, body, content_type = sim.bills.handle(endpoint, urlsplit(self.path).query)
        if mode == "accept_then_500":
            self._send_text(500, "Internal Server Error\n")
            return
        self._send(status, body, content_type)

    def _answered_by_fault(self, endpoint: str, mode: str | None) -> bool:
        """Answer for a fault that never reaches the platform's logic; False if there is none."""
        if mode == "err_-1":
            self._send_json(200, system_error(endpoint))
        elif mode == "err_1000":
            self._send_json(200, {"err_no": 1000, "err_tips": "系统错误 internal error, retry"})
        elif mode == "err_1001":
            self._send_json(200, {"err_no": 1001, "err_tips": "系统繁忙 busy, retry later"})
        elif mode == "err_2010":
            self._send_json(200, {"err_no": 2010, "err_tips": "参数错误 invalid parameter"})
        elif mode == "http_500":
            self._send_text(500, "Internal Server Error\n")
        elif mode == "http_503":
            self._send(503, b"Service Unavailable\n", "text/plain; charset=utf-8", {"Retry-After": "1"})
        elif mode == "garbage":
            # Claims JSON but is not: the client must not trust the header.
            self._send(200, b"\x00<<garbage>> err_no=0 {", "application/json")
        elif mode == "html":
            self._send(502, _BAD_GATEWAY_PAGE.encode(), "text/html")
        else:
            return False
        return True

    # ------------------------------------------------------------------ control

    def _control(self, method: str, path: str) -> None:
        parts = [unquote(p) for p in path.split("/")[2:]]
        if method == "GET":
            self._control_get(parts)
            return
        if method != "POST":
            self._send_json(405, {"error": "control routes take GET or POST"})
            return
        raw = self._read_body()
        if raw is None:
            return
        try:
            args = json.loads(raw) if raw.strip() else {}
            if not isinstance(args, dict):
                raise ValueError("the body must be a JSON object")
            self._send_json(200, self._control_post(parts, args))
        except ControlError as exc:
            self._send_json(exc.status, {"error": exc.message})
        except LookupError:
            self._send_json(404, {"error": "no such control route"})
        except (ValueError, TypeError) as exc:
            self._send_json(400, {"error": str(exc)})

    def _control_get(self, parts: list[str]) -> None:
        sim = self.server.sim
        if parts == ["state"]:
            self._send_json(200, sim.state())
        elif parts == ["deliveries"]:
            self._send_json(200, [dataclasses.asdict(d) for d in sim.deliveries()])
        elif parts == ["health"]:
            self._send_json(200, {"ok": True, "now": sim.clock.now()})
        elif len(parts) == 3 and parts[0] == "orders" and parts[2] == "sync":
            record = sim.order_sync.record(parts[1])
            if record is None:
                self._send_json(404, {"error": f"order {parts[1]} was never pushed"})
            else:
                self._send_json(200, record)
        else:
            self._send_json(404, {"error": "no such control route"})

    def _control_post(self, parts: list[str], args: dict[str, Any]) -> Any:
        sim = self.server.sim
        match parts:
            case ["orders", no, "pay"]:
                return sim.pay(
                    no,
                    way=args.get("way", 10),
                    commission=args.get("commission", 0),
                    commission_delay=args.get("commission_delay"),
                )
            case ["orders", no, "cancel"]:
                return sim.cancel(no)
            case ["refunds", no, "complete"]:
                return sim.complete_refund(no, args.get("status", "SUCCESS"))
            case ["settlements", no, "complete"]:
                return sim.complete_settlement(no, args.get("status", "SUCCESS"))
            case ["clock", "advance"]:
                seconds = args.get("seconds")
                if type(seconds) not in (int, float):
                    raise ValueError("seconds must be a number")
                return {"now": sim.advance(seconds)}
            case ["config"]:
                return sim.configure(**args)
            case ["faults"]:
                sim.inject_fault(str(args.get("endpoint")), str(args.get("mode")), args.get("count", 1))
                return {"armed": sim.faults.pending()}
        raise LookupError(parts)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
