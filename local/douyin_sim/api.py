"""The ecpay v1 request pipeline, without HTTP: decode → identify → verify sign → dispatch.

Order of checks (documented here because the platform does not publish it) [I]:
body must be a JSON object (2010) → app_id (2042; 2020 on the return endpoints, the only code
documented there, §3.8) → thirdparty_id (2047) → sign (2008) → the endpoint's field rules and
business rules (platform.py). The app_id comes first because it selects the secret; a failure up
to and including the sign check never spends a business number (§2 concerns accepted requests).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from .config import ECPAY_ENDPOINTS, ConfigHolder
from .platform import Platform
from .signatures import request_sign_matches
from .validation import ERR_PARAM, RawNumber, Refusal

ERR_SIGN = 2008  # §4
ERR_APP_ID = 2042  # §4
ERR_APP_ID_RETURN = 2020  # §3.8 query_return: "illegal app_id"; applied to create_return too [I]
ERR_THIRDPARTY = 2047  # §4, §7.4
ERR_NOT_AUTHORISED = 2048  # §4: provider not authorised for this mini-app

_RETURN_ENDPOINTS = frozenset({"create_return", "query_return"})


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def decode_body(raw: bytes, content_type: str | None) -> dict[str, Any]:
    """The request body as a dict; numbers with a fraction/exponent stay as their text."""
    if "application/json" not in (content_type or "").lower():
        raise Refusal(ERR_PARAM, "参数错误 Content-Type must be application/json")
    try:
        body = json.loads(raw.decode("utf-8"), parse_float=RawNumber, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError):
        raise Refusal(ERR_PARAM, "参数错误 the request body is not valid UTF-8 JSON") from None
    if not isinstance(body, dict):
        raise Refusal(ERR_PARAM, "参数错误 the request body must be a JSON object")
    return body


class EcpayApi:
    def __init__(
        self,
        config: ConfigHolder,
        platform: Platform,
        others: Mapping[str, Callable[[Mapping[str, Any]], dict[str, Any]]] | None = None,
    ) -> None:
        self._config = config
        self._platform = platform
        # Endpoints signed the same way but served by another module (funds.py's /saas/ ones).
        self._others = dict(others or {})

    def handle(self, endpoint: str, raw: bytes, content_type: str | None) -> dict[str, Any]:
        """The JSON answer of ``POST /api/apps/ecpay/v1/<endpoint>`` (always an err_no envelope)."""
        if endpoint not in ECPAY_ENDPOINTS and endpoint not in self._others:
            raise KeyError(endpoint)
        try:
            body = decode_body(raw, content_type)
            self._authenticate(endpoint, body)
            payload = self._others.get(endpoint, getattr(self._platform, endpoint, None))(body)
        except Refusal as refusal:
            return {"err_no": refusal.err_no, "err_tips": refusal.err_tips}
        # Every answer carries err_no / err_tips (§2); success has err_tips "" (doc examples).
        return {"err_no": 0, "err_tips": "", **payload}

    def _authenticate(self, endpoint: str, body: Mapping[str, Any]) -> None:
        cfg = self._config.get()
        if body.get("app_id") != cfg.app_id:
            code = ERR_APP_ID_RETURN if endpoint in _RETURN_ENDPOINTS else ERR_APP_ID
            raise Refusal(code, "app_id 无效 invalid app_id")
        thirdparty_id = body.get("thirdparty_id")
        if cfg.thirdparty_id:
            if thirdparty_id != cfg.thirdparty_id:
                raise Refusal(ERR_THIRDPARTY, "thirdparty_id 无效 invalid or missing thirdparty_id")
        elif thirdparty_id not in (None, ""):
            # The app is not operated by a service provider, so no provider is authorised for it.
            raise Refusal(ERR_NOT_AUTHORISED, "服务商未获得小程序授权 thirdparty_id not authorised")
        sign = body.get("sign")
        if not isinstance(sign, str) or not sign:
            raise Refusal(ERR_SIGN, "签名校验异常,请使用正确的签名 sign is missing")
        # Checked on the body as decoded, each value printed as the Go platform prints it
        # (signatures.py). A float, bool or null signed that way goes on to the field rules
        # (2010); signed any other way (as the layer would refuse to), it is 2008 here.
        if not request_sign_matches(body, cfg.salt, sign):
            raise Refusal(ERR_SIGN, "签名校验异常,请使用正确的签名")
