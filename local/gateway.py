"""HTTP front doors of the local stack, on loopback only.

* the **API gateway** matches requests against the ``HttpApi`` routes declared in ``template.yaml``
  and delivers an API Gateway HTTP API (payload 2.0) event to the function that owns the route;
* the **Function URL** delivers every request to the callback function as a Function URL event.

Both answer with what the handler returned (status, headers, cookies, base64 bodies). SigV4 is
not checked locally: the IAM authorizer context is filled in for a fixed local caller, as API
Gateway would after a successful check.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .aws_resources import load_template
from .events import function_url_event, http_api_v2_event, iam_caller
from .functions import Functions

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # e.g. /payments/{out_order_no}/refunds
    function: str  # logical id
    pattern: re.Pattern[str]

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.template}"


def api_routes() -> list[Route]:
    """The HttpApi routes of every function in template.yaml."""
    routes = []
    for logical_id, res in load_template()["Resources"].items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        for event in (res["Properties"].get("Events") or {}).values():
            if event.get("Type") != "HttpApi":
                continue
            template = event["Properties"]["Path"]
            regex = "^" + re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
            routes.append(Route(event["Properties"]["Method"].upper(), template, logical_id, re.compile(regex)))
    return routes


def _closing(handler: BaseHTTPRequestHandler) -> dict[str, str]:
    """``connection: close`` on an answer to a request that asked for it (the simulators' deliveries
    do, as the platform opens a connection per callback). Without it the client's pool keeps the
    connection for its next request, which then races the server's close and, under load, loses:
    the next delivery fails with RemoteDisconnected and is counted as a callback we did not answer."""
    return {"connection": "close"} if handler.close_connection else {}


def _write(handler: BaseHTTPRequestHandler, result: Any) -> None:
    """Turn a Lambda proxy answer (payload 2.0) into the HTTP response."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # Payload 2.0: a non-proxy answer is JSON-encoded with status 200.
        result = {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(result)}
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    handler.send_response(int(result["statusCode"]))
    headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = ",".join(str(v) for v in values)
    headers["content-length"] = str(len(data))
    headers |= _closing(handler)
    for name, value in headers.items():
        handler.send_header(name, value)
    for cookie in result.get("cookies") or []:
        handler.send_header("set-cookie", cookie)
    handler.end_headers()
    handler.wfile.write(data)


class _Base(BaseHTTPRequestHandler):
    functions: Functions
    protocol_version = "HTTP/1.1"

    def _request(self) -> tuple[str, str, list[tuple[str, str]], bytes | None]:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        parts = urlsplit(self.path)
        return parts.path, parts.query, list(self.headers.items()), body

    def _fail(self, status: int, message: str) -> None:
        body = json.dumps({"message": message})
        _write(self, {"statusCode": status, "headers": {"content-type": "application/json"}, "body": body})

    def log_message(self, format: str, *args: object) -> None:  # quiet: the stack prints its own timeline
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    _serve: Any  # each front door defines how it serves a method


class _ApiHandler(_Base):
    routes: list[Route]

    def _serve(self, method: str) -> None:
        path, query, headers, body = self._request()
        for route in self.routes:
            match = route.pattern.match(path)
            if match and route.method == method:
                event = http_api_v2_event(
                    method,
                    path,
                    route_key=route.route_key,
                    path_parameters=match.groupdict(),
                    query=query,
                    headers=headers,
                    body=body,
                    iam_caller=iam_caller(),
                )
                try:
                    result = self.functions.invoke(route.function, event)
                except Exception:  # noqa: BLE001 - a crashed handler is a 500 from API Gateway too
                    self._fail(500, "Internal Server Error")
                    return
                _write(self, result)
                return
        self._fail(404, "Not Found")


class _FunctionUrlHandler(_Base):
    function: str

    def _serve(self, method: str) -> None:
        path, query, headers, body = self._request()
        event = function_url_event(method, path, query=query, headers=headers, body=body)
        try:
            result = self.functions.invoke(self.function, event)
        except Exception:  # noqa: BLE001 - Lambda answers 502 when the function errors
            self._fail(502, "Internal Server Error")
            return
        _write(self, result)


class _TrackingServer(ThreadingHTTPServer):
    """Remembers open connections so that stopping also ends keep-alive connections a client
    left open (their handler threads would otherwise wait for a next request forever)."""

    daemon_threads = True

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self.sockets_lock:
            sockets = list(self.open_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):  # already closed by the client
                sock.shutdown(socket.SHUT_RDWR)


class HttpFront:
    """One loopback HTTP server in a thread."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        self.server = _TrackingServer((LOOPBACK, port), handler)  # port 0: any free port
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.server.server_address[1]}"

    def start(self) -> HttpFront:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.close_connections()
        self.server.server_close()
        self.thread.join(timeout=5)


def api_gateway(functions: Functions, port: int = 0) -> HttpFront:
    handler = type("ApiHandler", (_ApiHandler,), {"functions": functions, "routes": api_routes()})
    return HttpFront(handler, port)


def function_url(functions: Functions, logical_id: str = "CallbackFunction", port: int = 0) -> HttpFront:
    handler = type("FunctionUrlHandler", (_FunctionUrlHandler,), {"functions": functions, "function": logical_id})
    return HttpFront(handler, port)
