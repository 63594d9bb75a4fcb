"""The HTTP contract of the bundle's API: request bodies in, JSON answers and typed errors out.

Every failure a caller can cause is a 4xx with a machine-readable ``code``, and so is a platform's
definitive refusal of a request (422 with its ``err_no``); platform trouble is a 502/503 with
``retryable``; an unexpected fault is a 500 ``internal_error`` that logs but never
echoes the exception (it could carry request data).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ..errors import ConfigurationError, DouyinPayError, PlatformError, UnsignableValueError, ValidationError
from .states import Kind

if TYPE_CHECKING:
    from .platforms.calls import Fault

MAX_BODY_BYTES = 64 * 1024  # API requests are small; anything larger is a mistake or abuse


class ApiError(DouyinPayError):
    """A failure with an HTTP meaning: ``status``, a stable ``code`` and whether to retry."""

    def __init__(self, status: int, code: str, message: str, *, retryable: bool = False, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retryable = retryable
        self.extra = {k: v for k, v in extra.items() if v is not None}

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "retryable": self.retryable, **self.extra}


def not_found(kind: Kind, ref: str) -> ApiError:
    return ApiError(404, f"{kind.value}_not_found", f"no {kind.value} {ref!r}")


def order_not_paid(out_order_no: str, status: object) -> ApiError:
    """Refunds, settlements and fulfilments need a PAID order."""
    return ApiError(409, "order_not_paid", f"order {out_order_no!r} is {status}, not PAID", order_status=status)


def in_progress(message: str) -> ApiError:
    """Another request holds the object right now: the same request may be retried."""
    return ApiError(409, "request_in_progress", message, retryable=True)


def platform_failure(exc: PlatformError, fault: Fault, *, earlier: bool = False) -> ApiError:
    """How a platform error is answered. 5xx only when the platform failed or refused this service:
    503 to retry the identical request (no answer, or busy), 502 when it refused our credentials or
    app (an operator must act). A definitive business refusal of the request is the caller's to
    handle, not an outage: 422 with the platform's ``err_no`` (the business number is spent).
    ``earlier``: the refusal was recorded by a previous request with the same number."""
    if fault.retryable and fault.rate_limited:
        status, code, message = 503, "platform_busy", "the platform is busy (rate limited); retry the identical request"
    elif fault.retryable:
        status, code, message = 503, "platform_unavailable", "the platform did not answer; retry the identical request"
    elif fault.misconfigured:
        status, code = 502, "platform_rejected"
        message = "the platform refused this service's credentials or app; an operator must check the configuration"
    else:
        status, code, message = 422, "platform_refused", "the platform refused the request; use a new business number"
    if earlier:
        message = "the platform refused this request earlier; use a new number"
    return ApiError(status, code, message, retryable=exc.retryable, err_no=exc.err_no, err_tips=exc.err_tips or None)


_FLAG_VALUES = {"true": True, "1": True, "false": False, "0": False}


def refresh_flag(query: Mapping[str, str] | None) -> bool:
    """A read's ``?refresh=``: true / 1 or false / 0 (any case). Anything else, or another
    parameter, is refused: a misspelt flag must not quietly answer the stored (maybe stale) state."""
    query = query or {}
    for key in query:
        if key != "refresh":
            raise ApiError(400, "invalid_query", "the only query parameter is refresh", parameter=key[:64])
    if "refresh" not in query:
        return False
    value = _FLAG_VALUES.get(str(query["refresh"]).lower())
    if value is None:
        raise ApiError(400, "invalid_query", "refresh must be true or false (or 1 / 0)", parameter="refresh")
    return value


def request_fields(body: object, allowed: set[str], required: tuple[str, ...]) -> dict[str, Any]:
    """The fields of a create request body: only ``allowed`` ones, every ``required`` one present;
    JSON nulls are dropped (an absent optional field)."""
    if not isinstance(body, dict):
        # Not reported as the field "body": an order has a field of that name.
        raise ApiError(400, "invalid_body", "the request body must be a JSON object")
    for key in body:
        if key == "notify_url":
            raise ValidationError(key, "is always this bundle's callback URL and cannot be set", code="unknown_field")
        if key not in allowed:
            raise ValidationError(key, "is not a field of this request", code="unknown_field")
    missing = [key for key in required if body.get(key) is None]  # absent or JSON null
    if missing:
        # Every one named, so that a caller fixes the request in one go.
        raise ApiError(400, "missing_field", f"required: {', '.join(missing)}", field=missing[0], fields=missing)
    return {k: v for k, v in body.items() if v is not None}


def request_hash(fields: Mapping[str, Any]) -> str:
    """Identifies a create request: the same fields → the same answer, other fields → 409. 128 bits
    of SHA-256 are plenty to tell two requests for one business number apart, at half the bytes."""
    canonical = json.dumps(
        {k: v for k, v in fields.items() if v is not None}, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def same_request(stored: str | None, digest: str) -> bool:
    """Whether a stored request hash is ``digest``; claims written before kept all 64 hex digits."""
    return isinstance(stored, str) and len(stored) in (32, 64) and stored[:32] == digest


def raw_body(event: Mapping[str, Any], limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body as bytes, base64-decoded when API Gateway / Function URL encoded it."""
    body = event.get("body") or ""
    if len(body) > limit * 4 // 3 + 4:
        raise ApiError(413, "body_too_large", f"the body exceeds {limit} bytes")
    if event.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body, validate=True)
        except ValueError as exc:
            raise ApiError(400, "invalid_body", "the body is not valid base64") from exc
    else:
        data = body.encode("utf-8")
    if len(data) > limit:
        raise ApiError(413, "body_too_large", f"the body exceeds {limit} bytes")
    return data


def path_param(value: str) -> str:
    """A path parameter as the caller meant it. The resolver matches the raw path, so ``*`` sent as
    ``%2A`` would otherwise reach validation still encoded."""
    return unquote(value)


def json_body(event: Mapping[str, Any]) -> Any:
    data = raw_body(event)
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise ApiError(400, "invalid_json", "the body is not JSON") from exc


def error_body(exc: Exception) -> tuple[int, dict[str, Any]]:
    """(status, body) for an exception raised while serving a request."""
    if isinstance(exc, ApiError):
        return exc.status, exc.body()
    if isinstance(exc, ValidationError):
        return 400, {"code": exc.code, "message": str(exc), "field": exc.field, "retryable": False}
    if isinstance(exc, UnsignableValueError):
        return 400, {"code": "invalid_field", "message": str(exc), "field": exc.key, "retryable": False}
    if isinstance(exc, ConfigurationError):
        return 500, {"code": "misconfigured", "message": "the service is misconfigured", "retryable": True}
    if _is_aws_throttle(exc):
        return 503, {"code": "store_unavailable", "message": "storage is busy; retry", "retryable": True}
    return 500, {"code": "internal_error", "message": "unexpected error", "retryable": True}


def _is_aws_throttle(exc: Exception) -> bool:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    code = response.get("Error", {}).get("Code", "")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return status >= 500 or code in {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
    }


def failure(exc: Exception, logger: Any, metrics: Any) -> tuple[int, dict[str, Any], dict[str, str] | None]:
    """(status, body, headers) for an exception raised while serving a request, with a metric per
    outcome class (4xx refused, 5xx failed) and a log line (a stack trace only for the unexpected)."""
    from aws_lambda_powertools.metrics import MetricUnit

    status, body = error_body(exc)
    metrics.add_metric(name="RequestFailed" if status >= 500 else "RequestRefused", unit=MetricUnit.Count, value=1)
    if status >= 500 and not isinstance(exc, ApiError):
        logger.exception("request failed", extra={"error_code": body["code"]})
    else:
        logger.info("request refused", extra={"status": status, "error_code": body["code"]})
    return status, body, {"Retry-After": "1"} if status == 503 else None


Route = Callable[[Mapping[str, Any], Mapping[str, str]], dict[str, Any]]
NO_ROUTE = {"code": "route_not_found", "message": "no such route", "retryable": False}


def serve(event: Mapping[str, Any], routes: Mapping[str, Route], logger: Any, metrics: Any) -> dict[str, Any]:
    """Answer an HTTP API (payload 2.0) event by the route API Gateway matched (``routeKey``, e.g.
    ``"GET /payments/{out_order_no}"``) with its decoded path parameters. No resolver: Powertools'
    event_handler package imports every resolver it has (~50 ms of each cold start), and API
    Gateway has routed the request already. Every failure answers through :func:`failure`."""
    route = routes.get(event.get("routeKey", ""))
    if route is None:
        return http_response(404, NO_ROUTE)
    try:
        params = {name: path_param(value) for name, value in (event.get("pathParameters") or {}).items()}
        return route(event, params)
    except Exception as exc:  # noqa: BLE001 - every failure gets its documented answer
        return http_response(*failure(exc, logger, metrics))


def json_text(body: Any) -> str:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate echoed from the request: escape, stay valid JSON
        text = json.dumps(body, separators=(",", ":"))
    return text


def http_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A JSON answer, as API Gateway (payload 2.0) and Function URLs take it from a Lambda."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": json_text(body),
        "isBase64Encoded": False,
    }


# Business numbers in a path are checked before they reach the table (a DynamoDB key is at most
# 2048 bytes: a longer one would be a 500). The rule is the create routes' rule, stated again here
# because a read does not know its object's protocol until it has read it.
_BUSINESS_NO = re.compile(r"[0-9A-Za-z_\-*]{1,64}")
_REF_FIELD = {Kind.ORDER: "out_order_no", Kind.REFUND: "out_refund_no", Kind.SETTLEMENT: "out_settle_no"}


def checked_ref(kind: Kind, ref: str) -> str:
    """A business number from a path, validated like the create routes validate it."""
    if not isinstance(ref, str) or not _BUSINESS_NO.fullmatch(ref):
        raise ValidationError(
            _REF_FIELD[kind], "must be 1-64 characters of 0-9 A-Z a-z _ - *", code="invalid_business_no"
        )
    return ref


def created_response(answer: Any, *, noun: str, ref_field: str, logger: Any, metrics: Any) -> Any:
    """The answer to a create route: 201 for a new object, 200 for an identical request answered
    again (``answer`` is a :class:`~douyin_pay.bundle.submissions.Answer`), with a metric and a log line."""
    from aws_lambda_powertools.metrics import MetricUnit

    metrics.add_metric(name=f"{noun}{'Created' if answer.created else 'Replayed'}", unit=MetricUnit.Count, value=1)
    logger.info(f"{noun.lower()} answered", extra={ref_field: answer.view[ref_field], "replay": not answer.created})
    return http_response(201 if answer.created else 200, answer.view)
