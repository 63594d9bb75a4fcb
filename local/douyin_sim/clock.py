"""A simulated clock for the platform simulator.

``now() = start + elapsed_real × speed + manual_offset``. Time compression (``speed``) and manual
jumps (``advance``) make the platform's day-long callback retry schedule (ecpay-spec §6.3), refund
delays and order expiry testable in seconds. ``speed = 0`` freezes the clock: it then moves only
when :meth:`SimClock.advance` is called, which makes tests fully deterministic.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class SimClock:
    """Thread-safe simulated wall clock (unix seconds, float)."""

    def __init__(
        self,
        speed: float = 1.0,
        start: float | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self._lock = threading.Lock()
        self._monotonic = monotonic
        # The reference point is re-based on every speed change, so now() stays continuous.
        self._base_sim = wall() if start is None else start
        self._base_real = monotonic()
        self._speed = float(speed)

    @property
    def speed(self) -> float:
        with self._lock:
            return self._speed

    def now(self) -> float:
        with self._lock:
            return self._now_locked()

    def _now_locked(self) -> float:
        return self._base_sim + (self._monotonic() - self._base_real) * self._speed

    def advance(self, seconds: float) -> float:
        """Jump forward by ``seconds`` of simulated time; returns the new ``now()``."""
        if seconds < 0:
            raise ValueError("the simulated clock only moves forward")
        with self._lock:
            self._base_sim += seconds
            return self._now_locked()

    def set_speed(self, speed: float) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        with self._lock:
            self._base_sim = self._now_locked()
            self._base_real = self._monotonic()
            self._speed = float(speed)

    def real_seconds_until(self, sim_time: float) -> float | None:
        """Real seconds until ``now()`` reaches ``sim_time``: 0 if past, None if the clock is frozen."""
        with self._lock:
            delta = sim_time - self._now_locked()
            if delta <= 0:
                return 0.0
            if self._speed == 0:
                return None
            return delta / self._speed
