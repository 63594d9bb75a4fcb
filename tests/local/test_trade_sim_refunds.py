"""Refunds (trade-spec §4.5–4.7, §5.3–5.5, §6.3.5–6): refund_create's rules and idempotency,
refund_query, and user refunds through pre_create_refund and the merchant audit."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.local.trade_helpers import APP_ID, default_answer, dumps, order_data

HOURS_72 = 72 * 3600


def _refund_callbacks(receiver):
    return [r.msg for r in receiver.of_type("refund")]


def _query(client, **by):
    answer = client.call("refund_query", by)
    assert answer["err_no"] == 0, answer
    return answer["data"]["refund_list"]


class TestRefundCreate:
    def test_accepted_then_a_refund_callback(self, trade_sim, trade_receiver):
        sim, client = trade_sim
        order_id = client.paid_order()
        sim.advance(1)
        trade_receiver.wait(1)  # the payment callback
        answer = client.refund(order_id, "R1", 60, cp_extra="ce", notify_url="https://callback.localhost/refunds")
        assert answer["err_no"] == 0, answer
        data = answer["data"]
        assert re.fullmatch(r"ort\d{23}", data["refund_id"])
        assert data["refund_audit_deadline"] == (client.now() + HOURS_72) * 1000
        (listed,) = _query(client, out_refund_no="R1")
        assert listed["refund_status"] == "PROCESSING"
        assert listed["refund_source"] == 2
        assert listed["merchant_audit_detail"]["need_refund_audit"] == 2
        assert "refund_at" not in listed
        sim.advance(3)  # refund_processing_seconds
        assert _query(client, refund_id=data["refund_id"])[0]["refund_status"] == "SUCCESS"
        sim.advance(9)
        time.sleep(0.1)
        assert _refund_callbacks(trade_receiver) == []  # the refund delay is 10 s
        sim.advance(1)
        received = trade_receiver.wait(2)[1]
        assert received.path == "/refunds"
        assert received.headers["Byte-Identifyname"] == "/msg/basic/refund/notify"
        msg = received.msg
        assert msg["app_id"] == APP_ID
        assert msg["status"] == "SUCCESS"
        assert msg["refund_id"] == data["refund_id"]
        assert msg["out_refund_no"] == "R1"
        assert msg["order_id"] == order_id
        assert msg["refund_total_amount"] == 60
        assert msg["cp_extra"] == "ce"
        assert msg["refund_type"] == 2
        assert msg["is_all_settled"] is False
        assert msg["event_time"] == (client.now() - 10) * 1000
        assert msg["refund_item_detail"]["item_order_detail"] == [
            {"item_order_id": client.item_of(order_id), "refund_amount": 60}
        ]

    def test_a_failed_refund_frees_its_amount(self, make_trade_sim, trade_receiver):
        sim, client = make_trade_sim(refund_outcome="FAIL")
        order_id = client.paid_order()
        assert client.refund(order_id, "R1", 100)["err_no"] == 0
        sim.advance(13)
        assert trade_receiver.wait(2)[1].msg["status"] == "FAIL"
        (listed,) = _query(client, order_id=order_id)
        assert listed["refund_status"] == "FAIL"
        assert listed["message"]
        sim.configure(refund_outcome="SUCCESS")
        assert client.refund(order_id, "R2", 100)["err_no"] == 0

    def test_manual_completion(self, make_trade_sim, trade_receiver):
        sim, client = make_trade_sim(refund_processing_seconds=None, delays={"refund": 0})
        order_id = client.paid_order()
        client.refund(order_id, "R1", 100)
        sim.advance(3600)
        assert _query(client, out_refund_no="R1")[0]["refund_status"] == "PROCESSING"
        assert client.control("refunds/R1/complete", {"status": "FAIL"}).json()["refund_status"] == "FAIL"
        assert client.control("refunds/R1/complete", {"status": "FAIL"}).status_code == 409
        assert client.control("refunds/nope/complete").status_code == 404
        sim.advance(1)
        assert trade_receiver.wait(2)[1].msg["status"] == "FAIL"

    def test_the_platform_order_id_is_required(self, trade_sim):
        _, client = trade_sim
        order_id = client.paid_order("O1")
        item = client.item_of(order_id)
        from tests.local.trade_helpers import refund_body

        answer = client.call("refund_create", refund_body("O1", item))
        assert answer["err_no"] == 20000
        assert "out_order_no?" in answer["err_msg"]
        missing = refund_body(order_id, item, out_order_no="O1")
        del missing["order_id"]
        assert client.call("refund_create", missing)["err_no"] == 10000

    def test_an_unpaid_order_cannot_be_refunded(self, trade_sim):
        _, client = trade_sim
        order_id = client.create_order()
        assert client.refund(order_id)["err_no"] == 22000

    def test_refunds_never_exceed_the_amount_paid(self, trade_sim):
        _, client = trade_sim
        order_id = client.paid_order()
        assert client.refund(order_id, "R1", 60)["err_no"] == 0
        answer = client.refund(order_id, "R2", 50)
        assert answer["err_no"] == 22002
        assert "40" in answer["err_msg"]
        assert client.refund(order_id, "R3", 40)["err_no"] == 0
        assert client.refund(order_id, "R4", 1)["err_no"] == 22002

    def test_refund_all_only_without_prior_refunds(self, trade_sim):
        _, client = trade_sim
        order_id = client.paid_order("O1")
        whole = {"refund_all": True, "item_order_detail": None}
        assert client.refund(order_id, "R1", 50, **whole)["err_no"] == 10000  # must be the amount paid
        assert client.refund(order_id, "R2", 100, refund_all=True)["err_no"] == 10000  # with item_order_detail
        assert client.refund(order_id, "R3", 100, refund_all="true", item_order_detail=None)["err_no"] == 10000
        assert client.refund(order_id, "R4", 10)["err_no"] == 0
        assert client.refund(order_id, "R5", 90, **whole)["err_no"] == 10000
        other = client.paid_order("O2")
        assert client.refund(other, "R6", 100, **whole)["err_no"] == 0

    @pytest.mark.parametrize(
        "reasons",
        [
            None,
            [],
            ["不想要了"],  # strings, as yansongda's docs show
            [{"code": 104, "text": "x"}],
            [{"code": "101", "text": "x"}],
            [{"code": 101}],
            [{"code": 101, "text": "字" * 50}],
            [{"code": 999, "text": "x"}] * 11,
        ],
    )
    def test_reason_rules(self, trade_sim, reasons):
        _, client = trade_sim
        order_id = client.paid_order()
        answer = client.refund(order_id, refund_reason=reasons)
        assert answer["err_no"] == 10000
        assert "refund_reason" in answer["err_msg"]

    def test_reasons_that_pass(self, trade_sim):
        _, client = trade_sim
        order_id = client.paid_order()
        reasons = [{"code": c, "text": "字" * 49} for c in (101, 102, 103)] + [{"code": 999, "text": ""}] * 7
        assert client.refund(order_id, refund_reason=reasons)["err_no"] == 0

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"order_entry_schema": None}, "order_entry_schema"),
            ({"order_entry_schema": {"path": "pages/refund?id=1"}}, "path"),
            ({"order_entry_schema": {"path": "pages/refund", "params": {"a": 1}}}, "params"),
            ({"item_order_detail": None}, "item_order_detail"),
            ({"item_order_detail": [{"item_order_id": "motb1", "refund_amount": 100}]}, "item_order_detail"),
            ({"refund_total_amount": "100"}, "refund_total_amount"),
            ({"refund_total_amount": 0}, "refund_total_amount"),
            ({"out_refund_no": "r" * 65}, "out_refund_no"),
            ({"cp_extra": "x" * 2049}, "cp_extra"),
            ({"notify_url": "http://callback.localhost/r"}, "notify_url"),
            ({"currency": "DIAMOND"}, "currency"),
        ],
    )
    def test_field_rules(self, trade_sim, overrides, field):
        _, client = trade_sim
        order_id = client.paid_order()
        answer = client.refund(order_id, **overrides)
        assert answer["err_no"] == 10000
        assert field in answer["err_msg"]

    def test_items_must_add_up(self, trade_sim):
        _, client = trade_sim
        order_id = client.paid_order()
        item = client.item_of(order_id)
        answer = client.refund(order_id, "R1", 100, item_order_detail=[{"item_order_id": item, "refund_amount": 99}])
        assert answer["err_no"] == 10000

    def test_diamond_orders_are_refunded_whole_in_diamonds(self, trade_sim):
        _, client = trade_sim
        data = order_data("D1", currency="DIAMOND")
        order_id = client.request_order(data, client_platform="ios")["orderId"]
        client.control("client/get_order_payment", {"orderId": order_id})
        assert client.refund(order_id, "R1", 100)["err_no"] == 10000  # no currency
        assert client.refund(order_id, "R2", 50, currency="DIAMOND")["err_no"] == 10000
        assert client.refund(order_id, "R3", 100, currency="DIAMOND")["err_no"] == 0

    @pytest.mark.parametrize(("channel", "limit"), [(1, 50), (2, 300)])
    def test_refund_count_limits(self, trade_sim, channel, limit):
        _, client = trade_sim
        data = order_data("O1", totalAmount=400)
        data["skuList"][0]["price"] = 400
        order_id = client.request_order(data)["orderId"]
        client.control("client/get_order_payment", {"orderId": order_id, "pay_channel": channel})
        item = client.item_of(order_id)
        from tests.local.trade_helpers import refund_body

        for i in range(limit):
            assert client.call("refund_create", refund_body(order_id, item, f"R{i}", 1))["err_no"] == 0
        answer = client.call("refund_create", refund_body(order_id, item, "R-last", 1))
        assert answer["err_no"] == 22000
        assert str(limit) in answer["err_msg"]

    def test_a_repeat_with_the_same_body_is_the_same_refund(self, trade_sim):
        sim, client = trade_sim
        order_id = client.paid_order()
        first = client.refund(order_id, "R1", 30)
        sim.advance(60)
        again = client.refund(order_id, "R1", 30)
        assert again["err_no"] == 0
        assert again["data"] == first["data"]
        assert again["log_id"] != first["log_id"]
        assert len(_query(client, order_id=order_id)) == 1

    def test_a_repeat_with_another_body_is_22004(self, trade_sim):
        _, client = trade_sim
        order_id = client.paid_order()
        client.refund(order_id, "R1", 30)
        answer = client.refund(order_id, "R1", 31)
        assert answer["err_no"] == 22004
        assert client.refund(order_id, "R1", 30, cp_extra="x")["err_no"] == 22004
        assert len(_query(client, order_id=order_id)) == 1


class TestRefundQuery:
    def test_exactly_one_identifier(self, trade_sim):
        _, client = trade_sim
        order_id = client.paid_order()
        client.refund(order_id, "R1", 10)
        assert client.call("refund_query", {})["err_no"] == 10000
        assert client.call("refund_query", {"order_id": order_id, "out_refund_no": "R1"})["err_no"] == 10000

    def test_nothing_found_is_an_empty_list(self, trade_sim):
        _, client = trade_sim
        client.paid_order()
        assert _query(client, out_refund_no="nope") == []
        assert _query(client, refund_id="ort1") == []
        assert _query(client, order_id="motb1") == []

    def test_by_order_id_at_most_50(self, trade_sim):
        _, client = trade_sim
        data = order_data("O1", totalAmount=60)
        data["skuList"][0]["price"] = 60
        order_id = client.request_order(data)["orderId"]
        client.control("client/get_order_payment", {"orderId": order_id, "pay_channel": 2})
        for i in range(55):
            client.refund(order_id, f"R{i:02d}", 1)
        listed = _query(client, order_id=order_id)
        assert len(listed) == 50
        assert listed[0]["out_refund_no"] == "R00"


# ---------------------------------------------------------------------------- user refunds


def _answering(**by_type):
    """A receiver policy: per callback type, (status, JSON object or raw bytes); default otherwise."""

    def answer(received):
        kind = received.body["type"]
        if kind not in by_type:
            return default_answer(received)
        status, reply = by_type[kind]
        if callable(reply):
            reply = reply(received)
        return status, reply if isinstance(reply, bytes) else dumps(reply).encode()

    return answer


def _paid(sim, client, receiver, out_order_no="O1"):
    """A paid order whose payment callback has been delivered (so later counts start at 1)."""
    order_id = client.paid_order(out_order_no)
    sim.advance(1)
    receiver.wait(len(receiver.received) + 1)
    receiver.received.clear()
    return order_id


def _pre_create_answered(sim, n=1):
    """Wait until the n-th pre_create_refund attempt is logged (its reply is applied by then)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        attempts = [d for d in sim.deliveries() if d.type == "pre_create_refund"]
        if len(attempts) >= n:
            return attempts
        time.sleep(0.01)
    raise AssertionError(f"fewer than {n} pre_create_refund attempts")


class TestUserRefund:
    def test_pre_create_refund_then_a_refund_without_audit(self, trade_sim, trade_receiver):
        sim, client = trade_sim
        order_id = _paid(sim, client, trade_receiver)
        started = client.now()
        refund = client.control("orders/O1/user_refund", {"amount": 70, "reason": "不想要了"}).json()
        assert refund["out_refund_no"] == ""
        sim.advance(1)
        received = trade_receiver.wait(1)[0]
        assert received.body["type"] == "pre_create_refund"
        assert received.headers["Byte-Identifyname"] == "/msg/basic/refund/pre_create_refund"
        msg = received.msg
        assert msg["app_id"] == APP_ID
        assert msg["refund_id"] == refund["refund_id"]
        assert msg["order_id"] == order_id
        assert msg["out_order_no"] == "O1"
        assert msg["refund_total_amount"] == 70
        assert msg["need_refund_audit"] == 2
        assert type(msg["need_refund_audit"]) is int
        assert msg["refund_audit_deadline"] == (started + HOURS_72) * 1000
        assert msg["create_refund_time"] == started * 1000
        assert msg["refund_source"] == 1
        assert msg["refund_reason"] == ["不想要了"]
        assert msg["open_id"]
        assert "out_refund_no" not in msg
        (delivery,) = [d for d in sim.wait_for_deliveries(2) if d.type == "pre_create_refund"]
        assert delivery.ok
        (listed,) = _query(client, out_refund_no="R-" + refund["refund_id"])
        assert listed["refund_source"] == 1
        assert listed["merchant_audit_detail"]["audit_status"] == "INIT"
        sim.advance(3 + 10)
        refund_msg = trade_receiver.wait(2)[1].msg
        assert refund_msg["status"] == "SUCCESS"
        assert refund_msg["out_refund_no"] == "R-" + refund["refund_id"]
        assert refund_msg["refund_type"] == 1

    def test_the_reply_notify_url_and_schema_are_used(self, trade_sim, trade_receiver):
        sim, client = trade_sim
        data = {
            "out_refund_no": "U1",
            "notify_url": "https://callback.localhost/u",
            "order_entry_schema": {"path": "pages/r"},
        }
        trade_receiver.answer = _answering(pre_create_refund=(200, {"err_no": 0, "err_tips": "success", "data": data}))
        _paid(sim, client, trade_receiver)
        client.control("orders/O1/user_refund", {})
        sim.advance(1)
        _pre_create_answered(sim)
        sim.advance(13)
        paths = [r.path for r in trade_receiver.wait(2)]
        assert paths[1] == "/u"
        assert sim.state()["refunds"][next(iter(sim.state()["refunds"]))]["out_refund_no"] == "U1"

    def test_audit_approve(self, trade_sim, trade_receiver):
        sim, client = trade_sim
        _paid(sim, client, trade_receiver)
        refund_id = client.control("orders/O1/user_refund", {"need_audit": True}).json()["refund_id"]
        sim.advance(1)
        assert trade_receiver.wait(1)[0].msg["need_refund_audit"] == 1
        _pre_create_answered(sim)
        (listed,) = _query(client, refund_id=refund_id)
        assert listed["merchant_audit_detail"]["audit_status"] == "TOAUDIT"
        sim.advance(3600)
        assert _query(client, refund_id=refund_id)[0]["refund_status"] == "PROCESSING"  # waits for the audit
        answer = client.call("refund_audit_callback", {"refund_id": refund_id, "refund_audit_status": 1})
        assert answer["err_no"] == 0
        assert _query(client, refund_id=refund_id)[0]["merchant_audit_detail"]["audit_status"] == "AGREE"
        sim.advance(13)
        assert trade_receiver.wait(2)[1].msg["status"] == "SUCCESS"
        again = client.call("refund_audit_callback", {"refund_id": refund_id, "refund_audit_status": 1})
        assert again["err_no"] == 22006

    def test_audit_deny_fails_the_refund_with_a_callback(self, trade_sim, trade_receiver):
        sim, client = trade_sim
        _paid(sim, client, trade_receiver)
        refund_id = client.control("orders/O1/user_refund", {"need_audit": True}).json()["refund_id"]
        sim.advance(1)
        _pre_create_answered(sim)
        body = {"refund_id": refund_id, "refund_audit_status": 2}
        assert client.call("refund_audit_callback", body)["err_no"] == 10000  # deny_message required
        too_long = client.call("refund_audit_callback", {**body, "deny_message": "拒" * 171})  # 513 bytes
        assert too_long["err_no"] == 10000
        assert client.call("refund_audit_callback", {**body, "deny_message": "已发货"})["err_no"] == 0
        (listed,) = _query(client, refund_id=refund_id)
        assert listed["refund_status"] == "FAIL"
        assert listed["merchant_audit_detail"]["audit_status"] == "DENY"
        assert listed["merchant_audit_detail"]["deny_message"] == "已发货"
        sim.advance(10)
        msg = trade_receiver.wait(2)[1].msg
        assert msg["status"] == "FAIL"
        assert msg["message"] == "已发货"
        assert client.call("refund_audit_callback", {**body, "refund_audit_status": 1})["err_no"] == 22006
        assert (
            client.refund(client.call("order_query", {"out_order_no": "O1"})["data"]["order_id"], "R9", 100)["err_no"]
            == 0
        )

    def test_deny_without_a_callback_when_switched_off(self, make_trade_sim, trade_receiver):
        sim, client = make_trade_sim(deny_sends_refund_callback=False)
        _paid(sim, client, trade_receiver)
        refund_id = client.control("orders/O1/user_refund", {"need_audit": True}).json()["refund_id"]
        sim.advance(1)
        _pre_create_answered(sim)
        body = {"refund_id": refund_id, "refund_audit_status": 2, "deny_message": "no"}
        assert client.call("refund_audit_callback", body)["err_no"] == 0
        sim.advance(60)
        time.sleep(0.2)
        assert _refund_callbacks(trade_receiver) == []
        assert _query(client, refund_id=refund_id)[0]["refund_status"] == "FAIL"

    def test_no_audit_answer_within_72_hours_approves(self, trade_sim, trade_receiver):
        sim, client = trade_sim
        _paid(sim, client, trade_receiver)
        refund_id = client.control("orders/O1/user_refund", {"need_audit": True}).json()["refund_id"]
        sim.advance(1)
        _pre_create_answered(sim)
        sim.advance(HOURS_72 - 2)
        assert _query(client, refund_id=refund_id)[0]["merchant_audit_detail"]["audit_status"] == "TOAUDIT"
        sim.advance(1)  # 72 h after creation
        listed = _query(client, refund_id=refund_id)[0]
        assert listed["merchant_audit_detail"]["audit_status"] == "OVERTIME"
        assert listed["refund_status"] == "PROCESSING"
        late = client.call(
            "refund_audit_callback", {"refund_id": refund_id, "refund_audit_status": 2, "deny_message": "x"}
        )
        assert late["err_no"] == 22006
        sim.advance(13)
        assert trade_receiver.wait(2)[1].msg["status"] == "SUCCESS"

    def test_audit_callback_only_for_refunds_awaiting_audit(self, make_trade_sim, trade_receiver):
        trade_receiver.answer = _answering(pre_create_refund=(500, b"busy"))
        _, client = make_trade_sim()
        order_id = client.paid_order()
        dev = client.refund(order_id, "R1", 10)["data"]["refund_id"]
        user = client.control("orders/O1/user_refund", {"amount": 10, "need_audit": True}).json()["refund_id"]
        for refund_id in (dev, user):  # a developer refund; a user refund not yet answered
            answer = client.call("refund_audit_callback", {"refund_id": refund_id, "refund_audit_status": 1})
            assert answer["err_no"] == 22006
        unknown = client.call("refund_audit_callback", {"refund_id": "ort0", "refund_audit_status": 1})
        assert unknown["err_no"] == 20000
        assert client.call("refund_audit_callback", {"refund_id": dev, "refund_audit_status": 3})["err_no"] == 10000

    def test_a_reply_without_out_refund_no_is_retried_every_10_minutes(self, trade_sim, trade_receiver):
        sim, client = trade_sim
        replies = [{"err_no": 0, "err_tips": "success"}, {"err_no": 0, "err_tips": "success", "data": {}}]
        trade_receiver.answer = _answering(pre_create_refund=(200, lambda _: replies.pop(0) if replies else None))
        _paid(sim, client, trade_receiver)
        client.control("orders/O1/user_refund", {})
        sim.advance(1)
        _pre_create_answered(sim)
        sim.advance(599)
        time.sleep(0.1)
        assert len(trade_receiver.received) == 1
        sim.advance(1)
        _pre_create_answered(sim, 2)
        trade_receiver.answer = default_answer
        sim.advance(600)
        attempts = _pre_create_answered(sim, 3)
        assert [d.ok for d in attempts] == [False, False, True]
        assert [d.attempt for d in attempts] == [1, 2, 3]
        assert [d.sim_time - attempts[0].sim_time for d in attempts] == [0, 600, 1200]
        assert "out_refund_no" in attempts[0].error
        assert attempts[0].http_status == 200
        assert json.loads(attempts[0].response) == {"err_no": 0, "err_tips": "success"}

    @pytest.mark.parametrize(
        "reply",
        [
            {"err_no": 1, "err_tips": "fail", "data": {"out_refund_no": "U1"}},
            {"err_no": "0", "data": {"out_refund_no": "U1"}},
            {"err_no": 0, "data": {"out_refund_no": ""}},
            {"err_no": 0, "data": {"out_refund_no": 1}},
            {"err_no": 0, "data": {"out_refund_no": "U1", "order_entry_schema": {"path": "/bad"}}},
            {"err_no": 0, "data": {"out_refund_no": "U1", "notify_url": "http://x.localhost/"}},
        ],
    )
    def test_replies_that_count_as_failures(self, trade_sim, trade_receiver, reply):
        sim, client = trade_sim
        trade_receiver.answer = _answering(pre_create_refund=(200, reply))
        client.paid_order()
        client.control("orders/O1/user_refund", {})
        sim.advance(1)
        (delivery,) = _pre_create_answered(sim)
        assert not delivery.ok
        (refund,) = sim.state()["refunds"].values()
        assert refund["stage"] == "awaiting_reply"
        assert refund["out_refund_no"] == ""

    def test_an_out_refund_no_used_by_another_refund_is_a_failure(self, trade_sim, trade_receiver):
        sim, client = trade_sim
        trade_receiver.answer = _answering(pre_create_refund=(200, {"err_no": 0, "data": {"out_refund_no": "R1"}}))
        order_id = client.paid_order()
        client.refund(order_id, "R1", 10)
        client.control("orders/O1/user_refund", {"amount": 10})
        sim.advance(1)
        (delivery,) = _pre_create_answered(sim)
        assert not delivery.ok
        assert "already used" in delivery.error

    def test_unanswered_for_72_hours_the_platform_passes_it(self, trade_sim, trade_receiver):
        sim, client = trade_sim
        trade_receiver.answer = _answering(pre_create_refund=(500, b"down"))
        client.paid_order()
        refund_id = client.control("orders/O1/user_refund", {}).json()["refund_id"]
        sim.advance(1)
        trade_receiver.wait(2)
        sim.advance(HOURS_72)
        (listed,) = _query(client, refund_id=refund_id)
        assert listed["out_refund_no"].startswith("AUTO")
        assert listed["refund_status"] == "PROCESSING"
        sim.advance(3 + 10)
        refund_msg = next(r.msg for r in trade_receiver.wait(3) if r.body["type"] == "refund")
        assert refund_msg["out_refund_no"] == listed["out_refund_no"]
        assert sim.state()["callbacks"]["obsolete"]  # the pending retry was dropped, not sent

    def test_user_refund_control_errors(self, trade_sim):
        _, client = trade_sim
        client.create_order("O1")
        assert client.control("orders/O1/user_refund", {}).status_code == 409  # unpaid
        assert client.control("orders/O2/user_refund", {}).status_code == 404
        client.paid_order("O3")
        assert client.control("orders/O3/user_refund", {"amount": 101}).status_code == 409
        assert client.control("orders/O3/user_refund", {"need_audit": "yes"}).status_code == 400
