"""Callbacks: their content and signature, delays, retries, duplicates, drops and delivery records."""

from __future__ import annotations

import json
import re
import time
from itertools import pairwise

import pytest

from local.douyin_sim import Delivery
from local.douyin_sim.config import RETRY_SCHEDULE
from tests.local.sim_helpers import (
    APP_ID,
    NOTIFY_URL,
    SETTLE_CYCLE,
    START,
    msg_of,
    paid_order,
    push_paid,
    signature_by_hand,
)

# ---------------------------------------------------------------------------- callbacks


class TestCallbacks:
    def test_payment_callback_is_signed_and_complete(self, sim, receiver):
        simulator, client = sim
        order_id = client.create_order("A1", total_amount=12800)["data"]["order_id"]
        simulator.pay("A1", way=10)
        simulator.advance(1)  # the payment delay
        (body,) = receiver.wait(1)
        assert set(body) == {"msg", "msg_signature", "nonce", "timestamp", "type"}
        assert body["type"] == "payment"
        assert re.fullmatch(r"\d{1,4}", body["nonce"])
        assert re.fullmatch(r"\d{10}", body["timestamp"])
        assert body["msg_signature"] == signature_by_hand(body)
        msg = msg_of(body)
        assert msg["appid"] == APP_ID
        assert "app_id" not in msg
        assert msg["cp_orderno"] == "A1"
        assert msg["cp_extra"] == "extra-1"
        assert msg["order_id"] == order_id
        assert msg["way"] == "10"
        assert msg["total_amount"] == 12800
        assert msg["status"] == "SUCCESS"
        assert msg["paid_at"] == int(START)
        for key in ("channel_no", "channel_gateway_no", "seller_uid", "extra", "item_id", "message"):
            assert isinstance(msg[key], str)
        assert body["msg"] == json.dumps(msg, ensure_ascii=False, separators=(",", ":"))
        (delivery,) = simulator.wait_for_deliveries(1)
        assert delivery.ok
        assert delivery.http_status == 200
        assert delivery.attempt == 1
        assert delivery.url == NOTIFY_URL
        assert delivery.delivered_to == receiver.url + "/douyin/notify"
        assert receiver.received[0][0] == "/douyin/notify"

    def test_payment_callback_waits_for_its_delay(self, sim, receiver):
        simulator, client = sim
        client.create_order("A1")
        simulator.pay("A1")
        simulator.advance(0.5)
        time.sleep(0.1)
        assert receiver.received == []
        simulator.advance(0.5)
        receiver.wait(1)

    def test_default_notify_url_when_the_request_had_none(self, sim, receiver):
        simulator, client = sim
        body = {"total_amount": 100, "subject": "s", "body": "b", "valid_time": 900, "out_order_no": "A1"}
        assert client.call("create_order", **body)["err_no"] == 0
        simulator.pay("A1")
        simulator.advance(1)
        receiver.wait(1)
        assert simulator.wait_for_deliveries(1)[0].url == NOTIFY_URL

    def test_refund_callback_arrives_at_least_10s_after_the_refund(self, sim, receiver):
        simulator, client = sim
        paid_order(simulator, client, amount=1000)
        simulator.advance(1)
        receiver.wait(1)  # the payment callback
        refund_no = client.refund("R1", 300, cp_extra="ce")["refund_no"]
        simulator.advance(3 + 11)  # completed at +3; its callback is due 12 s later
        time.sleep(0.1)
        assert len(receiver.received) == 1
        simulator.advance(1)
        body = receiver.wait(2)[1]
        assert body["type"] == "refund"
        assert body["msg_signature"] == signature_by_hand(body)
        msg = msg_of(body)
        assert msg == {
            "appid": APP_ID,
            "cp_refundno": "R1",
            "cp_extra": "ce",
            "status": "SUCCESS",
            "refund_amount": 300,
            "is_all_settled": False,
            "refunded_at": msg["refunded_at"],
            "message": "",
            "order_id": msg["order_id"],
            "refund_no": refund_no,
        }
        refund_delivery = simulator.wait_for_deliveries(2)[-1]
        assert refund_delivery.sim_time - msg["refunded_at"] >= 10

    def test_settle_callback(self, sim, receiver):
        simulator, client = sim
        paid_order(simulator, client, amount=10000)
        simulator.advance(1)
        receiver.wait(1)
        push_paid(client)
        simulator.advance(SETTLE_CYCLE)
        payees = json.dumps([{"merchant_uid": "m1", "amount": 1000}])
        assert client.settle("S1", settle_params=payees)["err_no"] == 0
        simulator.advance(3 + 5)
        msg = msg_of(receiver.wait(2)[1])
        assert msg["app_id"] == APP_ID
        assert "appid" not in msg
        assert msg["cp_settle_no"] == "S1"
        assert msg["out_order_no"] == "A1"
        assert msg["status"] == "SUCCESS"
        assert msg["settle_amount"] == 10000
        assert msg["rake"] == 60
        assert msg["commission"] == 0
        assert "商户号m1-分成金额(分)1000" in msg["settle_detail"]
        assert msg["is_auto_settle"] is False
        assert msg["settled_at"] == int(START + 1 + SETTLE_CYCLE + 3)

    def test_manual_completion_with_fail(self, make_sim, receiver):
        simulator, client = make_sim(refund_processing_seconds=None, settle_processing_seconds=None)
        paid_order(simulator, client)
        push_paid(client)
        simulator.advance(SETTLE_CYCLE)
        client.refund("R1", 1)
        assert client.settle("S1")["err_no"] == 0
        simulator.advance(3600)
        assert client.call("query_refund", out_refund_no="R1")["refundInfo"]["refund_status"] == "PROCESSING"
        simulator.complete_refund("R1", "FAIL")
        simulator.complete_settlement("S1", "FAIL")
        simulator.advance(12)
        types = {b["type"]: msg_of(b)["status"] for b in receiver.wait(3)}
        assert types == {"payment": "SUCCESS", "refund": "FAIL", "settle": "FAIL"}
        assert client.call("query_settle", out_settle_no="S1")["settle_info"]["settle_status"] == "FAIL"
        # A failed settlement may be retried with a new number (§3.5).
        assert client.settle("S2")["err_no"] == 0

    def test_outcome_switch(self, make_sim):
        simulator, client = make_sim(refund_outcome="FAIL")
        paid_order(simulator, client)
        client.refund("R1", 1)
        simulator.advance(3)
        assert client.call("query_refund", out_refund_no="R1")["refundInfo"]["refund_status"] == "FAIL"

    def test_duplicates_switch(self, sim, receiver):
        simulator, client = sim
        simulator.configure(duplicates=2)
        paid_order(simulator, client)
        simulator.advance(3)
        bodies = receiver.wait(3)
        assert len({b["msg"] for b in bodies}) == 1
        assert sorted(d.copy for d in simulator.wait_for_deliveries(3)) == [0, 1, 2]

    def test_drop_switch(self, sim, receiver):
        simulator, client = sim
        simulator.configure(drop=["payment"])
        paid_order(simulator, client)
        client.refund("R1", 1)
        simulator.advance(20)
        (body,) = receiver.wait(1)
        assert body["type"] == "refund"
        state = simulator.state()
        assert [d["type"] for d in state["callbacks"]["dropped"]] == ["payment"]
        simulator.configure(drop="all")
        paid_order(simulator, client, no="A2")
        simulator.advance(20)
        time.sleep(0.1)
        assert len(receiver.received) == 1

    def test_retry_timing_and_recovery(self, sim, receiver):
        simulator, client = sim
        receiver.status = 500
        paid_order(simulator, client)
        simulator.advance(1)
        receiver.wait(1)
        simulator.advance(14.5)
        time.sleep(0.1)
        assert len(receiver.received) == 1
        simulator.advance(0.5)
        receiver.wait(2)
        receiver.status, receiver.answer = 200, b'{"err_no":1,"err_tips":"no"}'  # 200 alone is not success
        simulator.advance(15)
        receiver.wait(3)
        receiver.answer = b"OK"  # not JSON: still a failure
        simulator.advance(30)
        receiver.wait(4)
        receiver.answer = b'{"err_no":0,"err_tips":"success"}'
        simulator.advance(180)
        receiver.wait(5)
        simulator.advance(24 * 3600)
        time.sleep(0.1)
        log = simulator.deliveries()
        assert [d.attempt for d in log] == [1, 2, 3, 4, 5]
        assert [d.ok for d in log] == [False, False, False, False, True]
        assert [round(b.sim_time - a.sim_time, 6) for a, b in pairwise(log)] == [15, 15, 30, 180]

    def test_full_retry_schedule_on_a_fast_clock(self, sim, receiver):
        simulator, client = sim
        receiver.status = 500
        paid_order(simulator, client)
        simulator.configure(speed=200_000)  # the ~24 h schedule in well under a second
        log = simulator.wait_for_deliveries(16, timeout=10)
        time.sleep(0.2)
        log = simulator.deliveries()
        assert len(log) == 16
        assert [d.attempt for d in log] == list(range(1, 17))
        assert all(d.http_status == 500 and not d.ok for d in log)
        gaps = [b.sim_time - a.sim_time for a, b in pairwise(log)]
        assert all(gap >= interval for gap, interval in zip(gaps, RETRY_SCHEDULE, strict=True))
        assert simulator.state()["callbacks"]["given_up"] == [log[0].notice_id]

    def test_unmapped_external_url_is_never_contacted(self, make_sim):
        simulator, client = make_sim(deliver_to={})
        paid_order(simulator, client)
        simulator.advance(1)
        (delivery,) = simulator.wait_for_deliveries(1)
        assert delivery.http_status is None
        assert "loopback" in delivery.error


def test_delivery_record_is_a_dataclass(sim, receiver):
    simulator, client = sim
    paid_order(simulator, client)
    simulator.advance(1)
    (delivery,) = simulator.wait_for_deliveries(1)
    assert isinstance(delivery, Delivery)
    assert delivery.type == "payment"
    with pytest.raises(TimeoutError):
        simulator.wait_for_deliveries(2, timeout=0.1)
