"""The local console's JSON endpoints, against a real LocalStack (moto, both simulators, the API).

One stack per protocol, per test class: starting one takes seconds, and two stacks cannot run at once
in one process (each sets the process's environment and the bundle's runtime). Every test uses its
own order numbers; the tests that flip switches put them back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from local.console.timeline import delivery_event
from local.demo import SYNC_FIELDS, TRADE_ORDER
from local.douyin_sim.notifier import Delivery
from local.stack import LocalStack, StackConfig

WAIT = 30.0  # real seconds: an expiry is seen by the sweeper, which runs every 10 s at 30x


@pytest.fixture(scope="class")
def ecpay() -> Iterator[LocalStack]:
    with LocalStack(StackConfig(log_level="CRITICAL")) as stack:
        yield stack
        assert stack.errors == []


@pytest.fixture(scope="class")
def trade() -> Iterator[LocalStack]:
    with LocalStack(StackConfig(log_level="CRITICAL", protocol="trade")) as stack:
        yield stack
        assert stack.errors == []


def get(stack: LocalStack, path: str, **kwargs: Any) -> requests.Response:
    return requests.get(stack.console.url + path, timeout=10, **kwargs)


def post(stack: LocalStack, path: str, body: dict[str, Any] | None = None) -> requests.Response:
    return requests.post(stack.console.url + path, json=body or {}, timeout=30)


def create_ecpay(stack: LocalStack, no: str) -> dict[str, Any]:
    r = post(
        stack,
        "api/orders",
        {"out_order_no": no, "total_amount": 12800, "subject": "拿铁", "body": "拿铁 大杯", **SYNC_FIELDS},
    )
    assert r.status_code == 201, r.text
    return r.json()


def create_trade(stack: LocalStack, no: str) -> dict[str, Any]:
    """As a backend: straight to the API (the console must find pay_params on its own)."""
    r = requests.post(stack.api.url + "/payments", json={**TRADE_ORDER, "out_order_no": no}, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()


def order(stack: LocalStack, no: str) -> dict[str, Any] | None:
    return next((o for o in get(stack, "api/objects").json()["orders"] if o["ref"] == no), None)


def wait_order(stack: LocalStack, no: str, status: str) -> dict[str, Any]:
    deadline, found = time.monotonic() + WAIT, None
    while time.monotonic() < deadline:
        found = order(stack, no)
        if found and found["status"] == status:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{no} is {found and found['status']}, expected {status}")


def wait_rows(stack: LocalStack, match: Any) -> list[dict[str, Any]]:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        rows = [r for r in get(stack, "api/timeline").json()["rows"] if match(r)]
        if rows:
            return rows
        time.sleep(0.2)
    raise AssertionError("no such timeline row")


def _delivery(attempt: int, copy: int) -> Delivery:
    return Delivery(1, "payment", "u", "u", {}, 200, "", True, attempt, copy, 0.0)


class TestEcpayStack:
    def test_objects_list_an_order_created_from_the_console_and_its_platform_call(self, ecpay):
        create_ecpay(ecpay, "c-list-1")
        listed = order(ecpay, "c-list-1")
        assert listed is not None
        assert (listed["status"], listed["protocol"], listed["total_amount"]) == ("CREATED", "ecpay", 12800)
        answer = get(ecpay, "api/objects").json()
        assert answer["protocol"] == "ecpay"
        assert set(answer) >= {"orders", "refunds", "settlements", "now"}
        calls = wait_rows(ecpay, lambda r: r["source"] == "call" and r["ref"] == "c-list-1")
        create = next(r for r in calls if r["type"] == "POST /api/apps/ecpay/v1/create_order")
        assert (create["http_status"], create["err_no"]) == (200, 0)
        assert '"out_order_no":"c-list-1"' in create["request"]

    def test_refunds_are_listed_with_their_order(self, ecpay):
        create_ecpay(ecpay, "c-refund-1")
        assert post(ecpay, "api/orders/c-refund-1/pay", {"channel": 10}).status_code == 200
        wait_order(ecpay, "c-refund-1", "PAID")
        r = requests.post(
            f"{ecpay.api.url}/payments/c-refund-1/refunds",
            json={"out_refund_no": "c-refund-1-r", "refund_amount": 100, "reason": "test"},
            timeout=30,
        )
        assert r.status_code in (200, 201, 202), r.text
        refunds = get(ecpay, "api/objects").json()["refunds"]
        listed = next(x for x in refunds if x["ref"] == "c-refund-1-r")
        assert (listed["out_order_no"], listed["refund_amount"]) == ("c-refund-1", 100)

    def test_the_token_call_is_shown_without_the_app_secret_or_the_access_token(self, ecpay):
        create_ecpay(ecpay, "c-secret-1")  # order sync fetches an access_token for its push
        rows = wait_rows(ecpay, lambda r: r["source"] == "call" and r["type"] == "POST /api/apps/v2/token")
        text = json.dumps(get(ecpay, "api/timeline").json(), ensure_ascii=False)
        assert ecpay._app_secret not in text
        assert '"secret":"•••"' in rows[0]["request"]
        assert '"access_token":"•••"' in rows[0]["response"]

    def test_paying_an_ecpay_order_on_a_channel_makes_it_paid_and_shows_the_delivery_and_our_answer(self, ecpay):
        create_ecpay(ecpay, "c-pay-1")
        r = post(ecpay, "api/orders/c-pay-1/pay", {"channel": 2})
        assert r.status_code == 200, r.text
        assert wait_order(ecpay, "c-pay-1", "PAID")["way"] == 2  # Alipay
        sent = wait_rows(ecpay, lambda r: r["source"] == "callback" and r["ref"] == "c-pay-1")[0]
        assert (sent["event"], sent["type"], sent["attempt"], sent["copy"]) == ("sent", "payment", 1, 0)
        assert sent["http_status"] == 200
        assert sent["ok"] is True
        assert json.loads(sent["response"])["err_no"] == 0

    def test_a_callback_we_did_not_answer_is_shown_failed_then_retried(self, ecpay):
        create_ecpay(ecpay, "c-retry-1")
        unreachable = {"https://callback.localhost": "http://127.0.0.1:9"}  # discard port: refused
        ecpay.sim.configure(deliver_to=unreachable)
        try:
            assert post(ecpay, "api/orders/c-retry-1/pay", {"channel": 10}).status_code == 200
            failed = wait_rows(ecpay, lambda r: r["ref"] == "c-retry-1" and r["source"] == "callback")[-1]
            assert (failed["event"], failed["attempt"], failed["ok"], failed["http_status"]) == ("sent", 1, False, None)
            assert failed["error"]
        finally:
            ecpay.sim.configure(deliver_to={"https://callback.localhost": ecpay.callback.url})
        retried = wait_rows(ecpay, lambda r: r["ref"] == "c-retry-1" and r["event"] == "retried" and r["ok"])[0]
        assert (retried["attempt"], retried["http_status"]) == (2, 200)  # ecpay-spec §6.3: again 15 s later
        wait_order(ecpay, "c-retry-1", "PAID")

    def test_an_ecpay_way_outside_1_2_10_is_refused(self, ecpay):
        create_ecpay(ecpay, "c-way-1")
        r = post(ecpay, "api/orders/c-way-1/pay", {"channel": 3})
        assert r.status_code == 400
        assert ecpay.sim.state()["orders"]["c-way-1"]["status"] != "SUCCESS"

    def test_paying_an_unknown_order_is_404(self, ecpay):
        assert post(ecpay, "api/orders/no-such/pay", {"channel": 10}).status_code == 404

    def test_an_ecpay_order_cancelled_then_left_to_expire_becomes_expired(self, ecpay):
        created = create_ecpay(ecpay, "c-expire-1")
        r = post(ecpay, "api/orders/c-expire-1/cancel")
        assert r.status_code == 200, r.text
        assert wait_order(ecpay, "c-expire-1", "CREATED")
        r = post(ecpay, "api/orders/c-expire-1/expire")
        assert r.status_code == 200, r.text
        assert ecpay.sim.clock.now() >= created["created_at"] + 1800  # past the order's valid_time
        wait_order(ecpay, "c-expire-1", "EXPIRED")

    def test_switches_reach_the_ecpay_simulator_and_drop_and_duplicate_show_in_the_timeline(self, ecpay):
        try:
            r = post(
                ecpay,
                "api/switches",
                {"protocol": "ecpay", "drop": ["payment"], "delays": {"refund": 30}, "rate_limits": {"query_order": 5}},
            )
            assert r.status_code == 200, r.text
            config = ecpay.sim.config
            assert config.drop == frozenset({"payment"})
            assert (config.delays["refund"], config.rate_limits["query_order"]) == (30, 5)
            assert get(ecpay, "api/switches").json()["ecpay"]["drop"] == ["payment"]
            create_ecpay(ecpay, "c-drop-1")
            assert post(ecpay, "api/orders/c-drop-1/pay", {"channel": 10}).status_code == 200
            dropped = wait_rows(ecpay, lambda r: r["ref"] == "c-drop-1" and r["event"] == "dropped")
            assert dropped[0]["type"] == "payment"

            assert post(ecpay, "api/switches", {"protocol": "ecpay", "drop": [], "duplicates": 1}).status_code == 200
            create_ecpay(ecpay, "c-dup-1")
            assert post(ecpay, "api/orders/c-dup-1/pay", {"channel": 10}).status_code == 200
            copy = wait_rows(ecpay, lambda r: r["ref"] == "c-dup-1" and r["event"] == "duplicated")[0]
            assert copy["copy"] == 1
        finally:
            ecpay.sim.configure(drop=[], duplicates=0, delays={"refund": 12.0}, rate_limits={"query_order": 30})

    @pytest.mark.parametrize(
        "body",
        [
            {"protocol": "ecpay", "speed": 0},  # not a fault switch
            {"protocol": "paypal", "duplicates": 1},
            {"protocol": "ecpay", "drop": ["no-such-notice"]},
            {"protocol": "ecpay", "duplicates": -1},
        ],
    )
    def test_bad_switches_are_refused_and_change_nothing(self, ecpay, body):
        r = post(ecpay, "api/switches", body)
        assert r.status_code == 400, r.text
        assert (ecpay.sim.config.speed, ecpay.sim.config.duplicates, ecpay.sim.config.drop) == (30.0, 0, frozenset())

    @pytest.mark.parametrize(
        "host", ["evil.example", "evil.example:{port}", "127.0.0.1:1", "localhost", "[::1]:{port}"]
    )
    def test_a_foreign_host_header_is_refused(self, ecpay, host):
        port = ecpay.console.port
        for path in ("", "api/objects"):
            assert get(ecpay, path, headers={"Host": host.format(port=port)}).status_code == 403
        r = requests.post(
            ecpay.console.url + "api/clock/advance",
            json={"seconds": 60},
            headers={"Host": host.format(port=port)},
            timeout=10,
        )
        assert r.status_code == 403

    def test_localhost_and_127_0_0_1_with_the_port_are_answered(self, ecpay):
        port = ecpay.console.port
        for host in (f"localhost:{port}", f"127.0.0.1:{port}"):
            assert get(ecpay, "api/objects", headers={"Host": host}).status_code == 200

    @pytest.mark.parametrize(
        "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
    )
    def test_a_post_without_a_json_content_type_is_refused_and_does_nothing(self, ecpay, content_type):
        create_ecpay(ecpay, f"c-ct-{content_type and content_type[:4]}")
        no = f"c-ct-{content_type and content_type[:4]}"
        headers = {"Content-Type": content_type} if content_type else {}
        r = requests.post(
            ecpay.console.url + f"api/orders/{no}/pay", data='{"channel":10}', headers=headers, timeout=10
        )
        assert r.status_code == 415
        assert ecpay.sim.state()["orders"][no]["status"] != "SUCCESS"

    def test_the_page_its_script_and_style_are_served_with_a_strict_policy(self, ecpay):
        page = get(ecpay, "")
        assert page.status_code == 200
        assert '<script src="/console.js"' in page.text
        assert "default-src 'none'" in page.headers["Content-Security-Policy"]
        script = get(ecpay, "console.js").text  # data is rendered with textContent only
        assert not any(sink in script for sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write"))
        assert get(ecpay, "console.css").headers["Content-Type"].startswith("text/css")
        assert get(ecpay, "api/nothing").status_code == 404

    def test_the_clock_advances_only_by_a_sane_number_of_seconds(self, ecpay):
        assert post(ecpay, "api/clock/advance", {"seconds": True}).status_code == 400
        assert post(ecpay, "api/clock/advance", {"seconds": -5}).status_code == 400
        before = ecpay.sim.clock.now()
        assert post(ecpay, "api/clock/advance", {"seconds": 60}).status_code == 200
        assert ecpay.sim.clock.now() - before >= 60


class TestTradeStack:
    def test_paying_a_trade_order_plays_request_order_then_get_order_payment_on_the_channel(self, trade):
        create_trade(trade, "c-t-pay-1")
        r = post(trade, "api/orders/c-t-pay-1/pay", {"channel": 1})
        assert r.status_code == 200, r.text
        wait_order(trade, "c-t-pay-1", "PAID")
        assert trade.trade_sim.state()["orders"]["c-t-pay-1"]["pay_channel"] == 1  # WeChat
        sent = wait_rows(trade, lambda r: r["source"] == "callback" and r["ref"] == "c-t-pay-1")[0]
        assert (sent["protocol"], sent["type"], sent["http_status"], sent["ok"]) == ("trade", "payment", 200, True)

    def test_a_trade_order_cancelled_at_the_cashier_then_left_to_expire_becomes_expired(self, trade):
        create_trade(trade, "c-t-expire-1")
        r = post(trade, "api/orders/c-t-expire-1/cancel")
        assert r.status_code == 200, r.text
        cancel = wait_rows(trade, lambda r: r["source"] == "callback" and r["ref"] == "c-t-expire-1")[0]
        assert cancel["type"] == "payment"
        assert order(trade, "c-t-expire-1")["status"] == "CREATED"  # a cancelled cashier leaves it payable
        r = post(trade, "api/orders/c-t-expire-1/expire")
        assert r.status_code == 200, r.text
        wait_order(trade, "c-t-expire-1", "EXPIRED")

    def test_a_trade_order_is_created_from_the_console_with_the_stack_protocol_template(self, trade):
        template = get(trade, "api/stack").json()["order_template"]
        r = post(trade, "api/orders", {**template, "out_order_no": "c-t-new-1", "total_amount": 990, "subject": "会员"})
        assert r.status_code == 201, r.text
        assert r.json()["protocol"] == "trade"
        assert order(trade, "c-t-new-1")["status"] == "CREATED"

    def test_switches_reach_the_trade_simulator(self, trade):
        try:
            r = post(trade, "api/switches", {"protocol": "trade", "duplicates": 2, "rate_limits": {"order_query": 3}})
            assert r.status_code == 200, r.text
            assert (trade.trade_sim.config.duplicates, trade.trade_sim.config.rate_limits["order_query"]) == (2, 3)
        finally:
            trade.trade_sim.configure(duplicates=0, rate_limits={"order_query": None})


def test_a_delivery_is_labelled_sent_retried_or_duplicated():
    assert [delivery_event(_delivery(1, 0)), delivery_event(_delivery(2, 0)), delivery_event(_delivery(1, 1))] == [
        "sent",
        "retried",
        "duplicated",
    ]
