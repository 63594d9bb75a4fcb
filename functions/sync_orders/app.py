"""SQS consumer of the domain events: ecpay order sync (订单同步).

An EventBridge rule sends every change of an ecpay order or refund to this function's queue; each
record becomes the order-center status push(es) it means (douyin_pay.bundle.order_sync). A change
that cannot be pushed now (the platform unavailable, another consumer pushing the same order) is
reported as a failure and made invisible for an exponentially growing time, so retries back off;
after the queue's maxReceiveCount it lands in the dead-letter queue, where an alarm fires. A push
the platform refuses for good is recorded on the order and counted (OrderSyncRejected, alarmed).
"""

import json
import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from douyin_pay.bundle import runtime
from douyin_pay.bundle.order_sync import SyncLater, SyncOutcome
from douyin_pay.bundle.sqs_batch import SqsRecord, process_batch

BACKOFF_BASE = 10  # seconds before the first retry; doubled on each receive
BACKOFF_MAX = 900
DEADLINE_MARGIN_MS = 25_000  # a push may take ~11 s, two of them and a token fetch more

logger = Logger()
metrics = Metrics()


def backoff(receive_count: int) -> int:
    return min(BACKOFF_MAX, BACKOFF_BASE * 2 ** max(0, receive_count - 1))


def _later(record: SqsRecord, reason: str) -> None:
    """Hide the record for its backoff: Lambda leaves a failed record's visibility as it is."""
    count = record.receive_count
    try:
        runtime.aws_client("sqs").change_message_visibility(
            QueueUrl=os.environ["ORDER_SYNC_QUEUE_URL"],
            ReceiptHandle=record.receipt_handle,
            VisibilityTimeout=backoff(count),
        )
    except Exception:  # noqa: BLE001 - the queue's own visibility timeout still delays the retry
        logger.warning("could not back off; the visibility timeout applies", extra={"reason": reason})


def _handler(context):
    def handle(record: SqsRecord) -> None:
        if context.get_remaining_time_in_millis() < DEADLINE_MARGIN_MS:
            raise TimeoutError("too close to the deadline; leaving this record for redelivery")
        event = json.loads(record.body)
        try:
            result = runtime.order_sync().sync(event)
        except SyncLater as later:
            metrics.add_metric(name="OrderSyncDeferred", unit=MetricUnit.Count, value=1)
            logger.info("order sync deferred", extra={"reason": str(later)})
            _later(record, str(later))
            raise
        metrics.add_metric(name=f"OrderSync_{result.outcome.value}", unit=MetricUnit.Count, value=1)
        where = {"out_order_no": result.out_order_no, "outcome": result.outcome.value, "pushed": list(result.statuses)}
        if result.outcome is SyncOutcome.REJECTED:
            metrics.add_metric(name="OrderSyncRejected", unit=MetricUnit.Count, value=1)
            logger.error("order sync refused by the platform", extra=where)
        else:  # an order that cannot be synced was counted (OrderNotSyncable) when it was created
            logger.info("order sync", extra=where)

    return handle


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event, context):
    # A batch whose every change was deferred is not a function error (it would alarm, and the
    # backoff already set on each record would be lost to a whole-batch retry): report them all.
    return process_batch(event, _handler(context), logger, raise_on_entire_batch_failure=False)
