"""POST /payments/{out_order_no}/settlements — settle a paid order (发起结算及分账).

Idempotent on out_settle_no; refused unless the order is paid.
"""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths

from douyin_pay.bundle import runtime
from douyin_pay.bundle.api import created_response, install_error_handling, json_body, path_param

logger = Logger()
metrics = Metrics()
app = APIGatewayHttpResolver()
install_error_handling(app, logger, metrics)


@app.post("/payments/<out_order_no>/settlements")
def create_settlement(out_order_no: str):
    answer = runtime.submissions().create_settlement(path_param(out_order_no), json_body(app.current_event.raw_event))
    return created_response(answer, noun="Settlement", ref_field="out_settle_no", logger=logger, metrics=metrics)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)
