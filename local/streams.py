"""Lambda's DynamoDB stream event source, locally: read the table's stream (moto's DynamoDB
Streams) shard by shard from TRIM_HORIZON, apply the template's FilterCriteria, and hand the
records to the publisher as Lambda delivers them — retrying from the record the function reports
as failed (ReportBatchItemFailures), as Lambda does."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from .aws_resources import load_template


def stream_filters(template: dict[str, Any] | None = None) -> list[str]:
    """The pk prefixes the template's FilterCriteria let through to the publisher."""
    events = (template or load_template())["Resources"]["PublishEventsFunction"]["Properties"]["Events"]
    (source,) = [e for e in events.values() if e["Type"] == "DynamoDB"]
    return [
        json.loads(f["Pattern"])["dynamodb"]["Keys"]["pk"]["S"][0]["prefix"]
        for f in source["Properties"]["FilterCriteria"]["Filters"]
    ]


class StreamSource:
    """Reads one table's stream and invokes ``deliver(event) -> {"batchItemFailures": [...]}``."""

    def __init__(self, session: Any, table: str, *, batch_size: int = 100) -> None:
        region = session.region_name
        # Under moto's in-process mock the streams endpoint must be named; against moto's server
        # (AWS_ENDPOINT_URL), the environment names it.
        endpoint = os.environ.get("AWS_ENDPOINT_URL") or f"https://streams.dynamodb.{region}.amazonaws.com"
        self._streams = session.client("dynamodbstreams", endpoint_url=endpoint)
        dynamodb = session.client("dynamodb")
        try:
            self.arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        finally:
            dynamodb.close()
        self._region = region
        self._batch = batch_size
        self._prefixes = tuple(stream_filters())
        self._iterators: dict[str, str] = {}
        self._pending: dict[str, list[dict[str, Any]]] = {}

    def close(self) -> None:
        self._streams.close()

    def poll(self, deliver: Callable[[dict[str, Any]], Any]) -> int:
        """Deliver every record written since the last poll; returns how many were delivered.
        A batch whose function reports a failure keeps its records from the failed one on, for the
        next poll (Lambda's retry)."""
        delivered = 0
        shards = self._streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            records = self._pending.pop(shard_id, []) + self._read(shard_id)
            while records:
                batch, records = records[: self._batch], records[self._batch :]
                answer = deliver({"Records": batch}) or {}
                failures = [f["itemIdentifier"] for f in answer.get("batchItemFailures", [])]
                if failures:
                    first = next(i for i, r in enumerate(batch) if r["dynamodb"]["SequenceNumber"] in failures)
                    delivered += first
                    self._pending[shard_id] = batch[first:] + records
                    break
                delivered += len(batch)
        return delivered

    def _read(self, shard_id: str) -> list[dict[str, Any]]:
        iterator = (
            self._iterators.get(shard_id)
            or self._streams.get_shard_iterator(StreamArn=self.arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")[
                "ShardIterator"
            ]
        )
        out: list[dict[str, Any]] = []
        while iterator:
            page = self._streams.get_records(ShardIterator=iterator, Limit=1000)
            out.extend(page["Records"])
            iterator = page.get("NextShardIterator")
            if not page["Records"]:
                break
        if iterator:
            self._iterators[shard_id] = iterator
        return [self._as_lambda_record(r) for r in out if self._passes(r)]

    def _passes(self, record: dict[str, Any]) -> bool:
        pk = record["dynamodb"]["Keys"]["pk"]["S"]
        return pk.startswith(self._prefixes)

    def _as_lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        change = dict(record["dynamodb"])
        created = change.get("ApproximateCreationDateTime")
        if created is not None and not isinstance(created, int | float):  # boto3 parses it; Lambda sends seconds
            change["ApproximateCreationDateTime"] = int(created.timestamp())
        return {
            "eventID": record["eventID"],
            "eventName": record["eventName"],
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": self._region,
            "dynamodb": change,
            "eventSourceARN": self.arn,
        }
