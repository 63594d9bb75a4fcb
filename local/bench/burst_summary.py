"""Sections 4 + 5: the burst rounds summed up, ours beside the Powertools baseline, and their tables."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from typing import Any

from .burst import burst_round
from .common import BenchConfig, calls_text, progress, render_table

WHY = (
    "Powertools @idempotent_function, new notice: PutItem (claim the key as INPROGRESS), then the "
    "wrapped conditional UpdateItem (order -> PAID), then UpdateItem (record COMPLETED + stored result): "
    "3 sequential calls. Ours: one conditional UpdateItem of the order that moves it (allowed transition, "
    "stored amount as a condition) and records the notice's id on it (the id not yet there).",
    "Replay of a finished notice: Powertools answers from its local cache, with no call, in the "
    "environment that processed the notice; in any other, 1 conditional PutItem that fails and returns "
    "the stored record (ReturnValuesOnConditionCheckFailure=ALL_OLD). Ours = 1 UpdateItem whose "
    "condition fails, its ALL_OLD item showing the notice's id, wherever it lands. The platform's "
    "retries come 15 s to 6 h apart, and Lambda hands each to whichever environment is free.",
    "Duplicate arriving while the first is still in flight: Powertools raises "
    "IdempotencyAlreadyInProgressError (a 5xx to the platform, which redelivers later; here it is "
    "re-queued) and every such attempt is one more failed PutItem; ours has no in-progress state, so "
    "a concurrent duplicate costs one call and is acknowledged at once.",
    "Throughput here is CPU-bound (botocore + moto in one process, serialised by moto_atomic's lock and "
    "the GIL), not network-bound. Against DynamoDB each call is a network round trip, so calls per "
    "notice drive latency.",
    "Calls are not capacity units: section 2 meters both sides' write and read units per notice and "
    "over one lifecycle, from the items written.",
)


def _aggregate(rounds: list[dict[str, Any]], side: str, new_outcomes: set[str], k: int, m: int) -> dict[str, Any]:
    """One side's threaded figures over the rounds."""
    runs = [r[side] for r in rounds]
    total = sum(r["dynamodb_calls"] for r in runs)
    outcomes: Counter[str] = Counter()
    by_op: Counter[str] = Counter()
    for r in runs:
        outcomes.update(r["outcomes"])
        by_op.update(r["dynamodb_calls_by_operation"])
    new = sum(v for o, v in outcomes.items() if o in new_outcomes)
    return {
        "notices_per_second_median": statistics.median(r["notices_per_second"] for r in runs),
        "notices_per_second_rounds": [r["notices_per_second"] for r in runs],
        "dynamodb_calls_per_notice": round(total / (len(runs) * k * m), 3),
        "calls_per_new_notice": round(statistics.fmean(r["calls_per_new_notice"] for r in runs), 3),
        "calls_per_duplicate": (round(statistics.fmean(r["calls_per_duplicate"] for r in runs), 3) if m > 1 else None),
        "dynamodb_calls_by_operation": dict(by_op),
        "outcomes": dict(outcomes),
        "new_notices": new,
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _serial_medians(rounds: list[dict[str, Any]], side: str) -> dict[str, Any]:
    """One side's serial figures: medians over the rounds, and every round's."""
    runs = [r["serial"][side] for r in rounds]
    keys = (
        "notices_per_second",
        "ms_per_notice",
        "ms_in_moto_per_notice",
        "ms_client_side_per_notice",
        "calls_per_notice",
    )
    return {key: statistics.median(r[key] for r in runs) for key in keys} | {"rounds": runs}


def _burst_section(
    cfg: BenchConfig, rounds: list[dict[str, Any]], ours: dict[str, Any], ours_failures: list[str], t0: float
) -> dict[str, Any]:
    k, m = cfg.burst_orders, cfg.burst_duplicates
    return {
        "params": {
            "orders": k,
            "duplicates_per_order": m,
            "threads": cfg.burst_threads,
            "rounds": cfg.burst_rounds,
            "notices_per_round": k * m,
        },
        "note": (
            "each thread = one execution environment with its own boto3 client (fresh_callbacks); notices "
            "verified once up front, shuffled, then delivered to Callbacks.apply; moto in-process "
            "with local.moto_atomic.make_dynamodb_atomic(); a fresh moto per round"
        ),
        "ours": ours,
        "check": {
            "passed": not ours_failures,
            "failures": ours_failures,
            "rule": "every order exactly one notice id recorded, every order PAID, "
            "outcomes = K applied + K*(M-1) duplicate",
        },
        "rounds": [
            {"round": r["round"], "first": r["first"], "ours": r["ours"], "baseline": r["baseline"]} for r in rounds
        ],
        "seconds": round(time.perf_counter() - t0, 2),
    }


def _measured_vs_expected(sequential: dict[str, Any]) -> str:
    base = sequential["baseline"]
    measured = tuple(sum(base[key]["calls"].values()) for key in ("new", "duplicate", "duplicate_another_environment"))
    expected = (3, 0, 1)
    expectation = (
        "matches the expectation (3 calls per new notice; a replay 0 from the local cache, 1 in another environment)"
        if measured == expected
        else f"DIFFERS from the expected 3 / 0 / 1: measured {' / '.join(map(str, measured))}"
    )
    return f"Powertools sequential: {expectation}"


def _serial_section(cfg: BenchConfig, serial_ours: dict[str, Any], serial_base: dict[str, Any]) -> dict[str, Any]:
    k, m = cfg.burst_orders, cfg.burst_duplicates
    return {
        "note": (
            f"another {k} orders x {m} notices per round through one environment per side in one thread "
            "(no lock waits or GIL contention); time inside moto's request handling measured apart "
            "from the client side (botocore serialisation/parsing + the code under test); medians over rounds"
        ),
        "ours": serial_ours,
        "baseline": serial_base,
        "ratios_ours_over_baseline": {
            "ms_client_side_per_notice": _ratio(
                serial_ours["ms_client_side_per_notice"], serial_base["ms_client_side_per_notice"]
            ),
            "ms_in_moto_per_notice": _ratio(serial_ours["ms_in_moto_per_notice"], serial_base["ms_in_moto_per_notice"]),
            "throughput": _ratio(serial_ours["notices_per_second"], serial_base["notices_per_second"]),
        },
    }


def _throughput_explained(
    cfg: BenchConfig, threaded_ratio: float | None, serial_ours: dict[str, Any], serial_base: dict[str, Any]
) -> str:
    serial_ratio = _ratio(serial_ours["notices_per_second"], serial_base["notices_per_second"])
    return (
        f"On moto the throughput ratio (ours / baseline) is {threaded_ratio} with {cfg.burst_threads} "
        f"threads and {serial_ratio} serially. "
        f"Serially, ours spends {serial_ours['ms_in_moto_per_notice']} ms per notice inside moto against "
        f"{serial_base['ms_in_moto_per_notice']} ms for the baseline's {serial_base['calls_per_notice']} calls, "
        f"while the client side (botocore + the code under test) is {serial_ours['ms_client_side_per_notice']} ms "
        f"against {serial_base['ms_client_side_per_notice']} ms: the gap is the emulator, "
        "not the code under test."
    )


def _baseline_section(
    cfg: BenchConfig, rounds: list[dict[str, Any]], ours: dict[str, Any], base: dict[str, Any], base_failures: list[str]
) -> dict[str, Any]:
    serial_ours, serial_base = _serial_medians(rounds, "ours"), _serial_medians(rounds, "baseline")
    threaded_ratio = _ratio(ours["notices_per_second_median"], base["notices_per_second_median"])
    return {
        "what": (
            "local/bench/baseline.py: Powertools @idempotent_function (DynamoDBPersistenceLayer, own table, "
            "default schema `id`), keyed on the notice's dedupe key (event_key_jmespath='dedupe_key'), records "
            "kept 25 h (past the platform's ~24 h 4 min of retries), local cache on, wrapping a conditional "
            "UpdateItem CREATED -> PAID on its own copy of the orders; the same verified notices, threads and moto"
        ),
        "baseline": base,
        "sequential_single_environment": rounds[0]["sequential"],
        "check": {"passed": not base_failures, "failures": base_failures},
        "ratios_ours_over_baseline": {
            "calls_per_new_notice": _ratio(ours["calls_per_new_notice"], base["calls_per_new_notice"]),
            "calls_per_duplicate": _ratio(ours["calls_per_duplicate"], base["calls_per_duplicate"]),
            "calls_per_notice": _ratio(ours["dynamodb_calls_per_notice"], base["dynamodb_calls_per_notice"]),
            "throughput": threaded_ratio,
        },
        "serial_single_environment": _serial_section(cfg, serial_ours, serial_base),
        "measured_vs_expected": _measured_vs_expected(rounds[0]["sequential"]),
        "throughput_explained": _throughput_explained(cfg, threaded_ratio, serial_ours, serial_base),
        "why": list(WHY),
    }


def measure_burst(cfg: BenchConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    t0 = time.perf_counter()
    rounds = []
    for i in range(cfg.burst_rounds):
        progress(f"burst round {i + 1}/{cfg.burst_rounds}")
        rounds.append(burst_round(cfg, i))
    k, m = cfg.burst_orders, cfg.burst_duplicates
    ours = _aggregate(rounds, "ours", {"applied"}, k, m)
    base = _aggregate(rounds, "baseline", {"applied", "not_applied"}, k, m)
    failures = [f for r in rounds for f in r["failures"]]
    ours_failures = [f for f in failures if f.startswith("ours")]
    base_failures = [f for f in failures if not f.startswith("ours")]
    burst = _burst_section(cfg, rounds, ours, ours_failures, t0)
    return burst, _baseline_section(cfg, rounds, ours, base, base_failures)


def _print_ours(burst: dict[str, Any]) -> None:
    p = burst["params"]
    o = burst["ours"]
    print(
        f"\n## 4. Callback burst: {p['orders']} orders × {p['duplicates_per_order']} notices, "
        f"{p['threads']} threads, {p['rounds']} round(s)\n"
    )
    rows = [
        [
            "ours (one conditional UpdateItem)",
            o["notices_per_second_median"],
            o["dynamodb_calls_per_notice"],
            o["calls_per_new_notice"],
            o["calls_per_duplicate"],
            calls_text(o["outcomes"]),
        ]
    ]
    print(render_table(["implementation", "notices/s", "calls/notice", "per new", "per duplicate", "outcomes"], rows))
    check = burst["check"]
    print(f"\nCheck ({check['rule']}): {'PASSED' if check['passed'] else 'FAILED'}")
    for failure in check["failures"]:
        print(f"  ✗ {failure}")
    print(f"Throughput per round: {o['notices_per_second_rounds']}. {burst['note']}.")


def _print_comparison(o: dict[str, Any], baseline: dict[str, Any]) -> None:
    b = baseline["baseline"]
    print("\n## 5. The common way: Powertools idempotency + a separate update, same notices\n")
    rows = [
        [
            "ours",
            o["notices_per_second_median"],
            o["dynamodb_calls_per_notice"],
            o["calls_per_new_notice"],
            o["calls_per_duplicate"],
            calls_text(o["dynamodb_calls_by_operation"]),
        ],
        [
            "Powertools baseline",
            b["notices_per_second_median"],
            b["dynamodb_calls_per_notice"],
            b["calls_per_new_notice"],
            b["calls_per_duplicate"],
            calls_text(b["dynamodb_calls_by_operation"]),
        ],
    ]
    r = baseline["ratios_ours_over_baseline"]
    rows.append(
        [
            "ours ÷ baseline",
            r["throughput"],
            r["calls_per_notice"],
            r["calls_per_new_notice"],
            r["calls_per_duplicate"],
            "",
        ]
    )
    print(render_table(["", "notices/s", "calls/notice", "per new", "per duplicate", "calls by operation"], rows))


def _print_sequential(baseline: dict[str, Any]) -> None:
    seq = baseline["sequential_single_environment"]

    def cell(attempt: dict[str, Any]) -> str:
        return f"{attempt['outcome']}: {calls_text(attempt['calls'])}"

    rows = [
        [name, cell(s["new"]), cell(s["duplicate"]), cell(s["duplicate_another_environment"])]
        for name, s in seq.items()
    ]
    print("\nNo race (a new notice, its redelivery to the same environment, then to another):\n")
    print(render_table(["", "new notice", "duplicate, same environment", "duplicate, another environment"], rows))


def _print_serial(baseline: dict[str, Any]) -> None:
    serial = baseline["serial_single_environment"]
    rows = []
    for name in ("ours", "baseline"):
        s = serial[name]
        rows.append(
            [
                name,
                s["notices_per_second"],
                s["ms_per_notice"],
                s["ms_in_moto_per_notice"],
                s["ms_client_side_per_notice"],
                s["calls_per_notice"],
            ]
        )
    sr = serial["ratios_ours_over_baseline"]
    rows.append(
        ["ours ÷ baseline", sr["throughput"], "", sr["ms_in_moto_per_notice"], sr["ms_client_side_per_notice"], ""]
    )
    print("\nWhere the time goes (one environment, one thread, serial):\n")
    print(render_table(["", "notices/s", "ms/notice", "in moto", "client side", "calls/notice"], rows))
    print(f"\n{serial['note']}.")


def _print_baseline_notes(baseline: dict[str, Any]) -> None:
    b = baseline["baseline"]
    print(f"\nBaseline outcomes: {calls_text(b['outcomes'])}; throughput per round {b['notices_per_second_rounds']}.")
    print(f"{baseline['measured_vs_expected']}.")
    print(baseline["throughput_explained"])
    bc = baseline["check"]
    print(f"Baseline correctness check: {'PASSED' if bc['passed'] else 'FAILED'}")
    for failure in bc["failures"]:
        print(f"  ✗ {failure}")
    print("\nWhy the numbers differ:")
    for line in baseline["why"]:
        print(f"  - {line}")


def print_burst(burst: dict[str, Any], baseline: dict[str, Any]) -> None:
    _print_ours(burst)
    _print_comparison(burst["ours"], baseline)
    _print_sequential(baseline)
    _print_serial(baseline)
    _print_baseline_notes(baseline)
