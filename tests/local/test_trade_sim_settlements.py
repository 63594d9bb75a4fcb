"""settle_create / settle_query (trade-spec §4.8, §4.9, §6.3.7): the published 231xx codes answered
with HTTP 400 (configurable to 200), D+N, settle_params as a JSON string, and the settle callback."""

from __future__ import annotations

import json
import re

import pytest

from tests.local.trade_helpers import APP_ID


def _settle(client, out_order_no="O1", out_settle_no="S1", **overrides):
    body = {"out_order_no": out_order_no, "out_settle_no": out_settle_no, "settle_desc": "分账", **overrides}
    return client.call("settle_create", {k: v for k, v in body.items() if v is not None})


class TestSettleCreate:
    def test_accepted_then_a_settle_callback(self, trade_sim, trade_receiver):
        sim, client = trade_sim
        order_id = client.paid_order()
        sim.advance(1)
        trade_receiver.wait(1)
        payees = json.dumps([{"merchant_uid": "72789245768543296350", "amount": 30}])
        answer = _settle(client, settle_params=payees, ext="e1", notify_url="https://callback.localhost/settle")
        assert answer["_http"] == 200
        assert answer["err_no"] == 0, answer
        assert re.fullmatch(r"ots\d{23}", answer["data"]["settle_id"])
        assert answer["data"]["wallet_settle_id"]
        (listed,) = client.call("settle_query", {"out_settle_no": "S1"})["data"]
        assert listed["settle_status"] == "PROCESSING"
        assert listed["settle_amount"] == 100
        assert listed["rake"] == 1  # 0.6 % of 100, rounded half up
        assert listed["cp_extra"] == "e1"
        assert "settle_at" not in listed
        sim.advance(3 + 5)  # settle_processing_seconds, then the settle delay
        received = trade_receiver.wait(2)[1]
        assert received.path == "/settle"
        assert received.headers["Byte-Identifyname"] == "/msg/basic/settle/notify"
        msg = received.msg
        assert msg["app_id"] == APP_ID
        assert msg["status"] == "SUCCESS"
        assert msg["order_id"] == order_id
        assert msg["settle_id"] == answer["data"]["settle_id"]
        assert msg["out_settle_no"] == "S1"
        assert msg["cp_extra"] == "e1"
        assert msg["settle_amount"] == 100
        assert msg["rake"] == 1
        assert msg["commission"] == 0
        assert "商户号72789245768543296350-分成金额(分)30" in msg["settle_detail"]
        assert msg["is_auto_settle"] is False
        (listed,) = client.call("settle_query", {"settle_id": msg["settle_id"]})["data"]
        assert listed["settle_status"] == "SUCCESS"
        assert listed["settle_at"] == (client.now() - 5) * 1000

    def test_unknown_order_is_23101_with_http_400(self, trade_sim):
        _, client = trade_sim
        client.paid_order("O1")
        answer = _settle(client, "nope")
        assert answer["_http"] == 400
        assert answer["err_no"] == 23101
        assert answer["data"] is None
        assert answer["log_id"]

    def test_unpaid_is_23102(self, trade_sim):
        sim, client = trade_sim
        client.create_order("O1")
        assert _settle(client)["err_no"] == 23102
        sim.advance(900)  # expired
        assert _settle(client, out_settle_no="S2")["err_no"] == 23102

    def test_a_repeated_out_settle_no_is_23111_even_with_the_same_body(self, trade_sim):
        _, client = trade_sim
        client.paid_order("O1")
        client.paid_order("O2")
        assert _settle(client)["err_no"] == 0
        assert _settle(client)["err_no"] == 23111
        assert _settle(client, "O2")["err_no"] == 23111

    def test_nothing_left_is_23112(self, trade_sim):
        _, client = trade_sim
        client.paid_order("O1")
        assert _settle(client, "O1", "S1")["err_no"] == 0
        assert _settle(client, "O1", "S2")["err_no"] == 23112

    def test_payees_beyond_what_is_left_is_23112(self, trade_sim):
        _, client = trade_sim
        order_id = client.paid_order("O1")
        assert client.refund(order_id, "R1", 60)["err_no"] == 0
        too_much = json.dumps([{"merchant_uid": "m1", "amount": 41}])  # 40 left
        answer = _settle(client, settle_params=too_much)
        assert answer["_http"] == 400
        assert answer["err_no"] == 23112
        fits = json.dumps([{"merchant_uid": "m1", "amount": 40}])  # the rake of 40 rounds to 0
        assert _settle(client, settle_params=fits)["err_no"] == 0

    def test_a_fully_refunded_order_has_nothing_to_settle(self, trade_sim):
        _, client = trade_sim
        order_id = client.paid_order("O1")
        client.refund(order_id, "R1", 100)
        assert _settle(client)["err_no"] == 23112

    def test_d_plus_n_after_payment(self, make_trade_sim):
        sim, client = make_trade_sim(settle_delay_days=7)
        client.paid_order("O1")
        sim.advance(7 * 86400 - 1)
        answer = _settle(client)
        assert answer["err_no"] == 23113
        assert answer["_http"] == 400
        sim.advance(1)
        assert _settle(client, out_settle_no="S2")["err_no"] == 0

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"settle_params": [{"merchant_uid": "m1", "amount": 1}]}, "settle_params"),  # an array, not a string
            ({"settle_params": json.dumps([{"merchant_uid": "m" * 40, "amount": 1}] * 10)}, "settle_params"),  # >512
            ({"settle_params": "not json"}, "settle_params"),
            ({"settle_params": json.dumps({"merchant_uid": "m1", "amount": 1})}, "settle_params"),
            ({"settle_params": json.dumps([{"merchant_uid": "m1", "amount": "1"}])}, "amount"),
            ({"settle_params": json.dumps([{"amount": 1}])}, "merchant_uid"),
            ({"settle_desc": None}, "settle_desc"),
            ({"out_settle_no": None}, "out_settle_no"),
            ({"ext": "x" * 2049}, "ext"),
            ({"notify_url": "http://x.localhost/s"}, "notify_url"),
            ({"app_id": "tt0000000000000000"}, "app_id"),
        ],
    )
    def test_field_rules_are_10000_with_http_400(self, trade_sim, overrides, field):
        _, client = trade_sim
        client.paid_order("O1")
        answer = _settle(client, **overrides)
        assert answer["_http"] == 400
        assert answer["err_no"] == 10000
        assert field in answer["err_msg"]

    def test_the_error_status_can_be_200(self, trade_sim):
        sim, client = trade_sim
        sim.configure(settle_error_http_status=200)
        answer = _settle(client, "nope")
        assert answer["_http"] == 200
        assert answer["err_no"] == 23101

    def test_item_order_id_must_be_the_orders(self, trade_sim):
        _, client = trade_sim
        order_id = client.paid_order("O1")
        assert _settle(client, item_order_id="motb1")["err_no"] == 23025
        assert _settle(client, item_order_id=client.item_of(order_id))["err_no"] == 0

    def test_commission_is_taken_from_the_settlement(self, trade_sim):
        _, client = trade_sim
        client.paid_order("O1")
        client.control("orders/O1/cps", {"commission_amount": 16})
        assert _settle(client)["err_no"] == 0
        (listed,) = client.call("settle_query", {"out_order_no": "O1"})["data"]
        assert listed["commission"] == 16

    def test_failed_outcome_and_manual_completion(self, make_trade_sim, trade_receiver):
        sim, client = make_trade_sim(settle_processing_seconds=None, delays={"settle": 0})
        client.paid_order("O1")
        _settle(client)
        sim.advance(3600)
        assert client.control("settlements/S1/complete", {"status": "FAIL"}).json()["settle_status"] == "FAIL"
        assert client.control("settlements/S1/complete", {"status": "FAIL"}).status_code == 409
        sim.advance(1)
        msg = next(r.msg for r in trade_receiver.wait(2) if r.body["type"] == "settle")
        assert msg["status"] == "FAIL"
        assert _settle(client, out_settle_no="S2")["err_no"] == 0  # a failed settlement frees the money


class TestSettleQuery:
    def test_priority_and_empty_arrays(self, trade_sim):
        _, client = trade_sim
        first = client.paid_order("O1")
        client.paid_order("O2")
        s1 = _settle(client, "O1", "S1")["data"]["settle_id"]
        _settle(client, "O2", "S2")
        assert client.call("settle_query", {"settle_id": "ots0"})["data"] == []
        assert client.call("settle_query", {"out_order_no": "none"})["data"] == []
        # settle_id > order_id > out_settle_no > out_order_no
        both = client.call("settle_query", {"settle_id": s1, "out_settle_no": "S2"})["data"]
        assert [s["out_settle_no"] for s in both] == ["S1"]
        by_order = client.call("settle_query", {"order_id": first, "out_settle_no": "S2", "out_order_no": "O2"})
        assert [s["out_settle_no"] for s in by_order["data"]] == ["S1"]
        by_no = client.call("settle_query", {"out_settle_no": "S2", "out_order_no": "O1"})["data"]
        assert [s["out_settle_no"] for s in by_no] == ["S2"]
        assert client.call("settle_query", {})["err_no"] == 10000

    def test_the_item_fields(self, trade_sim):
        _, client = trade_sim
        client.paid_order("O1")
        _settle(client)
        (item,) = client.call("settle_query", {"out_order_no": "O1"})["data"]
        assert set(item) >= {
            "settle_id", "out_settle_no", "order_id", "out_order_no", "item_order_id", "settle_status",
            "settle_amount", "rake", "commission", "platform_ticket", "settle_detail", "cp_extra",
        }  # fmt: skip
        assert item["settle_status"] in ("INIT", "PROCESSING", "SUCCESS", "FAIL")
