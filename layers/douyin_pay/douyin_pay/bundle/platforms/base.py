"""The platform port: everything the bundle needs from a payment protocol, in the bundle's words.

The bundle's use cases (submissions, queries, callbacks, reconciliation) never see a platform
field name, status word, error number or endpoint: an adapter (one per protocol, beside this
module) turns them into the types below and those of :mod:`.calls` (what the calls to the platform
return, which the callback path never loads). Adding a protocol is one more adapter, not edits
across the bundle.

What an adapter does, in the order a payment meets it:

* :meth:`Platform.prepare` — validate an API request body completely and return the exact fields
  it will send (bad input raises :class:`~douyin_pay.errors.ValidationError` and nothing is written);
* :meth:`Platform.submit` — send those fields (the same bytes on every retry) and return what the
  platform accepted (ids, and what the front end needs to pay);
* :meth:`Platform.observe` — ask the platform for an object's state, as an :class:`Observation`;
* :meth:`Platform.fault` — what a :class:`~douyin_pay.errors.PlatformError` means for the bundle;
* :meth:`Platform.read_notice` — verify a callback (headers + raw body), then build the notice,
  and :meth:`Platform.acknowledge` — the answer that stops the platform redelivering it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ...errors import PlatformError
from ..states import Kind
from .protocol import LEGACY_PROTOCOL as LEGACY_PROTOCOL  # re-exported: the port's names
from .protocol import PaymentProtocol as PaymentProtocol
from .protocol import protocol_of as protocol_of

if TYPE_CHECKING:  # the types of the calls to the platform (calls.py), which a callback never makes
    from .calls import Acceptance, Fault, Settleable, SettlementReport, Submission


@dataclass(frozen=True)
class Target:
    """One of our objects."""

    kind: Kind
    ref: str  # its business number (out_order_no / out_refund_no / out_settle_no)


@dataclass(frozen=True)
class Observation:
    """What the platform says of one of our objects, in our vocabulary."""

    kind: Kind
    ref: str
    status: str  # our status (states.py) that the platform reports
    facts: Mapping[str, Any] = field(default_factory=dict)  # platform ids, times, fees: stored once
    expect: Mapping[str, Any] = field(default_factory=dict)  # must equal what we stored, or it is a mismatch
    # Seconds after the payment at which the bundle must look at a PAID order again, though its
    # status is final (an ecpay order the platform will settle by itself: reconciler.py's watch).
    follow_up: int | None = None

    @property
    def target(self) -> Target:
        return Target(self.kind, self.ref)


@dataclass(frozen=True)
class AutoSettlement:
    """The platform settled an order by itself (150 days after payment, ecpay), in full to the seller."""

    out_order_no: str
    settle_no: str
    settled_at: int | None  # epoch seconds (None: the platform did not say)
    amount: int | None  # what the seller received, fen
    service_charge: int | None
    commission: int | None

    def record(self) -> dict[str, Any]:
        """How the order keeps it."""
        fields = {
            "settle_no": self.settle_no,
            "amount": self.amount,
            "service_charge": self.service_charge,
            "commission": self.commission,
        }
        return {k: v for k, v in fields.items() if v not in (None, "")}


@dataclass(frozen=True)
class RefundOpening:
    """A refund the platform opened (a user asked for it in Douyin): the bundle records it, reserves
    its amount on the order, and answers with its number."""

    protocol: PaymentProtocol  # the protocol that opened it (its order's)
    out_refund_no: str  # ours, the same for every redelivery
    out_order_no: str
    refund_amount: int
    reason: str
    needs_audit: bool  # the merchant must approve or deny it (else the platform decides at the deadline)
    audit_deadline: int | None  # epoch seconds
    facts: Mapping[str, Any] = field(default_factory=dict)  # platform ids, stored on the refund


@dataclass(frozen=True)
class VerifiedNotice:
    """A callback whose signature verified, as the bundle acts on it."""

    type: str  # the platform's name for the notice (logs)
    notice_id: str  # the same for every redelivery of one notice: over its signed content only
    message: str  # the signed text: the audit record (logged, never stored)
    app_id: str | None  # the app the notice is for (None: the notice names none)
    target: Target | None  # the object it is about (None: nothing of ours, e.g. a withdrawal)
    observation: Observation | None  # the state it reports (None: nothing to apply)
    opening: RefundOpening | None = None  # a refund to record before answering
    auto_settlement: AutoSettlement | None = None  # the platform settled the order by itself
    # False: a notice type the protocol does not document. Its type is not signed, so it is neither
    # written nor logged verbatim: counted and acknowledged (a replay under invented types costs nothing).
    modelled: bool = True


@dataclass(frozen=True)
class Reply:
    """The HTTP answer the platform expects to a callback."""

    status: int
    body: Mapping[str, Any]


def split_request(kept: tuple[str, ...], fields: Mapping[str, Any]) -> dict[str, Any]:
    """What of a request's ``fields`` a claim stores besides its record: all but the ``kept`` fields,
    which the stored object holds under the same name with the same value (one write unit)."""
    return {k: v for k, v in fields.items() if k not in kept and v is not None}


def joined_request(kept: tuple[str, ...], item: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a stored claim was made with: its ``kept`` attributes and its stored request. A
    claim written before only the rest was stored has every field in "request": the same."""
    return {**{k: item[k] for k in kept if k in item}, **json.loads(item.get("request") or "{}")}


class OrderPusher(Protocol):
    """A protocol's order sync: the platform's order center shown every change of an order."""

    required_fields: tuple[str, ...]  # what an order must carry to be synced

    def update_time(self, kind: Kind, change: str, changed_at: int) -> int:
        """The push time (ms) of a change at ``changed_at`` (s): later changes, later times."""
        ...

    def statuses(self, kind: Kind, change: str, order: Mapping[str, Any]) -> tuple[int, ...]:
        """The order-center statuses a change of the order (or of one of its refunds) means."""
        ...

    def status_text(self, status: int) -> str: ...

    def push(self, order: Mapping[str, Any], status: int, at: int) -> None:
        """Push one status; raises :class:`~douyin_pay.errors.PlatformError`."""
        ...

    def fault(self, error: PlatformError) -> Fault: ...


class Platform(Protocol):
    """One payment protocol, as the bundle uses it. Implementations: ``platforms/<protocol>.py``."""

    protocol: ClassVar[PaymentProtocol]
    # Kinds whose request needs the stored order (e.g. the platform's order id): read before prepare.
    needs_order: ClassVar[frozenset[Kind]]
    # Whether the bundle records a merchant's fulfilment (核销) of this protocol's orders.
    records_fulfilment: ClassVar[bool]
    # Seconds after payment at which the platform settles an unsettled order by itself (None: never).
    auto_settles_after: ClassVar[int | None]

    def prepare(
        self,
        kind: Kind,
        body: object,
        *,
        out_order_no: str | None,
        callback_url: str,
        order: Mapping[str, Any] | None = None,
    ) -> Submission:
        """Validate an API request body (``out_order_no`` from the path for a refund or settlement;
        ``order``: the stored order, for the kinds in :attr:`needs_order`)."""
        ...

    def stored_request(self, kind: Kind, fields: Mapping[str, Any]) -> dict[str, Any]:
        """What of ``fields`` the claim must keep besides its record, to resend them identically."""
        ...

    def request_of(self, kind: Kind, item: Mapping[str, Any]) -> dict[str, Any]:
        """The fields a stored claim was made with (its record + its stored request), to resend."""
        ...

    def submit(self, kind: Kind, fields: Mapping[str, Any]) -> Acceptance:
        """Send prepared fields; raises :class:`PlatformError`."""
        ...

    def observe(self, kind: Kind, ref: str) -> Observation | None:
        """The platform's view of one object (None: nothing we act on); raises :class:`PlatformError`."""
        ...

    def fault(self, kind: Kind, error: PlatformError) -> Fault: ...

    def settleable(self, out_order_no: str) -> Settleable:
        """Ask the platform what a settlement of the paid order may hand to payees (the influencer's
        commission comes off it and is known only some time after payment); raises
        :class:`PlatformError`."""
        ...

    def settlement_report(self, out_order_no: str) -> SettlementReport:
        """Ask the platform which settlements the order has had, its own automatic one included
        (only for protocols with :attr:`auto_settles_after`); raises :class:`PlatformError`."""
        ...

    def read_notice(self, headers: Mapping[str, str], body: bytes) -> VerifiedNotice:
        """Verify, then parse, a callback; raises :class:`~douyin_pay.errors.CallbackError`."""
        ...

    def acknowledge(self, notice: VerifiedNotice) -> Reply:
        """The answer that stops the platform redelivering ``notice``."""
        ...

    def pay_params(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        """What the mini-program front end needs to pay a stored order, for a create answer (None:
        not payable yet). May sign afresh (a trade order's signature ages)."""
        ...

    @staticmethod
    def stored_pay_params(item: Mapping[str, Any]) -> dict[str, Any] | None:
        """The pay parameters a read can show from the item alone, without a secret (None: none)."""
        ...

    @staticmethod
    def pay_window(valid_time: int) -> int:
        """Seconds an order created with ``valid_time`` stays payable, as the platform counts them."""
        ...

    def order_pusher(self) -> OrderPusher | None:
        """The protocol's order sync (None: the platform syncs its orders itself)."""
        ...

    def settleable_sync(self) -> frozenset[int] | None:
        """The order-sync statuses a settlement needs its order to have been pushed with (None: the
        protocol needs no order sync, or the stack does not sync)."""
        ...

    def audit_refund(self, item: Mapping[str, Any], *, approve: bool, deny_message: str | None) -> None:
        """Tell the platform the merchant's decision on a refund awaiting audit; raises
        :class:`PlatformError`, or :class:`~douyin_pay.errors.ValidationError` if the protocol has
        no audit."""
        ...

    @staticmethod
    def claims_callback(headers: Mapping[str, str]) -> bool:
        """Whether a callback request with these headers is this protocol's to verify."""
        ...

    def close(self) -> None:
        """Release connections (the environment is being reset)."""
        ...
