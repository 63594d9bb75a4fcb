"""``make demo``: the whole payment lifecycle on the local stack, with a readable timeline.

Exits 0 only if every step reached the state it should; stops everything it started either way.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import requests

from .stack import LocalStack, StackConfig

WAIT = 20.0  # real seconds any single step may take (time runs 30x: that is 10 simulated minutes)


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


class Demo:
    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.api = stack.api.url
        self.sim = stack.sim.base_url
        self.http = requests.Session()
        self.t = Timeline(stack)

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
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            body = self.get(path)
            if body.get("status") == status:
                return body
            time.sleep(0.1)
        raise Failed(f"{what}: still {body.get('status')} after {WAIT:.0f} s, expected {status}")

    def expect(self, condition: bool, message: str) -> None:
        if not condition:
            raise Failed(message)

    def deliveries(self, type_: str, ref_field: str, ref: str) -> list[Any]:
        return [
            d
            for d in self.stack.sim.deliveries()
            if d.type == type_ and json.loads(d.body["msg"]).get(ref_field) == ref
        ]

    def events(self) -> list[dict]:
        """The whole table: a duplicate must leave every item as it was."""
        return self.stack.items()

    # -- the story ------------------------------------------------------------------------------

    def run(self) -> None:
        t = self.t
        order = {"out_order_no": "demo-0001", "total_amount": 12800, "subject": "拿铁咖啡", "body": "拿铁 大杯 ×1"}
        status, body = self.post("/payments", order)
        self.expect(status == 201 and body["status"] == "CREATED", f"create answered {status} {body}")
        t.ok(
            f"POST /payments demo-0001 12800 fen → 201 CREATED, order_token for tt.pay ({len(body['order_token'])}"
            " chars)"
        )

        self.http.post(f"{self.sim}/_sim/orders/demo-0001/pay", json={"way": 10}, timeout=10).raise_for_status()
        t.say("the user pays in the app (tt.pay, Douyin Pay)")
        paid = self.wait_for("/payments/demo-0001", "PAID", "payment")
        self.expect(bool(self.deliveries("payment", "cp_orderno", "demo-0001")), "no payment callback was delivered")
        t.ok(f"payment callback verified and applied → PAID (way {paid['way']})")

        status, body = self.post(
            "/payments/demo-0001/refunds",
            {"out_refund_no": "demo-r-0001", "refund_amount": 3000, "reason": "顾客取消一杯"},
        )
        self.expect(status == 201 and body["status"] == "PROCESSING", f"refund answered {status} {body}")
        accepted_at = self.stack.sim.clock.now()
        t.ok("POST …/refunds 3000 fen → 201 PROCESSING (reserved on the order: 9800 left to refund)")
        self.wait_for("/refunds/demo-r-0001", "SUCCEEDED", "refund")
        [delivery] = self.deliveries("refund", "cp_refundno", "demo-r-0001")[:1] or [None]
        self.expect(delivery is not None, "the refund succeeded without its callback")
        t.ok(
            f"refund callback arrived {delivery.sim_time - accepted_at:.0f} s (simulated) after acceptance → SUCCEEDED"
        )

        status, body = self.post(
            "/payments/demo-0001/settlements", {"out_settle_no": "demo-s-0001", "settle_desc": "订单结算"}
        )
        self.expect(status == 201, f"settle answered {status} {body}")
        t.ok("POST …/settlements → 201 PROCESSING")
        settled = self.wait_for("/settlements/demo-s-0001", "SUCCEEDED", "settlement")
        t.ok(f"settle callback → SUCCEEDED ({settled['settle_amount']} fen settled, fee {settled['rake']} fen)")

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

        [first] = [d for d in self.deliveries("payment", "cp_orderno", "demo-0001") if d.ok][:1]
        before, events_before = self.get("/payments/demo-0001"), self.events()
        r = self.http.post(
            self.stack.callback.url,
            data=json.dumps(first.body, ensure_ascii=False).encode(),
            headers={"content-type": "application/json"},
        )
        self.expect(
            r.status_code == 200 and r.json() == {"err_no": 0, "err_tips": "success"},
            f"duplicate answered {r.status_code} {r.text}",
        )
        self.expect(
            self.get("/payments/demo-0001") == before and self.events() == events_before,
            "the duplicate changed something",
        )
        t.ok("the first payment callback sent again → 200 success, nothing changed")


def main(argv: list[str] | None = None) -> int:
    print(
        "Starting the local stack (moto server, Douyin simulator, API gateway, Function URL, SQS poller)…", flush=True
    )
    stack = LocalStack(StackConfig(log_level="CRITICAL"))
    try:
        stack.start()
        print(
            f"  API {stack.api.url}  ·  callback {stack.callback.url}  ·  simulator {stack.sim.base_url}"
            f"  ·  time runs {stack.config.speed:g}x\n",
            flush=True,
        )
        Demo(stack).run()
        if stack.errors:
            raise Failed(f"background errors: {stack.errors!r}")
    except Failed as exc:
        print(f"\n✗ demo failed: {exc}", flush=True)
        return 1
    finally:
        stack.stop()
    print("\nAll steps reached their expected state. Everything started has been stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
