"""Scheduled sweeper: re-enqueue every object whose reconciliation is overdue — a lost message, an
SQS send that failed after the platform accepted, a crash between the platform call and the table
write — so nothing is stranded. The schedule event's body is not used."""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from douyin_pay.bundle import runtime

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event, context):
    swept = runtime.reconciler().sweep()
    metrics.add_metric(name="SweptObjects", unit=MetricUnit.Count, value=swept)
    logger.info("sweep done", extra={"enqueued": swept})
    return {"enqueued": swept}
