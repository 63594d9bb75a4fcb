"""Section 1: cold import time of every handler module, beside a boto3 floor."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from local.aws_resources import FUNCTIONS, REPO, Resources, function_environment

from .common import REGION, BenchConfig, BenchError, render_table

HANDLERS = ("create_payment", "create_refund", "create_settlement", "query", "callback", "reconcile", "sweeper")
LOGICAL_ID = {name: logical_id for logical_id, name in FUNCTIONS.items()}


_CHILD_HANDLER = """\
import json, sys, time
t0 = time.perf_counter()
import app
t1 = time.perf_counter()
print(json.dumps({"ms": (t1 - t0) * 1000, "requests": "requests" in sys.modules,
                  "event_handler": "aws_lambda_powertools.event_handler" in sys.modules,
                  "boto3": "boto3" in sys.modules, "modules": len(sys.modules)}))
"""

_CHILD_FLOOR = """\
import json, sys, time
t0 = time.perf_counter()
import boto3
boto3.client("dynamodb", region_name="us-east-1")
t1 = time.perf_counter()
print(json.dumps({"ms": (t1 - t0) * 1000, "requests": "requests" in sys.modules,
                  "boto3": True, "modules": len(sys.modules)}))
"""

# One child before measuring: imports every handler file (as distinct modules) and the floor, so
# the .pyc caches exist, as they do for the runtime's and the layer's packages on Lambda.
_CHILD_COMPILE = """\
import importlib.util, sys
for i, path in enumerate(sys.argv[1:]):
    spec = importlib.util.spec_from_file_location(f"handler_{i}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
import boto3
boto3.client("dynamodb", region_name="us-east-1")
"""


def _child_env(name: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "PYTHON"))}
    env |= {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "PYTHONPATH": os.pathsep.join(
            [str(REPO / "layers" / "douyin_pay"), *([str(REPO / "functions" / name)] if name else [])]
        ),
    }
    if name:
        dummy = Resources(
            table_name="bench-PaymentsTable",
            queue_url=f"https://sqs.{REGION}.amazonaws.com/123456789012/bench-ReconcileQueue",
            queue_arn=f"arn:aws:sqs:{REGION}:123456789012:bench-ReconcileQueue",
            dlq_url=f"https://sqs.{REGION}.amazonaws.com/123456789012/bench-ReconcileDeadLetterQueue",
            dlq_arn=f"arn:aws:sqs:{REGION}:123456789012:bench-ReconcileDeadLetterQueue",
            secret_id=f"arn:aws:secretsmanager:{REGION}:123456789012:secret:bench-payment-secret",
        )
        env |= function_environment(
            LOGICAL_ID[name],
            dummy,
            app_id="tt0123456789abcdef",
            callback_url="https://callback.example/",
            base_url="https://open-sandbox.douyin.com",
        )
    return env


def _run_child(code: str, name: str | None, args: Sequence[str] = ()) -> dict[str, Any]:
    cwd = REPO / "functions" / name if name else REPO
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code, *args],
        env=_child_env(name),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"import child for {name or 'floor'} failed:\n{done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]) if code != _CHILD_COMPILE else {}


def round_robin(rounds: int, child: Callable[[str | None], dict[str, Any]]) -> dict[str | None, list[dict]]:
    """``rounds`` samples of the floor (None) and of every handler, each round in a rotated order so
    no target always runs first or last."""
    targets: list[str | None] = [None, *HANDLERS]
    samples: dict[str | None, list[dict[str, Any]]] = {t: [] for t in targets}
    for i in range(rounds):
        for target in targets[i % len(targets) :] + targets[: i % len(targets)]:
            samples[target].append(child(target))
    return samples


def timing(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Median, min, max and the samples of the children's ``ms``."""
    ms = [r["ms"] for r in rows]
    return {
        "median_ms": round(statistics.median(ms), 2),
        "min_ms": round(min(ms), 2),
        "max_ms": round(max(ms), 2),
        "samples_ms": [round(v, 2) for v in ms],
        "n": len(ms),
    }


def beside_the_floor(samples: dict[str | None, list[dict]], stats: Callable[[list[dict]], dict]) -> tuple[dict, dict]:
    """(the floor's figures, each handler's figures with its ratio to the floor).

    ``ratio_to_floor`` is the median, over rounds, of the handler's time over the floor's in the same
    round: a round takes a few seconds, so a slow spell of the machine weighs on both sides of each
    ratio. The ratio of the two medians (``ratio_of_medians``) lets such a spell fall on one side
    only: on a 2-CPU VM, across runs of the same code, it spread over 0.08 and 0.09 where the paired
    ratio spread over 0.04 and 0.01.
    """
    floor = stats(samples[None])
    floor_ms = [r["ms"] for r in samples[None]]
    handlers = {}
    for name in HANDLERS:
        handlers[name] = stats(samples[name])
        paired = [r["ms"] / f for r, f in zip(samples[name], floor_ms, strict=True)]
        handlers[name]["ratio_to_floor"] = round(statistics.median(paired), 3)
        handlers[name]["ratio_of_medians"] = round(handlers[name]["median_ms"] / floor["median_ms"], 3)
    return floor, handlers


def measure_imports(cfg: BenchConfig) -> dict[str, Any]:
    t0 = time.perf_counter()
    _run_child(_CHILD_COMPILE, None, [str(REPO / "functions" / n / "app.py") for n in HANDLERS])
    samples = round_robin(
        cfg.import_samples, lambda target: _run_child(_CHILD_FLOOR if target is None else _CHILD_HANDLER, target)
    )

    def stats(rows: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            **timing(rows),
            "requests_imported": any(r["requests"] for r in rows),
            "event_handler_imported": any(r.get("event_handler") for r in rows),
            "boto3_imported": any(r["boto3"] for r in rows),
            "modules_loaded": statistics.median(r["modules"] for r in rows),
        }

    floor, handlers = beside_the_floor(samples, stats)
    return {
        "method": (
            f"{cfg.import_samples} fresh `python -c` children per module, round-robin; time.perf_counter() "
            "around `import app` inside the child (PYTHONPATH = layers/douyin_pay + the function folder, the "
            "template's environment, no invocation); one discarded child first so .pyc caches exist"
        ),
        "floor_code": 'import boto3; boto3.client("dynamodb", region_name="us-east-1")',
        "floor": floor,
        "handlers": handlers,
        "seconds": round(time.perf_counter() - t0, 2),
    }


def print_imports(section: dict[str, Any]) -> None:
    floor = section["floor"]
    rows = [
        [
            "floor: boto3 + DynamoDB client",
            floor["median_ms"],
            floor["min_ms"],
            floor["max_ms"],
            floor["n"],
            "1.00",
            "no" if not floor["requests_imported"] else "yes",
            floor["modules_loaded"],
        ]
    ]
    for name, h in section["handlers"].items():
        rows.append(
            [
                f"functions/{name}/app.py",
                h["median_ms"],
                h["min_ms"],
                h["max_ms"],
                h["n"],
                f"{h['ratio_to_floor']:.2f}",
                "yes" if h["requests_imported"] else "no",
                h["modules_loaded"],
            ]
        )
    print("\n## 1. Cold import time (ms, fresh process each)\n")
    print(render_table(["module", "median", "min", "max", "n", "÷ floor", "requests?", "modules"], rows))
    print(f"\n{section['method']}.")
