"""The bundle's use cases: create, query and refresh payments, refunds and settlements; apply
callback notices; reconcile and sweep. Handlers are thin adapters over :class:`PaymentService`.

Creating anything follows one pattern (architecture.md "Flows"):

1. validate the request completely — bad input writes nothing;
2. *claim* the business number with a conditional write that stores the validated request and
   its hash (same body → same answer, another body → 409, a live claim → retryable 409), with a
   short lease and a ``due_at`` so that a crash from here on is found by the sweeper;
3. call the platform once, with the identical body on every retry (ecpay-spec §2);
4. record the platform's answer with a second conditional write and schedule reconciliation.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..ecpay.notices import AnyNotice, PaymentNotice, RefundNotice, SettleNotice
from ..ecpay.signing import wire_value
from ..errors import DouyinPayError, PlatformError, ValidationError
from .queue import ReconcileMessage, ReconcileQueue
from .schedule import SCHEDULES, SUBMIT_LEASE, SWEEP_SLACK
from .settings import Settings
from .states import Kind, OrderStatus, RefundStatus, SettlementStatus, is_terminal
from .store import (
    DUE_INDEX_ATTRS,
    DUE_SHARDS,
    Change,
    ConditionFailed,
    Expr,
    Store,
    TransactionFailed,
    due_shard,
    event_key,
    object_key,
)
from .transitions import Observation, change_for, from_notice, from_query, mismatch, release_change

CONFLICT_RETRIES = 2  # a transaction cancelled by a concurrent one is tried up to three times in all
EVENT_TTL = 90 * 86_400  # callback event records are kept 90 days (TTL), objects forever
NOT_FOUND = {Kind.ORDER: {2000}, Kind.REFUND: {3101}, Kind.SETTLEMENT: {2000}}  # ecpay-spec §3.2, §3.4; [I] settle
_SUBMITTING = "SUBMITTING"


class ApiError(DouyinPayError):
    """A failure with an HTTP meaning: ``status``, a stable ``code`` and whether to retry."""

    def __init__(self, status: int, code: str, message: str, *, retryable: bool = False, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retryable = retryable
        self.extra = {k: v for k, v in extra.items() if v is not None}

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "retryable": self.retryable, **self.extra}


def not_found(kind: Kind, ref: str) -> ApiError:
    return ApiError(404, f"{kind.value}_not_found", f"no {kind.value} {ref!r}")


def platform_failure(exc: PlatformError) -> ApiError:
    if exc.retryable:
        return ApiError(
            503,
            "platform_unavailable",
            "the platform did not answer; retry the identical request",
            retryable=True,
            err_no=exc.err_no,
            err_tips=exc.err_tips or None,
        )
    return ApiError(
        502,
        "platform_rejected",
        "the platform refused the request; use a new business number",
        retryable=False,
        err_no=exc.err_no,
        err_tips=exc.err_tips or None,
    )


@dataclass(frozen=True)
class Answer:
    view: dict[str, Any]
    created: bool  # False when an identical earlier request is answered again


@dataclass(frozen=True)
class NoticeResult:
    outcome: str  # applied | duplicate | stale | mismatch | conflict | unknown_object | recorded
    kind: Kind | None = None
    ref: str | None = None

    @property
    def anomaly(self) -> bool:
        return self.outcome in ("mismatch", "conflict")


# -- views --------------------------------------------------------------------------------------

_VIEW_FIELDS = {
    Kind.ORDER: (
        "out_order_no",
        "status",
        "total_amount",
        "refundable_amount",
        "subject",
        "body",
        "valid_time",
        "cp_extra",
        "order_id",
        "order_token",
        "paid_at",
        "pay_time",
        "way",
        "channel_no",
        "created_at",
        "updated_at",
    ),
    Kind.REFUND: (
        "out_refund_no",
        "out_order_no",
        "status",
        "refund_amount",
        "reason",
        "refund_no",
        "refunded_at",
        "is_all_settled",
        "platform_message",
        "created_at",
        "updated_at",
    ),
    Kind.SETTLEMENT: (
        "out_settle_no",
        "out_order_no",
        "status",
        "settle_desc",
        "settle_params",
        "settle_no",
        "settle_amount",
        "rake",
        "commission",
        "settled_at",
        "settle_detail",
        "platform_message",
        "created_at",
        "updated_at",
    ),
}


def view(kind: Kind, item: Mapping[str, Any]) -> dict[str, Any]:
    """What the API returns for an object; never the stored request hash or internal bookkeeping."""
    out = {k: item[k] for k in _VIEW_FIELDS[kind] if k in item}
    if kind is Kind.SETTLEMENT and isinstance(out.get("settle_params"), str):
        out["settle_params"] = json.loads(out["settle_params"])
    if kind is Kind.ORDER and item.get("status") == OrderStatus.PAID:
        out["refunded_or_pending_amount"] = int(item["total_amount"]) - int(item.get("refundable_amount", 0))
    for extra in ("error", "anomalies"):
        if item.get(extra):
            out[extra] = item[extra]
    if item.get("reconcile_state"):
        out["reconcile_state"] = item["reconcile_state"]
    return out


# -- request parsing ----------------------------------------------------------------------------

_ORDER_FIELDS = {
    "out_order_no",
    "total_amount",
    "subject",
    "body",
    "valid_time",
    "cp_extra",
    "disable_msg",
    "msg_page",
    "store_uid",
    "limit_pay_way",
    "expand_order_info",
}
_REFUND_FIELDS = {"out_refund_no", "refund_amount", "reason", "cp_extra", "disable_msg", "msg_page", "all_settle"}
_SETTLE_FIELDS = {"out_settle_no", "settle_desc", "settle_params", "cp_extra"}
DEFAULT_VALID_TIME = 1800


def _request_fields(body: object, allowed: set[str], required: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValidationError("body", "must be a JSON object", code="invalid_body")
    for key in body:
        if key == "notify_url":
            raise ValidationError(key, "is always this bundle's callback URL and cannot be set", code="unknown_field")
        if key not in allowed:
            raise ValidationError(key, "is not a field of this request", code="unknown_field")
    for key in required:
        if body.get(key) is None:  # absent or JSON null
            raise ValidationError(key, "is required", code="missing_field")
    return {k: v for k, v in body.items() if v is not None}


def request_hash(fields: Mapping[str, Any]) -> str:
    canonical = json.dumps(
        {k: v for k, v in fields.items() if v is not None}, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


# -- the service --------------------------------------------------------------------------------


class PaymentService:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        client: Callable[[], Any],
        queue: ReconcileQueue | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.store = store
        self.queue = queue
        self._client = client  # a factory: the SALT may rotate while the environment lives
        self._clock = clock

    def now(self) -> int:
        return int(self._clock())

    # -- create ---------------------------------------------------------------------------------

    def create_order(self, body: object) -> Answer:
        from ..ecpay.client import order_fields

        raw = _request_fields(body, _ORDER_FIELDS, ("out_order_no", "total_amount", "subject", "body"))
        raw.setdefault("valid_time", DEFAULT_VALID_TIME)
        fields = order_fields(**raw, notify_url=self._callback_url())
        ref = fields["out_order_no"]
        record = {
            "out_order_no": ref,
            "total_amount": fields["total_amount"],
            "refundable_amount": fields["total_amount"],
            "subject": fields["subject"],
            "body": fields["body"],
            "valid_time": fields["valid_time"],
            "cp_extra": fields.get("cp_extra"),
        }
        return self._submit(Kind.ORDER, ref, fields, record, endpoint="create_order")

    def create_refund(self, out_order_no: str, body: object) -> Answer:
        from ..ecpay.client import refund_fields

        raw = _request_fields(body, _REFUND_FIELDS, ("out_refund_no", "refund_amount", "reason"))
        fields = refund_fields(out_order_no, **raw, notify_url=self._callback_url())
        ref = fields["out_refund_no"]
        amount = fields["refund_amount"]
        record = {
            "out_refund_no": ref,
            "out_order_no": fields["out_order_no"],
            "refund_amount": amount,
            "reason": fields["reason"],
        }
        # Reserve the amount on the paid order in the same transaction: succeeded + in-flight
        # refunds can never exceed what was paid, without a read-then-write.
        reserve = Change(add={"refundable_amount": -amount})
        e = reserve.expr
        reserve.where(e.exists(), e.eq("status", OrderStatus.PAID), f"{e.n('refundable_amount')} >= {e.v(amount)}")
        return self._submit(
            Kind.REFUND,
            ref,
            fields,
            record,
            endpoint="create_refund",
            companion=(object_key(Kind.ORDER, fields["out_order_no"]), reserve),
        )

    def create_settlement(self, out_order_no: str, body: object) -> Answer:
        from ..ecpay.client import settle_fields

        raw = _request_fields(body, _SETTLE_FIELDS, ("out_settle_no", "settle_desc"))
        fields = settle_fields(out_order_no=out_order_no, **raw, notify_url=self._callback_url())
        ref = fields["out_settle_no"]
        record = {
            "out_settle_no": ref,
            "out_order_no": fields["out_order_no"],
            "settle_desc": fields["settle_desc"],
            "settle_params": wire_value("settle_params", fields["settle_params"])
            if fields.get("settle_params")
            else None,
        }
        paid = Expr()
        check = (
            object_key(Kind.ORDER, fields["out_order_no"]),
            f"{paid.exists()} AND {paid.eq('status', 'PAID')}",
            paid,
        )
        return self._submit(Kind.SETTLEMENT, ref, fields, record, endpoint="settle", check=check)

    def _callback_url(self) -> str:
        if not self.settings.callback_url:
            raise ApiError(500, "misconfigured", "CALLBACK_URL is not set")
        return self.settings.callback_url

    def _submit(
        self,
        kind: Kind,
        ref: str,
        fields: dict[str, Any],
        record: dict[str, Any],
        *,
        endpoint: str,
        companion: tuple[dict, Change] | None = None,
        check: tuple[dict, str, Expr] | None = None,
    ) -> Answer:
        for key, value in fields.items():  # everything must sign before anything is written
            if value is not None:
                wire_value(key, value)
        now = self.now()
        digest = request_hash(fields)
        claim = {
            **record,
            "kind": kind.value,
            "status": _SUBMITTING,
            "request_hash": digest,
            "request": json.dumps(fields, ensure_ascii=False, separators=(",", ":")),
            "app_id": self.settings.app_id,
            "created_at": now,
            "updated_at": now,
            "lease_until": now + SUBMIT_LEASE,
            "reconcile_attempts": 0,
            "due_shard": due_shard(kind, ref),
            "due_at": now + SUBMIT_LEASE + SWEEP_SLACK,
        }
        key = object_key(kind, ref)
        try:
            self._claim(kind, key, claim, companion, check)
        except _Existing as existing:
            return self._answer_existing(kind, ref, existing.item, digest, endpoint, now)
        return self._send(kind, ref, endpoint, fields, now, claimed=claim)

    def _claim(
        self,
        kind: Kind,
        key: dict,
        claim: dict,
        companion: tuple[dict, Change] | None,
        check: tuple[dict, str, Expr] | None,
    ) -> None:
        e = Expr()
        if companion is None and check is None:
            try:
                self.store.put(key, claim, e.absent(), e)
            except ConditionFailed as exc:
                raise _Existing(exc.item) from exc
            return
        actions = [self.store.put_action(key, claim, e.absent(), e)]
        if companion:
            actions.append(self.store.update_action(*companion))
        if check:
            actions.append(self.store.check_action(*check))
        try:
            self.store.transact(actions, conflict_retries=CONFLICT_RETRIES)
        except TransactionFailed as exc:
            if exc.condition_failed(0):
                raise _Existing(exc.item(0)) from exc
            if exc.conflict:
                raise ApiError(
                    409, "request_in_progress", "a concurrent request holds this order; retry", retryable=True
                ) from exc
            raise self._order_refusal(kind, claim, exc.item(1)) from exc

    @staticmethod
    def _order_refusal(kind: Kind, claim: Mapping[str, Any], order: Mapping[str, Any] | None) -> ApiError:
        out_order_no = claim["out_order_no"]
        if order is None:
            return not_found(Kind.ORDER, out_order_no)
        if order.get("status") != OrderStatus.PAID:
            return ApiError(
                409,
                "order_not_paid",
                f"order {out_order_no!r} is {order.get('status')}, not PAID",
                order_status=order.get("status"),
            )
        return ApiError(
            409,
            "refund_exceeds_refundable",
            f"refund_amount {claim.get('refund_amount')} exceeds the refundable "
            f"{order.get('refundable_amount')} fen of order {out_order_no!r}",
            refundable_amount=order.get("refundable_amount"),
        )

    def _answer_existing(self, kind: Kind, ref: str, item: dict | None, digest: str, endpoint: str, now: int) -> Answer:
        if item is None:  # deleted between the two calls: cannot happen without DeleteItem, answer safely
            raise ApiError(409, "request_in_progress", "retry the request", retryable=True)
        if item.get("request_hash") != digest:
            raise ApiError(
                409, "idempotency_conflict", f"{kind.value} {ref!r} exists with a different request; use a new number"
            )
        if item.get("status") == _SUBMITTING:
            if int(item.get("lease_until", 0)) > now:
                raise ApiError(
                    409, "request_in_progress", f"{kind.value} {ref!r} is being submitted; retry", retryable=True
                )
            # The earlier attempt gave up or crashed: take over its claim and resend the same body.
            take = Change(set={"lease_until": now + SUBMIT_LEASE, "updated_at": now})
            e = take.expr
            take.where(e.status_in([_SUBMITTING]), e.eq("lease_until", item.get("lease_until", 0)))
            try:
                self.store.update(object_key(kind, ref), take)
            except ConditionFailed as exc:
                raise ApiError(
                    409, "request_in_progress", f"{kind.value} {ref!r} is being submitted; retry", retryable=True
                ) from exc
            return self._send(kind, ref, endpoint, json.loads(item["request"]), now, claimed=item)
        if item.get("error"):
            error = item["error"]
            raise ApiError(
                502,
                "platform_rejected",
                "the platform refused this request earlier; use a new number",
                err_no=error.get("err_no"),
                err_tips=error.get("err_tips"),
            )
        if kind is Kind.ORDER and item.get("status") == OrderStatus.CREATED and not item.get("order_token"):
            # Recovered by reconciliation without the token; the platform answers a repeated number
            # with the first order, so resending the identical body fetches it.
            return self._send(kind, ref, endpoint, json.loads(item["request"]), now, claimed=item, replay=True)
        return Answer(view(kind, item), created=False)

    def _send(
        self,
        kind: Kind,
        ref: str,
        endpoint: str,
        fields: Mapping[str, Any],
        now: int,
        *,
        claimed: Mapping[str, Any],
        replay: bool = False,
    ) -> Answer:
        key = object_key(kind, ref)
        try:
            result = self._client().submit(endpoint, fields)
        except PlatformError as exc:
            if exc.retryable:
                self._release_lease(key, now)
                raise platform_failure(exc) from exc
            self._record_refusal(kind, ref, claimed, exc, now)
            raise platform_failure(exc) from exc
        schedule = SCHEDULES[kind]
        delay = schedule.delay(0)
        accepted = {
            Kind.ORDER: lambda: {"order_id": result.order_id, "order_token": result.order_token},
            Kind.REFUND: lambda: {"refund_no": result.refund_no},
            Kind.SETTLEMENT: lambda: {"settle_no": result.settle_no},
        }[kind]()
        target = {
            Kind.ORDER: OrderStatus.CREATED,
            Kind.REFUND: RefundStatus.PROCESSING,
            Kind.SETTLEMENT: SettlementStatus.PROCESSING,
        }[kind]
        change = Change(
            set={
                "status": target,
                "updated_at": now,
                "due_at": now + delay + SWEEP_SLACK,
                **{k: v for k, v in accepted.items() if v},
            },
            remove=("lease_until",),
        )
        e = change.expr
        change.where(e.status_in([_SUBMITTING, target]))
        try:
            item = self.store.update(key, change)
        except ConditionFailed as exc:
            # Reconciliation or a callback got there first (this request was slow): report the truth.
            if exc.item is None:
                raise
            return Answer(view(kind, exc.item), created=not replay)
        self._schedule(kind, ref, delay)
        return Answer(view(kind, item), created=not replay)

    def _release_lease(self, key: dict, now: int) -> None:
        # Outcome unknown: let the caller's retry take over at once; due_at stays, so the sweeper
        # reconciles if nobody retries.
        change = Change(set={"lease_until": now, "updated_at": now})
        change.where(change.expr.status_in([_SUBMITTING]))
        with contextlib.suppress(ConditionFailed):
            self.store.update(key, change)

    def _record_refusal(self, kind: Kind, ref: str, claimed: Mapping[str, Any], exc: PlatformError, now: int) -> None:
        change = Change(
            set={"status": "FAILED", "updated_at": now, "error": {"err_no": exc.err_no, "err_tips": exc.err_tips}},
            remove=("lease_until", *DUE_INDEX_ATTRS),
        )
        change.where(change.expr.status_in([_SUBMITTING]))
        key = object_key(kind, ref)
        try:
            if kind is Kind.REFUND:
                self.store.transact(
                    [self.store.update_action(key, change), self.store.update_action(*release_change(claimed))]
                )
            else:
                self.store.update(key, change)
        except (ConditionFailed, TransactionFailed):
            pass  # reconciliation settled it meanwhile

    def _schedule(self, kind: Kind, ref: str, delay: int) -> bool:
        """Best effort: if SQS fails, the item's due_at makes the sweeper enqueue it later."""
        if self.queue is None:
            return False
        try:
            self.queue.schedule(ReconcileMessage(kind, ref), delay)
        except Exception:  # noqa: BLE001 - any SQS failure is covered by the sweeper (due_at)
            return False
        return True

    # -- read -----------------------------------------------------------------------------------

    def get(self, kind: Kind, ref: str) -> dict[str, Any]:
        ref = _checked_ref(kind, ref)
        item = self.store.get(kind, ref)
        if item is None:
            raise not_found(kind, ref)
        return view(kind, item)

    def refresh(self, kind: Kind, ref: str) -> dict[str, Any]:
        """Ask the platform now and apply its answer through the state machine."""
        ref = _checked_ref(kind, ref)
        item = self.store.get(kind, ref)
        if item is None:
            raise not_found(kind, ref)
        if is_terminal(item["status"]) or item["status"] == _SUBMITTING:
            return view(kind, item)
        try:
            obs = self._observe(kind, ref)
        except PlatformError as exc:
            raise platform_failure(exc) from exc
        return view(kind, self._apply_observation(obs, item) or item)

    def _observe(self, kind: Kind, ref: str) -> Observation | None:
        client = self._client()
        query = {
            Kind.ORDER: client.query_order,
            Kind.REFUND: client.query_refund,
            Kind.SETTLEMENT: client.query_settle,
        }[kind]
        return from_query(kind, ref, query(ref))

    def _apply_observation(
        self, obs: Observation | None, item: Mapping[str, Any], extra: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Apply a query result; returns the new item, or None if nothing changed."""
        now = self.now()
        if obs is None or (obs.status == item["status"] and not extra):
            return None
        if bad := mismatch(obs, item):
            self._flag(obs.kind, obs.ref, {"source": "query", "outcome": "mismatch", "fields": bad, "at": now})
            return None
        change = change_for(obs, now)
        if extra:
            change.set = {**change.set, **extra}
        key = object_key(obs.kind, obs.ref)
        try:
            if obs.kind is Kind.REFUND and obs.status == RefundStatus.FAILED:
                self.store.transact(
                    [self.store.update_action(key, change), self.store.update_action(*release_change(item))]
                )
                return self.store.get(obs.kind, obs.ref)
            return self.store.update(key, change)
        except (ConditionFailed, TransactionFailed):
            return None  # moved on meanwhile (a callback won the race); nothing to undo

    def _flag(self, kind: Kind, ref: str, anomaly: dict[str, Any]) -> None:
        change = Change(append={"anomalies": [anomaly]})
        change.where(change.expr.exists())
        with contextlib.suppress(ConditionFailed):
            self.store.update(object_key(kind, ref), change)

    # -- callbacks ------------------------------------------------------------------------------

    def apply_notice(self, notice: AnyNotice) -> NoticeResult:
        """Record a verified notice and move state forward, in one transaction on the normal path.

        A duplicate costs one failed transaction; a stale, mismatched or orphan notice is recorded
        (and surfaced on the object for a mismatch) but never applied as a success.
        """
        now = self.now()
        event = {"type": notice.type, "msg": notice.msg, "received_at": now, "expires_at": now + EVENT_TTL}
        if not isinstance(notice, (PaymentNotice, RefundNotice, SettleNotice)):
            return self._record(notice, event, "recorded", None, None)
        obs = from_notice(notice)
        kind, ref = _target_of(notice)
        if notice.app_id != self.settings.app_id:
            return self._record(notice, event, "mismatch", kind, ref, detail=["app_id"])
        if obs is None:
            return self._record(notice, event, "recorded", kind, ref)
        actions = [
            self.store.put_action(
                event_key(notice.dedupe_key),
                {**event, "kind": kind.value, "ref": ref, "outcome": "applied", "status": obs.status},
                *_absent(),
            ),
            self.store.update_action(object_key(kind, ref), change_for(obs, now)),
        ]
        if kind is Kind.REFUND and obs.status == RefundStatus.FAILED:
            refund = self.store.get(kind, ref)  # the order to release lives on the refund
            if refund is None:
                return self._record(notice, event, "unknown_object", kind, ref)
            actions.append(self.store.update_action(*release_change(refund)))
        try:
            self.store.transact(actions, conflict_retries=CONFLICT_RETRIES)
        except TransactionFailed as exc:
            if exc.condition_failed(0):
                return NoticeResult("duplicate", kind, ref)
            if exc.conflict:
                raise ApiError(
                    503, "store_busy", "concurrent updates; the platform will retry", retryable=True
                ) from exc
            return self._classify_and_record(notice, event, obs, exc.item(1))
        return NoticeResult("applied", kind, ref)

    def _classify_and_record(
        self, notice: AnyNotice, event: dict, obs: Observation, stored: Mapping[str, Any] | None
    ) -> NoticeResult:
        if stored is None:
            return self._record(notice, event, "unknown_object", obs.kind, obs.ref)
        if bad := mismatch(obs, stored):
            return self._record(notice, event, "mismatch", obs.kind, obs.ref, detail=bad)
        current = stored.get("status", "")
        if is_terminal(current) and is_terminal(obs.status) and current != obs.status:
            # e.g. paid after we recorded it as expired: money moved against our record — surface it.
            return self._record(notice, event, "conflict", obs.kind, obs.ref, detail=[f"{current}->{obs.status}"])
        return self._record(notice, event, "stale", obs.kind, obs.ref)

    def _record(
        self,
        notice: AnyNotice,
        event: dict,
        outcome: str,
        kind: Kind | None,
        ref: str | None,
        detail: list[str] | None = None,
    ) -> NoticeResult:
        """Record a notice that is not applied; an anomaly is also flagged on its object, atomically."""
        attrs = {**event, "outcome": outcome, "kind": kind.value if kind else None, "ref": ref, "detail": detail}
        key = event_key(notice.dedupe_key)
        result = NoticeResult(outcome, kind, ref)
        if result.anomaly and kind and ref:
            flag = Change(
                append={
                    "anomalies": [
                        {
                            "source": "callback",
                            "outcome": outcome,
                            "fields": detail,
                            "event": notice.dedupe_key,
                            "at": event["received_at"],
                        }
                    ]
                }
            )
            flag.where(flag.expr.exists())
            try:
                self.store.transact(
                    [
                        self.store.put_action(key, attrs, *_absent()),
                        self.store.update_action(object_key(kind, ref), flag),
                    ]
                )
                return result
            except TransactionFailed as exc:
                if exc.condition_failed(0):
                    return NoticeResult("duplicate", kind, ref)
                # no such object: record the event alone
        try:
            self.store.put(key, attrs, *_absent())
        except ConditionFailed:
            return NoticeResult("duplicate", kind, ref)
        return result

    # -- reconciliation -------------------------------------------------------------------------

    def reconcile(self, message: ReconcileMessage) -> str:
        """One reconcile step for one object. Returns what happened (for logs and metrics);
        raises only for trouble worth a redelivery (the store unavailable)."""
        kind, ref = message.kind, message.ref
        item = self.store.get(kind, ref)
        if item is None:
            return "missing"
        if is_terminal(item["status"]):
            return "terminal"
        now = self.now()
        attempts = int(item.get("reconcile_attempts", 0)) + 1
        rate_limited = False
        obs: Observation | None = None
        extra: dict[str, Any] = {}
        try:
            obs = self._observe(kind, ref)
        except PlatformError as exc:
            lease_over = int(item.get("lease_until", 0)) <= now
            if item["status"] == _SUBMITTING and lease_over and exc.err_no in NOT_FOUND[kind]:
                # The platform never saw the request: it failed before reaching it.
                obs = Observation(kind, ref, "FAILED")
                extra = {"error": {"err_no": exc.err_no, "err_tips": "never reached the platform"}}
            rate_limited = exc.err_no == 1001
        schedule = SCHEDULES[kind]
        if obs is not None and (bad := mismatch(obs, item)):
            # The platform disagrees with our record (amount): never apply it; a person must look.
            self._flag(kind, ref, {"source": "reconcile", "outcome": "mismatch", "fields": bad, "at": now})
            self._park(kind, ref, now, f"mismatch: {', '.join(bad)}")
            return "mismatch"
        if obs is not None and is_terminal(obs.status) and (obs.status != item["status"] or extra):
            updated = self._apply_observation(obs, item, extra)
            return f"moved:{obs.status}" if updated else "raced"
        if schedule.exhausted(item, attempts, now):
            self._park(kind, ref, now, "attempts exhausted")
            return "exhausted"
        delay = schedule.delay(attempts, rate_limited=rate_limited)
        bookkeeping = {"reconcile_attempts": attempts, "due_at": now + delay + SWEEP_SLACK, "updated_at": now}
        if obs is not None and obs.status != item["status"]:
            change = change_for(obs, now)  # e.g. SUBMITTING -> CREATED: forward, not final
            change.set = {**change.set, **bookkeeping}
        else:
            change = Change(set=bookkeeping)
            change.where(change.expr.status_in([item["status"]]))
        try:
            self.store.update(object_key(kind, ref), change)
        except ConditionFailed:
            return "raced"  # a callback moved it meanwhile; its own transition handled scheduling
        self._schedule(kind, ref, delay)
        return "rescheduled"

    def _park(self, kind: Kind, ref: str, now: int, reason: str) -> None:
        change = Change(set={"reconcile_state": "EXHAUSTED", "updated_at": now}, remove=DUE_INDEX_ATTRS)
        change.where(change.expr.exists())
        self.store.update(object_key(kind, ref), change)
        if self.queue is not None:
            self.queue.park(ReconcileMessage(kind, ref), reason)

    def sweep(self, *, limit_per_shard: int = 100) -> int:
        """Re-enqueue every object whose reconcile step is overdue (lost message, failed send,
        crash after the claim). Returns how many were enqueued."""
        now = self.now()
        found: list[ReconcileMessage] = []
        for shard in range(DUE_SHARDS):
            for kind, ref in self.store.due(str(shard), now, limit_per_shard):
                # Push due_at forward first so the next sweep does not send it again; the
                # reconcile step sets the real next time.
                touch = Change(set={"due_at": now + SWEEP_SLACK})
                e = touch.expr
                touch.where(e.exists(), f"{e.n('due_at')} <= {e.v(now)}")
                try:
                    self.store.update(object_key(kind, ref), touch)
                except ConditionFailed:
                    continue
                found.append(ReconcileMessage(kind, ref))
        if found and self.queue is not None:
            self.queue.schedule_now(found)
        return len(found)


class _Existing(Exception):
    def __init__(self, item: dict | None) -> None:
        super().__init__("exists")
        self.item = item


_REF_FIELD = {Kind.ORDER: "out_order_no", Kind.REFUND: "out_refund_no", Kind.SETTLEMENT: "out_settle_no"}


def _checked_ref(kind: Kind, ref: str) -> str:
    """A business number from a path: validated like the create routes validate it, so a key the
    table would refuse (DynamoDB keys are at most 2048 bytes) is a 400, never a 500."""
    from ..ecpay.validation import business_no

    return business_no(_REF_FIELD[kind], ref)


def _absent() -> tuple[str, Expr]:
    e = Expr()
    return e.absent(), e


def _target_of(notice: PaymentNotice | RefundNotice | SettleNotice) -> tuple[Kind, str]:
    if isinstance(notice, PaymentNotice):
        return Kind.ORDER, notice.out_order_no
    if isinstance(notice, RefundNotice):
        return Kind.REFUND, notice.out_refund_no
    return Kind.SETTLEMENT, notice.out_settle_no
