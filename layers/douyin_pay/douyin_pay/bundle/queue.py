"""The reconcile queue: the message that asks for one reconcile step, and the SQS calls that carry it.

Each step re-enqueues a fresh message (it does not count against the queue's ``maxReceiveCount``);
objects that ran out of attempts are parked in the dead-letter queue, where an alarm fires.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .platforms.protocol import LEGACY_PROTOCOL, PaymentProtocol, protocol_of
from .schedule import MAX_SQS_DELAY
from .states import Kind

MESSAGE_VERSION = 1


@dataclass(frozen=True)
class ReconcileMessage:
    """One object to reconcile, as its SQS message names it."""

    kind: Kind
    ref: str
    protocol: PaymentProtocol = LEGACY_PROTOCOL

    def body(self) -> str:
        return json.dumps(
            {"v": MESSAGE_VERSION, "kind": self.kind.value, "ref": self.ref, "protocol": self.protocol.value},
            separators=(",", ":"),
        )

    @classmethod
    def parse(cls, body: str) -> ReconcileMessage:
        """Raises ValueError for a body that is not one of ours (it then goes to the DLQ)."""
        data = json.loads(body)
        if not isinstance(data, dict) or not isinstance(data.get("ref"), str) or not data["ref"]:
            raise ValueError("not a reconcile message")
        # A message sent before messages named their protocol is ecpay's (protocol_of).
        return cls(kind=Kind(data.get("kind")), ref=data["ref"], protocol=protocol_of(data.get("protocol")))


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
