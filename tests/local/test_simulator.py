"""The Douyin ecpay v1 simulator, driven over loopback HTTP like a real client would.

Most tests freeze the simulated clock (speed 0) and move it with advance(), so callback timing is
exact and nothing sleeps; the retry-schedule test runs a compressed clock instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import requests

from douyin_pay.ecpay.signing import request_sign
from local.douyin_sim import Delivery, DouyinSimulator, SimulatorConfig
from local.douyin_sim.clock import SimClock
from local.douyin_sim.config import RETRY_SCHEDULE, ConfigHolder
from local.douyin_sim.platform import ControlError, rake_of
from local.douyin_sim.traffic import FAULT_MODES, RateLimiter

APP_ID = "tt07e3715e98c9aac0"
SALT = "sim-test-salt"
TOKEN = "sim-test-token"
PROVIDER = "tta4bad2000001234"
CALLBACK_HOST = "https://callback.localhost"
NOTIFY_URL = CALLBACK_HOST + "/douyin/notify"
START = 1_750_000_000.0  # a fixed simulated start time
_ORDER = {"total_amount": 100, "subject": "s", "body": "b", "valid_time": 900}


# ---------------------------------------------------------------------------- callback receiver


@dataclass
class Receiver:
    """A loopback HTTP server standing in for the merchant's callback endpoint."""

    url: str = ""
    status: int = 200
    answer: bytes = b'{"err_no":0,"err_tips":"success"}'
    received: list[tuple[str, bytes]] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def bodies(self) -> list[dict[str, Any]]:
        with self.cond:
            return [json.loads(raw) for _, raw in self.received]

    def wait(self, n: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        with self.cond:
            arrived = self.cond.wait_for(lambda: len(self.received) >= n, timeout)
            assert arrived, f"{len(self.received)} of {n} callbacks"
        return self.bodies()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with rec.cond:
                rec.received.append((self.path, raw))
                rec.cond.notify_all()
            self.send_response(rec.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(rec.answer)))
            self.end_headers()
            self.wfile.write(rec.answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()
    thread.join()


# ---------------------------------------------------------------------------- simulator + client


def _as_platform_signs(value: Any) -> Any:
    """The layer refuses to sign bools and floats; the platform signs their JSON text, so a test
    can still send them correctly signed and see the field rules (not the signature) refuse them."""
    return json.dumps(value) if isinstance(value, (bool, float)) else value


class Client:
    """Signs bodies with the SALT and posts them, as the SDK does."""

    def __init__(
        self, base_url: str, *, app_id: str = APP_ID, salt: str = SALT, thirdparty_id: str | None = None
    ) -> None:
        self.base_url = base_url
        self.app_id = app_id
        self.salt = salt
        self.thirdparty_id = thirdparty_id
        self.http = requests.Session()
        self.http.trust_env = False

    def body(self, fields: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"app_id": self.app_id, **fields}
        if self.thirdparty_id is not None:
            body["thirdparty_id"] = self.thirdparty_id
        body["sign"] = request_sign({k: _as_platform_signs(v) for k, v in body.items()}, self.salt)
        return body

    def raw(self, endpoint: str, body: Any, timeout: float = 5) -> requests.Response:
        return self.http.post(f"{self.base_url}/api/apps/ecpay/v1/{endpoint}", json=body, timeout=timeout)

    def call(self, endpoint: str, **fields: Any) -> dict[str, Any]:
        response = self.raw(endpoint, self.body(fields))
        assert response.status_code == 200, response.text
        return response.json()

    def create_order(self, out_order_no: str, **overrides: Any) -> dict[str, Any]:
        fields = {
            "out_order_no": out_order_no,
            "total_amount": 12800,
            "subject": "测试商品",
            "body": "测试商品详情",
            "valid_time": 900,
            "cp_extra": "extra-1",
            "notify_url": NOTIFY_URL,
            "disable_msg": 0,
        }
        return self.call("create_order", **{**fields, **overrides})

    def refund(self, no: str, amount: Any, order: str = "A1", reason: str = "r", **extra: Any) -> dict:
        fields = {"out_order_no": order, "out_refund_no": no, "reason": reason, "refund_amount": amount}
        return self.call("create_refund", **fields, **extra)

    def settle(self, no: str, order: str = "A1", desc: str = "d", **extra: Any) -> dict[str, Any]:
        return self.call("settle", out_settle_no=no, out_order_no=order, settle_desc=desc, **extra)

    def order_status(self, out_order_no: str) -> str:
        return self.call("query_order", out_order_no=out_order_no)["payment_info"]["order_status"]

    def control(self, method: str, path: str, body: Any = None) -> requests.Response:
        return self.http.request(method, f"{self.base_url}/_sim/{path}", json=body, timeout=5)


@pytest.fixture
def make_sim(receiver: Receiver) -> Iterator[Callable[..., tuple[DouyinSimulator, Client]]]:
    started: list[DouyinSimulator] = []

    def make(**overrides: Any) -> tuple[DouyinSimulator, Client]:
        settings: dict[str, Any] = {
            "app_id": APP_ID,
            "salt": SALT,
            "token": TOKEN,
            "speed": 0,
            "start_time": START,
            "deliver_to": {CALLBACK_HOST: receiver.url},
            "default_notify_url": NOTIFY_URL,
        }
        sim = DouyinSimulator(SimulatorConfig(**{**settings, **overrides})).start()
        started.append(sim)
        return sim, Client(sim.base_url, thirdparty_id=overrides.get("thirdparty_id"))

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: Callable[..., tuple[DouyinSimulator, Client]]) -> tuple[DouyinSimulator, Client]:
    return make_sim()


def paid_order(sim: DouyinSimulator, client: Client, no: str = "A1", amount: int = 10000) -> dict[str, Any]:
    assert client.create_order(no, total_amount=amount)["err_no"] == 0
    return sim.pay(no)


def msg_of(body: dict[str, Any]) -> dict[str, Any]:
    return json.loads(body["msg"])


def signature_by_hand(body: dict[str, Any]) -> str:
    """A callback's msg_signature worked out from ecpay-spec §6.2, not by any signer under test.

    The timestamp and nonce are digits, so they sort before TOKEN (a letter first) and msg (JSON
    text, "{" first); only their own order needs working out.
    """
    timestamp, nonce = body["timestamp"], body["nonce"]
    assert TOKEN[0].isalpha()
    assert body["msg"].startswith("{")
    joined = min(timestamp, nonce) + max(timestamp, nonce) + TOKEN + body["msg"]
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------- success shapes


class TestShapes:
    def test_create_order(self, sim):
        _, client = sim
        answer = client.create_order("A1")
        assert set(answer) == {"err_no", "err_tips", "data"}
        assert answer["err_no"] == 0
        assert answer["err_tips"] == ""
        assert re.fullmatch(r"\d{19}", answer["data"]["order_id"])
        assert isinstance(answer["data"]["order_token"], str)
        assert answer["data"]["order_token"]

    def test_query_order_unpaid_then_paid(self, sim):
        simulator, client = sim
        order_id = client.create_order("A1")["data"]["order_id"]
        unpaid = client.call("query_order", out_order_no="A1")
        assert set(unpaid) == {"err_no", "err_tips", "out_order_no", "order_id", "payment_info"}
        assert unpaid["order_id"] == order_id
        assert unpaid["out_order_no"] == "A1"
        assert unpaid["payment_info"] == {
            "total_fee": 12800,
            "order_status": "PROCESSING",
            "pay_time": "",
            "way": 0,
            "channel_no": "",
            "channel_gateway_no": "",
            "seller_uid": "",
            "item_id": "",
            "cp_extra": "extra-1",
        }
        simulator.pay("A1", way=2)
        info = client.call("query_order", out_order_no="A1")["payment_info"]
        assert info["order_status"] == "SUCCESS"
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", info["pay_time"])
        assert info["way"] == 2
        assert isinstance(info["way"], int)
        assert info["channel_no"]
        assert info["channel_gateway_no"]
        assert info["seller_uid"]

    def test_refund_settle_return_and_queries(self, sim):
        simulator, client = sim
        paid_order(simulator, client, amount=10000)
        refund = client.refund("R1", 1000, reason="不想要了")
        assert set(refund) == {"err_no", "err_tips", "refund_no"}
        assert refund["err_no"] == 0
        info = client.call("query_refund", out_refund_no="R1")
        assert set(info) == {"err_no", "err_tips", "refundInfo"}
        assert info["refundInfo"] == {
            "refund_no": refund["refund_no"],
            "refund_amount": 1000,
            "refund_status": "PROCESSING",
            "refunded_at": 0,
            "is_all_settled": False,
            "cp_extra": "",
            "msg": "",
        }
        simulator.advance(3)  # refund_processing_seconds
        done = client.call("query_refund", out_refund_no="R1")["refundInfo"]
        assert done["refund_status"] == "SUCCESS"
        assert done["refunded_at"] == int(START + 3)

        payees = json.dumps([{"merchant_uid": "696458350318359362", "amount": 600}])
        settle = client.settle("S1", desc="分账", settle_params=payees)
        assert set(settle) == {"err_no", "err_tips", "settle_no"}
        assert settle["err_no"] == 0
        simulator.advance(3)
        s_info = client.call("query_settle", out_settle_no="S1")
        assert set(s_info) == {"err_no", "err_tips", "settle_info"}
        s = s_info["settle_info"]
        assert set(s) == {
            "settle_no", "settle_amount", "settle_status", "settle_detail", "settled_at",
            "rake", "commission", "cp_extra", "msg",
        }  # fmt: skip
        assert s["settle_no"] == settle["settle_no"]
        assert s["settle_status"] == "SUCCESS"
        assert s["settle_amount"] == 9000
        assert s["rake"] == 54
        assert s["commission"] == 0
        assert "商户号696458350318359362-分成金额(分)600" in s["settle_detail"]

        ret = client.call(
            "create_return",
            out_settle_no="S1",
            out_return_no="T1",
            return_desc="退分账",
            merchant_uid="696458350318359362",
            return_amount=100,
        )
        assert set(ret) == {"err_no", "err_tips", "return_info"}
        assert ret["return_info"]["return_status"] == "SUCCESS"
        assert ret["return_info"]["settle_no"] == settle["settle_no"]
        queried = client.call("query_return", out_return_no="T1")
        assert queried["return_info"] == ret["return_info"]
        by_no = client.call("query_return", return_no=ret["return_info"]["return_no"])
        assert by_no["return_info"]["out_return_no"] == "T1"

        unsettled = client.call("unsettle_amount", out_order_no="A1")
        assert set(unsettled) == {"err_no", "err_tips", "data"}
        assert unsettled["data"]["unsettle_amount"] == 0
        assert unsettled["data"]["detail"]["refund_info"] == [{"out_refund_no": "R1", "amount": 1000}]

        platform_order = client.call("query_platform_order", out_order_no="A1")
        assert set(platform_order) == {"err_no", "err_tips", "platform_order"}
        (listed,) = platform_order["platform_order"]["settle_info_list"]
        assert listed["out_settle_no"] == "S1"
        assert listed["service_charge"] == 54

    def test_unsettle_amount_before_settlement(self, sim):
        simulator, client = sim
        paid_order(simulator, client, amount=5000)
        data = client.call("unsettle_amount", out_order_no="A1")["data"]
        assert data["unsettle_amount"] == 5000
        assert data["detail"]["pay_info"] == {"out_order_no": "A1", "amount": 5000}
        assert data["detail"]["payment_rake"] == 30


def test_rake_rounds_half_up():
    assert [rake_of(a) for a in (83, 84, 100, 10000, 1)] == [0, 1, 1, 60, 0]


# ---------------------------------------------------------------------------- identity and signature


class TestAuthentication:
    def test_bad_sign_is_2008(self, sim):
        _, client = sim
        body = client.body({"out_order_no": "A1"})
        body["sign"] = "0" * 32
        assert client.raw("query_order", body).json()["err_no"] == 2008

    def test_missing_sign_is_2008(self, sim):
        _, client = sim
        body = client.body({"out_order_no": "A1"})
        del body["sign"]
        assert client.raw("query_order", body).json()["err_no"] == 2008

    def test_tampered_field_and_wrong_salt_are_2008(self, sim):
        _, client = sim
        body = client.body({"out_order_no": "A1", **_ORDER})
        body["total_amount"] = 1
        assert client.raw("create_order", body).json()["err_no"] == 2008
        other = Client(client.base_url, salt="another-salt")
        assert other.create_order("A2")["err_no"] == 2008

    def test_signature_failure_does_not_spend_the_number(self, sim):
        _, client = sim
        assert Client(client.base_url, salt="wrong").create_order("A1")["err_no"] == 2008
        assert client.create_order("A1")["err_no"] == 0

    def test_unknown_app_id_is_2042(self, sim):
        _, client = sim
        stranger = Client(client.base_url, app_id="tt0000000000000000")
        assert stranger.create_order("A1")["err_no"] == 2042
        assert stranger.call("query_order", out_order_no="A1")["err_no"] == 2042
        # The return endpoints document 2020 "illegal app_id" instead (ecpay-spec §3.8).
        assert stranger.call("query_return", out_return_no="T1")["err_no"] == 2020

    def test_provider_mode_requires_thirdparty_id(self, make_sim):
        _, client = make_sim(thirdparty_id=PROVIDER)
        assert client.create_order("A1")["err_no"] == 0
        assert Client(client.base_url).create_order("A2")["err_no"] == 2047  # missing
        assert Client(client.base_url, thirdparty_id="tt-wrong").create_order("A3")["err_no"] == 2047

    def test_thirdparty_id_without_provider_mode_is_2048(self, sim):
        _, client = sim
        assert Client(client.base_url, thirdparty_id=PROVIDER).create_order("A1")["err_no"] == 2048

    def test_float_is_verified_on_its_text_then_refused_as_2010(self, sim):
        _, client = sim
        answer = client.create_order("A1", total_amount=100.5)
        assert answer["err_no"] == 2010
        assert "total_amount" in answer["err_tips"]

    def test_not_json_is_2010(self, sim):
        _, client = sim
        url = f"{client.base_url}/api/apps/ecpay/v1/query_order"
        json_header = {"Content-Type": "application/json"}
        assert client.http.post(url, data=b"{", headers=json_header).json()["err_no"] == 2010
        assert client.http.post(url, json=[1, 2]).json()["err_no"] == 2010
        assert client.http.post(url, data=b"a=b").json()["err_no"] == 2010  # form-encoded


# ---------------------------------------------------------------------------- field validation


FIVE_PAYEES = json.dumps([{"merchant_uid": f"m{i}", "amount": 1} for i in range(5)])
LONG_URL = "https://callback.localhost/" + "x" * 240
BAD_CREATE_ORDER = {
    "missing subject": {"subject": None},
    "amount as string": {"total_amount": "12800"},
    "amount as bool": {"total_amount": True},
    "amount zero": {"total_amount": 0},
    "amount over 10^10": {"total_amount": 10**10 + 1},
    "valid_time as string": {"valid_time": "900"},
    "subject 43 chars": {"subject": "a" * 43},
    "subject over 128 bytes": {"subject": "😀" * 33},  # 33 chars, 132 bytes
    "body 43 chars": {"body": "商" * 43},
    "out_order_no bad char": {"out_order_no": "A 1"},
    "out_order_no 65 chars": {"out_order_no": "A" * 65},
    "notify_url http": {"notify_url": "http://callback.localhost/n"},
    "notify_url 257 chars": {"notify_url": LONG_URL},
    "disable_msg 2": {"disable_msg": 2},
    "limit_pay_way unknown": {"limit_pay_way": "LIMIT_CASH"},
}


class TestValidation:
    @pytest.mark.parametrize("override", BAD_CREATE_ORDER.values(), ids=BAD_CREATE_ORDER.keys())
    def test_create_order_field_rules(self, sim, override):
        _, client = sim
        fields = {"out_order_no": "V1", "total_amount": 100, "subject": "s", "body": "b", "valid_time": 900}
        fields = {k: v for k, v in {**fields, **override}.items() if v is not None}
        answer = client.call("create_order", **fields)
        assert answer["err_no"] == 2010, answer
        assert next(iter(override)) in answer["err_tips"]

    def test_subject_of_42_cjk_chars_is_fine(self, sim):
        _, client = sim
        assert client.create_order("V1", subject="商" * 42, body="品" * 42)["err_no"] == 0  # 126 bytes

    def test_over_long_cp_extra_is_truncated_on_create_order(self, sim):
        _simulator, client = sim
        assert client.create_order("V1", cp_extra="x" * 3000)["err_no"] == 0
        assert len(client.call("query_order", out_order_no="V1")["payment_info"]["cp_extra"]) == 2048

    @pytest.mark.parametrize(
        ("fields", "named"),
        [
            ({"reason": "r" * 101}, "reason"),
            ({"reason": None}, "reason"),
            ({"refund_amount": 10.0}, "refund_amount"),
            ({"cp_extra": "c" * 2049}, "cp_extra"),
            ({"all_settle": "1"}, "all_settle"),
            ({"out_refund_no": "R#1"}, "out_refund_no"),
        ],
    )
    def test_create_refund_field_rules(self, sim, fields, named):
        simulator, client = sim
        paid_order(simulator, client)
        body = {"out_order_no": "A1", "out_refund_no": "R1", "reason": "r", "refund_amount": 100, **fields}
        body = {k: v for k, v in body.items() if v is not None}
        answer = client.call("create_refund", **body)
        assert answer["err_no"] == 2010, answer
        assert named in answer["err_tips"]

    @pytest.mark.parametrize(
        ("fields", "named"),
        [
            ({"settle_desc": "d" * 81}, "settle_desc"),
            ({"settle_params": [{"merchant_uid": "m", "amount": 1}]}, "settle_params"),
            ({"settle_params": "not json"}, "settle_params"),
            ({"settle_params": FIVE_PAYEES}, "4 payees"),
            ({"settle_params": json.dumps([{"merchant_uid": "m", "amount": 0}])}, "amount"),
            ({"settle_params": json.dumps([{"amount": 5}])}, "merchant_uid"),
            ({"notify_url": "ftp://x"}, "notify_url"),
        ],
    )
    def test_settle_field_rules(self, sim, fields, named):
        simulator, client = sim
        paid_order(simulator, client)
        body = {"out_settle_no": "S1", "out_order_no": "A1", "settle_desc": "d", **fields}
        answer = client.call("settle", **body)
        assert answer["err_no"] == 2010, answer
        assert named in answer["err_tips"]

    def test_valid_time_is_clamped(self, sim):
        simulator, client = sim
        client.create_order("SHORT", valid_time=10)  # raised to 300 (§3.1)
        client.create_order("LONG", valid_time=10**6)  # lowered to 172800
        simulator.advance(299)
        assert client.order_status("SHORT") == "PROCESSING"
        simulator.advance(1)
        assert client.order_status("SHORT") == "TIMEOUT"
        simulator.advance(172_800 - 300 - 1)
        assert client.order_status("LONG") == "PROCESSING"
        simulator.advance(1)
        assert client.order_status("LONG") == "TIMEOUT"


# ---------------------------------------------------------------------------- idempotency (§2)


class TestIdempotency:
    def test_repeat_with_changed_params_returns_the_first_result(self, sim):
        _, client = sim
        first = client.create_order("A1", total_amount=100)
        again = client.create_order("A1", total_amount=999, subject="changed")
        assert again == first
        assert client.call("query_order", out_order_no="A1")["payment_info"]["total_fee"] == 100

    def test_repeated_refund_and_settle_numbers(self, sim):
        simulator, client = sim
        paid_order(simulator, client)
        first = client.refund("R1", 100)
        again = client.refund("R1", 500, reason="x")
        assert again == first
        assert client.call("query_refund", out_refund_no="R1")["refundInfo"]["refund_amount"] == 100
        s1 = client.settle("S1")
        assert client.settle("S1", desc="other") == s1

    def test_a_failed_first_request_poisons_the_number(self, sim):
        simulator, client = sim
        refused = client.create_order("P1", subject="s" * 43)
        assert refused["err_no"] == 2010
        retry = client.create_order("P1")  # now valid, same number
        assert retry["err_no"] == 2010
        assert "use a new" in retry["err_tips"]
        assert client.call("query_order", out_order_no="P1")["err_no"] == 2000
        assert client.create_order("P2")["err_no"] == 0
        assert "P1" in simulator.state()["spent_numbers"]["order"]

    def test_a_refused_refund_poisons_its_number(self, sim):
        simulator, client = sim
        client.create_order("A1")
        unpaid = client.refund("R1", 1)
        assert unpaid["err_no"] == 2010
        simulator.pay("A1")
        again = client.refund("R1", 1)
        assert again["err_no"] == 2010
        assert "use a new" in again["err_tips"]
        fresh = client.refund("R2", 1)
        assert fresh["err_no"] == 0


# ---------------------------------------------------------------------------- business rules


class TestBusinessRules:
    def test_refunds_never_exceed_the_paid_amount(self, sim):
        simulator, client = sim
        paid_order(simulator, client, amount=1000)

        def refund(no: str, amount: int) -> dict[str, Any]:
            return client.refund(no, amount)

        assert refund("R0", 1001)["err_no"] == 2010
        assert refund("R1", 600)["err_no"] == 0  # processing counts too
        assert refund("R2", 401)["err_no"] == 2010
        assert refund("R3", 400)["err_no"] == 0
        assert refund("R4", 1)["err_no"] == 2010

    def test_a_failed_refund_frees_its_amount(self, make_sim):
        simulator, client = make_sim(refund_processing_seconds=None)
        paid_order(simulator, client, amount=1000)
        client.refund("R1", 1000)
        simulator.complete_refund("R1", "FAIL")
        assert client.call("query_refund", out_refund_no="R1")["refundInfo"]["refund_status"] == "FAIL"
        answer = client.refund("R2", 1000)
        assert answer["err_no"] == 0

    def test_refund_on_unpaid_or_unknown_order(self, sim):
        _, client = sim
        client.create_order("A1")
        unpaid = client.refund("R1", 1)
        assert unpaid["err_no"] == 2010
        unknown = client.refund("R2", 1, order="NOPE")
        assert unknown["err_no"] == 2000

    def test_settle_before_payment_is_refused(self, sim):
        _, client = sim
        client.create_order("A1")
        assert client.settle("S1")["err_no"] == 2010

    def test_settle_params_bounded_by_paid_minus_refunded(self, sim):
        simulator, client = sim
        paid_order(simulator, client, amount=1000)
        client.refund("R1", 300)

        def settle(no: str, amount: int) -> dict[str, Any]:
            payees = json.dumps([{"merchant_uid": "m1", "amount": amount}])
            return client.settle(no, settle_params=payees)

        assert settle("S1", 701)["err_no"] == 2010
        assert settle("S2", 700)["err_no"] == 0
        assert client.call("query_settle", out_settle_no="S2")["settle_info"]["settle_amount"] == 700
        # A second settlement while the first is processing is refused (§3.5).
        assert settle("S3", 1)["err_no"] == 2010

    def test_refund_after_settlement_needs_all_settle(self, sim):
        simulator, client = sim
        paid_order(simulator, client, amount=1000)
        client.settle("S1")
        simulator.advance(3)
        before = client.refund("R1", 100)
        assert before["err_no"] == 2010
        assert "all_settle" in before["err_tips"]
        after = client.refund("R2", 100, all_settle=1)
        assert after["err_no"] == 0
        assert client.call("query_refund", out_refund_no="R2")["refundInfo"]["is_all_settled"] is True

    def test_returns_are_bounded_by_the_payee_share(self, sim):
        simulator, client = sim
        paid_order(simulator, client, amount=1000)
        payees = json.dumps([{"merchant_uid": "m1", "amount": 100}])
        client.settle("S1", settle_params=payees)

        def ret(no: str, amount: int, uid: str = "m1", **extra: Any) -> dict[str, Any]:
            fields = {"out_settle_no": "S1", "return_desc": "d", "merchant_uid": uid, **extra}
            return client.call("create_return", out_return_no=no, return_amount=amount, **fields)

        assert ret("T0", 10)["err_no"] == 2010  # the settlement has not completed yet
        simulator.advance(3)
        assert ret("T1", 60)["err_no"] == 0
        assert ret("T2", 41)["err_no"] == 2010
        assert ret("T3", 40)["err_no"] == 0
        assert ret("T4", 1, uid="m2")["err_no"] == 2010
        assert ret("T5", 1, out_settle_no="NOPE")["err_no"] == 2000

    def test_not_found_codes(self, sim):
        _, client = sim
        assert client.call("query_order", out_order_no="NOPE")["err_no"] == 2000
        assert client.call("query_refund", out_refund_no="NOPE")["err_no"] == 3101
        assert client.call("query_settle", out_settle_no="NOPE")["err_no"] == 2000
        assert client.call("query_return", out_return_no="NOPE")["err_no"] == 4408
        assert client.call("query_return", out_return_no="T" * 65)["err_no"] == 2102
        assert client.call("unsettle_amount", out_order_no="NOPE")["err_no"] == 2000

    def test_expiry(self, sim):
        simulator, client = sim
        client.create_order("A1", valid_time=600)
        simulator.advance(600)
        assert client.order_status("A1") == "TIMEOUT"
        with pytest.raises(ControlError) as excinfo:
            simulator.pay("A1")
        assert excinfo.value.status == 409

    def test_cancel_notifies_nothing_and_the_order_still_expires(self, sim, receiver):
        simulator, client = sim
        client.create_order("A1", valid_time=600)
        simulator.cancel("A1")
        simulator.advance(30)
        assert client.order_status("A1") == "PROCESSING"
        simulator.advance(600)
        assert client.order_status("A1") == "TIMEOUT"
        time.sleep(0.1)
        assert simulator.deliveries() == []
        assert receiver.received == []

    def test_pay_twice_and_unknown(self, sim):
        simulator, client = sim
        paid_order(simulator, client)
        with pytest.raises(ControlError) as twice:
            simulator.pay("A1")
        assert twice.value.status == 409
        with pytest.raises(ControlError) as unknown:
            simulator.pay("NOPE")
        assert unknown.value.status == 404


# ---------------------------------------------------------------------------- callbacks


class TestCallbacks:
    def test_payment_callback_is_signed_and_complete(self, sim, receiver):
        simulator, client = sim
        order_id = client.create_order("A1", total_amount=12800)["data"]["order_id"]
        simulator.pay("A1", way=10)
        simulator.advance(1)  # the payment delay
        (body,) = receiver.wait(1)
        assert set(body) == {"msg", "msg_signature", "nonce", "timestamp", "type"}
        assert body["type"] == "payment"
        assert re.fullmatch(r"\d{1,4}", body["nonce"])
        assert re.fullmatch(r"\d{10}", body["timestamp"])
        assert body["msg_signature"] == signature_by_hand(body)
        msg = msg_of(body)
        assert msg["appid"] == APP_ID
        assert "app_id" not in msg
        assert msg["cp_orderno"] == "A1"
        assert msg["cp_extra"] == "extra-1"
        assert msg["order_id"] == order_id
        assert msg["way"] == "10"
        assert msg["total_amount"] == 12800
        assert msg["status"] == "SUCCESS"
        assert msg["paid_at"] == int(START)
        for key in ("channel_no", "channel_gateway_no", "seller_uid", "extra", "item_id", "message"):
            assert isinstance(msg[key], str)
        assert body["msg"] == json.dumps(msg, ensure_ascii=False, separators=(",", ":"))
        (delivery,) = simulator.wait_for_deliveries(1)
        assert delivery.ok
        assert delivery.http_status == 200
        assert delivery.attempt == 1
        assert delivery.url == NOTIFY_URL
        assert delivery.delivered_to == receiver.url + "/douyin/notify"
        assert receiver.received[0][0] == "/douyin/notify"

    def test_payment_callback_waits_for_its_delay(self, sim, receiver):
        simulator, client = sim
        client.create_order("A1")
        simulator.pay("A1")
        simulator.advance(0.5)
        time.sleep(0.1)
        assert receiver.received == []
        simulator.advance(0.5)
        receiver.wait(1)

    def test_default_notify_url_when_the_request_had_none(self, sim, receiver):
        simulator, client = sim
        body = {"total_amount": 100, "subject": "s", "body": "b", "valid_time": 900, "out_order_no": "A1"}
        assert client.call("create_order", **body)["err_no"] == 0
        simulator.pay("A1")
        simulator.advance(1)
        receiver.wait(1)
        assert simulator.wait_for_deliveries(1)[0].url == NOTIFY_URL

    def test_refund_callback_arrives_at_least_10s_after_the_refund(self, sim, receiver):
        simulator, client = sim
        paid_order(simulator, client, amount=1000)
        simulator.advance(1)
        receiver.wait(1)  # the payment callback
        refund_no = client.refund("R1", 300, cp_extra="ce")["refund_no"]
        simulator.advance(3 + 11)  # completed at +3; its callback is due 12 s later
        time.sleep(0.1)
        assert len(receiver.received) == 1
        simulator.advance(1)
        body = receiver.wait(2)[1]
        assert body["type"] == "refund"
        assert body["msg_signature"] == signature_by_hand(body)
        msg = msg_of(body)
        assert msg == {
            "appid": APP_ID,
            "cp_refundno": "R1",
            "cp_extra": "ce",
            "status": "SUCCESS",
            "refund_amount": 300,
            "is_all_settled": False,
            "refunded_at": msg["refunded_at"],
            "message": "",
            "order_id": msg["order_id"],
            "refund_no": refund_no,
        }
        refund_delivery = simulator.wait_for_deliveries(2)[-1]
        assert refund_delivery.sim_time - msg["refunded_at"] >= 10

    def test_settle_callback(self, sim, receiver):
        simulator, client = sim
        paid_order(simulator, client, amount=10000)
        simulator.advance(1)
        receiver.wait(1)
        payees = json.dumps([{"merchant_uid": "m1", "amount": 1000}])
        client.settle("S1", settle_params=payees)
        simulator.advance(3 + 5)
        msg = msg_of(receiver.wait(2)[1])
        assert msg["app_id"] == APP_ID
        assert "appid" not in msg
        assert msg["cp_settle_no"] == "S1"
        assert msg["out_order_no"] == "A1"
        assert msg["status"] == "SUCCESS"
        assert msg["settle_amount"] == 10000
        assert msg["rake"] == 60
        assert msg["commission"] == 0
        assert "商户号m1-分成金额(分)1000" in msg["settle_detail"]
        assert msg["is_auto_settle"] is False
        assert msg["settled_at"] == int(START + 1 + 3)

    def test_manual_completion_with_fail(self, make_sim, receiver):
        simulator, client = make_sim(refund_processing_seconds=None, settle_processing_seconds=None)
        paid_order(simulator, client)
        client.refund("R1", 1)
        client.settle("S1")
        simulator.advance(3600)
        assert client.call("query_refund", out_refund_no="R1")["refundInfo"]["refund_status"] == "PROCESSING"
        simulator.complete_refund("R1", "FAIL")
        simulator.complete_settlement("S1", "FAIL")
        simulator.advance(12)
        types = {b["type"]: msg_of(b)["status"] for b in receiver.wait(3)}
        assert types == {"payment": "SUCCESS", "refund": "FAIL", "settle": "FAIL"}
        assert client.call("query_settle", out_settle_no="S1")["settle_info"]["settle_status"] == "FAIL"
        # A failed settlement may be retried with a new number (§3.5).
        assert client.settle("S2")["err_no"] == 0

    def test_outcome_switch(self, make_sim):
        simulator, client = make_sim(refund_outcome="FAIL")
        paid_order(simulator, client)
        client.refund("R1", 1)
        simulator.advance(3)
        assert client.call("query_refund", out_refund_no="R1")["refundInfo"]["refund_status"] == "FAIL"

    def test_duplicates_switch(self, sim, receiver):
        simulator, client = sim
        simulator.configure(duplicates=2)
        paid_order(simulator, client)
        simulator.advance(3)
        bodies = receiver.wait(3)
        assert len({b["msg"] for b in bodies}) == 1
        assert sorted(d.copy for d in simulator.wait_for_deliveries(3)) == [0, 1, 2]

    def test_drop_switch(self, sim, receiver):
        simulator, client = sim
        simulator.configure(drop=["payment"])
        paid_order(simulator, client)
        client.refund("R1", 1)
        simulator.advance(20)
        (body,) = receiver.wait(1)
        assert body["type"] == "refund"
        state = simulator.state()
        assert [d["type"] for d in state["callbacks"]["dropped"]] == ["payment"]
        simulator.configure(drop="all")
        paid_order(simulator, client, no="A2")
        simulator.advance(20)
        time.sleep(0.1)
        assert len(receiver.received) == 1

    def test_retry_timing_and_recovery(self, sim, receiver):
        simulator, client = sim
        receiver.status = 500
        paid_order(simulator, client)
        simulator.advance(1)
        receiver.wait(1)
        simulator.advance(14.5)
        time.sleep(0.1)
        assert len(receiver.received) == 1
        simulator.advance(0.5)
        receiver.wait(2)
        receiver.status, receiver.answer = 200, b'{"err_no":1,"err_tips":"no"}'  # 200 alone is not success
        simulator.advance(15)
        receiver.wait(3)
        receiver.answer = b"OK"  # not JSON: still a failure
        simulator.advance(30)
        receiver.wait(4)
        receiver.answer = b'{"err_no":0,"err_tips":"success"}'
        simulator.advance(180)
        receiver.wait(5)
        simulator.advance(24 * 3600)
        time.sleep(0.1)
        log = simulator.deliveries()
        assert [d.attempt for d in log] == [1, 2, 3, 4, 5]
        assert [d.ok for d in log] == [False, False, False, False, True]
        assert [round(b.sim_time - a.sim_time, 6) for a, b in pairwise(log)] == [15, 15, 30, 180]

    def test_full_retry_schedule_on_a_fast_clock(self, sim, receiver):
        simulator, client = sim
        receiver.status = 500
        paid_order(simulator, client)
        simulator.configure(speed=200_000)  # the ~24 h schedule in well under a second
        log = simulator.wait_for_deliveries(16, timeout=10)
        time.sleep(0.2)
        log = simulator.deliveries()
        assert len(log) == 16
        assert [d.attempt for d in log] == list(range(1, 17))
        assert all(d.http_status == 500 and not d.ok for d in log)
        gaps = [b.sim_time - a.sim_time for a, b in pairwise(log)]
        assert all(gap >= interval for gap, interval in zip(gaps, RETRY_SCHEDULE, strict=True))
        assert simulator.state()["callbacks"]["given_up"] == [log[0].notice_id]

    def test_unmapped_external_url_is_never_contacted(self, make_sim):
        simulator, client = make_sim(deliver_to={})
        paid_order(simulator, client)
        simulator.advance(1)
        (delivery,) = simulator.wait_for_deliveries(1)
        assert delivery.http_status is None
        assert "loopback" in delivery.error


# ---------------------------------------------------------------------------- traffic


class TestRateLimits:
    def test_over_the_limit_is_1001(self, sim):
        simulator, client = sim
        simulator.configure(rate_limits={"query_order": 5})
        codes = [client.call("query_order", out_order_no="NOPE")["err_no"] for _ in range(6)]
        assert codes[:5] == [2000] * 5
        assert codes[5] == 1001

    def test_none_disables_the_limit(self, sim):
        simulator, client = sim
        simulator.configure(rate_limits={"query_order": None})
        assert all(client.call("query_order", out_order_no="NOPE")["err_no"] == 2000 for _ in range(40))

    def test_sliding_window(self):
        now = [100.0]
        limiter = RateLimiter(ConfigHolder(SimulatorConfig(APP_ID, SALT, TOKEN)), monotonic=lambda: now[0])
        assert all(limiter.allow("settle") for _ in range(30))
        assert not limiter.allow("settle")
        now[0] += 0.999
        assert not limiter.allow("settle")
        now[0] += 0.001
        assert limiter.allow("settle")
        assert all(limiter.allow("create_order") for _ in range(1000))  # no documented limit


class TestFaults:
    @pytest.mark.parametrize(
        ("mode", "status"),
        [
            ("err_1000", 200),
            ("err_1001", 200),
            ("http_500", 500),
            ("http_503", 503),
            ("garbage", 200),
            ("html", 502),
        ],
    )
    def test_failing_modes_do_not_apply_the_request(self, sim, mode, status):
        simulator, client = sim
        simulator.inject_fault("create_order", mode)
        response = client.raw("create_order", client.body({"out_order_no": "F1", **_ORDER}))
        assert response.status_code == status
        if mode.startswith("err_"):
            assert response.json()["err_no"] == int(mode[4:])
        elif mode == "garbage":
            with pytest.raises(requests.JSONDecodeError):
                response.json()
        elif mode == "html":
            assert response.headers["Content-Type"].startswith("text/html")
            assert "502" in response.text
        assert client.call("query_order", out_order_no="F1")["err_no"] == 2000
        assert client.create_order("F1")["err_no"] == 0  # the fault is used up

    def test_accept_then_500_applies_the_request(self, sim):
        simulator, client = sim
        simulator.inject_fault("create_order", "accept_then_500")
        assert client.raw("create_order", client.body({"out_order_no": "F1", **_ORDER})).status_code == 500
        order_id = client.call("query_order", out_order_no="F1")["order_id"]
        assert client.call("create_order", out_order_no="F1", **_ORDER)["data"]["order_id"] == order_id

    def test_timeout_applies_late(self, sim):
        simulator, client = sim
        simulator.configure(fault_timeout_seconds=0.6)
        simulator.inject_fault("create_order", "timeout")
        with pytest.raises(requests.exceptions.ReadTimeout):
            client.raw("create_order", client.body({"out_order_no": "F1", **_ORDER}), timeout=0.2)
        deadline = time.monotonic() + 3
        while client.call("query_order", out_order_no="F1")["err_no"] != 0:
            assert time.monotonic() < deadline
            time.sleep(0.05)

    def test_count_and_wildcard(self, sim):
        simulator, client = sim
        simulator.inject_fault("*", "http_503", count=2)
        assert client.raw("query_order", client.body({"out_order_no": "X"})).status_code == 503
        assert client.raw("query_refund", client.body({"out_refund_no": "X"})).status_code == 503
        assert client.call("query_order", out_order_no="X")["err_no"] == 2000

    def test_unknown_mode_is_refused(self, sim):
        simulator, _ = sim
        with pytest.raises(ValueError, match="unknown fault mode"):
            simulator.inject_fault("create_order", "explode")
        assert "accept_then_500" in FAULT_MODES


# ---------------------------------------------------------------------------- HTTP surface


class TestHttpSurface:
    def test_methods_and_paths(self, sim):
        _, client = sim
        url = f"{client.base_url}/api/apps/ecpay/v1/query_order"
        assert client.http.get(url, timeout=5).status_code == 405
        assert client.http.put(url, json={}, timeout=5).status_code == 405
        unknown = f"{client.base_url}/api/apps/ecpay/v1/close_order"
        assert client.http.post(unknown, json={}, timeout=5).status_code == 404
        assert client.http.post(f"{client.base_url}/elsewhere", json={}).status_code == 404

    def test_control_routes(self, sim, receiver):
        simulator, client = sim
        client.create_order("A1", total_amount=1000)
        client.create_order("A2")
        assert client.control("POST", "orders/A2/cancel").status_code == 200
        assert client.control("POST", "orders/A1/pay", {"way": 1}).json()["way"] == 1
        assert client.control("POST", "orders/A1/pay").status_code == 409
        assert client.control("POST", "orders/NOPE/pay").status_code == 404
        assert client.control("POST", "orders/A2/pay", {"way": 7}).status_code == 400
        config = client.control("POST", "config", {"refund_processing_seconds": None}).json()
        assert config["refund_processing_seconds"] is None
        assert "salt" not in config
        assert "token" not in config
        assert client.control("POST", "config", {"salt": "x"}).status_code == 400
        client.refund("R1", 1)
        client.settle("S1")
        assert client.control("POST", "refunds/R1/complete", {"status": "SUCCESS"}).status_code == 200
        assert client.control("POST", "refunds/R1/complete", {"status": "SUCCESS"}).status_code == 409
        assert client.control("POST", "settlements/S1/complete", {"status": "FAIL"}).status_code == 200
        now = client.control("POST", "clock/advance", {"seconds": 20}).json()["now"]
        assert now == START + 20
        fault = {"endpoint": "query_order", "mode": "html"}
        assert client.control("POST", "faults", fault).status_code == 200
        assert client.raw("query_order", client.body({"out_order_no": "A1"})).status_code == 502
        assert client.control("POST", "faults", {"endpoint": "nope", "mode": "html"}).status_code == 400
        simulator.wait_for_deliveries(3)
        state = client.control("GET", "state").json()
        assert state["orders"]["A1"]["status"] == "SUCCESS"
        assert state["orders"]["A2"]["cashier_closed_at"]
        assert state["refunds"]["R1"]["status"] == "SUCCESS"
        assert state["settlements"]["S1"]["status"] == "FAIL"
        assert SALT not in json.dumps(state, ensure_ascii=False)
        assert TOKEN not in json.dumps(state)
        deliveries = client.control("GET", "deliveries").json()
        assert {d["type"] for d in deliveries} == {"payment", "refund", "settle"}
        assert set(deliveries[0]) >= {"type", "url", "body", "http_status", "attempt", "sim_time"}
        assert client.control("GET", "health").json()["ok"] is True
        assert client.control("POST", "nowhere", {}).status_code == 404


# ---------------------------------------------------------------------------- lifecycle


def _sim_threads() -> set[threading.Thread]:
    return set(threading.enumerate())


def _threads_left(before: set[threading.Thread], grace: float = 2.0) -> set[threading.Thread]:
    """Threads started since ``before`` that are still alive after a short grace period: a request
    thread of the test's own receiver may take a moment to finish; a leaked thread never does."""
    deadline = time.monotonic() + grace
    while (left := _sim_threads() - before) and time.monotonic() < deadline:
        time.sleep(0.02)
    return left


def test_stop_leaves_nothing_running(receiver):
    before = _sim_threads()
    config = SimulatorConfig(APP_ID, SALT, TOKEN, speed=0, deliver_to={CALLBACK_HOST: receiver.url})
    simulator = DouyinSimulator(config)
    simulator.start()
    port = simulator.port
    client = Client(simulator.base_url)
    client.create_order("A1")
    simulator.pay("A1")
    # A request held by the "timeout" fault must not keep stop() waiting for it.
    simulator.configure(fault_timeout_seconds=30)
    simulator.inject_fault("query_order", "timeout")
    outcome: list[BaseException] = []

    def hang() -> None:
        try:
            client.raw("query_order", {}, timeout=10)
        except requests.RequestException as exc:
            outcome.append(exc)

    hanging = threading.Thread(target=hang)
    hanging.start()
    time.sleep(0.2)
    started = time.monotonic()
    simulator.stop()
    assert time.monotonic() - started < 3
    hanging.join(5)
    assert len(outcome) == 1  # the held request was cut off, not answered late
    simulator.stop()  # idempotent
    assert _threads_left(before) == set()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_context_manager_and_base_url():
    before = _sim_threads()
    with DouyinSimulator(SimulatorConfig(APP_ID, SALT, TOKEN)) as simulator:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", simulator.base_url)
        assert simulator._server is not None
        assert simulator._server.server_address[0] == "127.0.0.1"
        with pytest.raises(RuntimeError):
            simulator.start()
    assert _threads_left(before) == set()


def test_secrets_stay_out_of_repr():
    text = repr(SimulatorConfig(APP_ID, SALT, TOKEN))
    assert SALT not in text
    assert TOKEN not in text


def test_config_rejects_nonsense():
    with pytest.raises(ValueError, match="refund_outcome"):
        SimulatorConfig(APP_ID, SALT, TOKEN, refund_outcome="MAYBE")
    with pytest.raises(ValueError, match="drop"):
        SimulatorConfig(APP_ID, SALT, TOKEN, drop=frozenset({"lunch"}))
    with pytest.raises(ValueError, match="rate limit"):
        SimulatorConfig(APP_ID, SALT, TOKEN, rate_limits={"query_order": 0})


class TestClock:
    def test_speed_and_advance(self):
        real = [0.0]
        clock = SimClock(speed=10, start=1000.0, monotonic=lambda: real[0])
        real[0] = 2.0
        assert clock.now() == 1020.0
        assert clock.advance(5) == 1025.0
        clock.set_speed(0)  # continuous across a speed change
        real[0] = 100.0
        assert clock.now() == 1025.0
        assert clock.real_seconds_until(1030.0) is None
        clock.set_speed(2)
        assert clock.real_seconds_until(1030.0) == 2.5
        assert clock.real_seconds_until(10.0) == 0.0
        with pytest.raises(ValueError, match="only moves forward"):
            clock.advance(-1)


def test_delivery_record_is_a_dataclass(sim, receiver):
    simulator, client = sim
    paid_order(simulator, client)
    simulator.advance(1)
    (delivery,) = simulator.wait_for_deliveries(1)
    assert isinstance(delivery, Delivery)
    assert delivery.type == "payment"
    with pytest.raises(TimeoutError):
        simulator.wait_for_deliveries(2, timeout=0.1)


def test_command_line_entry_point():
    repo = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "DOUYIN_SIM_SALT": SALT,
        "DOUYIN_SIM_TOKEN": TOKEN,
        "PYTHONPATH": os.pathsep.join([str(repo / "layers" / "douyin_pay"), str(repo)]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "local.douyin_sim", "--app-id", APP_ID, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=repo,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        client = Client(url)
        assert client.create_order("A1")["err_no"] == 0
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    no_secrets = {k: v for k, v in env.items() if not k.startswith("DOUYIN_SIM_")}
    failed = subprocess.run(
        [sys.executable, "-m", "local.douyin_sim", "--app-id", APP_ID],
        capture_output=True,
        text=True,
        env=no_secrets,
        cwd=repo,
        timeout=20,
        check=False,
    )
    assert failed.returncode == 2
    assert "DOUYIN_SIM_SALT" in failed.stderr
