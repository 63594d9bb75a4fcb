"""POST /payments — create a payment (服务端预下单) and return what tt.pay needs.

Idempotent on out_order_no: the same body gets the same answer, another body a 409.
"""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths

from douyin_pay.bundle import runtime
from douyin_pay.bundle.api import created_response, install_error_handling, json_body

logger = Logger()
metrics = Metrics()
app = APIGatewayHttpResolver()
install_error_handling(app, logger, metrics)


@app.post("/payments")
def create_payment():
    answer = runtime.submissions().create_order(json_body(app.current_event.raw_event))
    return created_response(answer, noun="Payment", ref_field="out_order_no", logger=logger, metrics=metrics)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)
