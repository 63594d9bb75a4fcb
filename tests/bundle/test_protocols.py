"""Every object records the protocol it was created with, and so does every reconcile message;
objects and messages written before the bundle recorded it read as ecpay's (the only protocol then).
The create answer carries a protocol-neutral ``pay_params`` beside today's fields."""

from __future__ import annotations

import json

from tests.bundle.harness import notice_body, refund_msg
from tests.bundle.test_api import ORDER, paid_order


def forget_protocol(bundle, pk: str, sk: str) -> None:
    """Make an item look as it was written before this change."""
    bundle.session.client("dynamodb").update_item(
        TableName=bundle.resources.table_name,
        Key={"pk": {"S": pk}, "sk": {"S": sk}},
        UpdateExpression="REMOVE #p",
        ExpressionAttributeNames={"#p": "protocol"},
    )
    assert "protocol" not in bundle.item(pk, sk)


def test_created_objects_record_their_protocol(bundle):
    paid_order(bundle)
    assert bundle.refund("order-1", {"out_refund_no": "r-1", "refund_amount": 100, "reason": "r"})[0] == 201
    assert bundle.settle("order-1", {"out_settle_no": "s-1", "settle_desc": "d"})[0] == 201
    for pk, sk in (("ORDER#order-1", "ORDER"), ("REFUND#r-1", "REFUND"), ("SETTLE#s-1", "SETTLE")):
        assert bundle.item(pk, sk)["protocol"] == "ecpay"
    for what, ref in (("payments", "order-1"), ("refunds", "r-1"), ("settlements", "s-1")):
        assert bundle.get(what, ref)[1]["protocol"] == "ecpay"


def test_create_answer_has_pay_params_beside_todays_fields(bundle):
    status, body = bundle.create_payment(ORDER)
    assert status == 201
    platform_order = bundle.sim.state()["orders"]["order-1"]
    assert body["order_id"] == platform_order["order_id"]
    assert body["pay_params"] == {"order_id": body["order_id"], "order_token": body["order_token"]}
    assert bundle.get("payments", "order-1")[1]["pay_params"] == body["pay_params"]


def test_reconcile_messages_name_the_protocol(bundle):
    bundle.create_payment(ORDER)
    sent = [json.loads(p["MessageBody"]) for p in bundle.calls.sent()]
    assert sent == [{"v": 1, "kind": "order", "ref": "order-1", "protocol": "ecpay"}]


def test_a_message_from_before_protocols_is_ecpays(bundle):
    bundle.create_payment(ORDER)
    bundle.sim.pay("order-1")
    legacy = json.dumps({"v": 1, "kind": "order", "ref": "order-1"})
    assert bundle.reconcile([legacy]) == {"batchItemFailures": []}
    assert bundle.item("ORDER#order-1", "ORDER")["status"] == "PAID"


def test_an_order_from_before_protocols_is_ecpays_for_life(bundle):
    paid_order(bundle)
    forget_protocol(bundle, "ORDER#order-1", "ORDER")
    status, order = bundle.get("payments", "order-1")
    assert (status, order["protocol"]) == (200, "ecpay")
    # A refund and a settlement of it are created with ecpay (the order's protocol)...
    status, refund = bundle.refund("order-1", {"out_refund_no": "r-1", "refund_amount": 100, "reason": "r"})
    assert (status, refund["protocol"]) == (201, "ecpay"), refund
    assert bundle.item("ORDER#order-1", "ORDER")["refundable_amount"] == 12800 - 100
    # ...and their notices and reconciliation are ecpay's too.
    bundle.sim.complete_refund("r-1")
    assert bundle.callback(notice_body("refund", refund_msg("r-1", 100)))[0] == 200
    assert bundle.item("REFUND#r-1", "REFUND")["status"] == "SUCCEEDED"
    assert bundle.settle("order-1", {"out_settle_no": "s-1", "settle_desc": "d"})[0] == 201
    forget_protocol(bundle, "SETTLE#s-1", "SETTLE")
    bundle.sim.complete_settlement("s-1")
    message = json.dumps({"v": 1, "kind": "settlement", "ref": "s-1"})
    assert bundle.reconcile([message]) == {"batchItemFailures": []}
    assert bundle.item("SETTLE#s-1", "SETTLE")["status"] == "SUCCEEDED"


def test_a_legacy_paid_order_is_refunded_without_an_extra_read(bundle):
    # The protocol check rides in the claim's transaction: no GetItem for it.
    paid_order(bundle, amount=500)
    forget_protocol(bundle, "ORDER#order-1", "ORDER")
    bundle.calls.reset()
    assert bundle.refund("order-1", {"out_refund_no": "r-1", "refund_amount": 100, "reason": "r"})[0] == 201
    assert "GetItem" not in bundle.calls.count()
