"""Reading payments, refunds and settlements: from the table, or (``refresh``) from the platform,
applied through the same state machine the callbacks use.

A refresh of a PAID order asks too: its status is final, but facts the platform learns later (an
influencer's commission, the source video's ``item_id``) are recorded without changing it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import PlatformError
from .api import checked_ref, not_found, platform_failure
from .states import SUBMITTING, Kind, OrderStatus, is_terminal
from .views import view

if TYPE_CHECKING:
    from .context import Context


class Queries:
    def __init__(self, context: Context) -> None:
        self.ctx = context

    def get(self, kind: Kind, ref: str) -> dict[str, Any]:
        ref = checked_ref(kind, ref)
        item = self.ctx.store.get(kind, ref)
        if item is None:
            raise not_found(kind, ref)
        return view(kind, item, now=self.ctx.now())

    def refresh(self, kind: Kind, ref: str) -> dict[str, Any]:
        """Ask the platform now and apply its answer through the state machine."""
        # Loaded here: a read never needs the state machine or the port's types (a refresh does).
        from .observations import apply_observation

        ref = checked_ref(kind, ref)
        item = self.ctx.store.get(kind, ref)
        if item is None:
            raise not_found(kind, ref)
        late_facts = kind is Kind.ORDER and item["status"] == OrderStatus.PAID
        if (is_terminal(item["status"]) and not late_facts) or item["status"] == SUBMITTING:
            return view(kind, item, now=self.ctx.now())
        self.ctx.take_query()
        platform = self.ctx.platforms.of(item)
        try:
            obs = platform.observe(kind, ref)
        except PlatformError as exc:
            raise platform_failure(exc, platform.fault(kind, exc)) from exc
        now = self.ctx.now()
        return view(kind, apply_observation(self.ctx.store, obs, item, now) or item, now=now)
