"""Small items: each request field is stored once, so an order with realistic Chinese texts stays
under 1 KB through its life (one write unit per write), and create writes the index once."""

from __future__ import annotations

import pytest

from douyin_pay.bundle.api import request_hash
from douyin_pay.bundle.platforms import ecpay as ecpay_adapter
from douyin_pay.bundle.schedule import SUBMIT_LEASE, SWEEP_SLACK
from douyin_pay.bundle.states import Kind
from local.capacity import KB, item_size, value_size, write_units
from tests.bundle.harness import CALLBACK_URL, notice_body, payment_msg, refund_msg
from tests.bundle.test_api import ORDER

CHINESE = {**ORDER, "subject": "拿铁咖啡" * 8, "body": "大杯冰拿铁少糖" * 4 + "加奶油"}  # 32 and 31 characters


def test_the_size_rules():
    assert value_size("拿铁") == 6  # UTF-8 bytes
    # 1 byte per two significant digits, plus one: 0, 128(00), 1764072(000), 123456
    assert (value_size(0), value_size(12800), value_size(1764072000), value_size(123456)) == (2, 3, 5, 4)
    assert value_size({"a", "bc"}) == 3
    assert value_size([1, "x"]) == 3 + (1 + 2) + (1 + 1)
    assert item_size({"pk": "ORDER#1", "n": 10}) == 2 + 7 + 1 + 2
    assert write_units({"pk": "x" * 1100}, None) == 2
    assert write_units(None, {"pk": "x"}) == 1


def test_an_order_with_chinese_texts_stays_under_one_kb_through_its_life(bundle):
    assert bundle.create_payment(CHINESE)[0] == 201
    sizes = {"created": item_size(bundle.item("ORDER#order-1", "ORDER"))}
    bundle.sim.pay("order-1")
    assert bundle.callback(notice_body("payment", payment_msg("order-1", 12800)))[0] == 200
    sizes["paid"] = item_size(bundle.item("ORDER#order-1", "ORDER"))
    refund = {"out_refund_no": "refund-1", "refund_amount": 3000, "reason": "少送了一杯"}
    assert bundle.refund("order-1", refund)[0] == 201
    assert bundle.callback(notice_body("refund", refund_msg("refund-1", 3000)))[0] == 200
    sizes["refunded"] = item_size(bundle.item("ORDER#order-1", "ORDER"))
    assert max(sizes.values()) < KB, sizes


def test_request_fields_are_stored_once(bundle):
    assert bundle.create_payment(CHINESE)[0] == 201
    order = bundle.item("ORDER#order-1", "ORDER")
    assert CHINESE["subject"] not in order["request"]  # kept as the order's own attribute only
    assert len(order["request_hash"]) == 32


REFUND = {"out_refund_no": "refund-1", "refund_amount": 100, "reason": "r"}
SETTLE = {"out_settle_no": "settle-1", "settle_desc": "分账", "settle_params": [{"merchant_uid": "m1", "amount": 10}]}


@pytest.mark.parametrize(
    ("kind", "key", "create"),
    [
        (Kind.ORDER, ("ORDER#order-1", "ORDER"), lambda b: b.create_payment(CHINESE)),
        (Kind.REFUND, ("REFUND#refund-1", "REFUND"), lambda b: b.refund("order-1", REFUND)),
        (Kind.SETTLEMENT, ("SETTLE#settle-1", "SETTLE"), lambda b: b.settle("order-1", SETTLE)),
    ],
)
def test_a_resend_rebuilds_exactly_the_fields_sent(bundle, kind, key, create):
    if kind is not Kind.ORDER:
        assert bundle.create_payment(ORDER)[0] == 201
        bundle.sim.pay("order-1")
        assert bundle.callback(notice_body("payment", payment_msg("order-1", 12800)))[0] == 200
    assert create(bundle)[0] == 201
    item = bundle.item(*key)
    rebuilt = ecpay_adapter.EcpayPlatform.request_of(kind, item)
    # The stored hash is over the fields first sent: the same hash, the same fields.
    assert request_hash(rebuilt) == item["request_hash"]
    assert rebuilt["notify_url"] == CALLBACK_URL  # kept in the stored rest, not in the record


def test_create_writes_due_at_once(bundle):
    assert bundle.create_payment(ORDER)[0] == 201
    updates = [p for name, p in bundle.calls.params if name == "UpdateItem"]
    assert len(updates) == 1  # the acceptance
    assert "due_at" not in updates[0]["ExpressionAttributeNames"].values()
    order = bundle.item("ORDER#order-1", "ORDER")
    assert order["due_at"] - order["created_at"] >= SUBMIT_LEASE + SWEEP_SLACK
