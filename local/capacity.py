"""What DynamoDB bills for an item: its size by the documented rules, and the read and write units
that size costs. moto meters no capacity, so the tests and the bench compute it from the items.

Sizes (DynamoDB developer guide, "Item sizes and formats"): an attribute is its name's UTF-8 bytes
plus its value's; a string is its UTF-8 bytes; a number is about one byte per two significant
digits plus one; binary and boolean/null as their bytes / 1; a list or map adds 3 bytes plus 1 per
element; a set is the sum of its members. A write unit covers 1 KB of the larger of the item before
and after the write; a strongly consistent read unit covers 4 KB.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

KB = 1024


def value_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, (int, Decimal)):
        significant = Decimal(value).normalize().as_tuple().digits  # leading/trailing zeros trimmed
        return math.ceil(len(significant) / 2) + 1
    if isinstance(value, (set, frozenset)):
        return sum(value_size(member) for member in value)
    if isinstance(value, (list, tuple)):
        return 3 + sum(1 + value_size(element) for element in value)
    if isinstance(value, Mapping):
        return 3 + sum(1 + len(str(k).encode("utf-8")) + value_size(v) for k, v in value.items())
    raise TypeError(f"no DynamoDB size for {type(value).__name__}")


def item_size(item: Mapping[str, Any]) -> int:
    """The billed size of an item (plain values, as ``store.from_item`` returns them)."""
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def write_units(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> int:
    """The write units of one write: the larger item, per started KB (at least one)."""
    largest = max(item_size(before or {}), item_size(after or {}))
    return max(1, math.ceil(largest / KB))
