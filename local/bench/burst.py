"""Section 4: one callback burst round, ours and the Powertools baseline on the same notices."""

from __future__ import annotations

import random
import statistics
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from .bundle_env import OursEnvironment, in_process_bundle, order_key, payment_notice, scan_table, verify_notice
from .common import BenchConfig, BenchError, order_body
from .delivery import BaselineEnvironment, run_threads, serial_pass


def _side_figures(run: dict[str, Any], new_outcomes: set[str], orders: int, duplicates: int) -> dict[str, Any]:
    records = run["records"]
    notices = orders * duplicates
    new_calls = [c for o, c in records if o in new_outcomes]
    dup_calls = [c for o, c in records if o not in new_outcomes]
    total = sum(c for _, c in records)
    return {
        "notices": notices,
        "seconds": round(run["seconds"], 4),
        "notices_per_second": round(notices / run["seconds"], 1),
        "outcomes": dict(Counter(o for o, _ in records)),
        "dynamodb_calls": total,
        "dynamodb_calls_by_operation": run["by_operation"],
        "calls_per_notice": round(total / notices, 3),
        "calls_per_new_notice": round(statistics.fmean(new_calls), 3) if new_calls else None,
        # every attempt that was not the first processing (replays, in-progress retries) is the cost of a duplicate
        "calls_per_duplicate": round(sum(dup_calls) / (orders * (duplicates - 1)), 3) if duplicates > 1 else None,
    }


def _check_ours(admin: Any, table: str, orders: list[str], outcomes: dict[str, int], duplicates: int) -> list[str]:
    failures = []
    k = len(orders)
    expected = {"applied": k, "duplicate": k * (duplicates - 1)} if duplicates > 1 else {"applied": k}
    if outcomes != expected:
        failures.append(f"ours: outcomes {outcomes}, expected {expected}")
    items = scan_table(admin, table)
    wanted = set(orders)
    notices = {
        i["pk"].removeprefix("ORDER#"): i.get("notices", set())
        for i in items
        if i["pk"].removeprefix("ORDER#") in wanted
    }
    for no in orders:
        if len(notices.get(no, ())) != 1:
            failures.append(f"ours: {no} recorded notices {notices.get(no)}, expected exactly one")
    status = {i["pk"].removeprefix("ORDER#"): i["status"] for i in items if i["pk"].startswith("ORDER#")}
    not_paid = [no for no in orders if status.get(no) != "PAID"]
    if not_paid:
        failures.append(f"ours: {len(not_paid)} orders not PAID, e.g. {not_paid[:3]}")
    return failures


def _check_baseline(
    admin: Any, orders_table: str, idempotency_table: str, orders: list[str], outcomes: dict[str, int], duplicates: int
) -> list[str]:
    failures = []
    k = len(orders)
    replays = k * (duplicates - 1)
    if outcomes.get("applied") != k or outcomes.get("not_applied", 0) or outcomes.get("replay", 0) != replays:
        failures.append(
            f"baseline: outcomes {outcomes}, expected applied {k}, replay {replays} (+ in_progress retries)"
        )
    status = {i["pk"].removeprefix("ORDER#"): i["status"] for i in scan_table(admin, orders_table)}
    not_paid = [no for no in orders if status.get(no) != "PAID"]
    if not_paid:
        failures.append(f"baseline: {len(not_paid)} orders not PAID, e.g. {not_paid[:3]}")
    records = scan_table(admin, idempotency_table)
    not_completed = [r["id"] for r in records if r.get("status") != "COMPLETED"]
    if not_completed:
        failures.append(f"baseline: {len(not_completed)} idempotency records not COMPLETED")
    return failures


# A side of the comparison: its name, its environment factory, and the outcomes that mean a first processing.
type Side = tuple[str, Callable[[], Any], set[str]]


class _Round:
    """One round on its own in-process bundle: the orders created, and the baseline's own tables
    holding copies of them."""

    def __init__(self, b: Any, admin: Any, index: int, order_ids: dict[str, str]) -> None:
        self.b = b
        self.admin = admin
        self.index = index
        self.order_ids = order_ids
        self.idempotency_table = f"bench-idempotency-{index}"
        self.orders_table = f"bench-baseline-orders-{index}"

    def create_orders(self, numbers: list[str]) -> None:
        self.order_ids |= _create_orders(self.b, numbers)

    def raw_order(self, no: str) -> dict[str, Any]:
        key = order_key(no)
        return self.admin.get_item(TableName=self.b.resources.table_name, Key=key, ConsistentRead=True)["Item"]

    def create_baseline_tables(self) -> None:
        from .baseline import create_idempotency_table, create_orders_table

        create_idempotency_table(self.admin, self.idempotency_table)
        create_orders_table(self.admin, self.orders_table)

    def seed_baseline(self, numbers: list[str]) -> None:
        from .baseline import seed_orders

        seed_orders(self.admin, self.orders_table, [self.raw_order(no) for no in numbers])

    def notices_for(self, no: str, copies: int) -> list[Any]:
        # Redeliveries carry a new timestamp and nonce; the dedupe key is over the signed msg.
        bodies = [
            payment_notice(no, self.order_ids[no], timestamp=str(int(time.time()) + 15 * d), nonce=str(1000 + d))
            for d in range(copies)
        ]
        return [verify_notice(body) for body in bodies]  # verified once, up front

    def ours(self) -> OursEnvironment:
        return OursEnvironment(self.b)

    def baseline(self) -> BaselineEnvironment:
        return BaselineEnvironment(self.b, self.idempotency_table, self.orders_table)

    def sides(self) -> list[Side]:
        sides = [("ours", self.ours, {"applied"}), ("baseline", self.baseline, {"applied", "not_applied"})]
        if self.index % 2:
            sides.reverse()  # alternate which goes first across rounds
        return sides


def _create_orders(b: Any, numbers: list[str]) -> dict[str, str]:
    order_ids: dict[str, str] = {}
    for no in numbers:
        status, body = b.create_payment(order_body(no))
        if status != 201:
            raise BenchError(f"burst: creating {no} answered {status} {body}")
        order_ids[no] = body["order_id"]
    return order_ids


def _sequential(r: _Round, seq_no: str) -> dict[str, Any]:
    """One environment, one notice then its redelivery, then the redelivery again in a second
    environment: the per-notice cost without any race (the baseline's local cache answers only
    in the environment that processed the notice)."""
    sequential: dict[str, Any] = {}
    seq_new, seq_dup, seq_elsewhere = r.notices_for(seq_no, 3)
    for name, factory in (("ours", r.ours), ("baseline", r.baseline)):
        env, other = factory(), factory()
        try:
            env.warm()
            other.warm()
            first = env.handle(seq_new)
            new_calls = dict(env.calls)
            env.calls.clear()
            again = env.handle(seq_dup)
            elsewhere = other.handle(seq_elsewhere)
            sequential[name] = {
                "new": {"outcome": first, "calls": new_calls},
                "duplicate": {"outcome": again, "calls": dict(env.calls)},
                "duplicate_another_environment": {"outcome": elsewhere, "calls": dict(other.calls)},
            }
        finally:
            env.close()
            other.close()
    return sequential


def _serial(r: _Round, sides: list[Side], k: int, m: int) -> dict[str, Any]:
    """Where the time goes: K more orders, their notices through one environment per side in one
    thread, timing what moto itself spends apart from the client side (botocore + our code)."""
    serial_nos = [f"serial{r.index}-{i:03d}" for i in range(k)]
    r.create_orders(serial_nos)
    r.seed_baseline(serial_nos)
    serial_notices = [n for no in serial_nos for n in r.notices_for(no, m)]
    random.Random(1000 + r.index).shuffle(serial_notices)  # noqa: S311 - an order, not a secret
    return {name: serial_pass(factory, serial_notices) for name, factory, _ in sides}


def burst_round(cfg: BenchConfig, index: int) -> dict[str, Any]:
    k, m, t = cfg.burst_orders, cfg.burst_duplicates, cfg.burst_threads
    with in_process_bundle() as b:
        nos = [f"burst{index}-{i:03d}" for i in range(k)]
        seq_no = f"burst{index}-seq"
        order_ids = _create_orders(b, [*nos, seq_no])
        admin = b.session.client("dynamodb")
        try:
            r = _Round(b, admin, index, order_ids)
            r.create_baseline_tables()
            r.seed_baseline([*nos, seq_no])
            notices = [n for no in nos for n in r.notices_for(no, m)]
            random.Random(index).shuffle(notices)  # noqa: S311 - an order, not a secret
            sequential = _sequential(r, seq_no)
            sides = r.sides()
            results: dict[str, Any] = {}
            for name, factory, new_outcomes in sides:
                results[name] = _side_figures(run_threads(factory, notices, t), new_outcomes, k, m)
            failures = _check_ours(admin, b.resources.table_name, nos, results["ours"]["outcomes"], m)
            failures += _check_baseline(
                admin, r.orders_table, r.idempotency_table, nos, results["baseline"]["outcomes"], m
            )
            serial = _serial(r, sides, k, m)
        finally:
            admin.close()
    return {
        "round": index,
        "first": sides[0][0],
        "ours": results["ours"],
        "baseline": results["baseline"],
        "sequential": sequential,
        "serial": serial,
        "failures": failures,
    }
