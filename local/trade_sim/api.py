"""The request pipelines, without HTTP.

* ``POST /oauth/client_token/`` (§2.3): JSON body → ``{"data":{…,"error_code"},"message"}``,
  always HTTP 200.
* ``POST /api/trade_basic/v1/developer/<endpoint>/`` (§4): the ``access-token`` header (28001003
  invalid / 28001008 expired, HTTP 200) → a JSON object body (10000) → the endpoint's field and
  business rules (platform.py). Every answer is ``{"err_no","err_msg","log_id","data"}`` with a
  fresh ``log_id``; ``data`` is null on an error. settle_create answers its own errors with
  ``settle_error_http_status`` (400 by default); a token error is answered before any endpoint
  code runs, so it is HTTP 200 there too.
* tt.requestOrder (§3.2, §3.3), for the client stand-in: byteAuthorization (11004) → ``data``
  (10000) → the order. Answers exactly what the client API gives: ``{orderId, itemOrderList,
  logId}`` or ``{errNo, errMsg, errLogId}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from local.douyin_sim.clock import SimClock

from . import crypto
from .config import ENDPOINTS, ConfigHolder
from .platform import Platform
from .records import log_id
from .tokens import ERR_TOKEN_EXPIRED
from .validation import ERR_PARAM, Refusal, parse_order_data

ERR_SIGNATURE = 11004  # tt.requestOrder "签名参数…" (OD-RO, row cut off)
ERR_RATE_LIMITED = 28003018  # the open platform's "请求频率过高" (status-code page)
ERR_SYSTEM = 28001005  # "系统繁忙,此时请开发者稍候再试"

TIMESTAMP_MAX_AGE = 3600  # §3.3: requests older than 1 hour are rejected [S]
TIMESTAMP_MAX_AHEAD = 300  # [I] a clock 5 minutes ahead is tolerated, no more
CLIENT_PLATFORMS = ("android", "ios")


def _decode_object(raw: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return body if isinstance(body, dict) else None


class TradeApi:
    def __init__(self, config: ConfigHolder, clock: SimClock, platform: Platform) -> None:
        self._config = config
        self._clock = clock
        self._platform = platform

    # ------------------------------------------------------------------ client_token

    def client_token(self, raw: bytes) -> dict[str, Any]:
        body = _decode_object(raw)
        error_code, data = self._platform.client_token(body if body is not None else {})
        if error_code == 0:
            ok = {"access_token": data["access_token"], "description": "", "error_code": 0}
            return {"data": {**ok, "expires_in": data["expires_in"]}, "message": "success"}
        return {"data": {"description": data["description"], "error_code": error_code}, "message": "error"}

    # ------------------------------------------------------------------ trade_basic

    def envelope(self, err_no: int, err_msg: str, data: Any = None) -> dict[str, Any]:
        return {"err_no": err_no, "err_msg": err_msg, "log_id": log_id(self._clock.now()), "data": data}

    def handle(self, endpoint: str, raw: bytes, headers: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON answer) of ``POST /api/trade_basic/v1/developer/<endpoint>/``."""
        if endpoint not in ENDPOINTS:
            raise KeyError(endpoint)
        token = headers.get("access-token") or ""
        problem = self._platform.check_token(token) if token else None
        if not token or problem is not None:
            # [I] the code for a stale token is not published for trade_basic (§10.11).
            if problem == ERR_TOKEN_EXPIRED:
                return 200, self.envelope(problem, "access_token expired, refresh it")
            return 200, self.envelope(28001003, "access_token invalid")
        try:
            content_type = (headers.get("content-type") or "").lower()
            if "application/json" not in content_type:
                raise Refusal(ERR_PARAM, "参数错误 content-type must be application/json")
            body = _decode_object(raw)
            if body is None:
                raise Refusal(ERR_PARAM, "参数错误 the body must be a JSON object")
            data = getattr(self._platform, endpoint)(body)
        except Refusal as refusal:
            status = self._config.get().settle_error_http_status if endpoint == "settle_create" else 200
            return status, self.envelope(refusal.err_no, refusal.err_msg)
        # A real production success had err_msg "" (trade-spec §4.1): never rely on "success".
        return 200, self.envelope(0, "", data)

    # ------------------------------------------------------------------ tt.requestOrder

    def request_order(
        self, data: object, byte_authorization: object, client_platform: str = "android"
    ) -> dict[str, Any]:
        """What tt.requestOrder hands the mini-program (success or failure object)."""
        if client_platform not in CLIENT_PLATFORMS:
            raise ValueError(f"client_platform must be one of {CLIENT_PLATFORMS}")
        try:
            if not isinstance(data, str) or not data:
                raise Refusal(ERR_PARAM, "参数错误 data must be a non-empty string")
            self._verify_authorization(data, byte_authorization)
            order_data = parse_order_data(data, client_platform)
            answer = self._platform.create_order(order_data, data, client_platform)
        except Refusal as refusal:
            return {"errNo": refusal.err_no, "errMsg": refusal.err_msg, "errLogId": log_id(self._clock.now())}
        return {**answer, "logId": log_id(self._clock.now())}

    def _verify_authorization(self, data: str, byte_authorization: object) -> None:
        cfg = self._config.get()
        try:
            auth = crypto.parse_byte_authorization(byte_authorization)  # type: ignore[arg-type]
        except crypto.AuthorizationError as exc:
            raise Refusal(ERR_SIGNATURE, f"签名参数错误 byteAuthorization: {exc}") from None
        if auth["appid"] != cfg.app_id:
            raise Refusal(ERR_SIGNATURE, f"签名参数错误 appid {auth['appid']} is not this app")
        public_key = cfg.app_public_keys.get(auth["key_version"])
        if public_key is None:
            raise Refusal(ERR_SIGNATURE, f"签名参数错误 key_version {auth['key_version']} is not a registered app key")
        timestamp = auth["timestamp"]
        if not timestamp.isascii() or not timestamp.isdigit():
            raise Refusal(ERR_SIGNATURE, "签名参数错误 timestamp must be unix seconds (digits)")
        age = self._clock.now() - int(timestamp)
        if age > TIMESTAMP_MAX_AGE:
            raise Refusal(ERR_SIGNATURE, f"签名参数错误 timestamp is {int(age)} s old (more than 1 hour)")
        if age < -TIMESTAMP_MAX_AHEAD:
            raise Refusal(ERR_SIGNATURE, f"签名参数错误 timestamp is {int(-age)} s in the future")
        message = crypto.request_order_message(timestamp, auth["nonce_str"], data)
        if not crypto.verify(public_key, message, auth["signature"]):
            raise Refusal(ERR_SIGNATURE, "签名校验失败 signature does not verify with the app public key")
