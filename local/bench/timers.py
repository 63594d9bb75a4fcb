"""Where the time goes: time spent inside moto, and garbage-collector pauses."""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections.abc import Iterator
from typing import Any


class MotoTimer:
    """Time spent inside moto, summed over every thread; only meaningful while the measured code is
    moto's only user. ``whole_request`` (mock_aws only): everything moto does for a botocore request
    (``BotocoreStubber``, the before-send handler that answers it); otherwise only the DynamoDB
    handler (``DynamoHandler.call_action``: parsing, the backend, the response), which the moto
    server runs too."""

    def __init__(self, *, whole_request: bool) -> None:
        self.whole_request = whole_request
        self.seconds = 0.0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def installed(self) -> Iterator[MotoTimer]:
        if self.whole_request:
            from moto.core.botocore_stubber import BotocoreStubber as target

            name = "__call__"
        else:
            from moto.dynamodb.responses import DynamoHandler as target

            name = "call_action"
        original = getattr(target, name)
        timer = self

        def timed(this: Any, *args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(this, *args, **kwargs)
            finally:
                with timer._lock:
                    timer.seconds += time.perf_counter() - start

        setattr(target, name, timed)
        try:
            yield self
        finally:
            setattr(target, name, original)


class GcPauses:
    """Garbage-collector pauses (gc.callbacks) while installed."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._start: float | None = None

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        elif self._start is not None:
            self.pauses.append((info["generation"], time.perf_counter() - self._start))
            self._start = None

    @contextlib.contextmanager
    def installed(self) -> Iterator[GcPauses]:
        gc.callbacks.append(self)
        try:
            yield self
        finally:
            gc.callbacks.remove(self)

    def summary(self) -> dict[str, Any]:
        return {
            "gc_ms_total": round(sum(s for _, s in self.pauses) * 1000, 1),
            "gc_max_pause_ms": round(max((s for _, s in self.pauses), default=0.0) * 1000, 1),
            "gen2_collections": sum(1 for g, _ in self.pauses if g == 2),
        }
