"""What every platform client shares: the retry policy, the default timeouts and the base-URL rule.

Kept apart from any one protocol so that ecpay's and the trade system's clients behave alike, and free
of ``requests`` so that importing it costs nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import ConfigurationError

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
