"""The bundle's orders, refunds and settlements, read from the stack's table.

A Scan is fine locally (a developer's handful of objects in moto). Each object is shown as the
bundle's own API shows it (``douyin_pay.bundle.views.view``): the same fields and the same
protocol-neutral states a backend reads from ``GET /payments/...``, and nothing the API would not
show (no stored request, no reconcile bookkeeping).
"""

from __future__ import annotations

from typing import Any

from douyin_pay.bundle.states import Kind
from douyin_pay.bundle.store import from_item, parse_object_key
from douyin_pay.bundle.views import view

SECTIONS = {Kind.ORDER: "orders", Kind.REFUND: "refunds", Kind.SETTLEMENT: "settlements"}


def scan(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    items, start = [], None
    while True:
        page = dynamodb.scan(TableName=table, ConsistentRead=True, **({"ExclusiveStartKey": start} if start else {}))
        items.extend(from_item(i) for i in page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def objects(items: list[dict[str, Any]], now: int) -> dict[str, list[dict[str, Any]]]:
    """The objects among ``items`` (the table also holds claims, openings and shard markers), by
    section, newest first; each with its ``ref`` and the API's view of it."""
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in SECTIONS.values()}
    for item in items:
        parsed = parse_object_key(str(item.get("pk", "")))
        if parsed is None or item.get("sk") != item["pk"].partition("#")[0]:
            continue
        kind, ref = parsed
        out[SECTIONS[kind]].append({"ref": ref, **view(kind, item, now=now)})
    for rows in out.values():
        rows.sort(key=lambda r: (r.get("created_at", 0), r["ref"]), reverse=True)
    return out
