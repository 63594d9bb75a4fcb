"""Domain events: the table's stream, through the real publisher handler, onto an EventBridge bus
(moto), and from there to the merchant's queue by a rule — one event per state change, none for a
duplicate, the same event_id on a retried publish, each valid against its schema in docs/events/."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from douyin_pay.bundle import runtime
from douyin_pay.bundle.domain_events import DETAIL_TYPES, SOURCE
from tests.bundle import test_api
from tests.bundle.harness import REPO, notice_body, payment_msg, refund_msg, settle_msg

SCHEMAS = REPO / "docs" / "events"


def schema_file(detail_type: str) -> Path:
    return SCHEMAS / f"{detail_type.lower().replace(' ', '-')}.v1.json"


class Merchant:
    """The merchant's queue, subscribed to every event of the bus by a rule."""

    def __init__(self, bundle) -> None:
        self.sqs = bundle.session.client("sqs")
        events = bundle.session.client("events")
        self.url = self.sqs.create_queue(QueueName="merchant")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        bus = bundle.resources.event_bus
        events.put_rule(Name="to-merchant", EventBusName=bus, EventPattern=json.dumps({"source": [SOURCE]}))
        events.put_targets(Rule="to-merchant", EventBusName=bus, Targets=[{"Id": "merchant", "Arn": arn}])

    def received(self) -> list[dict]:
        out = []
        while True:
            got = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return out
            for message in got:
                out.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def merchant(bundle) -> Merchant:
    return Merchant(bundle)


def assert_valid(events: list[dict]) -> None:
    """Each event's detail against the schema of its detail-type."""
    for event in events:
        schema = json.loads(schema_file(event["detail-type"]).read_text())
        jsonschema.Draft202012Validator(schema).validate(event["detail"])


def kinds(events: list[dict]) -> list[str]:
    return [e["detail-type"] for e in events]


def test_one_event_per_transition_through_a_lifecycle_and_none_for_duplicates(bundle, merchant):
    bundle.create_payment(test_api.ORDER)
    bundle.sim.pay("order-1")
    paid = notice_body("payment", payment_msg("order-1", 12800))
    assert bundle.callback(paid)[0] == 200
    assert bundle.callback(paid)[0] == 200  # a duplicate: no write, so no record, so no event
    bundle.refund("order-1", test_api.REFUND)
    bundle.callback(notice_body("refund", refund_msg("refund-1", test_api.REFUND["refund_amount"])))
    bundle.settle("order-1", {"out_settle_no": "settle-1", "settle_desc": "结算"})
    bundle.callback(notice_body("settle", settle_msg("settle-1", "order-1")))
    bundle.publish()
    events = merchant.received()
    assert kinds(events) == [
        "Payment Created",
        "Payment Paid",
        "Refund Processing",
        "Refund Succeeded",
        "Settlement Processing",
        "Settlement Succeeded",
    ]
    paid_event = events[1]
    assert paid_event["source"] == SOURCE
    detail = paid_event["detail"]
    assert (detail["ref"], detail["previous_status"], detail["status"], detail["protocol"]) == (
        "order-1",
        "CREATED",
        "PAID",
        "ecpay",
    )
    assert detail["object"]["status"] == "PAID"
    assert len({e["detail"]["event_id"] for e in events}) == len(events)
    assert_valid(events)


def test_a_refused_request_announces_nothing_and_the_events_go_on(bundle, merchant):
    """A refused refund is a cancelled transaction: nothing was written, so the stream has nothing
    of it — and the changes after it are still announced (the emulator once lost them)."""
    bundle.create_payment(test_api.ORDER)
    bundle.sim.pay("order-1")
    bundle.callback(notice_body("payment", payment_msg("order-1", 12800)))
    bundle.publish()  # the stream is being read when the refused request comes
    too_much = {**test_api.REFUND, "out_refund_no": "refund-x", "refund_amount": 12801}
    assert bundle.refund("order-1", too_much)[1]["code"] == "refund_exceeds_refundable"
    bundle.refund("order-1", test_api.REFUND)
    bundle.publish()
    events = merchant.received()
    assert kinds(events) == ["Payment Created", "Payment Paid", "Refund Processing"]
    assert {e["detail"]["ref"] for e in events} == {"order-1", test_api.REFUND["out_refund_no"]}


def test_a_fulfilment_is_announced_once(bundle, merchant):
    bundle.create_payment(test_api.ORDER)
    bundle.sim.pay("order-1")
    bundle.callback(notice_body("payment", payment_msg("order-1", 12800)))
    route = "POST /payments/{out_order_no}/fulfilment"
    assert bundle.api("POST", "/payments/order-1/fulfilment", route=route)[0] == 201
    assert bundle.api("POST", "/payments/order-1/fulfilment", route=route)[0] == 200
    bundle.publish()
    events = merchant.received()
    assert kinds(events) == ["Payment Created", "Payment Paid", "Payment Fulfilled"]
    detail = events[2]["detail"]
    assert (detail["status"], detail["previous_status"]) == ("PAID", "PAID")
    assert detail["object"]["fulfilled_at"] == detail["changed_at"]
    assert_valid(events)


def test_the_settlement_deadline_and_the_platforms_own_settlement_are_announced_once(bundle, merchant):
    bundle.create_payment(test_api.ORDER)
    bundle.sim.pay("order-1")
    msg = payment_msg("order-1", 12800)
    msg["paid_at"] = int(bundle.clock())
    bundle.callback(notice_body("payment", msg))
    step = json.dumps({"kind": "order", "ref": "order-1", "protocol": "ecpay"})
    bundle.advance(130 * 86_400)
    assert bundle.reconcile([step]) == {"batchItemFailures": []}  # 20 days before day 150: warned
    bundle.advance(21 * 86_400)  # the platform settles it at day 150
    assert bundle.reconcile([step]) == {"batchItemFailures": []}
    assert bundle.reconcile([step]) == {"batchItemFailures": []}  # no longer watched: nothing more
    bundle.publish()
    events = merchant.received()
    assert kinds(events) == ["Payment Created", "Payment Paid", "Payment Settlement Due", "Payment Auto Settled"]
    assert events[2]["detail"]["object"]["settle_due_at"] == msg["paid_at"] + 150 * 86_400
    assert events[3]["detail"]["object"]["auto_settlement"]["amount"] > 0
    assert_valid(events)


def test_an_anomaly_is_announced_once(bundle, merchant):
    bundle.create_payment(test_api.ORDER)
    wrong = notice_body("payment", payment_msg("order-1", 1))  # the amount differs: never applied
    bundle.callback(wrong)
    bundle.callback(wrong)
    bundle.publish()
    events = merchant.received()
    assert kinds(events) == ["Payment Created", "Notice Anomaly"]
    assert events[1]["detail"]["anomaly"]["outcome"] == "mismatch"
    assert events[1]["detail"]["status"] == "CREATED"


def test_a_failed_publish_is_retried_from_its_record_with_the_same_event_ids(bundle, merchant, monkeypatch):
    bundle.create_payment(test_api.ORDER)
    bundle.sim.pay("order-1")
    bundle.callback(notice_body("payment", payment_msg("order-1", 12800)))
    client = runtime.aws_client("events")
    real = client.put_events
    calls = {"n": 0}

    def flaky(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:  # the bus refuses the first call's entries
            return {
                "FailedEntryCount": len(kwargs["Entries"]),
                "Entries": [{"ErrorCode": "InternalFailure"}] * len(kwargs["Entries"]),
            }
        return real(**kwargs)

    monkeypatch.setattr(client, "put_events", flaky)
    bundle.publish()
    assert merchant.received() == []  # nothing got through, and nothing was skipped
    bundle.publish()  # Lambda's retry from the failed record
    events = merchant.received()
    assert kinds(events) == ["Payment Created", "Payment Paid"]


def test_a_publish_failing_midway_repeats_only_what_follows_with_stable_ids(bundle, merchant, monkeypatch):
    bundle.create_payment(test_api.ORDER)
    bundle.sim.pay("order-1")
    bundle.callback(notice_body("payment", payment_msg("order-1", 12800)))
    client = runtime.aws_client("events")
    real = client.put_events
    state = {"failed": False}

    def second_entry_fails(**kwargs):
        if state["failed"]:
            return real(**kwargs)
        state["failed"] = True
        first = real(Entries=kwargs["Entries"][:1])
        rest = [{"ErrorCode": "ThrottlingException"}] * (len(kwargs["Entries"]) - 1)
        return {"FailedEntryCount": len(rest), "Entries": first["Entries"] + rest}

    monkeypatch.setattr(client, "put_events", second_entry_fails)
    bundle.publish()
    first = merchant.received()
    bundle.publish()
    second = merchant.received()
    assert kinds(first) == ["Payment Created"]
    assert "Payment Paid" in kinds(second)
    ids = {}
    for event in first + second:
        ids.setdefault(event["detail-type"], set()).add(event["detail"]["event_id"])
    assert all(len(v) == 1 for v in ids.values())  # a repeat carries the same id


def test_the_client_token_item_announces_nothing(bundle, merchant):
    from douyin_pay.bundle.client_token import token_key

    bundle.session.client("dynamodb").put_item(
        TableName=bundle.resources.table_name,
        Item={**token_key("tt0123456789abcdef"), "token": {"S": "clt.x"}, "refresh_at": {"N": "1"}},
    )
    assert bundle.publish() == 0
    assert merchant.received() == []


def test_every_detail_type_has_a_schema():
    assert {p.name for p in SCHEMAS.glob("*.v1.json")} == {schema_file(t).name for t in DETAIL_TYPES}
    for detail_type in DETAIL_TYPES:
        schema = json.loads(schema_file(detail_type).read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["title"] == detail_type


def test_a_denied_user_refund_announces_the_decision_and_the_failure(trade_bundle):
    from tests.bundle.test_trade import TestUserRefunds

    merchant = Merchant(trade_bundle)
    ref = TestUserRefunds().open_refund(trade_bundle, need_audit=True)["out_refund_no"]
    status, _ = trade_bundle.api(
        "POST",
        f"/refunds/{ref}/audit",
        route="POST /refunds/{out_refund_no}/audit",
        body={"decision": "deny", "deny_message": "已使用"},
    )
    assert status == 200
    trade_bundle.publish()
    events = merchant.received()
    assert kinds(events) == [
        "Payment Created",
        "Payment Paid",
        "Refund Processing",
        "Refund Audit Denied",
        "Refund Failed",
    ]
    opened = events[2]["detail"]
    assert (opened["protocol"], opened["previous_status"], opened["object"]["origin"]) == ("trade", None, "user")
    assert opened["object"]["audit_status"] == "PENDING"
    assert_valid(events)
