"""A bounded load test on the local stack: C concurrent API clients for S seconds (and at most N
requests), each running the merchant's loop — create a payment, the user pays (in the simulator),
read it, read it with a refresh from the platform — over HTTP through the local API gateway.
Reports throughput, latency percentiles and errors (expected: none), then checks every paid order
reached PAID. A refresh the stack's query budget turns away (``503 query_budget_exhausted``: the
platform allows 30 queries a second per app, most of them reconciliation's) is counted as
``throttled``, not as an error: that is the budget working.

    python -m local.load [--seconds 10] [--clients 8] [--max-requests 5000] [--json out.json]

Traffic goes to 127.0.0.1 only, and the run stops by itself. Exit codes: those of local/shutdown.py
(1: an error, or a paid order not PAID afterwards).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from .shutdown import (
    CHECK_FAILED,
    OK,
    Interrupted,
    exit_code_of_interruption,
    positive,
    run_exit_codes,
    terminate_like_interrupt,
)
from .stack import LocalStack, StackConfig

ORDER = {"total_amount": 12800, "subject": "拿铁咖啡", "body": "拿铁 大杯 ×1"}


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter = field(default_factory=Counter)
    throttled: int = 0  # refreshes the query budget turned away
    orders: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, op: str, seconds: float, ok: bool, detail: str = "") -> None:
        with self.lock:
            self.latencies.setdefault(op, []).append(seconds)
            if not ok:
                self.errors[f"{op}: {detail}"] += 1

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())


def _code(response: requests.Response) -> str | None:
    try:
        return response.json().get("code")
    except ValueError:
        return None


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _client(stack: LocalStack, index: int, deadline: float, budget: threading.Semaphore, results: Results) -> None:
    http = requests.Session()
    api, sim = stack.api.url, stack.sim.base_url
    n = 0
    spent = False  # the run's request budget is used up: this client is done

    def call(op: str, method: str, url: str, expect: int, **kwargs: Any) -> requests.Response | None:
        nonlocal spent
        if time.monotonic() >= deadline:
            return None
        if not budget.acquire(blocking=False):
            spent = True
            return None
        started = time.perf_counter()
        try:
            response = http.request(method, url, timeout=30, **kwargs)
        except requests.RequestException as exc:
            results.record(op, time.perf_counter() - started, False, type(exc).__name__)
            return None
        ok = response.status_code == expect
        if not ok and response.status_code == 503 and _code(response) == "query_budget_exhausted":
            with results.lock:
                results.throttled += 1
            return None
        results.record(op, time.perf_counter() - started, ok, f"HTTP {response.status_code}")
        return response if ok else None

    try:
        while time.monotonic() < deadline and not spent:
            no = f"load-{index}-{n}"
            n += 1
            if not call("create", "POST", f"{api}/payments", 201, json={"out_order_no": no, **ORDER}):
                continue
            if not call("pay (simulator)", "POST", f"{sim}/_sim/orders/{no}/pay", 200, json={"way": 10}):
                continue
            with results.lock:
                results.orders.append(no)  # paid: it must end PAID
            call("query", "GET", f"{api}/payments/{no}", 200)
            call("refresh", "GET", f"{api}/payments/{no}?refresh=true", 200)
    finally:
        http.close()


def run(seconds: float, clients: int, max_requests: int, stack: LocalStack | None = None) -> dict[str, Any]:
    own = stack is None
    stack = stack or LocalStack(StackConfig(log_level="CRITICAL")).start()
    results = Results()
    try:
        budget = threading.Semaphore(max_requests)
        started = time.monotonic()
        deadline = started + seconds
        # Daemons: after Ctrl-C the stack stops at once, and no client keeps the process alive until its deadline.
        threads = [
            threading.Thread(target=_client, args=(stack, i, deadline, budget, results), daemon=True)
            for i in range(clients)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        # Every created order must end PAID (by callback or reconciliation) shortly after the load.
        settle_deadline = time.monotonic() + 30
        unpaid = list(results.orders)
        while unpaid and time.monotonic() < settle_deadline:
            unpaid = [
                no
                for no in unpaid
                if requests.get(f"{stack.api.url}/payments/{no}", timeout=10).json().get("status") != "PAID"
            ]
            if unpaid:
                time.sleep(0.2)
    finally:
        if own:
            stack.stop()
    report = {
        "seconds": round(elapsed, 2),
        "clients": clients,
        "requests": results.requests,
        "throughput_rps": round(results.requests / elapsed, 1),
        "orders": len(results.orders),
        "orders_not_paid": len(unpaid),
        "errors": dict(results.errors),
        "throttled": results.throttled,
        "latency_ms": {
            op: {
                "n": len(v),
                "p50": round(1000 * statistics.median(v), 1),
                "p95": round(1000 * _percentile(v, 95), 1),
                "p99": round(1000 * _percentile(v, 99), 1),
                "max": round(1000 * max(v), 1),
            }
            for op, v in sorted(results.latencies.items())
        },
    }
    return report


def print_report(report: dict[str, Any]) -> None:
    print(
        f"{report['clients']} clients for {report['seconds']} s: {report['requests']} requests, "
        f"{report['throughput_rps']} req/s, {report['orders']} orders, errors: {sum(report['errors'].values())}, "
        f"throttled by the query budget: {report['throttled']}, "
        f"orders not PAID afterwards: {report['orders_not_paid']}"
    )
    print(f"{'operation':<18}{'n':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for op, row in report["latency_ms"].items():
        print(f"{op:<18}{row['n']:>7}{row['p50']:>9}{row['p95']:>9}{row['p99']:>9}{row['max']:>9}")
    for error, count in report["errors"].items():
        print(f"  error {count}× {error}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local.load",
        description="A bounded load test on the local stack (loopback only): concurrent API clients create "
        "payments, pay them in the simulator and read them back for a fixed time, then every paid order "
        "must end PAID. Prints throughput, latency percentiles and errors.",
        epilog=run_exit_codes("an error, or a paid order not PAID afterwards"),
    )
    parser.add_argument("--seconds", type=positive(float), default=10.0, help="how long to run (default: 10)")
    parser.add_argument("--clients", type=positive(int), default=8, help="concurrent API clients (default: 8)")
    parser.add_argument(
        "--max-requests", type=positive(int), default=5000, help="stop after this many requests (default: 5000)"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the report as JSON to FILE")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    terminate_like_interrupt()  # SIGTERM, too, stops the stack before exiting
    try:
        report = run(args.seconds, args.clients, args.max_requests)
    except (KeyboardInterrupt, Interrupted) as exc:
        print("\ninterrupted; the stack has been stopped", file=sys.stderr, flush=True)
        return exit_code_of_interruption(exc)
    print_report(report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return OK if not report["errors"] and not report["orders_not_paid"] else CHECK_FAILED


if __name__ == "__main__":
    sys.exit(main())
