"""End-to-end on a local stack with Protocol=trade: HTTP in, the mini-program played by the trade
simulator's tt.requestOrder / tt.getOrderPayment stand-in, RSA-signed callbacks pushed to the
Function URL, SQS-driven reconciliation — the same stack the second story of `make demo` runs."""

from __future__ import annotations

import json
import threading
import time

import requests

from local.demo import TRADE_ORDER, TradeDemo

WAIT = 20.0


def wait_status(stack, path: str, status: str, timeout: float = WAIT) -> dict:
    deadline = time.monotonic() + timeout
    body: dict = {}
    while time.monotonic() < deadline:
        body = requests.get(stack.api.url + path, timeout=10).json()
        if body.get("status") == status:
            return body
        time.sleep(0.1)
    raise AssertionError(f"{path} is {body.get('status')}, expected {status}: {body}")


def create(stack, no: str, **extra) -> dict:
    r = requests.post(stack.api.url + "/payments", json={**TRADE_ORDER, "out_order_no": no, **extra}, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()


def sim(stack, route: str, body: dict) -> dict:
    r = requests.post(f"{stack.trade_sim.base_url}/_sim/{route}", json=body, timeout=10)
    r.raise_for_status()
    return r.json()


def request_order(stack, order: dict, client_platform: str = "android") -> dict:
    params = order["pay_params"]
    return sim(
        stack,
        "client/request_order",
        {"data": params["data"], "byteAuthorization": params["byteAuthorization"], "client_platform": client_platform},
    )


def test_the_trade_demo_story(trade_stack):
    TradeDemo(trade_stack).run()


def test_a_user_refund_denied_by_the_merchant(trade_stack):
    order = create(trade_stack, "e2e-t-1")
    sim(trade_stack, "client/get_order_payment", {"orderId": request_order(trade_stack, order)["orderId"]})
    wait_status(trade_stack, "/payments/e2e-t-1", "PAID")
    sim(trade_stack, "orders/e2e-t-1/user_refund", {"amount": 12800, "need_audit": True, "reason": "不想要了"})
    deadline = time.monotonic() + WAIT
    while not (opened := [d for d in trade_stack.trade_sim.deliveries() if d.type == "pre_create_refund" and d.ok]):
        assert time.monotonic() < deadline, "pre_create_refund was never answered"
        time.sleep(0.1)
    ref = json.loads(opened[0].response)["data"]["out_refund_no"]
    wait_status(trade_stack, f"/refunds/{ref}", "PROCESSING")
    r = requests.post(
        f"{trade_stack.api.url}/refunds/{ref}/audit",
        json={"decision": "deny", "deny_message": "课程已开始"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert wait_status(trade_stack, f"/refunds/{ref}", "FAILED")["audit_status"] == "DENIED"
    assert requests.get(f"{trade_stack.api.url}/payments/e2e-t-1", timeout=10).json()["refundable_amount"] == 12800
    # The platform's own FAIL callback for the denial (if it sends one) changes nothing more.
    time.sleep(1)
    assert wait_status(trade_stack, f"/refunds/{ref}", "FAILED")["status"] == "FAILED"


def test_an_ios_buyer_pays_in_diamonds(trade_stack):
    order = create(trade_stack, "e2e-t-ios", currency="DIAMOND", total_amount=30)
    refused = request_order(trade_stack, create(trade_stack, "e2e-t-ios-cny"), client_platform="ios")
    assert refused["errNo"] == 10000  # iOS must pay in diamonds
    answer = request_order(trade_stack, order, client_platform="ios")
    sim(trade_stack, "client/get_order_payment", {"orderId": answer["orderId"], "pay_channel": 20})
    paid = wait_status(trade_stack, "/payments/e2e-t-ios", "PAID")
    assert (paid["currency"], paid["total_amount"]) == ("DIAMOND", 30)
    r = requests.post(
        f"{trade_stack.api.url}/payments/e2e-t-ios/refunds",
        json={"out_refund_no": "e2e-t-ios-r", "refund_amount": 10, "reason": "部分"},
        timeout=10,
    )
    assert (r.status_code, r.json()["field"]) == (400, "refund_amount")  # a diamond order is refunded whole


def test_an_order_never_requested_expires_here(trade_stack):
    create(trade_stack, "e2e-t-2", valid_time=60)
    wait_status(trade_stack, "/payments/e2e-t-2", "EXPIRED", timeout=60)


def test_concurrent_cold_refunds_fetch_one_token(trade_stack):
    for no in ("e2e-t-3", "e2e-t-4", "e2e-t-5", "e2e-t-6"):
        order = create(trade_stack, no)
        sim(trade_stack, "client/get_order_payment", {"orderId": request_order(trade_stack, order)["orderId"]})
    for no in ("e2e-t-3", "e2e-t-4", "e2e-t-5", "e2e-t-6"):
        wait_status(trade_stack, f"/payments/{no}", "PAID")
    assert trade_stack.trade_sim.token_fetches == 0  # nothing so far needed the platform's API
    answers: list[int] = []

    def refund(no: str) -> None:
        r = requests.post(
            f"{trade_stack.api.url}/payments/{no}/refunds",
            json={"out_refund_no": f"{no}-r", "refund_amount": 100, "reason": "部分退款"},
            timeout=30,
        )
        answers.append(r.status_code)

    threads = [threading.Thread(target=refund, args=(no,)) for no in ("e2e-t-3", "e2e-t-4", "e2e-t-5", "e2e-t-6")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [201] * 4
    assert trade_stack.trade_sim.token_fetches == 1
