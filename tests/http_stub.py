"""A scripted HTTP server on loopback, to test the client at the HTTP level.

Each request is recorded with its raw body; answers are taken from a queue (status, body, delay),
falling back to a default. Real sockets mean real timeouts and connection errors.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: bytes = b'{"err_no":0,"err_tips":""}'
    content_type: str = "application/json"
    delay: float = 0.0

    @classmethod
    def json(cls, payload: dict, status: int = 200, delay: float = 0.0) -> Answer:
        return cls(status, json.dumps(payload, ensure_ascii=False).encode(), delay=delay)


@dataclass
class HttpStub:
    requests: list[Recorded] = field(default_factory=list)
    answers: deque[Answer] = field(default_factory=deque)
    default: Answer = field(default_factory=Answer)
    base_url: str = ""

    def queue(self, *answers: Answer) -> None:
        self.answers.extend(answers)

    def _next(self) -> Answer:
        return self.answers.popleft() if self.answers else self.default


class _Handler(BaseHTTPRequestHandler):
    stub: HttpStub

    def do_POST(self) -> None:
        self._answer("POST")

    def do_GET(self) -> None:
        self._answer("GET")

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.stub.requests.append(Recorded(method, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        answer = self.stub._next()
        if answer.delay:
            time.sleep(answer.delay)
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests)

    def log_message(self, format: str, *args: object) -> None:
        pass


class running_stub:
    def __enter__(self) -> HttpStub:
        self.stub = HttpStub()
        handler = type("Handler", (_Handler,), {"stub": self.stub})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()
        self.stub.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self.stub

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
