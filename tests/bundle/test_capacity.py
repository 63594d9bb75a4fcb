"""What each operation bills, in DynamoDB capacity units, computed from the items really written
(local/capacity.py: DynamoDB's documented size rules; moto meters nothing). The goals: a new
notice and a duplicate are one call and at most one table write unit each (a settlement's final
notice, a transaction of two items, is the exception: its repeat elsewhere bills 4); a repeat in
the environment that took the notice costs nothing; a whole lifecycle is
held to its measured figures, and beside it the Powertools baseline's (local/bench/baseline_lifecycle.py)."""

from __future__ import annotations

import time

import pytest

from local.bench import lifecycle
from local.bench.aws_calls import measure_lifecycle
from local.bench.bundle_env import capacity_meter
from tests.bundle.harness import notice_body, payment_msg, refund_msg, settle_msg
from tests.bundle.test_api import ORDER, REFUND, SETTLE, paid_order


@pytest.fixture
def meter(bundle):
    return capacity_meter(bundle)  # reads items through an admin client: those reads are not billed


def measured(bundle, meter, action) -> dict:
    meter.reset()
    bundle.calls.reset()
    action()
    dynamodb = {k: v for k, v in bundle.calls.count().items() if k != "SendMessage"}
    return {**meter.totals(), "calls": sum(dynamodb.values())}


def pay(bundle) -> None:
    assert bundle.create_payment(ORDER)[0] == 201
    bundle.sim.pay("order-1")


NOTHING = {"table_wru": 0, "index_wru": 0, "rru": 0, "calls": 0}


def delivered_again(bundle, meter, body: bytes) -> tuple[dict, dict, dict]:
    """What a notice costs when it is new, and then when the platform delivers it again: to the
    execution environment that took it, and to another."""

    def deliver() -> None:
        assert bundle.callback(body)[0] == 200

    new, here = measured(bundle, meter, deliver), measured(bundle, meter, deliver)
    bundle.another_callback_environment()
    return new, here, measured(bundle, meter, deliver)


def refund_requested(bundle) -> None:
    paid_order(bundle)
    assert bundle.refund("order-1", REFUND)[0] == 201


def settlement_requested(bundle) -> None:
    paid_order(bundle)
    assert bundle.settle("order-1", SETTLE)[0] == 201


def test_a_new_notice_is_one_call_and_one_table_write_unit(bundle, meter):
    pay(bundle)
    new, here, elsewhere = delivered_again(bundle, meter, notice_body("payment", payment_msg("order-1", 12800)))
    # The index is written because the order's due_at moves (PAID is final, but watched until it is
    # settled: an index key update is a delete and a put).
    assert new == {"table_wru": 1, "index_wru": 2, "rru": 0, "calls": 1}
    assert here == NOTHING  # the environment that took it knows it
    assert elsewhere == {"table_wru": 1, "index_wru": 0, "rru": 0, "calls": 1}  # a failed condition


def test_a_refund_notice_and_its_repeat(bundle, meter):
    refund_requested(bundle)
    new, here, elsewhere = delivered_again(bundle, meter, notice_body("refund", refund_msg("refund-1", 3000)))
    assert new == {"table_wru": 1, "index_wru": 1, "rru": 0, "calls": 1}  # the refund leaves the index
    assert here == NOTHING
    assert elsewhere == {"table_wru": 1, "index_wru": 0, "rru": 0, "calls": 1}


def test_a_refund_failure_and_its_repeat(bundle, meter):
    refund_requested(bundle)
    failed = notice_body("refund", refund_msg("refund-1", 3000, status="FAIL"))
    new, here, elsewhere = delivered_again(bundle, meter, failed)
    # The refund names its order, so it is read; then one transaction fails it and gives its amount
    # back to the order (2 items, 4 units). A repeat elsewhere is answered from that read.
    assert new == {"table_wru": 4, "index_wru": 1, "rru": 1, "calls": 2}
    assert here == NOTHING
    assert elsewhere == {"table_wru": 0, "index_wru": 0, "rru": 1, "calls": 1}
    assert bundle.get("payments", "order-1")[1]["refundable_amount"] == 12800  # released once


@pytest.mark.parametrize(("status", "index_wru"), [("SUCCESS", 2), ("FAIL", 1)])
def test_a_settlements_final_notice_and_its_repeat(bundle, meter, status, index_wru):
    settlement_requested(bundle)
    body = notice_body("settle", settle_msg("settle-1", "order-1", status))
    new, here, elsewhere = delivered_again(bundle, meter, body)
    # One transaction over the settlement and its order (2 items, 4 units), new or repeated in
    # another environment: a cancelled transaction bills both items. The one notice whose repeat
    # costs more than a unit (README, Performance). A success takes the order out of the index too.
    assert new == {"table_wru": 4, "index_wru": index_wru, "rru": 0, "calls": 1}
    assert here == NOTHING
    assert elsewhere == {"table_wru": 4, "index_wru": 0, "rru": 0, "calls": 1}


def test_create_writes_the_index_once(bundle, meter):
    create = measured(bundle, meter, lambda: bundle.create_payment(ORDER))
    assert create == {"table_wru": 2, "index_wru": 1, "rru": 0, "calls": 2}


def test_one_lifecycle_against_the_floor(bundle, meter):
    life = measure_lifecycle(bundle, meter)  # the same steps the bench reports (local/bench/lifecycle.py)
    total, figures = life["total"], life["steps"]
    assert total["calls"] <= 13, figures
    # What each step bills today, so a regression shows where. A refund or settlement claim is a
    # transaction (billed twice per item: 4) plus its acceptance (1); the sparse index is written
    # when an object enters it (its claim) and when it leaves (its final state) — a paid order moves
    # its due_at instead (the auto-settlement watch: delete + put, 2) and leaves when settled. The
    # settlement's final notice also writes its order (a transaction of two: 4).
    assert total == {"table_wru": 18, "index_wru": 8, "rru": 4, "calls": 13}, figures
    assert figures["refund"] == {"table_wru": 5, "index_wru": 1, "rru": 0, "calls": 2}
    # The goal counts table and index units together, as the floor's 12 does: 26 is 2.17x the
    # floor, above the 1.5x (18) the issue asks for. The bench prints this verdict.
    assert life["goal"] == {
        "wru": 1.5 * lifecycle.FLOOR["wru"],
        "ours_wru": 26,
        "ratio_to_floor": 2.17,
        "within_goal": False,
        "rule": life["goal"]["rule"],
    }


@pytest.fixture
def baseline(bundle):
    from local.bench.baseline_lifecycle import BaselineLifecycle

    baseline = BaselineLifecycle(bundle)
    yield baseline
    baseline.close()


def test_the_powertools_baseline_over_one_lifecycle(bundle, meter, baseline):
    life = measure_lifecycle(bundle, meter, baseline)
    theirs = life["baseline"]["steps"]
    # Each notice: the INPROGRESS record, the state write ours made, the COMPLETED record; each
    # record 1 unit, the idempotency table has no index. The settlement's final notice writes its
    # two items in a transaction, as ours does (4).
    assert theirs["pay notice"] == {"calls": 3, "table_wru": 3, "index_wru": 2, "rru": 0, "as_ours": False}
    assert theirs["refund notice"] == {"calls": 3, "table_wru": 3, "index_wru": 1, "rru": 0, "as_ours": False}
    assert theirs["settle notice"] == {"calls": 3, "table_wru": 6, "index_wru": 2, "rru": 0, "as_ours": False}
    assert all(step["as_ours"] for name, step in theirs.items() if "notice" not in name)
    # The index writes are the same on both sides: the baseline makes the same state change.
    assert life["baseline"]["total"] == {"calls": 19, "table_wru": 24, "index_wru": 8, "rru": 4}
    # Its copy of the table ends where ours did, less the notice ids only we record.
    copy = baseline.admin.scan(TableName=baseline.table, ConsistentRead=True)["Items"]
    assert {(i["pk"]["S"], i["sk"]["S"]): i for i in copy} == baseline.snapshot()


def test_the_baselines_replays_and_how_long_it_keeps_its_records(bundle, meter, baseline):
    from local.bench.baseline import RETRY_WINDOW_SECONDS

    measure_lifecycle(bundle, meter, baseline)
    replays = baseline.duplicates()
    # The local cache answers in the environment that processed the notice; any other reads the record.
    assert replays["same_environment"] == {"calls": 0, "table_wru": 0, "index_wru": 0, "rru": 0, "outcome": "replay"}
    assert replays["another_environment"] == {
        "calls": 1,
        "table_wru": 1,
        "index_wru": 0,
        "rru": 0,
        "outcome": "replay",
    }
    # Every record outlives the platform's retries (about 24 h 4 min after the first delivery).
    records = baseline.admin.scan(TableName=baseline.idempotency_table, ConsistentRead=True)["Items"]
    assert len(records) == 3
    for record in records:
        assert record["status"]["S"] == "COMPLETED"
        assert int(record["expiration"]["N"]) - time.time() > RETRY_WINDOW_SECONDS


def test_one_trade_system_lifecycle(trade_bundle):
    """The same lifecycle on the trade system (not in the bench, which drives ecpay), after one
    lifecycle that warms every path. What differs from ecpay: the create is one write and no
    platform call; a paid order leaves the due index (no auto-settlement watch); a refund reads its
    order first (the request names the platform's order id); and the settle notice names the
    platform's order, not ours, so it reads the settlement first."""
    from local.bench.bundle_env import reconcile_message
    from tests.bundle.test_trade import create, deliver, pay

    b = trade_bundle
    meter = capacity_meter(b)

    def lifecycle_of(no: str) -> dict[str, dict]:
        order: dict = {}
        refund = {"out_refund_no": f"{no}-r", "refund_amount": 800, "reason": "少发一件"}
        settle = {"out_settle_no": f"{no}-s", "settle_desc": "结算"}
        messages = [reconcile_message("order", no), reconcile_message("refund", f"{no}-r")]
        messages.append(reconcile_message("settlement", f"{no}-s"))
        steps = {
            "create": measured(b, meter, lambda: order.update(create(b, out_order_no=no))),
            "pay notice": measured(b, meter, lambda: pay(b, order)),
            "query": measured(b, meter, lambda: b.get("payments", no)),
            "refund": measured(b, meter, lambda: b.refund(no, refund)),
        }
        b.trade_sim.complete_refund(refund["out_refund_no"], "SUCCESS")
        steps["refund notice"] = measured(b, meter, lambda: deliver(b))
        steps["settle"] = measured(b, meter, lambda: b.settle(no, settle))
        b.trade_sim.complete_settlement(settle["out_settle_no"], "SUCCESS")
        steps["settle notice"] = measured(b, meter, lambda: deliver(b))
        steps["reconcile x3 (final)"] = measured(b, meter, lambda: b.reconcile(messages))
        return steps

    lifecycle_of("TW-1")
    steps = lifecycle_of("T-1")
    assert b.get("settlements", "T-1-s")[1]["status"] == "SUCCEEDED"
    assert steps["create"] == {"table_wru": 1, "index_wru": 1, "rru": 0, "calls": 1}
    assert steps["pay notice"] == {"table_wru": 1, "index_wru": 1, "rru": 0, "calls": 1}
    assert steps["refund"] == {"table_wru": 5, "index_wru": 1, "rru": 1, "calls": 3}
    assert steps["settle notice"] == {"table_wru": 4, "index_wru": 1, "rru": 1, "calls": 2}
    total = {key: sum(step[key] for step in steps.values()) for key in NOTHING}
    assert total == {"table_wru": 17, "index_wru": 6, "rru": 6, "calls": 14}, steps
