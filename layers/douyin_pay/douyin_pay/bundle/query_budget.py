"""One budget for the platform queries a stack makes, under the platform's per-app limit.

The platform allows 30 queries per second per app id (query_order, query_refund, query_settle:
ecpay-spec §3.2, §3.4, §3.6; a newer mirror says 150 for query_order — we design for 30). The
stack's queries come from two places, and the budget is split between them:

* **reconciliation** paces itself without any write: each consumer asks at most
  :data:`RECONCILE_QPS_PER_CONSUMER` times a second and the queue's ``MaximumConcurrency`` caps the
  consumers (``ReconcileMaxConcurrency``, at most 5), so it uses at most 5 × 5 = 25 per second;
* **the API** (``?refresh=true`` and the settleable-amount check before a settlement) takes the
  rest, ``PlatformQueryQps − 5 × ReconcileMaxConcurrency`` (5 with the defaults), counted in the
  table: one conditional ``UpdateItem`` per query on a per-second counter item (``BUDGET#query``),
  refused once the second's share is used. A refused query waits for the next second once, then
  answers ``503 query_budget_exhausted`` (retryable, like the platform's own "busy") — it never
  reaches the platform.

The counter items expire by TTL a minute after their second.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .api import ApiError
from .store import Change, ConditionFailed, Store

RECONCILE_QPS_PER_CONSUMER = 5  # functions/reconcile paces each consumer to this (200 ms apart)
PLATFORM_QUERY_QPS = 30  # the platform's documented limit per app id
_KEY = "BUDGET#query"
_TTL = 60


def api_share(platform_qps: int, reconcile_consumers: int) -> int:
    """The API's queries per second: what reconciliation leaves of the platform's limit (≥ 1)."""
    return max(platform_qps - RECONCILE_QPS_PER_CONSUMER * reconcile_consumers, 1)


class QueryBudget:
    """The API's share of the platform's query limit, shared by every function of the stack."""

    def __init__(
        self,
        store: Store,
        per_second: int,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self.per_second = per_second
        self._clock = clock
        self._sleep = sleep

    def take(self) -> None:
        """Count one platform query, waiting into the next second once if this one is used up;
        raises a retryable :class:`ApiError` (429) if that is used up too."""
        for attempt in (1, 2):
            now = self._clock()
            second = int(now)
            if self._count(second):
                return
            if attempt == 1:
                self._sleep(second + 1 - now)
        raise ApiError(
            503,
            "query_budget_exhausted",
            f"this stack's share of the platform's query limit ({self.per_second} per second) is in use; retry",
            retryable=True,
        )

    def _count(self, second: int) -> bool:
        count = Change(set={"expires_at": second + _TTL}, add={"used": 1})
        used = count.expr.name("used")
        count.where(f"attribute_not_exists({used}) OR {used} < {count.expr.value(self.per_second)}")
        try:
            self._store.update({"pk": {"S": _KEY}, "sk": {"S": str(second)}}, count)
        except ConditionFailed:
            return False
        return True
