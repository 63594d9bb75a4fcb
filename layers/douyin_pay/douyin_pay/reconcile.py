"""When to ask the platform again, and the queue that carries the question.

The backoff schedule, written down (architecture.md "Reconcile"):

* an **order** is checked 1, 2, 5, 10 and then every 15 minutes after it was created, until the
  platform reports it paid or timed out; past ``valid_time`` + 1 h without an answer it is given up;
* a **refund** or **settlement** is checked 15 s after it was accepted (refund callbacks often
  arrive 10 s or more late), then 30 s, 1, 2, 5, 10 and every 15 minutes, for up to 10 days (refunds
  reach bank cards within 7 days, ecpay-spec §3.3);
* err_no 1001 (rate limited) waits at least a minute; every delay gets ±10 % jitter so a burst of
  objects created together does not query in lockstep; SQS caps a delay at 900 s.

Each step re-enqueues a fresh message (it does not count against the queue's ``maxReceiveCount``);
the attempt count lives on the item. Exhausted objects are parked in the dead-letter queue, where an
alarm fires, and leave the sweeper's index.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .states import Kind

MAX_SQS_DELAY = 900
RATE_LIMITED_MIN_DELAY = 60
SUBMIT_LEASE = 60  # seconds a create/refund/settle request may hold its claim before others may take over
SWEEP_SLACK = 600  # how late a reconcile step may run before the sweeper treats its message as lost
MESSAGE_VERSION = 1


@dataclass(frozen=True)
class Backoff:
    delays: tuple[int, ...]  # delay before step n; the last one repeats
    max_age: Callable[[Mapping[str, Any]], int]  # seconds after creation to keep trying
    max_attempts: int

    def delay(self, attempt: int, *, rate_limited: bool = False, rng: Callable[[], float] = random.random) -> int:
        base = self.delays[min(attempt, len(self.delays) - 1)]
        if rate_limited:
            base = max(base, RATE_LIMITED_MIN_DELAY)
        jittered = base * (0.9 + 0.2 * rng())
        return max(1, min(MAX_SQS_DELAY, round(jittered)))

    def exhausted(self, item: Mapping[str, Any], attempts: int, now: int) -> bool:
        return attempts >= self.max_attempts or now >= int(item.get("created_at", now)) + self.max_age(item)


DAY = 86_400

SCHEDULES = {
    Kind.ORDER: Backoff(
        delays=(60, 120, 300, 600, 900),
        max_age=lambda item: int(item.get("valid_time", 172_800)) + 3600,
        max_attempts=250,  # 48 h + 1 h at one step per 15 min is under 200
    ),
    Kind.REFUND: Backoff(delays=(15, 30, 60, 120, 300, 600, 900), max_age=lambda item: 10 * DAY, max_attempts=1000),
    Kind.SETTLEMENT: Backoff(delays=(15, 30, 60, 120, 300, 600, 900), max_age=lambda item: 10 * DAY, max_attempts=1000),
}


@dataclass(frozen=True)
class ReconcileMessage:
    kind: Kind
    ref: str

    def body(self) -> str:
        return json.dumps({"v": MESSAGE_VERSION, "kind": self.kind.value, "ref": self.ref}, separators=(",", ":"))

    @classmethod
    def parse(cls, body: str) -> ReconcileMessage:
        """Raises ValueError for a body that is not one of ours (it then goes to the DLQ)."""
        data = json.loads(body)
        if not isinstance(data, dict) or not isinstance(data.get("ref"), str) or not data["ref"]:
            raise ValueError("not a reconcile message")
        return cls(kind=Kind(data.get("kind")), ref=data["ref"])


class ReconcileQueue:
    """Sends reconcile messages (one SQS call each, or one per ten in a batch)."""

    def __init__(self, client: Any, queue_url: str, dlq_url: str | None = None) -> None:
        self.client = client
        self.queue_url = queue_url
        self.dlq_url = dlq_url

    def schedule(self, message: ReconcileMessage, delay: int) -> None:
        self.client.send_message(
            QueueUrl=self.queue_url, MessageBody=message.body(), DelaySeconds=max(0, min(MAX_SQS_DELAY, delay))
        )

    def schedule_now(self, messages: Iterable[ReconcileMessage]) -> int:
        """Enqueue without delay, ten per call; returns how many were accepted."""
        batch = list(messages)
        sent = 0
        for start in range(0, len(batch), 10):
            entries = [{"Id": str(i), "MessageBody": m.body()} for i, m in enumerate(batch[start : start + 10])]
            response = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            sent += len(response.get("Successful", []))
        return sent

    def park(self, message: ReconcileMessage, reason: str) -> None:
        """Move an object that ran out of attempts to the dead-letter queue (an alarm watches it)."""
        if not self.dlq_url:
            raise RuntimeError("no dead-letter queue configured")
        body = json.dumps({**json.loads(message.body()), "reason": reason}, separators=(",", ":"))
        self.client.send_message(QueueUrl=self.dlq_url, MessageBody=body)
