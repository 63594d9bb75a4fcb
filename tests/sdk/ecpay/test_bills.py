"""Bills (ecpay-spec §3.10) at the HTTP level: signed GET query strings, typed rows, error envelopes."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from douyin_pay import (
    BILL_COLUMNS,
    BillFile,
    BillType,
    PaymentBillRow,
    PlatformError,
    PlatformTransportError,
    RefundBillRow,
    SettleBillRow,
    ValidationError,
    parse_bill,
)
from tests.http_stub import Answer
from tests.sdk.ecpay.test_client import APP_ID, SALT, make_client, md5

SELLER = "69631798443938962290"


def csv_answer(text: str) -> Answer:
    return Answer(200, text.encode("utf-8"), content_type="text/csv; charset=utf-8")


def query_of(recorded) -> tuple[str, list[tuple[str, str]]]:
    parts = urlsplit(recorded.path)
    return parts.path, parse_qsl(parts.query, keep_blank_values=True)


PAYMENT_BILL = (
    "序号,支付时间,商户号,openId,订单号,平台订单号,渠道订单号,订单金额,支付方式,支付状态\n"
    f"1,2021-06-03 10:00:00,{SELLER},open-1,order-1,7398108028895054107,20210603220014500714,12800,支付宝,SUCCESS\n"
    f"2,2021-06-03 11:30:00,{SELLER},open-2,order-2,7398108028895054108,42000012342021060312,1,微信,SUCCESS\n"
)


class TestOldBillQuery:
    def test_query_values_are_in_the_signature(self, stub):
        stub.queue(csv_answer(PAYMENT_BILL))
        make_client(stub).query_bill("20210603", "20210604", SELLER, "payment")
        [sent] = stub.requests
        assert sent.method == "GET"
        path, query = query_of(sent)
        assert path == "/api/apps/bill"
        params = dict(query)
        # §5.2/§5.6 by hand: the four query values plus the SALT, sorted, joined by "&"; app_id is not
        # signed. A client that signed only the SALT (SKIT issue #20) would send md5(SALT).
        expected = md5(f"20210603&20210604&{SELLER}&payment&{SALT}")
        assert params == {
            "start_date": "20210603",
            "end_date": "20210604",
            "seller": SELLER,
            "bill_type": "payment",
            "app_id": APP_ID,
            "sign": expected,
        }
        assert params["sign"] != md5(SALT)

    def test_payment_rows_are_typed(self, stub):
        stub.queue(csv_answer(PAYMENT_BILL))
        rows = make_client(stub).query_bill("20210603", "20210603", SELLER, BillType.PAYMENT)
        assert rows[0] == PaymentBillRow(
            seq=1,
            paid_time="2021-06-03 10:00:00",
            merchant_uid=SELLER,
            open_id="open-1",
            out_order_no="order-1",
            order_id="7398108028895054107",
            channel_order_no="20210603220014500714",
            total_amount=12800,
            pay_way="支付宝",
            status="SUCCESS",
        )
        assert [r.total_amount for r in rows] == [12800, 1]

    def test_provider_mode_sends_the_thirdparty_id_as_app_id(self, stub):
        stub.queue(csv_answer(PAYMENT_BILL))
        make_client(stub, thirdparty_id="tta4bad2000001234").query_bill("20210603", "20210603", SELLER, "payment")
        params = dict(query_of(stub.requests[0])[1])
        assert params["app_id"] == "tta4bad2000001234"
        assert "thirdparty_id" not in params
        assert params["sign"] == md5(f"20210603&20210603&{SELLER}&payment&{SALT}")

    def test_error_envelope_becomes_platform_error(self, stub):
        stub.queue(Answer.json({"err_no": 1, "err_tips": "end_date is before start_date"}))
        with pytest.raises(PlatformError) as caught:
            make_client(stub).query_bill("20210603", "20210603", SELLER, "settle")
        assert (caught.value.err_no, caught.value.err_tips, caught.value.retryable) == (
            1,
            "end_date is before start_date",
            False,
        )
        assert len(stub.requests) == 1

    def test_system_error_is_retried_identically(self, stub):
        stub.queue(Answer.json({"err_no": -1, "err_tips": "system error"}), csv_answer(PAYMENT_BILL))
        make_client(stub).query_bill("20210603", "20210603", SELLER, "payment")
        first, second = stub.requests
        assert first.path == second.path

    def test_signature_error_is_not_retried(self, stub):
        stub.queue(Answer.json({"err_no": 2008, "err_tips": "签名校验异常"}))
        with pytest.raises(PlatformError) as caught:
            make_client(stub).query_bill("20210603", "20210603", SELLER, "payment")
        assert caught.value.err_no == 2008
        assert len(stub.requests) == 1

    def test_http_5xx_is_a_transport_error(self, stub):
        stub.queue(*[Answer(503, b"busy", "text/plain")] * 3)
        with pytest.raises(PlatformTransportError):
            make_client(stub).query_bill("20210603", "20210603", SELLER, "payment")
        assert len(stub.requests) == 3

    @pytest.mark.parametrize(
        ("args", "field"),
        [
            (("2021-06-03", "20210603", SELLER, "payment"), "start_date"),
            (("20210631", "20210701", SELLER, "payment"), "start_date"),
            (("20210604", "20210603", SELLER, "payment"), "end_date"),
            (("20210603", "20210603", " " + SELLER, "payment"), "seller"),  # padded: signed ambiguously
            (("20210603", "20210603", SELLER, "withdraw"), "bill_type"),
        ],
    )
    def test_invalid_request_is_refused_before_sending(self, stub, args, field):
        with pytest.raises(ValidationError) as caught:
            make_client(stub).query_bill(*args)
        assert caught.value.field == field
        assert stub.requests == []


class TestParseBill:
    def test_settle_rows(self):
        text = (
            "\ufeff序号, 分账时间, 商户号, openId, 订单号, 平台订单号, 渠道订单号, 订单金额, 支付方式, 分账单号, "
            "分账状态, 分账方和分账金额, 技术服务费, 抽佣金额\n"
            f"1, 2021-06-10 10:00:00, {SELLER}, o1, order-1, 739, ch1, 12800, 微信, settle-1, SUCCESS, "
            f'"商户号{SELLER}-分成金额(分)12723", 77, 0\n'
        )
        [row] = parse_bill(text.encode(), "settle")
        assert isinstance(row, SettleBillRow)
        assert (row.out_settle_no, row.rake, row.commission, row.total_amount) == ("settle-1", 77, 0, 12800)
        assert row.payees == f"商户号{SELLER}-分成金额(分)12723"

    def test_refund_rows_by_column_name_whatever_the_order(self):
        columns = list(reversed(BILL_COLUMNS[BillType.REFUND]))
        values = {
            "序号": "1",
            "退款时间": "2021-06-04 09:00:00",
            "商户号": SELLER,
            "openId": "o1",
            "订单号": "order-1",
            "渠道订单号": "ch1",
            "订单金额": "12800",
            "支付方式": "支付宝",
            "退款类型": "部分退款",
            "退款单号": "refund-1",
            "平台退款单号": "739",
            "退款状态": "SUCCESS",
            "退款完成时间": "2021-06-04 09:00:05",
            "退款金额": "500",
        }
        text = ",".join(columns) + "\n" + ",".join(values[c] for c in columns) + "\n"
        [row] = parse_bill(text, BillType.REFUND)
        assert isinstance(row, RefundBillRow)
        assert (row.out_refund_no, row.refund_no, row.refund_amount, row.status) == ("refund-1", "739", 500, "SUCCESS")

    def test_header_only_is_an_empty_bill(self):
        assert parse_bill(PAYMENT_BILL.splitlines()[0] + "\n", "payment") == ()

    @pytest.mark.parametrize("amount", ["128.00", "-1", "1e3", "一百"])
    def test_an_amount_that_is_not_whole_fen_is_refused(self, amount):
        text = PAYMENT_BILL.replace(",12800,", f",{amount},")
        with pytest.raises(PlatformTransportError, match="订单金额"):
            parse_bill(text, "payment")

    def test_a_missing_column_is_named(self):
        text = PAYMENT_BILL.replace("支付状态", "状态")
        with pytest.raises(PlatformTransportError, match="支付状态"):
            parse_bill(text, "payment")

    def test_a_row_of_the_wrong_width_is_refused(self):
        with pytest.raises(PlatformTransportError, match="line 3"):
            parse_bill(PAYMENT_BILL.rstrip("\n") + ",extra\n", "payment")

    def test_the_settle_columns_are_not_a_payment_bill(self):
        with pytest.raises(PlatformTransportError, match="分账时间"):
            parse_bill(PAYMENT_BILL, "settle")


class TestNewerBills:
    def test_bills_query_is_signed_and_the_file_returned_as_sent(self, stub):
        stub.queue(Answer(200, b"a,b\n1,2\n", content_type="application/octet-stream"))
        found = make_client(stub).download_bills(SELLER, "20240101", "withdraw")
        assert found == BillFile(content=b"a,b\n1,2\n", content_type="application/octet-stream")
        path, query = query_of(stub.requests[0])
        assert path == "/api/apps/bills"
        assert dict(query) == {
            "app_id": APP_ID,
            "merchant_id": SELLER,
            "bill_date": "20240101",
            "bill_type": "withdraw",
            "sign": md5(f"20240101&{SELLER}&{SALT}&withdraw"),
        }

    def test_fund_bills_query_signs_every_value_and_sends_thirdparty_id_unsigned(self, stub):
        stub.queue(Answer(200, b"x", content_type="text/csv"))
        client = make_client(stub, thirdparty_id="tta4bad2000001234")
        client.download_fund_bills(SELLER, "20240101", trade_type="PAYMENT")
        path, query = query_of(stub.requests[0])
        assert path == "/api/apps/fund/bills"
        params = dict(query)
        assert params["thirdparty_id"] == "tta4bad2000001234"
        assert (params["account_type"], params["payment_type"], params["trade_type"]) == ("ALL", "ALL", "PAYMENT")
        assert params["sign"] == md5(f"20240101&{SELLER}&ALL&ALL&PAYMENT&{SALT}")

    def test_a_month_is_a_valid_bills_date_but_not_a_fund_bills_date(self, stub):
        stub.queue(Answer(200, b"x", content_type="text/csv"))
        make_client(stub).download_bills(SELLER, "202401", "payment")
        with pytest.raises(ValidationError) as caught:
            make_client(stub).download_fund_bills(SELLER, "202401")
        assert caught.value.field == "bill_date"

    def test_json_success_without_a_file_is_unreadable(self, stub):
        stub.queue(*[Answer.json({"err_no": 0, "err_tips": ""})] * 3)
        with pytest.raises(PlatformTransportError):
            make_client(stub).download_bills(SELLER, "20240101", "payment")
