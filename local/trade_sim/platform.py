"""The platform's business state and rules: client tokens, orders, refunds, settlements.

Pure Python, no HTTP, one lock. Every public method runs as one transaction: take the lock, read
the simulated clock once, apply what became due (order expiry, pre_create_refund auto-pass, audit
time-out, refund / settlement completion), do the work, release the lock, then hand the notices it
produced to ``emit`` (outside the lock, so the notifier may call back in without deadlock).

Endpoint methods take the decoded request body (the access-token was checked by ``api.py``) and
return the answer's ``data``, or raise :class:`Refusal`. Control methods raise
:class:`ControlError` with an HTTP status.

Codes where trade-spec is silent — chosen here, marked [I] (see README "Choices"):

* unknown order on order_query / query_cps / refund_create, unknown refund on
  refund_audit_callback → 20000 (query_cps's "order not found");
* refund_create: order unpaid, older than a year, or at its refund-count limit → 22000; amount
  beyond what is left → 22002; a repeated out_refund_no with another body → 22004 (industry
  analogues); refund_audit_callback on a refund not awaiting audit → 22006;
* settle_create: 23101 / 23102 / 23111 / 23112 as published, D+N not yet elapsed → 23113,
  item_order_id not of this order → 23025.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from . import validation as v
from .config import ConfigHolder
from .records import ControlError, Notice, Order, Refund, Settlement, ms
from .tokens import TokenBook
from .validation import OrderData, Refusal

ERR_NOT_FOUND = 20000
ERR_REFUND_STATE = 22000
ERR_REFUND_AMOUNT = 22002
ERR_REFUND_DUPLICATE = 22004
ERR_AUDIT_STATE = 22006
ERR_SETTLE_ITEM = 23025
ERR_SETTLE_NO_ORDER = 23101
ERR_SETTLE_UNPAID = 23102
ERR_SETTLE_DUPLICATE = 23111
ERR_SETTLE_NOTHING_LEFT = 23112
ERR_SETTLE_NOT_ALLOWED = 23113

# client_token errors (HTTP 200, data.error_code; §2.3)
TOKEN_PARAM, TOKEN_NO_CLIENT, TOKEN_BAD_SECRET, TOKEN_RATE = 10002, 10003, 10013, 10020

AUDIT_WINDOW = 72 * 3600  # §4.7: no answer within 72 h of creation → approved (OVERTIME)
PRE_CREATE_WINDOW = 72 * 3600  # §5.4: pre_create_refund retried for 72 h, then auto-passed
REFUND_MAX_AGE = 365 * 86400  # §4.5: orders older than a year cannot be refunded
MAX_REFUNDS = {2: 300}  # §4.5: Alipay 300; WeChat 50 (and, [I], every other channel)
MAX_REFUNDS_DEFAULT = 50
REFUND_QUERY_LIMIT = 50

IDENTIFY_NAMES = {
    "payment": "/msg/basic/payment/notify",
    "refund": "/msg/basic/refund/notify",
    "pre_create_refund": "/msg/basic/refund/pre_create_refund",
    "settle": "/msg/basic/settle/notify",
}


class Platform:
    def __init__(self, config: ConfigHolder, clock: Any, emit: Callable[[Notice], None]) -> None:
        self._config = config
        self._clock = clock
        self._emit = emit
        self._lock = threading.RLock()
        self._outbox: list[Notice] = []
        self._seq = 0
        self.tokens = TokenBook()
        self.orders: dict[str, Order] = {}  # by order_id
        self.refunds: dict[str, Refund] = {}  # by refund_id
        self.settlements: dict[str, Settlement] = {}  # by settle_id
        self._order_by_out: dict[str, str] = {}
        self._refund_by_out: dict[str, str] = {}
        self._settle_by_out: dict[str, str] = {}

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
        """Apply whatever became due by now (called by the notifier thread and by advance())."""
        with self._txn():
            pass

    def next_due(self) -> float | None:
        """The earliest simulated time at which something happens on its own."""
        with self._lock:
            times = [o.expire_at for o in self.orders.values() if o.pay_status == "PROCESS"]
            times += [t for r in self.refunds.values() if (t := self._refund_due(r)) is not None]
            times += [s.complete_at for s in self.settlements.values() if s.status == "PROCESSING" and s.complete_at]
            return min(times) if times else None

    @staticmethod
    def _refund_due(r: Refund) -> float | None:
        if r.stage == "awaiting_reply":
            return r.created_at + PRE_CREATE_WINDOW
        if r.stage == "awaiting_audit":
            return r.audit_deadline
        if r.stage == "processing":
            return r.complete_at
        return None

    def _tick_locked(self, now: float) -> None:
        cfg = self._config.get()
        for order in self.orders.values():
            if order.pay_status == "PROCESS" and now >= order.expire_at:
                # §4.10: an unpaid order expires; the callback is CANCEL with message TIME_OUT.
                order.pay_status = "TIMEOUT"
                self._payment_notice(order, "CANCEL", order.expire_at, "TIME_OUT")
        for refund in self.refunds.values():
            # One refund may pass several stages at once (auto-pass, then the audit time-out).
            while (due := self._refund_due(refund)) is not None and now >= due:
                if refund.stage == "awaiting_reply":
                    self._auto_pass(refund, due)
                elif refund.stage == "awaiting_audit":
                    refund.audit_status = "OVERTIME"
                    self._start_processing(refund, due)
                else:
                    self._finish_refund(refund, cfg.refund_outcome, due)
        for s in self.settlements.values():
            if s.status == "PROCESSING" and s.complete_at is not None and now >= s.complete_at:
                self._finish_settlement(s, cfg.settle_outcome, s.complete_at)

    # ------------------------------------------------------------------ ids and notices

    def _digits(self, now: float, width: int = 23) -> str:
        """Digits like the platform's ids: "7", time digits, then a sequence number."""
        self._seq += 1
        seq_width = width - 11
        return f"7{int(now) % 10**10:010d}{self._seq % 10**seq_width:0{seq_width}d}"

    def _notice(self, type_: str, msg: dict[str, Any], override: str, when: float, event: str, subject: str) -> None:
        base = self._config.get().notify_base(type_)
        # A developer-given URL counts only when a solution URL is configured (§9.4).
        url = (override or base) if base else ""
        self._seq += 1
        self._outbox.append(Notice(self._seq, type_, msg, url, when, event, subject))

    def _payment_notice(self, o: Order, status: str, when: float, message: str = "") -> None:
        cfg = self._config.get()
        msg: dict[str, Any] = {
            "app_id": cfg.app_id,
            "out_order_no": o.out_order_no,
            "order_id": o.order_id,
            "status": status,
            "total_amount": o.data.total_amount,
            "discount_amount": 0,
        }
        if status == "SUCCESS":
            msg |= {
                "pay_channel": o.pay_channel,
                "channel_pay_id": o.channel_pay_id,
                "user_bill_pay_id": o.user_bill_pay_id,
                "merchant_uid": o.merchant_uid,
            }
        msg |= {"message": message, "event_time": ms(when)}
        if o.data.currency == "DIAMOND":
            msg["currency"] = "DIAMOND"
        event = {"SUCCESS": "PaySucDeveloperNotify", "USER_CANCEL": "PayCancelDeveloperNotify"}.get(
            status if status == "SUCCESS" else message, "PayTimeoutDeveloperNotify"
        )
        self._notice("payment", msg, o.data.pay_notify_url, when, event, o.order_id)

    # ------------------------------------------------------------------ client_token (§2.3)

    def client_token(self, body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """(error_code, data) of POST /oauth/client_token/."""
        with self._txn() as now:
            cfg = self._config.get()
            fields = ("grant_type", "client_key", "client_secret")
            if any(not isinstance(body.get(f), str) or not body.get(f) for f in fields):
                return TOKEN_PARAM, {"description": "Parameter error: grant_type, client_key, client_secret required"}
            if body["grant_type"] != "client_credential":
                return TOKEN_PARAM, {"description": "Parameter error: grant_type must be client_credential"}
            if body["client_key"] != cfg.app_id:
                return TOKEN_NO_CLIENT, {"description": "client_key does not exist"}
            if body["client_secret"] != cfg.client_secret:
                return TOKEN_BAD_SECRET, {"description": "client_key or client_secret is wrong"}
            if self.tokens.rate_limited(now, cfg.client_token_rate_limit):
                self.tokens.refused += 1
                return TOKEN_RATE, {"description": "more than the allowed client_token fetches in 5 minutes"}
            token = self.tokens.issue(now)
            return 0, {"access_token": token.value, "description": "", "expires_in": int(token.expires_at - now)}

    def check_token(self, value: str) -> int | None:
        with self._lock:
            return self.tokens.check(value, self._clock.now())

    # ------------------------------------------------------------------ tt.requestOrder / cashier

    def create_order(self, data: OrderData, raw: str, client_platform: str) -> dict[str, Any]:
        """A verified, valid tt.requestOrder: the order (or, by config, the existing one)."""
        with self._txn() as now:
            existing_id = self._order_by_out.get(data.out_order_no)
            if existing_id is not None:
                return self._repeat_order(self.orders[existing_id], data)
            order = Order(
                order_id="motb" + self._digits(now),
                item_order_id="motb" + self._digits(now),
                data=data,
                raw_data=raw,
                client_platform=client_platform,
                open_id="_000" + secrets.token_urlsafe(24),
                created_at=now,
                expire_at=now + data.pay_expire_seconds,
            )
            self.orders[order.order_id] = order
            self._order_by_out[data.out_order_no] = order.order_id
            return self._request_order_view(order)

    def _repeat_order(self, order: Order, data: OrderData) -> dict[str, Any]:
        mode = self._config.get().duplicate_out_order_no
        if mode == "error":
            raise v.param_error("outOrderNo", f"{data.out_order_no} was already used (order {order.order_id})")
        if order.data != data:
            raise v.param_error("outOrderNo", f"{data.out_order_no} was already used with different data")
        if order.pay_status != "PROCESS":
            raise v.param_error("outOrderNo", f"order {order.order_id} is already {order.pay_status}")
        return self._request_order_view(order)

    @staticmethod
    def _request_order_view(o: Order) -> dict[str, Any]:
        item = {"itemOrderId": o.item_order_id, "skuId": o.data.sku.sku_id, "itemOrderAmount": o.data.total_amount}
        return {"orderId": o.order_id, "itemOrderList": [item]}

    def get_order_payment(self, order_id: str, outcome: str = "pay", pay_channel: int | None = None) -> dict[str, Any]:
        """Play the cashier: pay, cancel (USER_CANCEL; the order stays payable) or leave it open."""
        if outcome not in ("pay", "cancel", "leave"):
            raise ControlError(400, "outcome must be pay, cancel or leave")
        with self._txn() as now:
            order = self.orders.get(order_id)
            if order is None:
                raise ControlError(404, f"no order {order_id}")
            if order.pay_status != "PROCESS":
                raise ControlError(409, f"order {order_id} is {order.pay_status}, the cashier cannot open")
            if outcome == "pay":
                self._pay(order, self._channel(order, pay_channel), now)
            elif outcome == "cancel":
                order.cancelled_at.append(now)
                self._payment_notice(order, "CANCEL", now, "USER_CANCEL")
            return self._order_state(order)

    @staticmethod
    def _channel(order: Order, pay_channel: int | None) -> int:
        if order.data.currency == "DIAMOND":
            if pay_channel not in (None, v.DIAMOND_CHANNEL):
                raise ControlError(400, "a DIAMOND order is paid with diamonds: pay_channel 20")
            return v.DIAMOND_CHANNEL
        channel = 10 if pay_channel is None else pay_channel
        if type(channel) is not int or channel not in v.PAY_CHANNELS:
            raise ControlError(400, f"pay_channel must be one of {v.PAY_CHANNELS}")
        if channel in order.data.limit_pay_way_list:
            raise ControlError(409, f"pay_channel {channel} is hidden by limitPayWayList")
        return channel

    def _pay(self, order: Order, channel: int, now: float) -> None:
        day = datetime.fromtimestamp(int(now), tz=UTC).strftime("%Y%m%d")
        digits = self._digits(now, 16)
        order.pay_status = "SUCCESS"
        order.paid_at = now
        order.pay_channel = channel
        order.channel_pay_id = {1: "4200" + day, 2: day + "2200", 10: "TP" + day, 20: "DM" + day}[channel] + digits
        order.user_bill_pay_id = "DTPS" + day[2:] + digits + "0001"
        order.merchant_uid = order.data.merchant_uid or self._config.get().merchant_uid
        self._payment_notice(order, "SUCCESS", now)

    # ------------------------------------------------------------------ money bookkeeping

    def _refunds_of(self, order: Order) -> list[Refund]:
        return sorted((r for r in self.refunds.values() if r.order_id == order.order_id), key=lambda r: r.created_at)

    def _committed_refunds(self, order: Order) -> int:
        """Refunds that hold money: awaiting, processing or succeeded (a FAIL frees its amount)."""
        return sum(r.amount for r in self._refunds_of(order) if r.status != "FAIL")

    def _settled(self, order: Order) -> int:
        return sum(
            s.settle_amount for s in self.settlements.values() if s.order_id == order.order_id and s.status != "FAIL"
        )

    def _settleable(self, order: Order) -> int:
        return max(order.paid_amount - self._committed_refunds(order) - self._settled(order), 0)

    def _find_order(self, field: str, value: str) -> Order:
        order_id = value if field == "order_id" else self._order_by_out.get(value, "")
        order = self.orders.get(order_id)
        if order is None:
            hint = " (is it an out_order_no?)" if field == "order_id" and value in self._order_by_out else ""
            raise Refusal(ERR_NOT_FOUND, f"订单不存在 order not found: {field} {value}{hint}")
        return order

    # ------------------------------------------------------------------ order_query / query_cps

    def order_query(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._txn():
            # §4.3 "二选一"; if both are sent, order_id wins [I].
            order = self._find_order(*v.one_of(body, ("order_id", "out_order_no"), exactly=False))
            return self._order_query_view(order)

    def _order_query_view(self, o: Order) -> dict[str, Any]:
        view: dict[str, Any] = {
            "order_id": o.order_id,
            "out_order_no": o.out_order_no,
            "app_id": self._config.get().app_id,
            "pay_status": o.pay_status,
            "trade_time": ms(o.created_at),
            "total_amount": o.data.total_amount,
            "currency": o.data.currency,
        }
        if o.pay_status == "SUCCESS":  # the money fields exist only once paid
            view |= {
                "pay_time": ms(o.paid_at or 0),
                "pay_channel": o.pay_channel,
                "channel_pay_id": o.channel_pay_id,
                "user_bill_pay_id": o.user_bill_pay_id,
                "discount_amount": 0,
                "merchant_uid": o.merchant_uid,
            }
        view["item_order_list"] = [
            {"item_order_id": o.item_order_id, "sku_id": o.data.sku.sku_id, "item_order_amount": o.data.total_amount}
        ]
        return view

    def query_cps(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._txn():
            order = self._find_order(*v.one_of(body, ("order_id", "out_order_no"), exactly=False))
            items = [dict(order.cps)] if order.cps else []
            return {
                "order_id": order.order_id,
                "out_order_no": order.out_order_no,
                "total_commission_amount": sum(i["commission_amount"] for i in items),
                "cps_item_list": items,
            }

    def set_cps(self, out_order_no: str, commission_amount: int, commission_rate: int = 0) -> dict[str, Any]:
        """Script a CPS commission for an order (taken from its settlement)."""
        if type(commission_amount) is not int or commission_amount < 0 or type(commission_rate) is not int:
            raise ControlError(400, "commission_amount and commission_rate are integers >= 0")
        with self._txn() as now:
            order = self._order_by_out_or_404(out_order_no)
            order.cps = {
                "item_order_id": order.item_order_id,
                "sell_amount": order.data.total_amount,
                "source_type": 1,
                "status": 1,
                "commission_amount": commission_amount,
                "commission_rate": commission_rate,
                "commission_user_douyinid": "sim_cps_user",
                "commission_user_nickname": "sim",
                "task_id": self._digits(now, 19),
                "item_id": self._digits(now, 19),
            }
            return dict(order.cps)

    def _order_by_out_or_404(self, out_order_no: str) -> Order:
        order = self.orders.get(self._order_by_out.get(out_order_no, ""))
        if order is None:
            raise ControlError(404, f"no order {out_order_no}")
        return order

    # ------------------------------------------------------------------ refund_create (§4.5)

    def refund_create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._txn() as now:
            req = self._parse_refund_create(body)
            existing = self.refunds.get(self._refund_by_out.get(req["out_refund_no"], ""))
            if existing is not None:
                if existing.request_body != dict(body):
                    raise Refusal(ERR_REFUND_DUPLICATE, f"外部退款单号重复 out_refund_no {req['out_refund_no']} exists")
                return {"refund_id": existing.refund_id, "refund_audit_deadline": ms(existing.audit_deadline)}
            order = self._find_order("order_id", req["order_id"])
            self._check_refundable(order, req, now)
            refund = Refund(
                refund_id="ort" + self._digits(now),
                order_id=order.order_id,
                out_order_no=order.out_order_no,
                out_refund_no=req["out_refund_no"],
                amount=req["amount"],
                item_order_detail=req["items"],
                source=2,
                created_at=now,
                audit_deadline=now + AUDIT_WINDOW,
                need_audit=False,  # §4.7: developer refunds need no merchant audit
                audit_status="INIT",
                stage="processing",
                cp_extra=req["cp_extra"],
                notify_url=req["notify_url"],
                order_entry_schema=req["schema"],
                reasons=req["reasons"],
                request_body=dict(body),
            )
            self._add_refund(refund)
            self._start_processing(refund, now)
            return {"refund_id": refund.refund_id, "refund_audit_deadline": ms(refund.audit_deadline)}

    @staticmethod
    def _parse_refund_create(body: Mapping[str, Any]) -> dict[str, Any]:
        refund_all = body.get("refund_all", False)
        if type(refund_all) is not bool:
            raise v.param_error("refund_all", "must be a JSON boolean")
        currency = v.string(body, "currency", required=False) or None
        if currency is not None and currency not in v.CURRENCIES:
            raise v.param_error("currency", f"must be one of {v.CURRENCIES}")
        if refund_all and body.get("item_order_detail") is not None:
            raise v.param_error("item_order_detail", "must not be sent with refund_all")
        return {
            "order_id": v.string(body, "order_id", required=True, max_bytes=64),
            "out_refund_no": v.string(body, "out_refund_no", required=True, max_bytes=64),
            "amount": v.integer(body, "refund_total_amount", required=True, minimum=1),
            "cp_extra": v.string(body, "cp_extra", required=False, max_bytes=2048),
            "notify_url": v.https_url(body, "notify_url"),
            "refund_all": refund_all,
            "items": [] if refund_all else v.item_order_detail(body),
            "reasons": v.refund_reasons(body),
            "schema": v.schema(body.get("order_entry_schema"), "order_entry_schema", required=True),
            "currency": currency,
        }

    def _check_refundable(self, order: Order, req: dict[str, Any], now: float) -> None:
        if order.pay_status != "SUCCESS":
            raise Refusal(ERR_REFUND_STATE, f"订单状态不允许退款 order {order.order_id} is {order.pay_status}")
        if now - (order.paid_at or now) > REFUND_MAX_AGE:
            raise Refusal(ERR_REFUND_STATE, "订单超过一年不允许退款 orders older than one year cannot be refunded")
        if (req["currency"] or "CNY") != order.data.currency:
            raise v.param_error("currency", f'must be "{order.data.currency}" for this order')
        refunds = self._refunds_of(order)
        limit = MAX_REFUNDS.get(order.pay_channel or 0, MAX_REFUNDS_DEFAULT)
        if len(refunds) >= limit:
            raise Refusal(ERR_REFUND_STATE, f"退款次数超限 at most {limit} refunds for this payment channel")
        paid, left = order.paid_amount, order.paid_amount - self._committed_refunds(order)
        if req["refund_all"]:
            if any(r.status != "FAIL" for r in refunds):
                raise v.param_error("refund_all", "only for an order without previous refunds")
            if req["amount"] != paid:
                raise v.param_error("refund_total_amount", f"must equal the amount paid ({paid}) with refund_all")
        else:
            self._check_items(order, req)
        if order.data.currency == "DIAMOND" and req["amount"] != paid:
            raise v.param_error("refund_total_amount", f"diamond orders are refunded whole ({paid})")
        if req["amount"] > left:
            raise Refusal(ERR_REFUND_AMOUNT, f"可退金额不足 refund_total_amount {req['amount']} > refundable {left}")

    @staticmethod
    def _check_items(order: Order, req: dict[str, Any]) -> None:
        for item in req["items"]:
            if item["item_order_id"] != order.item_order_id:
                raise v.param_error("item_order_detail", f"item_order_id {item['item_order_id']} is not in the order")
        if sum(i["refund_amount"] for i in req["items"]) != req["amount"]:
            raise v.param_error("refund_total_amount", "must equal the sum of item_order_detail[].refund_amount")

    def _add_refund(self, refund: Refund) -> None:
        self.refunds[refund.refund_id] = refund
        if refund.out_refund_no:
            self._refund_by_out[refund.out_refund_no] = refund.refund_id

    # ------------------------------------------------------------------ refund lifecycle

    def _start_processing(self, refund: Refund, when: float) -> None:
        seconds = self._config.get().refund_processing_seconds
        refund.stage = "processing"
        refund.complete_at = None if seconds is None else when + seconds

    def _finish_refund(self, refund: Refund, status: str, when: float, message: str = "") -> None:
        refund.stage = "done"
        refund.status = status
        refund.refund_at = when
        refund.complete_at = None
        refund.message = message or ("" if status == "SUCCESS" else "退款失败 refund failed (simulated)")
        order = self.orders[refund.order_id]
        refund.is_all_settled = any(
            s.order_id == order.order_id and s.status == "SUCCESS" for s in self.settlements.values()
        )
        msg: dict[str, Any] = {
            "app_id": self._config.get().app_id,
            "status": status,
            "order_id": refund.order_id,
            "refund_id": refund.refund_id,
            "out_refund_no": refund.out_refund_no,
            "refund_total_amount": refund.amount,
            "refund_item_detail": {"item_order_quantity": 1, "item_order_detail": refund.item_order_detail},
            "is_all_settled": refund.is_all_settled,
            "cp_extra": refund.cp_extra,
            "message": refund.message,
            "event_time": ms(when),
            "refund_type": refund.source,
        }
        if order.data.currency == "DIAMOND":
            msg["currency"] = "DIAMOND"
        event = "RefundSucDeveloperNotify" if status == "SUCCESS" else "RefundFailDeveloperNotify"
        self._notice("refund", msg, refund.notify_url, when, event, refund.refund_id)

    def _auto_pass(self, refund: Refund, when: float) -> None:
        """§5.4: pre_create_refund unanswered for 72 h → the platform generates out_refund_no."""
        refund.out_refund_no = "AUTO" + refund.refund_id[3:]
        refund.auto_out_refund_no = True
        self._refund_by_out[refund.out_refund_no] = refund.refund_id
        self._after_reply(refund, when)

    def _after_reply(self, refund: Refund, when: float) -> None:
        if refund.need_audit:
            refund.stage = "awaiting_audit"
            refund.audit_status = "TOAUDIT"
        else:
            self._start_processing(refund, when)

    def user_refund(
        self, out_order_no: str, amount: int | None = None, need_audit: bool = False, reason: str = ""
    ) -> dict[str, Any]:
        """A user applies for a refund in the app: a platform refund and a pre_create_refund call."""
        if (amount is not None and type(amount) is not int) or type(need_audit) is not bool:
            raise ControlError(400, "amount is an integer (fen) and need_audit a boolean")
        if not isinstance(reason, str):
            raise ControlError(400, "reason is a string")
        with self._txn() as now:
            order = self._order_by_out_or_404(out_order_no)
            if order.pay_status != "SUCCESS":
                raise ControlError(409, f"order {out_order_no} is {order.pay_status}, not paid")
            left = order.paid_amount - self._committed_refunds(order)
            amount = left if amount is None else amount
            if not 0 < amount <= left:
                raise ControlError(409, f"amount must be in [1, {left}]")
            if order.data.currency == "DIAMOND" and amount != order.paid_amount:
                raise ControlError(409, "diamond orders are refunded whole")
            refund = Refund(
                refund_id="ort" + self._digits(now),
                order_id=order.order_id,
                out_order_no=out_order_no,
                out_refund_no="",
                amount=amount,
                item_order_detail=[{"item_order_id": order.item_order_id, "refund_amount": amount}],
                source=1,
                created_at=now,
                audit_deadline=now + AUDIT_WINDOW,
                need_audit=need_audit,
                audit_status="INIT",
                stage="awaiting_reply",
                reasons=[reason] if reason else [],
                description=reason,
            )
            self._add_refund(refund)
            self._notice(
                "pre_create_refund", self._pre_create_msg(order, refund), "", now, "PreCreateRefund", refund.refund_id
            )
            return self._refund_view(refund)

    def _pre_create_msg(self, order: Order, r: Refund) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "app_id": self._config.get().app_id,
            "open_id": order.open_id,
            "refund_id": r.refund_id,
            "order_id": r.order_id,
            "out_order_no": r.out_order_no,
            "refund_total_amount": r.amount,
            "need_refund_audit": 1 if r.need_audit else 2,
            "refund_audit_deadline": ms(r.audit_deadline),
            "create_refund_time": ms(r.created_at),
            "refund_source": r.source,
            "refund_reason": list(r.reasons),
            "refund_description": r.description,
            "cp_extra": "",
            "refund_item_detail": {"item_order_quantity": 1, "item_order_detail": r.item_order_detail},
        }
        if order.data.currency == "DIAMOND":
            msg["currency"] = "DIAMOND"
        return msg

    def answer_pre_create_refund(self, refund_id: str, reply: object) -> str:
        """Apply a developer's 200/err_no 0 reply to pre_create_refund; "" if accepted, else why not."""
        with self._txn() as now:
            refund = self.refunds.get(refund_id)
            if refund is None:
                return f"unknown refund {refund_id}"
            data = reply.get("data") if isinstance(reply, dict) else None
            if not isinstance(data, dict):
                return 'the reply has no "data" object with out_refund_no'
            try:
                no = v.string(data, "out_refund_no", required=True, max_bytes=64)
                schema = v.schema(data.get("order_entry_schema"), "order_entry_schema", required=False)
                notify_url = v.https_url(data, "notify_url")
            except Refusal as refusal:
                return refusal.err_msg
            owner = self._refund_by_out.get(no)
            if owner is not None and owner != refund_id:
                return f"out_refund_no {no} is already used by refund {owner} (must be unique within the app)"
            if refund.stage != "awaiting_reply":
                same = refund.out_refund_no == no
                return "" if same else f"refund {refund_id} already has out_refund_no {refund.out_refund_no}"
            refund.out_refund_no = no
            refund.order_entry_schema = schema
            refund.notify_url = notify_url
            self._refund_by_out[no] = refund_id
            self._after_reply(refund, now)
            return ""

    def still_wanted(self, notice: Notice) -> bool:
        """Whether a (re)delivery still makes sense: pre_create_refund stops once auto-passed."""
        if notice.type != "pre_create_refund":
            return True
        with self._lock:
            refund = self.refunds.get(notice.subject_id)
            return refund is not None and not refund.auto_out_refund_no

    def refund_audit_callback(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._txn() as now:
            refund_id = v.string(body, "refund_id", required=True, max_bytes=64)
            status = v.integer(body, "refund_audit_status", required=True)
            if status not in (1, 2):
                raise v.param_error("refund_audit_status", "must be 1 (agree) or 2 (deny)")
            deny = v.string(body, "deny_message", required=status == 2, max_bytes=512)
            refund = self.refunds.get(refund_id)
            if refund is None:
                raise Refusal(ERR_NOT_FOUND, f"退款单不存在 refund not found: {refund_id}")
            if refund.stage != "awaiting_audit":
                raise Refusal(
                    ERR_AUDIT_STATE, f"退款单不在待审核状态 refund is not awaiting audit ({refund.audit_status})"
                )
            if status == 1:
                refund.audit_status = "AGREE"
                self._start_processing(refund, now)
            else:
                refund.audit_status = "DENY"
                refund.deny_message = deny
                self._deny(refund, now)
            return {}

    def _deny(self, refund: Refund, now: float) -> None:
        if self._config.get().deny_sends_refund_callback:
            self._finish_refund(refund, "FAIL", now, refund.deny_message)
        else:
            refund.stage, refund.status, refund.refund_at, refund.message = "done", "FAIL", now, refund.deny_message

    # ------------------------------------------------------------------ refund_query (§4.6)

    def refund_query(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._txn():
            field, value = v.one_of(body, ("refund_id", "out_refund_no", "order_id"), exactly=True)
            if field == "refund_id":
                found = [self.refunds[value]] if value in self.refunds else []
            elif field == "out_refund_no":
                found = [self.refunds[self._refund_by_out[value]]] if value in self._refund_by_out else []
            else:
                order = self.orders.get(value)
                found = self._refunds_of(order)[:REFUND_QUERY_LIMIT] if order else []
            return {"refund_list": [self._refund_view(r) for r in found]}

    def _refund_view(self, r: Refund) -> dict[str, Any]:
        audit: dict[str, Any] = {
            "audit_status": r.audit_status,
            "need_refund_audit": 1 if r.need_audit else 2,
            "refund_audit_deadline": ms(r.audit_deadline),
        }
        if r.deny_message:
            audit["deny_message"] = r.deny_message
        view: dict[str, Any] = {
            "refund_id": r.refund_id,
            "out_refund_no": r.out_refund_no,
            "order_id": r.order_id,
            "refund_status": r.status,
            "refund_total_amount": r.amount,
            "item_order_detail": r.item_order_detail,
            "create_at": ms(r.created_at),
            "message": r.message,
            "refund_source": r.source,
            "merchant_audit_detail": audit,
        }
        if r.refund_at is not None:
            view["refund_at"] = ms(r.refund_at)
        if self.orders[r.order_id].data.currency == "DIAMOND":
            view["currency"] = "DIAMOND"
        return view

    def complete_refund(self, out_refund_no: str, status: str = "SUCCESS") -> dict[str, Any]:
        """Finish a processing refund now (by out_refund_no, or refund_id before it has one)."""
        if status not in ("SUCCESS", "FAIL"):
            raise ControlError(400, "status must be SUCCESS or FAIL")
        with self._txn() as now:
            refund = self.refunds.get(self._refund_by_out.get(out_refund_no, out_refund_no))
            if refund is None:
                raise ControlError(404, f"no refund {out_refund_no}")
            if refund.stage != "processing":
                raise ControlError(409, f"refund {out_refund_no} is {refund.stage} ({refund.status}), not processing")
            self._finish_refund(refund, status, now)
            return self._refund_view(refund)

    # ------------------------------------------------------------------ settle_create / settle_query

    def settle_create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._txn() as now:
            cfg = self._config.get()
            out_order_no = v.string(body, "out_order_no", required=True, max_bytes=64)
            out_settle_no = v.string(body, "out_settle_no", required=True, max_bytes=64)
            settle_desc = v.string(body, "settle_desc", required=True, max_bytes=512)
            payees = v.settle_params(body)
            item_order_id = v.string(body, "item_order_id", required=False, max_bytes=64)
            ext = v.string(body, "ext", required=False, max_bytes=2048)
            notify_url = v.https_url(body, "notify_url")
            if v.string(body, "app_id", required=False) not in ("", cfg.app_id):
                raise v.param_error("app_id", "is not this token's app")
            if out_settle_no in self._settle_by_out:
                raise Refusal(ERR_SETTLE_DUPLICATE, "out_settle_no 已存在, 请使用查询接口 already exists: query it")
            order = self.orders.get(self._order_by_out.get(out_order_no, ""))
            if order is None:
                raise Refusal(ERR_SETTLE_NO_ORDER, f"订单不存在 order not found: out_order_no {out_order_no}")
            amounts = self._check_settleable(order, item_order_id, payees, now)
            s = Settlement(
                settle_id="ots" + self._digits(now),
                wallet_settle_id=self._digits(now, 19),
                out_settle_no=out_settle_no,
                order_id=order.order_id,
                out_order_no=out_order_no,
                item_order_id=item_order_id,
                settle_desc=settle_desc,
                payees=payees,
                ext=ext,
                notify_url=notify_url,
                seller_uid=order.merchant_uid,
                created_at=now,
                complete_at=None if cfg.settle_processing_seconds is None else now + cfg.settle_processing_seconds,
                **amounts,
            )
            self.settlements[s.settle_id] = s
            self._settle_by_out[out_settle_no] = s.settle_id
            return {"settle_id": s.settle_id, "wallet_settle_id": s.wallet_settle_id}

    def _check_settleable(
        self, order: Order, item_order_id: str, payees: tuple[v.Payee, ...], now: float
    ) -> dict[str, int]:
        cfg = self._config.get()
        if order.pay_status != "SUCCESS":
            raise Refusal(ERR_SETTLE_UNPAID, f"订单未支付 order {order.order_id} is {order.pay_status}")
        if item_order_id and item_order_id != order.item_order_id:
            raise Refusal(ERR_SETTLE_ITEM, f"item_order_id {item_order_id} 与 out_order_no 不匹配")
        allowed_at = (order.paid_at or now) + cfg.settle_delay_days * 86400
        if now < allowed_at:
            raise Refusal(ERR_SETTLE_NOT_ALLOWED, f"订单不允许分账 settlement allowed from {ms(allowed_at)} (支付 D+N)")
        available = self._settleable(order)
        rake = (available * cfg.rake_basis_points + 5000) // 10000
        commission = int(order.cps["commission_amount"]) if order.cps else 0
        to_payees = sum(p.amount for p in payees)
        if available <= 0 or to_payees + rake + commission > available:
            raise Refusal(
                ERR_SETTLE_NOTHING_LEFT, f"可分账金额不足 available {available}, settle_params need {to_payees}"
            )
        return {"settle_amount": available, "rake": rake, "commission": commission}

    def _finish_settlement(self, s: Settlement, status: str, when: float) -> None:
        s.status = status
        s.settled_at = when
        s.complete_at = None
        s.message = "" if status == "SUCCESS" else "分账失败 settlement failed (simulated)"
        msg = {
            "app_id": self._config.get().app_id,
            "status": status,
            "order_id": s.order_id,
            "settle_id": s.settle_id,
            "out_settle_no": s.out_settle_no,
            "cp_extra": s.ext,
            "message": s.message,
            "event_time": ms(when),
            "rake": s.rake,
            "commission": s.commission,
            "settle_amount": s.settle_amount,
            "settle_detail": s.settle_detail,
            "item_order_id": s.item_order_id,
            "is_auto_settle": False,
        }
        event = "SettleSucDeveloperNotify" if status == "SUCCESS" else "SettleFailDeveloperNotify"
        self._notice("settle", msg, s.notify_url, when, event, s.settle_id)

    def settle_query(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        with self._txn():
            # §4.9: settle_id > order_id > out_settle_no > out_order_no.
            field, value = v.one_of(body, ("settle_id", "order_id", "out_settle_no", "out_order_no"), exactly=False)
            if field == "out_settle_no":
                field, value = "settle_id", self._settle_by_out.get(value, "")
            found = [s for s in self.settlements.values() if getattr(s, field) == value]
            return [self._settlement_view(s) for s in sorted(found, key=lambda s: s.created_at)]

    @staticmethod
    def _settlement_view(s: Settlement) -> dict[str, Any]:
        view: dict[str, Any] = {
            "settle_id": s.settle_id,
            "out_settle_no": s.out_settle_no,
            "order_id": s.order_id,
            "out_order_no": s.out_order_no,
            "item_order_id": s.item_order_id,
            "settle_status": s.status,
            "settle_amount": s.settle_amount,
            "rake": s.rake,
            "commission": s.commission,
            "platform_ticket": 0,
            "settle_detail": s.settle_detail,
            "cp_extra": s.ext,
        }
        if s.settled_at is not None:
            view["settle_at"] = ms(s.settled_at)
        return view

    def complete_settlement(self, out_settle_no: str, status: str = "SUCCESS") -> dict[str, Any]:
        if status not in ("SUCCESS", "FAIL"):
            raise ControlError(400, "status must be SUCCESS or FAIL")
        with self._txn() as now:
            s = self.settlements.get(self._settle_by_out.get(out_settle_no, out_settle_no))
            if s is None:
                raise ControlError(404, f"no settlement {out_settle_no}")
            if s.status != "PROCESSING":
                raise ControlError(409, f"settlement {out_settle_no} is already {s.status}")
            self._finish_settlement(s, status, now)
            return self._settlement_view(s)

    # ------------------------------------------------------------------ views

    def _order_state(self, o: Order) -> dict[str, Any]:
        view = self._order_query_view(o)
        view["expire_at"] = ms(o.expire_at)
        view["cancelled_at"] = [ms(t) for t in o.cancelled_at]
        view["refundable"] = o.paid_amount - self._committed_refunds(o)
        view["settleable"] = self._settleable(o)
        return view

    def state(self) -> dict[str, Any]:
        with self._txn() as now:
            return {
                "client_token": self.tokens.view(now),
                "orders": {o.out_order_no: self._order_state(o) for o in self.orders.values()},
                "refunds": {
                    r.refund_id: {**self._refund_view(r), "stage": r.stage, "notify_url": r.notify_url}
                    for r in self.refunds.values()
                },
                "settlements": {s.out_settle_no: self._settlement_view(s) for s in self.settlements.values()},
            }

    def records(self) -> dict[str, Any]:
        """The raw records (dataclasses as dicts), for debugging."""
        with self._lock:
            return {
                "orders": [dataclasses.asdict(o) for o in self.orders.values()],
                "refunds": [dataclasses.asdict(r) for r in self.refunds.values()],
                "settlements": [dataclasses.asdict(s) for s in self.settlements.values()],
            }
