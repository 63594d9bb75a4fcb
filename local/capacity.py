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


def read_units(size: int, *, consistent: bool = True) -> float:
    """The read units of reading ``size`` bytes: per started 4 KB, half for an eventual read."""
    units = max(1, math.ceil(size / (4 * KB)))
    return units if consistent else units / 2


class CapacityMeter:
    """Counts the capacity units a boto3 DynamoDB client's calls bill, from the items themselves.

    ``tables`` maps each metered table to its sparse index's key attributes (KEYS_ONLY; ``()`` for a
    table without one); calls on other tables are not metered. Each write's key is read before and
    after it through ``admin`` (another client, not counted), so a write is billed at the larger of
    the two sizes; a transaction's actions at twice that; a write that failed its condition at the
    existing item's size. An index write happens only where the index's keys appear, change or go
    (a change is a delete plus a put). Meant for one call at a time (a test, a bench step).
    """

    WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem"})

    def __init__(self, admin: Any, tables: Mapping[str, tuple[str, ...]]) -> None:
        self.admin = admin
        self.tables = dict(tables)
        self.table_wru = 0
        self.index_wru = 0
        self.rru = 0.0
        self._before: list[tuple[str, dict, dict | None, int]] = []
        self._key_names: dict[str, tuple[str, ...]] = {}
        self._reading = False  # whether the read in flight is on a metered table

    def install(self, client: Any) -> CapacityMeter:
        events = client.meta.events
        events.register("before-parameter-build.dynamodb", self._before_call)
        events.register("after-call.dynamodb", self._after_call)
        return self

    def reset(self) -> None:
        self.table_wru, self.index_wru, self.rru = 0, 0, 0.0

    def totals(self) -> dict[str, float]:
        return {"table_wru": self.table_wru, "index_wru": self.index_wru, "rru": self.rru}

    # -- hooks ------------------------------------------------------------------------------------

    def _before_call(self, model: Any, params: dict, **_: Any) -> None:
        if model.name in self.WRITES:
            self._before = self._snapshot([params], factor=1)
        elif model.name == "TransactWriteItems":
            # Every action of a transaction, a ConditionCheck too, bills twice the plain write.
            self._before = self._snapshot([next(iter(a.values())) for a in params["TransactItems"]], factor=2)
        elif model.name in ("GetItem", "Query"):
            self._reading = params.get("TableName") in self.tables

    def _snapshot(self, writes: list[dict], factor: int) -> list[tuple[str, dict, dict | None, int]]:
        taken = []
        for write in writes:
            table = write["TableName"]
            if table in self.tables:
                key = write.get("Key") or {k: write["Item"][k] for k in self._key_of(table)}
                taken.append((table, key, self._get(table, key), factor))
        return taken

    def _after_call(self, model: Any, parsed: dict, **_: Any) -> None:
        if model.name in self.WRITES or model.name == "TransactWriteItems":
            for table, key, before, factor in self._before:
                after = self._get(table, key)
                self.table_wru += factor * write_units(before, after)
                self.index_wru += self._index_writes(self.tables[table], before, after)
            self._before = []
        elif model.name in ("GetItem", "Query") and self._reading:
            if model.name == "GetItem":
                self.rru += read_units(item_size(_plain(parsed.get("Item") or {})))
            else:
                size = sum(item_size(_plain(i)) for i in parsed.get("Items", []))
                self.rru += read_units(size, consistent=False)  # a global secondary index reads eventually

    @staticmethod
    def _index_writes(index_keys: tuple[str, ...], before: dict | None, after: dict | None) -> int:
        if not index_keys:
            return 0
        old = _index_entry(before, index_keys)
        new = _index_entry(after, index_keys)
        if old == new:
            return 0
        return (old is not None) + (new is not None)  # a moved entry is a delete plus a put

    def _key_of(self, table: str) -> tuple[str, ...]:
        if table not in self._key_names:
            schema = self.admin.describe_table(TableName=table)["Table"]["KeySchema"]
            self._key_names[table] = tuple(k["AttributeName"] for k in schema)
        return self._key_names[table]

    def _get(self, table: str, key: dict) -> dict | None:
        item = self.admin.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        return _plain(item) if item else None


def _index_entry(item: Mapping[str, Any] | None, keys: tuple[str, ...]) -> tuple | None:
    if not item or not all(k in item for k in keys):
        return None
    return tuple(item[k] for k in keys)


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {k: deserializer.deserialize(v) for k, v in item.items()}
