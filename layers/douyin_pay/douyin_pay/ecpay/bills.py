"""Bills (对账单, ecpay-spec §3.10): signed GET queries and the bill rows.

Three endpoints, all ``GET`` with query-string parameters signed by the body rule (§5.2) applied to
the query values: every value except ``app_id`` / ``thirdparty_id`` / ``sign`` is signed. SKIT issue
#20 shipped a client that left the query values out of the signature; here the same
:func:`~douyin_pay.ecpay.signing.request_sign` that signs a body signs the query mapping, which is
exactly what is sent.

* ``GET /api/apps/bill`` (old): ``start_date``, ``end_date`` (``yyyyMMdd``), ``seller`` (merchant
  number), ``bill_type`` ``payment`` / ``settle`` / ``refund``, ``app_id`` (the app, or the
  provider's thirdparty_id) [C DOC-2021: handsomegyr/bytedance ``Ecpay.php`` ``bill()``, transcribing
  microapp.bytedance.com/docs/zh-CN/mini-app/develop/server/ecpay/bill]. On success the answer is a
  table: the first line names the columns, one line per record follows; the columns per bill type
  are the ones listed in :data:`BILL_COLUMNS` (same source). Failures are JSON ``err_no`` /
  ``err_tips``: ``1`` parameter error, ``-1`` system error. Parsed into typed rows here.
* ``GET /api/apps/bills``: ``merchant_id``, ``bill_date`` (``yyyyMMdd``, or ``yyyyMM`` per houseme),
  ``bill_type`` [S SKIT ``AppsBillsRequest.cs`` and its client extension, doc page
  developer.open-douyin.com/.../ecpay/bills/bill; houseme ``payment/bill/domain.go`` lists the types
  payment, settle, refund, return, withdraw, rebate, annual_rebate].
* ``GET /api/apps/fund/bills``: ``merchant_id``, ``bill_date``, ``account_type``, ``payment_type``,
  ``trade_type`` (SKIT defaults each of the last three to ``ALL`` and documents no other value)
  [S SKIT ``AppsFundBillsRequest.cs``, doc page .../ecpay/bills/fundbill].

What is assumed, because no public source says it:

* The two newer endpoints answer with a file whose format no public source gives (SKIT keeps the
  raw bytes; houseme reads a JSON error only). They are returned as :class:`BillFile`, unparsed.
* The old bill is comma-separated text (the doc says "表格形式", its column list is comma-separated)
  in UTF-8, a BOM tolerated. Cells are read by column name, so the order may change; every
  documented column must be present.
* Amounts (订单金额, 技术服务费, 抽佣金额, 退款金额) are integer fen like every other ecpay amount;
  a cell that is not a whole number (e.g. ``1.00`` yuan) is refused, never converted.
* 订单号 / 退款单号 are the developer's numbers and 平台订单号 / 平台退款单号 the platform's (the doc
  pairs them so); 分账单号, which has no 平台 twin, is read as the developer's out_settle_no [I].
"""

from __future__ import annotations

import csv
import datetime
import io
import json
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, NoReturn

from .. import _fields as read
from ..errors import PlatformError, PlatformTransportError, ValidationError
from . import validation as rules

BILL_PATH = "/api/apps/bill"
BILLS_PATH = "/api/apps/bills"
FUND_BILLS_PATH = "/api/apps/fund/bills"

# err_no values of the bill endpoints worth repeating the identical request for: -1 system error
# (the bill's own code, DOC-2021) and the ecpay-wide 1000 / 1001.
RETRYABLE_BILL_ERR_NOS = frozenset({-1, 1000, 1001})


class BillType(StrEnum):
    PAYMENT = "payment"
    SETTLE = "settle"
    REFUND = "refund"


# Types of the newer GET /api/apps/bills (houseme/bytedance payment/bill/domain.go).
BILLS_TYPES = frozenset({"payment", "settle", "refund", "return", "withdraw", "rebate", "annual_rebate"})


def _unexpected(key: str, problem: str) -> NoReturn:
    raise PlatformTransportError(f"unexpected bill: {key!r} {problem}")


# -- request fields ------------------------------------------------------------------------------


def bill_date(field: str, value: object, *, month_allowed: bool = False) -> str:
    """A calendar date ``yyyyMMdd`` (or, where allowed, a month ``yyyyMM``)."""
    formats = {8: "%Y%m%d", 6: "%Y%m"} if month_allowed else {8: "%Y%m%d"}
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) in formats:
        try:
            datetime.datetime.strptime(value, formats[len(value)])
        except ValueError:
            pass
        else:
            return value
    shape = "yyyyMMdd or yyyyMM" if month_allowed else "yyyyMMdd"
    raise ValidationError(field, f"must be a date written {shape}", code="invalid_date")


def bill_fields(start_date: str, end_date: str, seller: str, bill_type: BillType | str) -> dict[str, str]:
    """The old bill's query values (app_id and sign are added by the client)."""
    start = bill_date("start_date", start_date)
    end = bill_date("end_date", end_date)
    if end < start:  # the doc's own error example: "end_date is before start_date"
        raise ValidationError("end_date", "must not be before start_date", code="invalid_date")
    try:
        kind = BillType(bill_type)
    except ValueError:
        kinds = [t.value for t in BillType]
        raise ValidationError("bill_type", f"must be one of {kinds}", code="invalid_bill_type") from None
    return {
        "start_date": start,
        "end_date": end,
        "seller": rules.merchant_uid("seller", seller),
        "bill_type": kind.value,
    }


def bills_fields(merchant_id: str, date: str, bill_type: str) -> dict[str, str]:
    if not isinstance(bill_type, str) or bill_type not in BILLS_TYPES:
        raise ValidationError("bill_type", f"must be one of {sorted(BILLS_TYPES)}", code="invalid_bill_type")
    return {
        "merchant_id": rules.merchant_uid("merchant_id", merchant_id),
        "bill_date": bill_date("bill_date", date, month_allowed=True),
        "bill_type": bill_type,
    }


def fund_bills_fields(
    merchant_id: str, date: str, *, account_type: str = "ALL", payment_type: str = "ALL", trade_type: str = "ALL"
) -> dict[str, str]:
    return {
        "merchant_id": rules.merchant_uid("merchant_id", merchant_id),
        "bill_date": bill_date("bill_date", date),
        "account_type": rules.text("account_type", account_type, max_chars=32),
        "payment_type": rules.text("payment_type", payment_type, max_chars=32),
        "trade_type": rules.text("trade_type", trade_type, max_chars=32),
    }


# -- the answer ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BillFile:
    """A bill file as the platform sent it (the newer endpoints: format undocumented)."""

    content: bytes
    content_type: str


def bill_answer(status: int, content: bytes, content_type: str, what: str) -> BillFile:
    """The bill a GET answered, or the typed error its JSON envelope carries."""
    if status >= 500 or status == 429:
        raise PlatformTransportError(f"{what}: HTTP {status}", http_status=status)
    if status != 200:
        raise PlatformError(None, f"{what}: HTTP {status}", http_status=status, retryable=False)
    if content.lstrip()[:1] == b"{":
        try:
            payload = json.loads(content)
        except (ValueError, RecursionError) as exc:
            raise PlatformTransportError(f"{what}: answer is not JSON", http_status=status) from exc
        err_no = payload.get("err_no") if isinstance(payload, dict) else None
        if isinstance(err_no, bool) or not isinstance(err_no, int):
            raise PlatformTransportError(f"{what}: answer has no err_no", http_status=status)
        tips = payload.get("err_tips")
        tips = tips if isinstance(tips, str) else ""
        if err_no == 0:  # a JSON success is no bill: nothing documents one
            raise PlatformTransportError(f"{what}: answered err_no 0 without a bill", http_status=status)
        raise PlatformError(err_no, tips, http_status=status, retryable=err_no in RETRYABLE_BILL_ERR_NOS)
    if not content:
        raise PlatformTransportError(f"{what}: empty answer", http_status=status)
    return BillFile(content=content, content_type=content_type)


# -- the old bill's rows -----------------------------------------------------------------------------


def _cell(column: str, reader: Any = read.as_str, *, required: bool = False) -> Any:
    return read.wire(column, reader, required=required)


@dataclass(frozen=True)
class PaymentBillRow:
    """One row of the payment bill (fen)."""

    seq: int = _cell("序号", read.as_int, required=True)
    paid_time: str = _cell("支付时间", required=True)
    merchant_uid: str = _cell("商户号")
    open_id: str = _cell("openId")
    out_order_no: str = _cell("订单号", required=True)
    order_id: str = _cell("平台订单号")
    channel_order_no: str = _cell("渠道订单号")
    total_amount: int = _cell("订单金额", read.as_amount, required=True)
    pay_way: str = _cell("支付方式")
    status: str = _cell("支付状态", required=True)


@dataclass(frozen=True)
class SettleBillRow:
    """One row of the settlement bill (fen)."""

    seq: int = _cell("序号", read.as_int, required=True)
    settle_time: str = _cell("分账时间", required=True)
    merchant_uid: str = _cell("商户号")
    open_id: str = _cell("openId")
    out_order_no: str = _cell("订单号", required=True)
    order_id: str = _cell("平台订单号")
    channel_order_no: str = _cell("渠道订单号")
    total_amount: int = _cell("订单金额", read.as_amount, required=True)
    pay_way: str = _cell("支付方式")
    out_settle_no: str = _cell("分账单号")
    status: str = _cell("分账状态", required=True)
    payees: str = _cell("分账方和分账金额")  # free text, e.g. 商户号…-分成金额(分)… (like settle_detail)
    rake: int | None = _cell("技术服务费", read.as_amount)
    commission: int | None = _cell("抽佣金额", read.as_amount)


@dataclass(frozen=True)
class RefundBillRow:
    """One row of the refund bill (fen)."""

    seq: int = _cell("序号", read.as_int, required=True)
    refund_time: str = _cell("退款时间", required=True)
    merchant_uid: str = _cell("商户号")
    open_id: str = _cell("openId")
    out_order_no: str = _cell("订单号", required=True)
    channel_order_no: str = _cell("渠道订单号")
    total_amount: int = _cell("订单金额", read.as_amount, required=True)
    pay_way: str = _cell("支付方式")
    refund_type: str = _cell("退款类型")
    out_refund_no: str = _cell("退款单号", required=True)
    refund_no: str = _cell("平台退款单号")
    status: str = _cell("退款状态", required=True)
    refunded_time: str = _cell("退款完成时间")
    refund_amount: int = _cell("退款金额", read.as_amount, required=True)


BillRow = PaymentBillRow | SettleBillRow | RefundBillRow
ROW_TYPES: dict[BillType, type[PaymentBillRow] | type[SettleBillRow] | type[RefundBillRow]] = {
    BillType.PAYMENT: PaymentBillRow,
    BillType.SETTLE: SettleBillRow,
    BillType.REFUND: RefundBillRow,
}


def columns_of(row_type: type[Any]) -> tuple[str, ...]:
    """The documented columns of a bill type, in the documented order."""
    return tuple(f.metadata[read._WIRE][0] for f in fields(row_type))


BILL_COLUMNS = {kind: columns_of(row_type) for kind, row_type in ROW_TYPES.items()}


def parse_bill(content: bytes | str, bill_type: BillType | str) -> tuple[BillRow, ...]:
    """The typed rows of an old-style bill (``GET /api/apps/bill``) of ``bill_type``.

    Raises :class:`PlatformTransportError` naming the column when the table is not the documented
    one (a missing column, a row of the wrong width, an amount that is not whole fen).
    """
    kind = BillType(bill_type)
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            _unexpected("bill", "is not UTF-8 text")
    content = content.removeprefix("\ufeff")
    lines = list(csv.reader(io.StringIO(content), skipinitialspace=True))
    lines = [[cell.strip() for cell in line] for line in lines if any(cell.strip() for cell in line)]
    if not lines:
        _unexpected("bill", "has no header line")
    header, *records = lines
    missing = [c for c in BILL_COLUMNS[kind] if c not in header]
    if missing:
        _unexpected(missing[0], f"is not a column of the {kind.value} bill")
    if len(set(header)) != len(header):
        _unexpected("bill", "repeats a column name")
    row_type = ROW_TYPES[kind]
    rows = []
    for number, record in enumerate(records, start=2):
        if len(record) != len(header):
            _unexpected(f"line {number}", f"has {len(record)} cells for {len(header)} columns")
        rows.append(read.build(row_type, dict(zip(header, record, strict=True)), _unexpected))
    return tuple(rows)
