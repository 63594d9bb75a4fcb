"""Minimal reproductions of the caller inputs the properties found reaching a 500 (fixed in
9689eb0 "Fix five ways caller input could reach a 500"), kept as plain regression tests. The
properties cover the same inputs more broadly; these name each case.
"""

from __future__ import annotations

import json

import pytest

from douyin_pay import MalformedCallbackError, callback_sign, parse_callback

ORDER = {"out_order_no": "rg-order", "total_amount": 100, "subject": "s", "body": "b"}
REFUND = {"out_refund_no": "rg-refund", "refund_amount": 1, "reason": "r"}
SETTLE = {"out_settle_no": "rg-settle", "settle_desc": "d"}
REFUND_ROUTE = "POST /payments/{out_order_no}/refunds"
SETTLE_ROUTE = "POST /payments/{out_order_no}/settlements"


def assert_refused(bundle, got: tuple[int, dict], status: int, code: str | None, before: list[dict]) -> None:
    answer = got[1]
    assert got[0] == status, got
    assert isinstance(answer.get("code"), str), answer
    assert code is None or answer["code"] == code, answer
    assert answer["retryable"] is False, answer
    assert bundle.table_items() == before
    assert bundle.queue_depth() == 0


def test_required_field_sent_as_null(bundle):
    # Was: passed the presence check, was dropped, and *_fields() raised TypeError.
    cases = [
        ("/payments", "POST /payments", {**ORDER, "subject": None}, "subject"),
        ("/payments/rg-order/refunds", REFUND_ROUTE, {**REFUND, "reason": None}, "reason"),
        ("/payments/rg-order/settlements", SETTLE_ROUTE, {**SETTLE, "settle_desc": None}, "settle_desc"),
    ]
    for path, route, body, field in cases:
        got = bundle.api("POST", path, route=route, body=body)
        assert_refused(bundle, got, 400, "missing_field", [])
        assert got[1]["field"] == field


@pytest.mark.parametrize("flag", [1.0, 0.0])
def test_float_flag(bundle, flag):
    # Was: accepted (1.0 == 1), the claim written, then signing raised -> 500 and a SUBMITTING record.
    assert_refused(bundle, bundle.create_payment({**ORDER, "disable_msg": flag}), 400, "invalid_flag", [])
    assert_refused(bundle, bundle.refund("rg-order", {**REFUND, "all_settle": flag}), 400, "invalid_flag", [])


def test_lone_surrogate_in_text(bundle):
    # Was: UnicodeEncodeError in validation.text / request_hash -> 500.
    for field in ("subject", "body", "cp_extra", "msg_page", "store_uid"):
        raw = json.dumps({**ORDER, field: "a\ud800"}).encode()  # ensure_ascii: the escape is valid JSON
        got = bundle.api("POST", "/payments", route="POST /payments", raw=raw)
        assert_refused(bundle, got, 400, "invalid_text", [])
        assert got[1]["field"] == field


@pytest.mark.parametrize("raw", [b"[" * 12_000, b'{"a":' * 12_000, b"[" * 30_000 + b"]" * 30_000])
def test_body_nested_past_the_decoders_limit(bundle, raw):
    # Was: RecursionError, not caught by json_body -> 500.
    assert_refused(bundle, bundle.api("POST", "/payments", route="POST /payments", raw=raw), 400, "invalid_json", [])


def test_path_parameter_that_is_no_business_number(bundle):
    # Was: Powertools' NotFoundError turned into 500 internal_error by the catch-all handler (its
    # router matched the raw path again). API Gateway routes the request; the handlers take its
    # route key and path parameters, so such a number is refused as what it is: never a 500.
    for ref in ['a"b', "a#b", "订单😀", "a\\b", "a\x00b"]:
        for what in ("payments", "refunds", "settlements"):
            assert_refused(bundle, bundle.get(what, ref), 400, "invalid_business_no", [])
        assert_refused(bundle, bundle.refund(ref, REFUND), 400, "invalid_business_no", [])
        assert_refused(bundle, bundle.settle(ref, SETTLE), 400, "invalid_business_no", [])


@pytest.mark.parametrize("field", ["msg_signature", "msg", "nonce", "timestamp", "type"])
def test_callback_lone_surrogate(field):
    # Was: UnicodeEncodeError out of parse_callback (verify_callback encodes to UTF-8).
    envelope = {"msg": "{}", "msg_signature": "0" * 40, "nonce": "n", "timestamp": "1", "type": "payment"}
    envelope[field] = "x\ud800"
    with pytest.raises(MalformedCallbackError):
        parse_callback(json.dumps(envelope).encode(), ["token"])
    with pytest.raises(MalformedCallbackError):
        parse_callback(json.dumps(envelope), ["token"])


@pytest.mark.parametrize("body", [b"[" * 12_000, b'{"a":' * 12_000])
def test_callback_nested_past_the_decoders_limit(body):
    # Was: RecursionError out of parse_callback; 12 KB is under the callback's 16 KB limit.
    with pytest.raises(MalformedCallbackError):
        parse_callback(body, ["token"])


def test_callback_signed_msg_nested_past_the_decoders_limit():
    msg = "[" * 12_000
    envelope = {"msg": msg, "msg_signature": callback_sign("t", "1", "n", msg), "nonce": "n", "timestamp": "1"}
    with pytest.raises(MalformedCallbackError):
        parse_callback(json.dumps({**envelope, "type": "payment"}), ["t"])


def test_callback_handler_answers_4xx(bundle):
    msg = "{}"
    envelope = {"msg": msg, "msg_signature": callback_sign("t", "1", "n", msg), "nonce": "n\ud800", "timestamp": "1"}
    assert bundle.callback(json.dumps({**envelope, "type": "payment"}).encode())[0] == 400
    assert bundle.callback(b"[" * 12_000)[0] == 400
    assert bundle.table_items() == []
