"""What the trade_sim tests share: constants, a test-only RSA signer for byteAuthorization, a
callback receiver that records headers and raw bodies, and an HTTP client for the platform routes.

The signer and the callback verifier use ``cryptography`` directly, independent of both the SDK
and the simulator's own crypto module, so neither can agree with itself.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from local.rsa_keys import new_key as new_key
from local.rsa_keys import public_pem as public_pem
from local.trade_sim import TradeSimulator

APP_ID = "tt5a1d9f3e2b7c4a60"
CLIENT_SECRET = "trade-sim-test-secret"
START = 1_750_000_000.0
CALLBACK_HOST = "https://callback.localhost"
NOTIFY_URL = CALLBACK_HOST + "/trade/notify"
OFFICIAL_ORDER = ("appid", "nonce_str", "timestamp", "key_version", "signature")
NONCE = "Zx9PqL2mN4vB7cR1tY6uW3eA8sD5fG0h"


APP_KEY = new_key()  # the developer's app key, registered as key_version "1"
APP_KEY_2 = new_key()  # a second app key, for rotation
STRANGER_KEY = new_key()  # never registered anywhere
PLATFORM_KEY = new_key()  # the simulator's platform key in the fixtures


# ---------------------------------------------------------------------------- the test-only signer


def rsa_sign(private_pem: str, message: bytes) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_verify(public: str, message: bytes, signature_b64: str) -> bool:
    key = serialization.load_pem_public_key(public.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    try:
        key.verify(base64.b64decode(signature_b64), message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def byte_authorization(
    data: str,
    timestamp: int,
    *,
    key: str = APP_KEY,
    appid: str = APP_ID,
    key_version: str = "1",
    nonce: str = NONCE,
    quoted: bool = False,
    order: tuple[str, ...] = OFFICIAL_ORDER,
) -> str:
    """``SHA256-RSA2048 appid=…,nonce_str=…,timestamp=…,key_version=…,signature=…`` (§3.3)."""
    signature = rsa_sign(key, f"POST\n/requestOrder\n{timestamp}\n{nonce}\n{data}\n".encode())
    values = {"appid": appid, "nonce_str": nonce, "timestamp": str(timestamp), "key_version": key_version}
    values["signature"] = signature
    pair = '{}="{}"' if quoted else "{}={}"
    return "SHA256-RSA2048 " + ",".join(pair.format(k, values[k]) for k in order)


def order_data(out_order_no: str = "O1", **overrides: Any) -> dict[str, Any]:
    """A valid ``data`` object (a 401 内容消费 item of 100 fen); overrides replace top-level keys."""
    sku = {
        "skuId": "sku-1",
        "price": 100,
        "quantity": 1,
        "title": "会员月卡",
        "imageList": ["https://img.example.com/a.png"],
        "type": 401,
        "tagGroupId": "tag_group_7272625659888041996",
    }
    data: dict[str, Any] = {
        "skuList": [sku],
        "outOrderNo": out_order_no,
        "totalAmount": 100,
        "payExpireSeconds": 900,
        "orderEntrySchema": {"path": "pages/order/detail", "params": json.dumps({"id": out_order_no})},
    }
    data.update(overrides)
    return data


def with_sku(**changes: Any) -> dict[str, Any]:
    """The valid ``data`` with the one skuList item changed (a value of None removes the key)."""
    data = order_data()
    sku = {**data["skuList"][0], **changes}
    data["skuList"] = [{k: v for k, v in sku.items() if v is not None}]
    return data


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------------------- callback receiver


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.raw)

    @property
    def msg(self) -> dict[str, Any]:
        return json.loads(self.body["msg"])


def default_answer(received: Received) -> tuple[int, bytes]:
    body = received.body
    if body.get("type") == "pre_create_refund":
        msg = json.loads(body["msg"])
        data = {"out_refund_no": "R-" + msg["refund_id"]}
        return 200, dumps({"err_no": 0, "err_tips": "success", "data": data}).encode()
    return 200, b'{"err_no":0,"err_tips":"success"}'


@dataclass
class Receiver:
    """A loopback server standing in for the developer's callback endpoint."""

    url: str = ""
    answer: Callable[[Received], tuple[int, bytes]] = default_answer
    received: list[Received] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def wait(self, n: int, timeout: float = 5.0) -> list[Received]:
        with self.cond:
            arrived = self.cond.wait_for(lambda: len(self.received) >= n, timeout)
            assert arrived, f"{len(self.received)} of {n} callbacks"
            return list(self.received)

    def of_type(self, type_: str) -> list[Received]:
        with self.cond:
            return [r for r in self.received if r.body["type"] == type_]


def verifies(received: Received, public: str, raw: bytes | None = None) -> bool:
    """§5.2 with cryptography directly: ts\\nnonce\\nRAW_BODY\\n against Byte-Signature."""
    h = {k.lower(): v for k, v in received.headers.items()}
    body = received.raw if raw is None else raw
    message = h["byte-timestamp"].encode() + b"\n" + h["byte-nonce-str"].encode() + b"\n" + body + b"\n"
    return rsa_verify(public, message, h["byte-signature"])


# ---------------------------------------------------------------------------- the developer's client


class TradeClient:
    """Talks to the simulator over loopback HTTP as a developer server and a mini-program would."""

    def __init__(self, sim: TradeSimulator) -> None:
        self.sim = sim
        self.base_url = sim.base_url
        self.http = requests.Session()
        self.http.trust_env = False
        self._token: str | None = None

    # -- client_token
    def fetch_token(self, **overrides: Any) -> dict[str, Any]:
        body = {"grant_type": "client_credential", "client_key": APP_ID, "client_secret": CLIENT_SECRET, **overrides}
        response = self.http.post(self.base_url + "/oauth/client_token/", json=body)
        assert response.status_code == 200
        return response.json()

    @property
    def token(self) -> str:
        if self._token is None:
            self._token = self.fetch_token()["data"]["access_token"]
        return self._token

    # -- trade_basic
    def post(self, endpoint: str, body: Any, *, token: str | None = None) -> requests.Response:
        headers = {"access-token": self.token if token is None else token}
        url = f"{self.base_url}/api/trade_basic/v1/developer/{endpoint}/"
        return self.http.post(url, data=dumps(body).encode(), headers={**headers, "Content-Type": "application/json"})

    def call(self, endpoint: str, body: Any = None, **kwargs: Any) -> dict[str, Any]:
        response = self.post(endpoint, {} if body is None else body, **kwargs)
        answer = response.json()
        answer["_http"] = response.status_code
        return answer

    # -- the mini-program
    def now(self) -> int:
        return int(self.sim.clock.now())

    def request_order(
        self, data: dict[str, Any] | str, *, auth: str | None = None, client_platform: str = "android", **sign: Any
    ) -> dict[str, Any]:
        text = data if isinstance(data, str) else dumps(data)
        if auth is None:
            auth = byte_authorization(text, sign.pop("timestamp", self.now()), **sign)
        body = {"data": text, "byteAuthorization": auth, "client_platform": client_platform}
        response = self.http.post(self.base_url + "/_sim/client/request_order", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def item_of(self, order_id: str) -> str:
        return self.call("order_query", {"order_id": order_id})["data"]["item_order_list"][0]["item_order_id"]

    def refund(self, order_id: str, out_refund_no: str = "R1", amount: int = 100, **overrides: Any) -> dict[str, Any]:
        body = refund_body(order_id, self.item_of(order_id), out_refund_no, amount, **overrides)
        return self.call("refund_create", body)

    def control(self, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        return self.http.post(self.base_url + "/_sim/" + path, json=body or {})

    def create_order(self, out_order_no: str = "O1", **overrides: Any) -> str:
        answer = self.request_order(order_data(out_order_no, **overrides))
        assert "orderId" in answer, answer
        return answer["orderId"]

    def paid_order(self, out_order_no: str = "O1", pay_channel: int = 10, **overrides: Any) -> str:
        order_id = self.create_order(out_order_no, **overrides)
        response = self.control("client/get_order_payment", {"orderId": order_id, "pay_channel": pay_channel})
        assert response.status_code == 200, response.text
        return order_id


def refund_body(
    order_id: str, item_order_id: str, out_refund_no: str = "R1", amount: int = 100, **overrides: Any
) -> dict[str, Any]:
    """A valid refund_create body; overrides replace keys (a value of None removes the key)."""
    body: dict[str, Any] = {
        "order_id": order_id,
        "out_refund_no": out_refund_no,
        "refund_total_amount": amount,
        "item_order_detail": [{"item_order_id": item_order_id, "refund_amount": amount}],
        "refund_reason": [{"code": 101, "text": "不想要了"}],
        "order_entry_schema": {"path": "pages/refund/detail", "params": json.dumps({"no": out_refund_no})},
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}
