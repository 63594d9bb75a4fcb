"""Make moto's DynamoDB behave like DynamoDB under concurrency.

DynamoDB applies each request atomically. moto does not: its TransactWriteItems snapshots the
whole table and, on a failed condition, restores the snapshot — discarding writes that other
threads made meanwhile (moto 5.2, ``DynamoDBBackend.transact_write_items``). Serialising the
backend's public methods with one re-entrant lock restores per-request atomicity, which is all our
concurrency tests and the local stack rely on. (It also matches DynamoDB's documented semantics;
it does not model throughput limits.)

The restore has a second flaw: it swaps in the snapshot as a *new* table object, while the table's
stream readers (shard iterators) hold the old one — so after any cancelled transaction the stream
shows the rolled-back writes and never the writes that follow, and the domain events stop. DynamoDB
streams only committed writes. :func:`_keep_table_objects` moves the snapshot's contents back into
the live table object and drops the cancelled transaction's stream records.
"""

from __future__ import annotations

import functools
import threading

_LOCK = threading.RLock()
_PATCHED = "_douyin_pay_atomic"


def make_dynamodb_atomic() -> None:
    """Idempotent; affects every moto DynamoDB backend in this process (mock_aws and moto server)."""
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, _PATCHED, False):
        return
    for name in dir(DynamoDBBackend):
        if name.startswith("_"):
            continue
        method = getattr(DynamoDBBackend, name)
        if not callable(method) or isinstance(method, type):
            continue
        if name == "transact_write_items":
            method = _keep_table_objects(method)
        setattr(DynamoDBBackend, name, _locked(method))
    setattr(DynamoDBBackend, _PATCHED, True)


def _keep_table_objects(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        live = dict(self.tables)
        streamed = {name: len(t.stream_shard.items) for name, t in live.items() if t.stream_shard is not None}
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            for name, table in live.items():
                snapshot = self.tables.get(name)
                if snapshot is None or snapshot is table:
                    continue
                shard = table.stream_shard
                table.__dict__.update({k: v for k, v in snapshot.__dict__.items() if k != "stream_shard"})
                if shard is not None:
                    del shard.items[streamed[name] :]  # the cancelled writes were never committed
                self.tables[name] = table
            raise

    return wrapper


def _locked(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _LOCK:
            return method(*args, **kwargs)

    return wrapper
