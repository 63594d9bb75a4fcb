"""The HTTP layer: the platform's routes and the ``/_sim/`` control routes, loopback only.

Platform routes (the platform is a Go service: an unknown path is a plain-text "404 page not
found", the trailing slash is part of the path, a wrong method is 405):

  POST /oauth/client_token/
  POST /api/trade_basic/v1/developer/{order_query,query_cps,refund_create,refund_query,
       refund_audit_callback,settle_create,settle_query}/

Each passes through fault injection, then (trade_basic only) the rate limiter, then api.py.

Control routes (JSON in, JSON out; 400 bad input, 404 unknown object, 409 wrong state):

  POST /_sim/client/request_order          {"data", "byteAuthorization", "client_platform"}
  POST /_sim/client/get_order_payment      {"orderId", "outcome": "pay"|"cancel"|"leave", "pay_channel"}
  POST /_sim/orders/{out_order_no}/user_refund {"amount", "need_audit", "reason"}
  POST /_sim/orders/{out_order_no}/cps     {"commission_amount", "commission_rate"}
  POST /_sim/refunds/{out_refund_no}/complete {"status": "SUCCESS"|"FAIL"}
  POST /_sim/settlements/{out_settle_no}/complete {"status": ...}
  POST /_sim/clock/advance                 {"seconds": 60}
  POST /_sim/config                        {switch: value, ...}
  POST /_sim/faults                        {"endpoint": "order_query", "mode": "http_500", "count": 1}
  POST /_sim/keys/platform/rotate          → {"public_key": PEM}
  POST /_sim/keys/app                      {"key_version", "public_key": PEM | null}
  GET  /_sim/state | /_sim/deliveries | /_sim/health | /_sim/keys/platform
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from ..closing_server import ClosingHTTPServer
from .config import ENDPOINTS
from .records import ControlError

if TYPE_CHECKING:
    from .simulator import TradeSimulator

log = logging.getLogger(__name__)

TOKEN_PATH = "/oauth/client_token/"  # noqa: S105 - a path, not a secret
TRADE_PREFIX = "/api/trade_basic/v1/developer/"
MAX_BODY = 1 << 20

_BAD_GATEWAY_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


class TradeHTTPServer(ClosingHTTPServer):
    """The simulator's server: closed with nothing left running (local/closing_server.py)."""

    def __init__(self, port: int, sim: TradeSimulator) -> None:
        self.sim = sim
        self.stopping = threading.Event()
        super().__init__(port, _Handler)

    def connections_shut(self) -> None:
        self.stopping.set()  # wake the handlers held by the "timeout" fault, now that none can answer


def _arg(args: Mapping[str, Any], name: str) -> Any:
    if name not in args:
        raise ValueError(f"{name} is required")
    return args[name]


def _jsonable(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class _Handler(BaseHTTPRequestHandler):
    server: TradeHTTPServer
    protocol_version = "HTTP/1.0"  # one request per connection: nothing idles in keep-alive
    timeout = 10
    server_version = "trade-sim/1.0"
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

    # ------------------------------------------------------------------ plumbing

    def _send(self, status: int, body: bytes, content_type: str, extra: Mapping[str, str] | None = None) -> None:
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
            if path == TOKEN_PATH:
                self._platform_route(method, "client_token")
            elif path.startswith(TRADE_PREFIX):
                name, slash = path[len(TRADE_PREFIX) :], ""
                if name.endswith("/"):
                    name, slash = name[:-1], "/"
                if slash and name in ENDPOINTS:
                    self._platform_route(method, name)
                else:
                    self._send_text(404, "404 page not found\n")
            elif path.startswith("/_sim/"):
                self._control(method, path)
            else:
                self._send_text(404, "404 page not found\n")
        except OSError:
            pass  # the client went away, or stop() shut the connection down

    # ------------------------------------------------------------------ platform routes

    def _platform_route(self, method: str, endpoint: str) -> None:
        if method != "POST":
            self._send_text(405, "405 method not allowed\n")
            return
        raw = self._read_body()
        if raw is None:
            return
        sim = self.server.sim
        mode = sim.faults.take(endpoint)
        if self._answered_by_fault(endpoint, mode):
            return
        if endpoint != "client_token" and not sim.limiter.allow(endpoint):
            self._send_json(200, sim.api.envelope(28003018, "请求频率过高 rate limit exceeded"))
            return
        if mode == "timeout":
            self.server.stopping.wait(sim.config.fault_timeout_seconds)
        if endpoint == "client_token":
            status, answer = 200, sim.api.client_token(raw)
        else:
            status, answer = sim.api.handle(endpoint, raw, self.headers)  # type: ignore[arg-type]
        if mode == "accept_then_500":
            self._send_text(500, "Internal Server Error\n")
            return
        self._send_json(status, answer)

    def _answered_by_fault(self, endpoint: str, mode: str | None) -> bool:
        """Answer for a fault that never reaches the platform's logic; False if there is none."""
        sim = self.server.sim
        if mode == "system_error":
            if endpoint == "client_token":
                self._send_json(200, {"data": {"description": "系统错误", "error_code": 2190002}, "message": "error"})
            else:
                self._send_json(200, sim.api.envelope(28001005, "系统繁忙,此时请开发者稍候再试"))
        elif mode == "http_500":
            self._send_text(500, "Internal Server Error\n")
        elif mode == "http_503":
            self._send(503, b"Service Unavailable\n", "text/plain; charset=utf-8", {"Retry-After": "1"})
        elif mode == "garbage":
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
        elif parts == ["keys", "platform"]:
            self._send_json(200, {"public_key": sim.platform_public_key_pem})
        else:
            self._send_json(404, {"error": "no such control route"})

    def _control_post(self, parts: list[str], args: dict[str, Any]) -> Any:  # noqa: C901 - one case per route
        sim = self.server.sim
        match parts:
            case ["client", "request_order"]:
                platform = args.get("client_platform", "android")
                return sim.request_order(_arg(args, "data"), _arg(args, "byteAuthorization"), platform)
            case ["client", "get_order_payment"]:
                return sim.get_order_payment(_arg(args, "orderId"), args.get("outcome", "pay"), args.get("pay_channel"))
            case ["orders", no, "user_refund"]:
                return sim.user_refund(
                    no,
                    amount=args.get("amount"),
                    need_audit=args.get("need_audit", False),
                    reason=args.get("reason", ""),
                )
            case ["orders", no, "cps"]:
                return sim.set_cps(no, args.get("commission_amount", 0), args.get("commission_rate", 0))
            case ["refunds", no, "complete"]:
                return sim.complete_refund(no, args.get("status", "SUCCESS"))
            case ["settlements", no, "complete"]:
                return sim.complete_settlement(no, args.get("status", "SUCCESS"))
            case ["clock", "advance"]:
                seconds = _arg(args, "seconds")
                if type(seconds) not in (int, float):
                    raise ValueError("seconds must be a number")
                return {"now": sim.advance(seconds)}
            case ["config"]:
                return sim.configure(**args)
            case ["faults"]:
                sim.inject_fault(str(args.get("endpoint")), str(args.get("mode")), args.get("count", 1))
                return {"armed": sim.faults.pending()}
            case ["keys", "platform", "rotate"]:
                return {"public_key": sim.rotate_platform_key(args.get("private_key"))}
            case ["keys", "app"]:
                return sim.upload_app_key(str(_arg(args, "key_version")), args.get("public_key"))
        raise LookupError(parts)
