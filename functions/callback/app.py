"""Douyin's callbacks (the public Function URL registered in the console).

Order matters: size limit, then signature verification (by the protocol's adapter, on the headers
and the raw body) — before any table I/O — then one conditional write of the object the notice is
about. A duplicate gets the success reply and changes nothing; a bad signature or body gets a 4xx
and writes nothing.

One route, so no resolver: Powertools' event_handler package imports every resolver it has
(asyncio, AppSync, ...), about 50 ms of every cold start for a function that answers one POST.
"""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from douyin_pay.bundle import runtime
from douyin_pay.bundle.api import failure, http_response, raw_body
from douyin_pay.bundle.callback_origin import origin_allowed
from douyin_pay.bundle.log_throttle import LogThrottle
from douyin_pay.errors import MalformedCallbackError, SignatureError

MAX_CALLBACK_BYTES = 16 * 1024  # real notices are about 1 KB
REJECTION_LOG_INTERVAL = 60.0  # seconds: one line per kind of rejection, the metric counts them all

logger = Logger()
metrics = Metrics()
forged_lines = LogThrottle(REJECTION_LOG_INTERVAL)
foreign_lines = LogThrottle(REJECTION_LOG_INTERVAL)
malformed_lines = LogThrottle(REJECTION_LOG_INTERVAL)


def refusal(status: int, tips: str, headers: dict | None = None) -> dict:
    """Every answer but success in the platform's own envelope: it reads err_no, nothing else."""
    return http_response(status, {"err_no": status, "err_tips": tips}, headers)


def _bounded(text: str) -> str:
    # A malformed body's field names are the sender's: logged cut short, never whole.
    return text if len(text) <= 160 else text[:160] + "…"


def receive_notice(event: dict) -> dict:
    headers = event.get("headers") or {}
    if not origin_allowed(headers, runtime.secret()):
        # Sent to the function's own URL, not through the CDN the stack is configured behind.
        metrics.add_metric(name="CallbackOriginRejected", unit=MetricUnit.Count, value=1)
        if (held := foreign_lines.admit()) is not None:
            logger.warning("callback rejected: not through the configured origin", extra={"held_back": held})
        return refusal(403, "forbidden")
    body = raw_body(event, limit=MAX_CALLBACK_BYTES)
    try:
        delivery = runtime.callbacks().receive(headers, body)
    except SignatureError as exc:
        metrics.add_metric(name="CallbackSignatureRejected", unit=MetricUnit.Count, value=1)
        if (held := forged_lines.admit()) is not None:
            logger.warning(
                "callback rejected: signature does not verify", extra={"reason": str(exc), "held_back": held}
            )
        return refusal(401, "signature does not verify")
    except MalformedCallbackError as exc:
        metrics.add_metric(name="CallbackMalformed", unit=MetricUnit.Count, value=1)
        if (held := malformed_lines.admit()) is not None:
            reason = {"reason": _bounded(str(exc)), "field": _bounded(exc.field or ""), "held_back": held}
            logger.warning("callback rejected: malformed", extra=reason)
        return refusal(400, "malformed callback")
    result, notice = delivery.result, delivery.notice
    metrics.add_metric(name=f"Notice_{result.outcome.value}", unit=MetricUnit.Count, value=1)
    # The audit trail of every verified notice (nothing per notice is stored in the table): its id,
    # what it did, and the signed message as received. No secret is in it, and nothing unsigned
    # (ecpay does not sign the notice's type).
    audit = {
        "notice_id": notice.notice_id,
        "ref": result.ref,
        "outcome": result.outcome.value,
        "signed": notice.message,
    }
    if result.anomaly:
        metrics.add_metric(name="NoticeMismatch", unit=MetricUnit.Count, value=1)
        logger.error("notice does not match the stored object", extra=audit)
    else:
        logger.info("notice handled", extra=audit)
    return http_response(delivery.reply.status, delivery.reply.body)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.LAMBDA_FUNCTION_URL)
@metrics.log_metrics
def lambda_handler(event, context):
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method")
    if method != "POST" or (event.get("rawPath") or "/") != "/":
        return refusal(404, "no such route")
    try:
        return receive_notice(event)
    except Exception as exc:  # noqa: BLE001 - every failure answers through failure(), as a resolver's handler would
        status, body, headers = failure(exc, logger, metrics)
        return refusal(status, body["message"], headers)
