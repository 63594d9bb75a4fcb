"""The simulator's answers on success: the fields and types of every ecpay endpoint."""

from __future__ import annotations

import json
import re

from tests.local.sim_helpers import START, paid_order, push_paid

# ---------------------------------------------------------------------------- success shapes


class TestShapes:
    def test_create_order(self, sim):
        _, client = sim
        answer = client.create_order("A1")
        assert set(answer) == {"err_no", "err_tips", "data"}
        assert answer["err_no"] == 0
        assert answer["err_tips"] == ""
        assert re.fullmatch(r"\d{19}", answer["data"]["order_id"])
        assert isinstance(answer["data"]["order_token"], str)
        assert answer["data"]["order_token"]

    def test_query_order_unpaid_then_paid(self, sim):
        simulator, client = sim
        order_id = client.create_order("A1")["data"]["order_id"]
        unpaid = client.call("query_order", out_order_no="A1")
        assert set(unpaid) == {"err_no", "err_tips", "out_order_no", "order_id", "payment_info"}
        assert unpaid["order_id"] == order_id
        assert unpaid["out_order_no"] == "A1"
        assert unpaid["payment_info"] == {
            "total_fee": 12800,
            "order_status": "PROCESSING",
            "pay_time": "",
            "way": 0,
            "channel_no": "",
            "channel_gateway_no": "",
            "seller_uid": "",
            "item_id": "",
            "cp_extra": "extra-1",
        }
        simulator.pay("A1", way=2)
        info = client.call("query_order", out_order_no="A1")["payment_info"]
        assert info["order_status"] == "SUCCESS"
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", info["pay_time"])
        assert info["way"] == 2
        assert isinstance(info["way"], int)
        assert info["channel_no"]
        assert info["channel_gateway_no"]
        assert info["seller_uid"]

    def test_refund_settle_return_and_queries(self, make_sim):
        # Answer shapes, not the settlement cycle: S1 is settled 3 s after the payment.
        simulator, client = make_sim(settle_cycle_days=0)
        paid_order(simulator, client, amount=10000)
        refund = client.refund("R1", 1000, reason="不想要了")
        assert set(refund) == {"err_no", "err_tips", "refund_no"}
        assert refund["err_no"] == 0
        info = client.call("query_refund", out_refund_no="R1")
        assert set(info) == {"err_no", "err_tips", "refundInfo"}
        assert info["refundInfo"] == {
            "refund_no": refund["refund_no"],
            "refund_amount": 1000,
            "refund_status": "PROCESSING",
            "refunded_at": 0,
            "is_all_settled": False,
            "cp_extra": "",
            "msg": "",
        }
        simulator.advance(3)  # refund_processing_seconds
        done = client.call("query_refund", out_refund_no="R1")["refundInfo"]
        assert done["refund_status"] == "SUCCESS"
        assert done["refunded_at"] == int(START + 3)

        push_paid(client)
        payees = json.dumps([{"merchant_uid": "696458350318359362", "amount": 600}])
        settle = client.settle("S1", desc="分账", settle_params=payees)
        assert set(settle) == {"err_no", "err_tips", "settle_no"}
        assert settle["err_no"] == 0
        simulator.advance(3)
        s_info = client.call("query_settle", out_settle_no="S1")
        assert set(s_info) == {"err_no", "err_tips", "settle_info"}
        s = s_info["settle_info"]
        assert set(s) == {
            "settle_no", "settle_amount", "settle_status", "settle_detail", "settled_at",
            "rake", "commission", "cp_extra", "msg",
        }  # fmt: skip
        assert s["settle_no"] == settle["settle_no"]
        assert s["settle_status"] == "SUCCESS"
        assert s["settle_amount"] == 9000
        assert s["rake"] == 54
        assert s["commission"] == 0
        assert "商户号696458350318359362-分成金额(分)600" in s["settle_detail"]

        ret = client.call(
            "create_return",
            out_settle_no="S1",
            out_return_no="T1",
            return_desc="退分账",
            merchant_uid="696458350318359362",
            return_amount=100,
        )
        assert set(ret) == {"err_no", "err_tips", "return_info"}
        assert ret["return_info"]["return_status"] == "SUCCESS"
        assert ret["return_info"]["settle_no"] == settle["settle_no"]
        queried = client.call("query_return", out_return_no="T1")
        assert queried["return_info"] == ret["return_info"]
        by_no = client.call("query_return", return_no=ret["return_info"]["return_no"])
        assert by_no["return_info"]["out_return_no"] == "T1"

        unsettled = client.call("unsettle_amount", out_order_no="A1")
        assert set(unsettled) == {"err_no", "err_tips", "data"}
        assert unsettled["data"]["unsettle_amount"] == 0
        assert unsettled["data"]["detail"]["refund_info"] == [{"out_refund_no": "R1", "amount": 1000}]

        platform_order = client.call("query_platform_order", out_order_no="A1")
        assert set(platform_order) == {"err_no", "err_tips", "platform_order"}
        (listed,) = platform_order["platform_order"]["settle_info_list"]
        assert listed["out_settle_no"] == "S1"
        assert listed["service_charge"] == 54

    def test_unsettle_amount_before_settlement(self, sim):
        simulator, client = sim
        paid_order(simulator, client, amount=5000)
        data = client.call("unsettle_amount", out_order_no="A1")["data"]
        assert data["unsettle_amount"] == 5000
        assert data["detail"]["pay_info"] == {"out_order_no": "A1", "amount": 5000}
        assert data["detail"]["payment_rake"] == 30
