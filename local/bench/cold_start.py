"""Section 1b: cold start as deployed — the layer as its Makefile builds it for `sam build`, read-only
and with no bytecode written (Lambda's /opt), then import the handler **and** do its first
invocation's set-up (the AWS clients and, on platform-calling paths, the platform client's import),
in a fresh process, paired round-robin with the floor (boto3 + one DynamoDB client). Peak RSS too.

The runtime's own boto3 comes from this interpreter's site-packages, compiled, as Lambda's is.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from local.aws_resources import REPO

from .cold_imports import _child_env, beside_the_floor, round_robin, timing
from .common import BenchConfig, BenchError, render_table

# What each handler's first invocation builds and imports besides its AWS and platform calls: its
# use case, the AWS clients, the adapter and, where it calls the platform, the platform client. An
# ecpay stack with order sync on (the template's defaults), so creating an order also checks the
# order-sync fields. tests/e2e/test_first_invocation.py runs each handler's real first request
# after this set-up and fails if it loads any more of the layer, Powertools or requests.
_PLATFORM_CALLING = (
    "{use_case}; runtime.secret_cache(); runtime.platforms({attempts}).default; import douyin_pay.ecpay.client"
)
_CREATE = _PLATFORM_CALLING.format(use_case="runtime.submissions()", attempts="runtime.API_QUERY_ATTEMPTS")
SETUP = {
    "callback": (
        "runtime.secret_cache(); runtime.callbacks(); runtime.platforms(runtime.API_QUERY_ATTEMPTS).for_callback({}); "
        "import douyin_pay.ecpay.notices"
    ),
    # A read: the item's view, with what its protocol shows the front end (the traits, not the adapter).
    "query": "runtime.queries(); import douyin_pay.bundle.platforms.ecpay_traits",
    "create_payment": _CREATE + "; import douyin_pay.bundle.platforms.ecpay_sync",
    "create_refund": _CREATE,
    "create_settlement": _CREATE,
    "reconcile": _PLATFORM_CALLING.format(use_case="runtime.reconciler()", attempts="runtime.QUEUED_QUERY_ATTEMPTS"),
    "sweeper": "runtime.reconciler()",
}
# The goals (issue: cost and cold start): paths that never call the platform, and those that do.
GOAL = {"callback": 1.25, "query": 1.25}
PLATFORM_GOAL = 1.5

_CHILD = """\
import json, time
t0 = time.perf_counter()
{body}
t1 = time.perf_counter()
# Peak RSS of this process image: VmHWM (ru_maxrss would carry the parent's peak across exec).
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({{"ms": (t1 - t0) * 1000, "rss_kb": int(hwm.split()[1])}}))
"""
_FLOOR = 'import boto3\nboto3.client("dynamodb", region_name="us-east-1")'


def build_layer(into: Path) -> Path:
    """`make build-DouyinPayLayer` as `sam build` runs it; returns the layer's python/ folder."""
    done = subprocess.run(  # noqa: S603 - make, on our own Makefile
        [
            shutil.which("make") or "make",
            "-s",
            "build-DouyinPayLayer",
            f"ARTIFACTS_DIR={into}",
            f"PYTHON={sys.executable}",
        ],
        cwd=REPO / "layers" / "douyin_pay",
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"building the layer failed:\n{done.stderr.strip()[-2000:]}")
    return into / "python"


def _child(layer: Path, name: str | None) -> dict[str, Any]:
    if name is None:
        body = _FLOOR
    else:
        body = f"import app\nfrom douyin_pay.bundle import runtime\n{SETUP[name].replace('; ', chr(10))}"
    env = _child_env(name)
    runtime_packages = os.pathsep.join(site.getsitepackages())
    path = [str(layer), *([str(REPO / "functions" / name)] if name else []), runtime_packages]
    env |= {"PYTHONPATH": os.pathsep.join(path), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-S", "-c", _CHILD.format(body=body)],
        env=env,
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"cold-start child for {name or 'floor'} failed:\n{done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_cold_start(cfg: BenchConfig) -> dict[str, Any]:
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="layer-as-built-") as tmp:
        layer = build_layer(Path(tmp))
        samples_per_target = 2 if cfg.quick else cfg.import_samples
        samples = round_robin(samples_per_target, lambda target: _child(layer, target))
        pyc = sum(1 for _ in layer.rglob("*.pyc"))

    def stats(rows: list[dict[str, Any]]) -> dict[str, Any]:
        return {**timing(rows), "peak_rss_mb": round(statistics.median(r["rss_kb"] for r in rows) / 1024, 1)}

    floor, handlers = beside_the_floor(samples, stats)
    for name, figures in handlers.items():
        figures["goal"] = GOAL.get(name, PLATFORM_GOAL)
        figures["setup"] = SETUP[name]
    return {
        "method": (
            f"{samples_per_target} fresh `python -S -c` children per target, round-robin; the layer built by "
            f"layers/douyin_pay/Makefile ({pyc} .pyc files), read-only, PYTHONDONTWRITEBYTECODE=1; timed: "
            "`import app` + the first invocation's set-up (column `setup`: everything it builds and imports "
            "besides its AWS and platform calls, complete by tests/e2e/test_first_invocation.py); boto3 from "
            "this interpreter's site-packages, as Lambda's runtime provides it"
        ),
        "floor": floor,
        "handlers": handlers,
        "within_goals": all(h["ratio_to_floor"] <= h["goal"] for h in handlers.values()),
        "seconds": round(time.perf_counter() - t0, 2),
    }


def print_cold_start(section: dict[str, Any]) -> None:
    floor = section["floor"]
    rows = [
        [
            "floor: boto3 + DynamoDB client",
            floor["median_ms"],
            floor["min_ms"],
            floor["max_ms"],
            "1.00",
            "",
            floor["peak_rss_mb"],
            "",
        ]
    ]
    for name, h in section["handlers"].items():
        verdict = "ok" if h["ratio_to_floor"] <= h["goal"] else "OVER"
        rows.append(
            [
                name,
                h["median_ms"],
                h["min_ms"],
                h["max_ms"],
                f"{h['ratio_to_floor']:.2f}",
                f"≤ {h['goal']} {verdict}",
                h["peak_rss_mb"],
                h["setup"],
            ]
        )
    print("\n## 1b. Cold start as deployed: import + first invocation's set-up, layer as built (ms)\n")
    headers = ["handler", "median", "min", "max", "÷ floor", "goal", "peak RSS MB", "set-up timed"]
    print(render_table(headers, rows))
    print(f"\n{section['method']}.")
