"""How the bench sets a handler's cold start beside the floor's: each round's pair, not two medians."""

from __future__ import annotations

from local.bench.cold_imports import HANDLERS, beside_the_floor, timing


def test_a_slow_spell_of_the_machine_weighs_on_both_sides_of_each_ratio():
    # Each handler takes 1.2x the floor in every round, while the machine slows down by half in the
    # middle rounds: the floor's spell falls on its median, the handlers' on theirs, differently.
    speed = [1.0, 1.0, 1.5, 1.5, 1.5, 1.0, 1.0]
    floor_ms = [200.0 * s for s in speed]
    samples = {None: [{"ms": ms} for ms in floor_ms]}
    for name in HANDLERS:
        samples[name] = [{"ms": ms * 1.2} for ms in floor_ms]
    samples["callback"] = [{"ms": 240.0 * s} for s in [1.5, 1.5, 1.5, 1.5, 1.0, 1.0, 1.0]]  # its spell came first

    floor, handlers = beside_the_floor(samples, timing)

    assert floor["median_ms"] == 200.0
    assert handlers["query"]["ratio_to_floor"] == 1.2
    # The callback ran 1.2x the floor only where the machine was as slow for both; the paired ratio
    # still reads 1.2 (the median of 1.8, 1.8, 1.2, 1.2, 0.8, 1.2, 1.2); the medians' ratio reads 1.8.
    assert handlers["callback"]["ratio_to_floor"] == 1.2
    assert handlers["callback"]["ratio_of_medians"] == 1.8
