"""Fixtures of the API properties: the in-process bundle (real handlers on moto + the Douyin
simulator, shared with tests/bundle), paid orders, and a cheap view of the table."""

from __future__ import annotations

import itertools

import pytest

from tests.bundle.conftest import bundle, sim  # noqa: F401
from tests.bundle.harness import Bundle, notice_body, payment_msg

PAID_AMOUNT = 50_000


class Table:
    """Every item of the table, sorted by key, with the last snapshot kept until something may
    have written: moto serialises a Scan slowly, and a hypothesis run takes hundreds of them."""

    def __init__(self, bundle: Bundle) -> None:  # noqa: F811 - the imported fixture's name
        from douyin_pay.store import from_item

        self._from_item = from_item
        self._client = bundle.session.client("dynamodb")  # not the handlers' client: not counted
        self._name = bundle.resources.table_name
        self._last: list[dict] | None = None

    def snapshot(self) -> list[dict]:
        items, start = [], {}
        while True:
            page = self._client.scan(TableName=self._name, ConsistentRead=True, **start)
            items.extend(self._from_item(i) for i in page["Items"])
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
def table(bundle) -> Table:  # noqa: F811 - the imported fixture
    return Table(bundle)


class PaidOrders:
    """Paid orders made through the API (create, pay on the simulator, callback)."""

    def __init__(self, bundle: Bundle, table: Table) -> None:  # noqa: F811 - the imported fixture's name
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
        while the first is processing: a 502 that is the platform's answer, not a fault)."""
        if self._current is None:
            self._current = self.make()
        return self._current

    def spend(self) -> None:
        self._current = None


@pytest.fixture
def paid_orders(bundle, table) -> PaidOrders:  # noqa: F811 - the imported fixture
    return PaidOrders(bundle, table)


@pytest.fixture
def paid_order(paid_orders) -> str:
    """One paid order, made before the first hypothesis example."""
    return paid_orders.make()
