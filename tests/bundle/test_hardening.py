"""Issue #12's hardening of the bundle: the secret's shape, what the callback URL does with
notices it cannot act on, and how the API answers a platform's definitive refusal."""

from __future__ import annotations

import json

import pytest

from douyin_pay.bundle import runtime
from douyin_pay.bundle.log_throttle import LogThrottle
from douyin_pay.bundle.platforms.ecpay import EcpaySecrets
from douyin_pay.errors import ConfigurationError
from local.events import function_url_event
from local.functions import load_handler
from tests.bundle.harness import SALT, TOKEN, notice_body, payment_msg
from tests.bundle.test_api import ORDER, REFUND, paid_order


class TestSecretShape:
    @pytest.mark.parametrize(
        "raw",
        [
            {"salt": SALT, "tokens": TOKEN},  # a bare string: one documented shape, a list
            {"salt": SALT, "tokens": ["   "]},
            {"salt": SALT, "tokens": [TOKEN, "\t"]},
            {"salt": SALT, "tokens": [TOKEN + "\n"]},
            {"salt": " " + SALT, "tokens": [TOKEN]},
            {"salt": "  ", "tokens": [TOKEN]},
        ],
    )
    def test_refused_with_a_message_that_names_no_value(self, raw):
        with pytest.raises(ConfigurationError) as info:
            EcpaySecrets.from_mapping(raw)
        assert TOKEN not in str(info.value)
        assert SALT not in str(info.value)

    def test_the_documented_shape_is_read(self):
        assert EcpaySecrets.from_mapping({"salt": SALT, "tokens": [TOKEN, "old"]}).tokens == (TOKEN, "old")

    def test_a_bare_string_token_in_the_stack_secret_is_a_500_never_a_pass(self, bundle):
        bundle.create_payment(ORDER)
        value = {"salt": SALT, "tokens": TOKEN}
        bundle.session.client("secretsmanager").put_secret_value(
            SecretId=bundle.resources.secret_id, SecretString=json.dumps(value)
        )
        runtime.secret_cache().clear()
        status, reply = bundle.callback(notice_body("payment", payment_msg("order-1", 12800)))
        assert status == 500
        assert TOKEN not in json.dumps(reply)
        assert bundle.item("ORDER#order-1", "ORDER")["status"] == "CREATED"


class TestCallbackAnswers:
    """One envelope on the callback URL, whatever went wrong: the platform reads err_no."""

    def envelope_of(self, response: tuple[int, dict]) -> tuple[int, frozenset[str]]:
        status, body = response
        assert body["err_no"] == status
        return status, frozenset(body)

    def test_every_refusal_has_the_platforms_envelope(self, bundle):
        shapes = {
            self.envelope_of(bundle.callback(b"not json")),
            self.envelope_of(bundle.callback(notice_body("payment", payment_msg("o", 1), token="forged"))),
            self.envelope_of(bundle.callback(b'{"msg": "' + b"x" * 20_000 + b'"}')),
        }
        event = function_url_event("GET", "/", headers={}, body=b"")
        response = bundle.invoke("callback", event)
        shapes.add(self.envelope_of((response["statusCode"], json.loads(response["body"]))))
        bundle.put_secret(tokens=())
        shapes.add(self.envelope_of(bundle.callback(notice_body("payment", payment_msg("o", 1)))))
        assert shapes == {(s, frozenset({"err_no", "err_tips"})) for s in (400, 401, 413, 404, 500)}

    def test_a_flood_of_forgeries_logs_one_line_a_minute_and_counts_them_all(self, bundle, caplog, monkeypatch):
        app = load_handler("callback")
        clock = iter(range(0, 10_000, 1)).__next__  # one second per rejection
        monkeypatch.setattr(app, "forged_lines", LogThrottle(app.REJECTION_LOG_INTERVAL, clock=clock))
        caplog.clear()
        forged = notice_body("payment", payment_msg("order-1", 12800), token="forged")
        for _ in range(150):
            assert bundle.callback(forged)[0] == 401
        lines = [r for r in caplog.records if r.getMessage().startswith("callback rejected: signature")]
        assert [r.held_back for r in lines] == [0, 59, 59]

    def test_a_malformed_callback_logs_its_reason_cut_short(self, bundle, caplog, monkeypatch):
        app = load_handler("callback")
        monkeypatch.setattr(app, "malformed_lines", LogThrottle(0))
        caplog.clear()
        key = "k" * 5000
        raw = b'{"' + key.encode() + b'": 1, "' + key.encode() + b'": 2}'
        assert bundle.callback(raw)[0] == 400
        (line,) = [r for r in caplog.records if r.getMessage() == "callback rejected: malformed"]
        assert "repeats field" in line.reason
        assert len(line.reason) <= 161
        assert key not in caplog.text


class TestApiAnswers:
    def test_every_missing_field_is_named(self, bundle):
        status, body = bundle.create_payment({"out_order_no": "order-1", "total_amount": 100})
        assert (status, body["code"]) == (400, "missing_field")
        assert body["fields"] == ["subject", "body"]
        assert body["field"] == "subject"
        assert bundle.table_items() == []

    @pytest.mark.parametrize("raw", [b"[1, 2]", b'"text"', b"3"])
    def test_a_body_that_is_not_an_object_names_no_field(self, bundle, raw):
        status, body = bundle.api("POST", "/payments", route="POST /payments", raw=raw)
        assert (status, body["code"]) == (400, "invalid_body")
        assert "field" not in body  # "body" is also the name of an order's field

    @pytest.mark.parametrize("query", ["refresh=yes", "refresh=", "refesh=true", "refresh=true&x=1"])
    def test_a_query_it_does_not_understand_is_a_400_not_a_stale_read(self, bundle, query):
        assert bundle.create_payment(ORDER)[0] == 201
        bundle.calls.reset()
        status, body = bundle.api("GET", "/payments/order-1", route="GET /payments/{out_order_no}", query=query)
        assert (status, body["code"]) == (400, "invalid_query"), body
        assert bundle.calls.count() == {}

    @pytest.mark.parametrize(("query", "asks"), [("refresh=TRUE", True), ("refresh=1", True), ("refresh=False", False)])
    def test_the_flag_in_any_case(self, bundle, query, asks):
        assert bundle.create_payment(ORDER)[0] == 201
        bundle.sim.inject_fault("query_order", "err_2010")  # only a query that is sent meets it
        status, _ = bundle.api("GET", "/payments/order-1", route="GET /payments/{out_order_no}", query=query)
        assert status == (422 if asks else 200)


class TestRefundableNow:
    def test_nothing_is_refundable_before_payment_or_after_expiry(self, bundle):
        assert bundle.create_payment(ORDER)[0] == 201
        assert bundle.get("payments", "order-1")[1]["refundable_amount"] == 0
        bundle.tamper_order("order-1", status="EXPIRED")  # as reconciliation records an expired order
        assert bundle.get("payments", "order-1")[1]["refundable_amount"] == 0

    def test_a_paid_order_shows_what_is_left_then_nothing_after_a_year(self, bundle):
        paid_order(bundle)
        assert bundle.refund("order-1", REFUND)[0] == 201
        assert bundle.get("payments", "order-1")[1]["refundable_amount"] == 12800 - 3000
        bundle.advance(366 * 86_400)
        assert bundle.get("payments", "order-1")[1]["refundable_amount"] == 0

    def test_the_channels_refund_count_used_up_leaves_nothing(self, bundle):
        paid_order(bundle)
        bundle.tamper_order("order-1", way=1, refund_requests=50)
        assert bundle.get("payments", "order-1")[1]["refundable_amount"] == 0
        status, body = bundle.refund("order-1", REFUND)
        assert (status, body["code"]) == (409, "refund_limit_reached")


class TestCallbackOrigin:
    """The hardened option: CloudFront + WAF in front, a secret header the function checks."""

    ORIGIN = "o" * 40

    def configure(self, bundle, value) -> None:
        secret = json.loads(
            bundle.session.client("secretsmanager").get_secret_value(SecretId=bundle.resources.secret_id)[
                "SecretString"
            ]
        )
        secret["callback_origin_secret"] = value
        bundle.session.client("secretsmanager").put_secret_value(
            SecretId=bundle.resources.secret_id, SecretString=json.dumps(secret)
        )
        runtime.secret_cache().clear()

    def test_without_the_header_a_genuine_notice_is_403_and_writes_nothing(self, bundle):
        bundle.create_payment(ORDER)
        self.configure(bundle, self.ORIGIN)
        body = notice_body("payment", payment_msg("order-1", 12800))
        before = bundle.table_items()
        assert bundle.callback(body) == (403, {"err_no": 403, "err_tips": "forbidden"})
        assert bundle.callback(body, headers={"X-Douyin-Pay-Origin": self.ORIGIN[:-1] + "x"})[0] == 403
        assert bundle.table_items() == before
        assert bundle.callback(body, headers={"X-Douyin-Pay-Origin": self.ORIGIN})[0] == 200
        assert bundle.item("ORDER#order-1", "ORDER")["status"] == "PAID"

    def test_no_origin_secret_means_no_check(self, bundle):
        bundle.create_payment(ORDER)
        assert bundle.callback(notice_body("payment", payment_msg("order-1", 12800)))[0] == 200

    @pytest.mark.parametrize("value", ["short", 12345, " " + "o" * 40])
    def test_a_weak_origin_secret_is_a_misconfiguration_never_a_pass(self, bundle, value):
        bundle.create_payment(ORDER)
        self.configure(bundle, value)
        body = notice_body("payment", payment_msg("order-1", 12800))
        assert bundle.callback(body, headers={"X-Douyin-Pay-Origin": str(value)})[0] == 500
        assert bundle.item("ORDER#order-1", "ORDER")["status"] == "CREATED"
