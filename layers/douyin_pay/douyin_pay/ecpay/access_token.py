"""ecpay's access_token: fetching one (``POST /api/apps/v2/token``) for the order-sync push.

The token lives 7200 s, and each fetch invalidates the previous token after a 5-minute grace: so
fetch rarely, once for everyone. :func:`fetch_access_token` only fetches, and never retries (a retry
is a second fetch, which invalidates the first); caching is a
:class:`~douyin_pay._tokens.TokenSource`'s job (:class:`~douyin_pay._tokens.InMemoryTokenSource` in
one process, the bundle's shared source across Lambdas).

The answer is ``{"err_no", "err_tips", "data": {"access_token", "expires_in"}}``, HTTP 200 for every
answer with a body, and the request is not signed. ``requests`` loads on the first fetch, not on
import. No message or repr here contains the secret or a token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from .. import _fields as read
from .._http import DEFAULT_TIMEOUT, check_base_url, check_timeout, post_json_object
from ..errors import ConfigurationError, PlatformError, PlatformTransportError

if TYPE_CHECKING:
    import requests

# The ecpay host, the same as douyin_pay.ecpay.client.PRODUCTION_BASE_URL (which cannot be imported
# here without loading `requests`).
PRODUCTION_BASE_URL = "https://developer.toutiao.com"
ACCESS_TOKEN_PATH = "/api/apps/v2/token"  # noqa: S105 - a URL path, not a secret
SYSTEM_ERROR = -1  # 系统错误: the only err_no worth repeating the identical request for


@dataclass(frozen=True)
class AccessToken:
    """An ecpay access_token and when it expires (unix seconds)."""

    access_token: str = field(repr=False)
    expires_at: float


def _unexpected(key: str, problem: str) -> NoReturn:
    raise PlatformTransportError(f"access_token: unexpected response: {key!r} {problem}")


def _post_json(
    session: requests.Session,
    url: str,
    body: Mapping[str, object],
    timeout: tuple[float, float],
    what: str,
) -> tuple[int, dict[str, Any]]:
    """POST ``body`` as compact UTF-8 JSON; the HTTP status and the answer's JSON object.

    Shared by the order-sync push. No readable answer (timeout, connection failure, HTTP 5xx or 429,
    a body that is not a JSON object) raises :class:`PlatformTransportError`; any other non-200
    status a non-retryable :class:`PlatformError`. Messages name ``what`` only, never the URL or the
    body, which carry a secret or a token.
    """
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    return post_json_object(session, url, data, timeout, what)


def _token_from(payload: Mapping[str, Any], status: int, asked_at: float) -> AccessToken:
    err_no = read.as_json_int(payload, "err_no", _unexpected, required=True)
    if err_no != 0:
        tips = payload.get("err_tips")
        raise PlatformError(
            err_no, tips if isinstance(tips, str) else "", http_status=status, retryable=err_no == SYSTEM_ERROR
        )
    data = read.as_mapping(payload, "data", _unexpected)
    access_token = data.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        _unexpected("access_token", "must be a non-empty string")
    expires_in = read.as_json_int(data, "expires_in", _unexpected, required=True)
    if expires_in <= 0:
        _unexpected("expires_in", "must be positive")
    # Counted from when we asked, not when the answer came: the platform's clock started in between,
    # so this errs towards refreshing early.
    return AccessToken(access_token=access_token, expires_at=asked_at + expires_in)


def fetch_access_token(
    app_id: str,
    secret: str,
    *,
    base_url: str = PRODUCTION_BASE_URL,
    session: requests.Session | None = None,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> AccessToken:
    """Fetch a new access_token: ``POST {base_url}/api/apps/v2/token``.

    ``err_no`` ≠ 0 raises :class:`PlatformError` (-1, a system error, is retryable; the rest are
    not: a wrong appid or secret stays wrong); no readable answer raises
    :class:`PlatformTransportError`. Nothing is retried here: every fetch invalidates older tokens,
    so whether to fetch again is the caller's decision.
    """
    import requests

    if not isinstance(app_id, str) or not app_id:
        raise ConfigurationError("app_id must be a non-empty string")
    if not isinstance(secret, str) or not secret:
        raise ConfigurationError("secret must be a non-empty string")
    url = check_base_url(base_url) + ACCESS_TOKEN_PATH
    limits = check_timeout(timeout)
    body = {"appid": app_id, "secret": secret, "grant_type": "client_credential"}
    own = session is None
    active = requests.Session() if own else session
    asked_at = time.time()
    try:
        status, payload = _post_json(active, url, body, limits, "access_token")
    finally:
        if own:
            active.close()
    return _token_from(payload, status, asked_at)
