"""DynamoDB persistence: one table, conditional writes only, no read-then-write.

Items (``pk`` / ``sk``):

* ``ORDER#<out_order_no>`` / ``ORDER``, ``REFUND#<out_refund_no>`` / ``REFUND``,
  ``SETTLE#<out_settle_no>`` / ``SETTLE`` — the objects, each with a ``status``;
* ``TOKEN#trade#<app id>`` / ``TOKEN`` — the stack's trade-system client_token (client_token.py);
* ``EVENT#<dedupe key>`` / ``EVENT`` — written by earlier versions, one per callback notice; they
  expire by TTL (``expires_at``). A notice is now recorded on the object it changes (``notices``).

Objects awaiting reconciliation carry ``due_shard`` / ``due_at`` (the sparse ``reconcile-due``
index): the time by which the next reconcile step should have run. The sweeper re-enqueues what is
overdue, so a lost SQS message or a crash never strands an object.

Conflicts come back as :class:`ConditionFailed` / :class:`TransactionFailed` carrying the item as
it was (``ReturnValuesOnConditionCheckFailure=ALL_OLD``), so the caller never needs a second read
to find out why.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from .states import Kind

PREFIX = {Kind.ORDER: "ORDER", Kind.REFUND: "REFUND", Kind.SETTLEMENT: "SETTLE"}
KIND_OF_PREFIX = {v: k for k, v in PREFIX.items()}
DUE_INDEX = "reconcile-due"
DUE_SHARDS = 4  # spreads the sparse index over a few partitions; the sweeper queries each
DUE_INDEX_ATTRS = ("due_shard", "due_at")
CONFLICT_RETRIES = 2  # a transaction cancelled by a concurrent one is tried up to three times in all

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def object_key(kind: Kind, ref: str) -> dict[str, dict[str, str]]:
    prefix = PREFIX[kind]
    return {"pk": {"S": f"{prefix}#{ref}"}, "sk": {"S": prefix}}


def parse_object_key(pk: str) -> tuple[Kind, str] | None:
    prefix, _, ref = pk.partition("#")
    kind = KIND_OF_PREFIX.get(prefix)
    return (kind, ref) if kind and ref else None


def due_shard(kind: Kind, ref: str) -> str:
    return str(zlib.crc32(f"{kind}#{ref}".encode()) % DUE_SHARDS)


def to_item(attrs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in attrs.items() if v is not None}


def from_item(item: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not item:
        return None
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


def _plain(value: Any) -> Any:
    # Every number we store is an integer (fen, epoch seconds, counters).
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class ConditionFailed(Exception):
    """A conditional write did not apply; ``item`` is the item as it was (None if absent)."""

    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("condition failed")
        self.item = item


@dataclass
class Reason:
    """Why one action of a cancelled transaction failed, and the item it found."""

    code: str  # "None" when that action was fine
    item: dict[str, Any] | None


class TransactionFailed(Exception):
    """A transaction was cancelled; ``reasons`` has one entry per action, in order."""

    def __init__(self, reasons: list[Reason]) -> None:
        super().__init__("transaction cancelled: " + ", ".join(r.code for r in reasons))
        self.reasons = reasons

    @property
    def conflict(self) -> bool:
        """Cancelled by a concurrent transaction on the same item: safe to retry."""
        return any(r.code == "TransactionConflict" for r in self.reasons)

    def condition_failed(self, index: int) -> bool:
        """Whether action ``index`` failed its condition."""
        return index < len(self.reasons) and self.reasons[index].code == "ConditionalCheckFailed"

    def item(self, index: int) -> dict[str, Any] | None:
        """The item action ``index`` saw (``ALL_OLD``), or None."""
        return self.reasons[index].item if index < len(self.reasons) else None


@dataclass
class Expr:
    """Collects placeholder names and values for one expression set."""

    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)

    def name(self, attr: str) -> str:
        for placeholder, name in self.names.items():
            if name == attr:
                return placeholder
        placeholder = f"#n{len(self.names)}"
        self.names[placeholder] = attr
        return placeholder

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = _serializer.serialize(value)
        return placeholder

    def status_in(self, statuses: Iterable[str]) -> str:
        return f"{self.name('status')} IN ({', '.join(self.value(s) for s in statuses)})"

    def eq(self, attr: str, value: Any) -> str:
        return f"{self.name(attr)} = {self.value(value)}"

    def exists(self) -> str:
        return f"attribute_exists({self.name('pk')})"

    def absent(self) -> str:
        return f"attribute_not_exists({self.name('pk')})"

    def lacks(self, attr: str, member: str) -> str:
        """The set ``attr`` does not hold ``member`` (true while the attribute is absent)."""
        return f"NOT contains({self.name(attr)}, {self.value(member)})"

    def equals_or_missing(self, attr: str, value: Any) -> str:
        """``attr`` is ``value``, or the item predates the attribute."""
        # No parentheses of its own: conditions are joined as (clause) AND (clause), and DynamoDB
        # refuses redundant ones.
        return f"attribute_not_exists({self.name(attr)}) OR {self.eq(attr, value)}"

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.names:
            out["ExpressionAttributeNames"] = self.names
        if self.values:
            out["ExpressionAttributeValues"] = self.values
        return out


@dataclass
class Guard:
    """The condition of a Put or ConditionCheck: clauses that must all hold, with their placeholders."""

    clauses: list[str] = field(default_factory=list)
    expr: Expr = field(default_factory=Expr)

    @classmethod
    def absent(cls) -> Guard:
        """Only if no item has this key (a first write)."""
        guard = cls()
        return guard.where(guard.expr.absent())

    def where(self, *clauses: str) -> Guard:
        self.clauses.extend(clauses)
        return self

    def params(self) -> dict[str, Any]:
        return {"ConditionExpression": " AND ".join(f"({c})" for c in self.clauses), **self.expr.params()}


@dataclass
class Change:
    """One UpdateItem: SET (with optional if_not_exists), ADD and REMOVE clauses, and a condition."""

    set: Mapping[str, Any] = field(default_factory=dict)
    set_once: Mapping[str, Any] = field(default_factory=dict)  # if_not_exists: first value wins
    add: Mapping[str, int | set[str]] = field(default_factory=dict)  # a number, or members of a string set
    append: Mapping[str, list[Any]] = field(default_factory=dict)  # list_append onto a list attribute
    remove: Sequence[str] = ()
    condition: list[str] = field(default_factory=list)
    expr: Expr = field(default_factory=Expr)

    def where(self, *clauses: str) -> Change:
        self.condition.extend(clauses)
        return self

    def update_params(self) -> dict[str, Any]:
        expr = self.expr
        name, value = expr.name, expr.value
        sets = [f"{name(k)} = {value(v)}" for k, v in self.set.items() if v is not None]
        sets += [f"{name(k)} = if_not_exists({name(k)}, {value(v)})" for k, v in self.set_once.items() if v is not None]
        sets += [
            f"{name(k)} = list_append(if_not_exists({name(k)}, {value([])}), {value(v)})"
            for k, v in self.append.items()
        ]
        parts = []
        if sets:
            parts.append("SET " + ", ".join(sets))
        if self.add:
            parts.append("ADD " + ", ".join(f"{name(k)} {value(v)}" for k, v in self.add.items()))
        if self.remove:
            parts.append("REMOVE " + ", ".join(name(k) for k in self.remove))
        params: dict[str, Any] = {"UpdateExpression": " ".join(parts)}
        if self.condition:
            params["ConditionExpression"] = " AND ".join(f"({c})" for c in self.condition)
        params.update(expr.params())
        return params


class Store:
    """The payments table. Every method is one DynamoDB call."""

    def __init__(self, table_name: str, client: Any) -> None:
        self.table = table_name
        self.client = client

    def get(self, kind: Kind, ref: str) -> dict[str, Any] | None:
        return self.read(object_key(kind, ref))

    def read(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        response = self.client.get_item(TableName=self.table, Key=dict(key), ConsistentRead=True)
        return from_item(response.get("Item"))

    def put(self, key: Mapping[str, Any], attrs: Mapping[str, Any], guard: Guard) -> None:
        try:
            self.client.put_item(
                TableName=self.table,
                Item={**to_item(attrs), **key},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **guard.params(),
            )
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            raise ConditionFailed(from_item(exc.response.get("Item"))) from exc

    def update(self, key: Mapping[str, Any], change: Change) -> dict[str, Any]:
        try:
            response = self.client.update_item(
                TableName=self.table,
                Key=dict(key),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **change.update_params(),
            )
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            raise ConditionFailed(from_item(exc.response.get("Item"))) from exc
        return from_item(response.get("Attributes")) or {}

    def transact(self, actions: Sequence[Mapping[str, Any]], *, conflict_retries: int = 0) -> None:
        """Atomically apply actions built with :meth:`put_action` / :meth:`update_action` /
        :meth:`check_action`. A cancellation caused only by a concurrent transaction is retried
        up to ``conflict_retries`` times; any other raises :class:`TransactionFailed` at once."""
        for attempt in range(conflict_retries + 1):
            try:
                self.client.transact_write_items(TransactItems=list(actions))
                return
            except self.client.exceptions.TransactionCanceledException as exc:
                reasons = [
                    Reason(code=r.get("Code", "None"), item=from_item(r.get("Item")))
                    for r in exc.response.get("CancellationReasons", [])
                ]
                failed = TransactionFailed(reasons)
                if not (failed.conflict and attempt < conflict_retries):
                    raise failed from exc

    def put_action(self, key: Mapping[str, Any], attrs: Mapping[str, Any], guard: Guard) -> dict:
        return {
            "Put": {
                "TableName": self.table,
                "Item": {**to_item(attrs), **key},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                **guard.params(),
            }
        }

    def update_action(self, key: Mapping[str, Any], change: Change) -> dict:
        return {
            "Update": {
                "TableName": self.table,
                "Key": dict(key),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                **change.update_params(),
            }
        }

    def check_action(self, key: Mapping[str, Any], guard: Guard) -> dict:
        return {
            "ConditionCheck": {
                "TableName": self.table,
                "Key": dict(key),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                **guard.params(),
            }
        }

    def due(self, shard: str, now: int, limit: int) -> list[tuple[Kind, str]]:
        """Objects of one shard whose reconciliation is overdue (``due_at`` ≤ now), oldest first."""
        response = self.client.query(
            TableName=self.table,
            IndexName=DUE_INDEX,
            KeyConditionExpression="due_shard = :s AND due_at <= :now",
            ExpressionAttributeValues={":s": {"S": shard}, ":now": {"N": str(now)}},
            Limit=limit,
        )
        found = []
        for item in response.get("Items", []):
            parsed = parse_object_key(item["pk"]["S"])
            if parsed:
                found.append(parsed)
        return found
