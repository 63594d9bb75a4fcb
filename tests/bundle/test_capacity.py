"""What each operation bills, in DynamoDB capacity units, computed from the items really written
(local/capacity.py: DynamoDB's documented size rules; moto meters nothing). The goals: a new
notice and a duplicate are one call and at most one table write unit each, and a whole lifecycle
stays within 1.5x the floor's write units."""

from __future__ import annotations

import pytest

from douyin_pay.bundle import runtime
from douyin_pay.bundle.store import DUE_INDEX_ATTRS
from local.bench import lifecycle
from local.bench.aws_calls import measure_lifecycle
from local.capacity import CapacityMeter
from tests.bundle.harness import notice_body, payment_msg
from tests.bundle.test_api import ORDER


@pytest.fixture
def meter(bundle):
    admin = bundle.session.client("dynamodb")  # not the handlers' client: its reads are not billed
    return CapacityMeter(admin, bundle.resources.table_name, DUE_INDEX_ATTRS).install(runtime.aws_client("dynamodb"))


def measured(bundle, meter, action) -> dict:
    meter.reset()
    bundle.calls.reset()
    action()
    dynamodb = {k: v for k, v in bundle.calls.count().items() if k != "SendMessage"}
    return {**meter.totals(), "calls": sum(dynamodb.values())}


def pay(bundle) -> None:
    assert bundle.create_payment(ORDER)[0] == 201
    bundle.sim.pay("order-1")


def test_a_new_notice_is_one_call_and_one_table_write_unit(bundle, meter):
    pay(bundle)
    notice = notice_body("payment", payment_msg("order-1", 12800))
    new = measured(bundle, meter, lambda: bundle.callback(notice))
    # The index is written because the order's due_at moves (PAID is final, but watched until it is
    # settled: an index key update is a delete and a put).
    assert new == {"table_wru": 1, "index_wru": 2, "rru": 0, "calls": 1}
    duplicate = measured(bundle, meter, lambda: bundle.callback(notice))
    assert duplicate == {"table_wru": 1, "index_wru": 0, "rru": 0, "calls": 1}


def test_create_writes_the_index_once(bundle, meter):
    create = measured(bundle, meter, lambda: bundle.create_payment(ORDER))
    assert create == {"table_wru": 2, "index_wru": 1, "rru": 0, "calls": 2}


def test_one_lifecycle_within_one_and_a_half_times_the_floor(bundle, meter):
    life = measure_lifecycle(bundle, meter)  # the same steps the bench reports (local/bench/lifecycle.py)
    total, figures = life["total"], life["steps"]
    assert total["calls"] <= 13, figures
    assert total["table_wru"] <= 1.5 * lifecycle.FLOOR["wru"], figures
    # What each step bills today, so a regression shows where. A refund or settlement claim is a
    # transaction (billed twice per item: 4) plus its acceptance (1); the sparse index is written
    # when an object enters it (its claim) and when it leaves (its final state) — a paid order moves
    # its due_at instead (the auto-settlement watch: delete + put, 2) and leaves when settled. The
    # settlement's final notice also writes its order (a transaction of two: 4).
    assert total == {"table_wru": 18, "index_wru": 8, "rru": 4, "calls": 13}, figures
    assert figures["refund"] == {"table_wru": 5, "index_wru": 1, "rru": 0, "calls": 2}
