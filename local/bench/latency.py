"""Section 3: handler latency (p50 / p99) on the embedded local stack."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from .bundle_env import payment_msg
from .common import LOG_LEVEL, SUCCESS, BenchConfig, BenchError, order_body, render_table, summary_ms
from .timers import GcPauses, MotoTimer


def _timed_run(
    invoke: Callable[[str, dict], Any],
    warmup: int,
    logical_id: str,
    events: list[dict],
    check: Callable[[Any, int], None],
) -> dict[str, Any]:
    """Invoke the function once per event; figures over the invocations after the first ``warmup``."""
    times = []
    moto, gcp = MotoTimer(whole_request=False), GcPauses()
    with contextlib.ExitStack() as accounting:
        for i, event in enumerate(events):
            if i == warmup:  # warm-up done: account from here
                accounting.enter_context(moto.installed())
                accounting.enter_context(gcp.installed())
            start = time.perf_counter()
            response = invoke(logical_id, event)
            times.append((time.perf_counter() - start) * 1000)
            check(response, i)
    measured = times[warmup:]
    return summary_ms(measured) | {
        "moto_dynamodb_ms_per_invocation": round(moto.seconds * 1000 / len(measured), 3),
        **gcp.summary(),
    }


def status(expected: int, what: str) -> Callable[[Any, int], None]:
    def check(response: Any, i: int) -> None:
        if response.get("statusCode") != expected:
            raise BenchError(f"{what} #{i}: expected {expected}, got {response}")

    return check


def callback_ok(response: Any, i: int) -> None:
    if response.get("statusCode") != 200 or json.loads(response["body"]) != SUCCESS:
        raise BenchError(f"callback #{i}: {response}")


def _create_events(names: list[str]) -> list[dict]:
    from local.events import http_api_v2_event, iam_caller

    return [
        http_api_v2_event(
            "POST",
            "/payments",
            route_key="POST /payments",
            body=json.dumps(order_body(no), ensure_ascii=False).encode(),
            headers={"content-type": "application/json"},
            iam_caller=iam_caller(),
        )
        for no in names
    ]


def _query_events(names: list[str]) -> list[dict]:
    from local.events import http_api_v2_event, iam_caller

    return [
        http_api_v2_event("GET", f"/payments/{no}", route_key="GET /payments/{out_order_no}", iam_caller=iam_caller())
        for no in names
    ]


def _callback_events(bodies: list[bytes]) -> list[dict]:
    from local.events import function_url_event

    return [function_url_event("POST", "/", headers={"content-type": "application/json"}, body=body) for body in bodies]


def _check_paid(stack: Any, names: list[str]) -> dict[str, int]:
    items = stack.items()
    paid = sum(1 for i in items if i["pk"].startswith("ORDER#lat-") and i["status"] == "PAID")
    # Each notice is recorded on the order it changed; one notice per order was sent.
    applied = sum(1 for i in items if i["pk"].startswith("ORDER#lat-") and len(i.get("notices", ())) == 1)
    if paid != len(names) or applied != len(names):
        raise BenchError(
            f"latency run: {paid} orders PAID and {applied} with one notice applied, expected {len(names)}"
        )
    return {"orders_paid": paid, "events_applied": applied, "expected": len(names)}


def _run_operations(stack: Any, cfg: BenchConfig) -> tuple[dict[str, Any], dict[str, int]]:
    """Create orders, query them, then deliver each one's payment notice twice (new, duplicate)."""
    n, w = cfg.latency_iterations, cfg.latency_warmup
    names = [f"lat-w{i:03d}" for i in range(w)] + [f"lat-{i:04d}" for i in range(n)]

    def run(logical_id: str, events: list[dict], check: Callable[[Any, int], None]) -> dict[str, Any]:
        return _timed_run(stack.functions.invoke, w, logical_id, events, check)

    order_ids: dict[str, str] = {}

    def remember(response: Any, i: int) -> None:
        status(201, "create payment")(response, i)
        body = json.loads(response["body"])
        order_ids[body["out_order_no"]] = body["order_id"]

    create = run("CreatePaymentFunction", _create_events(names), remember)
    query = run("QueryFunction", _query_events(names), status(200, "query"))
    app_id = stack.config.app_id
    bodies = [stack.sign_notice("payment", payment_msg(no, order_ids[no], app_id=app_id)) for no in names]
    callback_new = run("CallbackFunction", _callback_events(bodies), callback_ok)
    callback_dup = run("CallbackFunction", _callback_events(bodies), callback_ok)
    operations = {
        "create_payment": create,
        "query": query,
        "callback_new": callback_new,
        "callback_duplicate": callback_dup,
    }
    return operations, _check_paid(stack, names)


def measure_latency(cfg: BenchConfig) -> dict[str, Any]:
    from local.stack import LocalStack, StackConfig

    t0 = time.perf_counter()
    # speed 1: the first reconcile step (60 s) stays in the future for the whole measurement, so the
    # stack's SQS poller does not run reconcile steps for the bench's own orders in the background.
    stack_config = StackConfig(speed=1.0, log_level=LOG_LEVEL)
    stack = LocalStack(stack_config)
    w = cfg.latency_warmup
    try:
        stack.start()
        operations, check = _run_operations(stack, cfg)
        background = [repr(e) for e in (*stack.errors, *stack.invocation_errors)]
    finally:
        stack.stop()
    return {
        "note": (
            "stack.functions.invoke(logical_id, event) in-process against the local stack (moto server on "
            "loopback, Douyin simulator); events from local.events; callbacks signed with stack.sign_notice "
            f"for orders created in the create-payment run; {w} warm-up invocations per operation excluded; "
            "time runs 1x so no reconcile step fires during the run. `moto DDB` = time inside moto's DynamoDB "
            "request handling per invocation (the emulator, not our code; moto's transactions deep-copy the "
            "table, so a refund's failure notice grows with the table)"
        ),
        "stack_config": asdict(stack_config),
        "operations": operations,
        "check": check,
        "background_errors": background,
        "seconds": round(time.perf_counter() - t0, 2),
    }


def print_latency(section: dict[str, Any]) -> None:
    rows = [
        [
            name,
            s["n"],
            s["p50_ms"],
            s["p99_ms"],
            s["mean_ms"],
            s["min_ms"],
            s["max_ms"],
            s["moto_dynamodb_ms_per_invocation"],
            f"{s['gc_ms_total']} ({s['gen2_collections']})",
        ]
        for name, s in section["operations"].items()
    ]
    print("\n## 3. In-process handler latency on the local stack (ms)\n")
    headers = ["operation", "n", "p50", "p99", "mean", "min", "max", "moto DDB/inv", "GC total (gen2 runs)"]
    print(render_table(headers, rows))
    print(f"\n{section['note']}.")
    if section["background_errors"]:
        print(f"Background errors in the stack: {section['background_errors']}")
