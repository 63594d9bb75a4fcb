"""``make demo``: the whole payment lifecycle on the local stack, with a readable timeline — first
with 担保支付 (ecpay), then with the 通用交易系统 (trade system) that new mini-programs must use.

Exits 0 only if every step reached the state it should; stops everything it started either way
(``--help`` for ``--protocol`` and ``--speed``; the exit codes are those of local/shutdown.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import requests

from .shutdown import CHECK_FAILED, OK, Interrupted, exit_code_of_interruption, run_exit_codes, terminate_like_interrupt
from .stack import LocalStack, StackConfig, speed_argument

WAIT = 20.0  # real seconds any single step may take at least (at 30x: 10 simulated minutes)
SIM_WAIT = 600.0  # simulated seconds any single step may take: a slower clock waits longer in real time


def step_wait(speed: float) -> float:
    """Real seconds a step may take on a clock running ``speed`` times real time."""
    return max(WAIT, SIM_WAIT / speed)


class Failed(Exception):
    pass


class Timeline:
    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.t0 = time.monotonic()
        self.sim0 = stack.sim.clock.now()

    def say(self, text: str, mark: str = " ") -> None:
        real = time.monotonic() - self.t0
        sim = self.stack.sim.clock.now() - self.sim0
        print(f"[{real:6.2f}s real | sim +{sim:7.1f}s] {mark} {text}", flush=True)

    def ok(self, text: str) -> None:
        self.say(text, "✓")


TEXT = {0: "待支付", 1: "已支付", 2: "已取消", 4: "已核销", 5: "退款中", 6: "已退款", 8: "退款失败"}
# What order sync needs of an ecpay order (the buyer, from code2Session; how the order is shown).
SYNC_FIELDS = {
    "open_id": "_000Nk6QrtXaHrXIBTKnVA8lwKPp9O2-3G0y",
    "image_url": "https://cdn.example.com/latte.png",
    "order_entry_path": "pages/order/detail",
}


class Demo:
    """The ecpay story (a stack whose Protocol is ecpay)."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.api = stack.api.url
        self.sim = stack.sim.base_url
        self.http = requests.Session()
        self.t = Timeline(stack)
        self.inbox: list[dict[str, Any]] = []  # every domain event the merchant's queue got
        self.wait = step_wait(stack.config.speed)

    def heard(self, *expected: tuple[str, str]) -> None:
        """Wait until the merchant's queue got each (detail-type, ref) event, and show it."""
        deadline = time.monotonic() + self.wait
        for detail_type, ref in expected:
            while not (got := [e for e in self.inbox if (e["detail-type"], e["detail"]["ref"]) == (detail_type, ref)]):
                if time.monotonic() > deadline:
                    raise Failed(f"the merchant never heard {detail_type!r} for {ref}")
                time.sleep(0.1)
                self.inbox += self.stack.merchant_events()
            self.t.say(f"  ↳ merchant's queue: {detail_type} ({ref}, event_id {got[0]['detail']['event_id'][:8]}…)")

    def heard_once_each(self) -> None:
        """Every change was announced exactly once: no event twice, none for a duplicate."""
        time.sleep(1.0)  # anything late would have arrived by now
        self.inbox += self.stack.merchant_events()
        ids = [e["detail"]["event_id"] for e in self.inbox]
        changes = [(e["detail-type"], e["detail"]["ref"]) for e in self.inbox]
        self.expect(len(set(ids)) == len(ids), f"an event arrived twice: {changes}")
        self.expect(len(set(changes)) == len(changes), f"a change was announced twice: {changes}")
        self.t.ok(f"the merchant heard {len(ids)} events: one per change, none for the duplicate or the forgeries")
        webhook = self.stack.webhook
        if webhook is not None:
            deadline = time.monotonic() + self.wait
            while {e["detail"]["event_id"] for e in webhook.received} != set(ids):
                self.expect(time.monotonic() < deadline, "the webhook did not get the same events as the queue")
                time.sleep(0.1)
            self.t.ok(f"the merchant's webhook (an API destination) got the same {len(ids)}, with its auth header")

    # -- HTTP helpers ---------------------------------------------------------------------------

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        r = self.http.post(self.api + path, json=body, timeout=30)
        return r.status_code, r.json()

    def get(self, path: str) -> dict[str, Any]:
        r = self.http.get(self.api + path, timeout=30)
        if r.status_code != 200:
            raise Failed(f"GET {path} answered {r.status_code}: {r.text}")
        return r.json()

    def wait_for(self, path: str, status: str, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.wait
        while time.monotonic() < deadline:
            body = self.get(path)
            if body.get("status") == status:
                return body
            time.sleep(0.1)
        raise Failed(f"{what}: still {body.get('status')} after {self.wait:.0f} s, expected {status}")

    def synced(self, no: str, *statuses: int) -> None:
        """Wait until the simulator's order center got these pushes for the order (the latest last),
        and show them: order sync (订单同步) consumes the same domain events."""
        deadline = time.monotonic() + self.wait
        while True:
            record = self.stack.sim.state()["order_sync"].get(no) or {"pushes": []}
            got = [p["order_status"] for p in record["pushes"]]
            if got[-len(statuses) :] == list(statuses) and record.get("status") == statuses[-1]:
                break
            self.expect(time.monotonic() < deadline, f"order center of {no}: pushes {got}, expected … {statuses}")
            time.sleep(0.1)
        texts = " → ".join(f"{s} {TEXT[s]}" for s in statuses)
        self.t.say(f"  ↳ Douyin's order center (订单同步): {texts}")

    def settle_after_the_cycle(self, no: str, settle: dict[str, Any]) -> None:
        """A settlement inside the settlement cycle is refused (no number spent); time moves on."""
        status, body = self.post(f"/payments/{no}/settlements", settle)
        self.expect(
            status == 409 and body.get("code") == "settlement_not_open", f"an early settle answered {status} {body}"
        )
        days = self.stack.config.settle_cycle_days
        self.t.ok(f"POST …/settlements → 409 settlement_not_open: the cycle is {days} days after payment")
        wait = body["opens_at"] - self.stack.sim.clock.now()
        self.stack.advance(max(0.0, wait) + 1)
        self.t.say(f"… {wait / 86_400:.1f} days later (the clock is moved on)")

    def expect(self, condition: bool, message: str) -> None:
        if not condition:
            raise Failed(message)

    def deliveries(self, type_: str, ref_field: str, ref: str) -> list[Any]:
        return [
            d
            for d in self.stack.sim.deliveries()
            if d.type == type_ and json.loads(d.body["msg"]).get(ref_field) == ref
        ]

    def delivered(self, type_: str, ref_field: str, ref: str) -> Any:
        """The first callback the simulator sent about ``ref``."""
        return self.first_sent(lambda: self.deliveries(type_, ref_field, ref), f"{type_} callback about {ref}")

    def first_sent(self, sent: Callable[[], list[Any]], what: str) -> Any:
        """The first of ``sent()``, waiting for it: a simulator logs an attempt once its POST has
        returned, and the bundle may have answered it (and the state we polled may show it) a
        moment before."""
        deadline = time.monotonic() + self.wait
        while not (found := sent()):
            self.expect(time.monotonic() < deadline, f"no {what} was delivered")
            time.sleep(0.05)
        return found[0]

    def events(self) -> list[dict]:
        """The whole table: a duplicate must leave every item as it was."""
        return self.stack.items()

    # -- the story ------------------------------------------------------------------------------

    def run(self) -> None:
        t = self.t
        order = {
            "out_order_no": "demo-0001",
            "total_amount": 12800,
            "subject": "拿铁咖啡",
            "body": "拿铁 大杯 ×1",
            **SYNC_FIELDS,
        }
        status, body = self.post("/payments", order)
        self.expect(status == 201 and body["status"] == "CREATED", f"create answered {status} {body}")
        t.ok(
            f"POST /payments demo-0001 12800 fen → 201 CREATED, order_token for tt.pay ({len(body['order_token'])}"
            " chars)"
        )
        self.synced("demo-0001", 0)

        # An influencer's (CPS) order: 600 fen commission, known to the platform an hour after payment.
        cps = {"way": 10, "commission": CPS_COMMISSION, "commission_delay": 3600}
        self.http.post(f"{self.sim}/_sim/orders/demo-0001/pay", json=cps, timeout=10).raise_for_status()
        t.say(f"the user pays in the app (tt.pay, Douyin Pay), from an influencer video ({CPS_COMMISSION} fen theirs)")
        paid = self.wait_for("/payments/demo-0001", "PAID", "payment")
        self.delivered("payment", "cp_orderno", "demo-0001")
        t.ok(f"payment callback verified and applied → PAID (way {paid['way']})")
        self.heard(("Payment Created", "demo-0001"), ("Payment Paid", "demo-0001"))
        self.synced("demo-0001", 0, 1)

        self.refund_fulfil_settle()

        self.http.post(f"{self.sim}/_sim/config", json={"drop": ["payment"]}, timeout=10).raise_for_status()
        t.say("the platform now loses payment callbacks")
        status, _ = self.post("/payments", {**order, "out_order_no": "demo-0002"})
        self.expect(status == 201, "second order not created")
        self.http.post(f"{self.sim}/_sim/orders/demo-0002/pay", json={"way": 2}, timeout=10).raise_for_status()
        t.say("demo-0002 created and paid; its callback is dropped")
        self.wait_for("/payments/demo-0002", "PAID", "reconciliation of a lost callback")
        self.expect(
            not [d for d in self.deliveries("payment", "cp_orderno", "demo-0002") if d.ok],
            "a payment callback was delivered although dropped",
        )
        t.ok("reconciliation queried the platform → PAID without any callback")
        self.heard(("Payment Paid", "demo-0002"))
        self.http.post(f"{self.sim}/_sim/config", json={"drop": []}, timeout=10).raise_for_status()

        status, _ = self.post("/payments", {**order, "out_order_no": "demo-0003"})
        forged = self.stack.sign_notice(
            "payment",
            {
                "appid": self.stack.config.app_id,
                "cp_orderno": "demo-0003",
                "total_amount": 12800,
                "status": "SUCCESS",
                "way": "10",
                "order_id": "x",
            },
            token="not-the-token",  # noqa: S106 - deliberately wrong, to show the rejection
        )
        r = self.http.post(self.stack.callback.url, data=forged, headers={"content-type": "application/json"})
        self.expect(r.status_code == 401, f"forged callback answered {r.status_code}")
        self.expect(self.get("/payments/demo-0003")["status"] == "CREATED", "forged callback changed the order")
        t.ok("a forged callback (wrong token) → 401, demo-0003 still CREATED, nothing written")
        # Let order sync finish with the other orders, so the table is still while the duplicate comes.
        self.synced("demo-0002", 0, 1)
        self.synced("demo-0003", 0)

        [first] = [d for d in self.deliveries("payment", "cp_orderno", "demo-0001") if d.ok][:1]
        before, events_before = self.get("/payments/demo-0001"), self.events()
        # The first callback is a week old by now (the settlement cycle): replayed as it was, it is
        # refused as stale (the SDK's TIMESTAMP_MAX_AGE, 48 h); the platform sending the same notice
        # again, signed anew, is a duplicate the bundle answers with success and ignores.
        headers = {"content-type": "application/json"}
        replay = json.dumps(first.body, ensure_ascii=False).encode()
        r = self.http.post(self.stack.callback.url, data=replay, headers=headers)
        self.expect(r.status_code == 401, f"a week-old callback replayed answered {r.status_code} {r.text}")
        again = self.stack.sign_notice("payment", json.loads(first.body["msg"]))
        r = self.http.post(self.stack.callback.url, data=again, headers=headers)
        self.expect(
            r.status_code == 200 and r.json() == {"err_no": 0, "err_tips": "success"},
            f"duplicate answered {r.status_code} {r.text}",
        )
        self.expect(
            self.get("/payments/demo-0001") == before and self.events() == events_before,
            "the duplicate changed something",
        )
        t.ok("the first payment callback replayed a week later → 401 (stale); signed anew → 200, nothing changed")
        fetches = self.stack.sim.state()["access_tokens"]["fetches"]
        t.ok(f"order sync fetched the access_token {fetches}× for its pushes: once per lifetime, shared by the table")
        self.heard_once_each()

    def refund_fulfil_settle(self) -> None:
        """A part refund, then fulfilment (核销), then settlement: each shown in the order center."""
        t = self.t
        status, body = self.post(
            "/payments/demo-0001/refunds",
            {"out_refund_no": "demo-r-0001", "refund_amount": 3000, "reason": "顾客取消一杯"},
        )
        self.expect(status == 201 and body["status"] == "PROCESSING", f"refund answered {status} {body}")
        accepted_at = self.stack.sim.clock.now()
        t.ok("POST …/refunds 3000 fen → 201 PROCESSING (reserved on the order: 9800 left to refund)")
        self.wait_for("/refunds/demo-r-0001", "SUCCEEDED", "refund")
        delivery = self.delivered("refund", "cp_refundno", "demo-r-0001")
        t.ok(
            f"refund callback arrived {delivery.sim_time - accepted_at:.0f} s (simulated) after acceptance → SUCCEEDED"
        )
        self.synced("demo-0001", 5, 6, 1)
        t.say("  (money is left on the order, so it is shown paid again: settlement needs 已支付 or 已核销)")

        status, body = self.post("/payments/demo-0001/fulfilment", {})
        self.expect(status == 201 and body.get("fulfilled_at"), f"fulfilment answered {status} {body}")
        t.ok("POST …/fulfilment (核销) → 201, recorded once")
        self.heard(("Payment Fulfilled", "demo-0001"))
        self.synced("demo-0001", 4)

        settle = {"out_settle_no": "demo-s-0001", "settle_desc": "订单结算"}
        self.settle_after_the_cycle("demo-0001", settle)
        # 9800 fen are left in transit; the influencer's 600 and the 0.6 % fee (59) come off what a
        # partner can be given: the bundle asks the platform before it sends anything.
        greedy = {**settle, "settle_params": [{"merchant_uid": PARTNER, "amount": 9500}]}
        status, body = self.post("/payments/demo-0001/settlements", greedy)
        self.expect(
            status == 409
            and body.get("code") == "settle_exceeds_settleable"
            and body.get("commission") == CPS_COMMISSION,
            f"an over-large payee share answered {status} {body}",
        )
        t.ok(
            f"POST …/settlements 9500 fen to a partner → 409 settle_exceeds_settleable: at most "
            f"{body['settleable_amount']} fen (9800 unsettled − {CPS_COMMISSION} commission − fee), no number spent"
        )
        fair = {**settle, "settle_params": [{"merchant_uid": PARTNER, "amount": 2000}]}
        status, body = self.post("/payments/demo-0001/settlements", fair)
        self.expect(status == 201, f"settle answered {status} {body}")
        t.ok("POST …/settlements 2000 fen to a partner → 201 PROCESSING (the order center shows 已核销)")
        settled = self.wait_for("/settlements/demo-s-0001", "SUCCEEDED", "settlement")
        self.expect(settled.get("commission") == CPS_COMMISSION, f"the settlement took no commission: {settled}")
        order = self.get("/payments/demo-0001")
        t.ok(
            f"settle callback → SUCCEEDED ({settled['settle_amount']} fen settled: 2000 to the partner, "
            f"{settled['commission']} to the influencer, fee {settled['rake']}, the rest to the seller); "
            f"the order records commission {order.get('commission')} and settled_at"
        )
        self.heard(("Refund Succeeded", "demo-r-0001"), ("Settlement Succeeded", "demo-s-0001"))


CPS_COMMISSION = 600
PARTNER = "696458350318359362"

TRADE_ORDER = {
    "out_order_no": "demo-t-0001",
    "total_amount": 12800,
    "subject": "年度会员",
    "image_url": "https://cdn.example.com/vip.png",
    "goods_type": 401,
    "tag_group_id": "tag_group_7272625659888041996",
    "order_entry_path": "pages/order/detail",
}


class TradeDemo(Demo):
    """The trade-system story (a stack whose Protocol is trade): the mini-program's side is played
    by the simulator's stand-in for tt.requestOrder / tt.getOrderPayment."""

    def __init__(self, stack: LocalStack) -> None:
        super().__init__(stack)
        self.trade = stack.trade_sim.base_url

    def client(self, route: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.http.post(f"{self.trade}/_sim/{route}", json=body, timeout=10)
        r.raise_for_status()
        return r.json()

    def trade_deliveries(self, type_: str) -> list[Any]:
        return [d for d in self.stack.trade_sim.deliveries() if d.type == type_]

    def answered(self, type_: str) -> list[Any]:
        """The trade simulator's callbacks of ``type_`` that the bundle answered with success."""
        return [d for d in self.trade_deliveries(type_) if d.ok]

    def pay_in_app(self, order: dict[str, Any]) -> str:
        params = order["pay_params"]
        answer = self.client(
            "client/request_order",
            {"data": params["data"], "byteAuthorization": params["byteAuthorization"], "client_platform": "android"},
        )
        self.expect("orderId" in answer, f"tt.requestOrder refused the signed data: {answer}")
        self.client("client/get_order_payment", {"orderId": answer["orderId"], "outcome": "pay", "pay_channel": 10})
        return answer["orderId"]

    def run(self) -> None:
        t = self.t
        status, order = self.post("/payments", TRADE_ORDER)
        self.expect(status == 201 and order["status"] == "CREATED", f"create answered {status} {order}")
        t.ok("POST /payments demo-t-0001 12800 fen → 201 CREATED, one write, no platform call;")
        t.say(f"  pay_params = {{data ({len(order['pay_params']['data'])} chars), byteAuthorization}} signed RSA-2048")

        order_id = self.pay_in_app(order)
        t.say(f"tt.requestOrder accepted the signature → {order_id}; tt.getOrderPayment: the user pays")
        paid = self.wait_for("/payments/demo-t-0001", "PAID", "payment")
        t.ok(f"payment callback (Byte-Signature over the raw body) verified → PAID (channel {paid['way']})")
        self.heard(("Payment Created", "demo-t-0001"), ("Payment Paid", "demo-t-0001"))
        self.refusals()  # while the payment callback is fresh: a replay days later is refused as stale

        self.client("orders/demo-t-0001/user_refund", {"amount": 3000, "need_audit": True, "reason": "不想要了"})
        t.say("the user asks for a 3000 fen refund in Douyin; the platform asks the merchant to audit it")
        opened = self.first_sent(lambda: self.answered("pre_create_refund"), "answered pre_create_refund callback")
        ref = json.loads(opened.response)["data"]["out_refund_no"]
        refund = self.wait_for(f"/refunds/{ref}", "PROCESSING", "user refund")
        self.expect(refund["audit_status"] == "PENDING", f"refund {refund}")
        left = self.get("/payments/demo-t-0001")["refundable_amount"]
        t.ok(f"pre_create_refund answered with {ref}: recorded, audit PENDING, reserved ({left} fen left to refund)")
        self.heard(("Refund Processing", ref))
        status, audited = self.post(f"/refunds/{ref}/audit", {"decision": "approve"})
        self.expect(status == 200 and audited["audit_status"] == "APPROVED", f"audit answered {status} {audited}")
        t.ok(f"POST /refunds/{ref}/audit approve → 200 (refund_audit_callback sent)")
        self.wait_for(f"/refunds/{ref}", "SUCCEEDED", "refund")
        t.ok("refund callback → SUCCEEDED")
        self.heard(("Refund Audit Approved", ref), ("Refund Succeeded", ref))

        settle = {"out_settle_no": "demo-t-s-0001", "settle_desc": "订单结算"}
        self.settle_after_the_cycle("demo-t-0001", settle)
        status, body = self.post("/payments/demo-t-0001/settlements", settle)
        self.expect(status == 201, f"settle answered {status} {body}")
        settled = self.wait_for("/settlements/demo-t-s-0001", "SUCCEEDED", "settlement")
        t.ok(f"settle_create → settle callback → SUCCEEDED ({settled['settle_amount']} fen, fee {settled['rake']} fen)")

        self.http.post(f"{self.trade}/_sim/config", json={"drop": ["payment"]}, timeout=10).raise_for_status()
        status, second = self.post("/payments", {**TRADE_ORDER, "out_order_no": "demo-t-0002"})
        self.expect(status == 201, f"second order answered {status} {second}")
        self.pay_in_app(second)
        t.say("demo-t-0002 paid in the app; the platform loses its payment callback")
        self.wait_for("/payments/demo-t-0002", "PAID", "reconciliation of a lost callback")
        t.ok("reconciliation asked order_query → PAID without any callback")
        self.http.post(f"{self.trade}/_sim/config", json={"drop": []}, timeout=10).raise_for_status()

        fetches = self.stack.trade_sim.token_fetches
        t.ok(f"the whole story fetched the client_token {fetches}×: once per lifetime, shared through the table")
        self.heard_once_each()

    def refusals(self) -> None:
        """A re-serialised and a forged callback are refused; the real one again changes nothing."""
        real = self.first_sent(lambda: self.answered("payment"), "answered payment callback")
        before, items_before = self.get("/payments/demo-t-0001"), self.events()
        reserialised = json.dumps(json.loads(real.body)).encode()  # the same JSON, other separators
        r = self.http.post(self.stack.callback.url, data=reserialised, headers=dict(real.headers))
        self.expect(r.status_code == 401, f"a re-serialised callback answered {r.status_code}")
        forged = self.stack.forge_trade_notice(real.body)
        r = self.http.post(self.stack.callback.url, data=real.body.encode(), headers=forged)
        self.expect(r.status_code == 401, f"a forged callback answered {r.status_code}")
        r = self.http.post(self.stack.callback.url, data=real.body.encode(), headers=dict(real.headers))
        self.expect(r.status_code == 200, f"the duplicate answered {r.status_code} {r.text}")
        self.expect(
            self.get("/payments/demo-t-0001") == before and self.events() == items_before,
            "a rejected or repeated callback changed something",
        )
        self.t.ok("re-serialised body → 401, signed with another key → 401, the real one again → 200; nothing changed")


def run_story(title: str, config: StackConfig, story: type[Demo]) -> None:
    print(f"{title}\n", flush=True)
    stack = LocalStack(config)
    try:
        stack.start()
        print(
            f"  API {stack.api.url}  ·  callback {stack.callback.url}  ·  ecpay simulator {stack.sim.base_url}"
            f"  ·  trade simulator {stack.trade_sim.base_url}  ·  time runs {stack.config.speed:g}x\n",
            flush=True,
        )
        story(stack).run()
        if stack.errors:
            raise Failed(f"background errors: {stack.errors!r}")
    finally:
        stack.stop()


STORIES = {
    "ecpay": ("担保支付 (ecpay): a stack with Protocol=ecpay", "ecpay", Demo),
    "trade": ("通用交易系统 (trade system): a stack with Protocol=trade", "trade", TradeDemo),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local.demo",
        description="Run the whole payment lifecycle on the local stack with a readable timeline: first "
        "with 担保支付 (ecpay), then with the 通用交易系统 (trade system). Each story starts its own "
        "stack on free loopback ports and stops it, whatever happens.",
        epilog=run_exit_codes("a step of a story did not reach the state it should"),
    )
    parser.add_argument(
        "--protocol",
        choices=("ecpay", "trade", "both"),
        default="both",
        help="which story to run (default: both, ecpay first)",
    )
    parser.add_argument(
        "--speed",
        type=speed_argument,
        default=StackConfig.speed,
        help=f"simulated seconds per real second (default: {StackConfig.speed:g}); "
        "a step may take 10 simulated minutes, at least 20 real seconds",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    chosen = list(STORIES) if args.protocol == "both" else [args.protocol]
    terminate_like_interrupt()  # SIGTERM, too, stops the stack before exiting
    print("Starting the local stack (moto, Douyin simulators, API gateway, Function URL, SQS and stream pollers)…")
    try:
        for number, key in enumerate(chosen, start=1):
            title, protocol, story = STORIES[key]
            config = StackConfig(log_level="CRITICAL", protocol=protocol, speed=args.speed)
            gap = "\n" if number > 1 else ""
            run_story(f"{gap}{number}. {title}", config, story)
    except Failed as exc:
        print(f"\n✗ demo failed: {exc}", flush=True)
        return CHECK_FAILED
    except (KeyboardInterrupt, Interrupted) as exc:
        print("\ninterrupted; everything started has been stopped", file=sys.stderr, flush=True)
        return exit_code_of_interruption(exc)
    which = "both stories" if len(chosen) > 1 else "the story"
    print(f"\nAll steps of {which} reached their expected state. Everything started has been stopped.", flush=True)
    return OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
