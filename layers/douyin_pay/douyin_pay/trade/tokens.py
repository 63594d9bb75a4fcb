"""client_token: fetching one, and a token source that caches it (trade-spec §2.3).

Every trade_basic call carries ``access-token: <client_token>``. Each fetch invalidates the previous
token after a 5-minute grace, only the newest two stay valid, and more than 500 fetches in 5 minutes
are refused with 10020 (§9 pitfall 12): so fetch rarely, once for everyone. :func:`fetch_client_token`
only fetches; caching is a :class:`TokenSource`'s job, so the bundle can share one token across
Lambdas (DynamoDB) with the same fetch. :class:`InMemoryTokenSource` shares it across the threads of
one process. Both live in :mod:`douyin_pay._tokens`, shared with ecpay's access_token, and are
re-exported here, where they have always been imported from.

No message or repr here contains the client_secret or a token.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from .. import _fields as read
from .._http import DEFAULT_TIMEOUT, check_base_url, check_timeout
from .._tokens import MIN_REFRESH_MARGIN as MIN_REFRESH_MARGIN
from .._tokens import REFRESH_MARGIN_SHARE as REFRESH_MARGIN_SHARE
from .._tokens import InMemoryTokenSource as InMemoryTokenSource
from .._tokens import TokenSource as TokenSource
from ..errors import ConfigurationError, PlatformError, PlatformTransportError
from .endpoints import CLIENT_TOKEN_PATH, PRODUCTION_BASE_URL

if TYPE_CHECKING:
    import requests

RATE_LIMITED = 10020  # more than 500 fetches in 5 minutes (§2.3): retry later


@dataclass(frozen=True)
class ClientToken:
    """A client_token and when it expires (unix seconds)."""

    access_token: str = field(repr=False)
    expires_at: float


def _unexpected(key: str, problem: str) -> NoReturn:
    raise PlatformTransportError(f"client_token: unexpected response: {key!r} {problem}")


def _token_from(reply_status: int, payload: Any, log_id: str | None) -> ClientToken:
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        raise PlatformTransportError("client_token: response has no data object", http_status=reply_status)
    data = payload["data"]
    code = read.as_json_int(data, "error_code", _unexpected)
    if code:
        description = data.get("description")
        raise PlatformError(
            code,
            description if isinstance(description, str) else "",
            http_status=reply_status,
            retryable=code == RATE_LIMITED,
            log_id=log_id,
        )
    if reply_status != 200:
        raise PlatformTransportError(f"client_token: HTTP {reply_status}", http_status=reply_status, log_id=log_id)
    access_token = read.as_str(data, "access_token", _unexpected, required=True)
    expires_in = read.as_json_int(data, "expires_in", _unexpected, required=True)
    if expires_in <= 0:
        _unexpected("expires_in", "must be positive")
    return ClientToken(access_token=access_token, expires_at=time.time() + expires_in)


def fetch_client_token(
    app_id: str,
    client_secret: str,
    *,
    base_url: str = PRODUCTION_BASE_URL,
    session: requests.Session | None = None,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> ClientToken:
    """Fetch a new client_token: ``POST {base_url}/oauth/client_token/`` (§2.3).

    ``data.error_code`` ≠ 0 raises :class:`PlatformError` (10020, rate limited, is retryable; the
    rest are not: a wrong key or secret stays wrong); no readable answer raises
    :class:`PlatformTransportError`. Nothing is retried here: every fetch invalidates older tokens.
    """
    import requests

    from .transport import post_json

    if not isinstance(app_id, str) or not app_id:
        raise ConfigurationError("app_id (client_key) must be a non-empty string")
    if not isinstance(client_secret, str) or not client_secret:
        raise ConfigurationError("client_secret must be a non-empty string")
    url = check_base_url(base_url) + CLIENT_TOKEN_PATH
    body = {"grant_type": "client_credential", "client_key": app_id, "client_secret": client_secret}
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = {"content-type": "application/json"}
    own = session is None
    active = requests.Session() if own else session
    try:
        reply = post_json(active, url, data, headers, check_timeout(timeout), "client_token")
    finally:
        if own:
            active.close()
    payload = reply.payload
    if not isinstance(payload, dict):
        raise PlatformTransportError("client_token: response is not a JSON object", http_status=reply.status)
    return _token_from(reply.status, payload, _log_id(payload) or reply.log_id)


def _log_id(payload: dict[str, Any]) -> str | None:
    extra = payload.get("extra")
    log_id = extra.get("logid") if isinstance(extra, dict) else None
    return log_id if isinstance(log_id, str) and log_id else None
