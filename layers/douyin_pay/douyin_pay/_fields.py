"""Strict readers for values in platform JSON (callback ``msg`` and API responses).

The platform is inconsistent about types (``way`` is a string in callbacks and a number in queries,
``share_amount`` is a string of fen); these helpers normalise while refusing anything that could
silently change an amount. Each takes a ``fail`` callable so the caller picks the error type.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import MISSING, field, fields
from typing import Any, NoReturn

Fail = Callable[[str, str], NoReturn]

_INTEGER_TEXT = re.compile(r"-?[0-9]+")


def as_int(data: Mapping[str, Any], key: str, fail: Fail, *, required: bool = False) -> int | None:
    """An integer (fen, seconds, a code): a JSON integer or a string of ASCII digits; never a float."""
    value = data.get(key)
    if value is None or value == "":
        if required:
            fail(key, "is missing")
        return None
    if isinstance(value, bool):
        fail(key, "must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
        return int(value)
    fail(key, "must be an integer")


def as_amount(data: Mapping[str, Any], key: str, fail: Fail, *, required: bool = False) -> int | None:
    """An amount in fen: an integer, never negative."""
    amount = as_int(data, key, fail, required=required)
    if amount is not None and amount < 0:
        fail(key, "must not be negative")
    return amount


def as_json_int(data: Mapping[str, Any], key: str, fail: Fail, *, required: bool = False) -> int | None:
    """An integer sent as a JSON integer, and only that: no digit string, float or bool.

    For APIs that type their numbers (the trade system): a money field in any other shape means the
    answer is not what we think it is, so it is refused rather than converted.
    """
    value = data.get(key)
    if value is None:
        if required:
            fail(key, "is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        fail(key, "must be a JSON integer")
    return value


def as_json_amount(data: Mapping[str, Any], key: str, fail: Fail, *, required: bool = False) -> int | None:
    """An amount in fen as a JSON integer, never negative."""
    amount = as_json_int(data, key, fail, required=required)
    if amount is not None and amount < 0:
        fail(key, "must not be negative")
    return amount


def as_str(data: Mapping[str, Any], key: str, fail: Fail, *, required: bool = False) -> str:
    """A string; a JSON number is accepted as its digits (ids are sometimes sent as numbers)."""
    value = data.get(key)
    if value is None or value == "":
        if required:
            fail(key, "is missing")
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    fail(key, "must be a string")


def as_bool(data: Mapping[str, Any], key: str, fail: Fail) -> bool | None:
    """A flag the platform sends as a JSON bool, 0/1, or "true"/"false"."""
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if value in (0, 1, "0", "1"):
        return value in (1, "1")
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    fail(key, "must be a boolean")


def as_way(data: Mapping[str, Any], key: str, fail: Fail) -> int | None:
    """Payment channel: 1 WeChat, 2 Alipay, 3 bank card, 10 Douyin Pay; 0 / absent = not paid."""
    way = as_int(data, key, fail)
    return way or None


def as_mapping(data: Mapping[str, Any], key: str, fail: Fail) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        fail(key, "must be an object")
    return value


def as_list(data: Mapping[str, Any], key: str, fail: Fail) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        fail(key, "must be a list")
    return value


# -- declaring a wire shape once, on the model ----------------------------------------------------

Reader = Callable[..., Any]
_WIRE = "douyin_pay.wire"


def wire(key: str, reader: Reader, *, required: bool = False, fallback: Any = None, default: Any = MISSING) -> Any:
    """A dataclass field read from the platform's ``key`` by ``reader`` (one of the ``as_*`` above).

    ``fallback`` replaces an empty value; ``default`` is the field's default for direct construction.
    """
    metadata = {_WIRE: (key, reader, required, fallback)}
    return field(metadata=metadata) if default is MISSING else field(default=default, metadata=metadata)


def build[T](cls: type[T], source: Mapping[str, Any], fail: Fail, /, **given: Any) -> T:
    """An instance of ``cls`` with every :func:`wire` field read from ``source``; ``given`` sets the rest."""
    values = dict(given)
    for spec in fields(cls):  # type: ignore[arg-type]
        if _WIRE not in spec.metadata:
            continue
        key, reader, required, fallback = spec.metadata[_WIRE]
        value = reader(source, key, fail, required=True) if required else reader(source, key, fail)
        values[spec.name] = (value or fallback) if fallback is not None else value
    return cls(**values)
