"""Make moto's DynamoDB behave like DynamoDB under concurrency.

DynamoDB applies each request atomically. moto does not: its TransactWriteItems snapshots the
whole table and, on a failed condition, restores the snapshot — discarding writes that other
threads made meanwhile (moto 5.2, ``DynamoDBBackend.transact_write_items``). Serialising the
backend's public methods with one re-entrant lock restores per-request atomicity, which is all our
concurrency tests and the local stack rely on. (It also matches DynamoDB's documented semantics;
it does not model throughput limits.)
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
        setattr(DynamoDBBackend, name, _locked(method))
    setattr(DynamoDBBackend, _PATCHED, True)


def _locked(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _LOCK:
            return method(*args, **kwargs)

    return wrapper
