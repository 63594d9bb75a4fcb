"""The simulator's bills (GET /api/apps/bill, /api/apps/bills): generated from the recorded
payments, settlements and refunds of the asked day, the query values' signature verified, and
read back by the SDK's strict bill parser."""

from __future__ import annotations

import hashlib

import pytest

from douyin_pay import EcpayClient, PaymentBillRow, PlatformError, RetryPolicy, parse_bill
from douyin_pay.ecpay.signing import request_sign
from tests.local.sim_helpers import APP_ID, SALT
from tests.local.sim_money_helpers import FEE_10000, accepted, advance, control, pay

SELLER = "69438512345678901234"
DAY = "20250615"  # START (1_750_000_000) in Beijing time is 2025-06-15 23:06:40


@pytest.fixture
def bills(make_sim):
    sim, client = make_sim(settle_cycle_days=0, require_order_sync=False)
    sdk = EcpayClient(APP_ID, SALT, base_url=sim.base_url, retry=RetryPolicy(1, 1), timeout=(2.0, 2.0))
    pay(client, "A1", 10000, way=10)
    accepted(client.settle("S1", "A1"))
    advance(client, 5)
    accepted(client.refund("R1", 1000, "A1", all_settle=1))
    yield sim, client, sdk
    sdk.close()


def get(client, path: str, query: dict) -> dict:
    response = client.http.get(f"{client.base_url}{path}", params=query, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def signed(query: dict) -> dict:
    return {**query, "sign": request_sign(query, SALT)}


class TestOldBill:
    def test_payment_bill_lists_the_days_payments(self, bills):
        _, _, sdk = bills
        [row] = sdk.query_bill(DAY, DAY, SELLER, "payment")
        assert isinstance(row, PaymentBillRow)
        assert (row.seq, row.out_order_no, row.total_amount, row.status, row.merchant_uid) == (
            1,
            "A1",
            10000,
            "SUCCESS",
            SELLER,
        )
        assert row.pay_way == "抖音支付"
        assert row.paid_time.startswith("2025-06-15 23:06:40")

    def test_settle_bill_lists_the_fee_and_the_payees(self, bills):
        _, _, sdk = bills
        [row] = sdk.query_bill(DAY, DAY, SELLER, "settle")
        assert (row.out_settle_no, row.status, row.rake, row.commission) == ("S1", "SUCCESS", FEE_10000, 0)
        assert row.payees == f"商户号{SELLER}-分成金额(分){10000 - FEE_10000}"

    def test_refund_bill_lists_the_refund_with_its_status(self, bills):
        _, client, sdk = bills
        [row] = sdk.query_bill(DAY, DAY, SELLER, "refund")
        assert (row.out_refund_no, row.refund_amount, row.status) == ("R1", 1000, "PROCESSING")
        assert row.refund_type == "部分退款"
        advance(client, 5)
        [row] = sdk.query_bill(DAY, DAY, SELLER, "refund")
        assert row.status == "SUCCESS"
        assert row.refunded_time

    def test_another_day_has_no_records(self, bills):
        _, _, sdk = bills
        assert sdk.query_bill("20250616", "20250620", SELLER, "payment") == ()

    def test_query_values_left_out_of_the_signature_are_refused_with_2008(self, bills):
        _, client, _ = bills
        query = {"start_date": DAY, "end_date": DAY, "seller": SELLER, "bill_type": "payment", "app_id": APP_ID}
        # SKIT issue #20: a sign over the SALT alone.
        answer = get(client, "/api/apps/bill", {**query, "sign": hashlib.md5(SALT.encode()).hexdigest()})
        assert answer["err_no"] == 2008
        tampered = {**signed(query), "bill_type": "refund"}
        assert get(client, "/api/apps/bill", tampered)["err_no"] == 2008

    def test_parameter_errors_answer_1(self, bills):
        _, client, _ = bills
        query = {"start_date": "20250616", "end_date": DAY, "seller": SELLER, "bill_type": "payment", "app_id": APP_ID}
        expected = {"err_no": 1, "err_tips": "end_date is before start_date"}
        assert get(client, "/api/apps/bill", signed(query)) == expected
        wrong_type = {**query, "start_date": DAY, "bill_type": "withdraw"}
        assert get(client, "/api/apps/bill", signed(wrong_type))["err_no"] == 1

    def test_unknown_app_and_wrong_method(self, bills):
        _, client, _ = bills
        query = {"start_date": DAY, "end_date": DAY, "seller": SELLER, "bill_type": "payment", "app_id": "tt_other"}
        assert get(client, "/api/apps/bill", signed(query))["err_no"] == 2042
        assert client.http.post(f"{client.base_url}/api/apps/bill", json={}).status_code == 405

    def test_system_error_fault(self, bills):
        _, client, sdk = bills
        control(client, "POST", "faults", {"endpoint": "bill", "mode": "err_-1", "count": 1})
        with pytest.raises(PlatformError) as caught:
            sdk.query_bill(DAY, DAY, SELLER, "payment")
        assert (caught.value.err_no, caught.value.retryable) == (-1, True)
        assert len(sdk.query_bill(DAY, DAY, SELLER, "payment")) == 1


class TestNewerBills:
    def test_bills_of_a_day_and_of_its_month(self, bills):
        _, _, sdk = bills
        for date in (DAY, DAY[:6]):
            found = sdk.download_bills(SELLER, date, "settle")
            assert found.content_type.startswith("text/csv")
            [row] = parse_bill(found.content, "settle")
            assert row.out_settle_no == "S1"

    def test_types_it_does_not_simulate_are_refused(self, bills):
        _, _, sdk = bills
        with pytest.raises(PlatformError) as caught:
            sdk.download_bills(SELLER, DAY, "withdraw")
        assert caught.value.err_no == 1


class TestFundBill:
    """GET /api/apps/fund/bills: the merchant's fund flow of a day, from the same ledger as its
    balance (a settlement's share in, a refund after settlement out)."""

    def rows(self, content: bytes) -> list[list[str]]:
        return [line.split(",") for line in content.decode("utf-8").splitlines()]

    def test_the_days_flows_add_up_to_the_withdrawable_balance(self, bills):
        _, _, sdk = bills
        found = sdk.download_fund_bills(SELLER, DAY)
        header, *rows = self.rows(found.content)
        assert header[:2] == ["序号", "时间"]
        flows = {(r[4], r[5], int(r[6]), r[7]) for r in rows}
        assert flows == {("分账", "收入", 10000 - FEE_10000, "S1"), ("退款", "支出", 1000, "R1")}
        balance = sdk.query_merchant_balance(SELLER, "hz")
        assert balance.withdrawable_balance == 10000 - FEE_10000 - 1000

    def test_another_day_is_empty_and_a_filter_other_than_all_is_refused(self, bills):
        _, _, sdk = bills
        assert self.rows(sdk.download_fund_bills(SELLER, "20250616").content)[1:] == []
        with pytest.raises(PlatformError) as caught:
            sdk.download_fund_bills(SELLER, DAY, trade_type="SETTLE")
        assert caught.value.err_no == 1

    def test_its_query_values_are_signed(self, bills):
        _, client, _ = bills
        query = {"merchant_id": SELLER, "bill_date": DAY, "app_id": APP_ID}
        query |= {"account_type": "ALL", "payment_type": "ALL", "trade_type": "ALL"}
        assert (
            get(client, "/api/apps/fund/bills", {**query, "sign": hashlib.md5(SALT.encode()).hexdigest()})["err_no"]
            == 2008
        )
