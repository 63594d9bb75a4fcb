"""What the bench's cold-start goals are judged by, and how it flags a run whose times are noisy."""

from __future__ import annotations

from local.bench import cold_start
from local.bench.cold_imports import HANDLERS


def timed(ratios: dict[str, float]) -> dict[str, dict]:
    return {name: {"ratio_to_floor": ratios.get(name, 1.3)} for name in HANDLERS}


def counted(ratios: dict[str, float]) -> dict:
    return {"floor": 1000, "handlers": {name: {"ratio_to_floor": ratios.get(name, 1.3)} for name in HANDLERS}}


def test_counted_instructions_decide_the_goals_whatever_the_times_read():
    # A busy run: the callback's time reads over its goal, its instructions under it; and the other
    # way round for the query, which the times alone would pass.
    handlers = timed({"callback": 1.34, "query": 1.2})

    judged_by = cold_start.judge(handlers, counted({"callback": 1.217, "query": 1.26}))

    assert judged_by == "instructions"
    assert handlers["callback"] == {"ratio_to_floor": 1.34, "goal": 1.25, "within_goal": True}
    assert handlers["query"]["within_goal"] is False
    assert handlers["create_payment"]["goal"] == 1.5
    assert handlers["create_payment"]["within_goal"] is True


def test_without_counts_the_times_decide():
    for skipped in ({"skipped": "--quick"}, {"skipped": "valgrind is not installed (apt-get install valgrind)"}):
        handlers = timed({"callback": 1.26, "reconcile": 1.5})

        assert cold_start.judge(handlers, skipped) == "time"
        assert handlers["callback"]["within_goal"] is False
        assert handlers["reconcile"]["within_goal"] is True  # a goal is a bound: equal to it holds
        assert handlers["query"]["within_goal"] is False


def test_the_floors_spread_is_its_median_over_its_fastest_child():
    assert cold_start.floor_spread({"median_ms": 204.23, "min_ms": 184.43}) == 1.107
    assert cold_start.floor_spread({"median_ms": 266.6, "min_ms": 193.48}) == 1.378


def test_the_table_names_what_judged_the_goals_and_a_busy_machine(capsys):
    handlers = timed({"callback": 1.34})
    for figures in handlers.values():
        figures |= {"median_ms": 300.0, "min_ms": 290.0, "max_ms": 350.0, "peak_rss_mb": 49.0, "setup": "…"}
    instructions = counted({"callback": 1.217})
    section = {
        "floor": {"median_ms": 224.0, "min_ms": 220.0, "max_ms": 260.0, "peak_rss_mb": 46.3},
        "handlers": handlers,
        "judged_by": cold_start.judge(handlers, instructions),
        "instructions": instructions,
        "method": "a method",
        "floor_spread": 1.378,
    }

    cold_start.print_cold_start(section)

    out = capsys.readouterr().out
    assert "goal (by instructions)" in out
    callback_row = next(" ".join(line.split()) for line in out.splitlines() if line.startswith("callback "))
    assert callback_row.startswith("callback 300.0 290.0 350.0 1.34 1.217 ≤ 1.25 ok 49.0")
    assert "A noisy run: the floor's median was 1.38× its fastest child" in out

    cold_start.print_cold_start(section | {"floor_spread": 1.107})
    assert "noisy" not in capsys.readouterr().out
