"""The cold start the bench times is the whole cold start: after `import app` and the set-up the bench
runs for a handler (local/bench/cold_start.py, SETUP), that handler's real first invocation loads
no more of the layer, Powertools, `requests` or `cryptography`.

Each handler runs in a fresh process against the local stack's AWS (moto's server) and simulator,
with a realistic first request. If the handlers start importing more on their first request, the
bench's figures would flatter them: this test fails instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import requests

from local.aws_resources import REPO
from local.bench.cold_start import SETUP
from local.events import function_url_event, http_api_v2_event, iam_caller, schedule_event, sqs_event

WATCHED = ("douyin_pay", "aws_lambda_powertools", "requests", "cryptography")

CHILD = r"""
import json, sys
event = json.loads(sys.stdin.read())
import app
from douyin_pay.bundle import runtime
exec(sys.argv[1])
before = set(sys.modules)


class Context:
    function_name = "first-invocation"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:first-invocation"
    aws_request_id = "first-invocation-request"

    def get_remaining_time_in_millis(self):
        return 60_000


answer = app.lambda_handler(event, Context())
watched = tuple(sys.argv[2].split(","))
loaded = sorted(m for m in set(sys.modules) - before if m.partition(".")[0] in watched)
print("\n" + json.dumps({"answer": answer, "loaded": loaded}))
"""

ORDER = {"total_amount": 12800, "subject": "拿铁咖啡", "body": "大杯 去冰"}


def first_invocation(function: str, event: dict) -> dict:
    env = {
        **os.environ,  # the local stack's: its AWS endpoint, the table, the secret, the simulator
        "PYTHONPATH": os.pathsep.join([str(REPO / "layers" / "douyin_pay"), str(REPO / "functions" / function)]),
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD, SETUP[function], ",".join(WATCHED)],
        input=json.dumps(event),
        env=env,
        cwd=REPO / "functions" / function,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def api_event(method: str, path: str, route: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    return http_api_v2_event(
        method,
        path,
        route_key=route,
        body=data,
        iam_caller=iam_caller(),
        headers={"content-type": "application/json"} if data is not None else None,
    )


@pytest.fixture
def pending_order(stack) -> str:
    # Created through the stack; the simulator holds its notice back, so it stays unpaid.
    stack.sim.configure(drop=["payment"])
    r = requests.post(stack.api.url + "/payments", json={"out_order_no": "first-1", **ORDER}, timeout=10)
    assert r.status_code == 201, r.text
    return "first-1"


def test_the_callback_loads_nothing_more_on_its_first_notice(stack, pending_order):
    msg = {
        "appid": stack.config.app_id,
        "cp_orderno": pending_order,
        "total_amount": ORDER["total_amount"],
        "status": "SUCCESS",
        "way": "10",
        "order_id": "N1",
        "paid_at": 1,
    }
    body = stack.sign_notice("payment", msg)
    event = function_url_event("POST", "/", headers={"content-type": "application/json"}, body=body)
    result = first_invocation("callback", event)
    assert result["answer"]["statusCode"] == 200, result["answer"]
    assert json.loads(result["answer"]["body"]) == {"err_no": 0, "err_tips": "success"}
    assert result["loaded"] == [], result["loaded"]


def test_the_query_loads_nothing_more_on_its_first_read(stack, pending_order):
    event = api_event("GET", f"/payments/{pending_order}", "GET /payments/{out_order_no}")
    result = first_invocation("query", event)
    assert result["answer"]["statusCode"] == 200, result["answer"]
    assert json.loads(result["answer"]["body"])["out_order_no"] == pending_order
    assert result["loaded"] == [], result["loaded"]


def test_create_payment_loads_nothing_more_on_its_first_order(stack):
    event = api_event("POST", "/payments", "POST /payments", {"out_order_no": "first-2", **ORDER})
    result = first_invocation("create_payment", event)
    assert result["answer"]["statusCode"] == 201, result["answer"]
    assert result["loaded"] == [], result["loaded"]


def test_reconcile_loads_nothing_more_on_its_first_platform_query(stack, pending_order):
    message = json.dumps({"v": 1, "kind": "order", "ref": pending_order, "protocol": "ecpay"})
    result = first_invocation("reconcile", sqs_event([{"body": message}]))
    assert result["answer"] == {"batchItemFailures": []}
    assert result["loaded"] == [], result["loaded"]


def test_the_sweeper_loads_nothing_more_on_its_first_sweep(stack, pending_order):
    result = first_invocation("sweeper", schedule_event())
    assert "enqueued" in result["answer"]
    assert result["loaded"] == [], result["loaded"]


def test_create_refund_loads_nothing_more_on_its_first_refund(stack):
    from tests.e2e.test_local_stack import create, pay, wait_status

    create(stack, "first-3")
    pay(stack, "first-3")
    wait_status(stack, "/payments/first-3", "PAID")
    body = {"out_refund_no": "first-3-r1", "refund_amount": 100, "reason": "the first refund"}
    route = "POST /payments/{out_order_no}/refunds"
    result = first_invocation("create_refund", api_event("POST", "/payments/first-3/refunds", route, body))
    assert result["answer"]["statusCode"] == 201, result["answer"]
    assert result["loaded"] == [], result["loaded"]
