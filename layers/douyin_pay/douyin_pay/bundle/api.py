"""HTTP shaping shared by the API handlers: JSON bodies in, JSON answers and errors out.

Every failure a caller can cause is a 4xx with a machine-readable ``code``; platform trouble is a
502/503 with ``retryable``; an unexpected fault is a 500 ``internal_error`` that logs but never
echoes the exception (it could carry request data).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from ..errors import ConfigurationError, UnsignableValueError, ValidationError
from .service import ApiError

MAX_BODY_BYTES = 64 * 1024  # API requests are small; anything larger is a mistake or abuse


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
    status = getattr(exc, "status_code", None)  # Powertools' own NotFoundError / ServiceError
    if isinstance(status, int) and 400 <= status < 500:
        code = "route_not_found" if status == 404 else "bad_request"
        return status, {"code": code, "message": "no such route" if status == 404 else str(exc), "retryable": False}
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


def install_error_handling(app: Any, logger: Any, metrics: Any) -> None:
    """Route every exception raised by a Powertools resolver route through :func:`error_body`,
    with a metric per outcome class (4xx refused, 5xx failed)."""
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.metrics import MetricUnit

    @app.exception_handler(Exception)
    def _handle(exc: Exception) -> Response:
        status, body = error_body(exc)
        metrics.add_metric(name="RequestFailed" if status >= 500 else "RequestRefused", unit=MetricUnit.Count, value=1)
        if status >= 500 and not isinstance(exc, ApiError):
            logger.exception("request failed", extra={"error_code": body["code"]})
        else:
            logger.info("request refused", extra={"status": status, "error_code": body["code"]})
        headers = {"Retry-After": "1"} if status == 503 else None
        return json_response(status, body, headers)


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Any:
    from aws_lambda_powertools.event_handler import Response

    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate echoed from the request: escape, stay valid JSON
        text = json.dumps(body, separators=(",", ":"))
    return Response(status_code=status, content_type="application/json", body=text, headers=dict(headers or {}))
