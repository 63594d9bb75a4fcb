"""How the burst's notices reach an execution environment: from T threads at once, or serially
in one; and the Powertools baseline's environment in the same shape as ours
(``bundle_env.OursEnvironment``): ``warm``, ``handle``, ``calls``, ``total_calls``, ``close``."""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Sequence
from typing import Any

from .common import BenchError
from .timers import MotoTimer

IN_PROGRESS_PAUSE = 0.001  # seconds before a baseline in-progress duplicate is retried


class BaselineEnvironment:
    """Adapter giving local.bench.baseline.PowertoolsEnvironment the same shape."""

    def __init__(self, bundle: Any, idempotency_table: str, orders_table: str) -> None:
        from .baseline import MoveToPaid, PowertoolsEnvironment

        self.idempotency_table = idempotency_table
        self.env = PowertoolsEnvironment(
            bundle.session,
            idempotency_table=idempotency_table,
            write=MoveToPaid(orders_table, bundle.clock),
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


class _Delivery:
    """What the delivery threads share: the notices left, each attempt's (outcome, calls), the
    environments set up and the errors raised (reported after the join)."""

    def __init__(self, factory: Callable[[], Any], notices: Sequence[Any], threads: int) -> None:
        self.factory = factory
        self.queue: deque[Any] = deque(notices)
        self.records: list[tuple[str, int]] = []
        self.errors: list[BaseException] = []
        self.envs: list[Any] = []
        self.lock = threading.Lock()
        self.ready = threading.Barrier(threads + 1, timeout=120)

    def worker(self) -> None:
        env = self._set_up()
        with contextlib.suppress(threading.BrokenBarrierError):
            self.ready.wait()
        if env is None:
            return
        mine: list[tuple[str, int]] = []
        try:
            self._drain(env, mine)
        except BaseException as exc:  # noqa: BLE001 - reported after the join
            self.errors.append(exc)
        with self.lock:
            self.records.extend(mine)

    def _set_up(self) -> Any:
        env = None
        try:
            env = self.factory()
            env.warm()
            with self.lock:
                self.envs.append(env)
        except BaseException as exc:  # noqa: BLE001 - reported after the join
            self.errors.append(exc)
        return env

    def _drain(self, env: Any, mine: list[tuple[str, int]]) -> None:
        while True:
            try:
                notice = self.queue.popleft()
            except IndexError:
                break
            before = env.total_calls()
            outcome = env.handle(notice)
            mine.append((outcome, env.total_calls() - before))
            if outcome == "in_progress":  # the platform would redeliver it later
                time.sleep(IN_PROGRESS_PAUSE)
                self.queue.append(notice)

    def close_environments(self) -> dict[str, int]:
        """Close every environment; their calls by operation, summed."""
        by_operation: Counter[str] = Counter()
        for env in self.envs:
            by_operation.update(env.calls)
            env.close()
        return dict(by_operation)


def run_threads(factory: Callable[[], Any], notices: Sequence[Any], threads: int) -> dict[str, Any]:
    """Deliver the notices from ``threads`` threads, each with its own environment; returns the
    wall time of the delivery phase, each attempt's (outcome, calls) and the calls by operation."""
    delivery = _Delivery(factory, notices, threads)
    workers = [threading.Thread(target=delivery.worker, name=f"bench-env-{i}", daemon=True) for i in range(threads)]
    for t in workers:
        t.start()
    try:
        delivery.ready.wait()
    except threading.BrokenBarrierError as exc:
        raise BenchError(f"burst environments did not start: {delivery.errors!r}") from exc
    start = time.perf_counter()
    for t in workers:
        t.join(timeout=300)
    elapsed = time.perf_counter() - start
    by_operation = delivery.close_environments()
    if delivery.errors:
        raise BenchError("burst worker failed: " + "".join(traceback.format_exception(delivery.errors[0])))
    if any(t.is_alive() for t in workers):
        raise BenchError("burst workers did not finish in 300 s")
    return {"seconds": elapsed, "records": delivery.records, "by_operation": by_operation}


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
