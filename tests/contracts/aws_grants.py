"""A pytest plugin that records, per Lambda function, every AWS action the handlers really perform
and on which resource, while the bundle tests (tests/bundle/) drive them against moto.

Load it with ``-p tests.contracts.aws_grants`` and name the output with ``AWS_GRANTS_OUT``. It hooks
the handlers' own boto3 clients (``douyin_pay.bundle.runtime.aws_client``, as local/bench/aws_calls.py
counts them: a botocore event on each client) and knows which function is running from a wrapper
around each handler's ``lambda_handler`` (per thread: the trade simulator's callbacks arrive on the
callback's Function URL in a thread of their own). Calls made outside a handler (test set-up,
inspection through the test's own clients) are not recorded.

Each call becomes the IAM actions it needs (DynamoDB and SQS docs): a transaction needs the action
of each of its items (Put -> PutItem, Update -> UpdateItem, ConditionCheck -> ConditionCheckItem,
Delete -> DeleteItem), a batch the action of its single form (SendMessageBatch -> SendMessage), and
a Query on an index is a Query on that index's ARN.
"""

from __future__ import annotations

import json
import os
import threading
from collections import defaultdict
from typing import Any

_current = threading.local()
_recorded: dict[str, set[tuple[str, str]]] = defaultdict(set)

TRANSACT_ITEM_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Delete": "dynamodb:DeleteItem",
}
BATCH_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
    "TransactGetItems": "GetItem",
}


def logical_id(name: str) -> str:
    """The local stack names resources ``<prefix>-<LogicalId>`` (local/aws_resources.py)."""
    return name.rsplit("/", 1)[-1].split("-", 1)[-1]


def table_resource(params: dict[str, Any]) -> str:
    table = logical_id(params["TableName"])
    return f"{table}/index/{params['IndexName']}" if params.get("IndexName") else table


def grants_of(service: str, operation: str, params: dict[str, Any]) -> set[tuple[str, str]]:
    """(action, resource) pairs one API call needs; resources by the template's logical ids."""
    if service == "dynamodb" and operation == "TransactWriteItems":
        return {
            (TRANSACT_ITEM_ACTIONS[kind], table_resource(body))
            for item in params["TransactItems"]
            for kind, body in item.items()
        }
    if service == "dynamodb" and operation == "TransactGetItems":
        return {("dynamodb:GetItem", table_resource(i["Get"])) for i in params["TransactItems"]}
    if service == "dynamodb" and operation in ("BatchGetItem", "BatchWriteItem"):
        raise AssertionError(f"{operation}: not expected from the handlers; extend grants_of first")
    action = f"{service}:{BATCH_ACTIONS.get(operation, operation)}"
    if service == "dynamodb":
        return {(action, table_resource(params))}
    if service == "sqs":
        return {(action, logical_id(params["QueueUrl"]))}
    if service == "secretsmanager":
        return {(action, "PaymentSecret")}
    if service == "events":
        return {(action, "PaymentsEventBus") for _ in params["Entries"]}
    raise AssertionError(f"no resource rule for {service}:{operation}")


def _record(model: Any, params: dict[str, Any], **_: Any) -> None:
    function = getattr(_current, "function", None)
    if function is not None:
        service = model.service_model.endpoint_prefix
        service = {"streams.dynamodb": "dynamodb"}.get(service, service)
        _recorded[function] |= grants_of(service, model.name, params)


def _hooked_aws_client(original: Any) -> Any:
    def aws_client(service_name: str) -> Any:
        client = original(service_name)
        if not getattr(client, "_grants_hooked", False):
            client.meta.events.register("before-parameter-build", _record)
            client._grants_hooked = True
        return client

    return aws_client


def _attributed(logical: str, handler: Any) -> Any:
    def lambda_handler(event: Any, context: Any) -> Any:
        outer = getattr(_current, "function", None)
        _current.function = logical
        try:
            return handler(event, context)
        finally:
            _current.function = outer

    return lambda_handler


def _recording_secret_reads(original: Any) -> Any:
    """Every read of the payment secret is a GetSecretValue on a cold cache. In one process the
    functions share Powertools' cache, so the call itself is seen only by whichever function
    read first: record the read instead."""

    def secret() -> Any:
        function = getattr(_current, "function", None)
        if function is not None:
            _recorded[function].add(("secretsmanager:GetSecretValue", "PaymentSecret"))
        return original()

    return secret


def _hooked_load_handler(original: Any) -> Any:
    """Wrap each handler module's ``lambda_handler`` when it is first loaded (its module reads the
    environment when imported, so it cannot be loaded here ahead of the tests)."""
    from local.aws_resources import FUNCTIONS

    logical_of = {name: logical for logical, name in FUNCTIONS.items()}

    def load_handler(name: str) -> Any:
        module = original(name)
        if not getattr(module.lambda_handler, "_grants_attributed", False):
            module.lambda_handler = _attributed(logical_of[name], module.lambda_handler)
            module.lambda_handler._grants_attributed = True
        return module

    return load_handler


def install() -> None:
    """Before any conftest imports them: tests/bundle/harness.py binds ``load_handler`` by name."""
    import local.functions
    from douyin_pay.bundle import runtime

    runtime.aws_client = _hooked_aws_client(runtime.aws_client)
    runtime.secret = _recording_secret_reads(runtime.secret)
    local.functions.load_handler = _hooked_load_handler(local.functions.load_handler)


def pytest_unconfigure(config: Any) -> None:
    out = os.environ.get("AWS_GRANTS_OUT")
    if out:
        data = {fn: sorted(map(list, pairs)) for fn, pairs in sorted(_recorded.items())}
        with open(out, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)


if os.environ.get("AWS_GRANTS_OUT"):  # loaded as a plugin (-p) for a recording run
    install()
