"""client_token: fetching one, and a token source that caches it (trade-spec §2.3).

Every trade_basic call carries ``access-token: <client_token>``. Each fetch invalidates the previous
token after a 5-minute grace, only the newest two stay valid, and more than 500 fetches in 5 minutes
are refused with 10020 (§9 pitfall 12): so fetch rarely, once for everyone. :func:`fetch_client_token`
only fetches; caching is a :class:`TokenSource`'s job, so the bundle can share one token across
Lambdas (DynamoDB) with the same fetch. :class:`InMemoryTokenSource` shares it across the threads of
one process.

No message or repr here contains the client_secret or a token.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, runtime_checkable

from .. import _fields as read
from .._http import DEFAULT_TIMEOUT, check_base_url, check_timeout
from ..errors import ConfigurationError, PlatformError, PlatformTransportError
from .endpoints import CLIENT_TOKEN_PATH, PRODUCTION_BASE_URL

if TYPE_CHECKING:
    import requests

RATE_LIMITED = 10020  # more than 500 fetches in 5 minutes (§2.3): retry later
# Refresh this far ahead of expiry: max(300 s, 10 % of the lifetime) (§2.3 [I]).
MIN_REFRESH_MARGIN = 300.0
REFRESH_MARGIN_SHARE = 0.1


@dataclass(frozen=True)
class ClientToken:
    """A client_token and when it expires (unix seconds)."""

    access_token: str = field(repr=False)
    expires_at: float


@runtime_checkable
class TokenSource(Protocol):
    """Hands out the current client_token.

    ``stale`` is a token the platform has just rejected: the source refreshes unless it already
    holds a different one (another caller refreshed meanwhile).
    """

    def token(self, *, stale: str | None = None) -> str: ...


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


class InMemoryTokenSource:
    """A :class:`TokenSource` for one process: caches the token and refreshes it ahead of expiry.

    ``fetch`` returns a new :class:`ClientToken` (typically ``lambda: fetch_client_token(app_id,
    secret)``). Refreshes are single-flight: however many threads find the token due, one fetches
    and the rest use its result, because concurrent fetches would invalidate each other (§2.3).
    """

    def __init__(self, fetch: Callable[[], ClientToken], *, clock: Callable[[], float] = time.time) -> None:
        if not callable(fetch):
            raise ConfigurationError("fetch must be a callable returning a ClientToken")
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        # (token, refresh_at), replaced as one value so a reader without the lock never pairs a new
        # token with an old deadline.
        self._cached: tuple[ClientToken, float] | None = None

    def __repr__(self) -> str:  # never show the token
        cached = self._cached
        state = "empty" if cached is None else f"expires_at={cached[0].expires_at}"
        return f"InMemoryTokenSource({state})"

    def _usable(self, stale: str | None) -> str | None:
        cached = self._cached
        if cached is None:
            return None
        current, refresh_at = cached
        if current.access_token == stale or self._clock() >= refresh_at:
            return None
        return current.access_token

    def token(self, *, stale: str | None = None) -> str:
        usable = self._usable(stale)
        if usable is not None:
            return usable
        with self._lock:
            # Another thread may have refreshed while this one waited for the lock.
            usable = self._usable(stale)
            if usable is not None:
                return usable
            fetched_at = self._clock()
            fresh = self._fetch()
            if not isinstance(fresh, ClientToken) or not fresh.access_token:
                raise ConfigurationError("fetch must return a ClientToken with an access_token")
            lifetime = max(0.0, fresh.expires_at - fetched_at)
            margin = max(MIN_REFRESH_MARGIN, REFRESH_MARGIN_SHARE * lifetime)
            # A token shorter-lived than the margin would be due at once, and every call would fetch
            # (and invalidate the last one): refresh such a token half-way through its life instead.
            self._cached = (fresh, fresh.expires_at - min(margin, lifetime / 2))
            return fresh.access_token
