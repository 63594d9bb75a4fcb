"""Per-execution-environment wiring for the Lambda handlers: settings, AWS clients, the platform
client and the service, each built once, lazily, on the path that needs it (the callback never
imports ``requests``; nothing talks to SQS unless it sends)."""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable
from typing import Any

from .queue import ReconcileQueue
from .service import PaymentService
from .settings import Secrets, Settings, load_secrets
from .store import Store

# Lambda's own deadline is 10-60 s; keep each AWS call short and let standard retry mode absorb
# throttling (DynamoDB ProvisionedThroughputExceeded, SQS throttles) a few times.
_BOTO_CONFIG: dict[str, Any] = {
    "retries": {"mode": "standard", "total_max_attempts": 3},
    "connect_timeout": 2,
    "read_timeout": 5,
}


# The service reads time through this, so the local stack and tests can move time forward.
now: Callable[[], float] = time.time


@functools.cache
def settings() -> Settings:
    return Settings.from_env()


_aws: dict[str, Any] = {}


def aws_client(service_name: str) -> Any:
    """One boto3 client per service per execution environment (boto3 clients are thread-safe)."""
    client = _aws.get(service_name)
    if client is None:
        import boto3
        from botocore.config import Config

        client = _aws[service_name] = boto3.client(service_name, config=Config(**_BOTO_CONFIG))
    return client


def secrets() -> Secrets:
    """Cached by Powertools Parameters for five minutes, so a rotation is picked up."""
    return load_secrets(settings().secret_id)


def callback_tokens() -> tuple[str, ...]:
    return secrets().tokens


@functools.cache
def store() -> Store:
    return Store(settings().table_name, aws_client("dynamodb"))


@functools.cache
def queue() -> ReconcileQueue | None:
    s = settings()
    return ReconcileQueue(aws_client("sqs"), s.queue_url, s.dlq_url) if s.queue_url else None


_clients: dict[tuple[str, str], Any] = {}
# Read timeout of platform calls: with one query retry it stays inside a 20 s API function timeout.
PLATFORM_READ_TIMEOUT = 8.0


def platform_client(purpose: str = "api") -> Any:
    """An EcpayClient for the current SALT. ``purpose`` "api" retries a query once and never a
    mutation inside the request (the caller retries on 503); "reconcile" never retries (the
    queue is the retry)."""
    from ..ecpay.client import DEFAULT_TIMEOUT, EcpayClient, RetryPolicy

    salt = secrets().salt
    key = (purpose, hashlib.sha256(salt.encode()).hexdigest())
    client = _clients.get(key)
    if client is None:
        s = settings()
        retry = RetryPolicy(query_attempts=2 if purpose == "api" else 1, mutation_attempts=1)
        client = EcpayClient(
            s.app_id,
            salt,
            thirdparty_id=s.thirdparty_id,
            base_url=s.base_url,
            timeout=(DEFAULT_TIMEOUT[0], PLATFORM_READ_TIMEOUT),
            retry=retry,
        )
        for old in _clients.values():  # an old SALT's client is never needed again
            old.close()
        _clients.clear()
        _clients[key] = client
    return client


@functools.cache
def service(purpose: str = "api") -> PaymentService:
    """``purpose``: "api", "reconcile" or "callback" (which never sends to SQS, so builds no SQS client)."""
    return PaymentService(
        settings(),
        store(),
        client=lambda: platform_client(purpose),
        queue=None if purpose == "callback" else queue(),
        clock=lambda: now(),
    )


def reset() -> None:
    """Forget every cached object and close its connections (tests and the local stack switch
    environments; a pooled keep-alive connection would otherwise outlive the emulator it points at)."""
    for client in _aws.values():
        client.close()
    _aws.clear()
    for cached in (settings, store, queue, service):
        cached.cache_clear()
    for platform in _clients.values():
        platform.close()
    _clients.clear()
    try:
        from aws_lambda_powertools.utilities.parameters import base
    except ImportError:  # pragma: no cover - Powertools is in the layer
        return
    for provider in list(base.DEFAULT_PROVIDERS.values()):
        client = getattr(provider, "client", None)
        if client is not None:
            client.close()
    base.clear_caches()
