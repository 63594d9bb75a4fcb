"""SQS consumer: one reconcile step per record (query the platform, apply, re-enqueue with backoff).

Failures are reported per record (ReportBatchItemFailures). Records left when the deadline nears
are reported as failures so SQS redelivers them, instead of the whole batch timing out.
"""

import os
import time

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from douyin_pay.bundle import runtime
from douyin_pay.bundle.query_budget import RECONCILE_QPS_PER_CONSUMER
from douyin_pay.bundle.queue import ReconcileMessage
from douyin_pay.bundle.sqs_batch import SqsRecord, process_batch

# Keeps one invocation's platform queries at or under RECONCILE_QPS_PER_CONSUMER per second: with
# ReconcileMaxConcurrency consumers, reconciliation's share of the platform's query limit; the API
# takes the rest (query_budget.py). The template leaves the default; tests set 0 (no pacing).
DEFAULT_MIN_INTERVAL_MS = 1000 // RECONCILE_QPS_PER_CONSUMER
MIN_INTERVAL_MS = int(os.environ.get("RECONCILE_MIN_INTERVAL_MS", str(DEFAULT_MIN_INTERVAL_MS)))
DEADLINE_MARGIN_MS = 12_000  # one platform query may take ~11 s (connect + read timeouts)

logger = Logger()
metrics = Metrics()


class _Pacer:
    def __init__(self) -> None:
        self.last = 0.0

    def wait(self) -> None:
        gap = MIN_INTERVAL_MS / 1000 - (time.monotonic() - self.last)
        if gap > 0:
            time.sleep(gap)
        self.last = time.monotonic()


def _handler(context, pacer: _Pacer):
    def handle(record: SqsRecord) -> None:
        if context.get_remaining_time_in_millis() < DEADLINE_MARGIN_MS:
            raise TimeoutError("too close to the deadline; leaving this record for redelivery")
        logger.append_keys(message_id=record.message_id)  # correlates the step with its SQS message
        message = ReconcileMessage.parse(record.body)
        pacer.wait()
        result = runtime.reconciler().reconcile(message)
        metrics.add_metric(name=f"Reconcile_{result.outcome.value}", unit=MetricUnit.Count, value=1)
        where = {"kind": message.kind, "ref": message.ref, "outcome": result.outcome.value, "status": result.status}
        if result.outcome.parked:
            logger.error("reconciliation parked", extra=where)
        else:
            logger.info("reconcile step", extra=where)

    return handle


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event, context):
    return process_batch(event, _handler(context, _Pacer()), logger)
