"""One timeline of what went between the bundle and the two platforms, newest first.

Rows come from three places:

* the callbacks each simulator sent (``deliveries()``: one :class:`Delivery` per attempt, with the
  attempt number, the duplicate copy, the HTTP status and the start of our answer);
* what each simulator's notifier reports without an attempt (``notifier.status()``): notices it
  dropped on purpose (the ``drop`` switch), deliveries still scheduled (a configured delay, or a
  retry), notices given up after the last retry, and (trade) notices with no URL to go to;
* the platform calls each simulator received, recorded by :mod:`local.console.calls`.

A dropped or unsent notice carries no time of its own, so it is stamped with the simulated time
the console first saw it (the page polls every second).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .calls import CallLog, PlatformCall

SHOWN = 400  # characters of our answer shown
ROWS = 300  # the newest rows returned
# The business number a callback is about, by the names its msg uses (ecpay-spec §6: cp_orderno,
# cp_refundno, cp_settle_no; trade-spec §5: out_order_no, out_refund_no, out_settle_no).
CALLBACK_REF_KEYS = (
    "cp_refundno",
    "cp_settle_no",
    "cp_orderno",
    "out_refund_no",
    "out_settle_no",
    "out_order_no",
    "out_withdraw_no",
)


@dataclass(frozen=True)
class Source:
    """One simulator, as the timeline reads it."""

    protocol: str
    deliveries: Callable[[], list[Any]]
    status: Callable[[], Mapping[str, Any]]  # the notifier's status()
    calls: CallLog
    now: Callable[[], float]


def callback_msg(body: Any) -> dict[str, Any]:
    """The decoded ``msg`` of a callback body (ecpay: a dict; trade: the JSON text)."""
    try:
        envelope = json.loads(body) if isinstance(body, str) else body
        msg = envelope.get("msg")
        decoded = json.loads(msg) if isinstance(msg, str) else msg
    except (ValueError, AttributeError, TypeError):
        return {}
    return decoded if isinstance(decoded, dict) else {}


def ref_of(msg: Mapping[str, Any]) -> str:
    for key in CALLBACK_REF_KEYS:
        if isinstance(msg.get(key), str) and msg[key]:
            return msg[key]
    return ""


def _short(text: str) -> str:
    return text if len(text) <= SHOWN else text[:SHOWN] + "…"


def delivery_event(delivery: Any) -> str:
    """What an attempt was: the first send, a retry of a failed one, or a duplicate copy."""
    if delivery.copy:
        return "duplicated"
    return "retried" if delivery.attempt > 1 else "sent"


def delivery_row(protocol: str, delivery: Any) -> dict[str, Any]:
    return {
        "source": "callback",
        "protocol": protocol,
        "sim_time": delivery.sim_time,
        "event": delivery_event(delivery),
        "type": delivery.type,
        "notice_id": delivery.notice_id,
        "ref": ref_of(callback_msg(delivery.body)),
        "attempt": delivery.attempt,
        "copy": delivery.copy,
        "http_status": delivery.http_status,
        "response": _short(delivery.response),
        "ok": delivery.ok,
        "error": delivery.error,
    }


def call_row(call: PlatformCall) -> dict[str, Any]:
    return {
        "source": "call",
        "protocol": call.protocol,
        "sim_time": call.sim_time,
        "event": "called",
        "type": f"{call.method} {call.path}",
        "ref": call.ref,
        "http_status": call.http_status,
        "request": call.request,
        "response": call.answer,
        "err_no": call.err_no,
    }


class Timeline:
    def __init__(self, sources: list[Source]) -> None:
        self._sources = sources
        self._lock = threading.Lock()
        self._first_seen: dict[tuple[str, str, int], float] = {}

    def _seen(self, protocol: str, event: str, notice_id: int, now: float) -> float:
        with self._lock:
            return self._first_seen.setdefault((protocol, event, notice_id), now)

    def _status_rows(self, source: Source) -> list[dict[str, Any]]:
        status, now, rows = source.status(), source.now(), []
        for event, key in (("dropped", "dropped"), ("not sent", "not_sent")):
            for entry in status.get(key, []):
                rows.append(
                    {
                        "source": "callback",
                        "protocol": source.protocol,
                        "sim_time": self._seen(source.protocol, event, entry["notice_id"], now),
                        "event": event,
                        "type": entry["type"],
                        "notice_id": entry["notice_id"],
                        "ref": ref_of(entry.get("msg") or {}),
                        "error": entry.get("reason", ""),
                    }
                )
        for notice_id in status.get("given_up", []):
            rows.append(
                {
                    "source": "callback",
                    "protocol": source.protocol,
                    "sim_time": self._seen(source.protocol, "given up", notice_id, now),
                    "event": "given up",
                    "notice_id": notice_id,
                }
            )
        for job in status.get("pending", []):
            rows.append(
                {
                    "source": "callback",
                    "protocol": source.protocol,
                    "sim_time": job["due"],
                    "event": "scheduled",
                    "type": job["type"],
                    "notice_id": job["notice_id"],
                    "attempt": job["attempt"],
                }
            )
        return rows

    def rows(self, limit: int = ROWS) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for source in self._sources:
            refs: dict[int, str] = {}
            for delivery in source.deliveries():
                row = delivery_row(source.protocol, delivery)
                refs[delivery.notice_id] = row["ref"]
                rows.append(row)
            for row in self._status_rows(source):
                row.setdefault("ref", refs.get(row["notice_id"], ""))
                rows.append(row)
            rows.extend(call_row(c) for c in source.calls.calls())
        rows.sort(key=lambda r: r["sim_time"], reverse=True)
        return rows[:limit]
