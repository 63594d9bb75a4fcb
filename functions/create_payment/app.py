"""POST /payments — create a payment (服务端预下单) and return what tt.pay needs.

Idempotent on out_order_no: the same body gets the same answer, another body a 409.
"""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from douyin_pay.bundle import runtime
from douyin_pay.bundle.api import created_response, json_body, serve

logger = Logger()
metrics = Metrics()


def create_payment(event, params):
    answer = runtime.submissions().create_order(json_body(event))
    sync = answer.view.get("order_sync")
    if answer.created and sync and not sync["syncable"] and runtime.settings().order_sync:
        # Accepted (the fields are optional), but Douyin's order center will never hear of it, and
        # the platform settles only synced orders: counted and logged, never silently skipped.
        metrics.add_metric(name="OrderNotSyncable", unit=MetricUnit.Count, value=1)
        logger.warning(
            "order cannot be synced", extra={"out_order_no": answer.view["out_order_no"], "missing": sync["missing"]}
        )
    return created_response(answer, noun="Payment", ref_field="out_order_no", logger=logger, metrics=metrics)


ROUTES = {"POST /payments": create_payment}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event, context):
    return serve(event, ROUTES, logger, metrics)
