"""When to ask the platform again: the reconcile backoff schedule per kind of object.

The backoff schedule, written down:

* an **order** is checked 1, 2, 5, 10 and then every 15 minutes after it was created, until the
  platform reports it paid or timed out; past its pay window (``valid_time`` as the platform counts
  it: :func:`platforms.pay_window`) + 1 h without an answer it is given up;
* a **refund** or **settlement** is checked 15 s after it was accepted (refund callbacks often
  arrive 10 s or more late), then 30 s, 1, 2, 5, 10 and every 15 minutes, for up to 10 days (refunds
  reach bank cards within 7 days, ecpay-spec §3.3);
* err_no 1001 (rate limited) waits at least a minute; every delay gets ±10 % jitter so a burst of
  objects created together does not query in lockstep; SQS caps a delay at 900 s.

Each step re-enqueues a fresh message (it does not count against the queue's ``maxReceiveCount``);
the attempt count lives on the item. Exhausted objects are parked in the dead-letter queue, where an
alarm fires, and leave the sweeper's index.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .platforms import pay_window
from .states import Kind

MAX_SQS_DELAY = 900
RATE_LIMITED_MIN_DELAY = 60
SUBMIT_LEASE = 60  # seconds a create/refund/settle request may hold its claim before others may take over
SWEEP_SLACK = 600  # how late a reconcile step may run before the sweeper treats its message as lost


@dataclass(frozen=True)
class Backoff:
    """When a kind of object's next reconcile step runs, and when to stop trying."""

    delays: tuple[int, ...]  # delay before step n; the last one repeats
    max_age: Callable[[Mapping[str, Any]], int]  # seconds after creation to keep trying
    max_attempts: int

    def delay(self, attempt: int, *, rate_limited: bool = False, rng: Callable[[], float] = random.random) -> int:
        base = self.delays[min(attempt, len(self.delays) - 1)]
        if rate_limited:
            base = max(base, RATE_LIMITED_MIN_DELAY)
        jittered = base * (0.9 + 0.2 * rng())
        return max(1, min(MAX_SQS_DELAY, round(jittered)))

    def exhausted(self, item: Mapping[str, Any], attempts: int, now: int) -> bool:
        return attempts >= self.max_attempts or now >= int(item.get("created_at", now)) + self.max_age(item)


DAY = 86_400

SCHEDULES = {
    Kind.ORDER: Backoff(
        delays=(60, 120, 300, 600, 900),
        max_age=lambda item: pay_window(item, default=172_800) + 3600,
        max_attempts=250,  # 48 h + 1 h at one step per 15 min is under 200
    ),
    Kind.REFUND: Backoff(delays=(15, 30, 60, 120, 300, 600, 900), max_age=lambda item: 10 * DAY, max_attempts=1000),
    Kind.SETTLEMENT: Backoff(delays=(15, 30, 60, 120, 300, 600, 900), max_age=lambda item: 10 * DAY, max_attempts=1000),
}
