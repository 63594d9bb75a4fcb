"""POST /payments/{out_order_no}/settlements — settle a paid order (发起结算及分账).
POST /payments/{out_order_no}/fulfilment — record that a paid order was fulfilled (核销).

Settlements are idempotent on out_settle_no, and refused unless the order is paid (and, for an
ecpay order on a stack that syncs orders, synced to Douyin as paid or fulfilled). A fulfilment is
recorded once; repeating it answers the same order.
"""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from douyin_pay.bundle import runtime
from douyin_pay.bundle.api import ApiError, created_response, http_response, json_body, serve

logger = Logger()
metrics = Metrics()


def create_settlement(event, params):
    answer = runtime.submissions().create_settlement(params["out_order_no"], json_body(event))
    return created_response(answer, noun="Settlement", ref_field="out_settle_no", logger=logger, metrics=metrics)


def fulfil(event, params):
    if event.get("body") and json_body(event) != {}:
        raise ApiError(400, "unknown_field", "a fulfilment takes no fields: send no body or {}")
    done = runtime.fulfilments().fulfil(params["out_order_no"])
    metrics.add_metric(name="OrderFulfilled" if done.created else "FulfilmentReplayed", unit=MetricUnit.Count, value=1)
    logger.info("order fulfilled", extra={"out_order_no": done.view["out_order_no"], "replay": not done.created})
    return http_response(201 if done.created else 200, done.view)


ROUTES = {
    "POST /payments/{out_order_no}/settlements": create_settlement,
    "POST /payments/{out_order_no}/fulfilment": fulfil,
}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event, context):
    return serve(event, ROUTES, logger, metrics)
