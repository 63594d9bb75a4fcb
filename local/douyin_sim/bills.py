"""Bills (ecpay-spec §3.10): ``GET /api/apps/bill`` (endpoint "bill") and ``GET /api/apps/bills``
("bills"), generated from what the platform recorded.

The query string is signed by the body rule (§5.2) applied to its values: every parameter except
``app_id`` / ``thirdparty_id`` / ``sign`` is signed, and a wrong sign is refused with 2008 like the
POST endpoints [I: the bill page lists only 1 and -1]. ``app_id`` is the app, or the provider's
thirdparty_id (DOC-2021). A parameter given twice is a parameter error. Errors are JSON
``{err_no, err_tips}``: 1 parameter error (DOC-2021: "end_date is before start_date" is its
example), 2042 / 2047 for an unknown app / provider, 2008 a bad sign.

A bill is comma-separated UTF-8 text (``text/csv``): the first line names the columns — the
documented ones per ``bill_type`` (DOC-2021, transcribed in handsomegyr/bytedance ``Ecpay.php``)
— then one line per record. Amounts are integer fen, times ``yyyy-MM-dd HH:mm:ss`` in Beijing time
and dates are Beijing days [I: the doc shows neither]. The records of a day are:

* ``payment``: orders paid that day; ``settle``: settlements completed (SUCCESS or FAIL) that day;
  ``refund``: refunds requested that day, with their current status and completion time.

``/api/apps/bills`` (``merchant_id``, ``bill_date`` a day or a month ``yyyyMM``, ``bill_type``)
answers the same table [I: its format is undocumented]; of its types only payment / settle /
refund are simulated, the others (return, withdraw, rebate, annual_rebate) are refused with 1.

``/api/apps/fund/bills`` (``merchant_id``, ``bill_date`` a day, ``account_type``, ``payment_type``,
``trade_type``: only ``ALL`` is documented for the last three, SKIT, so anything else is refused
with 1) answers the merchant's fund flow of that day [I: the format is undocumented, and the SDK
returns the file unparsed]: what reached its withdrawable balance and what left it — a succeeded
settlement's share (收入), a refund taken after settlement (支出), a withdrawal (支出) — as
``FUND_COLUMNS``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from .api import ERR_APP_ID, ERR_SIGN, ERR_THIRDPARTY
from .config import ConfigHolder
from .funds import Funds
from .platform import _CST, Platform, format_time
from .signatures import request_sign_matches

ERR_BILL_PARAM = 1  # DOC-2021
ERR_BILL_SYSTEM = -1

PAY_WAY_NAMES = {1: "微信", 2: "支付宝", 3: "银行卡", 10: "抖音支付"}  # [I: the doc names no values]

_ORDER_COLUMNS = ("商户号", "openId", "订单号", "平台订单号", "渠道订单号", "订单金额", "支付方式")
COLUMNS = {
    "payment": ("序号", "支付时间", *_ORDER_COLUMNS, "支付状态"),
    "settle": (
        *("序号", "分账时间", *_ORDER_COLUMNS),
        *("分账单号", "分账状态", "分账方和分账金额", "技术服务费", "抽佣金额"),
    ),
    "refund": (
        *("序号", "退款时间", "商户号", "openId", "订单号", "渠道订单号", "订单金额", "支付方式", "退款类型"),
        *("退款单号", "平台退款单号", "退款状态", "退款完成时间", "退款金额"),
    ),
}
NEWER_TYPES = ("payment", "settle", "refund", "return", "withdraw", "rebate", "annual_rebate")
FUND_COLUMNS = ("序号", "时间", "商户号", "渠道", "交易类型", "收支类型", "金额", "单号")
FUND_FILTERS = ("account_type", "payment_type", "trade_type")

Answer = tuple[int, bytes, str]


class _Refused(Exception):
    def __init__(self, err_no: int, err_tips: str) -> None:
        super().__init__(err_tips)
        self.err_no = err_no
        self.err_tips = err_tips


def _day(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(int(ts), tz=UTC).astimezone(_CST).strftime("%Y%m%d")


def _date(query: dict[str, str], field: str, *, month: bool = False) -> str:
    value = query.get(field, "")
    for fmt, size in (("%Y%m%d", 8), ("%Y%m", 6)) if month else (("%Y%m%d", 8),):
        if len(value) == size and value.isdigit():
            try:
                datetime.strptime(value, fmt)
            except ValueError:
                break
            return value
    raise _Refused(ERR_BILL_PARAM, f"{field} must be a date yyyyMMdd")


class BillApi:
    def __init__(self, config: ConfigHolder, platform: Platform, funds: Funds) -> None:
        self._config = config
        self._platform = platform
        self._funds = funds

    def handle(self, endpoint: str, query_string: str) -> Answer:
        """The answer of ``GET`` ``endpoint``: (HTTP status, body, content type)."""
        try:
            query = self._authenticated(query_string)
            if endpoint == "fund_bills":
                return 200, self._fund_bill(query), "text/csv; charset=utf-8"
            if endpoint == "bill":
                start, end = _date(query, "start_date"), _date(query, "end_date")
                if end < start:
                    raise _Refused(ERR_BILL_PARAM, "end_date is before start_date")
                seller, bill_type = query.get("seller", ""), query.get("bill_type", "")
                days: Callable[[str], bool] = lambda day: start <= day <= end  # noqa: E731
            else:
                date = _date(query, "bill_date", month=True)
                seller, bill_type = query.get("merchant_id", ""), query.get("bill_type", "")
                if bill_type in NEWER_TYPES and bill_type not in COLUMNS:
                    raise _Refused(ERR_BILL_PARAM, f"bill_type {bill_type} is not simulated")
                days = lambda day: day.startswith(date)  # noqa: E731
            if bill_type not in COLUMNS:
                raise _Refused(ERR_BILL_PARAM, f"bill_type must be one of {list(COLUMNS)}")
            if seller != self._config.get().seller_uid:
                raise _Refused(ERR_BILL_PARAM, f"unknown merchant {seller}")
            return 200, self._table(bill_type, days), "text/csv; charset=utf-8"
        except _Refused as refused:
            body = json.dumps({"err_no": refused.err_no, "err_tips": refused.err_tips}, ensure_ascii=False)
            return 200, body.encode("utf-8"), "application/json; charset=utf-8"

    def _authenticated(self, query_string: str) -> dict[str, str]:
        try:
            pairs = parse_qsl(query_string, keep_blank_values=True, strict_parsing=bool(query_string))
        except ValueError:
            raise _Refused(ERR_BILL_PARAM, "the query string is not readable") from None
        query = dict(pairs)
        if len(query) != len(pairs):
            raise _Refused(ERR_BILL_PARAM, "a parameter is given twice")
        cfg = self._config.get()
        if query.get("app_id") not in {cfg.app_id, cfg.thirdparty_id} - {None, ""}:
            raise _Refused(ERR_APP_ID, "app_id 无效 invalid app_id")
        thirdparty_id = query.get("thirdparty_id")
        if thirdparty_id is not None and thirdparty_id != cfg.thirdparty_id:
            raise _Refused(ERR_THIRDPARTY, "thirdparty_id 无效 invalid thirdparty_id")
        sign = query.get("sign", "")
        if not sign or not request_sign_matches(query, cfg.salt, sign):
            raise _Refused(ERR_SIGN, "签名校验异常,请使用正确的签名")
        return query

    def _fund_bill(self, query: dict[str, str]) -> bytes:
        day = _date(query, "bill_date")
        for name in FUND_FILTERS:
            if query.get(name) != "ALL":
                raise _Refused(ERR_BILL_PARAM, f"{name} must be ALL (the only documented value)")
        merchant = query.get("merchant_id", "")
        with self._platform.transaction():
            if merchant not in self._funds.merchants():
                raise _Refused(ERR_BILL_PARAM, f"unknown merchant {merchant}")
            flows = sorted(self._funds.flows(merchant), key=lambda f: f[0])
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(FUND_COLUMNS)
        rows = (f for f in flows if _day(f[0]) == day)
        for seq, (at, channel, kind, direction, amount, ref) in enumerate(rows, start=1):
            writer.writerow([seq, format_time(at), merchant, channel, kind, direction, amount, ref])
        return out.getvalue().encode("utf-8")

    def _table(self, bill_type: str, days: Callable[[str], bool]) -> bytes:
        with self._platform.transaction():
            records = list(getattr(self, f"_{bill_type}_rows")(days))
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS[bill_type])
        for seq, record in enumerate(records, start=1):
            writer.writerow([seq, *record])
        return out.getvalue().encode("utf-8")

    def _payment_rows(self, days: Callable[[str], bool]) -> Iterator[list[Any]]:
        for o in sorted(self._platform.orders.values(), key=lambda o: o.paid_at or 0):
            if o.status == "SUCCESS" and days(_day(o.paid_at)):
                yield [
                    format_time(o.paid_at), o.seller_uid, "", o.out_order_no, o.order_id, o.channel_no,
                    o.total_amount, PAY_WAY_NAMES.get(o.way, ""), "SUCCESS",
                ]  # fmt: skip

    def _settle_rows(self, days: Callable[[str], bool]) -> Iterator[list[Any]]:
        p = self._platform
        for s in sorted(p.settlements.values(), key=lambda s: s.settled_at or 0):
            if s.settled_at is None or not days(_day(s.settled_at)):
                continue
            o = p.orders[s.out_order_no]
            yield [
                format_time(s.settled_at), o.seller_uid, "", o.out_order_no, o.order_id, o.channel_no, o.total_amount,
                PAY_WAY_NAMES.get(o.way, ""), s.out_settle_no, s.status, p.settle_detail(s), s.rake, s.commission,
            ]  # fmt: skip

    def _refund_rows(self, days: Callable[[str], bool]) -> Iterator[list[Any]]:
        p = self._platform
        for r in sorted(p.refunds.values(), key=lambda r: r.created_at):
            if not days(_day(r.created_at)):
                continue
            o = p.orders[r.out_order_no]
            kind = "全额退款" if r.refund_amount == o.total_amount else "部分退款"  # [I]
            yield [
                format_time(r.created_at), o.seller_uid, "", o.out_order_no, o.channel_no, o.total_amount,
                PAY_WAY_NAMES.get(o.way, ""), kind, r.out_refund_no, r.refund_no, r.status,
                format_time(r.refunded_at), r.refund_amount,
            ]  # fmt: skip
