"""``python -m local.bench``: the arguments, the run of every section, the report and the JSON."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import shlex
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from ..shutdown import (
    CHECK_FAILED,
    OK,
    Interrupted,
    exit_code_of_interruption,
    run_exit_codes,
    terminate_like_interrupt,
)
from .aws_calls import measure_aws_calls, print_aws_calls
from .burst_summary import measure_burst, print_burst
from .cold_imports import HANDLERS, measure_imports, print_imports
from .cold_start import measure_cold_start, print_cold_start
from .common import BenchConfig, calls_text, progress, usable_cpus
from .latency import measure_latency, print_latency


def machine() -> dict[str, Any]:
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for dist in ("boto3", "botocore", "moto", "aws-lambda-powertools", "requests"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[dist] = metadata.version(dist)
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable_cpus(),
        "cpu_model": cpu_model,
        "packages": versions,
    }


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local.bench",
        description="The bundle's performance figures: cold imports, AWS calls per operation, handler "
        "latency on the local stack, and a callback burst beside the Powertools baseline. Everything runs "
        "on loopback and stops what it started; prints a table per section and writes every figure as JSON.",
        epilog=run_exit_codes("a section failed, or the burst's correctness check did not pass"),
    )
    parser.add_argument("--quick", action="store_true", help="smaller run (~30 s) for the smoke test")
    parser.add_argument("--out", default="bench-results/bench.json", help="JSON output path")
    parser.add_argument("--samples", type=int, help="import-time children per module (min 7)")
    parser.add_argument("--iterations", type=int, help="latency iterations per operation")
    parser.add_argument("--orders", type=int, help="burst: orders (K)")
    parser.add_argument("--duplicates", type=int, help="burst: notices per order (M)")
    parser.add_argument("--threads", type=int, help="burst: threads (T)")
    parser.add_argument("--rounds", type=int, help="burst: rounds")
    args = parser.parse_args(argv)
    if args.samples is not None and args.samples < 7:
        parser.error("--samples must be at least 7")
    if args.duplicates is not None and args.duplicates < 2:
        parser.error("--duplicates must be at least 2")
    return args


def _header(argv: list[str], cfg: BenchConfig) -> dict[str, Any]:
    now = datetime.now(UTC).astimezone()
    return {
        "command": shlex.join(["python", "-m", "local.bench", *argv]),
        "date": now.isoformat(timespec="seconds"),
        "machine": machine(),
        "config": asdict(cfg),
    }


def _print_header(result: dict[str, Any]) -> None:
    m = result["machine"]
    print(f"# douyin-pay bench — {result['date']}")
    print(f"command: {result['command']}")
    print(
        f"machine: Python {m['python']} ({m['implementation']}), {m['cpu_count']} CPUs"
        f" ({m['cpus_usable']} usable), {m['cpu_model'] or 'unknown CPU'}, {m['platform']}"
    )
    print(f"packages: {calls_text(m['packages'])}", flush=True)


class _Sections:
    """Runs each section in turn: its errors and what the code under test printed, by section."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}
        self.stray: dict[str, list[str]] = {}

    def run(self, key: str, what: str, run: Callable[[], Any], show: Callable[..., None]) -> Any:
        progress(what)
        captured = io.StringIO()  # what handlers print (e.g. Powertools' EMF auto-flush) stays out of the tables
        try:
            with contextlib.redirect_stdout(captured):
                value = run()
        except Exception as exc:  # noqa: BLE001 - every section is attempted; the exit code reports it
            self.errors[key] = "".join(traceback.format_exception(exc))
            print(f"\n## {key}: FAILED\n{self.errors[key]}", flush=True)
            return None
        finally:
            self.stray[key] = captured.getvalue().splitlines()
        if isinstance(value, tuple):
            show(*value)
        else:
            show(value)
        sys.stdout.flush()
        return value


def _run_sections(cfg: BenchConfig, sections: _Sections, result: dict[str, Any]) -> None:
    section = sections.run
    n_modules = len(HANDLERS) + 1
    result["imports"] = section(
        "imports",
        f"cold imports: {n_modules} modules × {cfg.import_samples} children",
        lambda: measure_imports(cfg),
        print_imports,
    )
    result["cold_start"] = section(
        "cold_start",
        "cold start as deployed (layer as built, import + set-up)",
        lambda: measure_cold_start(cfg),
        print_cold_start,
    )
    result["aws_calls"] = section(
        "aws_calls", "AWS calls per operation", lambda: measure_aws_calls(cfg), print_aws_calls
    )
    result["latency"] = section(
        "latency",
        f"latency on the local stack ({cfg.latency_iterations} per operation)",
        lambda: measure_latency(cfg),
        print_latency,
    )
    burst = section(
        "burst", "callback burst, ours and the Powertools baseline", lambda: measure_burst(cfg), print_burst
    )
    result["burst"], result["baseline"] = burst if burst else (None, None)


def _conclude(result: dict[str, Any], sections: _Sections, started: float) -> list[str]:
    """Add the verdict and the run's errors to ``result``; the reasons it failed, if it did."""
    errors, stray = sections.errors, sections.stray
    burst_ok = bool(result["burst"] and result["burst"]["check"]["passed"])
    baseline_ok = bool(result["baseline"] and result["baseline"]["check"]["passed"])
    result["errors"] = errors
    result["captured_stdout"] = {
        "note": "lines the code under test printed during each section (kept out of the tables)",
        "lines": {k: len(v) for k, v in stray.items()},
        "sample": {k: [line[:300] for line in v[:3]] for k, v in stray.items() if v},
    }
    result["ok"] = not errors and burst_ok and baseline_ok
    result["seconds"] = round(time.perf_counter() - started, 1)
    return [*errors, *([] if burst_ok else ["burst check"]), *([] if baseline_ok else ["baseline check"])]


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    cfg = BenchConfig.from_args(args)
    started = time.perf_counter()
    result = _header(argv, cfg)
    _print_header(result)
    sections = _Sections()
    terminate_like_interrupt()  # SIGTERM, too, lets the running section stop what it started
    try:
        _run_sections(cfg, sections, result)
    except (KeyboardInterrupt, Interrupted) as exc:
        print("\ninterrupted; no JSON written", file=sys.stderr, flush=True)
        return exit_code_of_interruption(exc)
    reasons = _conclude(result, sections, started)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    verdict = "OK" if result["ok"] else "FAILED"
    print(f"\n{verdict} in {result['seconds']} s{'' if result['ok'] else ' — ' + ', '.join(reasons)}; JSON: {out}")
    return OK if result["ok"] else CHECK_FAILED
