"""Applying what the platform said when we asked (a query, on refresh or in reconciliation), and
flagging what disagrees with our record. Callbacks apply notices in :mod:`callbacks`."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from .platforms.base import Observation
from .states import Kind, RefundStatus, is_terminal
from .store import Change, ConditionFailed, Store, TransactionFailed, object_key
from .transitions import change_for, facts_change, fail_refund, finish_settlement, mismatch


def apply_observation(
    store: Store, obs: Observation | None, item: Mapping[str, Any], now: int, extra: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """Apply a query result; returns the new item, or None if nothing changed."""
    if obs is None or (obs.status == item["status"] and not extra and not new_facts(obs, item)):
        return None
    if bad := mismatch(obs, item):
        flag_anomaly(store, obs.kind, obs.ref, {"source": "query", "outcome": "mismatch", "fields": bad, "at": now})
        return None
    change = facts_change(obs, now) if obs.status == item["status"] and not extra else change_for(obs, now)
    if extra:
        change.set = {**change.set, **extra}
    key = object_key(obs.kind, obs.ref)
    try:
        if obs.kind is Kind.REFUND and obs.status == RefundStatus.FAILED:
            fail_refund(store, key, change, item)
            return store.get(obs.kind, obs.ref)
        if obs.kind is Kind.SETTLEMENT and is_terminal(obs.status) and item.get("out_order_no"):
            finish_settlement(store, change, obs, item["out_order_no"], now)
            return store.get(obs.kind, obs.ref)
        return store.update(key, change)
    except (ConditionFailed, TransactionFailed):
        return None  # moved on meanwhile (a callback won the race); nothing to undo


def new_facts(obs: Observation, item: Mapping[str, Any]) -> dict[str, Any]:
    """Facts of ``obs`` the item does not have yet (a PAID order learns its commission late)."""
    return {k: v for k, v in obs.facts.items() if k != "platform_message" and item.get(k) is None}


def flag_anomaly(store: Store, kind: Kind, ref: str, anomaly: dict[str, Any]) -> None:
    """Surface a disagreement on the object itself (the API shows ``anomalies``)."""
    change = Change(append={"anomalies": [anomaly]})
    change.where(change.expr.exists())
    with contextlib.suppress(ConditionFailed):
        store.update(object_key(kind, ref), change)
