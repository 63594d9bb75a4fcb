"""The 通用交易系统 (trade_basic v1) adapter: every trade-system fact the bundle uses is here (or in
the SDK, :mod:`douyin_pay.trade`), and nowhere else in the bundle.

How it differs from ecpay, as the bundle sees it:

* an **order** is created by the mini-program (``tt.requestOrder``) from ``data`` the bundle signed,
  so creating one calls no platform API: the order is recorded as CREATED and the answer carries
  freshly signed ``pay_params`` (a repeated create signs again: the signature ages, trade-spec §3.3);
* a **refund** names the platform's ``order_id`` (trade-spec §4.5, pitfall 7), so it is prepared
  from the stored order;
* callbacks are signed in headers with the platform's RSA key, over the raw body (§5.2);
* a user can ask for a refund in Douyin: ``pre_create_refund`` (§5.5) opens it, and the merchant
  may have to audit it (§4.7).

Every platform call carries a client_token (§2.3), shared by the whole stack through the table
(:mod:`douyin_pay.bundle.client_token`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ...errors import ConfigurationError, PlatformError, SignatureError, ValidationError
from ..api import ApiError, checked_ref, request_fields
from ..settings import SANDBOX, Settings
from ..states import Kind, OrderStatus, RefundStatus, SettlementStatus
from . import trade_traits as traits
from .base import (
    Observation,
    PaymentProtocol,
    RefundOpening,
    Reply,
    Target,
    VerifiedNotice,
    joined_request,
    split_request,
)

if TYPE_CHECKING:
    from ...trade.client import TradeClient
    from ...trade.tokens import TokenSource
    from .calls import Acceptance, Fault, Settleable, SettlementReport, Submission

# -- the API's create requests, as the trade system takes them (trade-spec §3.2, §4.5, §4.8) ------

ORDER_FIELDS = {
    "out_order_no",
    "total_amount",
    "subject",  # the goods' title
    "body",  # kept on the order only: the trade system has no description field
    "valid_time",  # payExpireSeconds
    "cp_extra",  # kept on the order only
    "sku_id",
    "quantity",
    "image_url",
    "goods_type",
    "tag_group_id",
    "order_entry_path",
    "order_entry_params",
    "currency",
    "limit_pay_way",
    "merchant_uid",
    "sku_attr",
}
ORDER_REQUIRED = (
    "out_order_no",
    "total_amount",
    "subject",
    "image_url",
    "goods_type",
    "tag_group_id",
    "order_entry_path",
)
REFUND_FIELDS = {"out_refund_no", "refund_amount", "reason", "reason_code", "cp_extra"}
SETTLE_FIELDS = {"out_settle_no", "settle_desc", "settle_params", "cp_extra"}
DEFAULT_VALID_TIME = 1800  # the API's default for both protocols (the platform's own is 300 s)
REASON_OTHER = 999  # 其他 (trade-spec §4.5)
DIAMOND = "DIAMOND"

KEPT_FIELDS = {
    Kind.ORDER: ("out_order_no", "total_amount", "subject", "body", "valid_time", "cp_extra"),
    Kind.REFUND: ("out_order_no", "out_refund_no", "refund_amount", "reason"),
    Kind.SETTLEMENT: ("out_order_no", "out_settle_no", "settle_desc"),
}

# -- what its answers mean ----------------------------------------------------------------------

# order_query's answer for an order the platform does not have is undocumented (trade-spec §4.3,
# §10.7); 20000 is query_cps's "order not found" (§4.2) and what the local simulator answers. [?]
ORDER_NOT_FOUND = frozenset({20000})
NOT_A_CPS_ORDER = 20004  # query_cps (trade-spec §4.4 [S])
# 10020: the client_token endpoint's limit (§2.3). The trade APIs' own limit code is unpublished
# (§10.11); 28003018 is the open platform's "请求频率过高", what the local simulator answers. [?]
RATE_LIMITED = frozenset({10020, 28003018})
# 11001: access not authorised — the order is another app's, or the capability is not opened for
# this app (trade-spec §4.2 [S]): a refusal of this service, not of the request.
MISCONFIGURED = frozenset({11001})

_ORDER_STATUS = {
    "SUCCESS": OrderStatus.PAID,
    "TIMEOUT": OrderStatus.EXPIRED,
    "FAIL": OrderStatus.FAILED,
    "PROCESS": OrderStatus.CREATED,
    "INIT": OrderStatus.CREATED,
}
_REFUND_STATUS = {"SUCCESS": RefundStatus.SUCCEEDED, "FAIL": RefundStatus.FAILED, "PROCESSING": RefundStatus.PROCESSING}
_SETTLE_STATUS = {
    "SUCCESS": SettlementStatus.SUCCEEDED,
    "FAIL": SettlementStatus.FAILED,
    "PROCESSING": SettlementStatus.PROCESSING,
    "INIT": SettlementStatus.PROCESSING,
}

SUCCESS_REPLY = Reply(200, {"err_no": 0, "err_tips": "success"})  # trade-spec §5.3

# A refund the platform opened is numbered by us from the platform's refund id, so every
# redelivery of its pre_create_refund gets the same number without a lookup, and a refund callback
# that carries no out_refund_no (§5.5 "可能为空") still finds it.
USER_REFUND_PREFIX = "U"


def user_refund_no(refund_id: str) -> str:
    return checked_ref(Kind.REFUND, f"{USER_REFUND_PREFIX}{refund_id}"[:64])


@dataclass(frozen=True)
class TradeSecrets:
    """The trade system's keys, under ``trade`` in the stack's secret: the app secret (client_token),
    the app's RSA private key and its ``key_version`` (signing ``tt.requestOrder`` data), and the
    platform's public key(s) (verifying callbacks; several while one is being rotated)."""

    client_secret: str = field(repr=False)
    private_key: str = field(repr=False)
    key_version: str
    platform_public_keys: tuple[str, ...] = field(repr=False)

    @classmethod
    def from_mapping(cls, raw: object) -> TradeSecrets:
        # Messages name the shape that is wrong, never a value.
        trade = raw.get("trade") if isinstance(raw, Mapping) else None
        if not isinstance(trade, Mapping):
            raise ConfigurationError(
                'the payment secret has no "trade" object '
                '({"client_secret", "private_key", "key_version", "platform_public_keys"})'
            )
        keys = trade.get("platform_public_keys")
        if isinstance(keys, str):
            keys = [keys]
        for name in ("client_secret", "private_key"):
            if not isinstance(trade.get(name), str) or not trade[name]:
                raise ConfigurationError(f"the payment secret's trade object has no {name}")
        version = trade.get("key_version")
        if isinstance(version, int) and not isinstance(version, bool):
            version = str(version)
        if not isinstance(version, str) or not version:
            raise ConfigurationError("the payment secret's trade object has no key_version")
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) and k for k in keys):
            raise ConfigurationError("the payment secret's trade object has no platform_public_keys")
        return cls(trade["client_secret"], trade["private_key"], version, tuple(keys))


PLATFORM_READ_TIMEOUT = 8.0  # as ecpay's: one query retry stays inside a 20 s API function timeout

TokenSourceFactory = Callable[[Callable[[], Any]], "TokenSource"]


class TradePlatform:
    """The bundle's port, spoken in the trade system. ``tokens`` builds the stack's client_token
    source from a fetch function (the table-backed one in the Lambda runtime)."""

    protocol: ClassVar[PaymentProtocol] = PaymentProtocol.TRADE
    needs_order: ClassVar[frozenset[Kind]] = frozenset({Kind.REFUND})  # refund_create names order_id
    # The trade system learns of a fulfilment through its own push_delivery API, not built yet.
    records_fulfilment: ClassVar[bool] = False
    # Its settlement is by the app's configured cycle; no documented settle-by-itself deadline.
    auto_settles_after: ClassVar[int | None] = None

    def __init__(
        self,
        settings: Settings,
        *,
        secret: Callable[[], Mapping[str, Any]],
        query_attempts: int,
        tokens: TokenSourceFactory,
        clock: Callable[[], float],
    ) -> None:
        self._settings = settings
        self._secret = secret
        self._query_attempts = query_attempts
        self._token_factory = tokens
        self._clock = clock
        self._client: TradeClient | None = None
        self._secret_digest = ""

    def _secrets(self) -> TradeSecrets:
        return TradeSecrets.from_mapping(self._secret())

    def _production_only(self) -> None:
        """Refuse to sign or call anything from a sandbox stack: tt.requestOrder has no sandbox
        (trade-spec §2.2, pitfall 15), so a "sandbox" trade order would be a real one."""
        if self._settings.environment == SANDBOX:
            raise ConfigurationError(
                "the trade system has no sandbox; deploy trade stacks with PlatformEnvironment=production"
            )

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
        self._production_only()  # before anything is written
        if kind is Kind.ORDER:
            return self._prepare_order(body, callback_url)
        if kind is Kind.REFUND:
            return self._prepare_refund(body, out_order_no or "", callback_url, order)
        return self._prepare_settlement(body, out_order_no or "", callback_url)

    def _prepare_order(self, body: object, callback_url: str) -> Submission:
        from .calls import Acceptance, Submission

        raw = request_fields(body, ORDER_FIELDS, ORDER_REQUIRED)
        raw.setdefault("valid_time", DEFAULT_VALID_TIME)
        ref = checked_ref(Kind.ORDER, raw["out_order_no"])
        for name in ("body", "cp_extra"):
            if name in raw and (not isinstance(raw[name], str) or len(raw[name].encode("utf-8", "replace")) > 2048):
                raise ValidationError(name, "must be a string of at most 2048 bytes")
        for name, value in raw.items():
            _check_text(name, value)
        fields = {**raw, "notify_url": callback_url}
        self._secrets()  # the keys that sign the answer exist, before the order is written
        try:
            request_order_data(fields)  # every rule of tt.requestOrder's data, before anything is written
        except ValidationError as exc:
            raise _in_api_terms(exc) from exc
        record = {
            "total_amount": fields["total_amount"],
            "refundable_amount": fields["total_amount"],
            "subject": fields["subject"],
            "body": fields.get("body"),
            "valid_time": fields["valid_time"],
            "cp_extra": fields.get("cp_extra"),
            "currency": fields.get("currency"),
        }
        return Submission(Kind.ORDER, ref, fields, record, out_order_no=ref, accepted=Acceptance({}))

    def _prepare_refund(
        self, body: object, out_order_no: str, callback_url: str, order: Mapping[str, Any] | None
    ) -> Submission:
        from ...trade.request_fields import refund_fields
        from .calls import Submission

        raw = request_fields(body, REFUND_FIELDS, ("out_refund_no", "refund_amount", "reason"))
        ref = checked_ref(Kind.REFUND, raw["out_refund_no"])
        if order is None:
            raise ApiError(404, "order_not_found", f"no order {out_order_no!r}")
        if not order.get("order_id"):  # the platform's order id arrives with payment
            raise ApiError(
                409,
                "order_not_paid",
                f"order {out_order_no!r} is {order.get('status')}, not PAID",
                order_status=order.get("status"),
            )
        amount = raw["refund_amount"]
        whole = amount == order.get("total_amount")
        if order.get("currency") == DIAMOND and not whole:
            # A diamond order has one item of quantity 1: it cannot be refunded in part (§3.2).
            raise ValidationError("refund_amount", "a DIAMOND order can only be refunded whole", code="invalid_amount")
        fields = {
            "out_order_no": out_order_no,
            **raw,
            "order_id": order["order_id"],
            "order_entry_path": _order_request(order).get("order_entry_path"),
            "refund_all": whole or None,
            "currency": order.get("currency"),
            "notify_url": callback_url,
        }
        # The item order a part refund names is looked up when sending (submit): it is not part of
        # the request, so a retry of the same body is the same request whatever the order learnt.
        try:
            refund_fields(**_refund_arguments(fields, item_order_id="checked-when-sent"))
        except ValidationError as exc:
            raise _in_api_terms(exc) from exc
        # The platform's order id is kept on the refund: every notice and query about the refund must
        # name the same order, or it is a mismatch (never applied).
        record = {"refund_amount": amount, "reason": raw["reason"], "origin": "merchant", "order_id": order["order_id"]}
        return Submission(Kind.REFUND, ref, fields, record, out_order_no=out_order_no)

    def _prepare_settlement(self, body: object, out_order_no: str, callback_url: str) -> Submission:
        from ...trade.request_fields import settle_fields
        from .calls import Submission

        raw = request_fields(body, SETTLE_FIELDS, ("out_settle_no", "settle_desc"))
        if raw.get("settle_params") == []:
            # The API's contract for both protocols: an empty list names no payee, as leaving it out
            # does (the trade system's own field takes 1 to 5 entries when present).
            del raw["settle_params"]
        ref = checked_ref(Kind.SETTLEMENT, raw["out_settle_no"])
        fields = {"out_order_no": out_order_no, **raw, "notify_url": callback_url}
        try:
            sent = settle_fields(**_settle_arguments(fields))
        except ValidationError as exc:
            raise _in_api_terms(exc) from exc
        record = {"settle_desc": fields["settle_desc"], "settle_params": sent.get("settle_params")}
        listed = json.loads(sent["settle_params"]) if sent.get("settle_params") else []
        return Submission(
            Kind.SETTLEMENT,
            ref,
            fields,
            record,
            out_order_no=out_order_no,
            payees=tuple(str(p["merchant_uid"]) for p in listed),
            payee_amount=sum(int(p["amount"]) for p in listed),
        )

    @staticmethod
    def stored_request(kind: Kind, fields: Mapping[str, Any]) -> dict[str, Any]:
        return split_request(KEPT_FIELDS[kind], fields)

    @staticmethod
    def request_of(kind: Kind, item: Mapping[str, Any]) -> dict[str, Any]:
        return joined_request(KEPT_FIELDS[kind], item)

    def submit(self, kind: Kind, fields: Mapping[str, Any]) -> Acceptance:
        from ...trade.request_fields import refund_fields, settle_fields
        from .calls import Acceptance

        client = self.client()
        if kind is Kind.ORDER:  # created by tt.requestOrder: nothing to send
            return Acceptance({})
        if kind is Kind.REFUND:
            item_order_id = None
            if not fields.get("refund_all"):
                # A part refund names the item order (§4.5); the payment notice does not carry it,
                # the order query does — and it never changes, so a resend sends the same bytes.
                item_order_id = _first_item_order_id(client.order_query(order_id=fields["order_id"]))
            created = client.refund_create(refund_fields(**_refund_arguments(fields, item_order_id=item_order_id)))
            return Acceptance({"refund_no": created.refund_id})
        created = client.settle_create(settle_fields(**_settle_arguments(fields)))
        return Acceptance({"settle_no": created.settle_id})

    def pay_params(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        """``tt.requestOrder({data, byteAuthorization})``, signed now (the signature ages, §3.3)."""
        if item.get("status") != OrderStatus.CREATED:
            return None
        self._production_only()
        from ...trade.request_order import sign_request_order

        secrets = self._secrets()
        data = request_order_data(self.request_of(Kind.ORDER, item))
        # Timestamped by the bundle's clock, the one its callback checks read: the platform's time.
        signed = sign_request_order(
            self._settings.app_id, data, secrets.private_key, secrets.key_version, timestamp=int(self._clock())
        )
        return signed.as_tt_request_order()

    # The read side and the callback's routing are plain functions (trade_traits.py), which reads
    # use without loading this module.
    stored_pay_params = staticmethod(traits.stored_pay_params)
    pay_window = staticmethod(traits.pay_window)
    claims_callback = staticmethod(traits.claims_callback)

    @staticmethod
    def order_pusher() -> None:
        return None  # the platform syncs trade orders itself ("平台自动同步", trade-spec §1.3)

    @staticmethod
    def settleable_sync() -> frozenset[int] | None:
        return None  # the trade system syncs its orders itself ("平台自动同步", trade-spec §1.3)

    def audit_refund(self, item: Mapping[str, Any], *, approve: bool, deny_message: str | None) -> None:
        self.client().refund_audit_callback(refund_id=item["refund_no"], approve=approve, deny_message=deny_message)

    # -- ask ----------------------------------------------------------------------------------

    def observe(self, kind: Kind, ref: str) -> Observation | None:
        client = self.client()
        if kind is Kind.ORDER:
            order = client.order_query(out_order_no=ref)
            status = _ORDER_STATUS.get(order.pay_status.upper())
            if status is None:
                return None
            facts = {
                "order_id": order.order_id,
                "item_order_id": _first_item_order_id(order),
                "seller_uid": order.merchant_uid,
            }
            if status is OrderStatus.PAID:
                facts |= {
                    "paid_at": order.pay_time // 1000 if order.pay_time else None,
                    "way": str(order.pay_channel) if order.pay_channel is not None else None,
                    "channel_no": order.channel_pay_id,
                }
            return _observation(kind, ref, status, facts, {"total_amount": order.total_amount})
        if kind is Kind.REFUND:
            refunds = client.refund_query(out_refund_no=ref)
            if not refunds:
                raise _Unknown(f"no refund {ref!r} on the platform")
            refund = refunds[0]
            status = _REFUND_STATUS.get(refund.refund_status.upper())
            if status is None:
                return None
            facts = {
                "refund_no": refund.refund_id,
                "refunded_at": refund.refund_at // 1000 if refund.refund_at else None,
                "platform_message": refund.message,
            }
            expect = {"refund_amount": refund.refund_total_amount, "order_id": refund.order_id or None}
            return _observation(kind, ref, status, facts, {k: v for k, v in expect.items() if v is not None})
        settlements = client.settle_query(out_settle_no=ref)
        if not settlements:
            raise _Unknown(f"no settlement {ref!r} on the platform")
        settlement = settlements[0]
        status = _SETTLE_STATUS.get(settlement.settle_status.upper())
        if status is None:
            return None
        facts = {
            "settle_no": settlement.settle_id,
            "settle_amount": settlement.settle_amount,
            "rake": settlement.rake,
            "commission": settlement.commission,
            "settled_at": settlement.settle_at // 1000 if settlement.settle_at else None,
            "settle_detail": settlement.settle_detail,
        }
        return _observation(kind, ref, status, facts, {})

    def settleable(self, out_order_no: str) -> Settleable:
        # The fee rate depends on the app's industry (trade-spec §1.3): left to the platform, which
        # refuses a settlement the seller's share cannot cover (23112).
        from .calls import Settleable

        try:
            cps = self.client().query_cps(out_order_no=out_order_no)
        except PlatformError as exc:
            if exc.err_no == NOT_A_CPS_ORDER:
                return Settleable(0, 0)
            raise
        return Settleable(cps.total_commission_amount or 0, 0, {"commission": cps.total_commission_amount or 0})

    def settlement_report(self, out_order_no: str) -> SettlementReport:
        # Never asked: the trade system has no settle-by-itself deadline (auto_settles_after).
        from .calls import SettlementReport

        return SettlementReport(settled=False, automatic=None)

    def fault(self, kind: Kind, error: PlatformError) -> Fault:
        from .calls import Fault

        unknown = isinstance(error, _Unknown) or (kind is Kind.ORDER and error.err_no in ORDER_NOT_FOUND)
        return Fault(
            retryable=error.retryable,
            rate_limited=error.err_no in RATE_LIMITED,
            unknown_object=unknown,
            misconfigured=error.err_no in MISCONFIGURED,
        )

    # -- callbacks ----------------------------------------------------------------------------

    def read_notice(self, headers: Mapping[str, str], body: bytes) -> VerifiedNotice:
        from ...trade.notices import parse_callback

        raw = self._secret()
        if isinstance(raw, Mapping) and "trade" not in raw:
            # A stack without trade keys (ecpay only) can verify no trade notice: refused like a
            # bad signature, not answered as a misconfiguration.
            raise SignatureError("this stack has no trade-system platform key")
        keys = TradeSecrets.from_mapping(raw).platform_public_keys
        return self.construct(parse_callback(headers, body, keys, now=self._clock()))

    @staticmethod
    def construct(notice: Any) -> VerifiedNotice:
        """The bundle's view of a notice the SDK has verified."""
        from ...trade.notices import PaymentNotice, PreCreateRefundNotice, RefundNotice, SettleNotice

        # The whole body is signed here (type included), and a redelivery repeats it; the id is
        # over what identifies the notice, not over the per-delivery headers.
        notice_id = hashlib.sha256(f"{notice.type}\n{notice.msg}".encode()).hexdigest()[:32]
        common = {"type": notice.type, "notice_id": notice_id, "message": notice.msg, "app_id": notice.app_id}
        if isinstance(notice, PaymentNotice):
            return VerifiedNotice(
                **common, target=Target(Kind.ORDER, notice.out_order_no), observation=_payment_observation(notice)
            )
        if isinstance(notice, RefundNotice):
            ref = notice.out_refund_no or user_refund_no(notice.refund_id)
            status = _REFUND_STATUS.get(notice.status.upper())
            facts = {
                "refund_no": notice.refund_id,
                "refunded_at": notice.event_time // 1000 if status is RefundStatus.SUCCEEDED else None,
                "is_all_settled": notice.is_all_settled,
                "platform_message": notice.message,
            }
            expect = {"refund_amount": notice.refund_total_amount, "order_id": notice.order_id}
            obs = _observation(Kind.REFUND, ref, status, facts, expect) if status else None
            return VerifiedNotice(**common, target=Target(Kind.REFUND, ref), observation=obs)
        if isinstance(notice, SettleNotice):
            status = _SETTLE_STATUS.get(notice.status.upper())
            facts = {
                "settle_no": notice.settle_id,
                "settle_amount": notice.settle_amount,
                "rake": notice.rake,
                "commission": notice.commission,
                "settled_at": notice.event_time // 1000 if status is SettlementStatus.SUCCEEDED else None,
                "settle_detail": notice.settle_detail,
                "platform_message": notice.message,
            }
            obs = _observation(Kind.SETTLEMENT, notice.out_settle_no, status, facts, {}) if status else None
            return VerifiedNotice(**common, target=Target(Kind.SETTLEMENT, notice.out_settle_no), observation=obs)
        if isinstance(notice, PreCreateRefundNotice):
            ref = notice.out_refund_no or user_refund_no(notice.refund_id)
            reasons = "; ".join(r for r in notice.refund_reason if r) or notice.refund_description or "user request"
            opening = RefundOpening(
                protocol=PaymentProtocol.TRADE,
                out_refund_no=ref,
                out_order_no=notice.out_order_no,
                refund_amount=notice.refund_total_amount,
                reason=reasons[:256],
                needs_audit=notice.needs_audit,
                audit_deadline=notice.refund_audit_deadline // 1000 if notice.refund_audit_deadline else None,
                facts={"refund_no": notice.refund_id, "order_id": notice.order_id},
            )
            return VerifiedNotice(**common, target=Target(Kind.REFUND, ref), observation=None, opening=opening)
        # a verified type the SDK does not model: counted, nothing moves
        return VerifiedNotice(**{**common, "app_id": None}, target=None, observation=None, modelled=False)

    def acknowledge(self, notice: VerifiedNotice) -> Reply:
        if notice.opening is not None:
            # pre_create_refund must be answered with our refund number, or it is retried every
            # 10 minutes for 72 h (§5.3); the same number for every redelivery.
            return Reply(200, {**SUCCESS_REPLY.body, "data": {"out_refund_no": notice.opening.out_refund_no}})
        return SUCCESS_REPLY

    # -- the client ---------------------------------------------------------------------------

    def client(self) -> TradeClient:
        """The client for the current app secret: rebuilt when the secret rotates."""
        from ..._http import DEFAULT_TIMEOUT, RetryPolicy
        from ...trade.client import TradeClient
        from ...trade.endpoints import PRODUCTION_BASE_URL
        from ...trade.tokens import fetch_client_token

        self._production_only()
        secrets = self._secrets()
        digest = hashlib.sha256(secrets.client_secret.encode()).hexdigest()
        if self._client is None or digest != self._secret_digest:
            settings = self._settings
            base_url = settings.trade_base_url_override or PRODUCTION_BASE_URL
            client_secret = secrets.client_secret

            def fetch() -> Any:
                return fetch_client_token(settings.app_id, client_secret, base_url=base_url)

            self.close()
            self._client = TradeClient(
                settings.app_id,
                self._token_factory(fetch),
                base_url=base_url,
                timeout=(DEFAULT_TIMEOUT[0], PLATFORM_READ_TIMEOUT),
                retry=RetryPolicy(query_attempts=self._query_attempts, mutation_attempts=1),
            )
            self._secret_digest = digest
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


# The SDK names fields as the platform does; a 400 names the API's field instead.
API_FIELD_OF = {
    "title": "subject",
    "pay_expire_seconds": "valid_time",
    "price": "total_amount",
    "refund_total_amount": "refund_amount",
    "refund_reason": "reason",  # the API's one reason text is refund_reason[0].text
    "ext": "cp_extra",
}


def _in_api_terms(exc: ValidationError) -> ValidationError:
    """The same error, naming the API's field (``title`` → ``subject``, ``order_entry.path`` →
    ``order_entry_path``)."""
    field = exc.field
    if field.startswith("order_entry."):
        field = "order_entry_" + field.partition(".")[2]
    for sdk, api in API_FIELD_OF.items():
        if field == sdk or field.startswith((sdk + ".", sdk + "[")):
            field = api
            break
    return exc if field == exc.field else ValidationError(field, exc.detail, code=exc.code)


class _Unknown(PlatformError):
    """The platform's query found no such object (refund_query and settle_query answer an empty list)."""

    def __init__(self, message: str) -> None:
        super().__init__(None, message, retryable=False)


def _check_text(field: str, value: Any) -> None:
    """No control characters or lone surrogates in any text of a request, nested ones included:
    the platform takes UTF-8 JSON, and a lone surrogate has no UTF-8 form to sign."""
    if isinstance(value, str):
        if any(ord(c) < 0x20 or 0xD800 <= ord(c) <= 0xDFFF or ord(c) == 0x7F for c in value):
            raise ValidationError(field, "must not contain control characters or lone surrogates", code="invalid_text")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_text(field, key)
            _check_text(field, item)
    elif isinstance(value, list):
        for item in value:
            _check_text(field, item)


def _order_request(order: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(order.get("request") or "{}")


def request_order_data(fields: Mapping[str, Any]) -> str:
    """``tt.requestOrder``'s ``data`` for an order's fields: the same fields, the same string."""
    from ...trade.request_order import request_order_data as build

    ref = fields["out_order_no"]
    return build(
        out_order_no=ref,
        total_amount=fields["total_amount"],
        sku_id=fields.get("sku_id") or ref,
        title=fields["subject"],
        image_url=fields["image_url"],
        goods_type=fields["goods_type"],
        tag_group_id=fields["tag_group_id"],
        order_entry_path=fields["order_entry_path"],
        order_entry_params=fields.get("order_entry_params") or {"out_order_no": ref},
        quantity=fields.get("quantity", 1),
        currency=fields.get("currency"),
        pay_expire_seconds=fields["valid_time"],
        pay_notify_url=fields.get("notify_url"),
        merchant_uid=fields.get("merchant_uid"),
        limit_pay_way=fields.get("limit_pay_way"),
        sku_attr=fields.get("sku_attr"),
    )


def _refund_arguments(fields: Mapping[str, Any], *, item_order_id: str | None) -> dict[str, Any]:
    whole = bool(fields.get("refund_all"))
    return {
        "order_id": fields["order_id"],
        "out_refund_no": fields["out_refund_no"],
        "refund_total_amount": fields["refund_amount"],
        "refund_reason": [{"code": fields.get("reason_code", REASON_OTHER), "text": fields["reason"]}],
        "order_entry_path": fields.get("order_entry_path") or "pages/index/index",
        "order_entry_params": {"out_order_no": fields["out_order_no"], "out_refund_no": fields["out_refund_no"]},
        "cp_extra": fields.get("cp_extra"),
        "notify_url": fields.get("notify_url"),
        "refund_all": True if whole else None,
        "item_order_detail": None
        if whole
        else [{"item_order_id": item_order_id, "refund_amount": fields["refund_amount"]}],
        "currency": fields.get("currency"),
    }


def _settle_arguments(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "out_order_no": fields["out_order_no"],
        "out_settle_no": fields["out_settle_no"],
        "settle_desc": fields["settle_desc"],
        "settle_params": fields.get("settle_params"),
        "ext": fields.get("cp_extra"),
        "notify_url": fields.get("notify_url"),
    }


def _first_item_order_id(order: Any) -> str | None:
    items = getattr(order, "item_order_list", ()) or ()
    return items[0].item_order_id if items else None


def _payment_observation(notice: Any) -> Observation | None:
    ref = notice.out_order_no
    if notice.status.upper() == "SUCCESS":
        facts = {
            "order_id": notice.order_id,
            "paid_at": notice.event_time // 1000,
            "way": str(notice.pay_channel) if notice.pay_channel is not None else None,
            "channel_no": notice.channel_pay_id,
            "payment_order_no": notice.user_bill_pay_id,
            "seller_uid": notice.merchant_uid,
        }
        return _observation(Kind.ORDER, ref, OrderStatus.PAID, facts, {"total_amount": notice.total_amount})
    if notice.status.upper() == "CANCEL" and notice.message == "TIME_OUT":
        facts = {"order_id": notice.order_id, "platform_message": notice.message}
        return _observation(Kind.ORDER, ref, OrderStatus.EXPIRED, facts, {})
    # CANCEL + USER_CANCEL: the user closed the cashier, but may still pay before the order expires
    # (trade-spec §6.2, §10.4 [?]): not final, nothing to move.
    return None


def _observation(kind: Kind, ref: str, status: Any, facts: Mapping[str, Any], expect: Mapping[str, Any]) -> Observation:
    kept = {k: v for k, v in facts.items() if v not in (None, "")}
    return Observation(kind, ref, status.value, kept, dict(expect))
