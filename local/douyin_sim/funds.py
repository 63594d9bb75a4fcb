"""The merchant's money: balance, withdrawal and withdrawal query (ecpay-spec §3.12, §7.6).

Served under ``/api/apps/ecpay/saas/`` and signed like every ecpay request (api.py checks app_id,
thirdparty_id and the sign first). Field names as in the SDKs that copied the doc tables (SKIT,
HeartGarlic/douyin-openapi, houseme/bytedance; see the SDK's ``ecpay/funds.py``): request
``merchant_uid``, ``channel_type``, ``withdraw_amount``, ``out_order_id``, ``callback``, ``cp_extra``;
answers ``account_info{online_balance, withdrawable_balacne (sic), freeze_balance}`` +
``settle_info``, ``order_id``, ``status`` + ``statusMsg``.

The balance is derived from what the platform really recorded, per merchant and per channel (the
money sits in the channel that collected it; way 1 → ``wx``, 2 → ``alipay``, 10 and 3 → ``hz`` [I:
bank-card payments go through Douyin Pay's cashier]):

* ``online_balance`` (在途): the seller's orders' money not yet settled;
* ``withdrawable_balacne``: what succeeded settlements paid the merchant (the seller's share, or a
  payee's amount), plus settlement returns to the seller and minus those taken from a payee [I],
  minus refunds taken after settlement (``all_settle`` = 1, processing or done, §7.6), minus
  withdrawals (processing or done; a failed one gives the money back);
* ``freeze_balance``: 0 (nothing freezes money here).

Rules [I: the codes are not documented for these endpoints]: a merchant that is neither the
seller nor a payee of any settlement → 4000 ("merchant id doesn't match AppID", §3.12); a channel
not in alipay / wx / hz / yeepay / yzt, or a field breaking its rule → 2010; a withdrawal above the
withdrawable balance → 2010 "可提现余额不足"; an unknown ``out_order_id`` on the query → 2000. A
repeated ``out_order_id`` gets the first request's answer, and one whose first request was refused
stays refused (§2, as the other business numbers). An accepted withdrawal is PROCESSING and
succeeds ``withdraw_processing_seconds`` later, with a ``withdraw`` callback (§6.4 [S DOC-HG]) to
its ``callback`` URL, else the console URL: ``{status, extra (the cp_extra), message, withdraw_at,
order_id, out_order_id, ch_order_id}``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from . import validation as v
from .platform import ERR_NOT_FOUND, Order, Platform
from .validation import Refusal

ERR_MERCHANT = 4000  # §3.12 query_merchant_status: merchant id does not belong to the app
CHANNELS = ("alipay", "wx", "hz", "yeepay", "yzt")
CHANNEL_OF_WAY = {1: "wx", 2: "alipay", 3: "hz", 10: "hz"}
_HOLDING = ("PROCESSING", "SUCCESS")  # a withdrawal or refund that holds its money
INCOME, EXPENSE = "收入", "支出"
Flow = tuple[float, str, str, str, int, str]  # time, channel, kind, income or expense, fen, reference


@dataclass
class Withdrawal:
    out_order_id: str
    order_id: str
    merchant_uid: str
    channel_type: str
    amount: int
    callback: str
    cp_extra: str
    created_at: float
    complete_at: float
    status: str = "PROCESSING"
    withdraw_at: float | None = None
    ch_order_id: str = ""


class Funds:
    """The three /saas/ endpoints, kept under the platform's lock (attached as a ledger)."""

    def __init__(self, platform: Platform) -> None:
        self._platform = platform
        self.withdrawals: dict[str, Withdrawal] = {}
        self._refused: dict[str, Refusal] = {}
        self._seq = 0
        platform.attach(self)

    # ------------------------------------------------------------------ endpoints

    def query_merchant_balance(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._platform.transaction():
            merchant, channel = self._merchant_and_channel(body)
            return {
                "account_info": {
                    "online_balance": self._online(merchant, channel),
                    "withdrawable_balacne": max(self._withdrawable(merchant, channel), 0),
                    "freeze_balance": 0,
                },
                "settle_info": {"settle_type": 1, "settle_account": "", "bankcard_no": "", "bank_name": ""},
                "merchant_entity": 1,
            }

    def merchant_withdraw(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._platform.transaction() as now:
            key = body.get("out_order_id")
            if v.is_valid_number(key):
                if key in self._refused:
                    first = self._refused[key]
                    raise Refusal(first.err_no, f"{first.err_tips}; out_order_id {key} was spent, use a new one")
                if key in self.withdrawals:
                    return {"order_id": self.withdrawals[key].order_id, "merchant_entity": 1}
            try:
                withdrawal = self._withdraw(body, now)
            except Refusal as refusal:
                if v.is_valid_number(key):
                    self._refused[key] = refusal
                raise
            self.withdrawals[withdrawal.out_order_id] = withdrawal
            return {"order_id": withdrawal.order_id, "merchant_entity": 1}

    def query_withdraw_order(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._platform.transaction():
            merchant, channel = self._merchant_and_channel(body)
            out_order_id = v.business_no(body, "out_order_id")
            w = self.withdrawals.get(out_order_id)
            if w is None or (w.merchant_uid, w.channel_type) != (merchant, channel):
                raise Refusal(ERR_NOT_FOUND, f"提现单不存在 withdrawal not found: {out_order_id}")
            return {"status": w.status, "statusMsg": "提现成功" if w.status == "SUCCESS" else "处理中"}

    # ------------------------------------------------------------------ ledger (under the lock)

    def tick_locked(self, now: float) -> None:
        for w in self.withdrawals.values():
            if w.status == "PROCESSING" and now >= w.complete_at:
                self._succeed(w)

    def next_due_locked(self) -> float | None:
        due = [w.complete_at for w in self.withdrawals.values() if w.status == "PROCESSING"]
        return min(due) if due else None

    def state_locked(self) -> dict[str, Any]:
        return {"withdrawals": {k: dataclasses.asdict(w) for k, w in self.withdrawals.items()}}

    # ------------------------------------------------------------------ rules

    def _withdraw(self, body: Mapping[str, Any], now: float) -> Withdrawal:
        merchant, channel = self._merchant_and_channel(body)
        amount = v.amount(body, "withdraw_amount")
        out_order_id = v.business_no(body, "out_order_id")
        callback = v.text(body, "callback", required=False, max_chars=256)
        if callback and not callback.startswith("https://"):
            raise v.param_error("callback", "must be an https:// URL")
        cp_extra = v.cp_extra(body, truncate=False)
        available = self._withdrawable(merchant, channel)
        if amount > available:
            raise Refusal(v.ERR_PARAM, f"可提现余额不足 withdraw_amount {amount} > withdrawable {max(available, 0)}")
        self._seq += 1
        order_id = f"W{int(now) % 10**10:010d}{self._seq:08d}"
        processing = self._platform._config.get().withdraw_processing_seconds
        return Withdrawal(out_order_id, order_id, merchant, channel, amount, callback, cp_extra, now, now + processing)

    def _succeed(self, w: Withdrawal) -> None:
        w.status = "SUCCESS"
        w.withdraw_at = w.complete_at
        w.ch_order_id = "CH" + w.order_id[1:]
        msg = {
            "status": w.status,
            "extra": w.cp_extra,
            "message": "",
            "withdraw_at": int(w.withdraw_at),
            "order_id": w.order_id,
            "out_order_id": w.out_order_id,
            "ch_order_id": w.ch_order_id,
        }
        self._platform.queue_notice("withdraw", msg, w.callback, w.complete_at)

    def _merchant_and_channel(self, body: Mapping[str, Any]) -> tuple[str, str]:
        merchant = v.text(body, "merchant_uid", required=True, max_chars=32)
        channel = v.text(body, "channel_type", required=True)
        if channel not in CHANNELS:
            raise v.param_error("channel_type", f"one of {list(CHANNELS)}")
        if merchant not in self.merchants():
            raise Refusal(ERR_MERCHANT, f"商户号和APPID不对应 merchant_uid {merchant} does not belong to this app")
        return merchant, channel

    def merchants(self) -> set[str]:
        p = self._platform
        known = {p._config.get().seller_uid} | {o.seller_uid for o in p.orders.values() if o.seller_uid}
        return known | {payee.merchant_uid for s in p.settlements.values() for payee in s.payees}

    def _orders_on(self, channel: str) -> dict[str, Order]:
        return {no: o for no, o in self._platform.orders.items() if CHANNEL_OF_WAY.get(o.way) == channel}

    def _online(self, merchant: str, channel: str) -> int:
        return sum(self._platform.in_transit(o) for o in self._orders_on(channel).values() if o.seller_uid == merchant)

    def _withdrawable(self, merchant: str, channel: str) -> int:
        return sum(
            amount if direction == INCOME else -amount
            for _, on, _, direction, amount, _ in self.flows(merchant)
            if on == channel
        )

    def flows(self, merchant: str) -> list[Flow]:
        """Every movement of ``merchant``'s withdrawable money: (time, channel, kind, income or
        expense, fen, reference). The balance and the fund bill are both read from it."""
        p = self._platform
        channel_of = {no: CHANNEL_OF_WAY.get(o.way, "") for no, o in p.orders.items()}
        settled = [s for s in p.settlements.values() if s.status == "SUCCESS"]
        out = [
            *self._settlement_flows(merchant, settled, channel_of),
            *self._return_flows(merchant, settled, channel_of),
        ]
        for r in p.refunds.values():
            if r.all_settle and r.status in _HOLDING and p.orders[r.out_order_no].seller_uid == merchant:
                out.append(
                    (r.created_at, channel_of[r.out_order_no], "退款", EXPENSE, r.refund_amount, r.out_refund_no)
                )
        for w in self.withdrawals.values():
            if w.merchant_uid == merchant and w.status in _HOLDING:
                out.append((w.created_at, w.channel_type, "提现", EXPENSE, w.amount, w.out_order_id))
        return out

    def _settlement_flows(self, merchant: str, settled: list[Any], channel_of: dict[str, str]) -> Iterator[Flow]:
        for s in settled:
            at, on = s.settled_at or s.created_at, channel_of[s.out_order_no]
            if self._platform.orders[s.out_order_no].seller_uid == merchant:
                yield (at, on, "分账", INCOME, s.seller_amount, s.out_settle_no)
            for payee in s.payees:
                if payee.merchant_uid == merchant:
                    yield (at, on, "分账", INCOME, payee.amount, s.out_settle_no)

    def _return_flows(self, merchant: str, settled: list[Any], channel_of: dict[str, str]) -> Iterator[Flow]:
        by_settle_no = {s.settle_no: s for s in settled}
        for r in self._platform.returns.values():
            s = by_settle_no.get(r.settle_no)
            if s is None or r.status != "SUCCESS":
                continue
            at, on = r.finish_time or r.created_at, channel_of[s.out_order_no]
            if r.merchant_uid == merchant:
                yield (at, on, "分账回退", EXPENSE, r.return_amount, r.out_return_no)
            if self._platform.orders[s.out_order_no].seller_uid == merchant:
                yield (at, on, "分账回退", INCOME, r.return_amount, r.out_return_no)
