"""The trade_basic server client: one method per endpoint, validated, typed (trade-spec §4).

Calls are ``POST {base}/api/trade_basic/v1/developer/<name>/`` with ``access-token`` and a JSON body
(no app_id, no request signature, §4.1). Each body is serialised once and those exact bytes are sent
on every attempt. The answer's JSON is read whatever the HTTP status (errors may come as HTTP 400
with an ``err_no``, §9 pitfall 10):

* ``err_no`` ≠ 0 → :class:`PlatformError` (``log_id`` set; retryable for 13000 and 23000, "system
  error, retry with the same parameters", §4.2);
* no readable answer (non-JSON 4xx/5xx, timeout, connection failure) → :class:`PlatformTransportError`,
  retryable: for a mutation the outcome is unknown, and only the identical request may be repeated.

Queries retry retryable failures up to ``retry.query_attempts``; mutations up to
``retry.mutation_attempts``, resending the identical bytes. A rejected token is refreshed once and
the call repeated once, whatever its kind, since a request refused for its token was not applied.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from .._http import DEFAULT_RETRY, DEFAULT_TIMEOUT, NO_RETRY, RetryPolicy, SessionOwner, check_base_url, check_timeout
from ..errors import ConfigurationError, PlatformError, PlatformTransportError, ValidationError
from . import validation as rules
from .endpoints import API_PREFIX, PRODUCTION_BASE_URL, api_path
from .request_fields import check_refund_fields, check_settle_fields
from .results import (
    CpsInfo,
    RefundCreated,
    SettleCreated,
    TradeOrder,
    TradeRefund,
    TradeSettlement,
    log_id_of,
    refunds_from_response,
    settlements_from_response,
)
from .tokens import TokenSource
from .transport import Reply, post_json

__all__ = [
    "API_PREFIX",
    "AUTH_ERR_NOS",
    "DEFAULT_TIMEOUT",
    "NO_RETRY",
    "PRODUCTION_BASE_URL",
    "RETRYABLE_ERR_NOS",
    "RetryPolicy",
    "TradeClient",
]

# 13000 "system error: retry", 23000 "system error: retry with the same parameters" (§4.2 [S]).
RETRYABLE_ERR_NOS = frozenset({13000, 23000})
# The err_no of a stale or invalid access-token is undocumented for trade_basic (§10.11 [?]). These
# two codes are an assumption to be confirmed in production, not a documented fact; they and HTTP 401
# are treated as "token rejected". Any other refusal is left as it is (never a refresh loop: one
# refresh per call at most).
AUTH_ERR_NOS = frozenset({28001003, 28001008})
MAX_DENY_MESSAGE_BYTES = 512  # §4.7

AUDIT_APPROVE, AUDIT_DENY = 1, 2  # refund_audit_status on the wire (§4.7)


def _is_token_rejected(error: PlatformError) -> bool:
    return error.err_no in AUTH_ERR_NOS or error.http_status == 401


def _interpret(endpoint: str, reply: Reply) -> Mapping[str, Any]:
    """The answer's payload if err_no is 0; otherwise the typed error it means."""
    payload, status = reply.payload, reply.status
    err_no = payload.get("err_no") if isinstance(payload, dict) else None
    if isinstance(err_no, bool) or not isinstance(err_no, int):
        if status == 401:
            raise PlatformError(None, f"{endpoint}: HTTP 401", http_status=401, retryable=False, log_id=reply.log_id)
        what = f"HTTP {status}" if status != 200 else "response has no err_no"
        raise PlatformTransportError(f"{endpoint}: {what}", http_status=status, log_id=reply.log_id)
    log_id = log_id_of(payload) or reply.log_id
    if err_no != 0:
        message = payload.get("err_msg")
        retryable = err_no in RETRYABLE_ERR_NOS
        text = message if isinstance(message, str) else ""
        raise PlatformError(err_no, text, http_status=status, retryable=retryable, log_id=log_id)
    if status != 200:
        # err_no 0 with an error status contradicts itself: the outcome is unknown.
        raise PlatformTransportError(f"{endpoint}: HTTP {status} with err_no 0", http_status=status, log_id=log_id)
    if log_id is not None and log_id_of(payload) is None:
        payload = {**payload, "log_id": log_id}
    return payload


class TradeClient(SessionOwner):
    """Client of the 通用交易系统 (trade_basic v1) server API.

    ``tokens`` hands out the client_token (:class:`~douyin_pay.trade.InMemoryTokenSource`, or the
    bundle's shared source); ``app_id`` names the app in ``repr`` and logs only: the token identifies
    it to the platform.
    """

    def __init__(
        self,
        app_id: str,
        tokens: TokenSource,
        *,
        base_url: str = PRODUCTION_BASE_URL,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not isinstance(app_id, str) or not 0 < len(app_id) <= 64:
            raise ConfigurationError("app_id must be a non-empty string of at most 64 characters")
        if not callable(getattr(tokens, "token", None)):
            raise ConfigurationError("tokens must be a TokenSource (an object with a token() method)")
        self.app_id = app_id
        self.base_url = check_base_url(base_url)
        self.timeout = check_timeout(timeout)
        self.retry = retry
        self._tokens = tokens
        self._owns_session = session is None
        self._session = session or requests.Session()
        self._sleep = sleep

    def __repr__(self) -> str:  # never show a token
        return f"TradeClient(app_id={self.app_id!r}, base_url={self.base_url!r})"

    # -- orders ---------------------------------------------------------------------------------

    def order_query(self, *, order_id: str | None = None, out_order_no: str | None = None) -> TradeOrder:
        """查询订单信息 by exactly one of ``order_id`` / ``out_order_no`` (§4.3)."""
        body = _one_key([("order_id", order_id), ("out_order_no", out_order_no)])
        return self._call("order_query", body, TradeOrder.from_response, query=True)

    def query_cps(self, *, order_id: str | None = None, out_order_no: str | None = None) -> CpsInfo:
        """查询CPS信息 by exactly one of ``order_id`` / ``out_order_no`` (§4.4)."""
        body = _one_key([("order_id", order_id), ("out_order_no", out_order_no)])
        return self._call("query_cps", body, CpsInfo.from_response, query=True)

    # -- refunds --------------------------------------------------------------------------------

    def refund_create(self, fields: Mapping[str, object]) -> RefundCreated:
        """发起退款 with fields from :func:`~douyin_pay.trade.refund_fields` (re-checked here).

        Acceptance only. On a timeout never make up a new out_refund_no: ask :meth:`refund_query`
        by the same one first (§4.5).
        """
        return self._call("refund_create", check_refund_fields(fields), RefundCreated.from_response, query=False)

    def refund_query(
        self, *, refund_id: str | None = None, out_refund_no: str | None = None, order_id: str | None = None
    ) -> tuple[TradeRefund, ...]:
        """查询退款 by exactly one of ``refund_id`` / ``out_refund_no`` / ``order_id`` (§4.6)."""
        body = _one_key([("refund_id", refund_id), ("out_refund_no", out_refund_no), ("order_id", order_id)])
        return self._call("refund_query", body, refunds_from_response, query=True)

    def refund_audit_callback(self, *, refund_id: str, approve: bool, deny_message: str | None = None) -> str:
        """同步退款审核结果: approve or deny a refund that needs audit (§4.7). Returns the log_id.

        Denying needs ``deny_message`` (≤512 bytes). Unanswered audits are approved after 72 h.
        """
        if not isinstance(approve, bool):
            raise ValidationError("approve", "must be true or false", code="invalid_flag")
        body: dict[str, object] = {
            "refund_id": rules.business_no("refund_id", refund_id),
            "refund_audit_status": AUDIT_APPROVE if approve else AUDIT_DENY,
        }
        if approve and deny_message is not None:
            raise ValidationError("deny_message", "is only sent when denying", code="conflicting_fields")
        if not approve:
            if deny_message is None:
                raise ValidationError("deny_message", "is required to deny a refund", code="missing_field")
            body["deny_message"] = rules.text("deny_message", deny_message, max_bytes=MAX_DENY_MESSAGE_BYTES)
        return self._call("refund_audit_callback", body, lambda payload: log_id_of(payload) or "", query=False)

    # -- settlements ----------------------------------------------------------------------------

    def settle_create(self, fields: Mapping[str, object]) -> SettleCreated:
        """发起分账 with fields from :func:`~douyin_pay.trade.settle_fields` (re-checked here).

        23111 means the out_settle_no exists: ask :meth:`settle_query` (§4.2).
        """
        return self._call("settle_create", check_settle_fields(fields), SettleCreated.from_response, query=False)

    def settle_query(
        self,
        *,
        settle_id: str | None = None,
        order_id: str | None = None,
        out_settle_no: str | None = None,
        out_order_no: str | None = None,
    ) -> tuple[TradeSettlement, ...]:
        """查询分账 by exactly one of ``settle_id`` / ``order_id`` / ``out_settle_no`` / ``out_order_no`` (§4.9)."""
        body = _one_key(
            [
                ("settle_id", settle_id),
                ("order_id", order_id),
                ("out_settle_no", out_settle_no),
                ("out_order_no", out_order_no),
            ]
        )
        return self._call("settle_query", body, settlements_from_response, query=True)

    # -- transport ------------------------------------------------------------------------------

    def _call[T](
        self, endpoint: str, body: Mapping[str, object], parse: Callable[[Mapping[str, Any]], T], *, query: bool
    ) -> T:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
        attempts = self.retry.query_attempts if query else self.retry.mutation_attempts
        token = self._tokens.token()
        refreshed = False
        failures = 0
        while True:
            try:
                return parse(self._post(endpoint, data, token))
            except PlatformError as exc:
                if _is_token_rejected(exc) and not refreshed:
                    # The rejected request was not applied: refresh once and repeat it at once.
                    refreshed = True
                    token = self._tokens.token(stale=token)
                    continue
                failures += 1
                if not exc.retryable or failures >= attempts:
                    raise
            self._sleep(self.retry.delay(failures - 1))

    def _post(self, endpoint: str, data: bytes, token: str) -> Mapping[str, Any]:
        if not isinstance(token, str) or not token:
            raise ConfigurationError("the token source returned no token")
        headers = {"access-token": token, "content-type": "application/json"}
        reply = post_json(self._session, self.base_url + api_path(endpoint), data, headers, self.timeout, endpoint)
        return _interpret(endpoint, reply)


def _one_key(candidates: list[tuple[str, str | None]]) -> dict[str, object]:
    name, value = rules.exactly_one(candidates)
    return {name: rules.business_no(name, value)}
