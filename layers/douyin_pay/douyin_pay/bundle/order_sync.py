"""Order sync: tell the platform's order center every change of an order, in order.

A consumer of the domain events (an EventBridge rule → a queue → this use case): each change of an
order or of one of its refunds becomes the order-center status(es) the order's protocol gives it
(its adapter's :class:`~douyin_pay.bundle.platforms.base.OrderPusher`; only ecpay has one — the
trade system syncs its own orders). Events may arrive late, twice or out of order, so:

* every push carries the change's time (``update_time``, ms), and the order keeps the time of the
  last push (``sync_time``): a change older than that is stale and is not pushed — the order
  center only ever moves forward, whatever order the events came in;
* pushes of one order never overlap: a short lease on the order (the claim, a conditional write
  that also returns the order, so no read is needed) serialises them across concurrent consumers;
* the claim and the record of the push are the only table writes (two per change); trouble on the
  platform's side releases the lease and the event is retried with backoff; a push the platform
  refuses for good is recorded on the order (``sync_error``) and counted, never retried.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..errors import PlatformError, ValidationError
from .context import Context
from .domain_events import FULFILMENT
from .platforms.base import OrderPusher, protocol_of
from .states import FULFILLED, Kind
from .store import Change, ConditionFailed, object_key

SYNC_LEASE = 60  # seconds one consumer may hold an order's pushes (two pushes and a token fetch)
LEASE_ATTRS = ("sync_lease_owner", "sync_lease_until")


class SyncOutcome(StrEnum):
    PUSHED = "pushed"
    NOT_APPLICABLE = "not_applicable"  # another protocol, or a change the order center does not show
    DISABLED = "disabled"  # the stack does not sync orders (OrderSync=off)
    NOT_SYNCABLE = "not_syncable"  # the order lacks open_id or its display fields
    STALE = "stale"  # a later change was pushed already
    MISSING = "missing"  # no such order
    REJECTED = "rejected"  # the platform refused the push for good (recorded on the order)


class SyncLater(Exception):
    """The change could not be pushed now (another consumer holds the order, or the platform is
    unavailable): the event is retried later."""


@dataclass(frozen=True)
class SyncResult:
    """What order sync did for one event."""

    outcome: SyncOutcome
    out_order_no: str | None = None
    statuses: tuple[int, ...] = ()  # what was pushed, in order


@dataclass(frozen=True)
class OrderChange:
    """One change an event announces, as order sync needs it."""

    kind: Kind
    change: str  # our status, or FULFILLED
    out_order_no: str
    changed_at: int
    protocol: str

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> OrderChange | None:
        """The change of an EventBridge event of ours; None for one about anything else."""
        detail = event.get("detail")
        if not isinstance(detail, Mapping):
            raise ValueError("not a domain event")
        kind = Kind(detail.get("kind"))
        obj = detail.get("object") or {}
        out_order_no = detail.get("ref") if kind is Kind.ORDER else obj.get("out_order_no")
        if kind is Kind.SETTLEMENT or not isinstance(out_order_no, str) or not out_order_no:
            return None
        change = FULFILLED if event.get("detail-type") == FULFILMENT else detail.get("status")
        if not isinstance(change, str):
            return None
        return cls(kind, change, out_order_no, int(detail.get("changed_at") or 0), str(detail.get("protocol") or ""))


class OrderSync:
    def __init__(self, context: Context) -> None:
        self.ctx = context
        self._owner = secrets.token_hex(8)

    def sync(self, event: Mapping[str, Any]) -> SyncResult:
        """Push what one domain event means for its order; raises :class:`SyncLater` to be retried."""
        change = OrderChange.from_event(event)
        if change is None:
            return SyncResult(SyncOutcome.NOT_APPLICABLE)
        pusher = self.ctx.platforms.get(protocol_of(change.protocol)).order_pusher()
        if pusher is None:
            return SyncResult(SyncOutcome.NOT_APPLICABLE, change.out_order_no)
        if not self.ctx.settings.order_sync:
            return SyncResult(SyncOutcome.DISABLED, change.out_order_no)
        at = pusher.update_time(change.kind, change.change, change.changed_at)
        now = self.ctx.now()
        order = self._claim(change, pusher.required_fields, at, now)
        if isinstance(order, SyncOutcome):
            return SyncResult(order, change.out_order_no)
        statuses = pusher.statuses(change.kind, change.change, order)
        pushed: list[int] = []
        try:
            for offset, status in enumerate(statuses):
                pusher.push(order, status, at + offset)
                pushed.append(status)
        except PlatformError as exc:
            if pusher.fault(exc).retryable:
                # Give the order back without recording a part: the retry pushes the whole change
                # again (same update_times), and a recorded part would make it look stale.
                self._record(change, pusher, [], at, now)
                raise SyncLater(f"order {change.out_order_no}: the platform did not take the push; retry") from exc
            error = {"err_no": exc.err_no, "err_tips": exc.err_tips}
            self._record(change, pusher, pushed, at, now, error=error, refused=statuses[len(pushed)])
            return SyncResult(SyncOutcome.REJECTED, change.out_order_no, tuple(pushed))
        except ValidationError as exc:
            # The stored order breaks a rule of the push (its fields were checked when it was
            # created, so only a changed rule or a hand-edited item gets here): it cannot heal.
            error = {"err_no": None, "err_tips": str(exc)}
            self._record(change, pusher, pushed, at, now, error=error, refused=statuses[len(pushed)])
            return SyncResult(SyncOutcome.REJECTED, change.out_order_no, tuple(pushed))
        except BaseException:
            self._record(change, pusher, [], at, now)  # anything else: give the order back, then fail
            raise
        self._record(change, pusher, pushed, at, now)
        return SyncResult(
            SyncOutcome.PUSHED if pushed else SyncOutcome.NOT_APPLICABLE, change.out_order_no, tuple(pushed)
        )

    def _claim(self, change: OrderChange, required: tuple[str, ...], at: int, now: int) -> dict[str, Any] | SyncOutcome:
        """Take the order's push lease if this change is newer than the last push; returns the order."""
        claim = Change(set={"sync_lease_owner": self._owner, "sync_lease_until": now + SYNC_LEASE})
        cond = claim.expr
        claim.where(
            cond.exists(),
            *(f"attribute_exists({cond.name(name)})" for name in required),
            f"attribute_not_exists({cond.name('sync_time')}) OR {cond.name('sync_time')} < {cond.value(at)}",
            f"attribute_not_exists({cond.name('sync_lease_until')}) OR "
            f"{cond.name('sync_lease_until')} < {cond.value(now)}",
        )
        try:
            return self.ctx.store.update(object_key(Kind.ORDER, change.out_order_no), claim)
        except ConditionFailed as exc:
            order = exc.item
        if order is None:
            return SyncOutcome.MISSING
        if any(not order.get(name) for name in required):
            return SyncOutcome.NOT_SYNCABLE
        if int(order.get("sync_time", 0)) >= at:
            return SyncOutcome.STALE
        raise SyncLater(f"order {change.out_order_no}: another consumer is pushing it; retry")

    def _record(
        self,
        change: OrderChange,
        pusher: OrderPusher,
        pushed: list[int],
        at: int,
        now: int,
        *,
        error: dict[str, Any] | None = None,
        refused: int | None = None,
    ) -> None:
        """Record what was pushed (if anything) and give the lease back, in one write."""
        done: dict[str, Any] = {}
        if pushed:
            done = {
                "sync_status": pushed[-1],
                "sync_status_text": pusher.status_text(pushed[-1]),
                "sync_time": at + len(pushed) - 1,
                "synced_at": now,
            }
        if error is not None:
            done["sync_error"] = {**error, "status": refused, "at": now}
        remove = LEASE_ATTRS if error is not None or not pushed else (*LEASE_ATTRS, "sync_error")
        record = Change(set=done, remove=remove)
        record.where(record.expr.eq("sync_lease_owner", self._owner))
        # A failed condition: the lease ran out and another consumer took over (it pushes a newer change).
        with contextlib.suppress(ConditionFailed):
            self.ctx.store.update(object_key(Kind.ORDER, change.out_order_no), record)
