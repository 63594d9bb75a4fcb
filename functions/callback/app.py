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
from douyin_pay.bundle.api import NO_ROUTE, failure, http_response, raw_body
from douyin_pay.errors import MalformedCallbackError, SignatureError

MAX_CALLBACK_BYTES = 16 * 1024  # real notices are about 1 KB

logger = Logger()
metrics = Metrics()


def receive_notice(event: dict) -> dict:
    body = raw_body(event, limit=MAX_CALLBACK_BYTES)
    try:
        delivery = runtime.callbacks().receive(event.get("headers") or {}, body)
    except SignatureError:
        metrics.add_metric(name="CallbackSignatureRejected", unit=MetricUnit.Count, value=1)
        logger.warning("callback rejected: signature does not verify")
        return http_response(401, {"err_no": 401, "err_tips": "signature does not verify"})
    except MalformedCallbackError as exc:
        metrics.add_metric(name="CallbackMalformed", unit=MetricUnit.Count, value=1)
        logger.warning("callback rejected: malformed", extra={"field": exc.field})
        return http_response(400, {"err_no": 400, "err_tips": "malformed callback"})
    result, notice = delivery.result, delivery.notice
    metrics.add_metric(name=f"Notice_{result.outcome.value}", unit=MetricUnit.Count, value=1)
    # The audit trail of every verified notice (nothing per notice is stored in the table): its id,
    # what it did, and the signed message as received. No secret is in it.
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
        return http_response(404, NO_ROUTE)
    try:
        return receive_notice(event)
    except Exception as exc:  # noqa: BLE001 - every failure answers through failure(), as a resolver's handler would
        return http_response(*failure(exc, logger, metrics))
