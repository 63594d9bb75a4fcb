from __future__ import annotations

import itertools

import boto3
import pytest
from moto import mock_aws

from douyin_pay.bundle import runtime
from local.aws_resources import provision
from local.douyin_sim import DouyinSimulator, SimulatorConfig
from local.functions import Functions
from local.gateway import function_url
from local.moto_atomic import make_dynamodb_atomic
from local.trade_sim import TradeSimulator, TradeSimulatorConfig
from tests.bundle.harness import (
    APP_ID,
    APP_SECRET,
    CALLBACK_URL,
    OLD_TOKEN,
    SALT,
    TOKEN,
    TRADE_APP_KEY,
    TRADE_CLIENT_SECRET,
    TRADE_KEY_VERSION,
    AwsCalls,
    Bundle,
    environment,
    notice_body,
    payment_msg,
)
from tests.local.trade_helpers import public_pem


@pytest.fixture
def sim():
    # speed=0: the simulated clock moves only when a test advances it. Callbacks are not pushed
    # here (drop="all"): these tests deliver notices to the handler themselves.
    # These suites settle without running order sync (OrderSync=off in their environment);
    # synced_bundle below runs both with the platform's rule.
    with DouyinSimulator(sim_config(require_order_sync=False)) as simulator:
        yield simulator


def sim_config(*, require_order_sync: bool) -> SimulatorConfig:
    """speed=0: the simulated clock moves only when a test advances it. Callbacks are not pushed
    (drop="all"): the tests deliver notices to the handler themselves."""
    return SimulatorConfig(
        APP_ID,
        SALT,
        TOKEN,
        app_secret=APP_SECRET,
        speed=0,
        drop="all",
        refund_processing_seconds=None,
        settle_processing_seconds=None,
        require_order_sync=require_order_sync,
        # The settlement cycle is 0 days on both sides unless a test sets one (test_settlement_rules.py).
        settle_cycle_days=0,
    )


@pytest.fixture
def bundle(sim, monkeypatch):
    yield from _bundle(sim, monkeypatch)


def _bundle(sim, monkeypatch, *, trade_sim=None, trade_secret=None, order_sync="off", **trade_env):
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    make_dynamodb_atomic()
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        resources = provision(
            session, prefix="test", salt=SALT, tokens=[TOKEN, OLD_TOKEN], trade=trade_secret, app_secret=APP_SECRET
        )
        for key, value in environment(resources, sim.base_url, order_sync=order_sync, **trade_env).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("RECONCILE_MIN_INTERVAL_MS", "0")
        # The API's query budget (query_budget.py) is tested on its own; elsewhere a test's many
        # refreshes in one second must not wait for the next.
        monkeypatch.setenv("PLATFORM_QUERY_QPS", "1000")
        runtime.reset()
        calls = AwsCalls()
        for service in ("dynamodb", "sqs"):
            events = runtime.aws_client(service).meta.events
            events.register("before-call", calls.hook)
            events.register("before-parameter-build", calls.params_hook)
        bundle = Bundle(resources, sim, calls, session, trade_sim=trade_sim)
        monkeypatch.setattr(runtime, "now", bundle.clock)
        yield bundle
        runtime.reset()


@pytest.fixture
def synced_bundle(monkeypatch):
    """A stack with OrderSync=on over a simulator that settles only orders synced as paid or
    fulfilled, as the platform does."""
    with DouyinSimulator(sim_config(require_order_sync=True)) as simulator:
        yield from _bundle(simulator, monkeypatch, order_sync="on")


# -- a stack that creates trade-system orders ----------------------------------------------------


@pytest.fixture
def callback_url_front():
    """The callback Function URL on loopback, so the trade simulator's callbacks reach the handler."""
    front = function_url(Functions(discard_metrics=True)).start()
    yield front
    front.stop()


@pytest.fixture
def trade_sim(callback_url_front):
    config = TradeSimulatorConfig(
        app_id=APP_ID,
        client_secret=TRADE_CLIENT_SECRET,
        app_public_keys={TRADE_KEY_VERSION: public_pem(TRADE_APP_KEY)},
        default_notify_url=CALLBACK_URL,
        deliver_to={CALLBACK_URL.rstrip("/"): callback_url_front.url},
        speed=0,
        refund_processing_seconds=None,
        settle_processing_seconds=None,
        # Not the platform's timeout under test: on a loaded machine the first delivery (the
        # callback handler's cold start) can pass the default 5 s, and the reply would be lost.
        delivery_timeout=30.0,
    )
    with TradeSimulator(config) as simulator:
        yield simulator


def trade_secret(trade_sim, *, platform_keys=None) -> dict:
    return {
        "client_secret": TRADE_CLIENT_SECRET,
        "private_key": TRADE_APP_KEY,
        "key_version": TRADE_KEY_VERSION,
        "platform_public_keys": platform_keys or [trade_sim.platform_public_key_pem],
    }


@pytest.fixture
def refund_audit() -> str:
    return "manual"


@pytest.fixture
def trade_bundle(sim, trade_sim, monkeypatch, refund_audit):
    yield from _bundle(
        sim,
        monkeypatch,
        trade_sim=trade_sim,
        trade_secret=trade_secret(trade_sim),
        protocol="trade",
        refund_audit=refund_audit,
        trade_base_url=trade_sim.base_url,
    )


# -- the table and paid orders, for the property tests ----------------------------------------

PAID_AMOUNT = 50_000


class Table:
    """Every item of the table, sorted by key, with the last snapshot kept until something may
    have written: moto serialises a Scan slowly, and a hypothesis run takes hundreds of them.

    The query budget's counters (``BUDGET#``) are left out: they count platform queries made, and a
    request refused after asking the platform (a settlement number already used with another body)
    did make one."""

    def __init__(self, bundle: Bundle) -> None:
        from douyin_pay.bundle.store import from_item

        self._from_item = from_item
        self._client = bundle.session.client("dynamodb")  # not the handlers' client: not counted
        self._name = bundle.resources.table_name
        self._last: list[dict] | None = None

    def snapshot(self) -> list[dict]:
        items, start = [], {}
        while True:
            page = self._client.scan(TableName=self._name, ConsistentRead=True, **start)
            items.extend(self._from_item(i) for i in page["Items"] if not i["pk"]["S"].startswith("BUDGET#"))
            if "LastEvaluatedKey" not in page:
                self._last = sorted(items, key=lambda item: (item["pk"], item["sk"]))
                return self._last
            start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}

    def before(self) -> list[dict]:
        """The table now: the kept snapshot unless :meth:`changed` was called since."""
        return self._last if self._last is not None else self.snapshot()

    def changed(self) -> None:
        self._last = None


@pytest.fixture
def table(bundle) -> Table:
    return Table(bundle)


class PaidOrders:
    """Paid orders made through the API (create, pay on the simulator, callback)."""

    def __init__(self, bundle: Bundle, table: Table) -> None:
        self._bundle = bundle
        self._table = table
        self._numbers = itertools.count(1)
        self._current: str | None = None

    def make(self, out_order_no: str | None = None) -> str:
        out_order_no = out_order_no or f"fuzz-paid-{next(self._numbers)}"
        status, body = self._bundle.create_payment(
            {"out_order_no": out_order_no, "total_amount": PAID_AMOUNT, "subject": "fuzz", "body": "fuzz"}
        )
        assert status == 201, body
        self._bundle.sim.pay(out_order_no)
        assert self._bundle.callback(notice_body("payment", payment_msg(out_order_no, PAID_AMOUNT)))[0] == 200
        self._bundle.calls.reset()
        self._table.changed()
        return out_order_no

    def current(self) -> str:
        """A paid order nothing has been settled on yet (the platform refuses a second settlement
        while the first is processing: a 422 that is the platform's answer, not a fault)."""
        if self._current is None:
            self._current = self.make()
        return self._current

    def spend(self) -> None:
        self._current = None


@pytest.fixture
def paid_orders(bundle, table) -> PaidOrders:
    return PaidOrders(bundle, table)


@pytest.fixture
def paid_order(paid_orders) -> str:
    """One paid order, made before the first hypothesis example."""
    return paid_orders.make()
