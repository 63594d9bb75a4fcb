"""The stack's payment secret: one GetSecretValue, kept in memory for a few minutes.

Powertools' Parameters utility does the same, but importing it also loads its AppConfig and
DynamoDB providers: a few milliseconds of every cold start that reads the secret (the callback
first of all), for a cache of one JSON document. Messages here name what is wrong with the secret,
never a value, and no exception carries its text.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import ConfigurationError

SECRET_MAX_AGE = 300  # seconds; a rotated SALT/token is picked up within five minutes


class SecretCache:
    """The secret ``secret_id`` as a JSON object, fetched again once ``max_age`` seconds old."""

    def __init__(
        self,
        client: Any,
        secret_id: str,
        *,
        max_age: float = SECRET_MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._secret_id = secret_id
        self._max_age = max_age
        self._clock = clock
        self._value: Mapping[str, Any] | None = None
        self._fetched_at = 0.0

    def get(self) -> Mapping[str, Any]:
        now = self._clock()
        if self._value is None or now - self._fetched_at >= self._max_age:
            self._value = _as_object(self._client.get_secret_value(SecretId=self._secret_id).get("SecretString"))
            self._fetched_at = now
        return self._value

    def clear(self) -> None:
        """Forget the value: the next read fetches it (tests that rotate the secret)."""
        self._value = None


def _as_object(text: object) -> Mapping[str, Any]:
    if not isinstance(text, str):
        raise ConfigurationError("the payment secret must be stored as text (SecretString), not binary")
    try:
        value = json.loads(text)
    except ValueError:
        # `from None`: a JSONDecodeError keeps the whole document in its `doc`.
        raise ConfigurationError("the payment secret is not valid JSON") from None
    if not isinstance(value, Mapping):
        raise ConfigurationError("the payment secret must be a JSON object")
    return value
