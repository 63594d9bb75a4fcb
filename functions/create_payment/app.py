"""POST /payments — create a payment (服务端预下单) and return what tt.pay needs.

Idempotent on out_order_no: the same body gets the same answer, another body a 409.
"""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from douyin_pay.bundle import runtime
from douyin_pay.bundle.api import install_error_handling, json_body, json_response

logger = Logger()
metrics = Metrics()
app = APIGatewayHttpResolver()
install_error_handling(app, logger, metrics)


@app.post("/payments")
def create_payment():
    answer = runtime.submissions().create_order(json_body(app.current_event.raw_event))
    metrics.add_metric(name="PaymentCreated" if answer.created else "PaymentReplayed", unit=MetricUnit.Count, value=1)
    logger.info("payment answered", extra={"out_order_no": answer.view["out_order_no"], "replay": not answer.created})
    return json_response(201 if answer.created else 200, answer.view)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)
