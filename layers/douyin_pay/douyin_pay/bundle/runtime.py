"""Per-execution-environment wiring for the Lambda handlers: settings, AWS clients, the platform
adapters and one factory per use case, each built once, lazily, on the path that needs it (the
callback never imports ``requests`` and builds no SQS client; a read builds no SQS client either)."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from .settings import Settings

# Each factory imports its use case when first called, so a handler loads the modules of its own
# path and no other: every module skipped is cold start not paid (a dataclass costs ~0.5 ms to
# create). tests/bundle/test_cold_paths.py checks what each handler loads.
if TYPE_CHECKING:
    from .audits import Audits
    from .callbacks import Callbacks
    from .client_token import StoredTokenSource
    from .context import Context
    from .fulfilments import Fulfilments
    from .order_sync import OrderSync
    from .platforms import Platforms
    from .platforms.base import Platform
    from .publisher import Publisher
    from .queries import Queries
    from .queue import ReconcileQueue
    from .reconciler import Reconciler
    from .secret_cache import SecretCache
    from .store import Store
    from .submissions import Submissions

# The AWS SDK and urllib3 log whole request and response bodies at DEBUG: the secret's value from
# GetSecretValue, a notice's message in a write. Whatever level the stack logs at (LogLevel=DEBUG
# makes the runtime's root logger DEBUG), they stay at WARNING.
QUIET_LOGGERS = ("boto3", "botocore", "s3transfer", "urllib3")
for _name in QUIET_LOGGERS:
    logging.getLogger(_name).setLevel(logging.WARNING)

# Lambda's own deadline is 10-60 s; keep each AWS call short and let standard retry mode absorb
# throttling (DynamoDB ProvisionedThroughputExceeded, SQS throttles) a few times.
_BOTO_CONFIG: dict[str, Any] = {
    "retries": {"mode": "standard", "total_max_attempts": 3},
    "connect_timeout": 2,
    "read_timeout": 5,
}

# Query attempts inside one call to the platform: the API retries a query once (a person is
# waiting); reconciliation never does (the queue is the retry).
API_QUERY_ATTEMPTS = 2
QUEUED_QUERY_ATTEMPTS = 1


# The use cases read time through this, so the local stack and tests can move time forward.
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


@functools.cache
def secret_cache() -> SecretCache:
    """This environment's copy of the payment secret (secret_cache.py), over the runtime's client."""
    from .secret_cache import SecretCache

    return SecretCache(aws_client("secretsmanager"), settings().secret_id)


def secret() -> Mapping[str, Any]:
    """Cached for five minutes, so a rotation is picked up."""
    return secret_cache().get()


@functools.cache
def store() -> Store:
    from .store import Store

    return Store(settings().table_name, aws_client("dynamodb"))


@functools.cache
def queue() -> ReconcileQueue | None:
    from .queue import ReconcileQueue

    s = settings()
    return ReconcileQueue(aws_client("sqs"), s.queue_url, s.dlq_url) if s.queue_url else None


_platforms: dict[int, Platforms] = {}


def platforms(query_attempts: int) -> Platforms:
    """The adapters, by how often a query may be tried inside one call."""
    found = _platforms.get(query_attempts)
    if found is None:
        from .platforms import Platforms
        from .platforms.protocol import PaymentProtocol

        s = settings()
        factories = {
            PaymentProtocol.ECPAY: functools.partial(_ecpay_adapter, s, query_attempts),
            PaymentProtocol.TRADE: functools.partial(_trade_adapter, s, query_attempts),
        }
        found = _platforms[query_attempts] = Platforms(factories, default=s.protocol)
    return found


# Each adapter's module is imported when the adapter is first built: an ecpay stack's handlers
# never load the trade adapter's.
def _ecpay_adapter(s: Settings, query_attempts: int) -> Platform:
    from .platforms.ecpay import EcpayPlatform

    return EcpayPlatform(s, secret=secret, query_attempts=query_attempts, tokens=access_tokens, clock=lambda: now())


def _trade_adapter(s: Settings, query_attempts: int) -> Platform:
    from .platforms.trade import TradePlatform

    return TradePlatform(s, secret=secret, query_attempts=query_attempts, tokens=client_tokens, clock=lambda: now())


def client_tokens(fetch: Callable[[], Any]) -> StoredTokenSource:
    """The stack's one client_token, kept in the table (client_token.py)."""
    from .client_token import StoredTokenSource

    return StoredTokenSource(store(), settings().app_id, fetch, clock=lambda: now())


def access_tokens(fetch: Callable[[], Any]) -> StoredTokenSource:
    """The stack's one mini-program access_token (ecpay order sync), kept in the table like the
    client_token: a fetch supersedes the previous token."""
    from .client_token import MINI_APP_ACCESS_TOKEN, StoredTokenSource

    return StoredTokenSource(store(), settings().app_id, fetch, clock=lambda: now(), name=MINI_APP_ACCESS_TOKEN)


def _context(query_attempts: int, *, sends: bool) -> Context:
    from .context import Context
    from .query_budget import QueryBudget, api_share

    s = settings()
    budget = None
    if query_attempts == API_QUERY_ATTEMPTS:  # the API's queries share one budget; reconciliation paces itself
        budget = QueryBudget(store(), api_share(s.platform_query_qps, s.reconcile_consumers), clock=lambda: now())
    return Context(
        s,
        store(),
        platforms(query_attempts),
        queue=queue() if sends else None,
        clock=lambda: now(),
        query_budget=budget,
    )


@functools.cache
def submissions() -> Submissions:
    from .submissions import Submissions

    return Submissions(_context(API_QUERY_ATTEMPTS, sends=True))


@functools.cache
def queries() -> Queries:
    from .queries import Queries

    return Queries(_context(API_QUERY_ATTEMPTS, sends=False))


@functools.cache
def callbacks() -> Callbacks:
    from .callbacks import Callbacks

    return Callbacks(_context(API_QUERY_ATTEMPTS, sends=False))


@functools.cache
def audits() -> Audits:
    from .audits import Audits

    return Audits(_context(API_QUERY_ATTEMPTS, sends=False))


@functools.cache
def publisher() -> Publisher:
    """For the stream consumer: the domain events go to the stack's bus."""
    from .publisher import Publisher

    bus = settings().event_bus
    if not bus:
        raise ConfigurationError("EVENT_BUS_NAME is not set")
    return Publisher(aws_client("events"), bus)


@functools.cache
def order_sync() -> OrderSync:
    """For the order-sync consumer (ecpay's 订单同步)."""
    from .order_sync import OrderSync

    return OrderSync(_context(QUEUED_QUERY_ATTEMPTS, sends=False))


@functools.cache
def fulfilments() -> Fulfilments:
    from .fulfilments import Fulfilments

    return Fulfilments(_context(API_QUERY_ATTEMPTS, sends=False))


@functools.cache
def reconciler() -> Reconciler:
    """For the reconcile consumer and the sweeper."""
    from .reconciler import Reconciler

    return Reconciler(_context(QUEUED_QUERY_ATTEMPTS, sends=True))


def reset() -> None:
    """Forget every cached object and close its connections (tests and the local stack switch
    environments; a pooled keep-alive connection would otherwise outlive the emulator it points at)."""
    for client in _aws.values():
        client.close()
    _aws.clear()
    for adapters in _platforms.values():
        adapters.close()
    _platforms.clear()
    for cached in (
        settings,
        store,
        queue,
        secret_cache,
        submissions,
        queries,
        callbacks,
        audits,
        publisher,
        order_sync,
        fulfilments,
        reconciler,
    ):
        cached.cache_clear()
