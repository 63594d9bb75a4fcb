"""What every platform client shares: the retry policy, the default timeouts and the base-URL rule.

Kept apart from any one protocol so that ecpay's and the trade system's clients behave alike, and free
of ``requests`` so that importing it costs nothing.
"""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

from .errors import ConfigurationError, PlatformError, PlatformTransportError

if TYPE_CHECKING:
    import requests

# (connect, read) seconds. The platforms document none (ecpay-spec §7.2); these keep a call well
# inside a Lambda timeout while allowing for a slow cross-border link.
DEFAULT_TIMEOUT = (3.05, 10.0)

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries of retryable failures, with capped exponential backoff and full jitter."""

    query_attempts: int = 3
    mutation_attempts: int = 2
    backoff_base: float = 0.2
    backoff_cap: float = 2.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * 2**attempt))  # noqa: S311 - jitter


DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(query_attempts=1, mutation_attempts=1)


class SessionOwner:
    """What every platform client does with its HTTP session: closes it only if it created it, and
    closes it on leaving a ``with`` block."""

    _session: requests.Session
    _owns_session: bool

    def close(self) -> None:
        """Close the HTTP connection pool (only if this client created its session)."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_base_url(base_url: str) -> str:
    """``base_url`` without a trailing slash; https, or plain http on loopback (the local simulator)."""
    parts = urlsplit(base_url) if isinstance(base_url, str) else None
    if parts is not None and parts.scheme == "https" and parts.hostname:
        return base_url.rstrip("/")
    if parts is not None and parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return base_url.rstrip("/")
    raise ConfigurationError("base_url must be an https URL (plain http is allowed on loopback only)")


def check_timeout(timeout: tuple[float, float]) -> tuple[float, float]:
    """A (connect, read) pair of positive seconds: a call without a timeout could hang a Lambda."""
    try:
        connect, read = timeout
        if connect > 0 and read > 0:
            return (float(connect), float(read))
    except (TypeError, ValueError):
        pass
    raise ConfigurationError("timeout must be a (connect, read) pair of positive seconds")


def post(
    session: requests.Session,
    url: str,
    data: bytes,
    headers: Mapping[str, str],
    timeout: tuple[float, float],
    what: str,
) -> requests.Response:
    """One POST, no redirect followed, certificates checked; any transport failure raises
    :class:`PlatformTransportError` naming ``what`` only."""
    with transport_errors(what):
        return session.post(url, data=data, headers=dict(headers), timeout=timeout, verify=True, allow_redirects=False)


@contextlib.contextmanager
def transport_errors(what: str) -> Iterator[None]:
    """A failure of ``requests`` inside, as :class:`PlatformTransportError` naming ``what`` only
    (never the URL, whose query may carry a signature)."""
    import requests

    try:
        yield
    except requests.Timeout as exc:
        raise PlatformTransportError(f"{what}: timed out") from exc
    except requests.ConnectionError as exc:
        raise PlatformTransportError(f"{what}: connection failed") from exc
    except requests.RequestException as exc:
        raise PlatformTransportError(f"{what}: request failed ({type(exc).__name__})") from exc


def post_json_object(
    session: requests.Session, url: str, data: bytes, timeout: tuple[float, float], what: str
) -> tuple[int, dict[str, Any]]:
    """POST the JSON ``data`` (bytes, sent as they are); the HTTP status and the answer's JSON object.

    No readable answer (timeout, connection failure, HTTP 5xx or 429, a body that is not a JSON
    object) raises :class:`PlatformTransportError`; any other non-200 status a non-retryable
    :class:`PlatformError`. Messages name ``what`` only, never the URL or the body, which may carry
    a signature, a secret or a token. (The trade system's answers carry their errors in 4xx bodies,
    so its transport reads those instead.)
    """
    response = post(session, url, data, {"Content-Type": "application/json"}, timeout, what)
    status = response.status_code
    if status >= 500 or status == 429:
        raise PlatformTransportError(f"{what}: HTTP {status}", http_status=status)
    if status != 200:
        raise PlatformError(None, f"{what}: HTTP {status}", http_status=status, retryable=False)
    try:
        payload = json.loads(response.content)
    except (ValueError, RecursionError) as exc:
        raise PlatformTransportError(f"{what}: response is not JSON", http_status=status) from exc
    if not isinstance(payload, dict):
        raise PlatformTransportError(f"{what}: response is not a JSON object", http_status=status)
    return status, payload
