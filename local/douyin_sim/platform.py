"""The platform's business state and rules: orders, refunds, settlements, settlement returns.

Pure Python, no HTTP, one lock. Every public method runs as one transaction: take the lock, read
the simulated clock once, apply what became due (order expiry, refund / settlement completion),
do the work, release the lock, then hand the notices it produced to the ``emit`` callback (outside
the lock, so the notifier may call back in without deadlock).

Endpoint methods take the decoded request body (already authenticated by ``api.py``) and return
the answer's payload fields, or raise :class:`Refusal`. Control methods (pay, cancel, complete_*)
raise :class:`ControlError` with an HTTP status.

Codes where ecpay-spec is silent (§4, §10 Q3) — chosen here, marked [I]:

* unknown order on create_refund / settle / unsettle_amount / query_platform_order → 2000
  (query_order's "payment record not found");
* unknown settlement on query_settle / create_return → 2000 as well (a "record not found");
* every business-rule refusal (order unpaid or expired, amount exceeded, settlement still
  processing, nothing left to settle, payee not in the settlement ...) → 2010 with a specific
  ``err_tips``, since 2010 is the documented "business-parameter error".

Settlement also depends on order sync (订单同步, order_sync.py): with ``require_order_sync`` on, a
paid order whose latest pushed order_status is not 1 (paid) or 4 (fulfilled), or that was never
pushed, is refused with 2010. The platform asks ``pushed_status`` (given by the simulator) for it.

The settlement cycle (switches ``settle_cycle_days``, ``settle_after``): an order becomes settleable
``settle_cycle_days`` after its payment ("payment", the older rule) or after its fulfilment
("fulfilment", the newer D+N; the platform learns of 核销 from the first applied order push with
order_status 4, asked through ``fulfilled_at``). A settle before then is refused at once with 2010,
not by a FAIL callback [I: the doc does not say which]: "未到结算周期" when the order is not yet
settleable, the doc's "原支付单未支付成功并核销" when it was never fulfilled. A fulfilment pushed
before the payment counts from the payment [I]. 0 days turns the rule off in both modes.

``settle_params`` names third parties only: a payee that is the order's seller is refused (2010).
An empty list (``"[]"``) names none, like no list: the seller gets the rest (§3.5). ``finish``
"true" (完结分账) makes the settlement the order's last: a later settle of the order is refused
(2010) unless that settlement failed [I], like the 50th settle request.

create_refund may carry ``total_amount`` (the doc's example sends it, §3.3): when given it must be
the order's amount, else 2010 [I: the platform cannot honour a different one]. create_return may
name the settlement by ``settle_no``, ``out_settle_no`` or both (§3.8); both naming different
settlements is refused with 2010 [I].

CPS (influencer) orders: ``pay(no, commission=, commission_delay=)``. The commission and the order's
``item_id`` become known ``commission_delay`` after the payment (§3.2 "commission attribution is
delayed"; default the switch ``cps_commission_delay``). Before that the payment callback has
``extra`` "" and ``item_id`` "" (§6.4: "item_id may be missing on the first delivery"), query_order
has no ``cps_info`` and an empty ``item_id``. The callback's ``msg`` is fixed when the payment
happens: retries and duplicates repeat it unchanged [I: the doc's "reply failure to get a retry"
hints that a retry may carry the late item_id; the simulator does not, so a client must query].
The commission is taken at settlement whether it was visible or not: a settle is refused (2010)
when payees + fee + commission exceed the in-transit money, which also makes the seller's share
cover the fee. A commission is taken once per order (a later settlement, after a failed one or
freed money, does not take it again) [I]. ``unsettle_amount`` subtracts the commission still to be
taken, and only once it is known [I]; ``detail.commission`` is that amount (0 before it is known
and after a settlement took it) [I]. Influencer ids are made up: ``douyin_id`` "sim_kol_<digits>",
``nickname`` "模拟达人<digits>" [I].

Automatic settlement (§3.5 "orders not settled 150 days after payment are settled automatically in
full to the seller"; switch ``auto_settle_days``, 0 = never): a paid order still holding in-transit
money and no settlement in progress is settled by the platform at ``paid_at + auto_settle_days``,
with no condition of order sync, fulfilment or settlement cycle [I: none is documented]. It is
applied whenever the platform ticks (any request, the notifier's thread, a clock advance), stamped
with the deadline, not the moment the tick noticed it. The settlement has no ``out_settle_no`` (kept
under the internal key ``auto:<out_order_no>``, then ``auto:<out_order_no>:2`` ...: ":" is no
business-number character, so no developer number collides), moves every in-transit fen, takes
the fee and the commission still due (capped at what is left after the fee, should refunds have
left less than the commission [I]) and gives the seller the rest; it succeeds at once, with
``settle_way`` 2 [I: the value is undocumented; the developer's own settlements show 1].
Should money become unsettled again later (a settlement or refund that was in progress at the
deadline fails), it is settled the same way when that happens [I]. A later ``settle`` is refused
(2010, "settled automatically"), ``query_settle`` knows nothing of it, ``query_platform_order``
lists it. It is announced once (§6.3 "notified only once"; failed deliveries are retried like any
notice), to the order's notify_url, by the switch ``auto_settle_notice``:

* ``"settle_finish"`` (default): ``{ma_app_id, out_order_id, auto_settle_list: [{created_at,
  settle_plat_no, settle_no, settle_info, settle_status, service_charge, cps, settled_at,
  settle_way}]}``. Types as the official example (OD-AUTOSETTLE-CB page): ``created_at`` and
  ``settled_at`` "yyyy-MM-dd HH:mm:ss" strings, ``settle_way`` a string ("2"; the example shows
  "1"), ``service_charge``, ``cps`` and the amounts integers. ``settle_info`` is the seller's share
  ``[{seller_uid, seller_amount}]`` [I: the doc does not say whose the entries are];
* ``"settle"``: the settle callback's shape with ``cp_settle_no`` "", ``cp_extra`` "" and
  ``is_auto_settle`` true [I: the doc leaves open which notice announces an auto-settlement].
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Protocol

from . import validation as v
from .clock import SimClock
from .config import ConfigHolder, SimulatorConfig, is_seconds
from .order_sync import SETTLEABLE_STATUSES
from .validation import Payee, Refusal

ERR_NOT_FOUND = 2000  # §3.2; reused [I] for any unknown order or settlement
ERR_REFUND_NOT_FOUND = 3101  # §3.4
ERR_RETURN_NOT_FOUND = 4408  # §3.8
ERR_RETURN_NO_LENGTH = 2102  # §3.8, query_return: "out_return_no length must be 0–64"

# Beijing time: the platform formats "yyyy-MM-dd HH:mm:ss" in China Standard Time [I].
_CST = timezone(timedelta(hours=8))

DAY = 86_400
PAY_WAYS = (1, 2, 3, 10)  # WeChat, Alipay, bank card (old doc), Douyin Pay (§3.2)
MAX_SETTLES_PER_ORDER = 50  # §3.5
REFUND_WINDOW = 365 * 86_400  # refunds only within a year of payment
REFUND_LIMITS = {1: 50, 2: 300}  # refunds per order: WeChat-paid, Alipay-paid
SETTLE_WAY_DEVELOPER = 1  # a settle request [I: query_platform_order's settle_way is undocumented]
SETTLE_WAY_AUTO = 2  # the platform's own, 150 days after payment [I]


def format_time(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(int(ts), tz=UTC).astimezone(_CST).strftime("%Y-%m-%d %H:%M:%S")


def rake_of(amount: int) -> int:
    """The 0.6 % settlement fee (§3.5), rounded half up ("四舍五入", the doc text), in fen."""
    return (amount * 6 + 500) // 1000


class ControlError(Exception):
    """A control action (pay, cancel, complete ...) that cannot be done; ``status`` is HTTP."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Notice:
    """A callback to deliver: the ``msg`` object, its ``type`` and where it goes."""

    notice_id: int
    type: str
    msg: Mapping[str, Any]
    notify_url: str  # "" = the console-configured default
    event_time: float


@dataclass
class Order:
    out_order_no: str
    order_id: str
    order_token: str
    total_amount: int
    subject: str
    body: str
    valid_time: int
    cp_extra: str
    notify_url: str
    disable_msg: int
    msg_page: str
    created_at: float
    expire_at: float
    status: str = "PROCESSING"  # PROCESSING (unpaid) → SUCCESS | TIMEOUT
    paid_at: float | None = None
    way: int = 0
    channel_no: str = ""
    channel_gateway_no: str = ""
    payment_order_no: str = ""
    ec_pay_trade_no: str = ""
    seller_uid: str = ""
    item_id: str = ""  # CPS orders only; visible from commission_known_at
    cashier_closed_at: list[float] = field(default_factory=list)
    commission: int = 0  # CPS (influencer) commission, fen; 0 = no CPS order
    commission_known_at: float | None = None  # when commission and item_id become known
    douyin_id: str = ""  # the influencer (CPS orders only)
    nickname: str = ""


@dataclass
class Refund:
    out_refund_no: str
    refund_no: str
    out_order_no: str
    order_id: str
    refund_amount: int
    reason: str
    cp_extra: str
    notify_url: str
    all_settle: int
    created_at: float
    complete_at: float | None
    status: str = "PROCESSING"  # → SUCCESS | FAIL
    refunded_at: float | None = None
    msg: str = ""


@dataclass
class Settlement:
    out_settle_no: str
    settle_no: str
    out_order_no: str
    order_id: str
    settle_desc: str
    payees: tuple[Payee, ...]
    cp_extra: str
    notify_url: str
    settle_amount: int
    rake: int
    commission: int
    seller_amount: int
    created_at: float
    complete_at: float | None
    status: str = "PROCESSING"  # → SUCCESS | FAIL
    settled_at: float | None = None
    msg: str = ""
    channel_settle_id: str = ""
    settle_way: int = SETTLE_WAY_DEVELOPER
    settle_plat_no: str = ""  # automatic settlements (settle_finish) only
    final: bool = False  # sent with finish "true": no settle of the order after it


@dataclass
class Return:
    out_return_no: str
    return_no: str
    settle_no: str
    out_settle_no: str
    merchant_uid: str
    return_amount: int
    return_desc: str
    cp_extra: str
    notify_url: str
    created_at: float
    status: str = "SUCCESS"
    finish_time: float | None = None
    fail_reason: str = ""


@dataclass(frozen=True)
class _FirstResult:
    """What the first request with a business number got, replayed for every repeat (§2)."""

    payload: Mapping[str, Any] | None
    refusal: Refusal | None


class Ledger(Protocol):
    """Books an attached module keeps under the platform's lock (funds.py's withdrawals)."""

    def tick_locked(self, now: float) -> None: ...
    def next_due_locked(self) -> float | None: ...
    def state_locked(self) -> dict[str, Any]: ...


_ACTIVE = ("PROCESSING", "SUCCESS")
_NAMESPACES = ("order", "refund", "settle", "return")


class Platform:
    def __init__(
        self,
        config: ConfigHolder,
        clock: SimClock,
        emit: Callable[[Notice], None],
        pushed_status: Callable[[str], int | None] = lambda _no: None,
        fulfilled_at: Callable[[str], float | None] = lambda _no: None,
    ) -> None:
        self._config = config
        self._clock = clock
        self._emit = emit
        # An order's current order-sync status (None = never pushed); called under self._lock.
        self._pushed_status = pushed_status
        # When the order was fulfilled (None = never), per order sync; called under self._lock.
        self._fulfilled_at = fulfilled_at
        self._lock = threading.RLock()
        self._outbox: list[Notice] = []
        self._seq = 0
        self.orders: dict[str, Order] = {}
        self.refunds: dict[str, Refund] = {}
        self.settlements: dict[str, Settlement] = {}
        self.returns: dict[str, Return] = {}
        # First results per business-number namespace (§2).
        self._first: dict[str, dict[str, _FirstResult]] = {ns: {} for ns in _NAMESPACES}
        # Books kept beside these under the same lock and clock (funds.py): each ticks with them.
        self._ledgers: list[Ledger] = []

    # ------------------------------------------------------------------ other books (funds.py)

    def attach(self, ledger: Ledger) -> None:
        """Keep ``ledger`` under this platform's lock: it ticks, schedules and reports with it."""
        with self._lock:
            self._ledgers.append(ledger)

    def transaction(self) -> AbstractContextManager[float]:
        """One transaction of this platform (see the module docstring), for an attached ledger."""
        return self._txn()

    def queue_notice(self, type_: str, msg: dict[str, Any], notify_url: str, now: float) -> None:
        """Queue a callback; it is handed to the notifier when the transaction ends."""
        self._notice(type_, msg, notify_url, now)

    def in_transit(self, order: Order) -> int:
        """The order's in-transit (not yet settled) money, fen."""
        return self._unsettled(order)

    def settle_detail(self, s: Settlement) -> str:
        return self._settle_detail(s)

    # ------------------------------------------------------------------ transactions and time

    @contextmanager
    def _txn(self) -> Iterator[float]:
        notices: list[Notice] = []
        try:
            with self._lock:
                now = self._clock.now()
                try:
                    self._tick_locked(now)
                    yield now
                finally:
                    notices, self._outbox = self._outbox, []
        finally:
            for notice in notices:
                self._emit(notice)

    def tick(self) -> None:
        """Apply whatever became due by now (called by the notifier thread)."""
        with self._txn():
            pass

    def next_due(self) -> float | None:
        """The earliest simulated time at which a refund or settlement completes on its own, or an
        order is settled automatically."""
        with self._lock:
            times = [r.complete_at for r in self.refunds.values() if r.status == "PROCESSING"]
            times += [s.complete_at for s in self.settlements.values() if s.status == "PROCESSING"]
            times += self._auto_settle_times(self._config.get()).values()
            times += [ledger.next_due_locked() for ledger in self._ledgers]
            due = [t for t in times if t is not None]
            return min(due) if due else None

    def _tick_locked(self, now: float) -> None:
        for order in self.orders.values():
            # Unpaid orders expire at created + valid_time (§3.1); nothing is notified (§6.4:
            # only successful payments are).
            if order.status == "PROCESSING" and now >= order.expire_at:
                order.status = "TIMEOUT"
        cfg = self._config.get()
        for refund in self.refunds.values():
            if refund.status == "PROCESSING" and refund.complete_at is not None and now >= refund.complete_at:
                self._finish_refund(refund, cfg.refund_outcome, refund.complete_at)
        for settle in list(self.settlements.values()):
            if settle.status == "PROCESSING" and settle.complete_at is not None and now >= settle.complete_at:
                self._finish_settlement(settle, cfg.settle_outcome, settle.complete_at)
        # After the completions, which may have freed money (a failed settlement or refund).
        for no, when in self._auto_settle_times(cfg).items():
            if now >= when:
                self._auto_settle(self.orders[no], when, cfg)
        for ledger in self._ledgers:
            ledger.tick_locked(now)

    def _next_id(self, now: float) -> str:
        # 19 digits like real ids (e.g. 6979643835974486313): "7" + 10 time digits + 8 sequence digits.
        self._seq += 1
        return f"7{int(now) % 10**10:010d}{self._seq % 10**8:08d}"

    def _notice(self, type_: str, msg: dict[str, Any], notify_url: str, now: float) -> None:
        self._seq += 1
        self._outbox.append(Notice(self._seq, type_, msg, notify_url, now))

    def _idempotent(
        self, ns: str, no_field: str, body: Mapping[str, Any], create: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        """§2: a repeated number gets the first request's result, whatever the new parameters say;
        a number whose first request failed is spent ("use a new number")."""
        raw = body.get(no_field)
        key = raw if v.is_valid_number(raw) else None
        if key is not None and (first := self._first[ns].get(key)) is not None:
            if (refused := first.refusal) is not None:
                tips = f"{refused.err_tips}; {no_field} {key} was spent by a failed request, use a new one"
                raise Refusal(refused.err_no, tips)
            return dict(first.payload or {})
        try:
            payload = create()
        except Refusal as refusal:
            if key is not None:
                self._first[ns][key] = _FirstResult(None, refusal)
            raise
        if key is not None:
            self._first[ns][key] = _FirstResult(dict(payload), None)
        return payload

    # ------------------------------------------------------------------ money bookkeeping

    def _refunds_of(self, out_order_no: str) -> list[Refund]:
        return [r for r in self.refunds.values() if r.out_order_no == out_order_no]

    def _settlements_of(self, out_order_no: str) -> list[Settlement]:
        return [s for s in self.settlements.values() if s.out_order_no == out_order_no]

    def _unsettled(
        self, order: Order, refunds: list[Refund] | None = None, settlements: list[Settlement] | None = None
    ) -> int:
        """In-transit funds (§7.6): paid − refunds taken from them − settled (processing or done).
        ``refunds`` / ``settlements``: the order's, when the caller has them at hand."""
        if order.status != "SUCCESS":
            return 0
        no = order.out_order_no
        refunds = self._refunds_of(no) if refunds is None else refunds
        settlements = self._settlements_of(no) if settlements is None else settlements
        in_transit = [r for r in refunds if r.status in _ACTIVE and not r.all_settle]
        refunded = sum(r.refund_amount for r in in_transit)
        settled = sum(s.settle_amount for s in settlements if s.status in _ACTIVE)
        return max(order.total_amount - refunded - settled, 0)

    def _commission_due(self, order: Order) -> int:
        """The CPS commission not yet taken by a settlement (processing or done): taken once."""
        taken = sum(s.commission for s in self._settlements_of(order.out_order_no) if s.status in _ACTIVE)
        return max(order.commission - taken, 0)

    @staticmethod
    def _cps_known(order: Order, now: float) -> bool:
        """Whether the order's commission and item_id are visible yet (CPS orders only)."""
        return order.commission_known_at is not None and now >= order.commission_known_at

    def _auto_settle_times(self, cfg: SimulatorConfig) -> dict[str, float]:
        """When the platform will settle each order by itself, as things stand now: the orders that
        are paid, hold in-transit money and have no settlement in progress. An order's time is its
        deadline (paid_at + auto_settle_days), or the later completion of its own settlement or
        refund that freed the money, so an automatic settlement never predates what it follows."""
        if not cfg.auto_settle_days:
            return {}
        refunds: dict[str, list[Refund]] = defaultdict(list)
        settlements: dict[str, list[Settlement]] = defaultdict(list)
        for r in self.refunds.values():
            refunds[r.out_order_no].append(r)
        for st in self.settlements.values():
            settlements[st.out_order_no].append(st)
        times: dict[str, float] = {}
        for no, order in self.orders.items():
            if order.status != "SUCCESS" or order.paid_at is None:
                continue
            mine, returned = settlements.get(no, []), refunds.get(no, [])
            if any(st.status == "PROCESSING" for st in mine) or self._unsettled(order, returned, mine) <= 0:
                continue
            done = [st.settled_at for st in mine if st.settled_at is not None]
            done += [r.refunded_at for r in returned if r.refunded_at is not None]
            times[no] = max([order.paid_at + cfg.auto_settle_days * DAY, *done])
        return times

    def _settleable_at(self, order: Order, cfg: SimulatorConfig) -> float | None:
        """When the settlement cycle lets the order be settled; None if it waits for a payment or
        a fulfilment that has not happened."""
        if order.paid_at is None:
            return None
        if not cfg.settle_cycle_days:
            return order.paid_at
        start = order.paid_at
        if cfg.settle_after == "fulfilment":
            fulfilled = self._fulfilled_at(order.out_order_no)
            if fulfilled is None:
                return None
            start = max(start, fulfilled)
        return start + cfg.settle_cycle_days * DAY

    def _order_or_refuse(self, out_order_no: str) -> Order:
        order = self.orders.get(out_order_no)
        if order is None:
            raise Refusal(ERR_NOT_FOUND, f"订单不存在 order not found: out_order_no {out_order_no}")
        return order

    # ------------------------------------------------------------------ ecpay endpoints

    def create_order(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._txn() as now:
            return self._idempotent("order", "out_order_no", body, lambda: self._create_order(body, now))

    def _create_order(self, body: Mapping[str, Any], now: float) -> dict[str, Any]:
        out_order_no = v.business_no(body, "out_order_no")
        total_amount = v.amount(body, "total_amount")
        # §3.1: subject/body ≤128 bytes and ≤42 characters (42 CJK characters = 126 bytes).
        subject = v.text(body, "subject", required=True, max_chars=42, max_bytes=128)
        goods_body = v.text(body, "body", required=True, max_chars=42, max_bytes=128)
        valid_time = v.valid_time(body)
        cp_extra = v.cp_extra(body, truncate=True)
        notify_url = v.notify_url(body)
        disable_msg = v.flag(body, "disable_msg")
        msg_page = v.text(body, "msg_page", required=False)
        v.text(body, "store_uid", required=False, max_chars=64)
        v.limit_pay_way(body)
        info = body.get("expand_order_info")
        if info is not None and not isinstance(info, (dict, str)):
            raise v.param_error("expand_order_info", "must be an object")
        order = Order(
            out_order_no=out_order_no,
            order_id=self._next_id(now),
            order_token=base64.b64encode(b"\x0a\x0c\x08\x01" + os.urandom(60)).decode(),
            total_amount=total_amount,
            subject=subject,
            body=goods_body,
            valid_time=valid_time,
            cp_extra=cp_extra,
            notify_url=notify_url,
            disable_msg=disable_msg,
            msg_page=msg_page,
            created_at=now,
            expire_at=now + valid_time,
        )
        self.orders[out_order_no] = order
        # create_order is the only endpoint whose payload sits in "data" (§3.1).
        return {"data": {"order_id": order.order_id, "order_token": order.order_token}}

    def query_order(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._txn() as now:
            order = self._order_or_refuse(v.business_no(body, "out_order_no"))
            known = self._cps_known(order, now)
            # §3.2: top-level fields; way is a NUMBER here (a string in the callback), 0 unless paid;
            # pay_time is "" unless SUCCESS.
            answer: dict[str, Any] = {
                "out_order_no": order.out_order_no,
                "order_id": order.order_id,
                "payment_info": {
                    "total_fee": order.total_amount,
                    "order_status": order.status,
                    "pay_time": format_time(order.paid_at),
                    "way": order.way,
                    "channel_no": order.channel_no,
                    "channel_gateway_no": order.channel_gateway_no,
                    "seller_uid": order.seller_uid,
                    "item_id": order.item_id if known else "",
                    "cp_extra": order.cp_extra,
                },
            }
            # §3.2: cps_info only for CPS orders, top level (APIFOX; one source puts it under
            # payment_info), share_amount a string of fen; absent until the attribution is known.
            if known and order.commission:
                answer["cps_info"] = {
                    "share_amount": str(order.commission),
                    "douyin_id": order.douyin_id,
                    "nickname": order.nickname,
                }
            return answer

    def create_refund(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._txn() as now:
            return self._idempotent("refund", "out_refund_no", body, lambda: self._create_refund(body, now))

    def _create_refund(self, body: Mapping[str, Any], now: float) -> dict[str, Any]:
        out_refund_no = v.business_no(body, "out_refund_no")
        out_order_no = v.business_no(body, "out_order_no")
        reason = v.text(body, "reason", required=True, max_chars=100)
        refund_amount = v.amount(body, "refund_amount")
        cp_extra = v.cp_extra(body, truncate=False)
        notify_url = v.notify_url(body)
        all_settle = v.flag(body, "all_settle")
        v.flag(body, "disable_msg")
        v.text(body, "msg_page", required=False)
        total_amount = v.amount(body, "total_amount", required=False)
        order = self._order_or_refuse(out_order_no)
        if total_amount and total_amount != order.total_amount:
            raise v.param_error("total_amount", f"{total_amount} is not the order's amount {order.total_amount}")
        if order.status != "SUCCESS":
            raise Refusal(v.ERR_PARAM, f"订单未支付 order {out_order_no} is not paid ({order.status})")
        # No refund of an order paid more than a year ago; at most 50 refunds of a WeChat-paid order
        # and 300 of an Alipay-paid one (the channels' limits, counted over every refund request).
        if order.paid_at is not None and now > order.paid_at + REFUND_WINDOW:
            raise Refusal(v.ERR_PARAM, f"超过退款期限 order {out_order_no} was paid more than a year ago")
        limit = REFUND_LIMITS.get(order.way)
        if limit is not None and len(self._refunds_of(out_order_no)) >= limit:
            raise Refusal(
                v.ERR_PARAM, f"退款次数超过上限 order {out_order_no} has had {limit} refunds (way {order.way})"
            )
        # §3.3: total refunds (processing + succeeded) ≤ order amount.
        committed = sum(r.refund_amount for r in self._refunds_of(out_order_no) if r.status in _ACTIVE)
        if committed + refund_amount > order.total_amount:
            left = order.total_amount - committed
            raise Refusal(v.ERR_PARAM, f"退款金额超过可退金额 refund_amount {refund_amount} > {left}")
        # §3.3: before settlement the refund comes from the order's in-transit funds; if those are
        # insufficient the developer must set all_settle=1 (refund from the withdrawable balance).
        if not all_settle and refund_amount > self._unsettled(order):
            raise Refusal(
                v.ERR_PARAM,
                f"在途资金不足 in-transit funds of order {out_order_no} are insufficient (already settled); "
                "set all_settle=1 to refund from the withdrawable balance",
            )
        processing = self._config.get().refund_processing_seconds
        refund = Refund(
            out_refund_no=out_refund_no,
            refund_no=self._next_id(now),
            out_order_no=out_order_no,
            order_id=order.order_id,
            refund_amount=refund_amount,
            reason=reason,
            cp_extra=cp_extra,
            notify_url=notify_url,
            all_settle=all_settle,
            created_at=now,
            complete_at=None if processing is None else now + processing,
        )
        self.refunds[out_refund_no] = refund
        return {"refund_no": refund.refund_no}

    def query_refund(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._txn():
            out_refund_no = v.business_no(body, "out_refund_no")
            refund = self.refunds.get(out_refund_no)
            if refund is None:
                raise Refusal(ERR_REFUND_NOT_FOUND, f"退款单不存在 refund not found: {out_refund_no}")
            # §3.4: note the camelCase key.
            return {
                "refundInfo": {
                    "refund_no": refund.refund_no,
                    "refund_amount": refund.refund_amount,
                    "refund_status": refund.status,
                    "refunded_at": int(refund.refunded_at or 0),
                    "is_all_settled": bool(refund.all_settle),
                    "cp_extra": refund.cp_extra,
                    "msg": refund.msg,
                }
            }

    def settle(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._txn() as now:
            return self._idempotent("settle", "out_settle_no", body, lambda: self._settle(body, now))

    def _settle(self, body: Mapping[str, Any], now: float) -> dict[str, Any]:
        out_settle_no = v.business_no(body, "out_settle_no")
        out_order_no = v.business_no(body, "out_order_no")
        settle_desc = v.text(body, "settle_desc", required=True, max_chars=80)
        payees = v.settle_params(body)
        cp_extra = v.cp_extra(body, truncate=False)
        notify_url = v.notify_url(body)
        final = v.finish(body)
        order = self._order_or_refuse(out_order_no)
        if order.status != "SUCCESS":
            raise Refusal(v.ERR_PARAM, f"原支付单未支付成功,禁止分账 order {out_order_no} is {order.status}")
        self._check_may_settle(order, payees, now)
        mine = self._settlements_of(out_order_no)
        # §3.5: follow-up settlements only after the previous one completed; ≤50 settle requests
        # per order (the platform's own automatic settlements are no request of the developer).
        if any(s.status == "PROCESSING" for s in mine):
            raise Refusal(v.ERR_PARAM, f"order {out_order_no}: a settlement is still processing, wait for it")
        if sum(s.settle_way == SETTLE_WAY_DEVELOPER for s in mine) >= MAX_SETTLES_PER_ORDER:
            raise Refusal(v.ERR_PARAM, f"order {out_order_no}: {MAX_SETTLES_PER_ORDER} settle requests used")
        if done := next((s for s in mine if s.final and s.status in _ACTIVE), None):
            finished = f"已完结分账 order {out_order_no} was finished by settlement {done.out_settle_no}"
            raise Refusal(v.ERR_PARAM, finished)
        unsettled = self._unsettled(order)
        if unsettled <= 0:
            auto = [s for s in mine if s.settle_way == SETTLE_WAY_AUTO and s.status == "SUCCESS"]
            if auto:
                when = format_time(auto[-1].settled_at)
                raise Refusal(
                    v.ERR_PARAM,
                    f"order {out_order_no} has nothing left to settle: 已自动结算 the platform settled it "
                    f"automatically at {when}",
                )
            raise Refusal(v.ERR_PARAM, f"order {out_order_no} has nothing left to settle")
        # The settlement moves everything still in transit: listed payees get their amounts, the fee
        # and the CPS commission (taken whether the client could see it yet or not) are deducted,
        # and the seller gets the rest, which must not be negative.
        rake = rake_of(unsettled)
        commission = self._commission_due(order)
        payee_total = sum(p.amount for p in payees)
        if payee_total + rake + commission > unsettled:
            raise Refusal(
                v.ERR_PARAM,
                f"分账金额超过可分账金额 settle_params {payee_total} + 手续费 {rake} + 佣金 {commission} > {unsettled}",
            )
        processing = self._config.get().settle_processing_seconds
        settlement = Settlement(
            out_settle_no=out_settle_no,
            settle_no=self._next_id(now),
            out_order_no=out_order_no,
            order_id=order.order_id,
            settle_desc=settle_desc,
            payees=payees,
            cp_extra=cp_extra,
            notify_url=notify_url,
            settle_amount=unsettled,
            rake=rake,
            commission=commission,
            seller_amount=unsettled - rake - commission - payee_total,
            created_at=now,
            complete_at=None if processing is None else now + processing,
            final=final,
        )
        self.settlements[out_settle_no] = settlement
        return {"settle_no": settlement.settle_no}

    def _check_may_settle(self, order: Order, payees: tuple[Payee, ...], now: float) -> None:
        """The rules between a paid order and its settlement: the payees, order sync, the cycle."""
        no = order.out_order_no
        # settle_params names third parties only [I: checked before the order's sync status and
        # cycle, since no waiting makes such a request right].
        for i, payee in enumerate(payees):
            if payee.merchant_uid == order.seller_uid:
                raise Refusal(v.ERR_PARAM, f"分账方不能是卖家 settle_params[{i}].merchant_uid is the seller")
        cfg = self._config.get()
        if cfg.require_order_sync:
            pushed = self._pushed_status(no)
            if pushed not in SETTLEABLE_STATUSES:
                shown = "none" if pushed is None else pushed
                raise Refusal(v.ERR_PARAM, f"订单同步状态不是已支付/已核销,禁止分账 order {no} pushed status {shown}")
        if cfg.settle_cycle_days:
            settleable_at = self._settleable_at(order, cfg)
            if settleable_at is None:
                raise Refusal(v.ERR_PARAM, f"原支付单未支付成功并核销,禁止分账 order {no} is not fulfilled")
            if now < settleable_at:
                # Rounded up, so the time shown is never one at which the settle is still refused.
                when = format_time(math.ceil(settleable_at))
                raise Refusal(v.ERR_PARAM, f"未到结算周期,禁止分账 order {no} can be settled from {when}")

    def query_settle(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._txn():
            out_settle_no = v.business_no(body, "out_settle_no")
            s = self.settlements.get(out_settle_no)
            if s is None:
                raise Refusal(ERR_NOT_FOUND, f"分账单不存在 settlement not found: {out_settle_no}")
            return {
                "settle_info": {
                    "settle_no": s.settle_no,
                    "settle_amount": s.settle_amount,
                    "settle_status": s.status,
                    "settle_detail": self._settle_detail(s),
                    "settled_at": int(s.settled_at or 0),
                    "rake": s.rake,
                    "commission": s.commission,
                    "cp_extra": s.cp_extra,
                    "msg": s.msg,
                }
            }

    def _settle_detail(self, s: Settlement) -> str:
        # Format of the doc example (§6.4): "商户号6891537072713100000-分成金额(分)100", one per payee.
        seller = self.orders[s.out_order_no].seller_uid  # the one the order was paid to
        parts = [f"商户号{seller}-分成金额(分){s.seller_amount}"]
        parts += [f"商户号{p.merchant_uid}-分成金额(分){p.amount}" for p in s.payees]
        return ",".join(parts)

    def create_return(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._txn() as now:
            return self._idempotent("return", "out_return_no", body, lambda: self._create_return(body, now))

    def _find_settlement(self, settle_no: str, out_settle_no: str) -> Settlement:
        """The settlement named by ``settle_no``, ``out_settle_no`` or both (§3.8)."""
        if not settle_no and not out_settle_no:
            raise v.param_error("settle_no/out_settle_no", "one of them is required")
        named = [
            self._settlement_named(field, value)
            for field, value in (("settle_no", settle_no), ("out_settle_no", out_settle_no))
            if value
        ]
        if any(s is not named[0] for s in named):
            raise v.param_error(
                "settle_no/out_settle_no",
                f"settle_no {settle_no} and out_settle_no {out_settle_no} name different settlements",
            )
        return named[0]

    def _settlement_named(self, field: str, value: str) -> Settlement:
        # An automatic settlement has no out_settle_no, and its internal key is no business number.
        found = next((s for s in self.settlements.values() if getattr(s, field) == value), None)
        if found is None:
            raise Refusal(ERR_NOT_FOUND, "分账单不存在 settlement not found")
        return found

    def _create_return(self, body: Mapping[str, Any], now: float) -> dict[str, Any]:
        out_return_no = v.business_no(body, "out_return_no")
        settle_no = v.text(body, "settle_no", required=False, max_chars=64)
        out_settle_no = v.text(body, "out_settle_no", required=False, max_chars=64)
        return_desc = v.text(body, "return_desc", required=True, max_chars=100)
        merchant_uid = v.merchant_uid(body.get("merchant_uid"), "merchant_uid")
        return_amount = v.amount(body, "return_amount")
        cp_extra = v.cp_extra(body, truncate=False)
        notify_url = v.notify_url(body)
        s = self._find_settlement(settle_no, out_settle_no)
        if s.status != "SUCCESS":
            raise Refusal(v.ERR_PARAM, f"settlement {s.out_settle_no} has not succeeded ({s.status})")
        payee = next((p for p in s.payees if p.merchant_uid == merchant_uid), None)
        if payee is None:
            raise Refusal(v.ERR_PARAM, f"merchant_uid {merchant_uid} is no payee of {s.out_settle_no}")
        # §3.8: total returns ≤ what that payee received from the settlement.
        returned = sum(
            r.return_amount
            for r in self.returns.values()
            if r.settle_no == s.settle_no and r.merchant_uid == merchant_uid and r.status == "SUCCESS"
        )
        if returned + return_amount > payee.amount:
            left = payee.amount - returned
            raise Refusal(v.ERR_PARAM, f"return_amount {return_amount} exceeds what is returnable ({left})")
        # Returns complete at once in the simulator (no return callback is documented).
        ret = Return(
            out_return_no=out_return_no,
            return_no=self._next_id(now),
            settle_no=s.settle_no,
            out_settle_no=s.out_settle_no,
            merchant_uid=merchant_uid,
            return_amount=return_amount,
            return_desc=return_desc,
            cp_extra=cp_extra,
            notify_url=notify_url,
            created_at=now,
            finish_time=now,
        )
        self.returns[out_return_no] = ret
        return {"return_info": self._return_info(ret)}

    def _return_info(self, r: Return) -> dict[str, Any]:
        cfg = self._config.get()
        return {
            "app_id": cfg.app_id,
            "thirdparty_id": cfg.thirdparty_id or "",
            "settle_no": r.settle_no,
            "out_settle_no": r.out_settle_no,
            "out_return_no": r.out_return_no,
            "return_no": r.return_no,
            "merchant_uid": r.merchant_uid,
            "return_amount": r.return_amount,
            "return_status": r.status,
            "fail_reason": r.fail_reason,
            "finish_time": int(r.finish_time or 0),
            "cp_extra": r.cp_extra,
        }

    def query_return(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._txn():
            out_return_no = body.get("out_return_no") or ""
            return_no = body.get("return_no") or ""
            if not isinstance(out_return_no, str) or not isinstance(return_no, str):
                raise v.param_error("out_return_no/return_no", "must be strings")
            if len(out_return_no) > 64:
                raise Refusal(ERR_RETURN_NO_LENGTH, "out_return_no length must be 0-64")
            if not out_return_no and not return_no:
                raise v.param_error("out_return_no/return_no", "one of them is required")
            for r in self.returns.values():
                if out_return_no in ("", r.out_return_no) and return_no in ("", r.return_no):
                    return {"return_info": self._return_info(r)}
            raise Refusal(ERR_RETURN_NOT_FOUND, "分账回退单不存在 return record not found")

    def unsettle_amount(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._txn() as now:
            order = self._order_or_refuse(v.business_no(body, "out_order_no"))
            v.text(body, "out_item_order_no", required=False, max_chars=64)
            unsettled = self._unsettled(order)
            # The commission still to be taken, counted only once it is known [I].
            commission = self._commission_due(order) if self._cps_known(order, now) else 0
            refunds = [
                {"out_refund_no": r.out_refund_no, "amount": r.refund_amount}
                for r in self._refunds_of(order.out_order_no)
                if r.status in _ACTIVE
            ]
            # §3.7 (SKIT/HG only): payload in "data".
            return {
                "data": {
                    "out_order_no": order.out_order_no,
                    "unsettle_amount": max(unsettled - commission, 0),
                    "detail": {
                        "pay_info": {
                            "out_order_no": order.out_order_no,
                            "amount": order.total_amount if order.status == "SUCCESS" else 0,
                        },
                        "refund_info": refunds,
                        "payment_rake": rake_of(unsettled),
                        "life_rake": 0,
                        "commission": commission,
                    },
                }
            }

    def query_platform_order(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._txn():
            order = self._order_or_refuse(v.business_no(body, "out_order_no"))
            query_type = body.get("query_type", 1)
            if type(query_type) is not int:
                raise v.param_error("query_type", "must be a JSON integer")
            # §3.9 (SKIT only): the developer's settlements (settle_way 1, their settle_params) and
            # the platform's automatic ones (settle_way 2, out_settle_no "", the seller's share as
            # in settle_finish) [I: settle_way's values are undocumented].
            return {
                "platform_order": {
                    "out_order_no": order.out_order_no,
                    "order_id": order.order_id,
                    "settle_info_list": [
                        {
                            "settle_no": s.settle_no,
                            "out_settle_no": s.out_settle_no,
                            "settle_param_list": self._settle_list_payees(s),
                            "settle_way": s.settle_way,
                            "settle_status": s.status,
                            "cps": s.commission,
                            "service_charge": s.rake,
                            "created_at": format_time(s.created_at),
                            "settled_at": int(s.settled_at or 0),
                        }
                        for s in self._settlements_of(order.out_order_no)
                    ],
                }
            }

    def _settle_list_payees(self, s: Settlement) -> list[dict[str, Any]]:
        """Who a settlement paid, as query_platform_order and settle_finish list it: the developer's
        settle_params, or for an automatic settlement the seller's share [I]."""
        if s.settle_way == SETTLE_WAY_AUTO:
            return [{"merchant_uid": self.orders[s.out_order_no].seller_uid, "amount": s.seller_amount}]
        return [{"merchant_uid": p.merchant_uid, "amount": p.amount} for p in s.payees]

    # ------------------------------------------------------------------ control actions

    def pay(
        self, out_order_no: str, way: int = 10, commission: int = 0, commission_delay: float | None = None
    ) -> dict[str, Any]:
        """tt.pay succeeded: the order is paid now and a payment callback follows (§6.4).

        ``commission`` > 0 makes it a CPS (influencer) order: that commission (fen) and the order's
        item_id become known ``commission_delay`` simulated seconds later (None: the switch
        ``cps_commission_delay``)."""
        if type(way) is not int or way not in PAY_WAYS:
            raise ControlError(400, f"way must be one of {PAY_WAYS}")
        if type(commission) is not int or commission < 0:
            raise ControlError(400, "commission must be an integer number of fen >= 0 (0 = no CPS order)")
        if commission_delay is not None and not is_seconds(commission_delay):
            raise ControlError(400, "commission_delay must be a finite number of seconds >= 0")
        with self._txn() as now:
            order = self.orders.get(out_order_no)
            if order is None:
                raise ControlError(404, f"no order {out_order_no}")
            if commission >= order.total_amount:
                raise ControlError(400, f"commission must be less than the order's total_amount {order.total_amount}")
            if order.status == "TIMEOUT":
                raise ControlError(409, f"order {out_order_no} expired at {format_time(order.expire_at)}")
            if order.status != "PROCESSING":
                raise ControlError(409, f"order {out_order_no} is already {order.status}")
            seq = self._next_id(now)
            day = datetime.fromtimestamp(int(now), tz=UTC).astimezone(_CST).strftime("%Y%m%d")
            order.status = "SUCCESS"
            order.paid_at = now
            order.way = way
            # Shapes of real channel numbers: Alipay 2021070122001432551415940569, WeChat 42000…
            order.channel_no = {1: "4200" + day, 2: day + "2200"}.get(way, "DY" + day) + seq[-16:]
            order.channel_gateway_no = "1" + seq
            order.payment_order_no = "DPS" + day[2:] + seq
            order.ec_pay_trade_no = "DTPP" + day[2:] + seq
            cfg = self._config.get()
            order.seller_uid = cfg.seller_uid
            if commission:
                delay = cfg.cps_commission_delay if commission_delay is None else commission_delay
                order.commission = commission
                order.commission_known_at = now + delay
                order.item_id = self._next_id(now)  # the source video: 19 digits like the ids
                order.douyin_id = f"sim_kol_{order.item_id[-8:]}"
                order.nickname = f"模拟达人{order.item_id[-4:]}"
            self._notice("payment", self._payment_msg(order, now), order.notify_url, now)
            return self._order_view(order)

    def _payment_msg(self, o: Order, now: float) -> dict[str, Any]:
        # §6.4 type=payment, in the order of the real payloads (§6.5 C2/C3): "appid" (not app_id),
        # way as a STRING, paid_at unix seconds. A CPS order's extra and item_id only once the
        # attribution is known (§6.4: item_id may be missing on the first delivery).
        known = self._cps_known(o, now)
        extra = {"cps_info": "poi", "share_amount": str(o.commission)} if known and o.commission else None
        return {
            "appid": self._config.get().app_id,
            "cp_orderno": o.out_order_no,
            "cp_extra": o.cp_extra,
            "way": str(o.way),
            "channel_no": o.channel_no,
            "channel_gateway_no": o.channel_gateway_no,
            "payment_order_no": o.payment_order_no,
            "out_channel_order_no": o.channel_no,
            "total_amount": o.total_amount,
            "status": "SUCCESS",
            "seller_uid": o.seller_uid,
            "extra": "" if extra is None else json.dumps(extra, ensure_ascii=False, separators=(",", ":")),
            "item_id": o.item_id if known else "",
            "paid_at": int(o.paid_at or 0),
            "message": "",
            "order_id": o.order_id,
            "ec_pay_trade_no": o.ec_pay_trade_no,
        }

    def cancel(self, out_order_no: str) -> dict[str, Any]:
        """The user closed the cashier. There is no close API (§3.13): nothing is notified and the
        order stays unpaid (PROCESSING) until it expires; a later pay() still succeeds, like a
        user who reopens the cashier before valid_time runs out."""
        with self._txn() as now:
            order = self.orders.get(out_order_no)
            if order is None:
                raise ControlError(404, f"no order {out_order_no}")
            if order.status != "PROCESSING":
                raise ControlError(409, f"order {out_order_no} is {order.status}, the cashier is not open")
            order.cashier_closed_at.append(now)
            return self._order_view(order)

    def complete_refund(self, out_refund_no: str, status: str = "SUCCESS") -> dict[str, Any]:
        if status not in ("SUCCESS", "FAIL"):
            raise ControlError(400, "status must be SUCCESS or FAIL")
        with self._txn() as now:
            refund = self.refunds.get(out_refund_no)
            if refund is None:
                raise ControlError(404, f"no refund {out_refund_no}")
            if refund.status != "PROCESSING":
                raise ControlError(409, f"refund {out_refund_no} is already {refund.status}")
            self._finish_refund(refund, status, now)
            return dataclasses.asdict(refund)

    def complete_settlement(self, out_settle_no: str, status: str = "SUCCESS") -> dict[str, Any]:
        if status not in ("SUCCESS", "FAIL"):
            raise ControlError(400, "status must be SUCCESS or FAIL")
        with self._txn() as now:
            s = self.settlements.get(out_settle_no)
            if s is None:
                raise ControlError(404, f"no settlement {out_settle_no}")
            if s.status != "PROCESSING":
                raise ControlError(409, f"settlement {out_settle_no} is already {s.status}")
            self._finish_settlement(s, status, now)
            return self._settlement_view(s)

    def _finish_refund(self, refund: Refund, status: str, when: float) -> None:
        refund.status = status
        refund.refunded_at = when
        # A FAIL frees the amount again (it no longer counts as processing or succeeded).
        refund.msg = "" if status == "SUCCESS" else "退款失败 refund failed (simulated)"
        # §6.4 type=refund: reports arrival, not acceptance.
        msg = {
            "appid": self._config.get().app_id,
            "cp_refundno": refund.out_refund_no,
            "cp_extra": refund.cp_extra,
            "status": status,
            "refund_amount": refund.refund_amount,
            "is_all_settled": bool(refund.all_settle),
            "refunded_at": int(when),
            "message": refund.msg,
            "order_id": refund.order_id,
            "refund_no": refund.refund_no,
        }
        self._notice("refund", msg, refund.notify_url, when)

    def _finish_settlement(self, s: Settlement, status: str, when: float) -> None:
        s.status = status
        s.settled_at = when
        s.msg = "" if status == "SUCCESS" else "分账失败 settlement failed (simulated)"
        s.channel_settle_id = "" if status != "SUCCESS" else "CS" + s.settle_no
        self._notice("settle", self._settle_msg(s), s.notify_url, when)

    def _settle_msg(self, s: Settlement) -> dict[str, Any]:
        # §6.4 type=settle: "app_id" here, unlike payment/refund; both outcomes are notified. An
        # automatic settlement (auto_settle_notice "settle") has no cp_settle_no [I].
        return {
            "app_id": self._config.get().app_id,
            "cp_settle_no": s.out_settle_no,
            "cp_extra": s.cp_extra,
            "status": s.status,
            "rake": s.rake,
            "commission": s.commission,
            "settle_detail": self._settle_detail(s),
            "settled_at": int(s.settled_at or 0),
            "message": s.msg,
            "order_id": s.order_id,
            "channel_settle_id": s.channel_settle_id,
            "settle_amount": s.settle_amount,
            "settle_no": s.settle_no,
            "out_order_no": s.out_order_no,
            "is_auto_settle": s.settle_way == SETTLE_WAY_AUTO,
        }

    def _auto_settle(self, order: Order, when: float, cfg: SimulatorConfig) -> None:
        """The platform settles everything still in transit to the seller by itself (§3.5), and
        announces it once (see the module docstring)."""
        no = order.out_order_no
        unsettled = self._unsettled(order)
        rake = rake_of(unsettled)
        commission = min(self._commission_due(order), unsettled - rake)
        earlier = sum(s.settle_way == SETTLE_WAY_AUTO for s in self._settlements_of(no))
        key = f"auto:{no}" if not earlier else f"auto:{no}:{earlier + 1}"
        settle_no = self._next_id(when)
        s = Settlement(
            out_settle_no="",
            settle_no=settle_no,
            out_order_no=no,
            order_id=order.order_id,
            settle_desc="自动结算",
            payees=(),
            cp_extra="",
            notify_url=order.notify_url,
            settle_amount=unsettled,
            rake=rake,
            commission=commission,
            seller_amount=unsettled - rake - commission,
            created_at=when,
            complete_at=None,
            status="SUCCESS",
            settled_at=when,
            channel_settle_id="CS" + settle_no,
            settle_way=SETTLE_WAY_AUTO,
            settle_plat_no=self._next_id(when),
        )
        self.settlements[key] = s
        if cfg.auto_settle_notice == "settle":
            self._notice("settle", self._settle_msg(s), s.notify_url, when)
            return
        # §6.4 type=settle_finish, the types of the official example (module docstring).
        item = {
            "created_at": format_time(s.created_at),
            "settle_plat_no": s.settle_plat_no,
            "settle_no": s.settle_no,
            "settle_info": self._settle_list_payees(s),
            "settle_status": s.status,
            "service_charge": s.rake,
            "cps": s.commission,
            "settled_at": format_time(s.settled_at),
            "settle_way": str(s.settle_way),
        }
        msg = {"ma_app_id": cfg.app_id, "out_order_id": no, "auto_settle_list": [item]}
        self._notice("settle_finish", msg, s.notify_url, when)

    # ------------------------------------------------------------------ views

    def _order_view(self, o: Order, auto_settle_times: Mapping[str, float] | None = None) -> dict[str, Any]:
        cfg = self._config.get()
        if auto_settle_times is None:
            auto_settle_times = self._auto_settle_times(cfg)
        view = dataclasses.asdict(o)
        view["pay_time"] = format_time(o.paid_at)
        view["unsettled"] = self._unsettled(o)
        view["settleable_at"] = self._settleable_at(o, cfg)
        # When the platform will settle it by itself, as things stand (None: it will not).
        view["auto_settle_at"] = auto_settle_times.get(o.out_order_no)
        return view

    def _settlement_view(self, s: Settlement) -> dict[str, Any]:
        view = dataclasses.asdict(s)
        view["settle_detail"] = self._settle_detail(s)
        return view

    def state(self) -> dict[str, Any]:
        with self._txn():
            auto_settle_times = self._auto_settle_times(self._config.get())
            return {
                "orders": {k: self._order_view(o, auto_settle_times) for k, o in self.orders.items()},
                "refunds": {k: dataclasses.asdict(r) for k, r in self.refunds.items()},
                "settlements": {k: self._settlement_view(s) for k, s in self.settlements.items()},
                "returns": {k: dataclasses.asdict(r) for k, r in self.returns.items()},
                "spent_numbers": {
                    ns: {
                        no: {"err_no": f.refusal.err_no, "err_tips": f.refusal.err_tips}
                        for no, f in firsts.items()
                        if f.refusal
                    }
                    for ns, firsts in self._first.items()
                },
                **{key: view for ledger in self._ledgers for key, view in ledger.state_locked().items()},
            }
