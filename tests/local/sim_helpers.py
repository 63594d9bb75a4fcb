"""What the simulator tests share: the test constants, a loopback callback receiver, and a client
that signs and posts requests the way the SDK does, and pushes order-sync records the way the
contract says (the fixtures are in conftest.py)."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import requests

from douyin_pay.ecpay.signing import request_sign
from local.douyin_sim import DouyinSimulator

APP_ID = "tt07e3715e98c9aac0"
SALT = "sim-test-salt"
TOKEN = "sim-test-token"
APP_SECRET = "sim-test-app-secret"
PROVIDER = "tta4bad2000001234"
CALLBACK_HOST = "https://callback.localhost"
NOTIFY_URL = CALLBACK_HOST + "/douyin/notify"
START = 1_750_000_000.0  # a fixed simulated start time
DAY = 86_400
# The default settlement cycle: an order is settleable 7 days after its payment (settle_cycle_days).
SETTLE_CYCLE = 7 * DAY
_ORDER = {"total_amount": 100, "subject": "s", "body": "b", "valid_time": 900}
TOKEN_PATH = "/api/apps/v2/token"
PUSH_PATH = "/api/apps/order/v2/push"
# The contract's STATUS_TEXT, written out here rather than taken from the simulator.
STATUS_TEXT = {0: "待支付", 1: "已支付", 2: "已取消", 4: "已核销", 5: "退款中", 6: "已退款", 8: "退款失败"}


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
        # update_time of the pushes that name none: 13-digit ms, rising, from the simulated start.
        self._update_times = itertools.count(int(START * 1000))

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

    # ------------------------------------------------------------------ order sync (unsigned JSON)

    def post(self, path: str, body: Any, timeout: float = 5) -> requests.Response:
        return self.http.post(f"{self.base_url}{path}", json=body, timeout=timeout)

    def token_answer(self, **overrides: Any) -> dict[str, Any]:
        """POST /api/apps/v2/token; a None override leaves that field out."""
        body = {"appid": self.app_id, "secret": APP_SECRET, "grant_type": "client_credential", **overrides}
        response = self.post(TOKEN_PATH, {k: v for k, v in body.items() if v is not None})
        assert response.status_code == 200, response.text
        return response.json()

    def access_token(self) -> str:
        answer = self.token_answer()
        assert answer["err_no"] == 0, answer
        return answer["data"]["access_token"]

    def push(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self.post(PUSH_PATH, body)
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"].startswith("application/json")
        return response.json()

    def push_status(
        self, out_order_no: str, status: int, *, update_time: int | None = None, access_token: str | None = None
    ) -> dict[str, Any]:
        """Push ``status`` for the order as the bundle would (a fresh token unless one is given)."""
        if update_time is None:
            update_time = next(self._update_times)
        body = push_body(access_token or self.access_token(), out_order_no, status, update_time)
        return self.push(body)


def item(**overrides: Any) -> dict[str, Any]:
    fields = {
        "item_code": "SKU-1",
        "img": "https://img.example.com/p/1.png",
        "title": "测试商品",
        "sub_title": "测试商品详情",
        "amount": 1,
        "price": 12800,
    }
    return {**fields, **overrides}


def order_detail(out_order_no: str, order_status: int, **overrides: Any) -> dict[str, Any]:
    fields = {
        "order_id": out_order_no,
        "create_time": int(START * 1000),
        "status": STATUS_TEXT[order_status],
        "amount": 1,
        "total_price": 12800,
        "detail_url": "pages/order/detail?id=" + out_order_no,
        "item_list": [item()],
    }
    return {**fields, **overrides}


def push_body(token: str, out_order_no: str, order_status: int, update_time: int, **overrides: Any) -> dict[str, Any]:
    """A valid push; ``order_detail`` is sent as the JSON string the contract asks for."""
    detail = json.dumps(order_detail(out_order_no, order_status), ensure_ascii=False, separators=(",", ":"))
    fields = {
        "access_token": token,
        "app_name": "douyin",
        "open_id": "_000open-id-of-the-buyer",
        "order_type": 0,
        "order_status": order_status,
        "update_time": update_time,
        "order_detail": detail,
    }
    return {**fields, **overrides}


def paid_order(sim: DouyinSimulator, client: Client, no: str = "A1", amount: int = 10000) -> dict[str, Any]:
    assert client.create_order(no, total_amount=amount)["err_no"] == 0
    return sim.pay(no)


def push_paid(client: Client, no: str = "A1") -> None:
    """Sync the order as paid (order_status 1), which settle requires (switch require_order_sync)."""
    answer = client.push_status(no, 1)
    assert answer["err_code"] == 0, answer


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
