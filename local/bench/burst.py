"""Section 4: one callback burst round, ours and the Powertools baseline on the same notices."""

from __future__ import annotations

import contextlib
import random
import statistics
import threading
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Sequence
from typing import Any

from .bundle_env import OursEnvironment, in_process_bundle, order_key, payment_notice, scan_table, verify_notice
from .common import BenchConfig, BenchError, order_body
from .timers import MotoTimer

IN_PROGRESS_PAUSE = 0.001  # seconds before a baseline in-progress duplicate is retried


class BaselineEnvironment:
    """Adapter giving local.bench.baseline.PowertoolsEnvironment the same shape."""

    def __init__(self, bundle: Any, idempotency_table: str, orders_table: str) -> None:
        from local.events import lambda_context

        from .baseline import PowertoolsEnvironment

        self.idempotency_table = idempotency_table
        self.env = PowertoolsEnvironment(
            bundle.session,
            idempotency_table=idempotency_table,
            orders_table=orders_table,
            lambda_context=lambda_context("CallbackFunction", timeout_ms=20_000),
            clock=bundle.clock,
        )
        self.calls = self.env.calls

    def warm(self) -> None:
        self.env.client.describe_table(TableName=self.idempotency_table)
        self.calls.clear()

    def total_calls(self) -> int:
        return self.env.total_calls()

    def handle(self, notice: Any) -> str:
        return self.env.handle(notice)

    def close(self) -> None:
        self.env.close()


def run_threads(factory: Callable[[], Any], notices: Sequence[Any], threads: int) -> dict[str, Any]:
    """Deliver the notices from ``threads`` threads, each with its own environment; returns the
    wall time of the delivery phase, each attempt's (outcome, calls) and the calls by operation."""
    queue: deque[Any] = deque(notices)
    records: list[tuple[str, int]] = []
    errors: list[BaseException] = []
    envs: list[Any] = []
    lock = threading.Lock()
    ready = threading.Barrier(threads + 1, timeout=120)

    def worker() -> None:
        env = None
        try:
            env = factory()
            env.warm()
            with lock:
                envs.append(env)
        except BaseException as exc:  # noqa: BLE001 - reported after the join
            errors.append(exc)
        with contextlib.suppress(threading.BrokenBarrierError):
            ready.wait()
        if env is None:
            return
        mine: list[tuple[str, int]] = []
        try:
            while True:
                try:
                    notice = queue.popleft()
                except IndexError:
                    break
                before = env.total_calls()
                outcome = env.handle(notice)
                mine.append((outcome, env.total_calls() - before))
                if outcome == "in_progress":  # the platform would redeliver it later
                    time.sleep(IN_PROGRESS_PAUSE)
                    queue.append(notice)
        except BaseException as exc:  # noqa: BLE001 - reported after the join
            errors.append(exc)
        with lock:
            records.extend(mine)

    workers = [threading.Thread(target=worker, name=f"bench-env-{i}", daemon=True) for i in range(threads)]
    for t in workers:
        t.start()
    try:
        ready.wait()
    except threading.BrokenBarrierError as exc:
        raise BenchError(f"burst environments did not start: {errors!r}") from exc
    start = time.perf_counter()
    for t in workers:
        t.join(timeout=300)
    elapsed = time.perf_counter() - start
    by_operation: Counter[str] = Counter()
    for env in envs:
        by_operation.update(env.calls)
        env.close()
    if errors:
        raise BenchError("burst worker failed: " + "".join(traceback.format_exception(errors[0])))
    if any(t.is_alive() for t in workers):
        raise BenchError("burst workers did not finish in 300 s")
    return {"seconds": elapsed, "records": records, "by_operation": dict(by_operation)}


def serial_pass(factory: Callable[[], Any], notices: Sequence[Any]) -> dict[str, Any]:
    """All notices through one environment in this thread: no lock waits, no GIL contention, so the
    wall time splits cleanly into moto's share and the client side's (botocore + the code under test)."""
    env = factory()
    try:
        env.warm()
        with MotoTimer(whole_request=True).installed() as in_moto:
            start = time.perf_counter()
            outcomes = Counter(env.handle(n) for n in notices)
            wall, moto = time.perf_counter() - start, in_moto.seconds
    finally:
        env.close()
    n = len(notices)
    calls = sum(env.calls.values())
    return {
        "notices": n,
        "notices_per_second": round(n / wall, 1),
        "ms_per_notice": round(wall * 1000 / n, 3),
        "ms_in_moto_per_notice": round(moto * 1000 / n, 3),
        "ms_client_side_per_notice": round((wall - moto) * 1000 / n, 3),
        "calls_per_notice": round(calls / n, 3),
        "calls_by_operation": dict(env.calls),
        "outcomes": dict(outcomes),
    }


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
    events: dict[str, list[str]] = {}
    for item in items:
        if item["pk"].startswith("EVENT#") and item.get("ref") in wanted:
            events.setdefault(item["ref"], []).append(item.get("outcome"))
    for no in orders:
        if events.get(no) != ["applied"]:
            failures.append(f"ours: {no} has event outcomes {events.get(no)}, expected exactly one 'applied'")
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


def burst_round(cfg: BenchConfig, index: int) -> dict[str, Any]:
    from .baseline import create_idempotency_table, create_orders_table, seed_orders

    k, m, t = cfg.burst_orders, cfg.burst_duplicates, cfg.burst_threads
    with in_process_bundle() as b:
        nos = [f"burst{index}-{i:03d}" for i in range(k)]
        seq_no = f"burst{index}-seq"
        order_ids: dict[str, str] = {}

        def create_orders(numbers: list[str]) -> None:
            for no in numbers:
                status, body = b.create_payment(order_body(no))
                if status != 201:
                    raise BenchError(f"burst: creating {no} answered {status} {body}")
                order_ids[no] = body["order_id"]

        create_orders([*nos, seq_no])
        admin = b.session.client("dynamodb")

        def raw_order(no: str) -> dict[str, Any]:
            key = order_key(no)
            return admin.get_item(TableName=b.resources.table_name, Key=key, ConsistentRead=True)["Item"]

        try:
            idempotency_table, orders_table = f"bench-idempotency-{index}", f"bench-baseline-orders-{index}"
            create_idempotency_table(admin, idempotency_table)
            create_orders_table(admin, orders_table)
            seed_orders(admin, orders_table, [raw_order(no) for no in [*nos, seq_no]])

            def notices_for(no: str, copies: int) -> list[Any]:
                # Redeliveries carry a new timestamp and nonce; the dedupe key is over type + msg.
                bodies = [
                    payment_notice(no, order_ids[no], timestamp=str(1764072000 + 15 * d), nonce=str(1000 + d))
                    for d in range(copies)
                ]
                return [verify_notice(body) for body in bodies]  # verified once, up front

            notices = [n for no in nos for n in notices_for(no, m)]
            random.Random(index).shuffle(notices)  # noqa: S311 - an order, not a secret

            def ours() -> OursEnvironment:
                return OursEnvironment(b)

            def baseline() -> BaselineEnvironment:
                return BaselineEnvironment(b, idempotency_table, orders_table)

            # One environment, one notice then its redelivery: the per-notice cost without any race.
            sequential: dict[str, Any] = {}
            seq_new, seq_dup = notices_for(seq_no, 2)
            for name, factory in (("ours", ours), ("baseline", baseline)):
                env = factory()
                try:
                    env.warm()
                    first = env.handle(seq_new)
                    new_calls = dict(env.calls)
                    env.calls.clear()
                    again = env.handle(seq_dup)
                    sequential[name] = {
                        "new": {"outcome": first, "calls": new_calls},
                        "duplicate": {"outcome": again, "calls": dict(env.calls)},
                    }
                finally:
                    env.close()

            sides = [("ours", ours, {"applied"}), ("baseline", baseline, {"applied", "not_applied"})]
            if index % 2:
                sides.reverse()  # alternate which goes first across rounds
            results: dict[str, Any] = {}
            for name, factory, new_outcomes in sides:
                results[name] = _side_figures(run_threads(factory, notices, t), new_outcomes, k, m)
            failures = _check_ours(admin, b.resources.table_name, nos, results["ours"]["outcomes"], m)
            failures += _check_baseline(admin, orders_table, idempotency_table, nos, results["baseline"]["outcomes"], m)

            # Where the time goes: K more orders, their notices through one environment per side in
            # one thread, timing what moto itself spends apart from the client side (botocore + our code).
            serial_nos = [f"serial{index}-{i:03d}" for i in range(k)]
            create_orders(serial_nos)
            seed_orders(admin, orders_table, [raw_order(no) for no in serial_nos])
            serial_notices = [n for no in serial_nos for n in notices_for(no, m)]
            random.Random(1000 + index).shuffle(serial_notices)  # noqa: S311 - an order, not a secret
            serial = {name: serial_pass(factory, serial_notices) for name, factory, _ in sides}
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
