"""What every section of the bench shares: the run's configuration, constants, and small helpers."""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

LOG_LEVEL = "ERROR"  # handler logs would drown the tables; errors still show
REGION = "us-east-1"
AMOUNT = 12800
SUCCESS = {"err_no": 0, "err_tips": "success"}


class BenchError(Exception):
    pass


@dataclass(frozen=True)
class BenchConfig:
    quick: bool
    import_samples: int
    latency_iterations: int
    latency_warmup: int
    burst_orders: int
    burst_duplicates: int
    burst_threads: int
    burst_rounds: int

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BenchConfig:
        quick = args.quick
        return cls(
            quick=quick,
            import_samples=args.samples or (7 if quick else 21),  # medians of ratios near a goal need many
            latency_iterations=args.iterations or (40 if quick else 200),
            latency_warmup=3 if quick else 5,
            burst_orders=args.orders or (15 if quick else 50),
            burst_duplicates=args.duplicates or 4,
            burst_threads=args.threads or 8,
            burst_rounds=args.rounds or (1 if quick else 3),
        )


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity), not merely those the machine has."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def progress(text: str) -> None:
    print(f"… {text}", file=sys.stderr, flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summary_ms(values: Sequence[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50), 3),
        "p99_ms": round(percentile(values, 99), 3),
        "mean_ms": round(statistics.fmean(values), 3),
        "min_ms": round(min(values), 3),
        "max_ms": round(max(values), 3),
    }


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def calls_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"


@contextlib.contextmanager
def patched_env(values: dict[str, str | None]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    try:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def order_body(no: str) -> dict[str, Any]:
    return {"out_order_no": no, "total_amount": AMOUNT, "subject": "拿铁咖啡", "body": "拿铁 大杯 ×1"}
