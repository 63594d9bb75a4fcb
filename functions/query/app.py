"""GET /payments/{out_order_no}, /refunds/{out_refund_no}, /settlements/{out_settle_no}.

Reads the table (one GetItem); ``?refresh=true`` asks the platform and applies its answer through
the same state machine the callbacks use.
"""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from douyin_pay.bundle import runtime
from douyin_pay.bundle.api import http_response, refresh_flag, serve
from douyin_pay.bundle.states import Kind

logger = Logger()
metrics = Metrics()


def reader(kind: Kind, param: str):
    def read(event, params):
        refresh = refresh_flag(event.get("queryStringParameters"))
        queries = runtime.queries()
        metrics.add_metric(name="ObjectRefreshed" if refresh else "ObjectRead", unit=MetricUnit.Count, value=1)
        ref = params[param]
        return http_response(200, queries.refresh(kind, ref) if refresh else queries.get(kind, ref))

    return read


ROUTES = {
    "GET /payments/{out_order_no}": reader(Kind.ORDER, "out_order_no"),
    "GET /refunds/{out_refund_no}": reader(Kind.REFUND, "out_refund_no"),
    "GET /settlements/{out_settle_no}": reader(Kind.SETTLEMENT, "out_settle_no"),
}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event, context):
    return serve(event, ROUTES, logger, metrics)
