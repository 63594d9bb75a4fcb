"""The SigV4 examples (examples/sigv4/: Python, Node.js, Java, Go) sign exactly as botocore does.

Each example runs in --dry-run mode with fixed keys and a fixed time (SIGV4_FIXED_TIME) and prints
the URL and headers it would send; the expected headers come from botocore's SigV4Auth, its clock
frozen at the same instant, over the request as written out by hand here (the wire path, the query
as parameters, the body's bytes). A second test lets each example really send to a loopback server
that checks the signature of what arrived, the way API Gateway does: from the received path, query,
headers and body.

A missing toolchain fails these tests: `make test` installs Node.js, the JDK and Go first.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from unittest import mock
from urllib.parse import unquote, urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "sigv4"
COMMANDS = {
    "python": [sys.executable, "python/call_api.py"],
    "node": ["node", "node/call_api.mjs"],
    "java": ["java", "java/CallApi.java"],
    "go": ["go", "run", "go/call_api.go"],
}
TOOLS = {"python": [], "node": ["node"], "java": ["java", "javac"], "go": ["go"]}
AMZ_DATE = "20260101T000000Z"
KEYS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE/token+with=base64//chars"
API = "https://abc123example.execute-api.ap-northeast-1.amazonaws.com"
ORDER = {"out_order_no": "T-0001", "total_amount": 12800, "subject": "拿铁咖啡", "body": "拿铁 大杯 ×1"}


def run_example(language: str, args: list[str], env: dict[str, str], timeout: float = 120) -> str:
    """Run one example; its stdout. Fails (never skips) when the language's toolchain is missing."""
    missing = [tool for tool in TOOLS[language] if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: `make test` installs the examples' toolchains")
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "SIGV4_FIXED_TIME"}
    base["LC_ALL"] = "C.UTF-8"  # Java decodes its arguments with the locale's charset
    done = subprocess.run(
        [*COMMANDS[language], *args],
        cwd=EXAMPLES,
        env={**base, **env},
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout.decode()


def botocore_headers(
    method: str,
    url: str,
    params: list[tuple[str, str]],
    body: bytes | None,
    *,
    region: str,
    token: str | None,
    amz_date: str = AMZ_DATE,
    headers: dict[str, str] | None = None,
) -> dict[str, str]:
    """The headers botocore's SigV4Auth adds, lowercased, its clock frozen at amz_date."""
    request = AWSRequest(method=method, url=url, params=params, data=body, headers=headers or {})
    if body is not None and headers is None:
        request.headers["Content-Type"] = "application/json"
    credentials = Credentials(KEYS["AWS_ACCESS_KEY_ID"], KEYS["AWS_SECRET_ACCESS_KEY"], token)
    frozen = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
    with mock.patch("botocore.auth.get_current_datetime", return_value=frozen):
        SigV4Auth(credentials, "execute-api", region).add_auth(request)
    return {name.lower(): value for name, value in request.headers.items()}


# (argument, body, API_URL, region, token) -> (the URL on the wire, its path, the query as parameters)
CASES = {
    "post-chinese-json": (
        ("/payments", json.dumps(ORDER, ensure_ascii=False), API, "ap-northeast-1", TOKEN),
        (f"{API}/payments", "/payments", []),
    ),
    "get-refresh": (
        ("/payments/T-0001?refresh=true", None, API, "ap-northeast-1", None),
        (f"{API}/payments/T-0001?refresh=true", "/payments/T-0001", [("refresh", "true")]),
    ),
    # "*", a space, Chinese and an encoded "/" in the path; a stage prefix and a port in API_URL;
    # a query out of order, with a repeated key, a space and a stray "%".
    "reserved-characters": (
        ("/refunds/R*1 退/x%2Fy?refresh=true&b=a b&a=2&a=%zz", None, "http://127.0.0.1:8080/prod/", "cn-north-1", None),
        (
            "http://127.0.0.1:8080/prod/refunds/R%2A1%20%E9%80%80/x%2Fy?a=%25zz&a=2&b=a%20b&refresh=true",
            "/prod/refunds/R%2A1%20%E9%80%80/x%2Fy",
            [("refresh", "true"), ("b", "a b"), ("a", "2"), ("a", "%zz")],
        ),
    ),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("language", COMMANDS)
def test_dry_run_signs_as_botocore(language: str, case: str) -> None:
    (argument, body, api_url, region, token), (wire_url, wire_path, params) = CASES[case]
    method = "POST" if body is not None else "GET"
    env = {**KEYS, "API_URL": api_url, "AWS_REGION": region, "SIGV4_FIXED_TIME": AMZ_DATE}
    if token:
        env["AWS_SESSION_TOKEN"] = token
    args = ["--dry-run", method, argument] + ([body] if body is not None else [])

    printed = json.loads(run_example(language, args, env))

    parts = urlsplit(wire_url)
    expected = botocore_headers(
        method,
        f"{parts.scheme}://{parts.netloc}{wire_path}",
        params,
        body.encode() if body is not None else None,
        region=region,
        token=token,
    )
    assert printed["url"] == wire_url
    assert printed["headers"] == {"host": parts.netloc, **expected}
    assert printed["headers"]["x-amz-date"] == AMZ_DATE
    signed = "content-type;host;x-amz-date" if body is not None else "host;x-amz-date"
    assert f"SignedHeaders={signed}{';x-amz-security-token' if token else ''}," in printed["headers"]["authorization"]


class _Verifier(BaseHTTPRequestHandler):
    """Answers 200 with what it received; the test checks the signature from that alone."""

    protocol_version = "HTTP/1.1"
    received: list[dict]

    def _serve(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append({"method": self.command, "target": self.path, "headers": dict(self.headers), "body": body})
        data = json.dumps({"ok": True, "echo": body.decode()}, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _serve

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def verifier():
    received: list[dict] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Verifier", (_Verifier,), {"received": received}))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.mark.parametrize("language", COMMANDS)
def test_what_arrives_is_what_was_signed(language: str, verifier) -> None:
    """The way API Gateway checks it: recompute the signature from the received request alone."""
    url, received = verifier
    body = json.dumps({**ORDER, "out_order_no": "T*0002"}, ensure_ascii=False)
    env = {**KEYS, "API_URL": url, "AWS_REGION": "ap-northeast-1", "AWS_SESSION_TOKEN": TOKEN}

    out = run_example(language, ["POST", "/payments/T*0002 退/refunds?b=1 2&a=x", body], env)

    status, answer = out.split("\n", 1)
    assert status == "200"
    assert json.loads(answer)["echo"] == body
    [request] = received
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert request["body"] == body.encode()
    authorization = headers["authorization"]
    signed_names = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    assert {"host", "x-amz-date", "x-amz-security-token", "content-type"} <= set(signed_names)
    path, _, query = request["target"].partition("?")
    params = [(unquote(k), unquote(v)) for k, _, v in (pair.partition("=") for pair in query.split("&"))]
    expected = botocore_headers(
        request["method"],
        f"http://{headers['host']}{path}",
        params,
        request["body"],
        region="ap-northeast-1",
        token=headers["x-amz-security-token"],
        amz_date=headers["x-amz-date"],
        headers={name: headers[name] for name in signed_names},
    )
    assert authorization == expected["authorization"]
