"""Powertools (the handlers' parser) reads every sample event the way the handlers expect."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.data_classes import (
    APIGatewayProxyEventV2,
    EventBridgeEvent,
    LambdaFunctionUrlEvent,
    SQSEvent,
)

from douyin_pay.ecpay.notices import PaymentNotice, RefundNotice, SettleNotice, parse_callback
from douyin_pay.ecpay.signing import callback_sign
from douyin_pay.errors import MalformedCallbackError, SignatureError
from local.events import lambda_context

from .event_files import REPO, load_event, make_events

TOKEN = make_events().TEST_TOKEN

# name -> (method, path, route, pathParameters, queryStringParameters, json body)
API_EVENTS: dict[str, tuple[str, str, str, dict[str, str], dict[str, str], Any]] = {
    "create_payment.json": (
        "POST",
        "/payments",
        "POST /payments",
        {},
        {},
        {
            "out_order_no": "demo-order-0001",
            "total_amount": 12800,
            "subject": "拿铁咖啡",
            "body": "拿铁 大杯 ×1",
            "valid_time": 1800,
            "cp_extra": "demo",
        },
    ),
    "create_refund.json": (
        "POST",
        "/payments/demo-order-0001/refunds",
        "POST /payments/{out_order_no}/refunds",
        {"out_order_no": "demo-order-0001"},
        {},
        {"out_refund_no": "demo-refund-0001", "refund_amount": 3000, "reason": "顾客取消一杯"},
    ),
    "create_settlement.json": (
        "POST",
        "/payments/demo-order-0001/settlements",
        "POST /payments/{out_order_no}/settlements",
        {"out_order_no": "demo-order-0001"},
        {},
        {
            "out_settle_no": "demo-settle-0001",
            "settle_desc": "订单结算",
            "settle_params": [{"merchant_uid": "696458350318359362", "amount": 1000}],
        },
    ),
    "get_payment.json": (
        "GET",
        "/payments/demo-order-0001",
        "GET /payments/{out_order_no}",
        {"out_order_no": "demo-order-0001"},
        {},
        None,
    ),
    "get_payment_refresh.json": (
        "GET",
        "/payments/demo-order-0001",
        "GET /payments/{out_order_no}",
        {"out_order_no": "demo-order-0001"},
        {"refresh": "true"},
        None,
    ),
    "get_refund.json": (
        "GET",
        "/refunds/demo-refund-0001",
        "GET /refunds/{out_refund_no}",
        {"out_refund_no": "demo-refund-0001"},
        {},
        None,
    ),
    "get_settlement.json": (
        "GET",
        "/settlements/demo-settle-0001",
        "GET /settlements/{out_settle_no}",
        {"out_settle_no": "demo-settle-0001"},
        {},
        None,
    ),
}

CALLBACKS = {
    "callback_payment.json": ("payment", PaymentNotice),
    "callback_payment_base64.json": ("payment", PaymentNotice),
    "callback_refund.json": ("refund", RefundNotice),
    "callback_settle.json": ("settle", SettleNotice),
}


@pytest.mark.parametrize("name", sorted(API_EVENTS))
def test_http_api_event_reads_back(name: str) -> None:
    method, path, route, path_params, query, body = API_EVENTS[name]
    event = APIGatewayProxyEventV2(load_event(name))
    assert event.version == "2.0"
    assert event.route_key == route
    assert event.http_method == method
    assert event.path == path
    assert event.raw_path == path
    assert event.request_context.http.method == method
    assert event.request_context.http.path == path
    assert event.request_context.stage == "$default"
    assert event.path_parameters == path_params
    assert event.query_string_parameters == query
    assert event.json_body == body
    if body is None:
        assert event.decoded_body is None
        assert "body" not in event.raw_event
    else:
        assert event.is_base64_encoded is False
        assert json.loads(event.decoded_body or "") == body
    # AWS_IAM route: the SigV4 caller is in the authorizer context.
    iam = event.request_context.authorizer.iam
    assert iam.user_arn == "arn:aws:sts::123456789012:assumed-role/merchant-backend/backend-session"
    assert iam.caller_id == iam.user_id
    assert iam.account_id == "123456789012"
    assert iam.cognito_identity_id == ""


def _resolver() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver()

    @app.post("/payments")
    def create_payment() -> dict:
        return {"route": "POST /payments", "body": app.current_event.json_body}

    @app.post("/payments/<out_order_no>/refunds")
    def create_refund(out_order_no: str) -> dict:
        return {"route": "POST /payments/{out_order_no}/refunds", "id": out_order_no}

    @app.post("/payments/<out_order_no>/settlements")
    def create_settlement(out_order_no: str) -> dict:
        return {"route": "POST /payments/{out_order_no}/settlements", "id": out_order_no}

    @app.get("/payments/<out_order_no>")
    def get_payment(out_order_no: str) -> dict:
        refresh = app.current_event.get_query_string_value("refresh", "false")
        return {"route": "GET /payments/{out_order_no}", "id": out_order_no, "refresh": refresh}

    @app.get("/refunds/<out_refund_no>")
    def get_refund(out_refund_no: str) -> dict:
        return {"route": "GET /refunds/{out_refund_no}", "id": out_refund_no}

    @app.get("/settlements/<out_settle_no>")
    def get_settlement(out_settle_no: str) -> dict:
        return {"route": "GET /settlements/{out_settle_no}", "id": out_settle_no}

    return app


@pytest.mark.parametrize("name", sorted(API_EVENTS))
def test_http_resolver_routes_each_event(name: str) -> None:
    _, _, route, path_params, query, body = API_EVENTS[name]
    response = _resolver().resolve(load_event(name), lambda_context("QueryFunction", timeout_ms=20_000))
    assert response["statusCode"] == 200
    answer = json.loads(response["body"])
    assert answer["route"] == route
    if path_params:
        assert answer["id"] == next(iter(path_params.values()))
    if route == "POST /payments":
        assert answer["body"] == body
    if route.startswith("GET /payments/"):
        assert answer["refresh"] == query.get("refresh", "false")


@pytest.mark.parametrize("name", sorted(CALLBACKS))
def test_callback_events_carry_a_validly_signed_notice(name: str) -> None:
    type_, notice_cls = CALLBACKS[name]
    event = LambdaFunctionUrlEvent(load_event(name))
    assert event.route_key == "$default"
    assert event.http_method == "POST"
    assert event.path == "/"
    assert event.request_context.authorizer.iam.user_arn == ""  # AuthType NONE: no authorizer
    assert "authorizer" not in event.raw_event["requestContext"]
    assert event.request_context.account_id == "anonymous"
    assert event.request_context.domain_name.endswith(".lambda-url.us-east-1.on.aws")

    body = event.decoded_body or ""
    envelope = json.loads(body)
    assert envelope["type"] == type_
    assert envelope["nonce"] == "4821"
    assert envelope["timestamp"] == "1764072000"
    assert callback_sign(TOKEN, envelope["timestamp"], envelope["nonce"], envelope["msg"]) == envelope["msg_signature"]
    notice = parse_callback(body.encode("utf-8"), TOKEN)
    assert isinstance(notice, notice_cls)


def test_text_and_base64_callbacks_decode_to_the_same_signed_body() -> None:
    text = LambdaFunctionUrlEvent(load_event("callback_payment.json"))
    b64 = LambdaFunctionUrlEvent(load_event("callback_payment_base64.json"))
    assert text.is_base64_encoded is False
    assert b64.is_base64_encoded is True
    assert b64.body != text.body
    expected = make_events().callback_body("payment", make_events().payment_msg()).decode("utf-8")
    assert text.decoded_body == expected
    assert b64.decoded_body == expected
    assert base64.b64decode(b64.body or "") == expected.encode("utf-8")


def test_callback_notices_match_the_demo_objects() -> None:
    pay = parse_callback(LambdaFunctionUrlEvent(load_event("callback_payment.json")).decoded_body or "", TOKEN)
    assert isinstance(pay, PaymentNotice)
    assert (pay.app_id, pay.out_order_no, pay.total_amount, pay.way, pay.status) == (
        "tt0123456789abcdef",
        "demo-order-0001",
        12800,
        10,
        "SUCCESS",
    )
    refund = parse_callback(LambdaFunctionUrlEvent(load_event("callback_refund.json")).decoded_body or "", TOKEN)
    assert isinstance(refund, RefundNotice)
    assert (refund.out_refund_no, refund.refund_amount, refund.status) == ("demo-refund-0001", 3000, "SUCCESS")
    settle = parse_callback(LambdaFunctionUrlEvent(load_event("callback_settle.json")).decoded_body or "", TOKEN)
    assert isinstance(settle, SettleNotice)
    assert (settle.app_id, settle.out_settle_no, settle.status, settle.out_order_no) == (
        "tt0123456789abcdef",
        "demo-settle-0001",
        "SUCCESS",
        "demo-order-0001",
    )
    assert settle.settle_amount == 9800
    assert settle.rake == 59


def test_forged_callback_does_not_verify() -> None:
    body = LambdaFunctionUrlEvent(load_event("callback_forged.json")).decoded_body or ""
    envelope = json.loads(body)
    assert callback_sign(TOKEN, envelope["timestamp"], envelope["nonce"], envelope["msg"]) != envelope["msg_signature"]
    with pytest.raises(SignatureError):
        parse_callback(body, TOKEN)


def test_malformed_callback_is_not_json() -> None:
    body = LambdaFunctionUrlEvent(load_event("callback_malformed.json")).decoded_body or ""
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    with pytest.raises(MalformedCallbackError):
        parse_callback(body, TOKEN)


def test_reconcile_batch_parses_as_sqs() -> None:
    event = SQSEvent(load_event("reconcile_batch.json"))
    records = list(event.records)
    assert [r.json_body for r in records] == [
        {"v": 1, "kind": "order", "ref": "demo-order-0001", "protocol": "ecpay"},
        {"v": 1, "kind": "refund", "ref": "demo-refund-0001", "protocol": "ecpay"},
    ]
    for record in records:
        assert record.event_source == "aws:sqs"
        assert record.aws_region == "us-east-1"
        assert record.event_source_arn.startswith("arn:aws:sqs:us-east-1:123456789012:")
        assert record.attributes.approximate_receive_count == "1"
        assert int(record.attributes.sent_timestamp) <= int(record.attributes.approximate_first_receive_timestamp)
        assert record.message_id
        assert record.receipt_handle
        assert record.md5_of_body == hashlib.md5(record.body.encode()).hexdigest()
    assert len({r.message_id for r in records}) == 2


def test_sweeper_schedule_parses_as_eventbridge() -> None:
    event = EventBridgeEvent(load_event("sweeper_schedule.json"))
    assert event.detail_type == "Scheduled Event"
    assert event.source == "aws.events"
    assert event.detail == {}
    assert event.time == "2025-11-25T12:10:00Z"
    assert re.fullmatch(r"arn:aws:events:us-east-1:123456789012:rule/.+", event.resources[0])


def test_routes_and_logical_ids_exist_in_the_template() -> None:
    """The sample routes are the template's HttpApi routes, and the README's logical ids exist."""
    template = (REPO / "template.yaml").read_text(encoding="utf-8")
    routes = {f"{m} {p}" for m, p in re.findall(r"Method:\s*(\w+)\s+Path:\s*(\S+)", template)}
    assert {spec[2] for spec in API_EVENTS.values()} <= routes
    for logical_id in (
        "CreatePaymentFunction",
        "CreateRefundFunction",
        "CreateSettlementFunction",
        "QueryFunction",
        "CallbackFunction",
        "ReconcileFunction",
        "SweeperFunction",
    ):
        assert re.search(rf"^  {logical_id}:\s*$", template, re.MULTILINE), logical_id
