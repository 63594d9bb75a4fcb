"""tt.requestOrder's ``data`` rules (trade-spec §3.2, §6.3.2): every rule refuses with errNo 10000
and names the field; a valid order answers exactly what the client API gives."""

from __future__ import annotations

import json
import re

import pytest

from tests.local.trade_helpers import dumps, order_data, with_sku

SCHEMA = {"path": "pages/order/detail", "params": '{"id":"O1"}'}


def _refusal(answer) -> str:
    assert set(answer) == {"errNo", "errMsg", "errLogId"}, answer
    assert answer["errNo"] == 10000, answer
    return answer["errMsg"]


class TestSuccess:
    def test_the_answer_is_what_tt_request_order_gives(self, trade_sim):
        sim, client = trade_sim
        answer = client.request_order(
            order_data("O1", totalAmount=300, skuList=[{**order_data()["skuList"][0], "price": 100, "quantity": 3}])
        )
        assert set(answer) == {"orderId", "itemOrderList", "logId"}
        assert re.fullmatch(r"motb\d{23}", answer["orderId"])
        (item,) = answer["itemOrderList"]
        assert set(item) == {"itemOrderId", "skuId", "itemOrderAmount"}
        assert item["skuId"] == "sku-1"
        assert item["itemOrderAmount"] == 300
        assert item["itemOrderId"] != answer["orderId"]
        assert re.fullmatch(r"\d{14}[0-9A-F]{20}", answer["logId"])
        (order,) = sim.state()["orders"].values()
        assert order["pay_status"] == "PROCESS"
        assert order["expire_at"] == (client.now() + 900) * 1000

    def test_pay_expire_seconds_missing_or_zero_means_300(self, trade_sim):
        sim, client = trade_sim
        data = order_data("O1")
        del data["payExpireSeconds"]
        client.request_order(data)
        client.request_order(order_data("O2", payExpireSeconds=0))
        client.request_order(order_data("O3", payExpireSeconds=172_800))
        orders = sim.state()["orders"]
        assert orders["O1"]["expire_at"] - orders["O1"]["trade_time"] == 300_000
        assert orders["O2"]["expire_at"] - orders["O2"]["trade_time"] == 300_000
        assert orders["O3"]["expire_at"] - orders["O3"]["trade_time"] == 172_800_000

    def test_optional_fields_that_are_valid_pass(self, trade_sim):
        _, client = trade_sim
        data = order_data(
            currency="CNY",
            payNotifyUrl="https://callback.localhost/other",
            merchantUid="71223625266663938860",
            limitPayWayList=[1, 2],
            orderEntrySchema={"path": "pages/order/detail"},  # params may be left out
        )
        data["skuList"][0]["entrySchema"] = {"path": "pages/goods", "params": "{}"}
        assert "orderId" in client.request_order(data)

    def test_sku_attr_satisfies_type_101(self, trade_sim):
        _, client = trade_sim
        attr = json.dumps({"package_cost": {"amount": 1900, "time_len": 1, "unit": 1}})
        assert "orderId" in client.request_order(with_sku(type=101, skuAttr=attr))

    def test_ios_with_diamond_and_quantity_one_passes(self, trade_sim):
        _, client = trade_sim
        assert "orderId" in client.request_order(order_data(currency="DIAMOND"), client_platform="ios")

    def test_android_may_use_diamond(self, trade_sim):
        _, client = trade_sim
        assert "orderId" in client.request_order(order_data(currency="DIAMOND"))

    def test_a_promotion_may_lower_the_total(self, trade_sim):
        _, client = trade_sim
        assert "orderId" in client.request_order(order_data(totalAmount=80, promotionId="p-1"))
        _refusal(client.request_order(order_data("O2", totalAmount=120, promotionId="p-1")))


# Each case: (a description, the data (or its text), the field named in errMsg).
def _cases():
    no_expire = order_data()
    del no_expire["orderEntrySchema"]
    two = order_data()
    two["skuList"] = two["skuList"] * 2
    yield "not json", "{not json", "data"
    yield "not an object", "[1]", "data"
    yield "skuList missing", {k: v for k, v in order_data().items() if k != "skuList"}, "skuList"
    yield "skuList empty", order_data(skuList=[]), "skuList"
    yield "two sku items", two, "skuList"
    yield "quantity 0", with_sku(quantity=0), "quantity"
    yield "quantity 101", {**with_sku(quantity=101, price=1), "totalAmount": 101}, "quantity"
    yield "quantity as a string", with_sku(quantity="1"), "quantity"
    yield "price × quantity ≠ total", order_data(totalAmount=99), "totalAmount"
    yield "total as a float", order_data(totalAmount=100.0), "totalAmount"
    yield "title 257 bytes", with_sku(title="a" * 257), "title"
    yield "title 86 CJK characters (258 bytes)", with_sku(title="题" * 86), "title"
    yield "title missing", with_sku(title=None), "title"
    yield "two images", with_sku(imageList=["https://a/1.png", "https://a/2.png"]), "imageList"
    yield "no image", with_sku(imageList=[]), "imageList"
    yield "image 513 bytes", with_sku(imageList=["https://a/" + "x" * 503]), "imageList"
    yield "type missing", with_sku(type=None), "type"
    yield "type as a string", with_sku(type="401"), "type"
    yield "tagGroupId missing", with_sku(tagGroupId=None), "tagGroupId"
    yield "skuId missing", with_sku(skuId=None), "skuId"
    yield "skuAttr missing for 101", with_sku(type=101), "skuAttr"
    yield "skuAttr missing for 107", with_sku(type=107), "skuAttr"
    yield "skuAttr as an object", with_sku(type=103, skuAttr={"a": 1}), "skuAttr"
    yield "skuAttr not a JSON object", with_sku(type=102, skuAttr="[1]"), "skuAttr"
    yield "orderEntrySchema missing", no_expire, "orderEntrySchema"


def _schema_and_order_cases():
    yield "path with ?", order_data(orderEntrySchema={**SCHEMA, "path": "pages/order?id=1"}), "path"
    yield "path with a leading /", order_data(orderEntrySchema={**SCHEMA, "path": "/pages/order"}), "path"
    yield "path with :", order_data(orderEntrySchema={**SCHEMA, "path": "pages:order"}), "path"
    yield "path with &", order_data(orderEntrySchema={**SCHEMA, "path": "pages&order"}), "path"
    yield "path with *", order_data(orderEntrySchema={**SCHEMA, "path": "pages/*"}), "path"
    yield "path missing", order_data(orderEntrySchema={"params": "{}"}), "path"
    yield "path 513 bytes", order_data(orderEntrySchema={"path": "p" * 513}), "path"
    yield "params as an object", order_data(orderEntrySchema={**SCHEMA, "params": {"id": "O1"}}), "params"
    yield "params not JSON", order_data(orderEntrySchema={**SCHEMA, "params": "id=O1"}), "params"
    yield "params a JSON array", order_data(orderEntrySchema={**SCHEMA, "params": "[1]"}), "params"
    yield "params with a repeated key", order_data(orderEntrySchema={**SCHEMA, "params": '{"a":1,"a":2}'}), "params"
    yield "params 513 bytes", order_data(orderEntrySchema={**SCHEMA, "params": json.dumps({"a": "x" * 505})}), "params"
    bad_entry = with_sku(entrySchema={"path": "pages/goods?x=1"})
    yield "sku entrySchema path with ?", bad_entry, "entrySchema.path"
    yield "payExpireSeconds 172801", order_data(payExpireSeconds=172_801), "payExpireSeconds"
    yield "payExpireSeconds negative", order_data(payExpireSeconds=-1), "payExpireSeconds"
    yield "outOrderNo missing", {k: v for k, v in order_data().items() if k != "outOrderNo"}, "outOrderNo"
    yield "outOrderNo 65 bytes", order_data("x" * 65), "outOrderNo"
    yield "outOrderNo a number", order_data(outOrderNo=12345), "outOrderNo"
    yield "currency USD", order_data(currency="USD"), "currency"
    yield "DIAMOND with quantity 2", {**with_sku(quantity=2, price=50), "currency": "DIAMOND"}, "quantity"
    yield "payNotifyUrl over http", order_data(payNotifyUrl="http://callback.localhost/n"), "payNotifyUrl"
    yield "limitPayWayList of strings", order_data(limitPayWayList=["1"]), "limitPayWayList"
    yield "limitPayWayList with 3", order_data(limitPayWayList=[3]), "limitPayWayList"


CASES = [*_cases(), *_schema_and_order_cases()]


@pytest.mark.parametrize(("data", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_data_rule_refuses_with_10000_naming_the_field(trade_sim, data, field):
    sim, client = trade_sim
    message = _refusal(client.request_order(data))
    assert field in message
    assert sim.state()["orders"] == {}


def test_ios_requires_diamond(trade_sim):
    sim, client = trade_sim
    message = _refusal(client.request_order(order_data(), client_platform="ios"))
    assert "DIAMOND" in message
    assert "iOS" in message
    _refusal(client.request_order(order_data(currency="CNY"), client_platform="ios"))
    assert sim.state()["orders"] == {}


def test_diamond_quantity_two_is_refused_with_a_clear_message(trade_sim):
    _, client = trade_sim
    data = {**with_sku(quantity=2, price=5), "totalAmount": 10, "currency": "DIAMOND"}
    assert "quantity" in _refusal(client.request_order(data, client_platform="ios"))


def test_data_must_be_a_string(trade_sim):
    _, client = trade_sim
    body = {"data": order_data(), "byteAuthorization": "x", "client_platform": "android"}
    answer = client.http.post(client.base_url + "/_sim/client/request_order", json=body).json()
    assert answer["errNo"] == 10000


def test_an_unknown_client_platform_is_a_control_error(trade_sim):
    _, client = trade_sim
    body = {"data": dumps(order_data()), "byteAuthorization": "x", "client_platform": "harmony"}
    assert client.http.post(client.base_url + "/_sim/client/request_order", json=body).status_code == 400


class TestDuplicateOutOrderNo:
    def test_same_order_mode_answers_the_existing_unpaid_order(self, trade_sim):
        sim, client = trade_sim
        first = client.request_order(order_data("O1"))
        second = client.request_order(order_data("O1"))
        assert second["orderId"] == first["orderId"]
        assert second["itemOrderList"] == first["itemOrderList"]
        assert second["logId"] != first["logId"]
        assert len(sim.state()["orders"]) == 1

    def test_same_order_mode_refuses_different_data(self, trade_sim):
        _, client = trade_sim
        client.request_order(order_data("O1"))
        changed = {**with_sku(price=200), "totalAmount": 200}
        assert "different data" in _refusal(client.request_order(changed))

    def test_same_order_mode_refuses_a_paid_order(self, trade_sim):
        _, client = trade_sim
        client.paid_order("O1")
        assert "SUCCESS" in _refusal(client.request_order(order_data("O1")))

    def test_error_mode_refuses_any_repeat(self, make_trade_sim):
        sim, client = make_trade_sim(duplicate_out_order_no="error")
        client.request_order(order_data("O1"))
        assert "already used" in _refusal(client.request_order(order_data("O1")))
        sim.configure(duplicate_out_order_no="same_order")
        assert "orderId" in client.request_order(order_data("O1"))
