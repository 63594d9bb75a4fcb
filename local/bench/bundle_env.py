"""The bundle in-process: moto (mock_aws) + the Douyin simulator, as tests/bundle/conftest.py sets it up.

This is the only module of the bench that reaches into ``douyin_pay.bundle`` or
``tests.bundle.harness``; the sections use what it exports. When the bundle's API is reshaped,
adapt here. What it relies on:

``douyin_pay.bundle`` (internals):
  - ``store.DUE_INDEX_ATTRS`` and ``callbacks.NOTICES`` (the attribute holding an object's notice ids);
  - ``runtime.reset()``, ``runtime.aws_client(service)`` (the handlers' cached clients, hooked to
    count calls) and ``runtime.now`` (set to the harness clock, put back to ``time.time``);
  - ``queue.ReconcileMessage(states.Kind.ORDER, no).body()``: the reconcile queue's message body;
  - ``store.object_key(states.Kind.ORDER, no)`` and ``store.from_item``;
  - through ``fresh_callbacks``: ``Callbacks.ctx.store.client`` / ``.ctx.store.table``,
    ``.ctx.queue.client`` and ``.apply(<the ecpay adapter>.construct(notice)).outcome``.

``tests.bundle.harness``: ``APP_ID``, ``CALLBACK_URL``, ``SALT``, ``TOKEN``, ``AwsCalls``,
``fresh_callbacks(bundle)``, ``notice_body``, ``payment_msg``, and ``Bundle``, which
:func:`in_process_bundle` yields as is: the sections drive the handlers through its
``create_payment``, ``get``, ``refund``, ``settle``, ``callback``, ``reconcile`` and ``item``, and
use its ``sim``, ``calls`` (``reset``, ``count``), ``session``, ``resources`` and ``clock``.

``douyin_pay`` (the SDK's public API): ``parse_callback``.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from local.aws_resources import FUNCTIONS, function_environment

from .common import AMOUNT, LOG_LEVEL, REGION, patched_env


@contextlib.contextmanager
def in_process_bundle() -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    from douyin_pay.bundle import runtime
    from local.aws_resources import provision
    from local.douyin_sim import DouyinSimulator, SimulatorConfig
    from local.moto_atomic import make_dynamodb_atomic
    from tests.bundle.harness import APP_ID, SALT, TOKEN, AwsCalls, Bundle

    aws_env: dict[str, str | None] = {
        "AWS_ENDPOINT_URL": None,
        "AWS_PROFILE": None,
        "AWS_SESSION_TOKEN": None,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    # speed=0: the simulated clock moves only when told; callbacks are never pushed (drop="all"):
    # the bench delivers notices itself. It measures the request, callback and reconcile paths, so
    # order sync (its own consumer, two conditional writes per change: tests/bundle/test_order_sync.py)
    # is off on both sides, and settlements are not held back for it.
    sim_config = SimulatorConfig(
        APP_ID,
        SALT,
        TOKEN,
        speed=0,
        drop="all",
        refund_processing_seconds=None,
        settle_processing_seconds=None,
        require_order_sync=False,
        settle_cycle_days=0,  # it settles right after the payment, on both sides
    )
    with contextlib.ExitStack() as stack:
        sim = stack.enter_context(DouyinSimulator(sim_config))
        stack.enter_context(patched_env(aws_env))
        make_dynamodb_atomic()
        stack.enter_context(mock_aws())
        session = boto3.Session(region_name=REGION)
        resources = provision(session, prefix="bench", salt=SALT, tokens=[TOKEN])
        stack.enter_context(patched_env(_functions_environment(resources, sim.base_url)))
        runtime.reset()
        stack.callback(_reset_runtime)
        calls = AwsCalls()
        _count_handler_calls(calls)
        _count_secret_fetches(calls)
        bundle = Bundle(resources, sim, calls, session)
        runtime.now = bundle.clock
        yield bundle


def _functions_environment(resources: Any, base_url: str) -> dict[str, str | None]:
    """Every function's template environment (the handlers share one process here)."""
    from tests.bundle.harness import APP_ID, CALLBACK_URL

    env: dict[str, str | None] = {}
    for logical_id in FUNCTIONS:
        env.update(
            function_environment(
                logical_id,
                resources,
                app_id=APP_ID,
                callback_url=CALLBACK_URL,
                base_url=base_url,
                log_level=LOG_LEVEL,
                order_sync="off",
                settle_cycle_days=0,  # the bench settles right after the payment
            )
        )
    env |= {"RECONCILE_MIN_INTERVAL_MS": "0", "POWERTOOLS_METRICS_DISABLED": "true"}
    return env


def _count_handler_calls(calls: Any) -> None:
    """Hook the counter on the clients the handlers use (the runtime's cached DynamoDB and SQS clients)."""
    from douyin_pay.bundle import runtime

    for service in ("dynamodb", "sqs"):
        events = runtime.aws_client(service).meta.events
        events.register("before-call", calls.hook)
        events.register("before-parameter-build", calls.params_hook)


def _reset_runtime() -> None:
    from douyin_pay.bundle import runtime

    runtime.reset()
    runtime.now = time.time


def _count_secret_fetches(calls: Any) -> None:
    """Hook the same counter on the runtime's Secrets Manager client (the one its SecretCache
    uses), so the one-off GetSecretValue shows up in the warm-up counts (and would show in the figures)."""
    from douyin_pay.bundle import runtime

    runtime.aws_client("secretsmanager").meta.events.register("before-call", calls.hook)


def capacity_meter(bundle: Any) -> Any:
    """A CapacityMeter on the handlers' DynamoDB client, reading items through an admin client."""
    from douyin_pay.bundle import runtime
    from local.capacity import CapacityMeter

    admin = bundle.session.client("dynamodb")
    return CapacityMeter(admin, {bundle.resources.table_name: due_index_keys()}).install(runtime.aws_client("dynamodb"))


def due_index_keys() -> tuple[str, ...]:
    """The key attributes of the table's sparse due index (what the reconcile sweeper reads)."""
    from douyin_pay.bundle.store import DUE_INDEX_ATTRS

    return DUE_INDEX_ATTRS


def notice_ids_attribute() -> str:
    """The attribute in which an object records the ids of the notices it has taken."""
    from douyin_pay.bundle.callbacks import NOTICES

    return NOTICES


class OursEnvironment:
    """One execution environment of the callback use case (tests/bundle/harness.fresh_callbacks)."""

    def __init__(self, bundle: Any) -> None:
        from tests.bundle.harness import fresh_callbacks

        self.callbacks = fresh_callbacks(bundle)
        self.client = self.callbacks.ctx.store.client
        self.calls: Counter[str] = Counter()
        self.client.meta.events.register("before-call", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def warm(self) -> None:
        self.client.describe_table(TableName=self.callbacks.ctx.store.table)
        self.calls.clear()

    def total_calls(self) -> int:
        return sum(self.calls.values())

    def handle(self, notice: Any) -> str:
        # Notices are verified once, up front, by the SDK (as the baseline gets them); the adapter
        # turns each into what the callback use case applies.
        from douyin_pay.bundle.platforms.base import PaymentProtocol

        adapter = self.callbacks.ctx.platforms.get(PaymentProtocol.ECPAY)  # a paid order's watch is its setting
        return self.callbacks.apply(adapter.construct(notice)).outcome

    def close(self) -> None:
        self.client.close()
        if self.callbacks.ctx.queue is not None:
            self.callbacks.ctx.queue.client.close()


def scan_table(client: Any, table: str) -> list[dict[str, Any]]:
    """Every item of a table in the bundle's item shape (plain values, not DynamoDB-typed)."""
    from douyin_pay.bundle.store import from_item

    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items.extend(from_item(i) for i in page["Items"])
    return items


def order_key(no: str) -> dict[str, Any]:
    """The DynamoDB-typed key of an order's item."""
    from douyin_pay.bundle.states import Kind
    from douyin_pay.bundle.store import object_key

    return object_key(Kind.ORDER, no)


def reconcile_order_message(no: str) -> str:
    """The reconcile queue's message body for one step on an order."""
    from douyin_pay.bundle.queue import ReconcileMessage
    from douyin_pay.bundle.states import Kind

    return ReconcileMessage(Kind.ORDER, no).body()


def reconcile_message(kind: str, ref: str) -> str:
    """The reconcile queue's message body for one step on any object ("order", "refund", "settlement")."""
    from douyin_pay.bundle.queue import ReconcileMessage
    from douyin_pay.bundle.states import Kind

    return ReconcileMessage(Kind(kind), ref).body()


def refund_notice(no: str, amount: int, status: str = "SUCCESS") -> bytes:
    """A signed refund notice body (its outcome: "SUCCESS" or "FAIL")."""
    from tests.bundle.harness import notice_body, refund_msg

    return notice_body("refund", refund_msg(no, amount, status))


def settle_notice(no: str, out_order_no: str) -> bytes:
    """A signed settle-success notice body."""
    from tests.bundle.harness import notice_body, settle_msg

    return notice_body("settle", settle_msg(no, out_order_no))


def payment_msg(no: str, order_id: str, *, app_id: str | None = None) -> dict[str, Any]:
    """The platform's payment-success ``msg`` for an order of ``AMOUNT`` (the test app id by default)."""
    from tests.bundle.harness import APP_ID
    from tests.bundle.harness import payment_msg as harness_payment_msg

    return harness_payment_msg(no, AMOUNT, app_id=app_id or APP_ID, order_id=order_id)


def payment_notice(no: str, order_id: str, *, timestamp: str | None = None, nonce: str = "4821") -> bytes:
    """A signed payment notice body, as the platform posts it to the callback (the test token),
    timestamped now unless ``timestamp`` says otherwise (the callback refuses a stale one)."""
    from tests.bundle.harness import notice_body

    return notice_body("payment", payment_msg(no, order_id), timestamp=timestamp, nonce=nonce)


def verify_notice(body: bytes) -> Any:
    """The verified notice the callback's service applies (signature checked with the test token)."""
    from douyin_pay import parse_callback
    from tests.bundle.harness import TOKEN

    return parse_callback(body, [TOKEN])
