"""Drives the real handlers in-process: moto for AWS (table and queues created from template.yaml),
the Douyin simulator on loopback for the platform, events built like API Gateway / Function URLs /
SQS deliver them, and a botocore hook that counts every AWS call per operation."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from douyin_pay.bundle import runtime
from local.aws_resources import FUNCTIONS, Resources, function_environment
from local.douyin_sim.signatures import callback_signature
from local.events import function_url_event, http_api_v2_event, iam_caller, lambda_context, schedule_event, sqs_event
from local.functions import Functions, load_handler
from local.gateway import api_routes
from tests.local.trade_helpers import new_key as new_rsa_key

REPO = Path(__file__).resolve().parents[2]
APP_ID = "tt0123456789abcdef"
SALT = "bundle-test-salt"
TOKEN = "bundle-test-token"
OLD_TOKEN = "bundle-previous-token"
APP_SECRET = "bundle-test-app-secret"  # the mini-program's AppSecret: order sync's access_token
CALLBACK_URL = "https://callback.localhost/"
TRADE_CLIENT_SECRET = "bundle-test-trade-secret"
TRADE_KEY_VERSION = "1"


TRADE_APP_KEY = new_rsa_key()  # the bundle signs tt.requestOrder data with it; the simulator has its public half

_MODULE_OF = {v: k for k, v in FUNCTIONS.items()}
ROUTES = {route.route_key: route.function for route in api_routes()}  # "POST /payments" -> logical id


@dataclass
class AwsCalls:
    """Counts API calls made through the handlers' boto3 clients (botocore before-call hook)."""

    calls: list[str] = field(default_factory=list)
    params: list[tuple[str, dict]] = field(default_factory=list)

    def hook(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)

    def params_hook(self, model: Any, params: dict, **_: Any) -> None:
        self.params.append((model.name, dict(params)))

    def sent(self) -> list[dict]:
        """Bodies of SendMessage calls: queue URL, message body and delay."""
        return [p for name, p in self.params if name == "SendMessage"]

    def count(self) -> Counter:
        return Counter(self.calls)

    def reset(self) -> None:
        self.calls.clear()
        self.params.clear()


@dataclass
class Clock:
    """The service's clock in tests: real time until a test moves it forward."""

    offset: float = 0.0

    def __call__(self) -> float:
        import time

        return time.time() + self.offset


@dataclass
class Bundle:
    resources: Resources
    sim: Any
    calls: AwsCalls
    session: Any
    clock: Clock = field(default_factory=Clock)
    trade_sim: Any = None  # the trade-system simulator, when the stack speaks it
    _stream: Any = None

    def publish(self) -> int:
        """Run the stream consumer over every change written since the last call, as Lambda's
        DynamoDB event source would (retrying from a record it reports as failed). Returns how
        many records were delivered."""
        from local.streams import StreamSource

        if self._stream is None:
            self._stream = StreamSource(self.session, self.resources.table_name)
        return self._stream.poll(lambda event: self.invoke("publish_events", event))

    def another_callback_environment(self) -> None:
        """The next callbacks land in another execution environment: one that has taken no notice
        yet (its clients stay the ones these tests count and meter)."""
        runtime.callbacks.cache_clear()

    def advance(self, seconds: float) -> None:
        """Move time forward for the bundle and the platforms together."""
        self.clock.offset += seconds
        self.sim.advance(seconds)
        if self.trade_sim is not None:
            self.trade_sim.advance(seconds)

    # -- invoking ------------------------------------------------------------------------------

    def invoke(self, name: str, event: dict) -> Any:
        module = load_handler(name)
        logical_id = _MODULE_OF[name]
        return module.lambda_handler(event, lambda_context(logical_id, timeout_ms=Functions.timeout_ms(logical_id)))

    def api_response(
        self,
        method: str,
        path: str,
        *,
        route: str,
        body: Any = None,
        query: str | None = None,
        raw: bytes | None = None,
    ) -> dict:
        """The handler's whole answer to an HTTP API request, routed as template.yaml routes it."""
        data = raw if raw is not None else (None if body is None else json.dumps(body, ensure_ascii=False).encode())
        event = http_api_v2_event(
            method,
            path,
            route_key=route,
            query=query,
            body=data,
            iam_caller=iam_caller(),
            headers={"content-type": "application/json"} if data is not None else None,
        )
        return self.invoke(FUNCTIONS[ROUTES[route]], event)

    def api(
        self,
        method: str,
        path: str,
        *,
        route: str,
        body: Any = None,
        query: str | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, dict]:
        response = self.api_response(method, path, route=route, body=body, query=query, raw=raw)
        return response["statusCode"], json.loads(response["body"]) if response.get("body") else {}

    def create_payment(self, body: dict) -> tuple[int, dict]:
        return self.api("POST", "/payments", route="POST /payments", body=body)

    def refund(self, out_order_no: str, body: dict) -> tuple[int, dict]:
        return self.api(
            "POST", f"/payments/{out_order_no}/refunds", route="POST /payments/{out_order_no}/refunds", body=body
        )

    def settle(self, out_order_no: str, body: dict) -> tuple[int, dict]:
        return self.api(
            "POST",
            f"/payments/{out_order_no}/settlements",
            route="POST /payments/{out_order_no}/settlements",
            body=body,
        )

    def get(self, what: str, ref: str, *, refresh: bool = False) -> tuple[int, dict]:
        route = {
            "payments": "GET /payments/{out_order_no}",
            "refunds": "GET /refunds/{out_refund_no}",
            "settlements": "GET /settlements/{out_settle_no}",
        }[what]
        return self.api("GET", f"/{what}/{ref}", route=route, query="refresh=true" if refresh else None)

    def callback(self, body: bytes, *, base64: bool = False, headers: dict[str, str] | None = None) -> tuple[int, dict]:
        event = function_url_event(
            "POST",
            "/",
            headers={"content-type": "application/json", **(headers or {})},
            body=body,
            force_base64=base64,
        )
        response = self.invoke("callback", event)
        return response["statusCode"], json.loads(response["body"])

    def sync_orders(self) -> dict[str, int]:
        """Lambda's SQS event source over the order-sync queue, once: every visible message (the
        bus's ecpay order and refund events, routed by the template's rule) goes to the consumer in
        one batch; those it reports as failed stay on the queue. Returns {"delivered", "failed"}."""
        sqs = self.session.client("sqs")
        url = self.resources.order_sync_queue_url
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
        if not messages:
            return {"delivered": 0, "failed": 0}
        answer = self.invoke("sync_orders", sqs_event(messages, queue_arn=self.resources.order_sync_queue_arn))
        failed = {f["itemIdentifier"] for f in (answer or {}).get("batchItemFailures", [])}
        for m in messages:
            if m["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return {"delivered": len(messages), "failed": len(failed)}

    def propagate(self) -> None:
        """The stream's changes to the bus, then the order-sync consumer: what the stack does after a write."""
        self.publish()
        while self.sync_orders()["delivered"]:
            self.publish()

    def reconcile(self, messages: list[str]) -> dict:
        return self.invoke("reconcile", sqs_event([{"body": m} for m in messages]))

    def sweep(self) -> dict:
        return self.invoke("sweeper", schedule_event())

    def put_secret(
        self, *, salt: str = SALT, tokens: tuple[str, ...] = (TOKEN, OLD_TOKEN), app_secret: str = APP_SECRET
    ) -> None:
        """Change the payment secret and drop the 5-minute cache, as a rotation eventually does."""
        value = {"salt": salt, "tokens": list(tokens), "app_secret": app_secret}
        self.session.client("secretsmanager").put_secret_value(
            SecretId=self.resources.secret_id, SecretString=json.dumps(value)
        )
        runtime.secret_cache().clear()

    def tamper_order(self, out_order_no: str, *, remove: tuple[str, ...] = (), **attributes: Any) -> None:
        """Set (plain values) or remove attributes of a stored order behind the bundle's back: an item
        from an older version, a hand edit, a counter at its limit."""
        from douyin_pay.bundle.states import Kind
        from douyin_pay.bundle.store import Change, Store, object_key

        store = Store(self.resources.table_name, self.session.client("dynamodb"))
        store.update(object_key(Kind.ORDER, out_order_no), Change(set=attributes, remove=remove))

    # -- inspecting ----------------------------------------------------------------------------

    def item(self, pk: str, sk: str) -> dict | None:
        from douyin_pay.bundle.store import from_item

        got = self.session.client("dynamodb").get_item(
            TableName=self.resources.table_name, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
        )
        return from_item(got.get("Item"))

    def table_items(self) -> list[dict]:
        from douyin_pay.bundle.store import from_item

        items = self.session.client("dynamodb").scan(TableName=self.resources.table_name)["Items"]
        return [from_item(i) for i in items]

    def queued(self, url: str | None = None, wait: int = 0) -> list[dict]:
        """Receive (and delete) every message currently visible on the queue (delays ignored by
        reading ApproximateNumberOfMessagesDelayed separately when needed)."""
        sqs = self.session.client("sqs")
        out = []
        while True:
            got = sqs.receive_message(
                QueueUrl=url or self.resources.queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
            )
            messages = got.get("Messages", [])
            if not messages:
                return out
            for m in messages:
                out.append(m)
                sqs.delete_message(QueueUrl=url or self.resources.queue_url, ReceiptHandle=m["ReceiptHandle"])

    def queue_depth(self, url: str | None = None) -> int:
        attrs = self.session.client("sqs").get_queue_attributes(
            QueueUrl=url or self.resources.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesDelayed"])


def notice_body(
    type_: str, msg: dict, *, token: str = TOKEN, timestamp: str | None = None, nonce: str = "4821"
) -> bytes:
    """An ecpay callback body, signed now by the bundle's clock unless ``timestamp`` says when."""
    from douyin_pay.bundle import runtime

    timestamp = str(int(runtime.now())) if timestamp is None else timestamp
    text = json.dumps(msg, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(
        {
            "msg": text,
            "msg_signature": callback_signature(token, timestamp, nonce, text),
            "nonce": nonce,
            "timestamp": timestamp,
            "type": type_,
        },
        ensure_ascii=False,
    ).encode()


def payment_msg(out_order_no: str, amount: int, *, app_id: str = APP_ID, order_id: str = "N1") -> dict:
    return {
        "appid": app_id,
        "cp_orderno": out_order_no,
        "cp_extra": "",
        "way": "10",
        "channel_no": "ch1",
        "channel_gateway_no": "",
        "payment_order_no": "P1",
        "out_channel_order_no": "",
        "total_amount": amount,
        "status": "SUCCESS",
        "seller_uid": "S1",
        "extra": "",
        "item_id": "",
        "paid_at": int(time.time()),  # now: a payment a year old could no longer be refunded
        "message": "",
        "order_id": order_id,
    }


def refund_msg(out_refund_no: str, amount: int, status: str = "SUCCESS") -> dict:
    return {
        "appid": APP_ID,
        "cp_refundno": out_refund_no,
        "cp_extra": "",
        "status": status,
        "refund_amount": amount,
        "is_all_settled": False,
        "refunded_at": 1764072100,
        "message": "",
        "order_id": "N1",
        "refund_no": "R1",
    }


def settle_msg(out_settle_no: str, out_order_no: str, status: str = "SUCCESS") -> dict:
    return {
        "app_id": APP_ID,
        "cp_settle_no": out_settle_no,
        "cp_extra": "",
        "status": status,
        "rake": 60,
        "commission": 0,
        "settle_detail": "",
        "settled_at": 1764072200,
        "message": "",
        "order_id": "N1",
        "channel_settle_id": "",
        "settle_amount": 9940,
        "settle_no": "S1",
        "out_order_no": out_order_no,
        "is_auto_settle": False,
    }


def environment(
    resources: Resources, base_url: str, *, order_sync: str = "off", settle_cycle_days: int = 0, **trade: str
) -> dict[str, str]:
    """The union of every function's template environment (handlers share one process here).
    ``trade``: ``protocol``, ``refund_audit``, ``trade_base_url`` for a trade-system stack.
    ``order_sync`` is off unless a test turns it on: the other suites settle orders without running
    the order-sync consumer (the simulator's settlement rule is off for them too). The settlement
    cycle is 0 days unless a test sets one: they settle right after the payment."""
    env: dict[str, str] = {}
    for logical_id in FUNCTIONS:
        env.update(
            function_environment(
                logical_id,
                resources,
                app_id=APP_ID,
                callback_url=CALLBACK_URL,
                base_url=base_url,
                order_sync=order_sync,
                settle_cycle_days=settle_cycle_days,
                **trade,
            )
        )
    return env


def fresh_callbacks(bundle: Bundle) -> Any:
    """The callback use case with its own boto3 clients: what another execution environment would have."""
    from douyin_pay.bundle.callbacks import Callbacks
    from douyin_pay.bundle.context import Context
    from douyin_pay.bundle.queue import ReconcileQueue
    from douyin_pay.bundle.settings import Settings
    from douyin_pay.bundle.store import Store

    settings = Settings.from_env()
    store = Store(settings.table_name, bundle.session.client("dynamodb"))
    queue = ReconcileQueue(bundle.session.client("sqs"), settings.queue_url, settings.dlq_url)
    platforms = runtime.platforms(runtime.API_QUERY_ATTEMPTS)
    return Callbacks(Context(settings, store, platforms, queue=queue, clock=lambda: runtime.now()))
