"""At most one log line per interval for traffic anyone can send.

The callback URL is public: a flood of forged or malformed bodies must not become a flood of log
lines (CloudWatch Logs bills every byte). The metric counts every rejection; the log keeps one line
per interval with how many were held back since the last one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class LogThrottle:
    def __init__(self, interval: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._next = float("-inf")
        self._held = 0
        self._lock = threading.Lock()

    def admit(self) -> int | None:
        """None: hold this line back. Otherwise log it, saying this many were held back before it."""
        with self._lock:
            now = self._clock()
            if now < self._next:
                self._held += 1
                return None
            held, self._held = self._held, 0
            self._next = now + self._interval
            return held
