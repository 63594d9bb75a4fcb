"""Domain events: what the merchant's backend hears, derived from the table's stream.

Every write of an order, refund or settlement is one stream record (the item before and after);
this module turns a record into the events it means, so the handlers never publish anything (no
dual write) and a change that is not written — a duplicate or stale notice — announces nothing:

* a **status change** is one event, ``Payment Paid``, ``Refund Failed``, … (the internal
  ``SUBMITTING`` is not announced: the object exists for the merchant once the platform took it);
* each **anomaly** recorded on an object (amount or app id mismatch, paid after expiry, a refund
  the order could not cover) is one ``Notice Anomaly`` event;
* a **fulfilment** (核销) the merchant recorded on a paid order is ``Payment Fulfilled``;
* a paid ecpay order nearing the day the platform settles it by itself is ``Payment Settlement
  Due`` (once), and that settlement, when it happens, ``Payment Auto Settled``;
* a **refund audit decision** (trade system) is ``Refund Audit Approved`` / ``Refund Audit Denied``.

``event_id`` is a hash of what changed (the object and the transition), not of the delivery: the
stream may hand a record to the publisher twice (a retry after a failed publish), and both copies
carry the same id, so consumers dedupe on it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .platforms.protocol import protocol_of
from .states import Kind
from .store import from_item, parse_object_key
from .views import view

SOURCE = "douyin-pay"  # EventBridge's ``source`` of every event the bundle publishes
SCHEMA_VERSION = "1"  # detail.version: bumped on an incompatible change of a detail's shape

# The detail-type of each status an object can reach (SUBMITTING is internal: not announced).
STATUS_EVENTS: dict[tuple[Kind, str], str] = {
    (Kind.ORDER, "CREATED"): "Payment Created",
    (Kind.ORDER, "PAID"): "Payment Paid",
    (Kind.ORDER, "EXPIRED"): "Payment Expired",
    (Kind.ORDER, "FAILED"): "Payment Failed",
    (Kind.REFUND, "PROCESSING"): "Refund Processing",
    (Kind.REFUND, "SUCCEEDED"): "Refund Succeeded",
    (Kind.REFUND, "FAILED"): "Refund Failed",
    (Kind.SETTLEMENT, "PROCESSING"): "Settlement Processing",
    (Kind.SETTLEMENT, "SUCCEEDED"): "Settlement Succeeded",
    (Kind.SETTLEMENT, "FAILED"): "Settlement Failed",
}
AUDIT_EVENTS = {"APPROVED": "Refund Audit Approved", "DENIED": "Refund Audit Denied"}
ANOMALY = "Notice Anomaly"
FULFILMENT = "Payment Fulfilled"  # the merchant's 核销 of a paid order (its status stays PAID)
# A paid order the platform will settle by itself, in full to the seller, unless it is settled by
# the date in settle_due_at; and that settlement (status stays PAID, auto_settled_at set).
SETTLEMENT_DUE = "Payment Settlement Due"
AUTO_SETTLED = "Payment Auto Settled"
ORDER_MARKS = {"fulfilled_at": FULFILMENT, "settle_due_at": SETTLEMENT_DUE, "auto_settled_at": AUTO_SETTLED}
DETAIL_TYPES = (*STATUS_EVENTS.values(), *ORDER_MARKS.values(), *AUDIT_EVENTS.values(), ANOMALY)


@dataclass(frozen=True)
class DomainEvent:
    """One state change, as the bus carries it."""

    detail_type: str
    detail: Mapping[str, Any]
    time: int  # epoch seconds of the change

    @property
    def event_id(self) -> str:
        return self.detail["event_id"]

    def entry(self, bus: str) -> dict[str, Any]:
        """A PutEvents entry."""
        return {
            "Source": SOURCE,
            "DetailType": self.detail_type,
            "Detail": json.dumps(self.detail, ensure_ascii=False, separators=(",", ":")),
            "EventBusName": bus,
            "Time": datetime.fromtimestamp(self.time, UTC),
        }


def events_of(record: Mapping[str, Any]) -> list[DomainEvent]:
    """The events one DynamoDB stream record (as Lambda delivers it) announces, in order."""
    change = record.get("dynamodb") or {}
    new = from_item(change.get("NewImage"))
    if record.get("eventName") not in ("INSERT", "MODIFY") or not new:
        return []  # a removal (TTL of an old record) announces nothing
    parsed = parse_object_key(new.get("pk", ""))
    if parsed is None:
        return []  # not an object (the client_token, old notice records)
    kind, ref = parsed
    old = from_item(change.get("OldImage")) or {}
    return list(_events(kind, ref, old, new))


def _events(kind: Kind, ref: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[DomainEvent]:
    changed_at = int(new.get("updated_at") or new.get("created_at") or 0)
    status, previous = new.get("status"), old.get("status")
    common = {"kind": kind.value, "ref": ref, "protocol": protocol_of(new.get("protocol")).value}
    public = view(kind, new, pay_params=None)
    pk = new["pk"]

    def event(detail_type: str, identity: str, **extra: Any) -> DomainEvent:
        detail = {
            "event_id": hashlib.sha256(f"{pk}|{identity}".encode()).hexdigest()[:32],
            "version": SCHEMA_VERSION,
            **common,
            "status": status,
            "previous_status": previous,
            "changed_at": changed_at,
            **extra,
            "object": public,
        }
        return DomainEvent(detail_type, detail, changed_at)

    # A denial is one write (audit DENIED, refund FAILED): the decision is announced before its effect.
    audit, audit_before = new.get("audit_status"), old.get("audit_status")
    if audit != audit_before and audit in AUDIT_EVENTS:
        yield event(AUDIT_EVENTS[audit], f"audit|{audit_before}|{audit}")
    if status != previous and (kind, status) in STATUS_EVENTS:
        yield event(STATUS_EVENTS[kind, status], f"status|{previous}|{status}")
    for mark, detail_type in ORDER_MARKS.items() if kind is Kind.ORDER else ():
        if new.get(mark) and not old.get(mark):
            yield event(detail_type, "fulfilled" if mark == "fulfilled_at" else mark)
    anomalies, known = new.get("anomalies") or [], len(old.get("anomalies") or [])
    for index, anomaly in enumerate(anomalies[known:], start=known):
        yield event(ANOMALY, f"anomaly|{index}", anomaly=anomaly)
