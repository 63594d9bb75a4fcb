"""ecpay order sync (订单同步), end to end in one process: the API and the callback write, the real
publisher turns the table's stream into domain events on the bus (moto), the template's rule routes
ecpay order and refund events to the order-sync queue, and the real consumer pushes each change to
the simulator — which, like the platform, settles an order only once it shows paid or fulfilled."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from douyin_pay.bundle import runtime
from douyin_pay.bundle.platforms.ecpay_sync import statuses_for, update_time
from douyin_pay.bundle.states import FULFILLED, Kind
from local.functions import load_handler
from tests.bundle.harness import notice_body, payment_msg, refund_msg

SYNCED = {
    "open_id": "_000Nk6QrtXaHrXIBTKnVA8lwKPp9O2-3G0y",
    "image_url": "https://cdn.example.com/latte.png",
    "order_entry_path": "pages/order/detail?id=o-1",
}


def order(no: str, amount: int = 12800, **extra) -> dict:
    return {"out_order_no": no, "total_amount": amount, "subject": "拿铁咖啡", "body": "拿铁 大杯", **SYNCED, **extra}


def pushed(bundle, no: str) -> list[int]:
    """The statuses the simulator accepted for an order, in arrival order (applied or not)."""
    record = bundle.sim.state()["order_sync"].get(no)
    return [p["order_status"] for p in record["pushes"]] if record else []


def current(bundle, no: str) -> int | None:
    record = bundle.sim.state()["order_sync"].get(no)
    return record["status"] if record else None


def pay(bundle, no: str, amount: int = 12800) -> None:
    bundle.sim.pay(no)
    status, _ = bundle.callback(notice_body("payment", payment_msg(no, amount)))
    assert status == 200


def fulfil(bundle, no: str, body=None) -> tuple[int, dict]:
    return bundle.api("POST", f"/payments/{no}/fulfilment", route="POST /payments/{out_order_no}/fulfilment", body=body)


# -- what each change means in the order center --------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "change", "order_item", "expected"),
    [
        (Kind.ORDER, "CREATED", {}, (0,)),
        (Kind.ORDER, "PAID", {}, (1,)),
        (Kind.ORDER, "EXPIRED", {}, (2,)),
        (Kind.ORDER, "FAILED", {}, (2,)),
        (Kind.ORDER, FULFILLED, {}, (4,)),
        (Kind.ORDER, "SUBMITTING", {}, ()),
        (Kind.REFUND, "PROCESSING", {"refundable_amount": 0}, (5,)),
        (Kind.REFUND, "SUCCEEDED", {"refundable_amount": 0}, (6,)),
        # A part refund, or a failed one, leaves money on the order: it is shown paid (or fulfilled)
        # again after the refund's own status, because settlement needs it so.
        (Kind.REFUND, "SUCCEEDED", {"refundable_amount": 100}, (6, 1)),
        (Kind.REFUND, "SUCCEEDED", {"refundable_amount": 100, "fulfilled_at": 1}, (6, 4)),
        (Kind.REFUND, "FAILED", {"refundable_amount": 12800}, (8, 1)),
        (Kind.SETTLEMENT, "SUCCEEDED", {}, ()),
    ],
)
def test_every_change_maps_to_its_order_center_status(kind, change, order_item, expected):
    assert statuses_for(kind, change, order_item) == expected


def test_changes_of_one_second_are_pushed_in_lifecycle_order():
    t = 1_764_072_000
    times = [
        update_time(Kind.ORDER, "CREATED", t),
        update_time(Kind.ORDER, "PAID", t),
        update_time(Kind.ORDER, FULFILLED, t),
        update_time(Kind.REFUND, "PROCESSING", t),
        update_time(Kind.REFUND, "SUCCEEDED", t),
    ]
    assert times == sorted(times)
    assert len(set(times)) == len(times)
    assert all(t * 1000 <= x < (t + 1) * 1000 for x in times)
    assert update_time(Kind.ORDER, "CREATED", t + 1) > update_time(Kind.REFUND, "SUCCEEDED", t)


# -- the lifecycle ----------------------------------------------------------------------------------


def test_an_order_is_synced_at_every_change_and_settles_once_shown_paid(synced_bundle):
    bundle = synced_bundle
    assert bundle.create_payment(order("sync-1"))[0] == 201
    bundle.propagate()
    assert pushed(bundle, "sync-1") == [0]
    pay(bundle, "sync-1")
    bundle.propagate()
    assert pushed(bundle, "sync-1") == [0, 1]

    _, view = bundle.get("payments", "sync-1")
    assert view["order_sync"]["syncable"] is True
    assert (view["order_sync"]["status"], view["order_sync"]["status_text"]) == (1, "已支付")
    assert view["order_sync"]["update_time"] // 1000 == view["updated_at"]  # the Paid change's time
    assert view["order_sync"]["pushed_at"] >= view["updated_at"]

    push = bundle.sim.state()["order_sync"]["sync-1"]["pushes"][-1]
    assert push["open_id"] == SYNCED["open_id"]
    assert push["order_detail"]["order_id"] == "sync-1"
    assert push["order_detail"]["total_price"] == 12800
    assert push["order_detail"]["detail_url"] == SYNCED["order_entry_path"]
    assert push["order_detail"]["item_list"][0]["img"] == SYNCED["image_url"]
    assert push["order_detail"]["item_list"][0]["title"] == "拿铁咖啡"

    status, settlement = bundle.settle("sync-1", {"out_settle_no": "sync-1-s", "settle_desc": "结算"})
    assert status == 201, settlement


def test_refunds_are_shown_then_the_order_is_shown_paid_again(synced_bundle):
    bundle = synced_bundle
    bundle.create_payment(order("sync-2"))
    pay(bundle, "sync-2")
    bundle.propagate()
    assert bundle.refund("sync-2", {"out_refund_no": "sync-2-r", "refund_amount": 3000, "reason": "少一杯"})[0] == 201
    bundle.propagate()
    assert current(bundle, "sync-2") == 5  # refunding: the platform would refuse a settlement now
    assert (
        bundle.settle("sync-2", {"out_settle_no": "sync-2-s", "settle_desc": "结算"})[1]["code"] == "order_not_synced"
    )

    bundle.sim.complete_refund("sync-2-r")
    bundle.callback(notice_body("refund", refund_msg("sync-2-r", 3000)))
    bundle.propagate()
    assert pushed(bundle, "sync-2")[-2:] == [6, 1]
    assert current(bundle, "sync-2") == 1
    status, body = bundle.settle("sync-2", {"out_settle_no": "sync-2-s2", "settle_desc": "结算"})
    assert status == 201, body


def test_a_settlement_before_the_sync_is_refused_and_spends_no_number(synced_bundle):
    bundle = synced_bundle
    bundle.create_payment(order("sync-3"))
    pay(bundle, "sync-3")
    settle = {"out_settle_no": "sync-3-s", "settle_desc": "结算"}
    status, body = bundle.settle("sync-3", settle)  # the Paid event has not been pushed yet
    assert (status, body["code"], body["retryable"]) == (409, "order_not_synced", True)
    assert bundle.item("SETTLE#sync-3-s", "SETTLE") is None  # nothing written
    assert "sync-3-s" not in bundle.sim.state()["settlements"]  # nor sent

    bundle.propagate()
    status, body = bundle.settle("sync-3", settle)  # the same number, now that the order shows paid
    assert status == 201, body


def test_the_platform_refuses_to_settle_an_order_never_synced(synced_bundle):
    """The simulator's rule, with the bundle's own check out of the way (OrderSync=off on the
    bundle's side, the platform's rule still on): the refusal the bundle's 409 spares the caller."""
    bundle = synced_bundle
    bundle.create_payment(order("sync-4"))
    pay(bundle, "sync-4")
    os.environ["ORDER_SYNC"] = "off"
    runtime.reset()
    try:
        status, body = bundle.settle("sync-4", {"out_settle_no": "sync-4-s", "settle_desc": "结算"})
    finally:
        os.environ["ORDER_SYNC"] = "on"
        runtime.reset()
    assert (status, body["code"]) == (422, "platform_refused")
    assert "禁止分账" in body["err_tips"]


def test_an_order_without_open_id_is_accepted_reported_and_never_settled(synced_bundle):
    bundle = synced_bundle
    body = order("sync-5")
    del body["open_id"]
    status, view = bundle.create_payment(body)
    assert status == 201
    assert view["order_sync"] == {"syncable": False, "missing": ["open_id"]}
    pay(bundle, "sync-5", 12800)
    bundle.propagate()
    assert pushed(bundle, "sync-5") == []  # nothing to push with
    status, refusal = bundle.settle("sync-5", {"out_settle_no": "sync-5-s", "settle_desc": "结算"})
    assert (status, refusal["code"], refusal["missing"]) == (409, "order_not_syncable", ["open_id"])
    assert refusal["retryable"] is False


def test_an_order_without_sync_fields_is_counted_when_created(synced_bundle, capsys, monkeypatch):
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    body = order("sync-5m")
    del body["image_url"]
    capsys.readouterr()
    assert synced_bundle.create_payment(body)[0] == 201
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert [m.get("OrderNotSyncable") for m in metrics if "OrderNotSyncable" in m] == [[1.0]]
    assert synced_bundle.create_payment(body)[0] == 200  # the same request again is not counted twice
    again = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert not any("OrderNotSyncable" in m for m in again)


def test_events_out_of_order_never_move_the_order_center_back(synced_bundle):
    bundle = synced_bundle
    bundle.create_payment(order("sync-6"))
    bundle.publish()
    created = bundle.queued(bundle.resources.order_sync_queue_url)  # held back: it arrives last
    pay(bundle, "sync-6")
    bundle.propagate()
    assert pushed(bundle, "sync-6") == [1]
    sqs = bundle.session.client("sqs")
    for message in created:
        sqs.send_message(QueueUrl=bundle.resources.order_sync_queue_url, MessageBody=message["Body"])
    assert bundle.sync_orders() == {"delivered": 1, "failed": 0}
    assert pushed(bundle, "sync-6") == [1]  # the older change is stale: not pushed
    assert current(bundle, "sync-6") == 1


def test_a_duplicate_event_is_pushed_once(synced_bundle):
    bundle = synced_bundle
    bundle.create_payment(order("sync-7"))
    pay(bundle, "sync-7")
    bundle.publish()
    messages = bundle.queued(bundle.resources.order_sync_queue_url)
    sqs = bundle.session.client("sqs")
    for message in messages + messages:  # EventBridge and SQS deliver at least once
        sqs.send_message(QueueUrl=bundle.resources.order_sync_queue_url, MessageBody=message["Body"])
    while bundle.sync_orders()["delivered"]:
        pass
    assert pushed(bundle, "sync-7") == [0, 1]


def test_the_backoff_doubles_to_a_cap():
    from local.functions import load_handler

    handler = load_handler("sync_orders")
    assert [handler.backoff(n) for n in (1, 2, 3, 4, 7, 12)] == [10, 20, 40, 80, 640, 900]


def test_a_platform_error_is_retried_with_backoff(synced_bundle, monkeypatch):
    from local.functions import load_handler

    bundle = synced_bundle
    bundle.create_payment(order("sync-8"))
    bundle.publish()
    bundle.sim.inject_fault("order_push", "http_500")
    monkeypatch.setattr(load_handler("sync_orders"), "BACKOFF_BASE", 1)  # a 1 s first backoff, to wait it out
    bundle.calls.reset()
    assert bundle.sync_orders() == {"delivered": 1, "failed": 1}
    backoffs = [p for name, p in bundle.calls.params if name == "ChangeMessageVisibility"]
    assert [p["VisibilityTimeout"] for p in backoffs] == [1]
    assert pushed(bundle, "sync-8") == []
    assert "sync_lease_owner" not in bundle.item("ORDER#sync-8", "ORDER")  # the lease was given back
    assert bundle.sync_orders() == {"delivered": 0, "failed": 0}  # hidden for its backoff

    time.sleep(1.2)
    assert bundle.sync_orders() == {"delivered": 1, "failed": 0}
    assert pushed(bundle, "sync-8") == [0]


def test_another_consumer_holding_the_order_defers_the_push(synced_bundle):
    bundle = synced_bundle
    bundle.create_payment(order("sync-9"))
    bundle.publish()
    bundle.tamper_order("sync-9", sync_lease_owner="other", sync_lease_until=int(bundle.clock()) + 60)
    assert bundle.sync_orders() == {"delivered": 1, "failed": 1}
    assert pushed(bundle, "sync-9") == []


def test_a_push_refused_for_good_is_recorded_and_not_retried(synced_bundle):
    bundle = synced_bundle
    bundle.create_payment(order("sync-10"))
    bundle.publish()
    # An order the platform finds invalid (here: its page path grew past the limit in the table).
    bundle.tamper_order("sync-10", order_entry_path="p" * 1025)
    assert bundle.sync_orders() == {"delivered": 1, "failed": 0}  # not retried: it cannot heal
    assert pushed(bundle, "sync-10") == []  # the SDK refused to send it at all
    error = bundle.item("ORDER#sync-10", "ORDER")["sync_error"]
    assert error["status"] == 0
    assert "order_detail.detail_url" in error["err_tips"]
    _, view = bundle.get("payments", "sync-10")
    assert view["order_sync"]["error"]["status"] == 0


def test_the_access_token_is_fetched_once_for_concurrent_consumers(synced_bundle):
    from douyin_pay.bundle.client_token import MINI_APP_ACCESS_TOKEN, StoredTokenSource
    from douyin_pay.bundle.context import Context
    from douyin_pay.bundle.order_sync import OrderSync
    from douyin_pay.bundle.platforms import Platforms
    from douyin_pay.bundle.platforms.base import PaymentProtocol
    from douyin_pay.bundle.platforms.ecpay import EcpayPlatform
    from douyin_pay.bundle.settings import Settings
    from douyin_pay.bundle.store import Store

    bundle = synced_bundle
    for n in range(8):
        bundle.create_payment(order(f"sync-c{n}"))
    bundle.publish()
    events = [json.loads(m["Body"]) for m in bundle.queued(bundle.resources.order_sync_queue_url)]
    assert len(events) == 8
    settings = Settings.from_env()

    def consumer() -> OrderSync:  # a cold execution environment: its own clients and caches
        store = Store(settings.table_name, bundle.session.client("dynamodb"))

        def tokens(fetch):
            return StoredTokenSource(store, settings.app_id, fetch, clock=bundle.clock, name=MINI_APP_ACCESS_TOKEN)

        def ecpay():
            return EcpayPlatform(settings, secret=runtime.secret, query_attempts=1, tokens=tokens)

        platforms = Platforms({PaymentProtocol.ECPAY: ecpay}, default=PaymentProtocol.ECPAY)
        return OrderSync(Context(settings, store, platforms, clock=bundle.clock))

    consumers = [consumer() for _ in events]
    start = threading.Barrier(len(events))
    errors: list[BaseException] = []

    def run(sync: OrderSync, event: dict) -> None:
        start.wait()
        try:
            sync.sync(event)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=pair) for pair in zip(consumers, events, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert bundle.sim.state()["access_tokens"]["fetches"] == 1
    assert all(pushed(bundle, f"sync-c{n}") == [0] for n in range(8))


# -- fulfilment (核销) ------------------------------------------------------------------------------


def test_fulfilment_is_recorded_once_announced_and_pushed(synced_bundle):
    bundle = synced_bundle
    bundle.create_payment(order("sync-f"))
    pay(bundle, "sync-f")
    bundle.propagate()
    before = int(bundle.clock())
    status, view = fulfil(bundle, "sync-f")
    assert (status, view["status"]) == (201, "PAID")
    # The service's clock when it recorded it (a second may tick over during the call).
    assert before <= view["fulfilled_at"] <= int(bundle.clock())
    again, view_again = fulfil(bundle, "sync-f", body={})
    assert (again, view_again["fulfilled_at"]) == (200, view["fulfilled_at"])
    bundle.propagate()
    assert pushed(bundle, "sync-f")[-1] == 4
    _, read = bundle.get("payments", "sync-f")
    assert read["order_sync"]["status"] == 4
    assert bundle.settle("sync-f", {"out_settle_no": "sync-f-s", "settle_desc": "结算"})[0] == 201


def test_fulfilment_is_refused_when_it_cannot_apply(synced_bundle):
    bundle = synced_bundle
    assert fulfil(bundle, "nope")[1]["code"] == "order_not_found"
    bundle.create_payment(order("sync-u"))
    status, body = fulfil(bundle, "sync-u")
    assert (status, body["code"]) == (409, "order_not_paid")
    status, body = fulfil(bundle, "sync-u", body={"at": 1})
    assert (status, body["code"]) == (400, "unknown_field")
    assert "fulfilled_at" not in bundle.item("ORDER#sync-u", "ORDER")


# -- the create request's sync fields ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("open_id", "x" * 129),
        ("open_id", ""),
        ("image_url", "https://cdn.example.com/" + "a" * 500),
        ("image_url", "http://cdn.example.com/latte.png"),
        ("image_url", "https://cdn.example.com/a latte.png"),
        ("order_entry_path", "p" * 801),
        ("order_entry_path", 'pages/order?q="x"'),
        ("order_entry_path", "pages/order\\detail"),
        ("order_entry_path", 7),
    ],
)
def test_bad_sync_fields_are_refused_and_write_nothing(synced_bundle, field, value):
    bundle = synced_bundle
    status, body = bundle.create_payment(order("sync-bad", **{field: value}))
    assert status == 400, body
    assert body["field"] == field
    assert bundle.item("ORDER#sync-bad", "ORDER") is None


def test_the_sync_fields_are_part_of_the_request_identity(synced_bundle):
    bundle = synced_bundle
    assert bundle.create_payment(order("sync-id"))[0] == 201
    assert bundle.create_payment(order("sync-id"))[0] == 200
    status, body = bundle.create_payment(order("sync-id", open_id="another-buyer"))
    assert (status, body["code"]) == (409, "idempotency_conflict")


def test_the_largest_order_the_api_accepts_can_be_pushed(synced_bundle):
    """Every field at its limit (quotes in subject and body, which JSON escapes): the order_detail
    still fits the platform's 2048 bytes, so no accepted order is refused at push time."""
    bundle = synced_bundle
    no = "N" * 64
    body = {
        "out_order_no": no,
        "total_amount": 10_000_000_000,
        "subject": "拿" + '"' * 40 + "铁",
        "body": "铁" * 42,
        "open_id": "o" * 128,
        "image_url": "https://cdn.example.com/" + "a" * (512 - 24),
        "order_entry_path": "页" * 266 + "pp",  # 800 bytes
    }
    status, view = bundle.create_payment(body)
    assert status == 201, view
    bundle.propagate()
    assert pushed(bundle, no) == [0]


def test_a_synced_order_with_chinese_texts_stays_under_one_kb(synced_bundle):
    """The sync fields and the push record (status, text, time) keep a realistic order at one
    write unit per write, the pushes' own writes included."""
    from local.capacity import KB, item_size
    from tests.bundle.test_item_size import CHINESE

    bundle = synced_bundle
    assert bundle.create_payment({**CHINESE, **SYNCED, "out_order_no": "sync-kb"})[0] == 201
    bundle.propagate()
    pay(bundle, "sync-kb")
    bundle.propagate()
    bundle.refund("sync-kb", {"out_refund_no": "sync-kb-r", "refund_amount": 3000, "reason": "少送了一杯"})
    bundle.callback(notice_body("refund", refund_msg("sync-kb-r", 3000)))
    bundle.propagate()
    order = bundle.item("ORDER#sync-kb", "ORDER")
    assert order["sync_status"] == 1
    assert item_size(order) < KB, item_size(order)


def test_each_change_costs_two_conditional_writes_and_no_read(synced_bundle):
    bundle = synced_bundle
    bundle.create_payment(order("sync-cost"))
    bundle.propagate()  # the first push also fetches and stores the access_token
    pay(bundle, "sync-cost")
    bundle.publish()
    bundle.calls.reset()
    assert bundle.sync_orders() == {"delivered": 1, "failed": 0}
    assert bundle.calls.count() == {"UpdateItem": 2}  # the claim (which returns the order) and the record


def test_an_order_from_before_order_sync_is_left_to_the_platform(synced_bundle):
    """An upgraded stack does not lock the settlement of orders it could never sync: the bundle
    does not check them, and the platform decides as it did before the upgrade."""
    bundle = synced_bundle
    body = order("sync-old")
    for name in SYNCED:
        del body[name]
    bundle.create_payment(body)
    bundle.tamper_order("sync-old", remove=("sync_missing",))  # as an order written by the previous version
    pay(bundle, "sync-old")
    bundle.propagate()
    assert pushed(bundle, "sync-old") == []
    assert "order_sync" not in bundle.get("payments", "sync-old")[1]
    status, body = bundle.settle("sync-old", {"out_settle_no": "sync-old-s", "settle_desc": "结算"})
    assert (status, body["code"]) == (422, "platform_refused")  # the simulator's strict rule, not ours
    bundle.sim.configure(require_order_sync=False)
    assert bundle.settle("sync-old", {"out_settle_no": "sync-old-s2", "settle_desc": "结算"})[0] == 201


def test_the_cycle_after_fulfilment_counts_from_the_fulfilment_both_sides_know(synced_bundle, monkeypatch):
    """SettleAfter=fulfilment: the bundle counts from its fulfilled_at, the platform from the push
    that told it (已核销) — the same moment, so the bundle's 409 ends when the platform's refusal would."""
    bundle = synced_bundle
    monkeypatch.setenv("SETTLE_AFTER", "fulfilment")
    monkeypatch.setenv("SETTLE_CYCLE_DAYS", "3")
    runtime.reset()
    bundle.sim.configure(settle_after="fulfilment", settle_cycle_days=3)
    bundle.create_payment(order("sync-cy"))
    pay(bundle, "sync-cy")
    bundle.propagate()
    assert fulfil(bundle, "sync-cy")[0] == 201
    bundle.propagate()
    assert current(bundle, "sync-cy") == 4
    bundle.advance(3 * 86_400 - 5)
    settle = {"out_settle_no": "sync-cy-s", "settle_desc": "结算"}
    assert bundle.settle("sync-cy", settle)[1]["code"] == "settlement_not_open"
    bundle.advance(5)
    status, body = bundle.settle("sync-cy", settle)
    assert status == 201, body


def test_a_change_half_pushed_is_pushed_whole_on_retry(synced_bundle, monkeypatch):
    """A refund's 6 went through and the 1 after it did not: the retry pushes both again, so the
    order ends shown paid (a part recorded as pushed would have made the retry look stale)."""
    from douyin_pay.bundle.platforms.ecpay_sync import EcpayOrderSync
    from douyin_pay.errors import PlatformTransportError

    bundle = synced_bundle
    bundle.create_payment(order("sync-half"))
    pay(bundle, "sync-half")
    bundle.propagate()
    bundle.refund("sync-half", {"out_refund_no": "sync-half-r", "refund_amount": 3000, "reason": "少一杯"})
    bundle.propagate()
    bundle.callback(notice_body("refund", refund_msg("sync-half-r", 3000)))
    bundle.publish()
    real_push = EcpayOrderSync.push
    failed = []

    def flaky(self, order_item, status, at):
        if status == 1 and not failed:
            failed.append(status)
            raise PlatformTransportError("order_push: timed out")
        return real_push(self, order_item, status, at)

    monkeypatch.setattr(EcpayOrderSync, "push", flaky)
    monkeypatch.setattr(load_handler("sync_orders"), "BACKOFF_BASE", 0)
    assert bundle.sync_orders() == {"delivered": 1, "failed": 1}
    assert pushed(bundle, "sync-half")[-1] == 6
    assert bundle.sync_orders() == {"delivered": 1, "failed": 0}
    assert pushed(bundle, "sync-half")[-3:] == [6, 6, 1]  # the whole change again, same update_time
    assert current(bundle, "sync-half") == 1
    assert bundle.item("ORDER#sync-half", "ORDER")["sync_status"] == 1
