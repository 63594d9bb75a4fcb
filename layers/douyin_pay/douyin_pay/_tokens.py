"""Cached access tokens, for any protocol whose calls carry one (trade's client_token, ecpay's access_token).

Both platforms issue a token that lives a couple of hours, and each new fetch invalidates the one
before it after a short grace: so fetch rarely, once for everyone. Fetching is each protocol's own
business (:func:`douyin_pay.trade.fetch_client_token`, :func:`douyin_pay.ecpay.fetch_access_token`);
caching is a :class:`TokenSource`'s, so the bundle can share one token across Lambdas (DynamoDB)
with the same fetch, and :class:`InMemoryTokenSource` shares it across the threads of one process.

Free of ``requests``, and no message or repr here contains a token.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from .errors import ConfigurationError

# Refresh this far ahead of expiry: max(300 s, 10 % of the lifetime) (trade-spec §2.3 [I]). 300 s is
# also both platforms' grace for the token before the newest one.
MIN_REFRESH_MARGIN = 300.0
REFRESH_MARGIN_SHARE = 0.1


class IssuedToken(Protocol):
    """What a fetch returns: the token and when it expires (unix seconds).

    :class:`~douyin_pay.trade.ClientToken` and :class:`~douyin_pay.ecpay.AccessToken` both are one.
    """

    @property
    def access_token(self) -> str: ...

    @property
    def expires_at(self) -> float: ...


@runtime_checkable
class TokenSource(Protocol):
    """Hands out the current token.

    ``stale`` is a token the platform has just rejected: the source refreshes unless it already
    holds a different one (another caller refreshed meanwhile).
    """

    def token(self, *, stale: str | None = None) -> str: ...


def _is_issued_token(value: object) -> bool:
    token = getattr(value, "access_token", None)
    expires_at = getattr(value, "expires_at", None)
    return (
        isinstance(token, str)
        and bool(token)
        and isinstance(expires_at, int | float)
        and not isinstance(expires_at, bool)
        and math.isfinite(expires_at)
    )


class InMemoryTokenSource:
    """A :class:`TokenSource` for one process: caches the token and refreshes it ahead of expiry.

    ``fetch`` returns a new :class:`IssuedToken` (typically ``lambda: fetch_client_token(app_id,
    secret)`` or ``lambda: fetch_access_token(app_id, secret)``). Refreshes are single-flight:
    however many threads find the token due, one fetches and the rest use its result, because
    concurrent fetches would invalidate each other.
    """

    def __init__(self, fetch: Callable[[], IssuedToken], *, clock: Callable[[], float] = time.time) -> None:
        if not callable(fetch):
            raise ConfigurationError("fetch must be a callable returning a token with access_token and expires_at")
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        # (token, refresh_at), replaced as one value so a reader without the lock never pairs a new
        # token with an old deadline.
        self._cached: tuple[IssuedToken, float] | None = None

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
            if not _is_issued_token(fresh):
                raise ConfigurationError(
                    "fetch must return a token with a non-empty access_token and a numeric expires_at"
                )
            lifetime = max(0.0, fresh.expires_at - fetched_at)
            margin = max(MIN_REFRESH_MARGIN, REFRESH_MARGIN_SHARE * lifetime)
            # A token shorter-lived than the margin would be due at once, and every call would fetch
            # (and invalidate the last one): refresh such a token half-way through its life instead.
            self._cached = (fresh, fresh.expires_at - min(margin, lifetime / 2))
            return fresh.access_token
