"""End-to-end on the local stack: HTTP in, signed callbacks pushed by the simulator, SQS-driven
reconciliation and the sweeper — the same stack `make demo` runs."""

from __future__ import annotations

import json
import socket
import threading
import time

import requests

from local.demo import Demo

WAIT = 20.0
ORDER = {"total_amount": 12800, "subject": "拿铁咖啡", "body": "拿铁 大杯 ×1"}


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
    r = requests.post(stack.api.url + "/payments", json={"out_order_no": no, **ORDER, **extra}, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()


def pay(stack, no: str) -> None:
    requests.post(f"{stack.sim.base_url}/_sim/orders/{no}/pay", json={"way": 10}, timeout=10).raise_for_status()


def notices_on(stack, pk: str) -> set[str]:
    """The ids of the notices an object took (each recorded on the object it changed)."""
    [item] = [i for i in stack.items() if i["pk"] == pk]
    return set(item.get("notices", ()))


def test_the_demo_story(stack):
    Demo(stack).run()


def test_everything_listens_on_loopback_only_and_stops(stack):
    addresses = [
        stack.api.server.server_address,
        stack.callback.server.server_address,
        stack.moto.get_host_and_port(),
        ("127.0.0.1", stack.sim.port),
    ]
    assert {host for host, _ in addresses} == {"127.0.0.1"}
    assert stack.api.url.startswith("http://127.0.0.1:")
    ports = [port for _, port in addresses]
    stack.stop()
    for port in ports:
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still listening"


def test_duplicate_callbacks_from_the_platform_make_one_transition(stack):
    stack.sim.configure(duplicates=4)
    create(stack, "dup-1")
    pay(stack, "dup-1")
    wait_status(stack, "/payments/dup-1", "PAID")
    # Five copies of the notice; each must end acknowledged (a copy that was not — a timeout on a
    # loaded machine — is retried by the platform like any failed delivery).
    deadline = time.monotonic() + WAIT
    acknowledged: set[int] = set()
    while len(acknowledged) < 5 and time.monotonic() < deadline:
        acknowledged = {d.copy for d in stack.sim.deliveries() if d.type == "payment" and d.ok}
        time.sleep(0.1)
    attempts = [(d.copy, d.attempt, d.http_status, d.error) for d in stack.sim.deliveries()]
    assert acknowledged == {0, 1, 2, 3, 4}, attempts
    assert len(notices_on(stack, "ORDER#dup-1")) == 1


def test_concurrent_identical_callbacks(stack):
    stack.sim.configure(drop=["payment"])
    create(stack, "race-1")
    body = stack.sign_notice(
        "payment",
        {
            "appid": stack.config.app_id,
            "cp_orderno": "race-1",
            "total_amount": 12800,
            "status": "SUCCESS",
            "way": "10",
            "order_id": "N1",
            "paid_at": 1,
        },
    )
    answers: list[int] = []
    barrier = threading.Barrier(8)

    def deliver() -> None:
        barrier.wait()
        answers.append(requests.post(stack.callback.url, data=body, timeout=10).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [200] * 8
    assert wait_status(stack, "/payments/race-1", "PAID")["way"] == 10
    assert len(notices_on(stack, "ORDER#race-1")) == 1


def test_refunds_racing_a_refund_callback(stack):
    stack.sim.configure(refund_processing_seconds=1, delays={"payment": 1, "refund": 1, "settle": 5})
    create(stack, "rr-1")
    pay(stack, "rr-1")
    wait_status(stack, "/payments/rr-1", "PAID")
    url = stack.api.url + "/payments/rr-1/refunds"
    first = requests.post(url, json={"out_refund_no": "rr-r1", "refund_amount": 5000, "reason": "a"}, timeout=10)
    assert first.status_code == 201
    results: dict[str, int] = {}

    def refund(no: str, amount: int) -> None:
        r = requests.post(url, json={"out_refund_no": no, "refund_amount": amount, "reason": "b"}, timeout=10)
        results[no] = r.status_code

    def refresh() -> None:
        for _ in range(10):
            requests.get(stack.api.url + "/refunds/rr-r1?refresh=true", timeout=10)

    # The first refund's callback arrives while two more refunds compete for the remaining 7800.
    threads = [
        threading.Thread(target=refund, args=("rr-r2", 5000)),
        threading.Thread(target=refund, args=("rr-r3", 5000)),
        threading.Thread(target=refresh),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values()) == [201, 409]  # only one of them fits
    winner = next(no for no, status in results.items() if status == 201)
    wait_status(stack, "/refunds/rr-r1", "SUCCEEDED")
    wait_status(stack, f"/refunds/{winner}", "SUCCEEDED")
    order = requests.get(stack.api.url + "/payments/rr-1", timeout=10).json()
    assert order["refundable_amount"] == 12800 - 10000
    assert "anomalies" not in order
    platform = stack.sim.state()["refunds"]
    assert sum(r["refund_amount"] for r in platform.values()) == 10000


def test_unpaid_order_expires(stack):
    create(stack, "exp-1", valid_time=300)
    stack.sim.advance(301)  # the bundle reads the same simulated clock
    order = wait_status(stack, "/payments/exp-1", "EXPIRED")
    assert "reconcile_state" not in order


def test_rate_limited_reconciliation_still_reaches_every_final_state(stack):
    stack.sim.configure(drop=["payment"], rate_limits={"query_order": 1})
    numbers = [f"rl-{i}" for i in range(6)]
    for no in numbers:
        create(stack, no)
        pay(stack, no)
    # A query refused with 1001 waits at least a minute and then follows the order's backoff
    # (1, 2, 5, 10, 15 min): at 30x an unlucky order's fourth and fifth tries are 20 s and 30 s of
    # real time apart, so the wait allows two of the longest steps, not one.
    for no in numbers:
        wait_status(stack, f"/payments/{no}", "PAID", timeout=90)
    attempts = [i.get("reconcile_attempts", 0) for i in stack.items() if i["pk"].startswith("ORDER#")]
    assert max(attempts) >= 1
    assert sum(1 for d in stack.sim.deliveries() if d.ok) == 0  # every one of them by reconciliation


def test_forged_and_malformed_callbacks_write_nothing(stack):
    create(stack, "f-1")
    before = stack.items()
    forged = stack.sign_notice(
        "payment",
        {"appid": stack.config.app_id, "cp_orderno": "f-1", "total_amount": 12800, "status": "SUCCESS"},
        token="forged",
    )
    assert requests.post(stack.callback.url, data=forged, timeout=10).status_code == 401
    assert requests.post(stack.callback.url, data=b"{not json", timeout=10).status_code == 400
    assert requests.post(stack.callback.url, data=json.dumps({"msg": "x"}), timeout=10).status_code == 400
    assert stack.items() == before


def test_api_routes_and_unknown_paths(stack):
    assert requests.get(stack.api.url + "/nothing", timeout=10).status_code == 404
    r = requests.get(stack.api.url + "/payments/none-such", timeout=10)
    assert (r.status_code, r.json()["code"]) == (404, "order_not_found")
    r = requests.post(stack.api.url + "/payments", data=b"[]", headers={"content-type": "application/json"}, timeout=10)
    assert (r.status_code, r.json()["code"]) == (400, "invalid_body")


def test_a_lost_reconcile_message_is_re_enqueued_by_the_sweeper(fast_stack):
    stack = fast_stack
    stack.sim.configure(drop=["payment"])
    create(stack, "lost-1")
    sqs = stack.session.client("sqs")
    sqs.purge_queue(QueueUrl=stack.resources.queue_url)  # the creation's delayed message is lost
    pay(stack, "lost-1")
    wait_status(stack, "/payments/lost-1", "PAID")  # only the sweeper can have re-enqueued it
    sqs.close()


def test_a_poison_message_is_redriven_to_the_dlq(fast_stack):
    stack = fast_stack
    sqs = stack.session.client("sqs")
    sqs.send_message(QueueUrl=stack.resources.queue_url, MessageBody="not a reconcile message")
    deadline = time.monotonic() + WAIT
    parked: list = []
    while not parked and time.monotonic() < deadline:
        parked = sqs.receive_message(QueueUrl=stack.resources.dlq_url, AttributeNames=["All"]).get("Messages", [])
        time.sleep(0.2)
    sqs.close()
    assert [m["Body"] for m in parked] == ["not a reconcile message"]
    # Failed maxReceiveCount times, then SQS moved it. A batch whose every record failed makes
    # the invocation fail (sqs_batch raises EntireBatchFailed), exactly as Lambda would see it.
    assert int(parked[0]["Attributes"]["ApproximateReceiveCount"]) >= 5
    assert {type(e).__name__ for e in stack.invocation_errors} == {"EntireBatchFailed"}
    stack.invocation_errors.clear()


def test_bounded_load(stack):
    """A brief run of `python -m local.load`: concurrent API clients, no errors, every paid order PAID."""
    from local.load import run

    # A fixed amount of work, not a fixed time: the clients stop when the budget is spent, so how
    # fast this machine is today does not decide the test (the bench and `make load` measure speed).
    report = run(seconds=120, clients=4, max_requests=40, stack=stack)
    assert report["requests"] + report["throttled"] == 40
    assert report["seconds"] < 120
    assert report["errors"] == {}
    assert report["orders_not_paid"] == 0
    assert set(report["latency_ms"]) == {"create", "pay (simulator)", "query", "refresh"}
