"""What both protocols' callback readers share: the typed error for a malformed ``msg`` field, and
JSON decoding that refuses a repeated key."""

from __future__ import annotations

from typing import Any, NoReturn

from .errors import MalformedCallbackError


def malformed(key: str, problem: str) -> NoReturn:
    raise MalformedCallbackError(f"callback msg field {key!r} {problem}", field=key)


def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads``' ``object_pairs_hook``: two values for one key are ambiguous (which one was
    signed, which one the sender meant?), so the body is refused."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise MalformedCallbackError(f"callback repeats field {key!r}", field=key)
        result[key] = value
    return result
