"""Create the stack's DynamoDB table and SQS queues in an emulator (moto) from ``template.yaml``'s
own resource properties, so the local stack and the tests cannot drift from what is deployed.

Also builds the Lambda environment the template gives each function, resolving the references
that matter locally (table name, queue URLs, the secret, the callback URL).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "template.yaml"


@cache
def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as plain data (CloudFormation short tags become ``{"Ref": ...}`` / ``Fn::*``)."""
    from cfnlint.decode import decode_str

    template, matches = decode_str(path.read_text(encoding="utf-8"))
    if matches:
        raise ValueError(f"template.yaml does not parse: {matches}")
    return json.loads(json.dumps(template, default=str))


def resource(logical_id: str, template: dict[str, Any] | None = None) -> dict[str, Any]:
    return (template or load_template())["Resources"][logical_id]


@dataclass(frozen=True)
class Resources:
    table_name: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str
    secret_id: str
    event_bus: str = ""  # the domain events' bus (the template's PaymentsEventBus)
    order_sync_queue_url: str = ""  # ecpay order sync: the rule's target (the template's OrderSyncQueue)
    order_sync_queue_arn: str = ""
    order_sync_dlq_url: str = ""


def create_table(dynamodb: Any, name: str) -> None:
    props = resource("PaymentsTable")["Properties"]
    kwargs: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props["BillingMode"],
    }
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if props.get("StreamSpecification"):
        kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    dynamodb.create_table(**kwargs)
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)


def _queue_attributes(props: dict[str, Any], arns: dict[str, str]) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for key, value in props.items():
        if key == "RedrivePolicy":
            target = value["deadLetterTargetArn"]
            if isinstance(target, dict):  # {"Fn::GetAtt": ["ReconcileDeadLetterQueue", "Arn"]}
                target = arns[target["Fn::GetAtt"][0]]
            attributes[key] = json.dumps({"deadLetterTargetArn": target, "maxReceiveCount": value["maxReceiveCount"]})
        elif key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds"):
            attributes[key] = str(value)
        # SqsManagedSseEnabled and other cloud-only settings have no local meaning.
    return attributes


def create_queues(
    sqs: Any, prefix: str, logical_ids: tuple[str, str] = ("ReconcileDeadLetterQueue", "ReconcileQueue")
) -> tuple[str, str, str, str]:
    """(queue_url, queue_arn, dlq_url, dlq_arn) of a queue and its DLQ, named (DLQ, queue) as in the
    template; the DLQ first because the queue's redrive names it."""
    arns: dict[str, str] = {}
    urls: dict[str, str] = {}
    dlq_id, queue_id = logical_ids
    for logical_id in logical_ids:
        props = resource(logical_id)["Properties"]
        url = sqs.create_queue(QueueName=f"{prefix}-{logical_id}", Attributes=_queue_attributes(props, arns))[
            "QueueUrl"
        ]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        urls[logical_id], arns[logical_id] = url, arn
    return urls[queue_id], arns[queue_id], urls[dlq_id], arns[dlq_id]


def create_secret(
    secretsmanager: Any,
    name: str,
    salt: str,
    tokens: list[str],
    trade: dict[str, Any] | None = None,
    app_secret: str | None = None,
) -> str:
    """The payment secret in the shape the template documents: ``{"salt", "tokens", "app_secret"}``
    for ecpay (app_secret: the mini-program's AppSecret, for order sync), and
    ``{"trade": {"client_secret", "private_key", "key_version", "platform_public_keys"}}``."""
    value: dict[str, Any] = {"salt": salt, "tokens": tokens}
    if app_secret:
        value["app_secret"] = app_secret
    if trade:
        value["trade"] = trade
    response = secretsmanager.create_secret(Name=name, SecretString=json.dumps(value))
    return response["ARN"]


def provision(
    session: Any,
    *,
    prefix: str,
    salt: str,
    tokens: list[str],
    trade: dict[str, Any] | None = None,
    app_secret: str | None = None,
) -> Resources:
    """Create every stateful resource the functions need, in the emulator ``session`` points at."""
    clients = {name: session.client(name) for name in ("dynamodb", "sqs", "secretsmanager", "events")}
    try:
        table = f"{prefix}-PaymentsTable"
        create_table(clients["dynamodb"], table)
        queue_url, queue_arn, dlq_url, dlq_arn = create_queues(clients["sqs"], prefix)
        secret = create_secret(clients["secretsmanager"], f"{prefix}/payment-secret", salt, tokens, trade, app_secret)
        bus = clients["events"].create_event_bus(Name=f"{prefix}-payments")["EventBusArn"].rsplit("/", 1)[-1]
        sync_url, sync_arn, sync_dlq_url, _ = create_queues(
            clients["sqs"], prefix, ("OrderSyncDeadLetterQueue", "OrderSyncQueue")
        )
        subscribe(clients["events"], bus, "OrderSyncRule", sync_arn)
    finally:
        for client in clients.values():
            client.close()  # no pooled connection may outlive the emulator
    return Resources(table, queue_url, queue_arn, dlq_url, dlq_arn, secret, bus, sync_url, sync_arn, sync_dlq_url)


def subscribe(events: Any, bus: str, rule_id: str, target_arn: str) -> None:
    """The template's rule ``rule_id`` (its own event pattern) on ``bus``, targeting ``target_arn``."""
    props = resource(rule_id)["Properties"]
    events.put_rule(Name=rule_id, EventBusName=bus, EventPattern=json.dumps(props["EventPattern"]))
    events.put_targets(Rule=rule_id, EventBusName=bus, Targets=[{"Id": rule_id, "Arn": target_arn}])


def sqs_batch_size(function: str, template: dict[str, Any] | None = None) -> int:
    """The batch size of ``function``'s SQS event source: an explicit AWS::Lambda::EventSourceMapping
    (the template writes them out to scope the poller's permissions) or a SAM SQS event."""
    template = template or load_template()
    for res in template["Resources"].values():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::Lambda::EventSourceMapping" and props.get("FunctionName") == {"Ref": function}:
            return int(props.get("BatchSize", 10))
    events = (resource(function, template)["Properties"].get("Events") or {}).values()
    return next(int(e["Properties"].get("BatchSize", 10)) for e in events if e["Type"] == "SQS")


FUNCTIONS = {
    "CreatePaymentFunction": "create_payment",
    "CreateRefundFunction": "create_refund",
    "CreateSettlementFunction": "create_settlement",
    "QueryFunction": "query",
    "CallbackFunction": "callback",
    "ReconcileFunction": "reconcile",
    "SweeperFunction": "sweeper",
    "PublishEventsFunction": "publish_events",
    "SyncOrdersFunction": "sync_orders",
}


def function_environment(
    logical_id: str,
    resources: Resources,
    *,
    app_id: str,
    callback_url: str,
    base_url: str,
    thirdparty_id: str = "",
    log_level: str = "INFO",
    protocol: str = "ecpay",
    refund_audit: str = "manual",
    trade_base_url: str = "",
    order_sync: str = "on",
    settle_after: str = "payment",
    settle_cycle_days: int = 7,
) -> dict[str, str]:
    """The environment the template gives ``logical_id``, with references resolved locally.

    Every variable the template names must resolve, so a variable added to the template without
    local support fails loudly here instead of silently missing in the local stack.
    """
    template = load_template()
    variables = dict(template["Globals"]["Function"]["Environment"]["Variables"])
    own = resource(logical_id, template)["Properties"].get("Environment", {}).get("Variables", {})
    variables.update(own)
    refs = {
        "PaymentsTable": resources.table_name,
        "AppId": app_id,
        "ThirdpartyId": thirdparty_id,
        # The trade system has no sandbox (a trade stack must say production); ecpay's simulator
        # stands in for its sandbox.
        "PlatformEnvironment": "production" if protocol == "trade" else "sandbox",
        "Protocol": protocol,
        "RefundAuditPolicy": refund_audit,
        "OrderSync": order_sync,
        "SettleAfter": settle_after,
        "SettleCycleDays": str(settle_cycle_days),
        "OrderSyncQueue": resources.order_sync_queue_url,
        "ReconcileQueue": resources.queue_url,
        "ReconcileDeadLetterQueue": resources.dlq_url,
        "LogLevel": log_level,
    }
    env: dict[str, str] = {}
    for name, value in variables.items():
        if isinstance(value, str):
            env[name] = value
        elif "Ref" in value and value["Ref"] in refs:
            env[name] = refs[value["Ref"]]
        elif "Ref" in value and "Default" in template["Parameters"].get(value["Ref"], {}):
            env[name] = str(template["Parameters"][value["Ref"]]["Default"])  # a stack parameter left as it is
        elif "Fn::If" in value and value["Fn::If"][0] == "CreatePaymentSecret":  # created or existing
            env[name] = resources.secret_id
        elif "Fn::If" in value and value["Fn::If"][0] == "CreateEventBus":
            env[name] = resources.event_bus
        elif "Fn::GetAtt" in value and value["Fn::GetAtt"][0] == "CallbackFunctionUrl":
            env[name] = callback_url
        else:
            raise ValueError(f"{logical_id}: no local value for {name} = {value}")
    # Local only: the platform is the simulator on loopback.
    env["DOUYIN_BASE_URL"] = base_url
    if trade_base_url:
        env["DOUYIN_TRADE_BASE_URL"] = trade_base_url
    return env
