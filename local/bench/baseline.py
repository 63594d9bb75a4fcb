"""The comparison for ``python -m local.bench``: callbacks processed "the common way".

This is what a team would write with the Powertools idempotency utility instead of the bundle's
single conditional ``UpdateItem`` (which records the notice's id on the object it changes): each
verified notice goes through ``@idempotent_function`` (``DynamoDBPersistenceLayer`` on its own
table with the default schema — ``id`` hash key, ``expiration`` TTL), keyed on the notice's dedupe
key, and the decorated function makes the state change in a separate write.

Configured as a competent user would (:func:`competent_config`): the idempotency record is kept
25 h, past the platform's last retry (about 24 h 4 min after the first delivery), not Powertools'
default hour, after which a late retry would be processed again; and the local cache is on, so a
redelivery that reaches the environment that processed the notice costs no call at all.

Expected cost, per the Powertools idempotency docs (docs.powertools.aws.dev, utilities/idempotency)
and its source, and what the bench measures rather than assumes: a new notice is PutItem
(INPROGRESS) + the state write + UpdateItem (COMPLETED) = 3 calls; a replay is nothing in the
environment that processed it (the local cache) and, in any other, 1 failed conditional PutItem
(the stored record comes back with ``ReturnValuesOnConditionCheckFailure=ALL_OLD``). A duplicate
that arrives while the first is still in flight gets ``IdempotencyAlreadyInProgressError``; a
Function URL would answer it with a 5xx and the platform would redeliver later — the bench
re-queues it and counts the extra calls.

Each :class:`PowertoolsEnvironment` is one Lambda execution environment: its own boto3 client,
persistence layer (and so its own local cache), config (with a registered Lambda context) and
decorated function.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable
from typing import Any

from local.aws_resources import create_table

IDEMPOTENCY_KEY_ATTR = "id"  # the Powertools default schema
# ecpay retries a callback 15 times, 15 s ... 6 h apart: the last retry comes about 24 h 4 min
# after the first delivery. The record must outlive it, or that retry is processed again.
RETRY_WINDOW_SECONDS = 24 * 3600 + 4 * 60
RECORD_SECONDS = 25 * 3600

# The state write an environment's decorated function makes: (its DynamoDB client, the notice's
# payload) -> "applied" or "not_applied".
type StateWrite = Callable[[Any, dict[str, Any]], str]


def competent_config() -> Any:
    """The idempotency configuration a careful user chooses for platform callbacks."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(
        event_key_jmespath="dedupe_key",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=RECORD_SECONDS,
        use_local_cache=True,
    )


def create_idempotency_table(dynamodb: Any, name: str) -> None:
    """The table the Powertools docs tell you to create: ``id`` (S) hash key, TTL on ``expiration``."""
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": IDEMPOTENCY_KEY_ATTR, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": IDEMPOTENCY_KEY_ATTR, "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"}
    )


def create_orders_table(dynamodb: Any, name: str) -> None:
    """The baseline's own copy of the payments table (same schema, from template.yaml), so both
    implementations move identical CREATED orders without touching each other's state."""
    create_table(dynamodb, name)


def seed_orders(dynamodb: Any, name: str, items: list[dict[str, Any]]) -> None:
    """Copy raw (typed) order items into the baseline's orders table."""
    for item in items:
        dynamodb.put_item(TableName=name, Item=item)


def notice_payload(notice: Any) -> dict[str, Any]:
    """The idempotent function's input: the verified notice's dedupe key and what the update needs."""
    return {
        "dedupe_key": notice.dedupe_key,
        "out_order_no": notice.out_order_no,
        "total_amount": notice.total_amount,
        "way": notice.way,
        "paid_at": notice.paid_at,
    }


class MoveToPaid:
    """The burst's state write: a conditional UpdateItem CREATED -> PAID with the stored amount, on
    the baseline's own copy of the orders."""

    def __init__(self, orders_table: str, clock: Any) -> None:
        self.orders_table = orders_table
        self.clock = clock

    def __call__(self, client: Any, notice: dict[str, Any]) -> str:
        now = int(self.clock())
        no = notice["out_order_no"]
        try:
            client.update_item(
                TableName=self.orders_table,
                Key={"pk": {"S": f"ORDER#{no}"}, "sk": {"S": "ORDER"}},
                UpdateExpression="SET #s = :paid, #w = :way, #pa = :paid_at, #u = :now REMOVE #ds, #da",
                ConditionExpression="attribute_exists(#pk) AND #s = :created AND #amt = :amount",
                ExpressionAttributeNames={
                    "#pk": "pk",
                    "#s": "status",
                    "#w": "way",
                    "#pa": "paid_at",
                    "#u": "updated_at",
                    "#ds": "due_shard",
                    "#da": "due_at",
                    "#amt": "total_amount",
                },
                ExpressionAttributeValues={
                    ":paid": {"S": "PAID"},
                    ":created": {"S": "CREATED"},
                    ":way": {"N": str(notice["way"] or 0)},
                    ":paid_at": {"N": str(notice["paid_at"] or now)},
                    ":now": {"N": str(now)},
                    ":amount": {"N": str(notice["total_amount"])},
                },
            )
        except client.exceptions.ConditionalCheckFailedException:
            return "not_applied"
        return "applied"


class PowertoolsEnvironment:
    """One execution environment of the common way. :meth:`handle` returns ``applied`` (the
    decorated function ran and its state write succeeded), ``not_applied`` (it ran, the write's
    condition failed), ``replay`` (Powertools returned the stored result, from its table or its
    local cache) or ``in_progress`` (a concurrent duplicate)."""

    def __init__(
        self,
        session: Any,
        *,
        idempotency_table: str,
        write: StateWrite,
        function_name: str = "CallbackFunction",
    ) -> None:
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent_function

        from local.events import lambda_context
        from local.functions import Functions

        self.client = session.client("dynamodb")
        self.calls: Counter[str] = Counter()
        self.client.meta.events.register("before-call", self._count)
        persistence = DynamoDBPersistenceLayer(table_name=idempotency_table, boto3_client=self.client)
        self._config = competent_config()
        # A fresh context per invocation, with the template's timeout, as the local stack gives it.
        self._new_context = functools.partial(
            lambda_context, function_name, timeout_ms=Functions.timeout_ms(function_name)
        )
        self._ran = False

        @idempotent_function(data_keyword_argument="notice", config=self._config, persistence_store=persistence)
        def process_notice(notice: dict[str, Any]) -> dict[str, Any]:
            self._ran = True
            return {"outcome": write(self.client, notice)}

        self._process = process_notice

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def total_calls(self) -> int:
        return sum(self.calls.values())

    def handle(self, notice: Any, payload: dict[str, Any] | None = None) -> str:
        """Process a verified notice; ``payload`` is the decorated function's input (by default
        what a payment notice's state write needs)."""
        from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

        # Each invocation brings its own context, as Lambda's runtime does: Powertools sets an
        # in-progress record to expire when the invocation's time is up. One context for the
        # environment's whole life would run out after timeout_ms and leave every later record
        # expired at once, open to a concurrent duplicate.
        self._config.register_lambda_context(self._new_context())
        self._ran = False
        try:
            result = self._process(notice=payload if payload is not None else notice_payload(notice))
        except IdempotencyAlreadyInProgressError:
            return "in_progress"
        return result["outcome"] if self._ran else "replay"

    def close(self) -> None:
        self.client.close()
