"""POST /payments/{out_order_no}/refunds — refund part or all of a paid order.
POST /refunds/{out_refund_no}/audit — approve or deny a refund a user asked for (trade system).

The amount is reserved on the order atomically, so succeeded + in-flight refunds never exceed what
was paid. Idempotent on out_refund_no.
"""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths

from douyin_pay.bundle import runtime
from douyin_pay.bundle.api import created_response, http_response, json_body, serve

logger = Logger()
metrics = Metrics()


def create_refund(event, params):
    answer = runtime.submissions().create_refund(params["out_order_no"], json_body(event))
    return created_response(answer, noun="Refund", ref_field="out_refund_no", logger=logger, metrics=metrics)


def audit_refund(event, params):
    refund = runtime.audits().decide(params["out_refund_no"], json_body(event))
    logger.info("refund audited", extra={"out_refund_no": refund["out_refund_no"], "audit": refund.get("audit_status")})
    return http_response(200, refund)


ROUTES = {
    "POST /payments/{out_order_no}/refunds": create_refund,
    "POST /refunds/{out_refund_no}/audit": audit_refund,
}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event, context):
    return serve(event, ROUTES, logger, metrics)
