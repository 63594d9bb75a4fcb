"""GET /payments/{out_order_no}, /refunds/{out_refund_no}, /settlements/{out_settle_no}.

Reads the table (one GetItem); ``?refresh=true`` asks the platform and applies its answer through
the same state machine the callbacks use.
"""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from douyin_pay.bundle import runtime
from douyin_pay.bundle.api import install_error_handling, json_response, path_param
from douyin_pay.bundle.states import Kind

logger = Logger()
metrics = Metrics()
app = APIGatewayHttpResolver()
install_error_handling(app, logger, metrics)


def _read(kind: Kind, ref: str):
    ref = path_param(ref)
    refresh = (app.current_event.get_query_string_value("refresh") or "").lower() in ("true", "1")
    queries = runtime.queries()
    metrics.add_metric(name="ObjectRefreshed" if refresh else "ObjectRead", unit=MetricUnit.Count, value=1)
    return json_response(200, queries.refresh(kind, ref) if refresh else queries.get(kind, ref))


@app.get("/payments/<out_order_no>")
def get_payment(out_order_no: str):
    return _read(Kind.ORDER, out_order_no)


@app.get("/refunds/<out_refund_no>")
def get_refund(out_refund_no: str):
    return _read(Kind.REFUND, out_refund_no)


@app.get("/settlements/<out_settle_no>")
def get_settlement(out_settle_no: str):
    return _read(Kind.SETTLEMENT, out_settle_no)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)
