"""The platform's records (orders, refunds, settlements) and the notices it emits, plus the id and
time formats they are shown in. Plain data; the rules live in ``platform.py``."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from .validation import OrderData, Payee

_CST = timezone(timedelta(hours=8))  # the platform's log ids carry Beijing time [I]


def ms(t: float) -> int:
    """Unix seconds → the int64 milliseconds every trade_basic time field uses."""
    return round(t * 1000)


def log_id(now: float) -> str:
    """``yyyyMMddHHmmss`` + 20 upper-case hex digits, like ``2023090114051928011C13A3AFCC67A50E``."""
    stamp = datetime.fromtimestamp(int(now), tz=UTC).astimezone(_CST).strftime("%Y%m%d%H%M%S")
    return stamp + secrets.token_hex(10).upper()


class ControlError(Exception):
    """A control action that cannot be done; ``status`` is the HTTP status of the answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Notice:
    """A callback to deliver: the ``msg`` object, its ``type``, where it goes and what it is about.

    ``url`` is "" when no solution-configured URL exists for the type: the platform then sends
    nothing (a payNotifyUrl / notify_url alone is ignored, trade-spec §9.4).
    """

    notice_id: int
    type: str
    msg: Mapping[str, Any]
    url: str
    event_time: float
    event_name: str  # for Byte-Eventid, e.g. PaySucDeveloperNotify
    subject_id: str  # the order / refund / settlement id the notice is about


@dataclass
class Order:
    order_id: str
    item_order_id: str
    data: OrderData
    raw_data: str
    client_platform: str
    open_id: str
    created_at: float
    expire_at: float
    pay_status: str = "PROCESS"  # PROCESS → SUCCESS | TIMEOUT
    paid_at: float | None = None
    pay_channel: int | None = None
    channel_pay_id: str = ""
    user_bill_pay_id: str = ""
    merchant_uid: str = ""
    cancelled_at: list[float] = field(default_factory=list)  # USER_CANCEL events
    cps: dict[str, Any] | None = None

    @property
    def out_order_no(self) -> str:
        return self.data.out_order_no

    @property
    def paid_amount(self) -> int:
        """What the user paid: total_amount − discount_amount (no discounts are simulated)."""
        return self.data.total_amount if self.pay_status == "SUCCESS" else 0


@dataclass
class Refund:
    refund_id: str
    order_id: str
    out_order_no: str
    out_refund_no: str  # "" until the developer answers pre_create_refund
    amount: int
    item_order_detail: list[dict[str, Any]]
    source: int  # 1 user, 2 developer (refund_source)
    created_at: float
    audit_deadline: float
    need_audit: bool
    audit_status: str  # INIT → TOAUDIT → AGREE | DENY | OVERTIME
    # awaiting_reply (pre_create_refund unanswered) → awaiting_audit → processing → done
    stage: str
    cp_extra: str = ""
    notify_url: str = ""
    order_entry_schema: dict[str, str] | None = None
    reasons: list[Any] = field(default_factory=list)
    description: str = ""
    request_body: dict[str, Any] | None = None  # refund_create's body, for replays
    status: str = "PROCESSING"  # → SUCCESS | FAIL
    complete_at: float | None = None
    refund_at: float | None = None
    message: str = ""
    deny_message: str = ""
    auto_out_refund_no: bool = False
    is_all_settled: bool = False


@dataclass
class Settlement:
    settle_id: str
    wallet_settle_id: str
    out_settle_no: str
    order_id: str
    out_order_no: str
    item_order_id: str
    settle_desc: str
    payees: tuple[Payee, ...]
    ext: str
    notify_url: str
    settle_amount: int
    rake: int
    commission: int
    seller_uid: str
    created_at: float
    complete_at: float | None
    status: str = "PROCESSING"  # → SUCCESS | FAIL
    settled_at: float | None = None
    message: str = ""

    @property
    def settle_detail(self) -> str:
        parts = [f"商户号{p.merchant_uid}-分成金额(分){p.amount}" for p in self.payees]
        seller = self.settle_amount - self.rake - self.commission - sum(p.amount for p in self.payees)
        parts.append(f"商户号{self.seller_uid}-分成金额(分){max(seller, 0)}")
        return ",".join(parts)
