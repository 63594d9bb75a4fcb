"""docs/openapi.yaml against the bundle as it behaves: the routes of template.yaml, the field sets and
limits of the ecpay adapter / validation, the examples, and the bodies the real handlers return
(through the in-process bundle: moto + the Douyin simulator).

Response bodies are checked with ``jsonschema`` (a pinned dependency of the dev environment) after
turning the OpenAPI 3.0 schemas into JSON Schema (``$ref`` inlined, ``nullable`` as a null type).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from douyin_pay import ConfigurationError
from douyin_pay.bundle import views
from douyin_pay.bundle.api import MAX_BODY_BYTES, error_body
from douyin_pay.bundle.platforms import ecpay as ecpay_adapter
from douyin_pay.bundle.platforms import trade as trade_adapter
from douyin_pay.bundle.states import STATUSES, Kind
from douyin_pay.ecpay import validation as v
from douyin_pay.ecpay.signing import GO_WHITESPACE
from local.aws_resources import load_template
from tests.bundle.harness import SALT, notice_body, payment_msg, settle_msg

REPO = Path(__file__).resolve().parents[2]
SPEC: dict[str, Any] = yaml.safe_load((REPO / "docs" / "openapi.yaml").read_text(encoding="utf-8"))

CREATE_ROUTES = {
    # route key: (request schema, the service's allowed fields, body key of the created object)
    "POST /payments": ("CreatePaymentRequest", ecpay_adapter.ORDER_FIELDS, "out_order_no"),
    "POST /payments/{out_order_no}/refunds": ("CreateRefundRequest", ecpay_adapter.REFUND_FIELDS, "out_refund_no"),
    "POST /payments/{out_order_no}/settlements": (
        "CreateSettlementRequest",
        ecpay_adapter.SETTLE_FIELDS,
        "out_settle_no",
    ),
}
# The same routes for a trade-system order (the request body is one of the documented schemas).
TRADE_CREATE_ROUTES = {
    "POST /payments": ("CreateTradePaymentRequest", trade_adapter.ORDER_FIELDS, "out_order_no"),
    "POST /payments/{out_order_no}/refunds": (
        "CreateTradeRefundRequest",
        trade_adapter.REFUND_FIELDS,
        "out_refund_no",
    ),
    "POST /payments/{out_order_no}/settlements": (
        "CreateSettlementRequest",
        trade_adapter.SETTLE_FIELDS,
        "out_settle_no",
    ),
}
AUDIT_ROUTE = "POST /refunds/{out_refund_no}/audit"
FULFIL_ROUTE = "POST /payments/{out_order_no}/fulfilment"
GET_ROUTES = {
    "payments": "GET /payments/{out_order_no}",
    "refunds": "GET /refunds/{out_refund_no}",
    "settlements": "GET /settlements/{out_settle_no}",
}
NOT_FOUND = {"payments": "order_not_found", "refunds": "refund_not_found", "settlements": "settlement_not_found"}
NOT_FROM_THE_BUNDLE = {"403", "429"}  # answered by API Gateway itself


# -- the document -------------------------------------------------------------------------------


def deref(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        node = SPEC
        for part in ref[2:].split("/"):
            node = node[part]
    return node


def json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: refs inlined, ``nullable`` turned into a null type."""
    node = deref(node)
    if isinstance(node, list):
        return [json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: json_schema(val) for k, val in node.items() if k not in ("nullable", "example", "format")}
    if node.get("nullable") and "type" in node:
        out["type"] = [node["type"], "null"]
    return out


def operation(route: str) -> dict:
    method, path = route.split(" ", 1)
    return SPEC["paths"][path][method.lower()]


def response_schema(route: str, status: int) -> dict:
    responses = operation(route)["responses"]
    assert str(status) in responses, f"{route} does not document {status}"
    return json_schema(deref(responses[str(status)])["content"]["application/json"]["schema"])


def request_schemas(route: str) -> list[dict]:
    """The documented request body schemas of a route (one per protocol where they differ)."""
    schema = operation(route)["requestBody"]["content"]["application/json"]["schema"]
    return [deref(s) for s in schema.get("anyOf", [schema])]


def request_schema(route: str, routes: dict = CREATE_ROUTES) -> dict:
    """The request schema of ``route`` for one protocol (``routes``: CREATE_ROUTES is ecpay's)."""
    name = routes[route][0] if route in routes else None
    schemas = request_schemas(route)
    if name is None:
        (schema,) = schemas
        return schema
    (schema,) = [s for s in schemas if s is SPEC["components"]["schemas"][name]]
    return schema


def validate(route: str, status: int, body: Any) -> None:
    jsonschema.Draft202012Validator(response_schema(route, status)).validate(body)


def walk(node: Any) -> Iterator[Any]:
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        yield from walk(child)


def template_routes() -> set[str]:
    routes = set()
    for resource in load_template()["Resources"].values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "HttpApi":
                routes.add(f"{event['Properties']['Method'].upper()} {event['Properties']['Path']}")
    return routes


def test_document_is_openapi_3_0():
    assert re.fullmatch(r"3\.0\.\d+", SPEC["openapi"])
    assert SPEC["info"]["title"]
    assert SPEC["info"]["version"]
    for node in walk(SPEC):
        if isinstance(node, dict) and "$ref" in node:
            assert isinstance(deref(node), dict), node["$ref"]


def test_document_passes_the_openapi_validator():
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(SPEC)


def test_paths_and_methods_are_the_template_routes():
    documented = {f"{m.upper()} {p}" for p, item in SPEC["paths"].items() for m in item if m != "parameters"}
    assert documented == template_routes()


def test_path_templates_and_parameters_agree():
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            declared = {
                deref(p)["name"] for p in op.get("parameters", []) if deref(p)["in"] == "path" and deref(p)["required"]
            }
            assert declared == set(re.findall(r"{(\w+)}", path)), (method, path)


def test_every_route_is_sigv4():
    schemes = SPEC["components"]["securitySchemes"]
    assert SPEC["security"] == [{"sigv4": []}]
    assert schemes["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    assert all("security" not in op for item in SPEC["paths"].values() for op in item.values())
    auth = load_template()["Resources"]["PaymentsApi"]["Properties"]["Auth"]
    assert auth["DefaultAuthorizer"] == "AWS_IAM"


def test_every_operation_documents_its_statuses():
    for route in template_routes():
        documented = set(operation(route)["responses"])
        expected = {"200", "400", "403", "422", "429", "500", "502", "503"}
        if route.startswith("POST"):
            expected |= {"409", "413"}
        if route.startswith("POST") and route != AUDIT_ROUTE:
            expected |= {"201"}
        if route != "POST /payments":
            expected.add("404")
        if route == FULFIL_ROUTE:
            expected -= {"422", "502"}  # recorded here only: the platform is not called
        assert documented == expected, route


@pytest.mark.parametrize("routes", [CREATE_ROUTES, TRADE_CREATE_ROUTES], ids=["ecpay", "trade"])
def test_request_fields_are_the_services(routes):
    for route, (name, allowed, _) in routes.items():
        schema = request_schema(route, routes)
        assert schema is SPEC["components"]["schemas"][name]
        assert set(schema["properties"]) == allowed, route
        assert schema["additionalProperties"] is False
        assert set(schema["required"]) <= allowed
    trade_order = SPEC["components"]["schemas"]["CreateTradePaymentRequest"]
    assert set(trade_adapter.ORDER_REQUIRED) == set(trade_order["required"])


def test_each_create_route_documents_one_schema_per_protocol():
    for route in CREATE_ROUTES:
        names = {CREATE_ROUTES[route][0], TRADE_CREATE_ROUTES[route][0]}
        assert {id(s) for s in request_schemas(route)} == {id(SPEC["components"]["schemas"][n]) for n in names}


def test_response_objects_are_the_service_views():
    extras = {"error", "anomalies", "reconcile_state", "protocol"}  # added by view() (the first three when set)
    schemas = SPEC["components"]["schemas"]
    for name, kind in (("Order", Kind.ORDER), ("Refund", Kind.REFUND), ("Settlement", Kind.SETTLEMENT)):
        expected = set(views._VIEW_FIELDS[kind]) | extras
        if kind is Kind.ORDER:
            # a PAID order; a payable one; an ecpay order (order sync)
            expected |= {"refunded_or_pending_amount", "pay_params", "order_sync"}
        assert set(schemas[name]["properties"]) == expected, name
        assert schemas[name]["additionalProperties"] is False
        statuses = {s.value for s in STATUSES[kind]}
        assert set(schemas[name]["properties"]["status"]["enum"]) == statuses, name


def test_text_rules_pattern_is_gos_white_space():
    pattern = SPEC["components"]["schemas"]["CpExtra"]["pattern"]
    for char in GO_WHITESPACE:
        assert re.search(pattern, char + "x") is None, repr(char)
        assert re.search(pattern, "x" + char) is None, repr(char)
        assert re.search(pattern, "x" + char + "x"), repr(char)
    for char in "\x1c\x1d\x1e\x1f\u200b\ufeff":
        assert re.search(pattern, char + "x"), repr(char)
    texts = [p for p in walk(SPEC["components"]["schemas"]) if isinstance(p, dict) and p.get("pattern") == pattern]
    assert len(texts) == 8  # cp_extra, msg_page, subject, body, store_uid, reason, settle_desc, merchant_uid


def test_limits_are_the_validation_constants():
    schemas = SPEC["components"]["schemas"]
    assert (schemas["Fen"]["minimum"], schemas["Fen"]["maximum"]) == (v.MIN_AMOUNT, v.MAX_AMOUNT)
    valid_time = schemas["CreatePaymentRequest"]["properties"]["valid_time"]
    assert (valid_time["minimum"], valid_time["maximum"]) == (v.MIN_VALID_TIME, v.MAX_VALID_TIME)
    assert valid_time["default"] == ecpay_adapter.DEFAULT_VALID_TIME
    assert schemas["CreateSettlementRequest"]["properties"]["settle_params"]["maxItems"] == v.MAX_SETTLE_PAYEES
    assert schemas["BusinessNo"]["pattern"] == "^" + v._BUSINESS_NO.pattern.replace(r"_\-*", "_*-") + "$"
    merchant_uid = deref(schemas["Payee"]["properties"]["merchant_uid"])
    assert merchant_uid["pattern"] == schemas["CpExtra"]["pattern"]  # text rules, no character set
    assert merchant_uid["maxLength"] == v.MAX_MERCHANT_UID_CHARS
    assert "65536" in deref(SPEC["components"]["responses"]["PayloadTooLarge"])["description"]
    assert MAX_BODY_BYTES == 65536


# -- against the handlers -----------------------------------------------------------------------

_numbers = itertools.count(1)


def fresh(prefix: str) -> str:
    return f"{prefix}{next(_numbers)}"


def example(route: str) -> dict:
    return operation(route)["requestBody"]["content"]["application/json"]["example"]


def post(bundle, route: str, order_no: str, body: Any) -> tuple[int, dict]:
    path = route.split(" ", 1)[1].replace("{out_order_no}", order_no)
    return bundle.api("POST", path, route=route, body=body)


def pay(bundle, out_order_no: str, amount: int = 50_000) -> str:
    body = {"out_order_no": out_order_no, "total_amount": amount, "subject": "s", "body": "b"}
    assert bundle.create_payment(body)[0] == 201
    bundle.sim.pay(out_order_no)
    assert bundle.callback(notice_body("payment", payment_msg(out_order_no, amount)))[0] == 200
    return out_order_no


def test_examples_are_accepted_and_answers_match(bundle):
    payment = example("POST /payments")
    status, body = bundle.create_payment(payment)
    assert status == 201, body
    validate("POST /payments", 201, body)
    params = operation("POST /payments/{out_order_no}/refunds")["parameters"]
    assert deref(params[0])["example"] == payment["out_order_no"]
    bundle.sim.pay(payment["out_order_no"])
    paid = notice_body("payment", payment_msg(payment["out_order_no"], payment["total_amount"]))
    assert bundle.callback(paid)[0] == 200
    for route in ("POST /payments/{out_order_no}/refunds", "POST /payments/{out_order_no}/settlements"):
        status, body = post(bundle, route, payment["out_order_no"], example(route))
        assert status == 201, (route, body)
        validate(route, 201, body)
    for what, route in GET_ROUTES.items():
        ref = next(deref(p)["example"] for p in operation(route)["parameters"] if deref(p)["in"] == "path")
        status, body = bundle.get(what, ref)
        assert status == 200, (route, body)
        validate(route, 200, body)


def test_required_fields_are_the_handlers(bundle):
    # A field is required iff leaving it out of a valid body is "400 missing_field" for it.
    for route, (_, _, key) in CREATE_ROUTES.items():
        schema = request_schema(route)
        for field in schema["properties"]:
            body = {k: val for k, val in example(route).items() if k != field}
            if key in body:
                body[key] = fresh("rq")
            status, answer = post(bundle, route, "rq-unknown-order", body)
            missing = (status, answer.get("code"), answer.get("field")) == (400, "missing_field", field)
            assert missing == (field in schema["required"]), (route, field, status, answer)


# Probed against every string property; whether each is allowed comes from the document's own
# length limits and pattern, and the handler must agree.
STRING_SAMPLES = (
    "A-b_9*",
    "a b",
    "订单",
    "a.b",
    "a/b",
    "LIMIT_WX,LIMIT_ALI,LIMIT_DYZF",
    "LIMIT_XX",
    "LIMIT_WX,",
    " x",
    "x\t",
    "x\u3000",
    "\u00a0x",
    "\x1cx",  # Go does not trim U+001C..U+001F (Python's str.strip() would)
    "x\u200b",  # nor U+200B
    '"x"',
    '"',
    'a"b"',
    "null",
    "Null",
    "nullx",
    "a\nb",
)


def probes(schema: dict) -> Iterator[tuple[str, Any, bool]]:
    """(label, value, does the document allow it?) at and beyond the limits of one property."""
    schema = deref(schema)
    if schema.get("nullable"):
        yield "null", None, True
    if "enum" in schema:
        yield from enum_probes(schema)
        return
    by_type = {"integer": integer_probes, "string": text_probes, "array": array_probes, "object": object_probes}
    if schema.get("type") in by_type:
        yield from by_type[schema["type"]](schema)


def enum_probes(schema: dict) -> Iterator[tuple[str, Any, bool]]:
    for value in schema["enum"]:
        yield f"enum {value!r}", value, True
    yield "not in enum", 2, False
    yield "boolean", True, False


def integer_probes(schema: dict) -> Iterator[tuple[str, Any, bool]]:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None:
        yield "minimum", low, True
        yield "below minimum", low - 1, False
    if high is not None:
        yield "maximum", high, True
        yield "above maximum", high + 1, False
    yield "float", (low or 1) + 0.5, False
    yield "integral float", float(low or 1), False
    yield "numeric string", str(low or 1), False
    yield "boolean", True, False


def text_probes(schema: dict) -> Iterator[tuple[str, Any, bool]]:
    yield from string_probes(schema)
    yield "number", 1, False


def array_probes(schema: dict) -> Iterator[tuple[str, Any, bool]]:
    item = valid_item(schema["items"])
    many = [{**item, "merchant_uid": f"m{i}"} for i in range(schema["maxItems"] + 1)]
    yield "max items", many[:-1], True
    yield "too many items", many, False
    yield "no items", [], schema.get("minItems", 0) == 0
    yield "object", {}, False
    for sub, sub_schema in deref(schema["items"])["properties"].items():
        for label, value, allowed in probes(sub_schema):
            yield f"item {sub}: {label}", [{**item, sub: value}], allowed


def object_probes(schema: dict) -> Iterator[tuple[str, Any, bool]]:
    yield "empty object", {}, True
    for sub, sub_schema in schema["properties"].items():
        for label, value, allowed in probes(sub_schema):
            if value is not None:
                yield f"{sub}: {label}", {sub: value}, allowed
    yield "unknown key", {"surprise": 1}, schema.get("additionalProperties", True) is not False
    yield "list", [], False


def string_probes(schema: dict) -> Iterator[tuple[str, Any, bool]]:
    low, high = schema.get("minLength", 0), schema["maxLength"]
    max_bytes = schema.get("x-max-utf8-bytes")

    def allowed(text: str) -> bool:
        pattern = schema.get("pattern")
        fits = max_bytes is None or len(text.encode()) <= max_bytes
        return low <= len(text) <= high and fits and (pattern is None or re.search(pattern, text) is not None)

    if allowed("a" * high):
        yield "max length", "a" * high, True
        yield "too long", "a" * (high + 1), False
    if max_bytes is not None:
        emoji = max_bytes // 4  # 4 bytes each in UTF-8
        yield "max bytes", "😀" * emoji, allowed("😀" * emoji)
        yield "too many bytes", "😀" * (emoji + 1), allowed("😀" * (emoji + 1))
    yield "empty", "", allowed("")
    for sample in STRING_SAMPLES:
        yield f"sample {sample!r}", sample, allowed(sample)


def valid_item(schema: dict) -> dict:
    props = deref(schema)["properties"]
    return {"merchant_uid": "m0", "amount": deref(props["amount"])["minimum"]}


def test_documented_limits_are_the_handlers(bundle):
    # Every property at and beyond each documented limit, through the real handler: a value the
    # document allows is not refused for that field, and a value it forbids is a 400 naming it.
    for route, (_, _, key) in CREATE_ROUTES.items():
        schema = request_schema(route)
        for field, prop in schema["properties"].items():
            for label, value, accepted in probes(prop):
                body = {**example(route), field: value}
                if field != key:
                    body[key] = fresh("lim")
                status, answer = post(bundle, route, "lim-unknown-order", body)
                refused = status == 400 and str(answer.get("field", "")).startswith(field)
                assert refused != accepted, (route, field, label, status, answer)
        # additionalProperties: false, and notify_url is never the caller's
        for extra in ("surprise", "notify_url"):
            status, answer = post(bundle, route, "lim-unknown-order", {**example(route), extra: "x"})
            assert (status, answer["code"], answer["field"]) == (400, "unknown_field", extra)


def test_valid_time_default(bundle):
    body = {k: val for k, val in example("POST /payments").items() if k != "valid_time"}
    status, answer = bundle.create_payment({**body, "out_order_no": fresh("vt")})
    assert (status, answer["valid_time"]) == (
        201,
        request_schema("POST /payments")["properties"]["valid_time"]["default"],
    )


def test_path_parameter_of_the_create_routes(bundle):
    pattern = deref(SPEC["components"]["parameters"]["OutOrderNoPath"])["schema"]
    assert deref(pattern) is SPEC["components"]["schemas"]["BusinessNo"]
    for route in ("POST /payments/{out_order_no}/refunds", "POST /payments/{out_order_no}/settlements"):
        status, answer = post(bundle, route, "a" * 65, example(route))
        assert (status, answer["code"], answer["field"]) == (400, "invalid_business_no", "out_order_no")
        validate(route, 400, answer)


# -- every answer class validates ---------------------------------------------------------------


class Seen:
    """Validates answers against the document and remembers which statuses were produced."""

    def __init__(self, route: str) -> None:
        self.route = route
        self.statuses: set[str] = set()

    def __call__(self, got: tuple[int, dict], expected: int, code: str | None = None) -> dict:
        status, body = got
        assert status == expected, (self.route, got)
        if code is not None:
            assert body["code"] == code, body
        validate(self.route, status, body)
        self.statuses.add(str(status))
        return body

    def all_documented(self) -> None:
        documented = set(operation(self.route)["responses"]) - NOT_FROM_THE_BUNDLE - {"500"}
        assert self.statuses == documented, self.route


def raw_response(bundle, route: str, path: str, body: Any = None, query: str | None = None) -> dict:
    """The handler's whole response (with headers)."""
    return bundle.api_response(route.split(" ", 1)[0], path, route=route, body=body, query=query)


def oversized(bundle, route: str, order_no: str = "x") -> tuple[int, dict]:
    path = route.split(" ", 1)[1].replace("{out_order_no}", order_no)
    return bundle.api("POST", path, route=route, raw=b'{"x": "' + b"a" * MAX_BODY_BYTES + b'"}')


def test_create_payment_answers(bundle):
    route = "POST /payments"
    seen = Seen(route)
    body = {**example(route), "out_order_no": fresh("cp")}
    seen(bundle.create_payment(body), 201)
    seen(bundle.create_payment(body), 200)
    seen(bundle.create_payment({**body, "total_amount": 1}), 409, "idempotency_conflict")
    seen(bundle.api("POST", "/payments", route=route, raw=b"{"), 400, "invalid_json")
    seen(bundle.create_payment([1]), 400, "invalid_body")
    seen(bundle.create_payment({**body, "subject": "字" * 43}), 400, "too_long")
    seen(bundle.create_payment({**body, "subject": None}), 400, "missing_field")
    lone = json.dumps({**body, "body": "a\ud800"}).encode()
    seen(bundle.api("POST", "/payments", route=route, raw=lone), 400, "invalid_text")
    seen(bundle.api("POST", "/payments", route=route, raw=b"[" * 12_000), 400, "invalid_json")
    seen(oversized(bundle, route), 413, "body_too_large")
    bundle.sim.inject_fault("create_order", "err_1000")
    response = raw_response(bundle, route, "/payments", {**body, "out_order_no": fresh("cp")})
    seen((response["statusCode"], json.loads(response["body"])), 503, "platform_unavailable")
    assert response["headers"]["Retry-After"] == "1"
    bundle.sim.inject_fault("create_order", "err_2010")
    refused = seen(bundle.create_payment({**body, "out_order_no": fresh("cp")}), 422, "platform_refused")
    assert refused["err_no"] == 2010
    bundle.put_secret(salt="not-the-platform-salt")
    seen(bundle.create_payment({**body, "out_order_no": fresh("cp")}), 502, "platform_rejected")
    seen.all_documented()


def test_request_in_progress_answer(bundle):
    route = "POST /payments"
    body = {**example(route), "out_order_no": fresh("rip")}
    bundle.sim.inject_fault("create_order", "timeout")
    bundle.sim.configure(fault_timeout_seconds=1.0)
    slow = threading.Thread(target=lambda: bundle.create_payment(body))
    slow.start()
    deadline = time.monotonic() + 5
    while bundle.item(f"ORDER#{body['out_order_no']}", "ORDER") is None and time.monotonic() < deadline:
        time.sleep(0.01)
    answer = Seen(route)(bundle.create_payment(body), 409, "request_in_progress")
    slow.join()
    assert answer["retryable"] is True


def test_create_refund_answers(bundle):
    route = "POST /payments/{out_order_no}/refunds"
    seen = Seen(route)
    order = pay(bundle, fresh("rf"))
    body = {**example(route), "out_refund_no": fresh("rf")}
    seen(post(bundle, route, order, body), 201)
    seen(post(bundle, route, order, body), 200)
    seen(post(bundle, route, order, {**body, "refund_amount": 1}), 409, "idempotency_conflict")
    over = seen(post(bundle, route, order, {**body, "out_refund_no": fresh("rf"), "refund_amount": 10**10}), 409)
    assert (over["code"], over["refundable_amount"]) == ("refund_exceeds_refundable", 50_000 - body["refund_amount"])
    unpaid = fresh("rf")
    assert bundle.create_payment({**example("POST /payments"), "out_order_no": unpaid})[0] == 201
    refused = seen(post(bundle, route, unpaid, {**body, "out_refund_no": fresh("rf")}), 409, "order_not_paid")
    assert refused["order_status"] == "CREATED"
    seen(post(bundle, route, "no-such-order", {**body, "out_refund_no": fresh("rf")}), 404, "order_not_found")
    seen(post(bundle, route, 'a"b', {**body, "out_refund_no": fresh("rf")}), 400, "invalid_business_no")
    seen(post(bundle, route, order, {**body, "reason": 5}), 400, "invalid_text")
    seen(oversized(bundle, route, order), 413)
    bundle.sim.inject_fault("create_refund", "err_1001")
    seen(post(bundle, route, order, {**body, "out_refund_no": fresh("rf")}), 503, "platform_busy")
    bundle.sim.inject_fault("create_refund", "err_2010")
    seen(post(bundle, route, order, {**body, "out_refund_no": fresh("rf")}), 422, "platform_refused")
    bundle.put_secret(salt="not-the-platform-salt")
    seen(post(bundle, route, order, {**body, "out_refund_no": fresh("rf")}), 502, "platform_rejected")
    seen.all_documented()


def test_create_settlement_answers(bundle):
    route = "POST /payments/{out_order_no}/settlements"
    seen = Seen(route)
    order = pay(bundle, fresh("st"))
    body = {**example(route), "out_settle_no": fresh("st")}
    seen(post(bundle, route, order, body), 201)
    seen(post(bundle, route, order, body), 200)
    seen(post(bundle, route, order, {**body, "settle_desc": "other"}), 409, "idempotency_conflict")
    # One settlement of an order at a time: the bundle holds the second back while the first is in flight.
    waiting = seen(post(bundle, route, order, {**body, "out_settle_no": fresh("st")}), 409, "settlement_in_progress")
    assert waiting["in_progress"] == body["out_settle_no"]
    # Once it is final the next one is sent, and the platform refuses it: nothing is left to settle.
    bundle.sim.complete_settlement(body["out_settle_no"])
    assert bundle.callback(notice_body("settle", settle_msg(body["out_settle_no"], order)))[0] == 200
    second = seen(post(bundle, route, order, {**body, "out_settle_no": fresh("st")}), 422, "platform_refused")
    assert second["err_no"] == 2010
    unpaid = fresh("st")
    assert bundle.create_payment({**example("POST /payments"), "out_order_no": unpaid})[0] == 201
    seen(post(bundle, route, unpaid, {**body, "out_settle_no": fresh("st")}), 409, "order_not_paid")
    seen(post(bundle, route, "no-such-order", {**body, "out_settle_no": fresh("st")}), 404, "order_not_found")
    seen(post(bundle, route, "a#b", {**body, "out_settle_no": fresh("st")}), 400, "invalid_business_no")
    payees = [{"merchant_uid": "m1", "amount": 1}, {"merchant_uid": "m1", "amount": 2}]
    twice = seen(post(bundle, route, order, {**body, "settle_params": payees}), 400, "duplicate_payee")
    assert twice["field"] == "settle_params[1].merchant_uid"
    seen(oversized(bundle, route, order), 413)
    bundle.sim.inject_fault("settle", "http_500")
    seen(post(bundle, route, pay(bundle, fresh("st")), {**body, "out_settle_no": fresh("st")}), 503)
    unsettled = pay(bundle, fresh("st"))
    bundle.put_secret(salt="not-the-platform-salt")
    seen(post(bundle, route, unsettled, {**body, "out_settle_no": fresh("st")}), 502, "platform_rejected")
    bundle.put_secret(salt=SALT)
    seen.all_documented()


def test_get_answers(bundle):
    order = pay(bundle, fresh("gt"))
    refund = {"out_refund_no": fresh("gt"), "refund_amount": 100, "reason": "r"}
    settle = {**example("POST /payments/{out_order_no}/settlements"), "out_settle_no": fresh("gt")}
    assert post(bundle, "POST /payments/{out_order_no}/refunds", order, refund)[0] == 201
    assert post(bundle, "POST /payments/{out_order_no}/settlements", order, settle)[0] == 201
    created = fresh("gt")
    assert bundle.create_payment({**example("POST /payments"), "out_order_no": created})[0] == 201
    refs = {"payments": created, "refunds": refund["out_refund_no"], "settlements": settle["out_settle_no"]}
    for what, route in GET_ROUTES.items():
        seen = Seen(route)
        seen(bundle.get(what, refs[what]), 200)
        seen(bundle.get(what, refs[what], refresh=True), 200)
        seen(bundle.get(what, "nothing-here"), 404, NOT_FOUND[what])
        seen(bundle.get(what, "订单😀"), 400, "invalid_business_no")
        seen(bundle.get(what, "x" * 65), 400, "invalid_business_no")  # a key DynamoDB would refuse
        endpoint = {"payments": "query_order", "refunds": "query_refund", "settlements": "query_settle"}[what]
        bundle.sim.inject_fault(endpoint, "http_503", count=3)  # a query makes 3 attempts
        response = raw_response(bundle, route, f"/{what}/{refs[what]}", query="refresh=true")
        seen((response["statusCode"], json.loads(response["body"])), 503, "platform_unavailable")
        assert response["headers"]["Retry-After"] == "1"
        bundle.sim.inject_fault(endpoint, "err_2010")
        seen(bundle.get(what, refs[what], refresh=True), 422, "platform_refused")
        bundle.put_secret(salt="not-the-platform-salt")
        seen(bundle.get(what, refs[what], refresh=True), 502, "platform_rejected")
        bundle.put_secret(salt=SALT)
        seen.all_documented()
    # A paid order (refunded_or_pending_amount) and a refused one (error) read back as documented.
    validate(GET_ROUTES["payments"], 200, bundle.get("payments", order)[1])
    bundle.put_secret(salt="not-the-platform-salt")
    failed = fresh("gt")
    assert bundle.create_payment({**example("POST /payments"), "out_order_no": failed})[0] == 502
    body = bundle.get("payments", failed)[1]
    assert body["error"]["err_no"] == 2008
    validate(GET_ROUTES["payments"], 200, body)


def test_internal_errors_match_the_document():
    for route in template_routes():
        for exc in (RuntimeError("boom"), ConfigurationError("no salt")):
            status, body = error_body(exc)
            validate(route, status, body)
