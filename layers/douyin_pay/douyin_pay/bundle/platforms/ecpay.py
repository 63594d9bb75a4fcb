"""The 担保支付 (ecpay v1) adapter: every ecpay fact the bundle uses is here (or in the SDK,
:mod:`douyin_pay.ecpay`), and nowhere else in the bundle.

The SDK does the protocol (signing, the client, typed notices and results); this module says what
those mean for the bundle: which request fields the API takes, which endpoint creates what, which
error numbers mean "no such object" or "rate limited", and how ecpay's status words map onto our
state machines.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, ClassVar

from ...ecpay.signing import wire_value
from ...errors import ConfigurationError, PlatformError, SignatureError, ValidationError
from ..api import request_fields
from ..settings import SANDBOX, Settings
from ..states import Kind, OrderStatus, RefundStatus, SettlementStatus
from . import ecpay_traits as traits
from .base import (
    AutoSettlement,
    Observation,
    PaymentProtocol,
    Reply,
    Target,
    VerifiedNotice,
    joined_request,
    split_request,
)

if TYPE_CHECKING:
    from ...ecpay.client import EcpayClient
    from ...ecpay.cps import CpsInfo
    from ...ecpay.notices import AnyNotice, SettleFinishNotice, SettleNotice
    from ...ecpay.settlements import PlatformSettlement
    from .calls import Acceptance, Fault, Settleable, SettlementReport, Submission
    from .ecpay_sync import EcpayOrderSync

# -- the API's create requests, as ecpay takes them (ecpay-spec §3.1, §3.3, §3.5) ----------------

ORDER_FIELDS = {
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
# Order sync (订单同步, ecpay_sync.py): what an order needs to be synced; kept on the order, never
# sent to create_order.
SYNC_FIELDS = ("open_id", "image_url", "order_entry_path")
ORDER_FIELDS |= set(SYNC_FIELDS)
REFUND_FIELDS = {"out_refund_no", "refund_amount", "reason", "cp_extra", "disable_msg", "msg_page", "all_settle"}
SETTLE_FIELDS = {"out_settle_no", "settle_desc", "settle_params", "cp_extra"}
DEFAULT_VALID_TIME = 1800

ENDPOINTS = {Kind.ORDER: "create_order", Kind.REFUND: "create_refund", Kind.SETTLEMENT: "settle"}

# Request fields the stored object keeps under the same name with the same value: a claim stores
# the rest only, so an order stays well under 1 KB (one write unit) with 42-character Chinese texts.
KEPT_FIELDS = {
    Kind.ORDER: ("out_order_no", "total_amount", "subject", "body", "valid_time", "cp_extra"),
    Kind.REFUND: ("out_order_no", "out_refund_no", "refund_amount", "reason"),
    Kind.SETTLEMENT: ("out_order_no", "out_settle_no", "settle_desc"),
}

# -- what its answers mean ----------------------------------------------------------------------

NOT_FOUND = {Kind.ORDER: {2000}, Kind.REFUND: {3101}, Kind.SETTLEMENT: {2000}}  # ecpay-spec §3.2, §3.4; [I] settle
RATE_LIMITED = 1001  # ecpay-spec §4
# Signature, app id, provider id, provider not authorised (ecpay-spec §4): refusals of this service.
MISCONFIGURED = frozenset({2008, 2020, 2042, 2047, 2048})

_ORDER_STATUS = {
    "SUCCESS": OrderStatus.PAID,
    "TIMEOUT": OrderStatus.EXPIRED,
    "FAIL": OrderStatus.FAILED,
    "PROCESSING": OrderStatus.CREATED,
}
_REFUND_STATUS = {"SUCCESS": RefundStatus.SUCCEEDED, "FAIL": RefundStatus.FAILED, "PROCESSING": RefundStatus.PROCESSING}
_SETTLE_STATUS = {
    "SUCCESS": SettlementStatus.SUCCEEDED,
    "FAIL": SettlementStatus.FAILED,
    "PROCESSING": SettlementStatus.PROCESSING,
}
_STATUS = {Kind.ORDER: _ORDER_STATUS, Kind.REFUND: _REFUND_STATUS, Kind.SETTLEMENT: _SETTLE_STATUS}

# The platform facts an observation stores, by the name notices and query results share.
_FACTS = {
    Kind.ORDER: ("order_id", "paid_at", "pay_time", "way", "channel_no", "payment_order_no", "seller_uid", "item_id"),
    Kind.REFUND: ("refund_no", "refunded_at", "is_all_settled"),
    Kind.SETTLEMENT: ("settle_no", "settle_amount", "rake", "commission", "settled_at", "settle_detail"),
}

SUCCESS_REPLY = Reply(200, {"err_no": 0, "err_tips": "success"})  # ecpay-spec §6.3

DAY = 86_400
# An order not settled within 150 days of its payment is settled by the platform, in full to the
# seller, and announced once (ecpay-spec §3.5, §6.4 settle_finish).
AUTO_SETTLE_AFTER = 150 * DAY
SETTLE_FEE_BASIS_POINTS = 60  # 0.6 % of the settled amount (ecpay-spec §3.5)


@dataclass(frozen=True)
class EcpaySecrets:
    """SALT signs requests; tokens verify callbacks (several while one is being rotated)."""

    salt: str = field(repr=False)
    tokens: tuple[str, ...] = field(repr=False)

    @classmethod
    def from_mapping(cls, raw: object) -> EcpaySecrets:
        # Messages name the shape that is wrong, never a value.
        if not isinstance(raw, Mapping):
            raise ConfigurationError('the payment secret must be JSON {"salt": "...", "tokens": ["..."]}')
        salt = raw.get("salt")
        tokens = raw.get("tokens")
        if not isinstance(salt, str) or not salt.strip():
            raise ConfigurationError("the payment secret has no salt")
        if isinstance(tokens, str):
            # One documented shape, so that a rotation is "add the new token to the list".
            raise ConfigurationError('the payment secret\'s "tokens" must be a JSON list of strings, e.g. ["..."]')
        if not isinstance(tokens, list) or not tokens or not all(isinstance(t, str) and t.strip() for t in tokens):
            raise ConfigurationError("the payment secret has no callback token")
        if salt != salt.strip() or any(t != t.strip() for t in tokens):
            # Pasted with a line break: every signature would fail, and every notice look forged.
            raise ConfigurationError("a value in the payment secret has white space around it")
        return cls(salt=salt, tokens=tuple(tokens))


# Read timeout of platform calls: with one query retry it stays inside a 20 s API function timeout.
PLATFORM_READ_TIMEOUT = 8.0


class EcpayPlatform:
    """The bundle's port, spoken in ecpay. ``query_attempts``: 2 on the API (a query is retried
    once inside the request), 1 in reconciliation (the queue is the retry). Mutations are never
    retried inside a request: the caller retries on a 503 with the identical body."""

    protocol: ClassVar[PaymentProtocol] = PaymentProtocol.ECPAY
    needs_order: ClassVar[frozenset[Kind]] = frozenset()  # every request names the order by our number
    records_fulfilment: ClassVar[bool] = True  # pushed to the order center (订单同步) as 已核销
    auto_settles_after: ClassVar[int | None] = AUTO_SETTLE_AFTER

    def __init__(
        self,
        settings: Settings,
        *,
        secret: Callable[[], Mapping[str, Any]],
        query_attempts: int,
        tokens: Callable[[Callable[[], Any]], Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._clock = clock  # the callback's timestamp window is around the bundle's time
        self._secret = secret  # read on every use: Powertools caches it, and a rotation is picked up
        self._query_attempts = query_attempts
        self._tokens = tokens  # the stack's shared access_token source, around a fetch (order sync)
        self._client: EcpayClient | None = None
        self._pusher: EcpayOrderSync | None = None
        self._salt_digest = ""

    # -- create -------------------------------------------------------------------------------

    def prepare(
        self,
        kind: Kind,
        body: object,
        *,
        out_order_no: str | None,
        callback_url: str,
        order: Mapping[str, Any] | None = None,
    ) -> Submission:
        # The calls' types are imported by the methods that return them: the callback path builds
        # this adapter to read notices, and never creates them (calls.py).
        from ...ecpay.request_fields import order_fields, refund_fields, settle_fields
        from .calls import Submission

        if kind is Kind.ORDER:
            from .ecpay_sync import display_fields, missing

            raw = request_fields(body, ORDER_FIELDS, ("out_order_no", "total_amount", "subject", "body"))
            raw.setdefault("valid_time", DEFAULT_VALID_TIME)
            sync = {name: raw.pop(name) for name in SYNC_FIELDS if name in raw}
            fields = order_fields(**raw, notify_url=callback_url)
            ref = fields["out_order_no"]
            display = display_fields(
                sync, subject=fields["subject"], body=fields["body"], total_amount=fields["total_amount"]
            )
            record = {
                "total_amount": fields["total_amount"],
                "refundable_amount": fields["total_amount"],
                "subject": fields["subject"],
                "body": fields["body"],
                "valid_time": fields["valid_time"],
                "cp_extra": fields.get("cp_extra"),
                **display,
                # Named at once (empty: syncable), so a read and the 409 of an early settlement say
                # what is missing; an order from before order sync has no such attribute.
                "sync_missing": missing(display),
            }
            for key, value in fields.items():  # everything must sign before anything is written
                if value is not None:
                    wire_value(key, value)
            return Submission(kind, ref, fields, record, out_order_no=ref, unsent=display)
        elif kind is Kind.REFUND:
            raw = request_fields(body, REFUND_FIELDS, ("out_refund_no", "refund_amount", "reason"))
            derived = _all_settle(raw, order)
            fields = refund_fields(out_order_no, **raw, notify_url=callback_url)
            ref = fields["out_refund_no"]
            record = {"refund_amount": fields["refund_amount"], "reason": fields["reason"]}
            for key, value in fields.items():
                if value is not None:
                    wire_value(key, value)
            return Submission(kind, ref, fields, record, out_order_no=fields["out_order_no"], derived=derived)
        else:
            raw = request_fields(body, SETTLE_FIELDS, ("out_settle_no", "settle_desc"))
            fields = settle_fields(out_order_no=out_order_no, **raw, notify_url=callback_url)
            ref = fields["out_settle_no"]
            payees = fields.get("settle_params")
            record = {
                "settle_desc": fields["settle_desc"],
                "settle_params": wire_value("settle_params", payees) if payees else None,
            }
        for key, value in fields.items():  # everything must sign before anything is written
            if value is not None:
                wire_value(key, value)
        listed = fields.get("settle_params") or ()
        return Submission(
            kind,
            ref,
            fields,
            record,
            out_order_no=fields["out_order_no"],
            payees=tuple(p["merchant_uid"] for p in listed),
            payee_amount=sum(int(p["amount"]) for p in listed),
        )

    @staticmethod
    def stored_request(kind: Kind, fields: Mapping[str, Any]) -> dict[str, Any]:
        return split_request(KEPT_FIELDS[kind], fields)

    @staticmethod
    def request_of(kind: Kind, item: Mapping[str, Any]) -> dict[str, Any]:
        return joined_request(KEPT_FIELDS[kind], item)

    def submit(self, kind: Kind, fields: Mapping[str, Any]) -> Acceptance:
        from .calls import Acceptance

        result = self.client().submit(ENDPOINTS[kind], fields)
        if kind is Kind.ORDER:
            facts = {"order_id": result.order_id, "order_token": result.order_token}
        elif kind is Kind.REFUND:
            facts = {"refund_no": result.refund_no}
        else:
            facts = {"settle_no": result.settle_no}
        return Acceptance({k: v for k, v in facts.items() if v})

    def pay_params(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        return self.stored_pay_params(item)

    # The read side and the callback's routing are plain functions (ecpay_traits.py), which reads
    # use without loading this module.
    stored_pay_params = staticmethod(traits.stored_pay_params)
    pay_window = staticmethod(traits.pay_window)
    claims_callback = staticmethod(traits.claims_callback)

    def order_pusher(self) -> EcpayOrderSync | None:
        from .ecpay_sync import EcpayOrderSync

        if self._tokens is None:
            return None  # built without a token source: this environment does not sync
        if self._pusher is None:
            self._pusher = EcpayOrderSync(self._settings, secret=self._secret, tokens=self._tokens)
        return self._pusher

    def settleable_sync(self) -> frozenset[int] | None:
        from .ecpay_sync import SETTLEABLE

        return SETTLEABLE if self._settings.order_sync else None

    def audit_refund(self, item: Mapping[str, Any], *, approve: bool, deny_message: str | None) -> None:
        # Every ecpay refund is the merchant's own request: there is nothing to approve.
        raise ValidationError("out_refund_no", "ecpay refunds have no merchant audit", code="audit_not_applicable")

    # -- ask ----------------------------------------------------------------------------------

    def observe(self, kind: Kind, ref: str) -> Observation | None:
        client = self.client()
        if kind is Kind.ORDER:
            order = client.query_order(ref)
            payment = order.payment
            expect = {"total_amount": payment.total_fee}
            obs = _observation(kind, ref, payment.order_status, (order, payment), expect, cps=order.cps_info)
            return self._followed(obs)
        if kind is Kind.REFUND:
            refund = client.query_refund(ref)
            return _observation(
                kind, ref, refund.refund_status, (refund,), {"refund_amount": refund.refund_amount}, refund.msg
            )
        settlement = client.query_settle(ref)
        return _observation(kind, ref, settlement.settle_status, (settlement,), {}, settlement.msg)

    def settleable(self, out_order_no: str) -> Settleable:
        # query_order, not unsettle_amount: the latter is documented in one source only (ecpay-spec
        # §3.7 [S]); the commission comes with the order, which the platform says to ask again.
        from .calls import Settleable

        order = self.client().query_order(out_order_no)
        commission = order.cps_info.share_amount if order.cps_info else None
        facts = _cps_facts(order.cps_info)
        if order.payment.item_id:
            facts["item_id"] = order.payment.item_id
        return Settleable(commission or 0, SETTLE_FEE_BASIS_POINTS, facts)

    def settlement_report(self, out_order_no: str) -> SettlementReport:
        from .calls import SettlementReport

        found = self.client().query_platform_order(out_order_no).settlements
        done = [s for s in found if s.settle_status.upper() == "SUCCESS"]
        automatic = next((s for s in done if not s.out_settle_no), None)
        return SettlementReport(
            settled=any(s.out_settle_no for s in done),
            automatic=_auto_settlement(out_order_no, automatic) if automatic else None,
        )

    def _followed(self, obs: Observation | None) -> Observation | None:
        """A PAID order is looked at again before the platform settles it by itself."""
        if obs is None or obs.status != OrderStatus.PAID:
            return obs
        follow_up = AUTO_SETTLE_AFTER - self._settings.auto_settle_warn_days * DAY
        return Observation(obs.kind, obs.ref, obs.status, obs.facts, obs.expect, follow_up=follow_up)

    def fault(self, kind: Kind, error: PlatformError) -> Fault:
        from .calls import Fault

        return Fault(
            retryable=error.retryable,
            rate_limited=error.err_no == RATE_LIMITED,
            unknown_object=error.err_no in NOT_FOUND[kind],
            misconfigured=error.err_no in MISCONFIGURED,
        )

    # -- callbacks ----------------------------------------------------------------------------

    def read_notice(self, headers: Mapping[str, str], body: bytes) -> VerifiedNotice:
        # ecpay signs inside the body; the headers carry nothing of the protocol's.
        raw = self._secret()
        if isinstance(raw, Mapping) and "salt" not in raw and "tokens" not in raw:
            # A stack without ecpay keys (trade only) can verify no ecpay notice: whatever arrives
            # unsigned by the trade system is refused like a bad signature, not a misconfiguration.
            raise SignatureError("this stack has no ecpay callback token")
        from ...ecpay.notices import parse_callback  # the notice types load on the callback path only

        return self.construct(parse_callback(body, EcpaySecrets.from_mapping(raw).tokens, now=self._clock()))

    def construct(self, notice: AnyNotice) -> VerifiedNotice:
        """The bundle's view of a notice the SDK has verified."""
        from ...ecpay.notices import GenericNotice, PaymentNotice, RefundNotice, SettleFinishNotice, SettleNotice

        # The id is over msg alone: type is not signed (ecpay-spec §6.2), so a replay with another
        # type must not count as another notice. 128 bits keep the object's set of ids small.
        notice_id = hashlib.sha256(notice.msg.encode("utf-8")).hexdigest()[:32]
        common = {"type": notice.type, "notice_id": notice_id, "message": notice.msg}
        if isinstance(notice, SettleFinishNotice) or (isinstance(notice, SettleNotice) and notice.automatic):
            auto = _announced_auto_settlement(notice)
            if auto is None:  # nothing settled (a failure, or an empty list): verified and logged
                return VerifiedNotice(**common, app_id=notice.app_id, target=None, observation=None)
            target = Target(Kind.ORDER, auto.out_order_no)
            return VerifiedNotice(**common, app_id=notice.app_id, target=target, observation=None, auto_settlement=auto)
        if isinstance(notice, PaymentNotice):
            target = Target(Kind.ORDER, notice.out_order_no)
            expect = {"total_amount": notice.total_amount}
            obs = self._followed(
                _observation(Kind.ORDER, notice.out_order_no, notice.status, (notice,), expect, cps=notice.cps)
            )
        elif isinstance(notice, RefundNotice):
            target = Target(Kind.REFUND, notice.out_refund_no)
            expect = {"refund_amount": notice.refund_amount}
            obs = _observation(Kind.REFUND, notice.out_refund_no, notice.status, (notice,), expect, notice.message)
        elif isinstance(notice, SettleNotice):
            target = Target(Kind.SETTLEMENT, notice.out_settle_no)
            expect = {"out_order_no": notice.out_order_no} if notice.out_order_no else {}
            obs = _observation(Kind.SETTLEMENT, notice.out_settle_no, notice.status, (notice,), expect, notice.message)
        elif isinstance(notice, GenericNotice):  # a type the platform does not document: counted only
            return VerifiedNotice(**common, app_id=None, target=None, observation=None, modelled=False)
        else:  # withdraw, ...: verified and logged, nothing of ours to move
            return VerifiedNotice(**common, app_id=None, target=None, observation=None)
        return VerifiedNotice(**common, app_id=notice.app_id, target=target, observation=obs)

    def acknowledge(self, notice: VerifiedNotice) -> Reply:
        return SUCCESS_REPLY

    # -- the client ---------------------------------------------------------------------------

    def client(self) -> EcpayClient:
        """The client for the current SALT: rebuilt when the secret rotates, the old one closed."""
        from ...ecpay.client import DEFAULT_TIMEOUT, PRODUCTION_BASE_URL, SANDBOX_BASE_URL, EcpayClient, RetryPolicy

        salt = EcpaySecrets.from_mapping(self._secret()).salt
        digest = hashlib.sha256(salt.encode()).hexdigest()
        if self._client is None or digest != self._salt_digest:
            settings = self._settings
            base_url = settings.base_url_override or (
                SANDBOX_BASE_URL if settings.environment == SANDBOX else PRODUCTION_BASE_URL
            )
            self.close()
            self._client = EcpayClient(
                settings.app_id,
                salt,
                thirdparty_id=settings.thirdparty_id,
                base_url=base_url,
                timeout=(DEFAULT_TIMEOUT[0], PLATFORM_READ_TIMEOUT),
                retry=RetryPolicy(query_attempts=self._query_attempts, mutation_attempts=1),
            )
            self._salt_digest = digest
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._pusher is not None:
            self._pusher.close()
            self._pusher = None


def _observation(
    kind: Kind,
    ref: str,
    word: str,
    sources: tuple[object, ...],
    expect: Mapping[str, Any],
    message: str = "",
    *,
    cps: CpsInfo | None = None,
) -> Observation | None:
    """One reader for notices and query results alike: ``sources`` are the SDK objects carrying
    the facts (a query's order and its payment info), read by the names they share."""
    status = _STATUS[kind].get(word.upper())
    if status is None:  # a state we do not act on
        return None
    facts = {name: getattr(src, name) for src in sources for name in _FACTS[kind] if hasattr(src, name)}
    if kind is Kind.ORDER and not facts.get("paid_at") and facts.get("pay_time"):
        facts["paid_at"] = _beijing_time(facts["pay_time"])  # a query says when only as text
    facts.update(_cps_facts(cps))
    facts["platform_message"] = message
    return Observation(kind, ref, status.value, {k: v for k, v in facts.items() if v not in (None, "")}, dict(expect))


def _cps_facts(cps: CpsInfo | None) -> dict[str, Any]:
    """An influencer order's commission (fen) and who earns it, as the order keeps them."""
    if cps is None or cps.share_amount is None:
        return {}
    who = {k: v for k, v in (("douyin_id", cps.douyin_id), ("nickname", cps.nickname)) if v}
    return {"commission": cps.share_amount, **({"cps_info": who} if who else {})}


def _all_settle(raw: dict[str, Any], order: Mapping[str, Any] | None) -> frozenset[str]:
    """A refund after the order was settled must say so (all_settle = 1: taken from the withdrawable
    balance, ecpay-spec §3.3); the bundle knows when it was, so it sets the flag itself. Returns the
    names it set (none when the caller's value stands)."""
    settled = order is not None and bool(order.get("settled_at") or order.get("auto_settled_at"))
    given = raw.get("all_settle")
    if not settled:
        return frozenset()
    if given is not None and given != 1:
        raise ValidationError(
            "all_settle",
            "the order has been settled: a refund now comes from the withdrawable balance (all_settle = 1)",
            code="all_settle_conflict",
        )
    raw["all_settle"] = 1
    return frozenset() if given is not None else frozenset({"all_settle"})


def _announced_auto_settlement(notice: SettleFinishNotice | SettleNotice) -> AutoSettlement | None:
    from ...ecpay.notices import SettleNotice

    if isinstance(notice, SettleNotice):
        if notice.status.upper() != "SUCCESS":
            return None
        taken = (notice.rake or 0) + (notice.commission or 0)
        paid_out = None if notice.settle_amount is None else notice.settle_amount - taken
        return AutoSettlement(
            notice.out_order_no,
            notice.settle_no,
            notice.settled_at,
            paid_out,
            notice.rake,
            notice.commission,
        )
    done = [s for s in notice.auto_settle_list if s.settle_status.upper() == "SUCCESS"]
    return _auto_settlement(notice.out_order_no, done[0]) if done else None


def _auto_settlement(out_order_no: str, s: PlatformSettlement) -> AutoSettlement:
    return AutoSettlement(
        out_order_no,
        s.settle_no,
        _epoch(s.settled_at),
        sum(p.amount for p in s.payees) if s.payees else None,
        s.service_charge,
        s.cps,
    )


def _epoch(text: str) -> int | None:
    """A settlement time as unix seconds: sent as digits, or as Beijing-time text."""
    return int(text) if text.isdigit() else _beijing_time(text) if text else None


_BEIJING = timezone(timedelta(hours=8))  # the platform's times are China Standard Time (no DST)


def _beijing_time(text: object) -> int | None:
    """Unix seconds of a query's ``pay_time`` ("2021-07-01 01:43:15", Beijing time); None if unreadable."""
    try:
        return int(datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S").replace(tzinfo=_BEIJING).timestamp())
    except ValueError:
        return None
