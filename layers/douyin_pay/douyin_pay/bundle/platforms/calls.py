"""The port's types for the bundle's calls to the platform: a create request prepared and accepted,
what a settlement may hand to payees, an order's settlement report, and what a failed call means.

Apart from :mod:`.base` because the callback path makes no call: it never creates these classes
(a frozen dataclass costs about a millisecond to create, its methods are compiled then), and the
adapters import them inside the methods that return them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..states import Kind
from .base import AutoSettlement


@dataclass(frozen=True)
class Settleable:
    """What the platform will let a settlement of one order hand to third parties."""

    commission: int  # the influencer's (CPS) commission, fen: it comes off the settleable amount
    fee_basis_points: int  # the platform's settlement fee per 10,000 (0: unknown, left to the platform)
    facts: Mapping[str, Any] = field(default_factory=dict)  # order facts learnt on the way, stored once

    def fee(self, unsettled: int) -> int:
        """The fee on ``unsettled`` fen, rounded half up (ecpay-spec §3.5: "四舍五入")."""
        return (unsettled * self.fee_basis_points + 5000) // 10_000

    def for_payees(self, unsettled: int) -> int:
        """What payees may get of ``unsettled`` fen: the seller's share must cover fee and commission."""
        return max(unsettled - self.fee(unsettled) - self.commission, 0)

    def unsettled_needed(self, to_payees: int) -> int:
        """The least unsettled amount from which ``to_payees`` fen can go to payees."""
        need = to_payees + self.commission
        low = need + self.fee(need)  # at least; the fee of a larger amount may be a fen more
        while self.for_payees(low) < to_payees:
            low += 1
        while low > need and self.for_payees(low - 1) >= to_payees:
            low -= 1
        return low


@dataclass(frozen=True)
class SettlementReport:
    """The platform's list of an order's settlements, as the auto-settlement watch reads it."""

    settled: bool  # one of ours succeeded
    automatic: AutoSettlement | None  # the platform's own, if it made one


@dataclass(frozen=True)
class Acceptance:
    """The platform took a request: the ids it gave, stored on the object."""

    facts: Mapping[str, Any]


@dataclass(frozen=True)
class Submission:
    """A validated create request: what is recorded before the platform is called, and what is sent."""

    kind: Kind
    ref: str
    fields: Mapping[str, Any]  # exactly what is sent, on the first attempt and on every retry
    record: Mapping[str, Any]  # the stored object's attributes, in the bundle's names
    out_order_no: str  # the order it belongs to (its own number, for an order)
    # Set when the object exists once it is recorded, with no platform call: a trade order is
    # created by the mini-program's tt.requestOrder, so the bundle only signs what it sends.
    accepted: Acceptance | None = None
    # Request fields the bundle keeps but does not send (an ecpay order's sync fields, stored in
    # ``record``): part of the request's identity, so a retry with other values is a conflict.
    unsent: Mapping[str, Any] = field(default_factory=dict)
    # A settlement's third-party payees (their merchant uids): never the order's seller.
    payees: tuple[str, ...] = ()
    payee_amount: int = 0  # what a settlement hands them in all, fen
    # Fields the bundle set from what it knows (a refund's all_settle), not the caller: a retry of
    # the same request after they changed is the same request.
    derived: frozenset[str] = frozenset()

    @property
    def identity(self) -> dict[str, Any]:
        """Everything the caller asked for: what the request hash covers."""
        return {**{k: v for k, v in self.fields.items() if k not in self.derived}, **self.unsent}


@dataclass(frozen=True)
class Fault:
    """What a platform error means for the bundle."""

    retryable: bool  # the outcome is unknown or transient: repeat the identical request later
    rate_limited: bool = False  # wait longer before asking again
    unknown_object: bool = False  # the platform has no such object (it never received the request)
    # The platform refused this service itself (signature, app id, provider), not the request: no
    # request can pass until an operator fixes the configuration.
    misconfigured: bool = False
