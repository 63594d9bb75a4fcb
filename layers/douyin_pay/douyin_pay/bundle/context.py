"""What every use case shares: settings, the table, the platform adapters, the reconcile queue and
the clock — built once per execution environment by :mod:`runtime`, or by a test."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

# Types only: what each use case needs is imported by the use case, and the queue's module only by
# a context that sends (the callback's does not).
if TYPE_CHECKING:
    from .platforms import Platforms
    from .platforms.protocol import PaymentProtocol
    from .query_budget import QueryBudget
    from .queue import ReconcileQueue
    from .settings import Settings
    from .states import Kind
    from .store import Store


@dataclass(frozen=True)
class Context:
    """The collaborators a use case is built with."""

    settings: Settings
    store: Store
    platforms: Platforms
    queue: ReconcileQueue | None = None  # None where nothing is sent (the callback)
    clock: Callable[[], float] = time.time  # the local stack and tests move time forward
    # The API's share of the platform's query limit (None: not counted, e.g. reconciliation, which
    # paces itself: query_budget.py).
    query_budget: QueryBudget | None = None

    def now(self) -> int:
        return int(self.clock())

    def take_query(self) -> None:
        """Count one platform query against the stack's budget before making it (raises a
        retryable 429 when the budget is used up)."""
        if self.query_budget is not None:
            self.query_budget.take()

    def schedule(self, kind: Kind, ref: str, protocol: PaymentProtocol, delay: int) -> bool:
        """Best effort: if SQS fails, the item's ``due_at`` makes the sweeper enqueue it later."""
        if self.queue is None:
            return False
        from .queue import ReconcileMessage

        try:
            self.queue.schedule(ReconcileMessage(kind, ref, protocol), delay)
        except Exception:  # noqa: BLE001 - any SQS failure is covered by the sweeper (due_at)
            return False
        return True
