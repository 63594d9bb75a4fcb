"""POST /payments/{out_order_no}/settlements — settle a paid order (发起结算及分账).

Idempotent on out_settle_no; refused unless the order is paid.
"""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths

from douyin_pay.bundle import runtime
from douyin_pay.bundle.api import created_response, json_body, serve

logger = Logger()
metrics = Metrics()


def create_settlement(event, params):
    answer = runtime.submissions().create_settlement(params["out_order_no"], json_body(event))
    return created_response(answer, noun="Settlement", ref_field="out_settle_no", logger=logger, metrics=metrics)


ROUTES = {"POST /payments/{out_order_no}/settlements": create_settlement}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event, context):
    return serve(event, ROUTES, logger, metrics)
