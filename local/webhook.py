"""The merchant webhook, locally: the template's API destination (MerchantWebhookRule → connection
→ HTTPS endpoint), and a receiver standing for the merchant's backend outside AWS.

moto keeps rules but does not call API destinations, so :class:`ApiDestination` does what
EventBridge does for the rule: it takes each event matching the rule's pattern (through a queue the
rule targets), POSTs it as JSON with the connection's API-key header, retries a failed delivery
(no answer, 429 or 5xx) with backoff until the event is 24 h old (simulated), and moves what it
gives up on — or what the endpoint refuses with another 4xx — to the dead-letter queue.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from .aws_resources import load_template

MAX_EVENT_AGE = 86400  # the template's RetryPolicy.MaximumEventAgeInSeconds


def rule_pattern(template: dict[str, Any] | None = None) -> dict[str, Any]:
    return (template or load_template())["Resources"]["MerchantWebhookRule"]["Properties"]["EventPattern"]


@dataclass
class WebhookReceiver:
    """The merchant's HTTPS endpoint, on loopback: records what arrives, answers ``status``."""

    header: str
    value: str
    status: int = 200
    received: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0  # requests without the right header
    _server: ThreadingHTTPServer | None = None
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get(receiver.header) != receiver.value:
                    status = 401  # what a receiver must check first
                    receiver.refused += 1
                else:
                    status = receiver.status
                    if status < 300:
                        with receiver._cond:
                            receiver.received.append(json.loads(body))
                            receiver._cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/douyin-pay/events"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class ApiDestination:
    """Delivers the events a queue receives from the webhook rule to ``url``."""

    def __init__(
        self,
        session: Any,
        queue_url: str,
        dlq_url: str,
        url: str,
        header: str,
        value: str,
        *,
        clock: Callable[[], float],
        retry_after: float = 0.2,
    ) -> None:
        self._sqs = session.client("sqs")
        self._queue, self._dlq = queue_url, dlq_url
        self._url, self._headers = url, {header: value, "Content-Type": "application/json"}
        self._clock = clock
        self._retry_after = retry_after  # real seconds before a failed delivery is tried again
        self._http = requests.Session()

    def close(self) -> None:
        self._sqs.close()
        self._http.close()

    def deliver_once(self) -> int:
        """One pass over what is waiting; returns how many events were delivered."""
        delivered = 0
        got = self._sqs.receive_message(QueueUrl=self._queue, MaxNumberOfMessages=10, VisibilityTimeout=1)
        for message in got.get("Messages", []):
            event = json.loads(message["Body"])
            outcome = self._post(message["Body"])
            if outcome == "retry" and self._clock() - _event_time(event) < MAX_EVENT_AGE:
                self._sqs.change_message_visibility(
                    QueueUrl=self._queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
                continue
            if outcome != "delivered":
                self._sqs.send_message(QueueUrl=self._dlq, MessageBody=message["Body"])
            else:
                delivered += 1
            self._sqs.delete_message(QueueUrl=self._queue, ReceiptHandle=message["ReceiptHandle"])
        return delivered

    def _post(self, body: str) -> str:
        try:
            answer = self._http.post(self._url, data=body.encode(), headers=self._headers, timeout=5)
        except requests.RequestException:
            return "retry"
        if answer.status_code < 300:
            return "delivered"
        return "retry" if answer.status_code == 429 or answer.status_code >= 500 else "dead"


def _event_time(event: dict[str, Any]) -> float:
    from datetime import datetime

    return datetime.fromisoformat(event["time"].replace("Z", "+00:00")).timestamp()
