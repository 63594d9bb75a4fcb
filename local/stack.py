"""The embedded local stack: the whole bundle on one machine, no AWS account, no Docker.

* AWS: moto's server on loopback; the table, queues and secret created from ``template.yaml``;
* the platform: the Douyin simulator, pushing signed callbacks to the local Function URL;
* the front doors: an API gateway (HTTP API payload 2.0) and the callback Function URL;
* the event sources: an SQS poller feeding the reconcile function in batches (honouring
  ReportBatchItemFailures, the visibility timeout and the redrive to the DLQ), and the sweeper on
  its schedule.

Time is compressed: the simulator's clock runs ``speed`` times faster than real time, the bundle
reads the same clock, and SQS delays and visibility timeouts are divided by ``speed`` at the local
boundary (a botocore hook on the bundle's SQS client), so a 60 s reconcile backoff takes 2 s at 30×.

Run ``python -m local.stack`` (``make dev``) to keep it running and print URLs and curl examples
(``--help`` for the ports, ``--speed``, ``--quiet``; the exit codes are those of local/shutdown.py).
"""

from __future__ import annotations

import argparse
import errno
import logging
import math
import os
import secrets
import signal
import socket
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

from .aws_resources import (
    FUNCTIONS,
    Resources,
    function_environment,
    load_template,
    provision,
    resource,
    sqs_batch_size,
)
from .douyin_sim import DouyinSimulator, SimulatorConfig
from .events import schedule_event, sqs_event
from .functions import Functions, load_handler
from .gateway import LOOPBACK, HttpFront, api_gateway, function_url
from .moto_atomic import make_dynamodb_atomic
from .rsa_keys import new_key, public_pem
from .shutdown import CHECK_FAILED, OK, USAGE, StopSignals, positive
from .trade_sim import TradeSimulator, TradeSimulatorConfig
from .webhook import WebhookReceiver

REGION = "us-east-1"
# The https notify_url the platform is given (it insists on https); the simulator delivers it to
# the local Function URL on loopback.
CALLBACK_URL = "https://callback.localhost/"


@dataclass(frozen=True)
class StackPorts:
    """The loopback ports the stack listens on; 0 = any free port (what the tests and the demo use,
    so that runs never collide). ``python -m local.stack`` picks fixed ones (its ``--*-port`` options)."""

    api: int = 0
    callback: int = 0
    sim: int = 0
    trade_sim: int = 0
    aws: int = 0
    console: int = 0


@dataclass
class StackConfig:
    app_id: str = "tt0123456789abcdef"
    speed: float = 30.0
    sweep_every: float = 300.0  # simulated seconds, as the template's rate(5 minutes)
    poll_wait: float = 0.2  # real seconds between empty receives
    simulator: dict[str, Any] = field(default_factory=dict)  # extra SimulatorConfig switches
    log_level: str = "WARNING"
    protocol: str = "ecpay"  # the template's Protocol: which protocol new orders use
    refund_audit: str = "manual"  # the template's RefundAuditPolicy
    trade_simulator: dict[str, Any] = field(default_factory=dict)  # extra TradeSimulatorConfig switches
    webhook: bool = True  # the template's MerchantWebhookUrl set: events also go to a receiver on loopback
    order_sync: str = "on"  # the template's OrderSync: push ecpay orders' statuses to the simulator
    settle_after: str = "payment"  # the template's SettleAfter (the simulator applies the same rule)
    settle_cycle_days: int = 7  # the template's SettleCycleDays
    console: bool = True  # the local console (local/console/): a page on loopback to watch and drive payments
    ports: StackPorts = field(default_factory=StackPorts)


class LocalStack:
    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        # Fresh secrets per run: they only ever exist inside this process and the simulator.
        self._salt = secrets.token_hex(16)
        self._token = secrets.token_hex(16)
        self._trade_secret = secrets.token_hex(16)
        self._app_secret = secrets.token_hex(16)  # the mini-program's AppSecret (order sync's access_token)
        self._app_key = new_key()  # the team's RSA-2048 app key; its public half is "uploaded"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._saved_env: dict[str, str | None] = {}
        self.functions = Functions(discard_metrics=True)
        self.errors: list[BaseException] = []  # failures of the stack's own threads
        self.invocation_errors: list[BaseException] = []  # functions that raised (Lambda would retry)
        self.moto: Any = None
        self.sim: DouyinSimulator | None = None
        self.trade_sim: TradeSimulator | None = None
        self.api: HttpFront | None = None
        self.callback: HttpFront | None = None
        self.resources: Resources | None = None
        self.merchant_queue_url: str | None = None  # the merchant's subscription to the domain events
        self.webhook: WebhookReceiver | None = None  # the merchant's backend outside AWS
        self.webhook_dlq_url: str | None = None
        self.console: Any = None  # local.console.Console, when config.console
        self._webhook_value = secrets.token_hex(16)
        self.session: Any = None
        self._clients: dict[str, Any] = {}

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> LocalStack:
        from local.moto_server import MotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
        # An invocation that only refused input has no metric; Powertools warns each time.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        make_dynamodb_atomic()
        self.moto = MotoServer(LOOPBACK, self.config.ports.aws)
        self.moto.start()
        host, port = self.moto.get_host_and_port()
        self._set_env(
            {
                "AWS_ENDPOINT_URL": f"http://{host}:{port}",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_SESSION_TOKEN": None,
                "AWS_PROFILE": None,
            }
        )
        import boto3

        self.session = boto3.Session(region_name=REGION)
        prefix = f"local-{secrets.token_hex(3)}"
        self.resources = provision(
            self.session, prefix=prefix, salt=self._salt, tokens=[self._token], trade=None, app_secret=self._app_secret
        )

        self.callback = function_url(self.functions, port=self.config.ports.callback).start()
        self.api = api_gateway(self.functions, port=self.config.ports.api).start()
        sim_config = SimulatorConfig(
            self.config.app_id,
            self._salt,
            self._token,
            app_secret=self._app_secret,
            speed=self.config.speed,
            settle_cycle_days=self.config.settle_cycle_days,
            settle_after=self.config.settle_after,
            deliver_to={CALLBACK_URL.rstrip("/"): self.callback.url},
            port=self.config.ports.sim,
            **self.config.simulator,
        )
        self.sim = DouyinSimulator(sim_config).start()
        trade_config = TradeSimulatorConfig(
            app_id=self.config.app_id,
            client_secret=self._trade_secret,
            app_public_keys={APP_KEY_VERSION: public_pem(self._app_key)},
            default_notify_url=CALLBACK_URL,  # the URL "published" in the console's solution settings
            deliver_to={CALLBACK_URL.rstrip("/"): self.callback.url},
            speed=self.config.speed,
            port=self.config.ports.trade_sim,
            **self.config.trade_simulator,
        )
        # Both platforms on one simulated time, which the bundle reads too.
        self.trade_sim = TradeSimulator(trade_config, clock=self.sim.clock).start()
        self._put_trade_secret()

        env: dict[str, str | None] = {}
        for logical_id in FUNCTIONS:
            env.update(
                function_environment(
                    logical_id,
                    self.resources,
                    app_id=self.config.app_id,
                    callback_url=CALLBACK_URL,
                    base_url=self.sim.base_url,
                    log_level=self.config.log_level,
                    protocol=self.config.protocol,
                    refund_audit=self.config.refund_audit,
                    trade_base_url=self.trade_sim.base_url,
                    order_sync=self.config.order_sync,
                    settle_after=self.config.settle_after,
                    settle_cycle_days=self.config.settle_cycle_days,
                )
            )
        env["POWERTOOLS_METRICS_DISABLED"] = "true"  # EMF lines would drown the demo's timeline
        self._set_env(env)
        self._wire_runtime()
        for name in FUNCTIONS.values():  # Lambda's init phase: import every handler before serving
            load_handler(name)
        self._subscribe_merchant()
        if self.config.webhook:
            self._start_webhook()
        self._spawn(lambda: self._poll_queue("ReconcileFunction", "ReconcileQueue"), "sqs-poller")
        if self.config.order_sync == "on":
            self._spawn(lambda: self._poll_queue("SyncOrdersFunction", "OrderSyncQueue"), "order-sync-poller")
        self._spawn(self._poll_table_stream, "stream-poller")
        self._spawn(self._sweep_on_schedule, "sweeper-schedule")
        if self.config.console:
            from .console import Console

            self.console = Console(self, port=self.config.ports.console).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self.console:
            self.console.stop()
        for thread in self._threads:
            thread.join(timeout=10)
        for part in (self.api, self.callback, self.webhook, self.trade_sim, self.sim):
            if part:
                part.stop()
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        if self.moto:
            self.moto.close()
        from douyin_pay.bundle import runtime

        runtime.reset()
        runtime.now = time.time
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- wiring ---------------------------------------------------------------------------------

    def _put_trade_secret(self) -> None:
        """The trade system's keys join the stack's secret (they exist only after its simulator
        made its platform key): what a team pastes from the console."""
        import json

        assert self.trade_sim is not None
        assert self.resources is not None
        client = self.session.client("secretsmanager")
        try:
            value = json.loads(client.get_secret_value(SecretId=self.resources.secret_id)["SecretString"])
            value["webhook_auth_value"] = self._webhook_value  # what the template's connection reads
            value["trade"] = {
                "client_secret": self._trade_secret,
                "private_key": self._app_key,
                "key_version": APP_KEY_VERSION,
                "platform_public_keys": [self.trade_sim.platform_public_key_pem],
            }
            client.put_secret_value(SecretId=self.resources.secret_id, SecretString=json.dumps(value))
        finally:
            client.close()

    def advance(self, seconds: float) -> None:
        """Move simulated time forward for both platforms and the bundle."""
        assert self.sim is not None
        assert self.trade_sim is not None
        self.sim.advance(seconds)
        self.trade_sim.advance(0)  # the clock is shared: wake its delivery thread

    def _set_env(self, values: dict[str, str | None]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def _wire_runtime(self) -> None:
        from douyin_pay.bundle import runtime

        runtime.reset()
        assert self.sim is not None
        runtime.now = self.sim.clock.now  # the bundle and the platform share simulated time
        speed = self.config.speed

        def compress_delays(params: dict[str, Any], **_: Any) -> None:
            if "DelaySeconds" in params:
                params["DelaySeconds"] = math.ceil(params["DelaySeconds"] / speed)
            for entry in params.get("Entries", []):
                if "DelaySeconds" in entry:
                    entry["DelaySeconds"] = math.ceil(entry["DelaySeconds"] / speed)
            if "VisibilityTimeout" in params:  # a consumer's own backoff (ChangeMessageVisibility)
                params["VisibilityTimeout"] = math.ceil(params["VisibilityTimeout"] / speed)

        runtime.aws_client("sqs").meta.events.register("before-parameter-build.sqs", compress_delays)

    def _spawn(self, target: Any, name: str) -> None:
        def guarded() -> None:
            try:
                target()
            except BaseException as exc:  # noqa: BLE001 - surfaced through self.errors
                self.errors.append(exc)

        thread = threading.Thread(target=guarded, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # -- event sources --------------------------------------------------------------------------

    def _poll_queue(self, function: str, queue_id: str) -> None:
        """Lambda's SQS event source mapping, locally: receive a batch, invoke, delete what
        succeeded; failed records reappear after the visibility timeout (or the one the function
        set) and, after maxReceiveCount receives, SQS itself moves them to the DLQ (moto implements
        redrive)."""
        assert self.resources is not None
        url, arn = {
            "ReconcileQueue": (self.resources.queue_url, self.resources.queue_arn),
            "OrderSyncQueue": (self.resources.order_sync_queue_url, self.resources.order_sync_queue_arn),
        }[queue_id]
        sqs = self._clients[f"poller-{queue_id}"] = self.session.client("sqs")  # its own connection pool
        queue = resource(queue_id)["Properties"]
        visibility = max(1, math.ceil(int(queue["VisibilityTimeout"]) / self.config.speed))
        batch_size = sqs_batch_size(function)
        while not self._stop.is_set():
            got = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=batch_size,
                VisibilityTimeout=visibility,
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            messages = got.get("Messages", [])
            if not messages:
                self._stop.wait(self.config.poll_wait)
                continue
            try:
                answer = self.functions.invoke(function, sqs_event(messages, queue_arn=arn))
                failed = {f["itemIdentifier"] for f in (answer or {}).get("batchItemFailures", [])}
            except Exception as exc:  # noqa: BLE001 - an invocation error returns the whole batch, as in Lambda
                self.invocation_errors.append(exc)
                failed = {m["MessageId"] for m in messages}
            done = [m for m in messages if m["MessageId"] not in failed]
            if done:
                sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
                )

    def _subscribe_merchant(self) -> None:
        """What a merchant does with the bus: a rule sending every domain event to its queue."""
        import json

        from douyin_pay.bundle.domain_events import SOURCE

        assert self.resources is not None
        sqs, events = self._client("sqs"), self._client("events")
        self.merchant_queue_url = sqs.create_queue(QueueName=f"{self.resources.event_bus}-merchant")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.merchant_queue_url, AttributeNames=["QueueArn"])
        bus = self.resources.event_bus
        events.put_rule(Name="merchant", EventBusName=bus, EventPattern=json.dumps({"source": [SOURCE]}))
        events.put_targets(
            Rule="merchant", EventBusName=bus, Targets=[{"Id": "merchant", "Arn": arn["Attributes"]["QueueArn"]}]
        )

    def _start_webhook(self) -> None:
        """MerchantWebhookUrl, locally: the rule's events go through a queue to an emulated API
        destination (local/webhook.py), which POSTs them to a receiver with the connection's header."""
        import json

        from .webhook import ApiDestination, WebhookReceiver, rule_pattern

        assert self.resources is not None
        header = load_template()["Parameters"]["MerchantWebhookAuthHeader"]["Default"]
        self.webhook = WebhookReceiver(header, self._webhook_value).start()
        sqs, events = self._client("sqs"), self._client("events")
        bus = self.resources.event_bus
        queue = sqs.create_queue(QueueName=f"{bus}-webhook")["QueueUrl"]
        dlq = sqs.create_queue(QueueName=f"{bus}-webhook-dlq")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="merchant-webhook", EventBusName=bus, EventPattern=json.dumps(rule_pattern()))
        events.put_targets(Rule="merchant-webhook", EventBusName=bus, Targets=[{"Id": "webhook", "Arn": arn}])
        self.webhook_dlq_url = dlq
        destination = ApiDestination(
            self.session, queue, dlq, self.webhook.url, header, self._webhook_value, clock=self.sim.clock.now
        )

        def deliver() -> None:
            try:
                while not self._stop.is_set():
                    if not destination.deliver_once():
                        self._stop.wait(self.config.poll_wait)
            finally:
                destination.close()

        self._spawn(deliver, "api-destination")

    def _poll_table_stream(self) -> None:
        """Lambda's DynamoDB stream event source, locally (local/streams.py): every change goes to
        PublishEventsFunction, which publishes its domain events to the stack's bus."""
        from .streams import StreamSource

        assert self.resources is not None
        source = StreamSource(self.session, self.resources.table_name)
        try:
            while not self._stop.is_set():
                try:
                    delivered = source.poll(lambda event: self.functions.invoke("PublishEventsFunction", event))
                except Exception as exc:  # noqa: BLE001 - an invocation error: the records are read again
                    self.invocation_errors.append(exc)
                    delivered = 0
                if not delivered:
                    self._stop.wait(self.config.poll_wait)
        finally:
            source.close()

    def merchant_events(self) -> list[dict[str, Any]]:
        """The domain events that reached the merchant's queue since the last call, in arrival order."""
        import json

        sqs, out = self._client("sqs"), []
        while True:
            got = sqs.receive_message(QueueUrl=self.merchant_queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return out
            for message in got:
                out.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.merchant_queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _sweep_on_schedule(self) -> None:
        period = self.config.sweep_every / self.config.speed
        while not self._stop.wait(period):
            try:
                self.functions.invoke("SweeperFunction", schedule_event())
            except Exception as exc:  # noqa: BLE001 - the next schedule runs it again, as EventBridge would
                self.invocation_errors.append(exc)

    # -- conveniences for the demo, dev mode and tests ------------------------------------------

    def sign_notice(self, type_: str, msg: dict[str, Any], *, token: str | None = None) -> bytes:
        """A callback body signed as the platform signs it (``token`` to forge one).

        Signed by the simulator's code, not the SDK's: the bundle verifies with the SDK, and a
        signer shared by both sides would hide a bug in it.
        """
        import json

        from .douyin_sim.signatures import callback_signature

        text = json.dumps(msg, ensure_ascii=False, separators=(",", ":"))
        timestamp, nonce = str(int(self.sim.clock.now())), str(secrets.randbelow(9000) + 1000)
        signature = callback_signature(token or self._token, timestamp, nonce, text)
        return json.dumps(
            {"msg": text, "msg_signature": signature, "nonce": nonce, "timestamp": timestamp, "type": type_},
            ensure_ascii=False,
        ).encode()

    def forge_trade_notice(self, body: str) -> dict[str, str]:
        """Headers that sign ``body`` the trade system's way with a key that is not the platform's:
        what a forger without the platform's private key can do at best."""
        import base64

        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding

        key = serialization.load_pem_private_key(new_key().encode(), password=None)
        timestamp, nonce = str(int(self.sim.clock.now())), secrets.token_hex(16)
        message = f"{timestamp}\n{nonce}\n{body}\n".encode()
        signature = base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()  # type: ignore[union-attr]
        return {
            "content-type": "application/json",
            "Byte-Timestamp": timestamp,
            "Byte-Nonce-Str": nonce,
            "Byte-Signature": signature,
        }

    def _client(self, name: str) -> Any:
        if name not in self._clients:
            self._clients[name] = self.session.client(name)
        return self._clients[name]

    def items(self) -> list[dict[str, Any]]:
        from douyin_pay.bundle.store import from_item

        scan = self._client("dynamodb").scan(TableName=self.resources.table_name, ConsistentRead=True)
        return [from_item(i) for i in scan["Items"]]


APP_KEY_VERSION = "1"


def _console_line(stack: LocalStack) -> str:
    if not stack.console:
        return ""
    return f"  Console (watch and drive payments)         {stack.console.url}\n"


def _urls(stack: LocalStack) -> str:
    """Where each part listens: all that ``--quiet`` prints, and the first thing the full output shows."""
    return f"""  API (HTTP API, SigV4 not checked locally)  {stack.api.url}
  Callback Function URL                      {stack.callback.url}   (the simulators' https notify_url maps here)
  Douyin simulator (ecpay)                   {stack.sim.base_url}
  Trade-system simulator                     {stack.trade_sim.base_url}
  AWS (moto server)                          {os.environ["AWS_ENDPOINT_URL"]}
{_console_line(stack)}""".rstrip("\n")


def _curl_examples(stack: LocalStack) -> str:
    api, sim = stack.api.url, stack.sim.base_url
    return f"""
Local stack is up (time runs {stack.config.speed:g}x; Ctrl-C or SIGTERM stops it and cleans up).

{_urls(stack)}

Create a payment:
  curl -s -X POST {api}/payments -H 'content-type: application/json' \\
    -d '{{"out_order_no":"dev-0001","total_amount":12800,"subject":"拿铁咖啡","body":"拿铁 大杯","open_id":"_000dev-buyer","image_url":"https://cdn.example.com/latte.png","order_entry_path":"pages/order/detail?id=dev-0001"}}'
  (open_id, image_url, order_entry_path: order sync (订单同步) pushes every change to the simulator's
  order center, and a settlement waits until it shows 已支付 or 已核销)
Play the user paying in the app (tt.pay), then read the order (the callback makes it PAID):
  curl -s -X POST {sim}/_sim/orders/dev-0001/pay -d '{{"way":10}}'
  curl -s {api}/payments/dev-0001
  curl -s '{api}/payments/dev-0001?refresh=true'
Refund part of it, then read the refund (its callback comes ~12 s later in simulated time):
  curl -s -X POST {api}/payments/dev-0001/refunds -H 'content-type: application/json' \\
    -d '{{"out_refund_no":"dev-r-0001","refund_amount":3000,"reason":"顾客取消一杯"}}'
  curl -s {api}/refunds/dev-r-0001
See what Douyin's order center was told, and mark the order fulfilled (核销):
  curl -s {sim}/_sim/orders/dev-0001/sync
  curl -s -X POST {api}/payments/dev-0001/fulfilment
Settle it once the settlement cycle (SettleCycleDays, 7 days after payment) has passed — before, the
answer is 409 settlement_not_open with opens_at; move simulated time on — then read the settlement:
  curl -s -X POST {sim}/_sim/clock/advance -d '{{"seconds":604800}}'
  curl -s -X POST {api}/payments/dev-0001/settlements -H 'content-type: application/json' \\
    -d '{{"out_settle_no":"dev-s-0001","settle_desc":"订单结算"}}'
  curl -s {api}/settlements/dev-s-0001
Simulator switches (drop or duplicate callbacks, faults) and state:
  curl -s -X POST {sim}/_sim/config -d '{{"drop":["payment"],"duplicates":2}}'
  curl -s -X POST {sim}/_sim/faults -d '{{"endpoint":"query_order","mode":"err_1001","count":3}}'
  curl -s {sim}/_sim/state
"""


def _trade_examples(stack: LocalStack) -> str:
    api, trade = stack.api.url, stack.trade_sim.base_url
    return f"""
Local stack is up with Protocol=trade (time runs {stack.config.speed:g}x; Ctrl-C or SIGTERM stops it and cleans up).

{_urls(stack)}

Create a payment (the answer's pay_params are what tt.requestOrder takes):
  curl -s -X POST {api}/payments -H 'content-type: application/json' \\
    -d '{{"out_order_no":"dev-t-0001","total_amount":12800,"subject":"年度会员","image_url":"https://cdn.example.com/vip.png","goods_type":401,"tag_group_id":"tag_group_7272625659888041996","order_entry_path":"pages/order/detail"}}'
Play the mini-program: tt.requestOrder with those pay_params, then tt.getOrderPayment with its orderId:
  curl -s -X POST {trade}/_sim/client/request_order \\
    -d '{{"data":"<pay_params.data>","byteAuthorization":"<pay_params.byteAuthorization>"}}'
  curl -s -X POST {trade}/_sim/client/get_order_payment -d '{{"orderId":"<orderId>","outcome":"pay","pay_channel":10}}'
  curl -s {api}/payments/dev-t-0001
A user asks for a refund in Douyin that needs your audit; answer it (the pre_create_refund reply in
{trade}/_sim/deliveries names its out_refund_no):
  curl -s -X POST {trade}/_sim/orders/dev-t-0001/user_refund \\
    -d '{{"amount":3000,"need_audit":true,"reason":"不想要了"}}'
  curl -s -X POST {api}/refunds/<out_refund_no>/audit -H 'content-type: application/json' -d '{{"decision":"approve"}}'
Simulator state and switches:
  curl -s {trade}/_sim/state
  curl -s -X POST {trade}/_sim/config -d '{{"drop":["payment"]}}'
"""


# Fixed by default so that bookmarks, curl history and a client's configuration survive a restart;
# 4566 is the port LocalStack (and so most tools' "local AWS" settings) use for every AWS service.
DEFAULT_PORTS = StackPorts(api=8080, callback=8081, sim=8090, trade_sim=8091, aws=4566, console=8088)
PORT_OPTIONS = {
    "api": "--api-port",
    "callback": "--callback-port",
    "sim": "--sim-port",
    "trade_sim": "--trade-sim-port",
    "aws": "--aws-port",
    "console": "--console-port",
}
PORT_HELP = {
    "api": "the API gateway",
    "callback": "the callback Function URL",
    "sim": "the Douyin (ecpay) simulator",
    "trade_sim": "the trade-system simulator",
    "aws": "moto, the local AWS endpoint",
    "console": "the local console (the web page to watch and drive payments)",
}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number (0-65535): {port}")
    return port


# argparse type of ``--speed`` (here and in the demo): positive and finite, since the stack divides
# SQS delays by it.
speed_argument = positive(float)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local.stack",
        description="Keep the local stack running (moto, both Douyin simulators, the API gateway, the "
        "callback Function URL, the SQS and stream pollers and the sweeper) and print its URLs and curl "
        "examples. The first SIGINT (Ctrl-C) or SIGTERM stops everything and exits 0; a second one "
        "during the shutdown exits at once with 130 or 143.",
        epilog="Exit codes: 0 stopped by a signal, everything cleaned up; 1 a background part of the stack "
        "failed; 2 usage error or a port that is not free; 130/143 a second SIGINT/SIGTERM while stopping.",
    )
    parser.add_argument(
        "--protocol",
        choices=("ecpay", "trade"),
        default="ecpay",
        help="the template's Protocol: which protocol new orders use (default: ecpay)",
    )
    for name, option in PORT_OPTIONS.items():
        default = getattr(DEFAULT_PORTS, name)
        parser.add_argument(
            option,
            type=_port,
            default=default,
            metavar="PORT",
            help=f"port of {PORT_HELP[name]} on 127.0.0.1 (default: {default}; 0 = any free port)",
        )
    parser.add_argument(
        "--speed",
        type=speed_argument,
        default=StackConfig.speed,
        help=f"simulated seconds per real second (default: {StackConfig.speed:g})",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print only the URLs, warnings and errors (log level WARNING)"
    )
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        help="the functions' log level (default: INFO, or WARNING with --quiet)",
    )
    return parser


def unusable_ports(ports: StackPorts) -> list[tuple[str, int, str]]:
    """(option, port, reason) for each fixed port the stack could not listen on right now."""
    problems = []
    for name, option in PORT_OPTIONS.items():
        port = getattr(ports, name)
        if not port:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # As the stack's servers bind (http.server sets SO_REUSEADDR): a port a previous run left
            # in TIME_WAIT is free for them, one another process listens on is not.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((LOOPBACK, port))
            except OSError as exc:
                problems.append((option, port, exc.strerror or str(exc)))
    return problems


def _port_problem(option: str, port: int, reason: str) -> str:
    return (
        f"python -m local.stack: cannot listen on {LOOPBACK}:{port} for {option} ({reason}); "
        f"choose another port with {option} PORT, or {option} 0 for any free port"
    )


def _ports(parser: argparse.ArgumentParser, args: argparse.Namespace) -> StackPorts:
    ports = StackPorts(**{name: getattr(args, option[2:].replace("-", "_")) for name, option in PORT_OPTIONS.items()})
    seen: dict[int, str] = {}
    for name, option in PORT_OPTIONS.items():
        if port := getattr(ports, name):
            if port in seen:
                parser.error(f"{seen[port]} and {option} both name port {port}")
            seen[port] = option
    return ports


def _serve(stack: LocalStack, quiet: bool) -> int:
    """Start, print the URLs, wait for the first stop signal, stop; the exit code."""
    with StopSignals() as signals:
        try:
            stack.start()
        except OSError as exc:
            stack.stop()
            if exc.errno != errno.EADDRINUSE:
                raise
            # Taken between the check and the start: name the ports that are still taken.
            for problem in unusable_ports(stack.config.ports) or [("a --*-port option", 0, exc.strerror)]:
                print(_port_problem(*problem), file=sys.stderr)
            return USAGE
        try:
            if quiet:
                print(_urls(stack), flush=True)
            else:
                ecpay = stack.config.protocol == "ecpay"
                print(_curl_examples(stack) if ecpay else _trade_examples(stack), flush=True)
            signum = signals.wait()
            if not quiet:
                print(f"{signal.Signals(signum).name}: stopping…", flush=True)
        finally:
            stack.stop()
    for error in stack.errors:
        print(f"python -m local.stack: a background part failed: {error!r}", file=sys.stderr)
    return CHECK_FAILED if stack.errors else OK


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    ports = _ports(parser, args)
    # Checked before anything starts: moto's server, given a busy port, would wait for ever.
    if problems := unusable_ports(ports):
        for problem in problems:
            print(_port_problem(*problem), file=sys.stderr)
        return USAGE
    log_level = args.log_level or ("WARNING" if args.quiet else "INFO")
    stack = LocalStack(StackConfig(log_level=log_level, protocol=args.protocol, speed=args.speed, ports=ports))
    code = _serve(stack, args.quiet)
    if code == OK and not args.quiet:
        print("stopped; nothing left running", flush=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
