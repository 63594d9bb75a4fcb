"""Call the HTTP API with a SigV4-signed request: Python, botocore's SigV4Auth, urllib to send.

    API_URL=https://abc123.execute-api.ap-northeast-1.amazonaws.com AWS_REGION=ap-northeast-1 \\
    AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... [AWS_SESSION_TOKEN=...] \\
    python call_api.py POST /payments '{"out_order_no": "A1", "total_amount": 100, "subject": "s", "body": "b"}'

The caller's role needs execute-api:Invoke on the routes it calls (README, "Call the API from your
backend"). In real use take the keys from the default chain (``boto3.Session().get_credentials()``;
for a backend outside AWS, IAM Roles Anywhere's credential_process), not long-lived keys in the
environment. The path is written as in a URL; a literal "+" is a plus sign (write a space as %20).
--dry-run prints the URL and headers instead of sending; SIGV4_FIXED_TIME=20260101T000000Z signs as
of that instant (both for tests).
"""

import datetime
import json
import os
import sys
import urllib.error
import urllib.request
from urllib.parse import quote, unquote_to_bytes, urlsplit

import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def wire_url(api_url: str, path_and_query: str) -> str:
    """The URL exactly as it goes on the wire: each path segment and query key/value encoded the
    RFC 3986 way (everything but A-Z a-z 0-9 - _ . ~), the query sorted (SigV4's canonical order)."""
    base = urlsplit(api_url)
    default_port = {"http": 80, "https": 443}[base.scheme]
    host = base.hostname if base.port in (None, default_port) else f"{base.hostname}:{base.port}"
    path, _, query = path_and_query.partition("?")
    segments = (base.path.rstrip("/") + path).split("/")
    wire_path = "/".join(quote(unquote_to_bytes(s), safe="") for s in segments) or "/"
    pairs = sorted(
        (quote(unquote_to_bytes(k), safe=""), quote(unquote_to_bytes(v), safe=""))
        for k, _, v in (pair.partition("=") for pair in query.split("&") if pair)
    )
    search = "&".join(f"{k}={v}" for k, v in pairs)
    return f"{base.scheme}://{host}{wire_path}" + (f"?{search}" if search else "")


def signed_request(method: str, url: str, body: bytes | None) -> AWSRequest:
    env = os.environ
    credentials = Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env.get("AWS_SESSION_TOKEN"))
    headers = {"Content-Type": "application/json"} if body is not None else {}
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    # botocore encodes the path once more, as API Gateway does: "%2A" on the wire is "%252A" signed.
    SigV4Auth(credentials, "execute-api", env["AWS_REGION"]).add_auth(request)
    return request


def main(argv: list[str]) -> int:
    dry_run = "--dry-run" in argv
    args = [a for a in argv if a != "--dry-run"]
    if len(args) not in (2, 3):
        print("usage: call_api.py [--dry-run] METHOD /path[?query] [JSON body]", file=sys.stderr)
        return 2
    required = ("API_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    if missing := [name for name in required if not os.environ.get(name)]:
        print(f"set {', '.join(missing)}", file=sys.stderr)
        return 2
    method, path_and_query = args[0].upper(), args[1]
    body = os.fsencode(args[2]) if len(args) == 3 else None  # the argument's bytes, signed and sent as they are
    if fixed := os.environ.get("SIGV4_FIXED_TIME"):
        instant = datetime.datetime.strptime(fixed, "%Y%m%dT%H%M%SZ")
        botocore.auth.get_current_datetime = lambda: instant
    url = wire_url(os.environ["API_URL"], path_and_query)
    request = signed_request(method, url, body)
    headers = {"host": urlsplit(url).netloc, **{k.lower(): v for k, v in request.headers.items()}}
    if dry_run:
        print(json.dumps({"url": url, "headers": headers}, ensure_ascii=False))
        return 0
    sent = urllib.request.Request(url, data=body, headers=dict(request.headers), method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(sent, timeout=30) as response:  # noqa: S310 - API_URL is http(s)
            status, data = response.status, response.read()
    except urllib.error.HTTPError as error:  # 4xx / 5xx still have a status and a body to print
        status, data = error.code, error.read()
    print(status)
    print(data.decode("utf-8", "replace"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
