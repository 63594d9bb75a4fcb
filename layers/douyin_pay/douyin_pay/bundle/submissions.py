"""Creating payments, refunds and settlements.

Each follows one pattern:

1. the platform adapter validates the request completely — bad input writes nothing;
2. *claim* the business number with a conditional write that stores the validated request and
   its hash (same body → same answer, another body → 409, a live claim → retryable 409), with a
   short lease and a ``due_at`` so that a crash from here on is found by the sweeper;
3. call the platform once, with the identical body on every retry;
4. record the platform's answer with a second conditional write and schedule reconciliation.

A refund or settlement is created with the protocol of its order, whatever protocol the stack now
creates orders with.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import PlatformError
from .api import (
    ApiError,
    checked_ref,
    in_progress,
    not_found,
    order_not_paid,
    platform_failure,
    request_hash,
    same_request,
)
from .context import Context
from .platforms.base import LEGACY_PROTOCOL, PaymentProtocol, Platform, protocol_of
from .platforms.calls import Settleable, Submission
from .refund_rules import DAY, refund_clauses, refund_refusal
from .schedule import SCHEDULES, SUBMIT_LEASE, SWEEP_SLACK
from .settings import SettleAfter
from .states import ACCEPTED, SUBMITTING, Kind, OrderStatus, SettlementStatus, is_terminal
from .store import (
    CONFLICT_RETRIES,
    DUE_INDEX_ATTRS,
    Change,
    ConditionFailed,
    Expr,
    Guard,
    TransactionFailed,
    due_shard,
    object_key,
)
from .transitions import fail_refund
from .views import view

REF_FIELD = {Kind.ORDER: "out_order_no", Kind.REFUND: "out_refund_no", Kind.SETTLEMENT: "out_settle_no"}


@dataclass(frozen=True)
class Answer:
    """The view a create answers with, and whether this request created the object."""

    view: dict[str, Any]
    created: bool  # False when an identical earlier request is answered again


class Submissions:
    def __init__(self, context: Context) -> None:
        self.ctx = context

    def create_order(self, body: object) -> Answer:
        return self._create(self.ctx.platforms.default, Kind.ORDER, body, None)

    def create_refund(self, out_order_no: str, body: object) -> Answer:
        return self._create_for_order(Kind.REFUND, out_order_no, body)

    def create_settlement(self, out_order_no: str, body: object) -> Answer:
        return self._create_for_order(Kind.SETTLEMENT, out_order_no, body)

    def _create_for_order(self, kind: Kind, out_order_no: str, body: object) -> Answer:
        # The claim's transaction checks the order's protocol, so the usual case costs no read;
        # an order of another protocol is answered by that protocol's adapter. An adapter whose
        # request needs the stored order (the trade system's refund names the platform's order
        # id) reads it first, and then knows its protocol.
        platform = self.ctx.platforms.default
        try:
            return self._create(platform, kind, body, out_order_no)
        except _OrderOfOtherProtocol as other:
            return self._create(self.ctx.platforms.get(other.protocol), kind, body, out_order_no)

    # -- claim ----------------------------------------------------------------------------------

    def _create(self, platform: Platform, kind: Kind, body: object, out_order_no: str | None) -> Answer:
        order = None
        if kind in platform.needs_order and out_order_no is not None:
            order = self.ctx.store.get(Kind.ORDER, checked_ref(Kind.ORDER, out_order_no))
            if order is not None and protocol_of(order.get("protocol")) is not platform.protocol:
                platform = self.ctx.platforms.of(order)  # read once: its adapter prepares with it
                if kind not in platform.needs_order:
                    order = None
        submission = platform.prepare(
            kind, body, out_order_no=out_order_no, callback_url=self._callback_url(), order=order
        )
        now = self.ctx.now()
        delay = SCHEDULES[kind].delay(0)  # until the first reconcile step
        settleable = None
        if kind is Kind.SETTLEMENT and submission.payee_amount:
            settleable = self._settleable(platform, submission)
        claim = self._claim_record(platform, submission, now, delay)
        try:
            try:
                self._claim(platform, submission, claim, settleable=settleable)
            except _SettledOrder as settled:
                # A refund of an order settled meanwhile (or before, unknown to this request): it
                # comes from the withdrawable balance, which the request must say (all_settle).
                submission = platform.prepare(
                    kind, body, out_order_no=out_order_no, callback_url=self._callback_url(), order=settled.order
                )
                claim = self._claim_record(platform, submission, now, delay)
                self._claim(platform, submission, claim, settled=True)
        except _Existing as existing:
            return self._answer_existing(submission, existing.item, claim["request_hash"], now)
        if submission.accepted is not None:  # nothing to send: the object exists as recorded
            self.ctx.schedule(kind, submission.ref, platform.protocol, delay)
            return self._answer(platform, kind, claim, created=True)
        return self._send(platform, submission.kind, submission.ref, submission.fields, now, claimed=claim, delay=delay)

    @staticmethod
    def _answer(platform: Platform, kind: Kind, item: Mapping[str, Any], *, created: bool) -> Answer:
        if kind is Kind.ORDER:
            return Answer(view(kind, item, pay_params=platform.pay_params(item)), created=created)
        return Answer(view(kind, item), created=created)

    def _claim_record(self, platform: Platform, submission: Submission, now: int, delay: int) -> dict[str, Any]:
        kind, ref = submission.kind, submission.ref
        stored = platform.stored_request(kind, submission.fields)
        if submission.accepted is not None:
            # Recorded in its accepted state at once (one write): no lease, since no platform call
            # follows; due_at is the first reconcile step's.
            return {
                **self._claim_fields(platform, submission, stored, now),
                **submission.accepted.facts,
                "status": ACCEPTED[kind],
                "due_shard": due_shard(kind, ref),
                "due_at": now + delay + SWEEP_SLACK,
            }
        return {
            **self._claim_fields(platform, submission, stored, now),
            "status": SUBMITTING,
            "lease_until": now + SUBMIT_LEASE,
            "due_shard": due_shard(kind, ref),
            # Written once: the later of the lease's end (a crash before the platform answered) and
            # the first reconcile step (a lost message), plus the sweeper's slack. Accepting the
            # request does not move it, so the index is written once per create.
            "due_at": now + max(SUBMIT_LEASE, delay) + SWEEP_SLACK,
        }

    @staticmethod
    def _claim_fields(platform: Platform, submission: Submission, stored: Mapping[str, Any], now: int) -> dict:
        return {
            REF_FIELD[submission.kind]: submission.ref,
            "out_order_no": submission.out_order_no,
            **submission.record,
            "kind": submission.kind.value,
            "protocol": platform.protocol.value,
            "request_hash": request_hash(submission.identity),
            "request": json.dumps(stored, ensure_ascii=False, separators=(",", ":")),
            "created_at": now,
            "updated_at": now,
            "reconcile_attempts": 0,
        }

    def _callback_url(self) -> str:
        if not self.ctx.settings.callback_url:
            raise ApiError(500, "misconfigured", "CALLBACK_URL is not set")
        return self.ctx.settings.callback_url

    def _settleable(self, platform: Platform, submission: Submission) -> Settleable:
        """What the platform lets this settlement hand to its payees: asked (the influencer's
        commission is known only some time after payment), after a read that makes sure the
        question goes to the order's own protocol and is worth a query of the stack's budget."""
        out_order_no = submission.out_order_no
        order = self.ctx.store.get(Kind.ORDER, out_order_no)
        if order is None:
            raise not_found(Kind.ORDER, out_order_no)
        if (order_protocol := protocol_of(order.get("protocol"))) is not platform.protocol:
            raise _OrderOfOtherProtocol(order_protocol)
        if order.get("status") != OrderStatus.PAID:
            raise order_not_paid(out_order_no, order.get("status"))
        self.ctx.take_query()
        try:
            return platform.settleable(out_order_no)
        except PlatformError as exc:
            raise platform_failure(exc, platform.fault(Kind.ORDER, exc)) from exc

    def _claim(
        self,
        platform: Platform,
        submission: Submission,
        claim: dict[str, Any],
        *,
        settleable: Settleable | None = None,
        settled: bool = False,
    ) -> None:
        store = self.ctx.store
        protocol = platform.protocol
        key = object_key(submission.kind, submission.ref)
        if submission.kind is Kind.ORDER:
            try:
                store.put(key, claim, Guard.absent())
            except ConditionFailed as exc:
                raise _Existing(exc.item) from exc
            return
        rules = None
        if submission.kind is Kind.SETTLEMENT:
            rules = self._settle_rules(platform, submission, claim["created_at"], settleable)
        for attempt in (1, 2):
            actions = [
                store.put_action(key, claim, Guard.absent()),
                self._order_condition(protocol, submission, claim, rules, settled=settled),
            ]
            try:
                store.transact(actions, conflict_retries=CONFLICT_RETRIES)
                return
            except TransactionFailed as exc:
                if exc.condition_failed(0):
                    raise _Existing(exc.item(0)) from exc
                if exc.conflict:
                    raise in_progress("a concurrent request holds this order; retry") from exc
                order = exc.item(1)
                if attempt == 1 and self._previous_settlement_done(order):
                    continue  # the marker of a finished settlement was cleared: claim again
                if (
                    submission.kind is Kind.REFUND
                    and not settled
                    and order is not None
                    and order.get("status") == OrderStatus.PAID
                    and _is_settled(order)
                ):
                    raise _SettledOrder(order) from exc
                raise self._order_refusal(protocol, claim, order, rules) from exc

    def _previous_settlement_done(self, order: Mapping[str, Any] | None) -> bool:
        """The order names a settlement in flight (``settling``). It is cleared when the next
        settlement finds it finished, so a callback never writes the order: True if it was."""
        settling = (order or {}).get("settling")
        if not settling:
            return False
        previous = self.ctx.store.get(Kind.SETTLEMENT, settling)
        if previous is not None and not is_terminal(previous.get("status", SUBMITTING)):
            return False
        clear = Change(remove=("settling",))
        if previous is not None and previous.get("status") == SettlementStatus.SUCCEEDED:
            # Finished before its final notice wrote the order (an older version of the bundle).
            clear.set_once = {"settled_at": int(previous.get("updated_at") or 0), "settled_by": settling}
        clear.where(clear.expr.eq("settling", settling))
        with contextlib.suppress(ConditionFailed):
            self.ctx.store.update(object_key(Kind.ORDER, order["out_order_no"]), clear)
        return True

    def _settle_rules(
        self, platform: Platform, submission: Submission, now: int, settleable: Settleable | None
    ) -> SettleRules:
        settings = self.ctx.settings
        cycle_from = None
        if settings.settle_cycle_days:
            by_fulfilment = settings.settle_after is SettleAfter.FULFILMENT and platform.records_fulfilment
            cycle_from = "fulfilled_at" if by_fulfilment else "paid_at"
        return SettleRules(
            platform.settleable_sync(),
            cycle_from,
            settings.settle_cycle_days * DAY,
            now,
            ref=submission.ref,
            payees=submission.payees,
            payee_amount=submission.payee_amount,
            settleable=settleable,
        )

    def _order_condition(
        self,
        protocol: PaymentProtocol,
        submission: Submission,
        claim: Mapping[str, Any],
        rules: SettleRules | None,
        *,
        settled: bool = False,
    ) -> dict:
        """The paid order the request belongs to, of this protocol; a refund also reserves its
        amount there, so succeeded + in-flight refunds never exceed what was paid. A settlement's
        order must also meet the platform's :class:`SettleRules`, so a settlement the platform
        would refuse spends no business number."""
        order_key = object_key(Kind.ORDER, submission.out_order_no)
        if submission.kind is Kind.REFUND:
            reserve = Change(add={"refundable_amount": -claim["refund_amount"], "refund_requests": 1})
            cond = reserve.expr
            reserve.where(
                cond.exists(),
                cond.eq("status", OrderStatus.PAID),
                _protocol_clause(cond, protocol),
                f"{cond.name('refundable_amount')} >= {cond.value(claim['refund_amount'])}",
                *refund_clauses(cond, claim["created_at"]),
                *settled_clauses(cond, settled=settled),
            )
            return self.ctx.store.update_action(order_key, reserve)
        if rules is not None:
            # One settlement at a time, and at most MAX_SETTLE_REQUESTS: counted and marked on the order.
            facts = dict(rules.settleable.facts) if rules.settleable else {}
            mark = Change(set={"settling": rules.ref}, set_once=facts, add={"settle_requests": 1})
            cond = mark.expr
            mark.where(
                cond.exists(),
                cond.eq("status", OrderStatus.PAID),
                _protocol_clause(cond, protocol),
                *rules.clauses(cond),
            )
            return self.ctx.store.update_action(order_key, mark)
        paid = Guard()
        cond = paid.expr
        paid.where(cond.exists(), cond.eq("status", OrderStatus.PAID), _protocol_clause(cond, protocol))
        return self.ctx.store.check_action(order_key, paid)

    @staticmethod
    def _order_refusal(
        protocol: PaymentProtocol,
        claim: Mapping[str, Any],
        order: Mapping[str, Any] | None,
        rules: SettleRules | None = None,
    ) -> Exception:
        out_order_no = claim["out_order_no"]
        if order is None:
            return not_found(Kind.ORDER, out_order_no)
        order_protocol = protocol_of(order.get("protocol"))
        if order_protocol is not protocol:
            return _OrderOfOtherProtocol(order_protocol)
        if order.get("status") != OrderStatus.PAID:
            return order_not_paid(out_order_no, order.get("status"))
        if rules is not None:
            return rules.refusal(out_order_no, order)
        if order.get("settling"):
            return _settlement_in_progress(out_order_no, order["settling"], "a refund now would be taken from")
        if (closed := refund_refusal(out_order_no, order, claim["created_at"])) is not None:
            return closed
        return ApiError(
            409,
            "refund_exceeds_refundable",
            f"refund_amount {claim.get('refund_amount')} exceeds the refundable "
            f"{order.get('refundable_amount')} fen of order {out_order_no!r}",
            refundable_amount=order.get("refundable_amount"),
        )

    # -- an earlier request with this number ----------------------------------------------------

    def _answer_existing(self, submission: Submission, item: dict | None, digest: str, now: int) -> Answer:
        kind, ref = submission.kind, submission.ref
        if item is None:  # deleted between the two calls: cannot happen without DeleteItem, answer safely
            raise in_progress("retry the request")
        if not same_request(item.get("request_hash"), digest):
            raise ApiError(
                409, "idempotency_conflict", f"{kind.value} {ref!r} exists with a different request; use a new number"
            )
        platform = self.ctx.platforms.of(item)
        if item.get("status") == SUBMITTING:
            self._take_over(kind, ref, item, now)
            return self._send(platform, kind, ref, platform.request_of(kind, item), now, claimed=item)
        if item.get("error"):
            error = item["error"]
            refused = PlatformError(error.get("err_no"), error.get("err_tips") or "", retryable=False)
            raise platform_failure(refused, platform.fault(kind, refused), earlier=True)
        pay_params = platform.pay_params(item) if kind is Kind.ORDER else None
        if kind is Kind.ORDER and item.get("status") == OrderStatus.CREATED and pay_params is None:
            # Recovered by reconciliation without what the front end needs to pay; the platform
            # answers a repeated number with the first order, so resending the identical body fetches it.
            return self._send(platform, kind, ref, platform.request_of(kind, item), now, claimed=item, replay=True)
        if kind is Kind.ORDER:
            return Answer(view(kind, item, pay_params=pay_params), created=False)
        return Answer(view(kind, item), created=False)

    def _take_over(self, kind: Kind, ref: str, item: Mapping[str, Any], now: int) -> None:
        """The earlier attempt gave up or crashed: take over its claim (to resend the same body)."""
        if int(item.get("lease_until", 0)) > now:
            raise in_progress(f"{kind.value} {ref!r} is being submitted; retry")
        take = Change(set={"lease_until": now + SUBMIT_LEASE, "updated_at": now})
        cond = take.expr
        take.where(cond.status_in([SUBMITTING]), cond.eq("lease_until", item.get("lease_until", 0)))
        try:
            self.ctx.store.update(object_key(kind, ref), take)
        except ConditionFailed as exc:
            raise in_progress(f"{kind.value} {ref!r} is being submitted; retry") from exc

    # -- send and record ------------------------------------------------------------------------

    def _send(
        self,
        platform: Platform,
        kind: Kind,
        ref: str,
        fields: Mapping[str, Any],
        now: int,
        *,
        claimed: Mapping[str, Any],
        replay: bool = False,
        delay: int | None = None,
    ) -> Answer:
        """Submit and record the acceptance. ``delay``: the first reconcile step's, already in the
        claim's ``due_at``; None (a resend of an older claim) computes a new one and moves ``due_at``."""
        key = object_key(kind, ref)
        try:
            accepted = platform.submit(kind, fields)
        except PlatformError as exc:
            if exc.retryable:
                self._release_lease(key, now)
            else:
                self._record_refusal(kind, ref, claimed, exc, now)
            raise platform_failure(exc, platform.fault(kind, exc)) from exc
        due = {}
        if delay is None:
            delay = SCHEDULES[kind].delay(0)
            due = {"due_at": now + delay + SWEEP_SLACK}
        target = ACCEPTED[kind]
        change = Change(set={"status": target, "updated_at": now, **due, **accepted.facts}, remove=("lease_until",))
        change.where(change.expr.status_in([SUBMITTING, target]))
        try:
            item = self.ctx.store.update(key, change)
        except ConditionFailed as exc:
            # Reconciliation or a callback got there first (this request was slow): report the truth.
            if exc.item is None:
                raise
            return self._answer(platform, kind, exc.item, created=not replay)
        self.ctx.schedule(kind, ref, platform.protocol, delay)
        return self._answer(platform, kind, item, created=not replay)

    def _release_lease(self, key: dict, now: int) -> None:
        # Outcome unknown: let the caller's retry take over at once; due_at stays, so the sweeper
        # reconciles if nobody retries.
        change = Change(set={"lease_until": now, "updated_at": now})
        change.where(change.expr.status_in([SUBMITTING]))
        with contextlib.suppress(ConditionFailed):
            self.ctx.store.update(key, change)

    def _record_refusal(self, kind: Kind, ref: str, claimed: Mapping[str, Any], exc: PlatformError, now: int) -> None:
        change = Change(
            set={"status": "FAILED", "updated_at": now, "error": {"err_no": exc.err_no, "err_tips": exc.err_tips}},
            remove=("lease_until", *DUE_INDEX_ATTRS),
        )
        change.where(change.expr.status_in([SUBMITTING]))
        key = object_key(kind, ref)
        store = self.ctx.store
        try:
            if kind is Kind.REFUND:
                fail_refund(store, key, change, claimed)
            else:
                store.update(key, change)
        except (ConditionFailed, TransactionFailed):
            pass  # reconciliation settled it meanwhile


MAX_SETTLE_REQUESTS = 50  # per order (ecpay-spec §3.5)


@dataclass(frozen=True)
class SettleRules:
    """What a settlement needs of its PAID order, checked in the claim's transaction."""

    sync: frozenset[int] | None  # the order-center statuses the platform settles in (ecpay order sync)
    cycle_from: str | None  # "paid_at" / "fulfilled_at": the settlement cycle counts from it (None: no cycle)
    cycle: int  # seconds
    now: int
    ref: str = ""  # the settlement being claimed
    payees: tuple[str, ...] = ()  # its third-party payees
    payee_amount: int = 0  # what it hands them, fen
    settleable: Settleable | None = None  # what the platform said may go to payees (asked when there are any)

    def clauses(self, cond: Expr) -> list[str]:
        requests = cond.name("settle_requests")
        out = [
            f"attribute_not_exists({cond.name('settling')})",
            f"attribute_not_exists({cond.name('auto_settled_at')})",
            f"attribute_not_exists({requests}) OR {requests} < {cond.value(MAX_SETTLE_REQUESTS)}",
        ]
        if self.settleable is not None:
            needed = self.settleable.unsettled_needed(self.payee_amount)
            out.append(f"{cond.name('refundable_amount')} >= {cond.value(needed)}")
        if self.payees:
            seller = cond.name("seller_uid")
            listed = ", ".join(cond.value(uid) for uid in self.payees)
            out.append(f"attribute_not_exists({seller}) OR NOT ({seller} IN ({listed}))")
        if self.sync:
            # An order created before order sync was never pushed and never will be: the platform
            # decides on it, as it did before the upgrade.
            shown = f"{cond.name('sync_status')} IN ({', '.join(cond.value(s) for s in sorted(self.sync))})"
            out.append(f"{shown} OR attribute_not_exists({cond.name('sync_missing')})")
        if self.cycle_from == "paid_at":
            # An order paid before paid_at was recorded from every source: the platform decides.
            paid_at = cond.name("paid_at")
            out.append(f"attribute_not_exists({paid_at}) OR {paid_at} <= {cond.value(self.now - self.cycle)}")
        elif self.cycle_from == "fulfilled_at":
            out.append(f"{cond.name('fulfilled_at')} <= {cond.value(self.now - self.cycle)}")
        return out

    def refusal(self, out_order_no: str, order: Mapping[str, Any]) -> ApiError:
        """Why the PAID ``order`` failed :meth:`clauses`."""
        if order.get("settling"):
            why = "the platform takes the next one only after"
            return _settlement_in_progress(out_order_no, order["settling"], why)
        if order.get("auto_settled_at"):
            return ApiError(
                409,
                "order_auto_settled",
                f"order {out_order_no!r} was settled by the platform itself (in full to the seller, 150 days after "
                "its payment): there is nothing left to settle",
                auto_settled_at=order["auto_settled_at"],
            )
        if int(order.get("settle_requests", 0)) >= MAX_SETTLE_REQUESTS:
            return ApiError(
                409,
                "settle_limit_reached",
                f"order {out_order_no!r} has had {MAX_SETTLE_REQUESTS} settle requests, the platform's limit",
            )
        if order.get("seller_uid") in self.payees:
            return ApiError(
                409,
                "payee_is_seller",
                f"settle_params names the order's seller {order['seller_uid']!r}: it receives the rest by itself; "
                "list third parties only",
            )
        if self.sync and "sync_missing" in order and order.get("sync_status") not in self.sync:
            return _not_synced(out_order_no, order)
        if self.settleable is not None:
            unsettled = int(order.get("refundable_amount", 0))
            if unsettled < self.settleable.unsettled_needed(self.payee_amount):
                settleable = self.settleable.for_payees(unsettled)
                return ApiError(
                    409,
                    "settle_exceeds_settleable",
                    f"settle_params hand out {self.payee_amount} fen, but at most {settleable} fen of order "
                    f"{out_order_no!r} can go to payees now: its unsettled {unsettled} fen less the influencer's "
                    f"commission ({self.settleable.commission}) and the platform's fee "
                    f"({self.settleable.fee(unsettled)})",
                    settleable_amount=settleable,
                    commission=self.settleable.commission,
                )
        days = self.cycle // DAY
        start = order.get(self.cycle_from or "")
        if self.cycle_from == "fulfilled_at" and start is None:
            return ApiError(
                409,
                "order_not_fulfilled",
                f"order {out_order_no!r} can be settled {days} days after its fulfilment (核销), which has not been "
                "recorded: POST /payments/{out_order_no}/fulfilment",
            )
        opens_at = int(start or 0) + self.cycle
        return ApiError(
            409,
            "settlement_not_open",
            f"order {out_order_no!r} can be settled from {opens_at} (unix seconds), {days} days after its "
            f"{'fulfilment' if self.cycle_from == 'fulfilled_at' else 'payment'} (the settlement cycle)",
            opens_at=opens_at,
        )


def _settlement_in_progress(out_order_no: str, settling: str, why: str) -> ApiError:
    return ApiError(
        409,
        "settlement_in_progress",
        f"settlement {settling!r} of order {out_order_no!r} has not finished; {why} it",
        retryable=True,
        in_progress=settling,
    )


def _is_settled(order: Mapping[str, Any]) -> bool:
    """Whether the order's money left its in-transit account: by a settlement of ours, or the
    platform's own."""
    return bool(order.get("settled_at") or order.get("auto_settled_at"))


def settled_clauses(cond: Expr, *, settled: bool) -> list[str]:
    """A refund is prepared for one account (all_settle): the order must still be in the state it
    was prepared for, and no settlement may be moving its money right now."""
    settled_at, auto = cond.name("settled_at"), cond.name("auto_settled_at")
    state = (
        f"attribute_exists({settled_at}) OR attribute_exists({auto})"
        if settled
        else f"attribute_not_exists({settled_at}) AND attribute_not_exists({auto})"
    )
    return [state, f"attribute_not_exists({cond.name('settling')})"]


def _not_synced(out_order_no: str, order: Mapping[str, Any]) -> ApiError:
    """The platform settles an order only once Douyin's order center shows it paid or fulfilled."""
    lacking = [name for name in order.get("sync_missing") or ()]
    if lacking:
        return ApiError(
            409,
            "order_not_syncable",
            f"order {out_order_no!r} cannot be synced to Douyin (it was created without "
            f"{', '.join(lacking)}), and the platform settles only synced orders",
            missing=lacking,
        )
    return ApiError(
        409,
        "order_not_synced",
        f"order {out_order_no!r} is not yet synced to Douyin as paid or fulfilled; retry once it is",
        retryable=True,
        sync_status=order.get("sync_status"),
    )


def _protocol_clause(cond: Expr, protocol: PaymentProtocol) -> str:
    if protocol is LEGACY_PROTOCOL:  # orders written before items recorded their protocol are its
        return cond.equals_or_missing("protocol", protocol.value)
    return cond.eq("protocol", protocol.value)


class _Existing(Exception):
    def __init__(self, item: dict | None) -> None:
        super().__init__("exists")
        self.item = item


class _SettledOrder(Exception):
    """A refund prepared for an unsettled order met a settled one: prepare it again for that."""

    def __init__(self, order: dict[str, Any]) -> None:
        super().__init__("the order is settled")
        self.order = order


class _OrderOfOtherProtocol(Exception):
    def __init__(self, protocol: PaymentProtocol) -> None:
        super().__init__(f"the order is {protocol.value}'s")
        self.protocol = protocol
