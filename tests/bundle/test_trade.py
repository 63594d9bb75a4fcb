"""The trade system (通用交易系统) through the real handlers, against the trade simulator.

The simulator checks what the bundle signs with its own RSA code (it never imports the SDK), and
its callbacks reach the callback handler through the local Function URL, signed with its platform
key, so every flow here crosses the same boundaries as in production.
"""

from __future__ import annotations

import json
import threading

import pytest

from douyin_pay.bundle import runtime
from tests.bundle.harness import APP_ID, Bundle, new_rsa_key
from tests.local.trade_helpers import public_pem

ORDER = {
    "out_order_no": "T-1",
    "total_amount": 12800,
    "subject": "年度会员",
    "image_url": "https://cdn.example.com/vip.png",
    "goods_type": 401,
    "tag_group_id": "tag_group_7272625659888041996",
    "order_entry_path": "pages/order/detail",
}


def create(bundle: Bundle, **overrides) -> dict:
    status, body = bundle.create_payment({**ORDER, **overrides})
    assert status == 201, body
    return body


def pay(bundle: Bundle, order: dict, *, channel: int = 10, delivered: bool = True) -> str:
    """The mini-program pays: tt.requestOrder with the bundle's pay_params, then the cashier; the
    payment callback is delivered to the handler. Returns the platform's order id."""
    sim = bundle.trade_sim
    params = order["pay_params"]
    answer = sim.request_order(params["data"], params["byteAuthorization"])
    assert "orderId" in answer, answer
    seen = len(sim.deliveries())
    sim.get_order_payment(answer["orderId"], "pay", pay_channel=channel)
    bundle.advance(1)
    if delivered:
        sim.wait_for_deliveries(seen + 1)
    return answer["orderId"]


def first_message(bundle: Bundle) -> str:
    """The first reconcile message the handlers sent (delayed: not yet receivable)."""
    return bundle.calls.sent()[0]["MessageBody"]


def deliver(bundle: Bundle, count: int = 1, *, advance: float = 10) -> list:
    sim = bundle.trade_sim
    seen = len(sim.deliveries())
    bundle.advance(advance)
    return sim.wait_for_deliveries(seen + count)[seen:]


def status_of(bundle: Bundle, what: str, ref: str) -> dict:
    code, body = bundle.get(what, ref)
    assert code == 200, body
    return body


class TestCreate:
    def test_one_write_and_one_message_and_no_platform_call(self, trade_bundle):
        body = create(trade_bundle)
        assert body["status"] == "CREATED"
        assert body["protocol"] == "trade"
        assert set(body["pay_params"]) == {"data", "byteAuthorization"}
        assert trade_bundle.calls.count() == {"PutItem": 1, "SendMessage": 1}
        assert trade_bundle.trade_sim.token_fetches == 0  # nothing was asked of the platform

    def test_the_simulator_accepts_what_the_bundle_signed(self, trade_bundle):
        params = create(trade_bundle)["pay_params"]
        data = json.loads(params["data"])
        assert data["outOrderNo"] == "T-1"
        assert data["totalAmount"] == 12800
        assert data["payNotifyUrl"] == "https://callback.localhost/"
        answer = trade_bundle.trade_sim.request_order(params["data"], params["byteAuthorization"])
        assert answer.get("orderId", "").startswith("motb"), answer
        tampered = params["data"].replace("12800", "1")
        assert trade_bundle.trade_sim.request_order(tampered, params["byteAuthorization"])["errNo"] == 11004

    def test_a_repeat_is_answered_with_freshly_signed_params_and_the_same_data(self, trade_bundle):
        first = create(trade_bundle)
        trade_bundle.advance(30)
        status, again = trade_bundle.create_payment(ORDER)
        assert status == 200
        assert again["pay_params"]["data"] == first["pay_params"]["data"]
        assert again["pay_params"]["byteAuthorization"] != first["pay_params"]["byteAuthorization"]
        assert trade_bundle.create_payment({**ORDER, "total_amount": 1})[1]["code"] == "idempotency_conflict"

    def test_a_read_shows_no_signature(self, trade_bundle):
        create(trade_bundle)
        assert "pay_params" not in status_of(trade_bundle, "payments", "T-1")

    @pytest.mark.parametrize(
        ("change", "code", "field"),
        [
            ({"image_url": None}, "missing_field", "image_url"),
            ({"store_uid": "s1"}, "unknown_field", "store_uid"),  # an ecpay field
            ({"currency": "DIAMOND", "quantity": 2, "total_amount": 12800}, None, "quantity"),
            ({"goods_type": 101}, None, "sku_attr"),  # 号卡 needs its attributes
            ({"order_entry_path": "/pages/x?a=1"}, None, "order_entry_path"),
            ({"valid_time": 172801}, None, "valid_time"),
            ({"subject": "商" * 90}, None, "subject"),  # over 256 bytes
        ],
    )
    def test_bad_input_is_a_400_and_writes_nothing(self, trade_bundle, change, code, field):
        body = {k: v for k, v in {**ORDER, **change}.items() if v is not None}
        status, answer = trade_bundle.create_payment(body)
        assert status == 400, answer
        assert answer["field"] == field, answer
        if code:
            assert answer["code"] == code
        assert trade_bundle.table_items() == []


class TestEcpayStack:
    def test_a_trade_signed_callback_to_a_stack_without_trade_keys_is_401(self, bundle):
        from tests.bundle.harness import notice_body, payment_msg

        headers = {"Byte-Timestamp": "1764072000", "Byte-Nonce-Str": "n", "Byte-Signature": "c2ln"}
        status, _ = bundle.callback(notice_body("payment", payment_msg("order-1", 100)), headers=headers)
        assert status == 401
        assert bundle.table_items() == []

    def test_a_sandbox_stack_refuses_trade_orders_before_writing(self, bundle, monkeypatch):
        monkeypatch.setenv("DOUYIN_PROTOCOL", "trade")  # the harness's ecpay stack is on sandbox
        runtime.reset()
        status, answer = bundle.create_payment(ORDER)
        assert (status, answer["code"]) == (500, "misconfigured")
        assert bundle.table_items() == []


class TestMisconfiguredTradeStack:
    def test_a_trade_order_without_trade_keys_is_refused_before_writing(self, trade_bundle):
        trade_bundle.put_secret()  # ecpay keys only
        status, answer = trade_bundle.create_payment(ORDER)
        assert (status, answer["code"]) == (500, "misconfigured")
        assert trade_bundle.table_items() == []


class TestTradeOnlyStack:
    def test_a_callback_signed_by_no_trade_header_is_401_not_a_misconfiguration(self, trade_bundle, trade_sim):
        from tests.bundle.conftest import trade_secret
        from tests.bundle.harness import notice_body, payment_msg

        trade_bundle.session.client("secretsmanager").put_secret_value(
            SecretId=trade_bundle.resources.secret_id, SecretString=json.dumps({"trade": trade_secret(trade_sim)})
        )
        runtime.secret_cache().clear()
        create(trade_bundle)
        status, _ = trade_bundle.callback(notice_body("payment", payment_msg("T-1", 12800)))
        assert status == 401
        assert status_of(trade_bundle, "payments", "T-1")["status"] == "CREATED"

    def test_text_with_control_characters_is_a_400(self, trade_bundle):
        status, answer = trade_bundle.create_payment({**ORDER, "sku_attr": {"k": "a\u0000b"}})
        assert (status, answer["code"], answer["field"]) == (400, "invalid_text", "sku_attr")
        assert trade_bundle.table_items() == []


class TestPayment:
    def test_paid_by_callback_once(self, trade_bundle):
        order_id = pay(trade_bundle, create(trade_bundle))
        order = status_of(trade_bundle, "payments", "T-1")
        assert (order["status"], order["order_id"], order["way"]) == ("PAID", order_id, "10")
        delivered = trade_bundle.trade_sim.deliveries()[-1]
        assert (delivered.http_status, json.loads(delivered.response)["err_no"]) == (200, 0)

    def test_a_redelivery_changes_nothing(self, trade_bundle):
        pay(trade_bundle, create(trade_bundle))
        delivered = trade_bundle.trade_sim.deliveries()[-1]
        before = trade_bundle.item("ORDER#T-1", "ORDER")
        trade_bundle.calls.reset()
        status, _ = trade_bundle.callback(delivered.body.encode(), headers=dict(delivered.headers))
        assert status == 200
        assert trade_bundle.calls.count() == {}  # the environment that took it knows it
        trade_bundle.another_callback_environment()
        status, _ = trade_bundle.callback(delivered.body.encode(), headers=dict(delivered.headers))
        assert status == 200
        assert trade_bundle.calls.count() == {"UpdateItem": 1}  # elsewhere: its condition fails
        assert trade_bundle.item("ORDER#T-1", "ORDER") == before

    def test_a_re_serialised_body_is_refused_and_writes_nothing(self, trade_bundle):
        pay(trade_bundle, create(trade_bundle))
        delivered = trade_bundle.trade_sim.deliveries()[-1]
        reserialised = json.dumps(json.loads(delivered.body)).encode()  # ", " and ": " separators
        assert reserialised != delivered.body.encode()
        before = trade_bundle.item("ORDER#T-1", "ORDER")
        trade_bundle.calls.reset()
        status, _ = trade_bundle.callback(reserialised, headers=dict(delivered.headers))
        assert status == 401
        assert trade_bundle.calls.count() == {}  # refused before any table call
        assert trade_bundle.item("ORDER#T-1", "ORDER") == before

    def test_a_dropped_callback_is_recovered_by_order_query(self, trade_bundle):
        trade_bundle.trade_sim.configure(drop="all")
        pay(trade_bundle, create(trade_bundle), delivered=False)
        assert status_of(trade_bundle, "payments", "T-1")["status"] == "CREATED"
        message = first_message(trade_bundle)
        trade_bundle.reconcile([message])
        order = status_of(trade_bundle, "payments", "T-1")
        assert order["status"] == "PAID"
        assert order["order_id"].startswith("motb")

    def test_never_requested_expires_locally_then_a_late_payment_upgrades_it(self, trade_bundle):
        params = create(trade_bundle, valid_time=300)["pay_params"]
        message = first_message(trade_bundle)
        trade_bundle.reconcile([message])  # the platform does not know it yet: still payable
        assert status_of(trade_bundle, "payments", "T-1")["status"] == "CREATED"
        trade_bundle.advance(300 + 601)
        trade_bundle.reconcile([message])
        assert status_of(trade_bundle, "payments", "T-1")["status"] == "EXPIRED"
        # The front end still held signed data (younger than an hour) and paid after all.
        answer = trade_bundle.trade_sim.request_order(params["data"], params["byteAuthorization"])
        trade_bundle.trade_sim.get_order_payment(answer["orderId"], "pay")
        deliver(trade_bundle, advance=1)
        order = status_of(trade_bundle, "payments", "T-1")
        assert order["status"] == "PAID"
        assert [a["outcome"] for a in order["anomalies"]] == ["paid_after_expiry"]

    def test_timeout_on_the_platform_expires_the_order(self, trade_bundle):
        params = create(trade_bundle, valid_time=60)["pay_params"]
        trade_bundle.trade_sim.request_order(params["data"], params["byteAuthorization"])
        deliver(trade_bundle, advance=61)
        assert status_of(trade_bundle, "payments", "T-1")["status"] == "EXPIRED"


class TestRefunds:
    def test_part_refund_names_the_platform_order_and_its_item(self, trade_bundle):
        pay(trade_bundle, create(trade_bundle))
        status, refund = trade_bundle.refund(
            "T-1", {"out_refund_no": "TR-1", "refund_amount": 800, "reason": "少发一件"}
        )
        assert status == 201, refund
        assert refund["status"] == "PROCESSING"
        assert refund["refund_no"]
        assert status_of(trade_bundle, "payments", "T-1")["refundable_amount"] == 12000
        trade_bundle.trade_sim.complete_refund("TR-1", "SUCCESS")
        deliver(trade_bundle)
        assert status_of(trade_bundle, "refunds", "TR-1")["status"] == "SUCCEEDED"

    def test_a_failed_refund_gives_its_amount_back(self, trade_bundle):
        pay(trade_bundle, create(trade_bundle))
        trade_bundle.refund("T-1", {"out_refund_no": "TR-2", "refund_amount": 12800, "reason": "整单退"})
        trade_bundle.trade_sim.complete_refund("TR-2", "FAIL")
        deliver(trade_bundle)
        assert status_of(trade_bundle, "refunds", "TR-2")["status"] == "FAILED"
        assert status_of(trade_bundle, "payments", "T-1")["refundable_amount"] == 12800

    def test_a_refund_notice_naming_another_order_is_a_mismatch_never_applied(self, trade_bundle, trade_sim):
        from local.trade_sim.crypto import callback_message, sign
        from tests.bundle.conftest import trade_secret

        pay(trade_bundle, create(trade_bundle))
        trade_bundle.refund("T-1", {"out_refund_no": "TR-5", "refund_amount": 800, "reason": "少发一件"})
        platform_key = new_rsa_key()  # the platform's key, known to the test: it signs a notice itself
        trade_sim.rotate_platform_key(platform_key)
        secrets = trade_bundle.session.client("secretsmanager")
        secrets.put_secret_value(
            SecretId=trade_bundle.resources.secret_id,
            SecretString=json.dumps({"trade": trade_secret(trade_sim, platform_keys=[public_pem(platform_key)])}),
        )
        runtime.secret_cache().clear()
        refund_no = status_of(trade_bundle, "refunds", "TR-5")["refund_no"]
        msg = {
            "app_id": APP_ID,
            "status": "SUCCESS",
            "order_id": "motb00000000000000000000099",  # not T-1's platform order
            "refund_id": refund_no,
            "out_refund_no": "TR-5",
            "refund_total_amount": 800,
            "event_time": int(runtime.now()) * 1000,
        }
        body = json.dumps({"version": "3.0", "msg": json.dumps(msg), "type": "refund"}).encode()
        timestamp, nonce = str(int(runtime.now())), "n0nce0000000000000000000000000000"
        headers = {
            "Byte-Timestamp": timestamp,
            "Byte-Nonce-Str": nonce,
            "Byte-Signature": sign(platform_key, callback_message(timestamp, nonce, body)),
        }
        assert trade_bundle.callback(body, headers=headers)[0] == 200
        refund = status_of(trade_bundle, "refunds", "TR-5")
        assert refund["status"] == "PROCESSING"
        assert [(a["outcome"], a["fields"]) for a in refund["anomalies"]] == [("mismatch", ["order_id"])]

    def test_an_unpaid_order_cannot_be_refunded(self, trade_bundle):
        create(trade_bundle)
        status, answer = trade_bundle.refund("T-1", {"out_refund_no": "TR-3", "refund_amount": 1, "reason": "x"})
        assert (status, answer["code"]) == (409, "order_not_paid")


class TestUserRefunds:
    def open_refund(self, bundle: Bundle, *, need_audit: bool, amount: int = 2800) -> dict:
        pay(bundle, create(bundle))
        platform = bundle.trade_sim.user_refund("T-1", amount, need_audit=need_audit, reason="不想要了")
        (delivery,) = deliver(bundle, advance=1)
        reply = json.loads(delivery.response)
        assert reply["err_no"] == 0, reply
        assert reply["data"]["out_refund_no"], reply
        return {"platform": platform, "out_refund_no": reply["data"]["out_refund_no"]}

    def test_opened_refund_is_recorded_reserved_and_answered_the_same_every_time(self, trade_bundle):
        opened = self.open_refund(trade_bundle, need_audit=True)
        refund = status_of(trade_bundle, "refunds", opened["out_refund_no"])
        assert (refund["origin"], refund["audit_status"], refund["refund_amount"]) == ("user", "PENDING", 2800)
        assert status_of(trade_bundle, "payments", "T-1")["refundable_amount"] == 10000
        delivered = trade_bundle.trade_sim.deliveries()[-1]
        status, reply = trade_bundle.callback(delivered.body.encode(), headers=dict(delivered.headers))
        assert (status, reply["data"]["out_refund_no"]) == (200, opened["out_refund_no"])
        assert status_of(trade_bundle, "payments", "T-1")["refundable_amount"] == 10000  # reserved once

    def test_manual_approval_then_success(self, trade_bundle):
        ref = self.open_refund(trade_bundle, need_audit=True)["out_refund_no"]
        status, refund = trade_bundle.api(
            "POST", f"/refunds/{ref}/audit", route="POST /refunds/{out_refund_no}/audit", body={"decision": "approve"}
        )
        assert (status, refund["audit_status"]) == (200, "APPROVED"), refund
        trade_bundle.trade_sim.complete_refund(ref, "SUCCESS")
        deliver(trade_bundle)
        assert status_of(trade_bundle, "refunds", ref)["status"] == "SUCCEEDED"
        again = trade_bundle.api(
            "POST", f"/refunds/{ref}/audit", route="POST /refunds/{out_refund_no}/audit", body={"decision": "approve"}
        )
        assert (again[0], again[1]["code"]) == (409, "audit_not_pending")

    def test_manual_denial_fails_it_and_gives_the_amount_back(self, trade_bundle):
        ref = self.open_refund(trade_bundle, need_audit=True)["out_refund_no"]
        route = "POST /refunds/{out_refund_no}/audit"
        bad = trade_bundle.api("POST", f"/refunds/{ref}/audit", route=route, body={"decision": "deny"})
        assert (bad[0], bad[1]["field"]) == (400, "deny_message")
        status, refund = trade_bundle.api(
            "POST", f"/refunds/{ref}/audit", route=route, body={"decision": "deny", "deny_message": "已使用"}
        )
        assert (status, refund["status"], refund["audit_status"]) == (200, "FAILED", "DENIED"), refund
        assert status_of(trade_bundle, "payments", "T-1")["refundable_amount"] == 12800

    def test_after_the_deadline_the_platform_has_decided(self, trade_bundle):
        ref = self.open_refund(trade_bundle, need_audit=True)["out_refund_no"]
        trade_bundle.advance(72 * 3600 + 1)  # the simulator approves it (OVERTIME) and carries it out
        trade_bundle.trade_sim.complete_refund(ref, "SUCCESS")
        deliver(trade_bundle, advance=20)
        done = status_of(trade_bundle, "refunds", ref)
        assert (done["status"], done["audit_status"]) == ("SUCCEEDED", "APPROVED")
        status, answer = trade_bundle.api(
            "POST",
            f"/refunds/{ref}/audit",
            route="POST /refunds/{out_refund_no}/audit",
            body={"decision": "deny", "deny_message": "late"},
        )
        assert (status, answer["code"]) == (409, "audit_deadline_passed")

    def test_no_audit_needed_goes_straight_on(self, trade_bundle):
        ref = self.open_refund(trade_bundle, need_audit=False)["out_refund_no"]
        assert status_of(trade_bundle, "refunds", ref)["audit_status"] == "NOT_REQUIRED"
        trade_bundle.trade_sim.complete_refund(ref, "SUCCESS")
        deliver(trade_bundle)
        assert status_of(trade_bundle, "refunds", ref)["status"] == "SUCCEEDED"

    @pytest.mark.parametrize("refund_audit", ["approve"])
    def test_an_automatic_policy_is_applied_by_reconciliation(self, trade_bundle):
        ref = self.open_refund(trade_bundle, need_audit=True)["out_refund_no"]
        trade_bundle.sweep()  # the opened refund is due at once
        messages = [m["Body"] for m in trade_bundle.queued() if ref in m["Body"]]
        assert messages
        trade_bundle.reconcile(messages[:1])
        assert status_of(trade_bundle, "refunds", ref)["audit_status"] == "APPROVED"


class TestSettlement:
    def test_settle_by_callback(self, trade_bundle):
        pay(trade_bundle, create(trade_bundle))
        status, settlement = trade_bundle.settle("T-1", {"out_settle_no": "TS-1", "settle_desc": "结算"})
        assert status == 201, settlement
        trade_bundle.trade_sim.complete_settlement("TS-1", "SUCCESS")
        deliver(trade_bundle)
        done = status_of(trade_bundle, "settlements", "TS-1")
        assert done["status"] == "SUCCEEDED"
        assert done["settle_no"]

    def test_an_empty_payee_list_names_none_as_on_ecpay(self, trade_bundle):
        pay(trade_bundle, create(trade_bundle))
        body = {"out_settle_no": "TS-2", "settle_desc": "结算", "settle_params": []}
        status, settlement = trade_bundle.settle("T-1", body)
        assert status == 201, settlement
        assert "settle_params" not in settlement
        assert trade_bundle.settle("T-1", body)[0] == 200  # the same request again


class TestClientToken:
    def test_concurrent_cold_functions_fetch_one_token(self, trade_bundle):
        from douyin_pay.bundle.client_token import StoredTokenSource
        from douyin_pay.trade.tokens import fetch_client_token

        base = trade_bundle.trade_sim.base_url
        got: list[str] = []
        barrier = threading.Barrier(8)

        def cold_function() -> None:
            source = StoredTokenSource(
                runtime.store(),
                APP_ID,
                lambda: fetch_client_token(APP_ID, "bundle-test-trade-secret", base_url=base),
                clock=lambda: runtime.now(),
            )
            barrier.wait()
            got.append(source.token())

        threads = [threading.Thread(target=cold_function) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(got) == 8
        assert len(set(got)) == 1
        assert trade_bundle.trade_sim.token_fetches == 1

    def test_a_rejected_token_is_replaced_once(self, trade_bundle):
        pay(trade_bundle, create(trade_bundle))
        trade_bundle.refund("T-1", {"out_refund_no": "TR-9", "refund_amount": 1, "reason": "x"})
        assert trade_bundle.trade_sim.token_fetches == 1
        trade_bundle.advance(7200 + 1)  # the platform's token has expired
        assert trade_bundle.get("refunds", "TR-9", refresh=True)[0] == 200
        assert trade_bundle.trade_sim.token_fetches == 2


class TestKeyRotation:
    def test_platform_key_rotation_without_downtime(self, trade_bundle, trade_sim):
        old = trade_sim.platform_public_key_pem
        new = trade_sim.rotate_platform_key()
        from tests.bundle.conftest import trade_secret

        secret = json.loads(
            trade_bundle.session.client("secretsmanager").get_secret_value(SecretId=trade_bundle.resources.secret_id)[
                "SecretString"
            ]
        )
        secret["trade"] = trade_secret(trade_sim, platform_keys=[new, old])
        trade_bundle.session.client("secretsmanager").put_secret_value(
            SecretId=trade_bundle.resources.secret_id, SecretString=json.dumps(secret)
        )
        runtime.secret_cache().clear()
        pay(trade_bundle, create(trade_bundle))
        assert status_of(trade_bundle, "payments", "T-1")["status"] == "PAID"

    def test_app_key_rotation(self, trade_bundle, trade_sim):
        key = new_rsa_key()
        trade_sim.upload_app_key("2", public_pem(key))
        secret = json.loads(
            trade_bundle.session.client("secretsmanager").get_secret_value(SecretId=trade_bundle.resources.secret_id)[
                "SecretString"
            ]
        )
        secret["trade"] = {**secret["trade"], "private_key": key, "key_version": "2"}
        trade_bundle.session.client("secretsmanager").put_secret_value(
            SecretId=trade_bundle.resources.secret_id, SecretString=json.dumps(secret)
        )
        runtime.secret_cache().clear()
        params = create(trade_bundle)["pay_params"]
        assert "key_version=2" in params["byteAuthorization"]
        trade_sim.upload_app_key("1", None)  # the old key retired on the platform
        assert "orderId" in trade_sim.request_order(params["data"], params["byteAuthorization"])


class TestMixedStack:
    def test_an_ecpay_order_keeps_ecpay_in_a_trade_stack(self, trade_bundle, monkeypatch):
        from tests.bundle.harness import notice_body, payment_msg

        monkeypatch.setenv("DOUYIN_PROTOCOL", "ecpay")
        runtime.reset()
        status, legacy = trade_bundle.create_payment(
            {"out_order_no": "E-1", "total_amount": 5000, "subject": "s", "body": "b"}
        )
        assert (status, legacy["protocol"]) == (201, "ecpay")
        trade_bundle.sim.pay("E-1")
        assert trade_bundle.callback(notice_body("payment", payment_msg("E-1", 5000)))[0] == 200
        monkeypatch.setenv("DOUYIN_PROTOCOL", "trade")
        runtime.reset()
        status, refund = trade_bundle.refund("E-1", {"out_refund_no": "ER-1", "refund_amount": 100, "reason": "x"})
        assert (status, refund["protocol"]) == (201, "ecpay"), refund
        pay(trade_bundle, create(trade_bundle))
        status, refund = trade_bundle.refund("T-1", {"out_refund_no": "TR-1", "refund_amount": 100, "reason": "x"})
        assert (status, refund["protocol"]) == (201, "trade"), refund
