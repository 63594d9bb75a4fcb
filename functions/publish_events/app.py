"""DynamoDB stream consumer: every change of an order, refund or settlement becomes its domain
events on the stack's EventBridge bus (douyin_pay.bundle.domain_events).

Published from the stream, not from the handlers: a change is announced only once it is written,
and nothing is announced for a write that did not happen (a duplicate or stale notice). A failed
publish reports its record (ReportBatchItemFailures); Lambda retries from it, so events of one
object keep their order, and a repeat carries the same event_id.
"""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from douyin_pay.bundle import runtime

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event, context):
    records = event.get("Records") or []
    result = runtime.publisher().publish(records)
    metrics.add_metric(name="EventsPublished", unit=MetricUnit.Count, value=result.published)
    if result.failed_record is not None:
        metrics.add_metric(name="EventsPublishFailed", unit=MetricUnit.Count, value=1)
        logger.warning("publish failed; retrying from a record", extra={"sequence_number": result.failed_record})
    return result.batch_response()
