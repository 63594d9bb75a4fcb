"""One JSON POST and what came back, with every transport failure as a typed error.

Shared by the trade client and the client_token fetch. It reads the body whatever the HTTP status:
the trade system answers some errors with HTTP 400 and an ``err_no`` in the body (§4.1, §9 pitfall
10), and a client that gives up on the status alone loses the error code. What the body means is the
caller's business. Messages name the endpoint only: never a URL query, header or body, which may
carry a token or secret.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from .._http import post


@dataclass(frozen=True)
class Reply:
    """One HTTP answer of the trade system's API."""

    status: int
    payload: Any  # the parsed JSON body, or None when the body is not JSON
    log_id: str | None  # the X-Tt-Logid header, when the body has no log_id of its own


def post_json(
    session: requests.Session,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    timeout: tuple[float, float],
    what: str,
) -> Reply:
    response = post(session, url, body, headers, timeout, what)
    try:
        payload = json.loads(response.content)
    except (ValueError, RecursionError):
        payload = None
    log_id = response.headers.get("X-Tt-Logid")
    return Reply(response.status_code, payload, log_id if isinstance(log_id, str) and log_id else None)
