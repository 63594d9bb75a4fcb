"""The cashier and payment callbacks: pay, cancel, time-out, and the order_query / query_cps views
(trade-spec §4.3, §4.4, §5, §6.3.3–4)."""

from __future__ import annotations

import json
import re
import time

from tests.local.trade_helpers import APP_ID, NOTIFY_URL, PLATFORM_KEY, order_data, public_pem, verifies


def _pay(client, order_id, **body):
    return client.control("client/get_order_payment", {"orderId": order_id, **body})


class TestPaymentCallback:
    def test_pay_sends_a_signed_v3_callback(self, trade_sim, trade_receiver):
        sim, client = trade_sim
        order_id = client.create_order("O1")
        assert _pay(client, order_id, pay_channel=1).json()["pay_status"] == "SUCCESS"
        sim.advance(1)  # the payment delay
        (received,) = trade_receiver.wait(1)
        assert received.path == "/trade/notify"
        assert list(received.body) == ["version", "msg", "type"]
        assert received.body["version"] == "3.0"
        assert received.body["type"] == "payment"
        assert isinstance(received.body["msg"], str)  # double-encoded
        msg = received.msg
        assert msg["app_id"] == APP_ID
        assert "appid" not in msg
        assert msg["out_order_no"] == "O1"
        assert msg["order_id"] == order_id
        assert msg["status"] == "SUCCESS"
        assert msg["total_amount"] == 100
        assert msg["discount_amount"] == 0
        assert msg["pay_channel"] == 1
        assert msg["channel_pay_id"]
        assert msg["user_bill_pay_id"].startswith("DTPS")
        assert msg["merchant_uid"] == sim.config.merchant_uid
        assert msg["event_time"] == int(sim.clock.now() - 1) * 1000  # ms, when paid

    def test_the_signature_verifies_with_the_platform_key_and_only_over_the_raw_body(self, trade_sim, trade_receiver):
        sim, client = trade_sim
        _pay(client, client.create_order())
        sim.advance(1)
        (received,) = trade_receiver.wait(1)
        assert sim.platform_public_key_pem == public_pem(PLATFORM_KEY)
        assert verifies(received, public_pem(PLATFORM_KEY))
        reserialised = json.dumps(json.loads(received.raw), ensure_ascii=False).encode()
        assert not verifies(received, public_pem(PLATFORM_KEY), raw=reserialised)
        compact_but_ascii = json.dumps(json.loads(received.raw), separators=(",", ":")).encode()
        assert compact_but_ascii == received.raw  # no non-ASCII in a payment msg: byte-identical
        assert not verifies(received, public_pem(PLATFORM_KEY), raw=received.raw + b" ")

    def test_the_byte_headers(self, trade_sim, trade_receiver):
        sim, client = trade_sim
        order_id = client.create_order()
        _pay(client, order_id)
        sim.advance(1)
        (received,) = trade_receiver.wait(1)
        h = {k.lower(): v for k, v in received.headers.items()}
        assert h["content-type"] == "application/json"
        assert h["byte-timestamp"] == str(int(sim.clock.now()))  # sim-time seconds
        assert re.fullmatch(r"[A-Za-z0-9]{32}", h["byte-nonce-str"])
        assert len(h["byte-signature"]) == 344
        assert h["byte-identifyname"] == "/msg/basic/payment/notify"
        assert re.fullmatch(r"\d{14}[0-9A-F]{20}", h["byte-logid"])
        assert h["byte-eventid"].endswith(f"_{APP_ID}_PaySucDeveloperNotify_{order_id}")

    def test_the_delivery_log_records_the_attempt(self, trade_sim, trade_receiver):
        sim, client = trade_sim
        _pay(client, client.create_order())
        sim.advance(1)
        (delivery,) = sim.wait_for_deliveries(1)
        assert delivery.ok
        assert delivery.http_status == 200
        assert delivery.attempt == 1
        assert delivery.url == NOTIFY_URL
        assert delivery.delivered_to == trade_receiver.url + "/trade/notify"
        assert json.loads(delivery.response) == {"err_no": 0, "err_tips": "success"}
        assert delivery.body.encode() == trade_receiver.received[0].raw

    def test_pay_notify_url_overrides_the_configured_url(self, trade_sim, trade_receiver):
        sim, client = trade_sim
        _pay(client, client.create_order(payNotifyUrl="https://callback.localhost/special"))
        sim.advance(1)
        assert trade_receiver.wait(1)[0].path == "/special"

    def test_pay_notify_url_is_ignored_without_a_configured_url(self, make_trade_sim, trade_receiver):
        sim, client = make_trade_sim(default_notify_url=None)
        _pay(client, client.create_order(payNotifyUrl="https://callback.localhost/special"))
        sim.advance(60)
        time.sleep(0.2)
        assert trade_receiver.received == []
        assert sim.deliveries() == []
        (not_sent,) = sim.state()["callbacks"]["not_sent"]
        assert not_sent["type"] == "payment"
        assert "ignored" in not_sent["reason"]

    def test_diamond_orders_pay_with_channel_20(self, trade_sim, trade_receiver):
        sim, client = trade_sim
        order_id = client.request_order(order_data(currency="DIAMOND"), client_platform="ios")["orderId"]
        assert _pay(client, order_id, pay_channel=10).status_code == 400
        assert _pay(client, order_id).json()["pay_channel"] == 20
        sim.advance(1)
        msg = trade_receiver.wait(1)[0].msg
        assert msg["pay_channel"] == 20
        assert msg["currency"] == "DIAMOND"

    def test_a_channel_hidden_by_limit_pay_way_list_cannot_pay(self, trade_sim):
        _, client = trade_sim
        order_id = client.create_order(limitPayWayList=[10])
        assert _pay(client, order_id, pay_channel=10).status_code == 409
        assert _pay(client, order_id, pay_channel=20).status_code == 400
        assert _pay(client, order_id, pay_channel=2).status_code == 200


class TestCancelAndTimeout:
    def test_unpaid_orders_time_out_at_pay_expire_seconds(self, trade_sim, trade_receiver):
        sim, client = trade_sim
        order_id = client.create_order(payExpireSeconds=600)
        sim.advance(599)
        assert client.call("order_query", {"order_id": order_id})["data"]["pay_status"] == "PROCESS"
        time.sleep(0.1)
        assert trade_receiver.received == []
        sim.advance(1)
        assert client.call("order_query", {"order_id": order_id})["data"]["pay_status"] == "TIMEOUT"
        sim.advance(1)
        msg = trade_receiver.wait(1)[0].msg
        assert msg["status"] == "CANCEL"
        assert msg["message"] == "TIME_OUT"
        assert msg["event_time"] == (client.now() - 1) * 1000  # the expiry (+600), not the delivery (+601)
        for key in ("pay_channel", "channel_pay_id", "user_bill_pay_id", "merchant_uid"):
            assert key not in msg
        assert _pay(client, order_id).status_code == 409

    def test_user_cancel_then_pay_still_works(self, trade_sim, trade_receiver):
        sim, client = trade_sim
        order_id = client.create_order()
        assert _pay(client, order_id, outcome="cancel").json()["pay_status"] == "PROCESS"
        sim.advance(1)
        cancel = trade_receiver.wait(1)[0].msg
        assert cancel["status"] == "CANCEL"
        assert cancel["message"] == "USER_CANCEL"
        assert client.call("order_query", {"order_id": order_id})["data"]["pay_status"] == "PROCESS"
        assert _pay(client, order_id).json()["pay_status"] == "SUCCESS"
        sim.advance(1)
        assert trade_receiver.wait(2)[1].msg["status"] == "SUCCESS"
        sim.advance(3600)  # a paid order never times out
        time.sleep(0.1)
        assert len(trade_receiver.received) == 2

    def test_leave_changes_nothing(self, trade_sim, trade_receiver):
        sim, client = trade_sim
        order_id = client.create_order()
        assert _pay(client, order_id, outcome="leave").json()["pay_status"] == "PROCESS"
        sim.advance(5)
        time.sleep(0.1)
        assert trade_receiver.received == []

    def test_paying_twice_or_an_unknown_order_is_refused(self, trade_sim):
        _, client = trade_sim
        order_id = client.paid_order()
        assert _pay(client, order_id).status_code == 409
        assert _pay(client, "motb00000000000000000000000").status_code == 404
        assert _pay(client, order_id, outcome="refund").status_code == 400


class TestOrderQuery:
    def test_an_unpaid_order_has_no_money_fields(self, trade_sim):
        sim, client = trade_sim
        order_id = client.create_order()
        answer = client.call("order_query", {"out_order_no": "O1"})
        assert answer["err_no"] == 0
        assert answer["_http"] == 200
        data = answer["data"]
        assert data["order_id"] == order_id
        assert data["app_id"] == APP_ID
        assert data["pay_status"] == "PROCESS"
        assert data["trade_time"] == int(sim.clock.now()) * 1000
        for key in ("pay_time", "pay_channel", "channel_pay_id", "discount_amount", "merchant_uid"):
            assert key not in data
        (item,) = data["item_order_list"]
        assert set(item) == {"item_order_id", "sku_id", "item_order_amount"}

    def test_a_paid_order_has_them(self, trade_sim):
        sim, client = trade_sim
        order_id = client.create_order()
        sim.advance(30)
        _pay(client, order_id, pay_channel=2)
        data = client.call("order_query", {"order_id": order_id})["data"]
        assert data["pay_status"] == "SUCCESS"
        assert data["pay_time"] == int(sim.clock.now()) * 1000
        assert data["trade_time"] == data["pay_time"] - 30_000
        assert data["pay_channel"] == 2
        assert data["total_amount"] == 100
        assert data["discount_amount"] == 0
        assert data["channel_pay_id"]
        assert data["merchant_uid"] == sim.config.merchant_uid

    def test_merchant_uid_from_data(self, trade_sim):
        _, client = trade_sim
        order_id = client.paid_order(merchantUid="71223625266663938860")
        assert client.call("order_query", {"order_id": order_id})["data"]["merchant_uid"] == "71223625266663938860"

    def test_order_id_wins_when_both_are_sent(self, trade_sim):
        _, client = trade_sim
        first = client.create_order("O1")
        client.create_order("O2")
        data = client.call("order_query", {"order_id": first, "out_order_no": "O2"})["data"]
        assert data["out_order_no"] == "O1"

    def test_neither_or_an_unknown_order(self, trade_sim):
        _, client = trade_sim
        client.create_order("O1")
        assert client.call("order_query", {})["err_no"] == 10000
        unknown = client.call("order_query", {"out_order_no": "nope"})
        assert unknown["err_no"] == 20000
        assert unknown["data"] is None
        assert "out_order_no?" in client.call("order_query", {"order_id": "O1"})["err_msg"]

    def test_a_number_where_a_string_belongs(self, trade_sim):
        _, client = trade_sim
        assert client.call("order_query", {"order_id": 123})["err_no"] == 10000


class TestQueryCps:
    def test_zero_commission_unless_scripted(self, trade_sim):
        _, client = trade_sim
        order_id = client.paid_order()
        data = client.call("query_cps", {"order_id": order_id})["data"]
        assert data == {"order_id": order_id, "out_order_no": "O1", "total_commission_amount": 0, "cps_item_list": []}
        assert client.control("orders/O1/cps", {"commission_amount": 7, "commission_rate": 700}).status_code == 200
        data = client.call("query_cps", {"out_order_no": "O1"})["data"]
        assert data["total_commission_amount"] == 7
        (item,) = data["cps_item_list"]
        assert item["commission_rate"] == 700
        assert isinstance(item["item_id"], str)

    def test_unknown_order(self, trade_sim):
        _, client = trade_sim
        assert client.call("query_cps", {"out_order_no": "nope"})["err_no"] == 20000
