"""Details of the event builders that the sample files alone do not pin down."""

from __future__ import annotations

import base64
import hashlib
import time

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2, LambdaFunctionUrlEvent, SQSEvent

from local.events import (
    encode_body,
    function_url_event,
    http_api_v2_event,
    iam_caller,
    is_text_content_type,
    lambda_context,
    parse_query,
    schedule_event,
    sqs_event,
    sqs_message_attributes_md5,
    sqs_record_from_message,
)

BINARY = bytes(range(256)) * 4


def test_raw_query_string_is_preserved_exactly_and_repeated_keys_comma_joined() -> None:
    raw = "b=2&a=1&a=x%2By+z&empty=&flag&a=%E6%8B%BF%E9%93%81"
    event = http_api_v2_event("GET", "/payments/o1", route_key="GET /payments/{out_order_no}", query=raw)
    assert event["rawQueryString"] == raw
    assert event["queryStringParameters"] == {"b": "2", "a": "1,x+y z,拿铁", "empty": "", "flag": ""}
    assert APIGatewayProxyEventV2(event).get_query_string_value("b") == "2"


def test_query_inside_the_request_target_is_split_off() -> None:
    event = function_url_event("GET", "/hook?x=1&x=2")
    assert event["rawPath"] == "/hook"
    assert event["rawQueryString"] == "x=1&x=2"
    assert event["queryStringParameters"] == {"x": "1,2"}


def test_query_given_as_pairs_is_encoded() -> None:
    event = http_api_v2_event("GET", "/p", query=[("a", "1"), ("a", "2"), ("q", "拿 铁")])
    assert event["rawQueryString"] == "a=1&a=2&q=%E6%8B%BF+%E9%93%81"
    assert event["queryStringParameters"] == {"a": "1,2", "q": "拿 铁"}


def test_no_query_means_no_query_string_parameters() -> None:
    event = http_api_v2_event("GET", "/p")
    assert event["rawQueryString"] == ""
    assert "queryStringParameters" not in event
    assert parse_query("") is None
    assert APIGatewayProxyEventV2(event).query_string_parameters == {}


def test_header_names_are_lower_cased_and_repeated_headers_comma_joined() -> None:
    event = http_api_v2_event(
        "POST",
        "/payments",
        route_key="POST /payments",
        headers=[
            ("Content-Type", "application/json"),
            ("X-Custom", "one"),
            ("x-custom", "two"),
            ("User-Agent", "ua/1"),
            ("Cookie", "a=1; b=2"),
            ("Cookie", "c=3"),
        ],
        body=b"{}",
    )
    headers = event["headers"]
    assert all(name == name.lower() for name in headers)
    assert headers["x-custom"] == "one,two"
    assert headers["content-type"] == "application/json"
    assert headers["content-length"] == "2"
    assert "cookie" not in headers
    assert event["cookies"] == ["a=1", "b=2", "c=3"]
    assert event["requestContext"]["http"]["userAgent"] == "ua/1"
    assert APIGatewayProxyEventV2(event).headers["X-CUSTOM"] == "one,two"


def test_service_headers_are_added() -> None:
    event = http_api_v2_event(
        "GET", "/p", headers={"X-Forwarded-For": "10.0.0.1"}, source_ip="203.0.113.5", api_id="abc1234567"
    )
    headers = event["headers"]
    assert headers["host"] == "abc1234567.execute-api.us-east-1.amazonaws.com"
    assert headers["x-forwarded-for"] == "10.0.0.1, 203.0.113.5"
    assert headers["x-forwarded-port"] == "443"
    assert headers["x-forwarded-proto"] == "https"
    assert headers["x-amzn-trace-id"].startswith("Root=1-")
    assert "content-length" not in headers
    assert "cookies" not in event
    assert "body" not in event
    assert event["isBase64Encoded"] is False


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("Application/JSON", True),
        ("text/plain", True),
        ("text/html; charset=UTF-8", True),
        ("application/xml", True),
        ("application/javascript", True),
        ("application/x-www-form-urlencoded", False),
        ("application/octet-stream", False),
        ("multipart/form-data; boundary=x", False),
        ("application/problem+json", False),
        ("image/png", False),
        ("", False),
        (None, False),
    ],
)
def test_text_content_types(content_type: str | None, text: bool) -> None:
    assert is_text_content_type(content_type) is text
    body, is_b64 = encode_body(b'{"a":1}', content_type)
    assert is_b64 is not text
    assert body == ('{"a":1}' if text else base64.b64encode(b'{"a":1}').decode())


def test_text_type_with_non_utf8_body_is_base64() -> None:
    assert encode_body(b"\xff\xfe", "text/plain") == ("//4=", True)


def test_empty_body_is_left_out() -> None:
    assert encode_body(None, "application/json") == (None, False)
    assert encode_body(b"", "application/json") == (None, False)


@pytest.mark.parametrize("builder", ["http", "url"])
def test_binary_body_round_trips_through_base64(builder: str) -> None:
    headers = {"Content-Type": "application/octet-stream"}
    if builder == "http":
        event = http_api_v2_event("POST", "/upload", headers=headers, body=BINARY)
    else:
        event = function_url_event("POST", "/upload", headers=headers, body=BINARY)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == BINARY
    assert event["headers"]["content-length"] == str(len(BINARY))


@pytest.mark.parametrize("builder", ["http", "url"])
def test_force_base64_encodes_a_text_body_and_powertools_decodes_it(builder: str) -> None:
    body = '{"subject":"拿铁咖啡"}'.encode()
    headers = {"content-type": "application/json"}
    if builder == "http":
        plain = APIGatewayProxyEventV2(http_api_v2_event("POST", "/p", headers=headers, body=body))
        forced = APIGatewayProxyEventV2(http_api_v2_event("POST", "/p", headers=headers, body=body, force_base64=True))
    else:
        plain = LambdaFunctionUrlEvent(function_url_event("POST", "/", headers=headers, body=body))
        forced = LambdaFunctionUrlEvent(function_url_event("POST", "/", headers=headers, body=body, force_base64=True))
    assert plain.is_base64_encoded is False
    assert plain.body == body.decode()
    assert forced.is_base64_encoded is True
    assert forced.decoded_body == plain.decoded_body == body.decode()
    assert forced.json_body == {"subject": "拿铁咖啡"}


def test_request_context_http_matches_the_request() -> None:
    event = http_api_v2_event(
        "post",
        "/payments/o-1/refunds",
        route_key="POST /payments/{out_order_no}/refunds",
        source_ip="198.51.100.7",
        request_id="abcdefghijklmno=",
        time_epoch_ms=1764072000123,
    )
    context = event["requestContext"]
    assert context["http"] == {
        "method": "POST",
        "path": "/payments/o-1/refunds",
        "protocol": "HTTP/1.1",
        "sourceIp": "198.51.100.7",
        "userAgent": "",
    }
    assert context["routeKey"] == event["routeKey"] == "POST /payments/{out_order_no}/refunds"
    assert context["requestId"] == "abcdefghijklmno="
    assert context["time"] == "25/Nov/2025:12:00:00 +0000"
    assert context["timeEpoch"] == 1764072000123
    assert context["domainName"] == f"{context['apiId']}.execute-api.us-east-1.amazonaws.com"
    assert context["domainPrefix"] == context["apiId"]
    assert event["pathParameters"] == {"out_order_no": "o-1"}
    assert "authorizer" not in context


def test_path_parameters_from_route_template_are_decoded_and_checked() -> None:
    event = http_api_v2_event("GET", "/refunds/r%2F1", route_key="GET /refunds/{out_refund_no}")
    assert event["pathParameters"] == {"out_refund_no": "r/1"}
    greedy = http_api_v2_event("GET", "/files/a/b/c", route_key="GET /files/{proxy+}")
    assert greedy["pathParameters"] == {"proxy": "a/b/c"}
    with pytest.raises(ValueError, match="does not match"):
        http_api_v2_event("GET", "/refunds/r1/extra", route_key="GET /refunds/{out_refund_no}")
    explicit = http_api_v2_event("GET", "/x", route_key="GET /{id}", path_parameters={"id": "given"})
    assert explicit["pathParameters"] == {"id": "given"}
    assert "pathParameters" not in http_api_v2_event("GET", "/x")


def test_named_stage_prefixes_the_raw_path_and_powertools_strips_it() -> None:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

    event = http_api_v2_event("GET", "/payments/o1", route_key="GET /payments/{out_order_no}", stage="prod")
    assert event["rawPath"] == "/prod/payments/o1"
    assert event["requestContext"]["http"]["path"] == "/prod/payments/o1"
    assert event["requestContext"]["stage"] == "prod"
    app = APIGatewayHttpResolver()

    @app.get("/payments/<out_order_no>")
    def get_payment(out_order_no: str) -> dict:
        return {"id": out_order_no}

    assert app.resolve(event, lambda_context("QueryFunction", timeout_ms=1000))["statusCode"] == 200


def test_iam_authorizer_has_the_documented_fields() -> None:
    caller = iam_caller(account_id="111122223333", role_name="r", session_name="s", role_id="AROAEXAMPLE")
    event = http_api_v2_event("GET", "/p", iam_caller=caller)
    assert event["requestContext"]["authorizer"] == {
        "iam": {
            "accessKey": "ASIAIOSFODNN7EXAMPLE",
            "accountId": "111122223333",
            "callerId": "AROAEXAMPLE:s",
            "cognitoIdentity": None,
            "principalOrgId": "o-exampleorgid",
            "userArn": "arn:aws:sts::111122223333:assumed-role/r/s",
            "userId": "AROAEXAMPLE:s",
        }
    }
    partial = http_api_v2_event("GET", "/p", iam_caller={"userArn": "arn:aws:iam::1:user/u"})
    assert partial["requestContext"]["authorizer"]["iam"]["accessKey"] is None
    with pytest.raises(ValueError, match="unknown"):
        http_api_v2_event("GET", "/p", iam_caller={"arn": "x"})


def test_function_url_event_shape() -> None:
    event = function_url_event("POST", "/", body=b"{}", headers={"content-type": "application/json"}, url_id="u" * 32)
    assert event["routeKey"] == "$default"
    assert "pathParameters" not in event
    assert "stageVariables" not in event
    context = event["requestContext"]
    assert context["accountId"] == "anonymous"
    assert "authorizer" not in context
    assert context["apiId"] == context["domainPrefix"] == "u" * 32
    assert context["domainName"] == "u" * 32 + ".lambda-url.us-east-1.on.aws"
    assert context["routeKey"] == context["stage"] == "$default"
    assert event["headers"]["host"] == context["domainName"]
    assert event["headers"]["x-amzn-tls-version"] == "TLSv1.2"
    assert len(context["requestId"]) == 36  # a UUID
    iam = function_url_event("GET", "/", iam_caller=iam_caller(), account_id="999988887777")
    assert iam["requestContext"]["accountId"] == "999988887777"
    assert iam["requestContext"]["authorizer"]["iam"]["cognitoIdentity"] is None


def test_defaults_are_fresh_ids_and_the_current_time() -> None:
    before = time.time_ns() // 1_000_000
    one = http_api_v2_event("GET", "/p")
    two = http_api_v2_event("GET", "/p")
    assert one["requestContext"]["requestId"] != two["requestContext"]["requestId"]
    assert len(one["requestContext"]["requestId"]) == 16
    assert one["requestContext"]["requestId"].endswith("=")
    assert before <= one["requestContext"]["timeEpoch"] <= time.time_ns() // 1_000_000


def test_sqs_event_from_plain_records() -> None:
    event = sqs_event(
        [
            {"body": {"kind": "order", "ref": "拿铁", "attempt": 1}, "receive_count": 3},
            {"body": "plain text", "message_attributes": {"attempt": 2, "kind": "order", "blob": b"\x00\x01"}},
        ]
    )
    first, second = event["Records"]
    assert first["body"] == '{"kind":"order","ref":"拿铁","attempt":1}'
    assert first["md5OfBody"] == hashlib.md5(first["body"].encode()).hexdigest()
    assert first["attributes"]["ApproximateReceiveCount"] == "3"
    assert first["messageAttributes"] == {}
    assert "md5OfMessageAttributes" not in first
    assert second["messageAttributes"]["attempt"] == {
        "stringValue": "2",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "Number",
    }
    assert second["messageAttributes"]["blob"]["binaryValue"] == "AAE="
    assert second["md5OfMessageAttributes"] == sqs_message_attributes_md5(second["messageAttributes"])
    parsed = SQSEvent(event)
    assert [r.body for r in parsed.records] == [first["body"], "plain text"]
    assert next(iter(parsed.records)).json_body == {"kind": "order", "ref": "拿铁", "attempt": 1}
    with pytest.raises(ValueError, match="unknown"):
        sqs_event([{"body": "x", "attemptz": 1}])


def test_sqs_records_from_a_real_queue_match_sqs_digests() -> None:
    """Round trip through moto's SQS: the record carries SQS's own MD5s and attributes."""
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    with moto.mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="reconcile")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.send_message(
            QueueUrl=url,
            MessageBody='{"kind":"order","ref":"demo-order-0001","attempt":0}',
            MessageAttributes={
                "kind": {"DataType": "String", "StringValue": "order"},
                "attempt": {"DataType": "Number", "StringValue": "0"},
                "raw": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
            },
        )
        message = sqs.receive_message(QueueUrl=url, AttributeNames=["All"], MessageAttributeNames=["All"])["Messages"][
            0
        ]
    record = sqs_record_from_message(message, queue_arn=arn)
    assert record["md5OfBody"] == message["MD5OfBody"]
    assert record["md5OfMessageAttributes"] == message["MD5OfMessageAttributes"]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["eventSourceARN"] == arn
    assert record["awsRegion"] == "us-east-1"
    assert record["messageAttributes"]["raw"]["binaryValue"] == "AP8="
    assert sqs_event([message], queue_arn=arn)["Records"] == [record]


def test_schedule_event_shape() -> None:
    event = schedule_event(rule_name="r", time_epoch_s=1764072000, region="cn-north-1", account_id="111122223333")
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["time"] == "2025-11-25T12:00:00Z"
    assert event["resources"] == ["arn:aws-cn:events:cn-north-1:111122223333:rule/r"]
    assert event["detail"] == {}


def test_lambda_context_counts_down() -> None:
    context = lambda_context("CallbackFunction", timeout_ms=10_000)
    assert context.function_name == "CallbackFunction"
    assert context.memory_limit_in_mb == 512
    assert context.invoked_function_arn == "arn:aws:lambda:us-east-1:123456789012:function:CallbackFunction"
    assert len(context.aws_request_id) == 36
    remaining = context.get_remaining_time_in_millis()
    assert 9_000 < remaining <= 10_000
    assert lambda_context("f", timeout_ms=0).get_remaining_time_in_millis() == 0


def test_powertools_logger_accepts_the_context() -> None:
    from aws_lambda_powertools import Logger

    logger = Logger(service="events-test")

    @logger.inject_lambda_context
    def handler(event: dict, context: object) -> str:
        return "ok"

    assert handler({}, lambda_context("QueryFunction", timeout_ms=1000)) == "ok"
