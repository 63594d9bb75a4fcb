"""The Powertools baseline over one lifecycle (lifecycle.py), and what it bills per notice.

The common way differs from ours in how a notice is made idempotent, and only there: its requests,
queries and reconcile steps are ours, so those steps cost the same on both sides and are not run
twice. Each notice goes through a :class:`~local.bench.baseline.PowertoolsEnvironment` (configured
as a competent user would: the record kept past the platform's retries, the local cache on) whose
decorated function makes the state change ours made, as ours made it (:class:`ReplayedChange`): the
same items, with our after-images less the notice ids we record on them, one item a PutItem and two
a TransactWriteItems, each conditional on the status the item had, on a copy of the table that holds
those items as they were before the notice. So what the figures differ by is the idempotency: a
Powertools record beside the state write against our notice id inside it.
"""

from __future__ import annotations

from typing import Any

from local.capacity import CapacityMeter

from .baseline import PowertoolsEnvironment, create_idempotency_table, create_orders_table
from .bundle_env import due_index_keys, notice_ids_attribute, verify_notice
from .common import BenchError

# An item of the table (DynamoDB-typed), by its key.
type Key = tuple[str, str]
type Items = dict[Key, dict[str, Any]]
# One item a notice changed: as it was (None: it did not exist) and as it is.
type Change = tuple[dict[str, Any] | None, dict[str, Any]]


def changed_items(before: Items, after: Items) -> list[Change]:
    """The items a step wrote, as they were and as they are (``before`` and ``after`` from
    :meth:`BaselineLifecycle.snapshot`, which leaves our notice ids out)."""
    gone = sorted(set(before) - set(after))
    if gone:
        raise BenchError(f"a notice deleted items {gone}: the baseline replays only puts")
    return [(before.get(key), item) for key, item in sorted(after.items()) if before.get(key) != item]


class ReplayedChange:
    """The baseline's state write for the notice in hand: the items our callback changed, written
    with their after-images, conditionally on the status each had before."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.changes: list[Change] = []

    def __call__(self, client: Any, _notice: dict[str, Any]) -> str:
        puts = [self._put(before, after) for before, after in self.changes]
        try:
            if len(puts) == 1:
                client.put_item(**puts[0])
            else:
                client.transact_write_items(TransactItems=[{"Put": put} for put in puts])
        except (client.exceptions.ConditionalCheckFailedException, client.exceptions.TransactionCanceledException):
            return "not_applied"
        return "applied"

    def _put(self, before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self.table, "Item": after}
        if before is None:
            return put | {"ConditionExpression": "attribute_not_exists(pk)"}
        if "status" not in before:
            return put | {"ConditionExpression": "attribute_exists(pk)"}
        return put | {
            "ConditionExpression": "#s = :was",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":was": before["status"]},
        }


class BaselineLifecycle:
    """The baseline beside one in-process bundle: its idempotency table, its copy of the payments
    table, one execution environment, and a capacity meter on that environment's client."""

    def __init__(self, b: Any, *, prefix: str = "bench-life") -> None:
        self.b = b
        self.admin = b.session.client("dynamodb")  # seeds and snapshots: never metered
        self.idempotency_table = f"{prefix}-idempotency"
        self.table = f"{prefix}-baseline"
        create_idempotency_table(self.admin, self.idempotency_table)
        create_orders_table(self.admin, self.table)
        self._notice_ids = notice_ids_attribute()
        self.write = ReplayedChange(self.table)
        self.env, self.meter = self._environment()
        self.delivered: list[Any] = []  # the verified notices processed, in order

    def _environment(self) -> tuple[PowertoolsEnvironment, CapacityMeter]:
        env = PowertoolsEnvironment(self.b.session, idempotency_table=self.idempotency_table, write=self.write)
        tables = {self.idempotency_table: (), self.table: due_index_keys()}
        return env, CapacityMeter(self.admin, tables).install(env.client)

    def snapshot(self) -> Items:
        """Our table's items, typed, without the notice ids we record (the baseline records none)."""
        items: Items = {}
        pages = self.admin.get_paginator("scan").paginate(TableName=self.b.resources.table_name, ConsistentRead=True)
        for page in pages:
            for item in page["Items"]:
                item.pop(self._notice_ids, None)
                items[(item["pk"]["S"], item["sk"]["S"])] = item
        return items

    def notice(self, body: bytes, before: Items, after: Items) -> dict[str, Any]:
        """The notice ``body`` processed the common way, making the change ours made between the
        snapshots ``before`` and ``after``; what it cost."""
        changes = changed_items(before, after)
        if not changes:
            raise BenchError("our callback changed nothing: there is no state write to replay")
        for was, _ in changes:  # the baseline's copy of those items as they were (not metered)
            if was is not None:
                self.admin.put_item(TableName=self.table, Item=was)
        self.write.changes = changes
        notice = verify_notice(body)
        figures = self._measure(self.env, self.meter, notice)
        if figures["outcome"] != "applied":
            raise BenchError(f"the baseline did not apply the {notice.type} notice: {figures['outcome']}")
        self.delivered.append(notice)
        return figures

    def duplicates(self) -> dict[str, dict[str, Any]]:
        """The first notice processed, delivered again: to the environment that processed it (its
        local cache answers) and to another one (the idempotency table answers)."""
        notice = self.delivered[0]
        same = self._measure(self.env, self.meter, notice)
        other_env, other_meter = self._environment()
        try:
            other = self._measure(other_env, other_meter, notice)
        finally:
            other_env.close()
        for where, figures in (("same", same), ("another", other)):
            if figures["outcome"] != "replay":
                raise BenchError(f"a duplicate in the {where} environment was not a replay: {figures['outcome']}")
        return {"same_environment": same, "another_environment": other}

    @staticmethod
    def _measure(env: PowertoolsEnvironment, meter: CapacityMeter, notice: Any) -> dict[str, Any]:
        env.calls.clear()
        meter.reset()
        outcome = env.handle(notice, {"dedupe_key": notice.dedupe_key, "type": notice.type})
        return {**meter.totals(), "calls": env.total_calls(), "outcome": outcome}

    def close(self) -> None:
        self.env.close()
        self.admin.close()
