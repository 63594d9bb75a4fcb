"""Section 2: AWS calls per operation, counted on the handlers' own clients."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from . import lifecycle
from .baseline import RETRY_WINDOW_SECONDS, competent_config
from .baseline_lifecycle import BaselineLifecycle
from .bundle_env import (
    capacity_meter,
    in_process_bundle,
    payment_notice,
    reconcile_order_message,
    refund_notice,
    settle_notice,
)
from .common import SUCCESS, BenchConfig, BenchError, calls_text, order_body, render_table

# Budgets the README and the bundle tests state; the other operations are reported as measured.
BUDGETS: dict[str, dict[str, int]] = {
    "create_payment": {"PutItem": 1, "UpdateItem": 1, "SendMessage": 1},
    "query": {"GetItem": 1},
    "callback_new": {"UpdateItem": 1},
    # A redelivery to the execution environment that took the notice is known there; in another,
    # its one write fails its condition.
    "callback_duplicate_same_environment": {},
    "callback_duplicate": {"UpdateItem": 1},
    # A refund's failure gives its amount back to the order, named on the refund: read, then one
    # transaction; its repeat is answered from the read.
    "callback_refund_failure": {"GetItem": 1, "TransactWriteItems": 1},
    "callback_refund_failure_repeat": {"GetItem": 1},
    # A settlement's final notice frees its order in the same transaction, new or repeated.
    "callback_settlement_final": {"TransactWriteItems": 1},
    "callback_settlement_final_repeat": {"TransactWriteItems": 1},
    "reconcile_step": {"GetItem": 1, "UpdateItem": 1, "SendMessage": 1},
}
# The goal for a notice the platform delivers again: one call and at most one write unit.
REPEATS = ("callback_duplicate", "callback_refund_failure_repeat", "callback_settlement_final_repeat")


def status_is(expected: int) -> Callable[[Any, str], None]:
    def check(result: Any, what: str) -> None:
        if result[0] != expected:
            raise BenchError(f"{what}: expected HTTP {expected}, got {result}")

    return check


def callback_ok(result: Any, what: str) -> None:
    if tuple(result) != (200, SUCCESS):
        raise BenchError(f"{what}: expected (200, success), got {result}")


def batch_ok(result: Any, what: str) -> None:
    if result != {"batchItemFailures": []}:
        raise BenchError(f"{what}: expected no batch item failures, got {result}")


class _Counting:
    """The in-process bundle, the orders created on it, and the calls counted per operation."""

    def __init__(self, b: Any) -> None:
        self.b = b
        self.meter = capacity_meter(b)
        self.ops: dict[str, dict[str, Any]] = {}
        self.created: dict[str, dict[str, Any]] = {}

    def create(self, no: str) -> tuple[int, dict]:
        status, body = self.b.create_payment(order_body(no))
        self.created[no] = body
        return status, body

    def notice(self, no: str, *, timestamp: str | None = None, nonce: str = "4821") -> bytes:
        return payment_notice(no, self.created[no]["order_id"], timestamp=timestamp, nonce=nonce)

    def measure_elsewhere(self, name: str, deliver: Callable[[str], Any], warm_no: str, measured_no: str) -> None:
        """A notice delivered again (``deliver(no)``), in an execution environment that has not taken
        it: a repeat there costs what the table answers; where it was taken, it costs nothing."""

        def elsewhere(no: str) -> Callable[[], Any]:
            def run() -> Any:
                self.b.another_callback_environment()
                return deliver(no)

            return run

        self.measure(name, elsewhere(warm_no), elsewhere(measured_no), callback_ok)

    def measure(self, name: str, warm: Callable[[], Any], run: Callable[[], Any], check: Callable) -> None:
        b = self.b
        b.calls.reset()
        check(warm(), f"{name} (warm-up)")
        warm_calls = dict(b.calls.count())
        b.calls.reset()
        self.meter.reset()
        check(run(), name)
        measured = dict(b.calls.count())
        self.ops[name] = {
            "calls": measured,
            "capacity": self.meter.totals(),
            "total": sum(measured.values()),
            "warmup_calls": warm_calls,
            "budget": BUDGETS.get(name),
            "within_budget": None if name not in BUDGETS else measured == BUDGETS[name],
        }


def _payment_and_callbacks(c: _Counting) -> None:
    b, notice = c.b, c.notice
    c.measure("create_payment", lambda: c.create("w-pay"), lambda: c.create("m-pay"), status_is(201))
    c.measure("query", lambda: b.get("payments", "w-pay"), lambda: b.get("payments", "m-pay"), status_is(200))
    for no in ("w-pay", "m-pay"):
        b.sim.pay(no)
    c.measure("callback_new", lambda: b.callback(notice("w-pay")), lambda: b.callback(notice("m-pay")), callback_ok)

    # The platform's redelivery: same msg, new timestamp and nonce; here, then in another environment.
    def again(no: str) -> tuple[int, dict]:
        return b.callback(notice(no, timestamp=str(int(time.time()) + 60), nonce="9001"))

    c.measure("callback_duplicate_same_environment", lambda: again("w-pay"), lambda: again("m-pay"), callback_ok)
    c.measure_elsewhere("callback_duplicate", again, "w-pay", "m-pay")
    for no in ("w-pay", "m-pay"):
        if b.item(f"ORDER#{no}", "ORDER")["status"] != "PAID":
            raise BenchError(f"{no} is not PAID after its callback")


def _refund(c: _Counting) -> None:
    """On the orders the callbacks paid."""

    def refund(no: str) -> tuple[int, dict]:
        return c.b.refund(no, {"out_refund_no": f"{no}-r1", "refund_amount": 3000, "reason": "顾客取消一杯"})

    c.measure("create_refund", lambda: refund("w-pay"), lambda: refund("m-pay"), status_is(201))

    def failed(no: str) -> tuple[int, dict]:
        return c.b.callback(refund_notice(f"{no}-r1", 3000, "FAIL"))

    c.measure("callback_refund_failure", lambda: failed("w-pay"), lambda: failed("m-pay"), callback_ok)
    c.measure_elsewhere("callback_refund_failure_repeat", failed, "w-pay", "m-pay")
    for no in ("w-pay", "m-pay"):
        if c.b.item(f"REFUND#{no}-r1", "REFUND")["status"] != "FAILED":
            raise BenchError(f"{no}-r1 is not FAILED after its failure notice")


def _settlement(c: _Counting) -> None:
    b = c.b
    for no in ("w-set", "m-set"):  # paid orders of their own for the settlements (setup, not counted)
        status_is(201)(c.create(no), f"setup {no}")
        b.sim.pay(no)
        callback_ok(b.callback(c.notice(no)), f"setup callback {no}")

    def settle(no: str) -> tuple[int, dict]:
        return b.settle(no, {"out_settle_no": f"{no}-s1", "settle_desc": "订单结算"})

    c.measure("create_settlement", lambda: settle("w-set"), lambda: settle("m-set"), status_is(201))

    def final(no: str) -> tuple[int, dict]:
        return b.callback(settle_notice(f"{no}-s1", no))

    c.measure("callback_settlement_final", lambda: final("w-set"), lambda: final("m-set"), callback_ok)
    c.measure_elsewhere("callback_settlement_final_repeat", final, "w-set", "m-set")


def _reconcile_step(c: _Counting) -> None:
    for no in ("w-rec", "m-rec"):  # created, not paid: the reconcile step queries and reschedules
        status_is(201)(c.create(no), f"setup {no}")

    def step(no: str) -> dict:
        return c.b.reconcile([reconcile_order_message(no)])

    c.measure("reconcile_step", lambda: step("w-rec"), lambda: step("m-rec"), batch_ok)


UNITS = ("calls", "table_wru", "index_wru", "rru")


def _total(figures: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {key: sum(f[key] for f in figures.values()) for key in UNITS}


def measure_lifecycle(b: Any, meter: Any, baseline: Any = None) -> dict[str, Any]:
    """Each step of one payment's life (lifecycle.py), then the totals beside the floor and the
    goal; with a :class:`~local.bench.baseline_lifecycle.BaselineLifecycle`, each notice also
    processed the common way (its other steps are ours)."""
    figures: dict[str, dict[str, Any]] = {}
    theirs: dict[str, dict[str, Any]] = {}
    for name, step in lifecycle.steps(b).items():
        body = step.notice() if step.notice else None
        before = baseline.snapshot() if baseline is not None and body is not None else None
        b.calls.reset()
        meter.reset()
        if body is None:
            step.run()
        else:
            callback_ok(b.callback(body), f"lifecycle: {name}")
        dynamodb = sum(n for op, n in b.calls.count().items() if op != "SendMessage")
        figures[name] = {**meter.totals(), "calls": dynamodb}
        if baseline is not None:
            if body is None:
                theirs[name] = {**figures[name], "as_ours": True}
            else:
                measured = baseline.notice(body, before, baseline.snapshot())
                theirs[name] = {key: measured[key] for key in UNITS} | {"as_ours": False}
    total = _total(figures)
    wru = total["table_wru"] + total["index_wru"]
    life: dict[str, Any] = {
        "steps": figures,
        "total": total,
        "floor": lifecycle.FLOOR,
        "goal": {
            "wru": lifecycle.WRU_GOAL,
            "ours_wru": wru,
            "ratio_to_floor": round(wru / lifecycle.FLOOR["wru"], 2),
            "within_goal": wru <= lifecycle.WRU_GOAL,
            "rule": "write units, table and index together, at most 1.5x the floor's (which counts both)",
        },
    }
    if baseline is not None:
        life["baseline"] = {"steps": theirs, "total": _total(theirs)}
    return life


def _baseline_notice_figures(life: dict[str, Any], duplicates: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The baseline's cost per callback notice: the lifecycle's pay notice and its redeliveries."""
    new = life["baseline"]["steps"]["pay notice"]
    return {
        "callback_new": {key: new[key] for key in UNITS},
        "callback_duplicate_same_environment": {key: duplicates["same_environment"][key] for key in UNITS},
        "callback_duplicate_another_environment": {key: duplicates["another_environment"][key] for key in UNITS},
    }


def measure_aws_calls(cfg: BenchConfig) -> dict[str, Any]:
    t0 = time.perf_counter()
    with in_process_bundle() as b:
        counting = _Counting(b)
        # In this order: the refund needs the orders the callbacks paid.
        for step in (_payment_and_callbacks, _refund, _settlement, _reconcile_step):
            step(counting)
        baseline = BaselineLifecycle(b)
        try:
            life = measure_lifecycle(b, counting.meter, baseline)
            duplicates = baseline.duplicates()
        finally:
            baseline.close()
    ops = counting.ops
    config = competent_config()  # what the baseline's environments were built with

    totals = Counter()
    for op in ops.values():
        totals.update(op["calls"])
    return {
        "note": (
            "botocore before-call hook on the handlers' DynamoDB and SQS clients (runtime.aws_client) and on "
            "its Secrets Manager client; real handlers in-process on moto (mock_aws) + the Douyin "
            "simulator. Each path was warmed once on another object first, so the one-off secret fetch "
            "(GetSecretValue, cached 5 min) and client set-up are not counted; warm-up counts are listed."
        ),
        "capacity_note": (
            "write/read units from the items before and after each call (local/capacity.py: DynamoDB's "
            "documented size rules; a transaction's actions bill twice; a failed conditional write bills "
            "the existing item; the sparse index is written when its keys appear, change or go)"
        ),
        "operations": ops,
        "repeat_goal": repeat_goal(ops),
        "lifecycle": life,
        "baseline": {
            "what": (
                "Powertools @idempotent_function (local/bench/baseline.py) with the record kept "
                f"{config.expires_after_seconds / 3600:g} h (the platform retries for about 24 h 4 min) and the local "
                "cache on, around the state write ours makes (local/bench/baseline_lifecycle.py); its "
                "requests, query and reconcile steps are ours"
            ),
            "config": {
                "expires_after_seconds": config.expires_after_seconds,
                "retry_window_seconds": RETRY_WINDOW_SECONDS,
                "use_local_cache": config.use_local_cache,
            },
            "operations": _baseline_notice_figures(life, duplicates),
        },
        "totals": {"by_operation": dict(totals), "calls": sum(totals.values())},
        "seconds": round(time.perf_counter() - t0, 2),
    }


def repeat_goal(ops: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each kind of repeated notice against the goal: one call, at most one write unit (table + index)."""
    verdicts = {}
    for name in REPEATS:
        op = ops[name]
        wru = op["capacity"]["table_wru"] + op["capacity"]["index_wru"]
        verdicts[name] = {"calls": op["total"], "wru": wru, "within_goal": op["total"] <= 1 and wru <= 1}
    return verdicts


def print_aws_calls(section: dict[str, Any]) -> None:
    rows = []
    for name, op in section["operations"].items():
        budget = "—" if op["within_budget"] is None else ("ok" if op["within_budget"] else "OVER/DIFFERENT")
        units = op["capacity"]
        rows.append(
            [
                name,
                calls_text(op["calls"]),
                op["total"],
                budget,
                units["table_wru"],
                units["index_wru"],
                units["rru"],
                calls_text(op["warmup_calls"]),
            ]
        )
    print("\n## 2. AWS calls and capacity units per operation (warm; counted on the handlers' clients)\n")
    headers = ["operation", "calls", "total", "budget", "table WRU", "index WRU", "RRU", "warm-up run (not counted)"]
    print(render_table(headers, rows))
    print(f"\nCapacity: {section['capacity_note']}.")
    verdicts = [
        f"{name} {'holds' if v['within_goal'] else 'NOT MET'} ({v['calls']} call, {v['wru']} WRU)"
        for name, v in section["repeat_goal"].items()
    ]
    print(
        "Goal for a repeated notice, one call and at most one write unit (measured in an environment that did "
        f"not take it; where it was taken, a repeat costs no call): {'; '.join(verdicts)}."
    )
    _print_baseline_notices(section)
    _print_lifecycle(section["lifecycle"])
    print(f"\nTotal over the {len(rows)} operations: {section['totals']['calls']} calls. {section['note']}")


def _units(f: dict[str, Any]) -> list[Any]:
    """calls, write units (table + index), read units."""
    return [f["calls"], f"{f['table_wru']} + {f['index_wru']}", f["rru"]]


def _print_baseline_notices(section: dict[str, Any]) -> None:
    ops, theirs = section["operations"], section["baseline"]["operations"]

    def ours(name: str) -> dict[str, Any]:
        return {**ops[name]["capacity"], "calls": ops[name]["total"]}

    rows = [
        ["new notice", *_units(ours("callback_new")), *_units(theirs["callback_new"])],
        [
            "duplicate, same environment",
            *_units(ours("callback_duplicate_same_environment")),
            *_units(theirs["callback_duplicate_same_environment"]),
        ],
        [
            "duplicate, another environment",
            *_units(ours("callback_duplicate")),
            *_units(theirs["callback_duplicate_another_environment"]),
        ],
    ]
    print("\nPer callback notice, ours beside the Powertools baseline (WRU: table + index):\n")
    headers = ["", "ours: calls", "WRU", "RRU", "baseline: calls", "WRU", "RRU"]
    print(render_table(headers, rows))
    print(f"\nBaseline: {section['baseline']['what']}.")


def _print_lifecycle(life: dict[str, Any]) -> None:
    theirs = life.get("baseline")
    rows = []
    for name, ours in life["steps"].items():
        row = [name, *_units(ours)]
        if theirs:
            step = theirs["steps"][name]
            row += [f"{step['calls']} (ours)" if step["as_ours"] else step["calls"], *_units(step)[1:]]
        rows.append(row)
    total, floor, goal = life["total"], life["floor"], life["goal"]
    rows.append(["one lifecycle", *_units(total), *(_units(theirs["total"]) if theirs else [])])
    rows.append(["the floor", floor["calls"], floor["wru"], floor["rru"], *(["", "", ""] if theirs else [])])
    headers = ["step", "ours: calls", "WRU", "RRU", *(["baseline: calls", "WRU", "RRU"] if theirs else [])]
    print("\nOne lifecycle, step by step (WRU: table + index):\n")
    print(render_table(headers, rows))
    verdict = "holds" if goal["within_goal"] else "NOT MET"
    print(
        f"\nGoal: one lifecycle at most {goal['wru']:g} write units (1.5x the floor's {floor['wru']}, "
        f"table and index together): ours {goal['ours_wru']} ({goal['ratio_to_floor']}x the floor), {verdict}."
    )
