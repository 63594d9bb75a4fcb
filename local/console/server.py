"""The console's HTTP server: one page, its script and style, and the JSON endpoints it calls.

Loopback only, and guarded against other web pages the developer has open:

* it listens on 127.0.0.1 and answers only requests whose Host is ``127.0.0.1:<port>`` or
  ``localhost:<port>`` — a rebound DNS name pointing at loopback (DNS rebinding) carries its own
  Host and is refused;
* a POST must say ``Content-Type: application/json``: a cross-site HTML form can only send
  form-encoded, multipart or text/plain bodies without a CORS preflight, and the console answers no
  preflight (no CORS headers at all), so another site cannot drive it;
* every call to the simulators, the API and the table is made here, server-side.

Routes:
  GET  /  /console.js  /console.css
  GET  /api/objects                  orders, refunds, settlements (the API's view of each)
  GET  /api/timeline                 platform calls and callback deliveries, newest first
  GET  /api/switches                 both simulators' fault switches
  GET  /api/stack                    the stack's protocol and URLs, and a create-order template
  POST /api/orders                   a create-payment body, sent to the API's POST /payments
  POST /api/orders/{no}/pay          {"channel": 10}
  POST /api/orders/{no}/cancel       {}
  POST /api/orders/{no}/expire       {}
  POST /api/clock/advance            {"seconds": 60}
  POST /api/switches                 {"protocol": "ecpay"|"trade", "drop": [...], "delays": {...},
                                      "duplicates": 0, "rate_limits": {...}}
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from ..closing_server import ClosingHTTPServer
from .actions import ActionError, Actions
from .calls import CallLog, record_calls
from .objects import objects, scan
from .timeline import Source, Timeline

if TYPE_CHECKING:
    from local.stack import LocalStack

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/console.js": ("console.js", "text/javascript; charset=utf-8"),
    "/console.css": ("console.css", "text/css; charset=utf-8"),
}
MAX_BODY = 64 * 1024
# The page loads only its own script and style and talks only to its own origin.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Console:
    """The console of one running :class:`LocalStack`. ``start()`` / ``stop()``, or a context manager."""

    def __init__(self, stack: LocalStack, port: int = 0) -> None:
        self.stack = stack
        self.actions = Actions(stack)
        self.ecpay_calls = CallLog("ecpay", stack.sim.clock.now)
        self.trade_calls = CallLog("trade", stack.sim.clock.now)
        self.timeline = Timeline(
            [
                Source("ecpay", stack.sim.deliveries, stack.sim.notifier.status, self.ecpay_calls, stack.sim.clock.now),
                Source(
                    "trade",
                    stack.trade_sim.deliveries,
                    stack.trade_sim.notifier.status,
                    self.trade_calls,
                    stack.sim.clock.now,
                ),
            ]
        )
        self._port = port
        self._server: _ConsoleServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Console:
        # The simulators keep no log of the calls they answer; the console records them (calls.py).
        # Their HTTP servers are private attributes: this hook is local tooling reaching into local tooling.
        record_calls(self.stack.sim._server, self.ecpay_calls)
        record_calls(self.stack.trade_sim._server, self.trade_calls)
        self._server = _ConsoleServer(self._port, self)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="console", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self.actions.close()

    def __enter__(self) -> Console:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    # -- what the endpoints answer --------------------------------------------------------------

    def objects(self) -> dict[str, Any]:
        stack = self.stack
        now = int(stack.sim.clock.now())
        items = scan(stack._client("dynamodb"), stack.resources.table_name)
        return {"now": now, "protocol": stack.config.protocol, **objects(items, now)}

    def get(self, path: str) -> Any:
        if path == "/api/objects":
            return self.objects()
        if path == "/api/timeline":
            return {"now": self.stack.sim.clock.now(), "rows": self.timeline.rows()}
        if path == "/api/switches":
            return self.actions.switches()
        if path == "/api/stack":
            return self.actions.stack_info()
        raise ActionError(404, "no such route")

    def post(self, path: str, args: dict[str, Any]) -> tuple[int, Any]:
        if not path.startswith("/api/"):
            raise ActionError(404, "no such route")
        parts = [unquote(p) for p in path.split("/")[2:]]
        match parts:
            case ["orders"]:
                return self.actions.create_order(args)
            case ["orders", no, "pay"]:
                return 200, self.actions.pay(no, args.get("channel"))
            case ["orders", no, "cancel"]:
                return 200, self.actions.cancel(no)
            case ["orders", no, "expire"]:
                return 200, self.actions.expire(no)
            case ["clock", "advance"]:
                return 200, self.actions.advance(args.get("seconds"))
            case ["switches"]:
                changes = {k: v for k, v in args.items() if k != "protocol"}
                return 200, self.actions.configure(args.get("protocol"), changes)
        raise ActionError(404, "no such route")


class _ConsoleServer(ClosingHTTPServer):
    def __init__(self, port: int, console: Console) -> None:
        self.console = console
        super().__init__(port, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _ConsoleServer
    protocol_version = "HTTP/1.0"  # one request per connection: nothing idles in keep-alive
    timeout = 10
    server_version = "douyin-pay-console/1.0"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, obj: Any) -> None:
        body = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8")

    def _host_allowed(self) -> bool:
        port = self.server.server_address[1]
        return self.headers.get("Host", "") in (f"127.0.0.1:{port}", f"localhost:{port}")

    def do_GET(self) -> None:
        if not self._host_allowed():
            self._json(403, {"error": "this console answers only Host 127.0.0.1 or localhost with its port"})
            return
        path = urlsplit(self.path).path
        if path == "/favicon.ico":  # browsers ask; there is none
            self._send(204, b"", "image/x-icon")
            return
        if path in FILES:
            name, content_type = FILES[path]
            self._send(200, (STATIC / name).read_bytes(), content_type)
            return
        self._answer(lambda: (200, self.server.console.get(path)))

    def do_POST(self) -> None:
        if not self._host_allowed():
            self._json(403, {"error": "this console answers only Host 127.0.0.1 or localhost with its port"})
            return
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            self._json(415, {"error": "POST bodies must be Content-Type: application/json"})
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._json(413, {"error": "request body too large"})
            return
        try:
            args = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._json(400, {"error": "the body is not JSON"})
            return
        if not isinstance(args, dict):
            self._json(400, {"error": "the body must be a JSON object"})
            return
        path = urlsplit(self.path).path
        self._answer(lambda: self.server.console.post(path, args))

    def _answer(self, call: Any) -> None:
        try:
            status, obj = call()
        except ActionError as exc:
            self._json(exc.status, {"error": exc.message})
            return
        except Exception:  # a console bug answers 500 and is logged, not lost with the thread
            log.exception("console request failed")
            self._json(500, {"error": "the console failed; see the stack's log"})
            return
        self._json(status, obj)

    def do_PUT(self) -> None:
        self._json(405, {"error": "GET or POST"})

    do_DELETE = do_PATCH = do_OPTIONS = do_PUT
