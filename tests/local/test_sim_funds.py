"""The simulator's merchant funds (/api/apps/ecpay/saas/): a balance derived from what was really
settled, refunded after settlement and withdrawn; withdrawals as strict as the platform; the
signed withdraw callback. Driven through the SDK's client where the SDK has the endpoint, so the
two are held to one wire shape."""

from __future__ import annotations

import pytest

from douyin_pay import EcpayClient, PlatformError, RetryPolicy, WithdrawNotice, WithdrawStatus
from tests.local.sim_helpers import APP_ID, SALT
from tests.local.sim_money_helpers import FEE_10000, accepted, advance, control, parsed, pay

SELLER = "69438512345678901234"  # SimulatorConfig.seller_uid's default


@pytest.fixture
def funds(make_sim):
    sim, client = make_sim(settle_cycle_days=0, require_order_sync=False)
    sdk = EcpayClient(APP_ID, SALT, base_url=sim.base_url, retry=RetryPolicy(1, 1), timeout=(2.0, 2.0))
    yield sim, client, sdk
    sdk.close()


def settled_order(client, no: str = "A1", amount: int = 10000, way: int = 10) -> None:
    pay(client, no, amount, way=way)
    accepted(client.settle(f"S-{no}", no))
    advance(client, 5)  # settle_processing_seconds = 3


def saas(client, endpoint: str, **fields) -> dict:
    response = client.http.post(f"{client.base_url}/api/apps/ecpay/saas/{endpoint}", json=client.body(fields))
    assert response.status_code == 200, response.text
    return response.json()


class TestBalance:
    def test_paid_money_is_in_transit_until_settled_then_withdrawable_less_the_fee(self, funds):
        _, client, sdk = funds
        pay(client, "A1", 10000, way=10)
        before = sdk.query_merchant_balance(SELLER, "hz")
        assert (before.online_balance, before.withdrawable_balance, before.freeze_balance) == (10000, 0, 0)
        accepted(client.settle("S-A1", "A1"))
        advance(client, 5)
        after = sdk.query_merchant_balance(SELLER, "hz")
        assert (after.online_balance, after.withdrawable_balance) == (0, 10000 - FEE_10000)

    def test_each_channel_holds_what_it_collected(self, funds):
        _, client, sdk = funds
        settled_order(client, "A1", 10000, way=10)
        settled_order(client, "A2", 20000, way=1)
        assert sdk.query_merchant_balance(SELLER, "hz").withdrawable_balance == 10000 - FEE_10000
        assert sdk.query_merchant_balance(SELLER, "wx").withdrawable_balance == 20000 - 120
        assert sdk.query_merchant_balance(SELLER, "alipay").withdrawable_balance == 0

    def test_a_refund_after_settlement_comes_out_of_the_withdrawable_balance(self, funds):
        _, client, sdk = funds
        settled_order(client)
        accepted(client.refund("R1", 1000, "A1", all_settle=1))
        assert sdk.query_merchant_balance(SELLER, "hz").withdrawable_balance == 10000 - FEE_10000 - 1000

    def test_a_payee_of_a_settlement_has_its_share(self, funds):
        _, client, sdk = funds
        pay(client, "A1", 10000, way=10)
        accepted(client.settle("S1", "A1", settle_params='[{"merchant_uid":"m1","amount":3000}]'))
        advance(client, 5)
        assert sdk.query_merchant_balance("m1", "hz").withdrawable_balance == 3000
        assert sdk.query_merchant_balance(SELLER, "hz").withdrawable_balance == 10000 - FEE_10000 - 3000

    def test_an_unknown_merchant_is_refused_with_4000(self, funds):
        _, _, sdk = funds
        with pytest.raises(PlatformError) as caught:
            sdk.query_merchant_balance("69999999999999999999", "hz")
        assert caught.value.err_no == 4000

    def test_wrong_sign_unknown_channel_and_v1_path_are_refused(self, funds):
        _, client, _ = funds
        body = client.body({"merchant_uid": SELLER, "channel_type": "hz"})
        body["sign"] = "0" * 32
        answer = client.http.post(f"{client.base_url}/api/apps/ecpay/saas/query_merchant_balance", json=body).json()
        assert answer["err_no"] == 2008
        assert saas(client, "query_merchant_balance", merchant_uid=SELLER, channel_type="bank")["err_no"] == 2010
        assert client.raw("query_merchant_balance", client.body({})).status_code == 404  # not under /v1/


class TestWithdraw:
    def test_withdrawal_is_processing_then_succeeds_with_a_signed_callback(self, funds, receiver):
        _, client, sdk = funds
        settled_order(client)
        result = sdk.merchant_withdraw(SELLER, "hz", 5000, "wd-1", cp_extra="mine")
        assert result.order_id
        assert sdk.query_withdraw_order(SELLER, "hz", "wd-1").status is WithdrawStatus.PROCESSING
        assert sdk.query_merchant_balance(SELLER, "hz").withdrawable_balance == 10000 - FEE_10000 - 5000
        advance(client, 3)
        assert sdk.query_withdraw_order(SELLER, "hz", "wd-1").status is WithdrawStatus.SUCCESS
        advance(client, 10)  # the withdraw callback's delay
        index = next(i for i, body in enumerate(receiver.wait(3)) if body["type"] == "withdraw")
        notice = parsed(receiver, index)  # the SDK verifies the signature
        assert isinstance(notice, WithdrawNotice)
        assert (notice.status, notice.out_order_id, notice.order_id, notice.extra) == (
            "SUCCESS",
            "wd-1",
            result.order_id,
            "mine",
        )
        assert notice.withdraw_at is not None
        assert notice.ch_order_id

    def test_more_than_the_withdrawable_balance_is_refused_and_spends_the_number(self, funds):
        _, client, sdk = funds
        settled_order(client)
        with pytest.raises(PlatformError) as caught:
            sdk.merchant_withdraw(SELLER, "hz", 10000 - FEE_10000 + 1, "wd-1")
        assert caught.value.err_no == 2010
        assert "可提现余额不足" in caught.value.err_tips
        with pytest.raises(PlatformError, match="spent"):  # §2: a refused number stays refused
            sdk.merchant_withdraw(SELLER, "hz", 1, "wd-1")
        assert sdk.merchant_withdraw(SELLER, "hz", 10000 - FEE_10000, "wd-2").order_id

    def test_in_transit_money_cannot_be_withdrawn(self, funds):
        _, client, sdk = funds
        pay(client, "A1", 10000, way=10)
        with pytest.raises(PlatformError) as caught:
            sdk.merchant_withdraw(SELLER, "hz", 1, "wd-1")
        assert caught.value.err_no == 2010

    def test_a_repeated_out_order_id_gets_the_first_answer_and_moves_no_more_money(self, funds):
        _, client, sdk = funds
        settled_order(client)
        first = sdk.merchant_withdraw(SELLER, "hz", 1000, "wd-1")
        again = sdk.merchant_withdraw(SELLER, "hz", 2000, "wd-1")
        assert again.order_id == first.order_id
        assert sdk.query_merchant_balance(SELLER, "hz").withdrawable_balance == 10000 - FEE_10000 - 1000
        assert len(control(client, "GET", "state")["withdrawals"]) == 1

    def test_an_unknown_withdrawal_is_not_found(self, funds):
        _, _, sdk = funds
        with pytest.raises(PlatformError) as caught:
            sdk.query_withdraw_order(SELLER, "hz", "never")
        assert caught.value.err_no == 2000

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"withdraw_amount": "100"}, "withdraw_amount"),
            ({"withdraw_amount": 1.5}, "withdraw_amount"),
            ({"out_order_id": "wd 1"}, "out_order_id"),
            ({"callback": "http://cb.example/x"}, "callback"),
        ],
    )
    def test_field_rules(self, funds, fields, field):
        _, client, _ = funds
        settled_order(client)
        body = {"merchant_uid": SELLER, "channel_type": "hz", "withdraw_amount": 100, "out_order_id": "wd-9", **fields}
        answer = saas(client, "merchant_withdraw", **body)
        assert answer["err_no"] == 2010
        assert field in answer["err_tips"]

    def test_faults_and_rate_limits_apply(self, funds):
        _, client, _ = funds
        control(client, "POST", "faults", {"endpoint": "merchant_withdraw", "mode": "err_1001", "count": 1})
        body = {"merchant_uid": SELLER, "channel_type": "hz", "withdraw_amount": 1, "out_order_id": "wd-1"}
        assert saas(client, "merchant_withdraw", **body)["err_no"] == 1001
        control(client, "POST", "config", {"rate_limits": {"query_merchant_balance": 1}})
        answers = [saas(client, "query_merchant_balance", merchant_uid=SELLER, channel_type="hz") for _ in range(3)]
        assert 1001 in [a["err_no"] for a in answers]
