"""Hypothesis settings shared by the property tests: deterministic (derandomize, no example
database), no per-example deadline (the API properties run real handlers on moto), and example
counts sized so that the whole fuzz suite stays well under 40 s on two cores.

Every test applies ``FUZZ`` (or ``fuzz(n)``) as a decorator instead of loading a global profile,
so the rest of the test suite keeps hypothesis' defaults.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],  # timing-based: the only check a slow CI runner could flip
)


def fuzz(max_examples: int, *, fixtures: bool = False) -> settings:
    """``FUZZ`` with another example count; ``fixtures=True`` for tests that share a
    function-scoped pytest fixture (the bundle) across examples."""
    return settings(
        FUZZ,
        max_examples=max_examples,
        suppress_health_check=[HealthCheck.too_slow, *([HealthCheck.function_scoped_fixture] if fixtures else [])],
    )
