"""The platform calls each simulator received, recorded for the console's timeline.

Neither simulator keeps a log of the API calls it answers (only of the callbacks it sends), so the
console records them itself: :func:`record_calls` swaps the simulator's HTTP request-handler class
for a subclass that copies what went over the wire — the request line, the request body and the
answer — through the standard ``BaseHTTPRequestHandler`` hooks (``setup`` / ``finish``), without
changing how the simulator answers. The control routes (``/_sim/...``) are the console's and the
tests' own requests, not platform calls, and are left out.

Credentials never reach the page: values under keys that name a secret or a token (the token
endpoints' ``secret`` / ``client_secret`` in, ``access_token`` out, order sync's ``access_token``)
are masked before a call is stored.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

KEEP = 500  # calls kept per simulator (the page shows the latest)
CAPTURE = 16 * 1024  # bytes of each request / answer captured (the platform's bodies are small)
SHOWN = 400  # characters of a body shown on the page
MASK = "•••"
_SECRET_KEY = re.compile(r"secret|token|password|private", re.IGNORECASE)
# The business number a call is about, in the order they are looked for (ecpay-spec §3, trade-spec §4;
# the bill GETs name none).
REF_KEYS = ("out_refund_no", "out_settle_no", "out_order_no", "cp_orderno", "order_id", "refund_id", "settle_id")


@dataclass(frozen=True)
class PlatformCall:
    protocol: str  # "ecpay" | "trade"
    sim_time: float
    method: str
    path: str
    ref: str
    http_status: int | None
    request: str  # masked, shortened
    answer: str  # masked, shortened
    err_no: int | None  # the envelope's err_no / err_code when the answer has one


def mask(value: Any) -> Any:
    """``value`` with every credential-looking entry replaced by :data:`MASK`."""
    if isinstance(value, dict):
        return {k: MASK if _SECRET_KEY.search(str(k)) and v not in (None, "") else mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value


def _parse(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _shown(parsed: Any, raw: bytes) -> str:
    if parsed is not None:
        text = json.dumps(mask(parsed), ensure_ascii=False, separators=(",", ":"))
    else:
        text = raw.decode("utf-8", "replace")
    return text if len(text) <= SHOWN else text[:SHOWN] + "…"


def _ref(*sources: Any) -> str:
    for source in sources:
        if isinstance(source, dict):
            for key in REF_KEYS:
                if isinstance(source.get(key), str) and source[key]:
                    return source[key]
            # Order sync pushes the order as JSON text under order_detail (its order_id is ours).
            detail = _parse(source["order_detail"].encode()) if isinstance(source.get("order_detail"), str) else None
            nested = [
                source.get("data"),
                {"out_order_no": detail.get("order_id")} if isinstance(detail, dict) else None,
            ]
            found = _ref(*nested)
            if found:
                return found
    return ""


def _err_no(answer: Any) -> int | None:
    if not isinstance(answer, dict):
        return None
    for key in ("err_no", "err_code"):
        if type(answer.get(key)) is int:
            return answer[key]
    return None


def _split(captured: bytes) -> tuple[bytes, bytes]:
    head, _, body = captured.partition(b"\r\n\r\n")
    return head, body


def _status(head: bytes) -> int | None:
    parts = head.split(b"\r\n", 1)[0].split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


class _Capture:
    """A file wrapper that keeps the first :data:`CAPTURE` bytes read from or written to it."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.data = bytearray()

    def _keep(self, chunk: bytes) -> bytes:
        if len(self.data) < CAPTURE:
            self.data += chunk[: CAPTURE - len(self.data)]
        return chunk

    def read(self, *args: Any) -> bytes:
        return self._keep(self._stream.read(*args))

    def readline(self, *args: Any) -> bytes:
        return self._keep(self._stream.readline(*args))

    def write(self, chunk: bytes) -> int:
        self._keep(bytes(chunk))
        return self._stream.write(chunk)

    def __getattr__(self, name: str) -> Any:  # flush, close, closed, ...
        return getattr(self._stream, name)


class CallLog:
    """The calls one simulator received, newest last; thread-safe."""

    def __init__(self, protocol: str, now: Any) -> None:
        self.protocol = protocol
        self._now = now
        self._lock = threading.Lock()
        self._calls: deque[PlatformCall] = deque(maxlen=KEEP)

    def add(self, started: float, method: str, path: str, request: bytes, answer: bytes) -> None:
        head, body = _split(answer)
        split = urlsplit(path)
        parsed_request = _parse(request) if request else dict(parse_qsl(split.query))
        parsed_answer = _parse(body)
        call = PlatformCall(
            protocol=self.protocol,
            sim_time=started,
            method=method,
            path=split.path,
            ref=_ref(parsed_request, parsed_answer),
            http_status=_status(head),
            request=_shown(parsed_request, request) if request or split.query else "",
            answer=_shown(parsed_answer, body),
            err_no=_err_no(parsed_answer),
        )
        with self._lock:
            self._calls.append(call)

    def calls(self) -> list[PlatformCall]:
        with self._lock:
            return list(self._calls)

    def now(self) -> float:
        return float(self._now())


def record_calls(server: Any, log: CallLog) -> None:
    """Make ``server`` (a simulator's ``ThreadingHTTPServer``) copy every platform call into ``log``.

    The server builds a handler per request from ``RequestHandlerClass``, so swapping the class
    takes effect with the next request and leaves the simulator's own code untouched."""
    base = server.RequestHandlerClass
    if getattr(base, "console_log", None) is not None:
        return  # already recording

    class Recording(base):  # type: ignore[misc, valid-type]
        console_log = log

        def setup(self) -> None:
            super().setup()
            self._started = log.now()
            self.rfile = self._in = _Capture(self.rfile)  # type: ignore[assignment]
            self.wfile = self._out = _Capture(self.wfile)  # type: ignore[assignment]

        def finish(self) -> None:
            try:
                super().finish()
            finally:
                path = getattr(self, "path", "")
                if path and not urlsplit(path).path.startswith("/_sim/"):
                    _, request = _split(bytes(self._in.data))
                    log.add(self._started, getattr(self, "command", ""), path, request, bytes(self._out.data))

    server.RequestHandlerClass = Recording
