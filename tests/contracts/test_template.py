"""Offline checks of template.yaml and samconfig.toml.

The SAM template is parsed with cfn-lint's CloudFormation-aware YAML loader (short tags such as
``!Ref``/``!GetAtt``/``!Sub`` become their long ``Ref``/``Fn::*`` forms), translated to plain
CloudFormation with aws-sam-translator (no AWS access: an explicit boto3 session only supplies the
region/partition, local CodeUri/ContentUri are swapped for s3:// URIs, and the managed-policy map is
an empty stub), and the assertions run on the generated resources. cfn-lint runs through its Python
API. Every ``find_*`` checker returns a list of problems; the ``test_checker_*`` tests feed them a
deliberately broken template to prove that they can fail.
"""

from __future__ import annotations

import copy
import json
import re
import tomllib
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.api import ManualArgs, lint
from cfnlint.decode import decode_str
from samtranslator.metrics.metrics import DummyMetricsPublisher, Metrics
from samtranslator.parser.parser import Parser
from samtranslator.translator.arn_generator import ArnGenerator
from samtranslator.translator.translator import Translator
from samtranslator.utils.py27hash_fix import (
    to_py27_compatible_template,
    undo_mark_unicode_str_in_template,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
SAMCONFIG_PATH = ROOT / "samconfig.toml"

FUNCTION_CODE = {
    "CreatePaymentFunction": "functions/create_payment",
    "CreateRefundFunction": "functions/create_refund",
    "CreateSettlementFunction": "functions/create_settlement",
    "QueryFunction": "functions/query",
    "CallbackFunction": "functions/callback",
    "ReconcileFunction": "functions/reconcile",
    "SweeperFunction": "functions/sweeper",
    "PublishEventsFunction": "functions/publish_events",
    "SyncOrdersFunction": "functions/sync_orders",
}
FUNCTIONS = sorted(FUNCTION_CODE)
CREATE_FUNCTIONS = ["CreatePaymentFunction", "CreateRefundFunction", "CreateSettlementFunction"]

ROUTES = {
    ("POST", "/payments"): "CreatePaymentFunction",
    ("POST", "/payments/{out_order_no}/refunds"): "CreateRefundFunction",
    ("POST", "/refunds/{out_refund_no}/audit"): "CreateRefundFunction",
    ("POST", "/payments/{out_order_no}/settlements"): "CreateSettlementFunction",
    ("POST", "/payments/{out_order_no}/fulfilment"): "CreateSettlementFunction",
    ("GET", "/payments/{out_order_no}"): "QueryFunction",
    ("GET", "/refunds/{out_refund_no}"): "QueryFunction",
    ("GET", "/settlements/{out_settle_no}"): "QueryFunction",
}

GLOBAL_ENV = {
    "PAYMENTS_TABLE",
    "DOUYIN_APP_ID",
    "DOUYIN_THIRDPARTY_ID",
    "DOUYIN_ENVIRONMENT",
    "DOUYIN_PROTOCOL",
    "DOUYIN_REFUND_AUDIT",
    "DOUYIN_SECRET_ID",
    "RECONCILE_QUEUE_URL",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
}

TABLE_ARN = {"Fn::GetAtt": ["PaymentsTable", "Arn"]}
QUEUE_ARN = {"Fn::GetAtt": ["ReconcileQueue", "Arn"]}
DLQ_ARN = {"Fn::GetAtt": ["ReconcileDeadLetterQueue", "Arn"]}
SECRET_ARN = {"Fn::If": ["CreatePaymentSecret", {"Ref": "PaymentSecret"}, {"Ref": "ExistingSecretArn"}]}
DUE_INDEX_ARN = {"Fn::Sub": "${PaymentsTable.Arn}/index/reconcile-due"}

# What each role may do is derived from the code: tests/contracts/test_iam_from_code.py.

FORBIDDEN_ACTIONS = {"dynamodb:deleteitem", "dynamodb:scan", "dynamodb:batchwriteitem", "dynamodb:partiqldelete"}
# Not an IAM action at all: a transaction is authorised per contained Put/Update/ConditionCheck.
NONEXISTENT_ACTIONS = {"dynamodb:transactwriteitems", "dynamodb:transactgetitems"}


# ------------------------------------------------------------------------------------------------
# Loading and translating
# ------------------------------------------------------------------------------------------------
def load_sam(text: str) -> dict[str, Any]:
    template, matches = decode_str(text)
    assert not matches, [str(m) for m in matches]
    # decode_str returns str/dict subclasses that carry line marks; make it plain JSON data.
    return json.loads(json.dumps(template))


def translate(sam: dict[str, Any], region: str = "us-east-1") -> dict[str, Any]:
    """SAM -> CloudFormation, offline. An explicit session pins the region (and so the partition)."""
    fragment = copy.deepcopy(sam)
    for name, resource in fragment["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            props["CodeUri"] = f"s3://offline-test-bucket/{name}.zip"
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = f"s3://offline-test-bucket/{name}.zip"
    parameter_values: dict[str, Any] = {}
    to_py27_compatible_template(fragment, parameter_values)
    saved_region = ArnGenerator.BOTO_SESSION_REGION_NAME
    try:
        metrics = Metrics("ServerlessTransform", DummyMetricsPublisher())
        translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region), metrics=metrics)
        out = translator.translate(fragment, parameter_values=parameter_values, get_managed_policy_map=lambda: {})
        metrics.publish()
    finally:
        ArnGenerator.BOTO_SESSION_REGION_NAME = saved_region
    return undo_mark_unicode_str_in_template(out)


@cache
def _raw() -> str:
    return TEMPLATE_PATH.read_text(encoding="utf-8")


@cache
def _sam_json() -> str:
    return json.dumps(load_sam(_raw()))


@cache
def _cfn_json(region: str) -> str:
    return json.dumps(translate(json.loads(_sam_json()), region))


@pytest.fixture
def raw() -> str:
    return _raw()


@pytest.fixture
def sam() -> dict[str, Any]:
    return json.loads(_sam_json())


@pytest.fixture
def cfn() -> dict[str, Any]:
    return json.loads(_cfn_json("us-east-1"))


def resources_of(template: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == rtype}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def iam_statements(cfn: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every inline statement of every role / policy in the generated template."""
    for name, res in cfn["Resources"].items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                for st in as_list(policy["PolicyDocument"]["Statement"]):
                    yield name, st
        elif res["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for st in as_list(props["PolicyDocument"]["Statement"]):
                yield name, st


def role_grants(cfn: dict[str, Any], role: str) -> set[tuple[str, str]]:
    pairs = set()
    for name, st in iam_statements(cfn):
        if name == role and st.get("Effect") == "Allow":
            for action in as_list(st["Action"]):
                for resource in as_list(st["Resource"]):
                    pairs.add((action, json.dumps(resource)))
    return pairs


# ------------------------------------------------------------------------------------------------
# Checkers (return problems; tests assert none, self-tests assert they catch a broken template)
# ------------------------------------------------------------------------------------------------
def find_iam_problems(cfn: dict[str, Any]) -> list[str]:
    problems = []
    for name, st in iam_statements(cfn):
        if st.get("Effect") != "Allow":
            continue
        problems += action_problems(name, as_list(st.get("Action", [])))
        if "NotAction" in st or "NotResource" in st:
            problems.append(f"{name}: NotAction/NotResource")
        problems += resource_problems(name, as_list(st.get("Resource", [])))
    return problems


def action_problems(name: str, actions: list[Any]) -> list[str]:
    problems = []
    for action in actions:
        low = str(action).lower()
        if "*" in low:
            problems.append(f"{name}: wildcard action {action}")
        if low in FORBIDDEN_ACTIONS:
            problems.append(f"{name}: forbidden action {action}")
        if low in NONEXISTENT_ACTIONS:
            problems.append(f"{name}: {action} is not an IAM action")
    return problems


def resource_problems(name: str, resources: list[Any]) -> list[str]:
    problems = []
    for resource in resources:
        if isinstance(resource, str) and "*" in resource:
            problems.append(f"{name}: wildcard resource {resource}")
        if isinstance(resource, dict) and "*" in json.dumps(resource):
            problems.append(f"{name}: wildcard in resource {resource}")
    return problems


def find_hardcoded_partitions(text: str) -> list[str]:
    return sorted(set(re.findall(r"arn:aws(?:-cn|-us-gov|-iso[a-z-]*)?:[^\s\"']*", text)))


SECRET_NAME = re.compile(r"SALT|TOKEN|PASSWORD|PRIVATE_?KEY|SECRET", re.IGNORECASE)


def find_secret_leaks(sam: dict[str, Any], cfn: dict[str, Any]) -> list[str]:
    problems = []
    for name, param in sam.get("Parameters", {}).items():
        if param.get("NoEcho"):
            problems.append(f"parameter {name} is NoEcho: secrets belong in Secrets Manager")
        if SECRET_NAME.search(name) and not name.endswith(("Arn", "Id", "Name")):
            problems.append(f"parameter {name} looks like it carries a secret")
        if SECRET_NAME.search(name) and param.get("Default") not in (None, ""):
            problems.append(f"parameter {name} has a default value")
    for fname, fn in resources_of(cfn, "AWS::Lambda::Function").items():
        variables = fn["Properties"].get("Environment", {}).get("Variables", {})
        for var, value in variables.items():
            if not SECRET_NAME.search(var):
                continue
            if not var.endswith(("_ID", "_ARN", "_NAME")):
                problems.append(f"{fname}: environment variable {var} looks like a secret value")
            elif isinstance(value, str):
                problems.append(f"{fname}: {var} is a literal {value!r}, expected a reference")
    return problems


# ------------------------------------------------------------------------------------------------
# Functions, layer, globals
# ------------------------------------------------------------------------------------------------
def test_exactly_the_expected_functions(sam, cfn):
    sam_fns = resources_of(sam, "AWS::Serverless::Function")
    assert {k: v["Properties"]["CodeUri"] for k, v in sam_fns.items()} == FUNCTION_CODE
    assert sorted(resources_of(cfn, "AWS::Lambda::Function")) == FUNCTIONS


def test_runtime_architecture_handler_and_layer_on_every_function(cfn):
    layers = resources_of(cfn, "AWS::Lambda::LayerVersion")
    assert len(layers) == 1
    ((layer_id, layer),) = layers.items()
    assert layer_id.startswith("DouyinPayLayer")
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert layer["DeletionPolicy"] == "Retain"  # RetentionPolicy: Retain
    for name, fn in resources_of(cfn, "AWS::Lambda::Function").items():
        props = fn["Properties"]
        assert props["Runtime"] == "python3.13", name
        assert props["Architectures"] == ["arm64"], name
        assert props["Handler"] == "app.lambda_handler", name
        assert props["Layers"] == [{"Ref": layer_id}], name
        assert props["LoggingConfig"]["LogFormat"] == "JSON", name
        assert "TracingConfig" not in props, f"{name}: no X-Ray"
        assert props["MemorySize"] == 512, name


def test_layer_build_metadata(sam):
    layer = sam["Resources"]["DouyinPayLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "layers/douyin_pay"
    # A makefile build, so the layer ships bytecode (the python3.13 builder ships none); .ci/sam-check
    # proves on a real `sam build` that every module has its unchecked-hash .pyc.
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["RetentionPolicy"] == "Retain"
    assert (ROOT / "layers/douyin_pay/requirements.txt").is_file()
    makefile = (ROOT / "layers/douyin_pay/Makefile").read_text(encoding="utf-8")
    assert "build-DouyinPayLayer:" in makefile
    assert "--invalidation-mode unchecked-hash" in makefile
    assert "--platform manylinux2014_aarch64" in makefile


def test_timeouts(cfn):
    fns = resources_of(cfn, "AWS::Lambda::Function")
    assert fns["CallbackFunction"]["Properties"]["Timeout"] == 10
    for name in [*CREATE_FUNCTIONS, "QueryFunction"]:
        # one ~10 s platform call must fit, with room for DynamoDB and SQS
        assert 15 <= fns[name]["Properties"]["Timeout"] <= 29, name  # HTTP API integration cap is 30 s


def test_environment_variables(cfn):
    for name, fn in resources_of(cfn, "AWS::Lambda::Function").items():
        env = fn["Properties"]["Environment"]["Variables"]
        assert set(env) >= GLOBAL_ENV, f"{name} misses {GLOBAL_ENV - set(env)}"
        assert env["PAYMENTS_TABLE"] == {"Ref": "PaymentsTable"}
        assert env["DOUYIN_APP_ID"] == {"Ref": "AppId"}
        assert env["DOUYIN_THIRDPARTY_ID"] == {"Ref": "ThirdpartyId"}
        assert env["DOUYIN_ENVIRONMENT"] == {"Ref": "PlatformEnvironment"}
        assert env["DOUYIN_SECRET_ID"] == SECRET_ARN
        assert env["RECONCILE_QUEUE_URL"] == {"Ref": "ReconcileQueue"}
        assert env["POWERTOOLS_SERVICE_NAME"] == "douyin-pay"
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "DouyinPay"
        assert env["POWERTOOLS_LOG_LEVEL"] == {"Ref": "LogLevel"}
        if name in CREATE_FUNCTIONS:
            assert env["CALLBACK_URL"] == {"Fn::GetAtt": ["CallbackFunctionUrl", "FunctionUrl"]}, name
        else:
            assert "CALLBACK_URL" not in env, name


def test_callback_url_is_not_a_global(sam):
    # In Globals it would make the callback function depend on its own URL (a cycle).
    assert "CALLBACK_URL" not in sam["Globals"]["Function"]["Environment"]["Variables"]


def test_lambda_log_level_mapping_covers_every_log_level(sam):
    levels = sam["Parameters"]["LogLevel"]["AllowedValues"]
    mapping = sam["Mappings"]["LambdaLogLevel"]
    assert sorted(mapping) == sorted(levels)
    lambda_levels = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
    assert all(v["Application"] in lambda_levels for v in mapping.values())


def test_every_function_log_group_has_retention(cfn):
    groups = resources_of(cfn, "AWS::Logs::LogGroup")
    named = {json.dumps(g["Properties"].get("LogGroupName")): g["Properties"] for g in groups.values()}
    for fn in FUNCTIONS:
        key = json.dumps({"Fn::Sub": f"/aws/lambda/${{{fn}}}"})
        assert key in named, fn
        assert named[key]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


# ------------------------------------------------------------------------------------------------
# HTTP API
# ------------------------------------------------------------------------------------------------
def test_http_api_routes_map_to_the_right_functions_with_iam_auth(cfn):
    ((api_id, api),) = resources_of(cfn, "AWS::ApiGatewayV2::Api").items()
    assert api_id == "PaymentsApi"
    body = api["Properties"]["Body"]
    scheme = body["components"]["securitySchemes"]["AWS_IAM"]
    assert scheme["x-amazon-apigateway-authtype"] == "awsSigv4"
    routes = {}
    for path, methods in body["paths"].items():
        for method, op in methods.items():
            uri = op["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
            fn = re.search(r"functions/\$\{(\w+)\.Arn\}/invocations", uri).group(1)
            routes[(method.upper(), path)] = fn
            assert op["security"] == [{"AWS_IAM": []}], (method, path)
            assert op["x-amazon-apigateway-integration"]["payloadFormatVersion"] == "2.0"
    assert routes == ROUTES


def test_http_api_invoke_permissions_are_scoped_per_route(cfn):
    perms = resources_of(cfn, "AWS::Lambda::Permission")
    api_perms = [p["Properties"] for p in perms.values() if p["Properties"]["Principal"] == "apigateway.amazonaws.com"]
    assert len(api_perms) == len(ROUTES)
    for p in api_perms:
        source = p["SourceArn"]["Fn::Sub"][0]
        assert source.startswith("arn:${AWS::Partition}:execute-api:")
        assert "/*/*" not in source


def test_http_api_stage_logs_and_throttles(cfn):
    (stage,) = resources_of(cfn, "AWS::ApiGatewayV2::Stage").values()
    props = stage["Properties"]
    assert props["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["PaymentsApiAccessLogGroup", "Arn"]}
    json.loads(props["AccessLogSettings"]["Format"].replace("$context", "context"))
    assert props["DefaultRouteSettings"]["ThrottlingRateLimit"] <= 30
    # The access log is the audit trail of who called the API: `sam delete` must not take it.
    group = cfn["Resources"]["PaymentsApiAccessLogGroup"]
    assert group["DeletionPolicy"] == "Retain"
    assert group["UpdateReplacePolicy"] == "Retain"


# ------------------------------------------------------------------------------------------------
# Callback Function URL
# ------------------------------------------------------------------------------------------------
def test_callback_function_url_is_public_with_both_permissions(cfn):
    ((url_id, url),) = resources_of(cfn, "AWS::Lambda::Url").items()
    assert url_id == "CallbackFunctionUrl"
    assert url["Properties"]["TargetFunctionArn"] == {"Ref": "CallbackFunction"}
    assert url["Properties"]["AuthType"] == "NONE"
    assert "Cors" not in url["Properties"]
    public = [
        p["Properties"]
        for p in resources_of(cfn, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "*"
    ]
    assert all(p["FunctionName"] == {"Ref": "CallbackFunction"} for p in public)
    by_action = {p["Action"]: p for p in public}
    assert set(by_action) == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    assert by_action["lambda:InvokeFunctionUrl"]["FunctionUrlAuthType"] == "NONE"
    assert by_action["lambda:InvokeFunction"]["InvokedViaFunctionUrl"] is True


def test_callback_has_reserved_concurrency(sam, cfn):
    props = resources_of(cfn, "AWS::Lambda::Function")["CallbackFunction"]["Properties"]
    assert props["ReservedConcurrentExecutions"] == {
        "Fn::If": ["ReserveCallbackConcurrency", {"Ref": "CallbackReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
    }
    param = sam["Parameters"]["CallbackReservedConcurrency"]
    assert param["Default"] == 20
    assert sam["Conditions"]["ReserveCallbackConcurrency"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "CallbackReservedConcurrency"}, 0]}]
    }


# ------------------------------------------------------------------------------------------------
# Reconciliation: SQS, event source mapping, schedule
# ------------------------------------------------------------------------------------------------
def mapping_of(cfn, function: str) -> dict:
    (esm,) = [
        m["Properties"]
        for m in resources_of(cfn, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": function}
    ]
    return esm


def test_reconcile_event_source_mapping(sam, cfn):
    props = mapping_of(cfn, "ReconcileFunction")
    assert props["FunctionName"] == {"Ref": "ReconcileFunction"}
    assert props["EventSourceArn"] == QUEUE_ARN
    assert props["BatchSize"] == 10
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "ReconcileMaxConcurrency"}}
    assert 0 < props["MaximumBatchingWindowInSeconds"] <= 5
    param = sam["Parameters"]["ReconcileMaxConcurrency"]
    assert (param["Type"], param["Default"], param["MinValue"]) == ("Number", 5, 2)
    assert "30 QPS" in param["Description"]
    # The platform's query budget (30 QPS per app_id) holds at the parameter's maximum, with room
    # left for ?refresh=true reads: each invocation paces its queries (functions/reconcile).
    from local.functions import load_handler

    reconcile = load_handler("reconcile")
    per_invocation = 1000 / reconcile.DEFAULT_MIN_INTERVAL_MS
    assert "RECONCILE_MIN_INTERVAL_MS" not in json.dumps(sam["Resources"]["ReconcileFunction"])  # the default holds
    assert param["MaxValue"] * per_invocation <= 30 - 5


def test_queues_redrive_visibility_and_retention(cfn):
    queues = resources_of(cfn, "AWS::SQS::Queue")
    assert set(queues) == {
        "ReconcileQueue",
        "ReconcileDeadLetterQueue",
        "PublishFailureQueue",
        "MerchantWebhookDeadLetterQueue",
        "OrderSyncQueue",
        "OrderSyncDeadLetterQueue",
    }
    sync = queues["OrderSyncQueue"]["Properties"]
    assert sync["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["OrderSyncDeadLetterQueue", "Arn"]}
    sync_fn = resources_of(cfn, "AWS::Lambda::Function")["SyncOrdersFunction"]["Properties"]
    assert sync["VisibilityTimeout"] >= 6 * sync_fn["Timeout"]
    assert queues["OrderSyncDeadLetterQueue"]["Properties"]["MessageRetentionPeriod"] == 1209600
    source = queues["ReconcileQueue"]["Properties"]
    dlq = queues["ReconcileDeadLetterQueue"]["Properties"]
    assert not source.get("FifoQueue")
    assert not dlq.get("FifoQueue")
    assert source["RedrivePolicy"]["deadLetterTargetArn"] == DLQ_ARN
    assert source["RedrivePolicy"]["maxReceiveCount"] >= 5
    fn_props = resources_of(cfn, "AWS::Lambda::Function")["ReconcileFunction"]["Properties"]
    window = mapping_of(cfn, "ReconcileFunction")["MaximumBatchingWindowInSeconds"]
    assert source["VisibilityTimeout"] >= 6 * fn_props["Timeout"]
    assert source["VisibilityTimeout"] >= fn_props["Timeout"] + window
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert dlq["MessageRetentionPeriod"] > source.get("MessageRetentionPeriod", 4 * 24 * 3600)
    assert source["SqsManagedSseEnabled"] is True
    assert dlq["SqsManagedSseEnabled"] is True


def test_domain_events_come_from_the_table_stream(cfn):
    table = cfn["Resources"]["PaymentsTable"]["Properties"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    props = mapping_of(cfn, "PublishEventsFunction")
    assert props["EventSourceArn"] == {"Fn::GetAtt": ["PaymentsTable", "StreamArn"]}
    assert props["StartingPosition"] == "TRIM_HORIZON"
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    assert 0 < props["MaximumRetryAttempts"] <= 100
    assert props["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": ["PublishFailureQueue", "Arn"]}}}
    prefixes = {
        json.loads(f["Pattern"])["dynamodb"]["Keys"]["pk"]["S"][0]["prefix"] for f in props["FilterCriteria"]["Filters"]
    }
    assert prefixes == {"ORDER#", "REFUND#", "SETTLE#"}  # the client_token item announces nothing
    env = resources_of(cfn, "AWS::Lambda::Function")["PublishEventsFunction"]["Properties"]["Environment"]["Variables"]
    assert env["EVENT_BUS_NAME"] == {
        "Fn::If": ["CreateEventBus", {"Ref": "PaymentsEventBus"}, {"Ref": "ExistingEventBusName"}]
    }
    assert cfn["Resources"]["PaymentsEventBus"]["Condition"] == "CreateEventBus"


def test_the_optional_merchant_webhook_is_an_api_destination_with_retries_and_a_dead_letter_queue(sam, cfn):
    webhook = {
        "MerchantWebhookConnection",
        "MerchantWebhookDestination",
        "MerchantWebhookRole",
        "MerchantWebhookRule",
        "MerchantWebhookDeadLetterQueue",
        "MerchantWebhookDeadLetterQueuePolicy",
        "MerchantWebhookDeadLetterAlarm",
    }
    assert {name for name in webhook if cfn["Resources"][name].get("Condition") == "HasMerchantWebhook"} == webhook
    assert sam["Conditions"]["HasMerchantWebhook"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "MerchantWebhookUrl"}, ""]}]}
    auth = cfn["Resources"]["MerchantWebhookConnection"]["Properties"]["AuthParameters"]["ApiKeyAuthParameters"]
    assert auth["ApiKeyName"] == {"Ref": "MerchantWebhookAuthHeader"}
    # The header's value is a dynamic reference into the payment secret: never a parameter or in the template.
    assert auth["ApiKeyValue"]["Fn::Sub"][0] == "{{resolve:secretsmanager:${Secret}:SecretString:webhook_auth_value}}"
    (target,) = cfn["Resources"]["MerchantWebhookRule"]["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["MerchantWebhookDestination", "Arn"]}
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] == 86400
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["MerchantWebhookDeadLetterQueue", "Arn"]}}
    [statement] = cfn["Resources"]["MerchantWebhookRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert (statement["Action"], statement["Resource"]) == (
        "events:InvokeApiDestination",
        {"Fn::GetAtt": ["MerchantWebhookDestination", "Arn"]},
    )
    [dlq] = cfn["Resources"]["MerchantWebhookDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert dlq["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["MerchantWebhookRule", "Arn"]}}}
    url = sam["Parameters"]["MerchantWebhookUrl"]
    assert url["Default"] == ""
    assert re.fullmatch(url["AllowedPattern"], "http://example.com/hook") is None
    assert re.fullmatch(url["AllowedPattern"], "https://example.com/hook")


def test_reconcile_knows_its_dead_letter_queue(cfn):
    env = resources_of(cfn, "AWS::Lambda::Function")["ReconcileFunction"]["Properties"]["Environment"]["Variables"]
    assert env["RECONCILE_DLQ_URL"] == {"Ref": "ReconcileDeadLetterQueue"}


def test_sweeper_runs_every_five_minutes(cfn):
    rules = resources_of(cfn, "AWS::Events::Rule")
    (rule,) = [r for r in rules.values() if "ScheduleExpression" in r["Properties"]]
    assert rule["Properties"]["ScheduleExpression"] == "rate(5 minutes)"
    assert [t["Arn"] for t in rule["Properties"]["Targets"]] == [{"Fn::GetAtt": ["SweeperFunction", "Arn"]}]
    invoke = [
        p["Properties"]
        for p in resources_of(cfn, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "events.amazonaws.com"
    ]
    assert [p["FunctionName"] for p in invoke] == [{"Ref": "SweeperFunction"}]


# ------------------------------------------------------------------------------------------------
# DynamoDB
# ------------------------------------------------------------------------------------------------
def test_payments_table(cfn):
    table = cfn["Resources"]["PaymentsTable"]
    props = table["Properties"]
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    attrs = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    assert attrs == {"pk": "S", "sk": "S", "due_shard": "S", "due_at": "N"}
    (gsi,) = props["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "reconcile-due"
    assert gsi["KeySchema"] == [
        {"AttributeName": "due_shard", "KeyType": "HASH"},
        {"AttributeName": "due_at", "KeyType": "RANGE"},
    ]
    assert gsi["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["DeletionProtectionEnabled"] is True


# ------------------------------------------------------------------------------------------------
# IAM
# ------------------------------------------------------------------------------------------------
def test_no_wildcards_deletes_or_scans_in_any_inline_statement(cfn):
    statements = list(iam_statements(cfn))
    assert len(statements) >= len(FUNCTIONS)  # the checker really sees the policies
    assert find_iam_problems(cfn) == []


def test_callback_role_cannot_send_to_sqs(cfn):
    actions = {a for a, _ in role_grants(cfn, "CallbackFunctionRole")}
    assert not any(a.lower().startswith("sqs:") for a in actions)
    arns = resources_of(cfn, "AWS::IAM::Role")["CallbackFunctionRole"]["Properties"]["ManagedPolicyArns"]
    assert not any("SQS" in a for a in arns)


def test_sweeper_queries_only_the_reconcile_index(cfn):
    queries = {r for a, r in role_grants(cfn, "SweeperFunctionRole") if a == "dynamodb:Query"}
    assert queries == {json.dumps(DUE_INDEX_ARN)}


# ------------------------------------------------------------------------------------------------
# Partition awareness
# ------------------------------------------------------------------------------------------------
def test_no_hardcoded_partition_in_the_template(raw):
    assert find_hardcoded_partitions(raw) == []
    assert "${AWS::Partition}" in raw or "!GetAtt" in raw


def test_translation_in_china_region_uses_the_china_partition():
    cn = json.loads(_cfn_json("cn-north-1"))
    text = json.dumps(cn)
    assert [a for a in find_hardcoded_partitions(text) if not a.startswith("arn:aws-cn:")] == []
    roles = resources_of(cn, "AWS::IAM::Role").values()
    managed = [a for r in roles for a in r["Properties"].get("ManagedPolicyArns", [])]
    assert managed
    assert all(a.startswith("arn:aws-cn:iam::aws:policy/") for a in managed)


def test_api_url_output_uses_url_suffix(sam):
    value = sam["Outputs"]["ApiUrl"]["Value"]["Fn::Sub"]
    assert "${PaymentsApi}" in value
    assert "${AWS::URLSuffix}" in value
    assert "amazonaws.com" not in value


# ------------------------------------------------------------------------------------------------
# Secrets
# ------------------------------------------------------------------------------------------------
def test_no_secret_values_in_parameters_or_environment(sam, cfn):
    assert find_secret_leaks(sam, cfn) == []


def test_payment_secret_is_created_with_a_placeholder_only(sam, cfn):
    secret = cfn["Resources"]["PaymentSecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert secret["Condition"] == "CreatePaymentSecret"
    assert json.loads(secret["Properties"]["SecretString"]) == {"salt": "", "tokens": []}
    assert "GenerateSecretString" not in secret["Properties"]
    assert sam["Conditions"]["CreatePaymentSecret"] == {"Fn::Equals": [{"Ref": "ExistingSecretArn"}, ""]}
    assert sam["Parameters"]["ExistingSecretArn"]["Default"] == ""
    assert re.fullmatch(sam["Parameters"]["ExistingSecretArn"]["AllowedPattern"], "")
    assert re.fullmatch(
        sam["Parameters"]["ExistingSecretArn"]["AllowedPattern"],
        "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:douyin/pay-AbCdEf",
    )


# ------------------------------------------------------------------------------------------------
# Parameters, alarms, outputs
# ------------------------------------------------------------------------------------------------
def test_parameters(sam):
    params = sam["Parameters"]
    assert re.fullmatch(params["AppId"]["AllowedPattern"], "tt0123456789abcdef01")
    assert not re.fullmatch(params["AppId"]["AllowedPattern"], "wx0123456789abcdef")
    assert "Default" not in params["AppId"]
    assert params["ThirdpartyId"]["Default"] == ""
    assert params["PlatformEnvironment"]["AllowedValues"] == ["production", "sandbox"]
    assert params["PlatformEnvironment"]["Default"] == "sandbox"
    assert params["LogLevel"]["AllowedValues"] == ["DEBUG", "INFO", "WARNING", "ERROR"]
    assert params["LogLevel"]["Default"] == "INFO"
    assert params["AlarmTopicArn"]["Default"] == ""


def test_alarms(cfn):
    alarms = resources_of(cfn, "AWS::CloudWatch::Alarm")
    for name, alarm in alarms.items():
        props = alarm["Properties"]
        assert props["TreatMissingData"] == "notBreaching", name
        assert props["AlarmActions"] == {
            "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
        }, name

    def metric(props):
        dims = {d["Name"]: d["Value"] for d in props.get("Dimensions", [])}
        return props["Namespace"], props["MetricName"], json.dumps(dims, sort_keys=True)

    by_metric = {metric(a["Properties"]): a["Properties"] for a in alarms.values()}
    dlq = by_metric[
        (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            json.dumps({"QueueName": {"Fn::GetAtt": ["ReconcileDeadLetterQueue", "QueueName"]}}),
        )
    ]
    assert (dlq["ComparisonOperator"], dlq["Threshold"]) == ("GreaterThanThreshold", 0)
    parked = by_metric[
        (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            json.dumps({"QueueName": {"Fn::GetAtt": ["PublishFailureQueue", "QueueName"]}}),
        )
    ]
    assert (parked["ComparisonOperator"], parked["Threshold"]) == ("GreaterThanThreshold", 0)
    lag = by_metric[("AWS/Lambda", "IteratorAge", json.dumps({"FunctionName": {"Ref": "PublishEventsFunction"}}))]
    assert lag["Threshold"] <= 300_000
    for custom in ("CallbackSignatureRejected", "NoticeMismatch"):
        props = by_metric[("DouyinPay", custom, json.dumps({"service": "douyin-pay"}))]
        assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
        assert props["Statistic"] == "Sum"
        assert props["Period"] * props["EvaluationPeriods"] <= 300
    for fn in FUNCTIONS:
        props = by_metric[("AWS/Lambda", "Errors", json.dumps({"FunctionName": {"Ref": fn}}))]
        assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1), fn
    # Handled failures answer 5xx without a Lambda error: the answers themselves are alarmed.
    handled = [
        ("AWS/Lambda", "Url5xxCount", {"FunctionName": {"Ref": "CallbackFunction"}}),
        ("AWS/ApiGateway", "5xx", {"ApiId": {"Ref": "PaymentsApi"}, "Stage": "$default"}),
        ("DouyinPay", "RequestFailed", {"service": "douyin-pay"}),
        ("DouyinPay", "EventsPublishFailed", {"service": "douyin-pay"}),
    ]
    for namespace, name, dims in handled:
        props = by_metric[(namespace, name, json.dumps(dims, sort_keys=True))]
        assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1), name
        assert props["Statistic"] == "Sum", name
        assert props["Period"] * props["EvaluationPeriods"] <= 300, name


FAILURE_METRIC = re.compile(r"Fail|Reject|Mismatch")


def emitted_metric_names() -> set[str]:
    """The literal metric names the code emits (``add_metric(name="...")``, either arm of a
    conditional); names built from an outcome (f-strings) are left out."""
    names = set()
    for path in [*(ROOT / "functions").rglob("*.py"), *(ROOT / "layers/douyin_pay/douyin_pay").rglob("*.py")]:
        for call in re.findall(r"add_metric\(\s*name=(.*?),\s*unit=", path.read_text(encoding="utf-8"), re.S):
            names |= set(re.findall(r'(?<![{\w])"([A-Za-z][A-Za-z0-9_]*)"', call))
    return names


def unalarmed_failure_metrics(cfn: dict[str, Any], emitted: set[str]) -> set[str]:
    alarmed = {
        a["Properties"]["MetricName"]
        for a in resources_of(cfn, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["Namespace"] == "DouyinPay"
    }
    return {name for name in emitted if FAILURE_METRIC.search(name)} - alarmed


def test_every_failure_metric_the_code_emits_is_alarmed(cfn):
    emitted = emitted_metric_names()
    assert {"RequestFailed", "EventsPublishFailed", "CallbackSignatureRejected"} <= emitted  # the scan sees them
    assert unalarmed_failure_metrics(cfn, emitted) == set()


def test_checker_failure_metrics_catch_a_new_one(cfn):
    assert "RefundCallbackFailed" in unalarmed_failure_metrics(cfn, emitted_metric_names() | {"RefundCallbackFailed"})


def test_outputs(sam):
    outputs = sam["Outputs"]
    assert {
        "ApiUrl",
        "CallbackUrl",
        "PaymentsTableName",
        "ReconcileQueueUrl",
        "ReconcileQueueName",
        "DeadLetterQueueName",
        "PaymentSecretArn",
    } <= set(outputs)
    assert outputs["CallbackUrl"]["Value"] == {"Fn::GetAtt": ["CallbackFunctionUrl", "FunctionUrl"]}
    assert outputs["PaymentsTableName"]["Value"] == {"Ref": "PaymentsTable"}
    assert outputs["ReconcileQueueUrl"]["Value"] == {"Ref": "ReconcileQueue"}
    assert outputs["ReconcileQueueName"]["Value"] == {"Fn::GetAtt": ["ReconcileQueue", "QueueName"]}
    assert outputs["DeadLetterQueueName"]["Value"] == {"Fn::GetAtt": ["ReconcileDeadLetterQueue", "QueueName"]}
    assert outputs["PaymentSecretArn"]["Value"] == SECRET_ARN
    # What invoke policies and event rules need, without piecing ARNs together by hand.
    assert outputs["ApiId"]["Value"] == {"Ref": "PaymentsApi"}
    assert outputs["ApiArn"]["Value"] == {
        "Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${PaymentsApi}"
    }
    assert outputs["EventBusName"]["Value"] == {
        "Fn::If": ["CreateEventBus", {"Ref": "PaymentsEventBus"}, {"Ref": "ExistingEventBusName"}]
    }


# ------------------------------------------------------------------------------------------------
# cfn-lint
# ------------------------------------------------------------------------------------------------
def test_cfn_lint_reports_nothing(raw):
    # Informational rules are included on purpose (I3011 wants explicit Deletion/UpdateReplace
    # policies on stateful resources); cn-north-1 checks that every resource exists in aws-cn.
    matches = lint(raw, config=ManualArgs(regions=["us-east-1", "cn-north-1"], include_checks=["I"]))
    assert [f"{m.rule.id} line {m.linenumber}: {m.message}" for m in matches] == []


# ------------------------------------------------------------------------------------------------
# samconfig.toml
# ------------------------------------------------------------------------------------------------
def test_samconfig():
    config = tomllib.loads(SAMCONFIG_PATH.read_text(encoding="utf-8"))
    assert str(config["version"]) == "0.1"
    for env, stack, platform in (("default", "douyin-pay-dev", "sandbox"), ("prod", "douyin-pay-prod", "production")):
        assert config[env]["global"]["parameters"]["stack_name"] == stack
        deploy = config[env]["deploy"]["parameters"]
        assert deploy["capabilities"] == "CAPABILITY_IAM"
        assert deploy["confirm_changeset"] is True
        assert deploy["resolve_s3"] is True
        assert f'PlatformEnvironment="{platform}"' in deploy["parameter_overrides"]
        assert not SECRET_NAME.search(deploy["parameter_overrides"])
        build = config[env]["build"]["parameters"]
        assert build["cached"] is True
        assert build["parallel"] is True


# ------------------------------------------------------------------------------------------------
# Self-tests: the checkers above catch what they are meant to catch
# ------------------------------------------------------------------------------------------------
def _mutated(mutate: Callable[[dict[str, Any]], None]) -> tuple[dict[str, Any], dict[str, Any]]:
    sam = json.loads(_sam_json())
    mutate(sam)
    return sam, translate(sam)


def _add_statement(statement: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def mutate(sam: dict[str, Any]) -> None:
        sam["Resources"]["CallbackFunction"]["Properties"]["Policies"][0]["Statement"].append(statement)

    return mutate


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Action": "dynamodb:DeleteItem", "Resource": TABLE_ARN},
        {"Effect": "Allow", "Action": ["dynamodb:Scan"], "Resource": TABLE_ARN},
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": TABLE_ARN},
        {"Effect": "Allow", "Action": "dynamodb:TransactWriteItems", "Resource": TABLE_ARN},
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"},
    ],
    ids=["delete", "scan", "wildcard-action", "nonexistent-action", "wildcard-resource"],
)
def test_checker_iam_catches(statement):
    _, cfn = _mutated(_add_statement(statement))
    assert find_iam_problems(cfn)


def test_checker_partition_catches_literal_arn():
    assert find_hardcoded_partitions("Resource: arn:aws:sqs:us-east-1:123456789012:q") == [
        "arn:aws:sqs:us-east-1:123456789012:q"
    ]
    assert find_hardcoded_partitions("!Sub arn:${AWS::Partition}:sqs:${AWS::Region}") == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s["Globals"]["Function"]["Environment"]["Variables"].update(DOUYIN_SALT="abc"),
        lambda s: s["Globals"]["Function"]["Environment"]["Variables"].update(DOUYIN_SECRET_ID="abc"),
        lambda s: s["Parameters"].update(CallbackToken={"Type": "String", "NoEcho": True}),
        lambda s: s["Parameters"].update(SaltArn={"Type": "String", "Default": "x"}),
    ],
    ids=["salt-env", "literal-secret-id", "token-parameter", "default-value"],
)
def test_checker_secret_leaks_catches(mutate):
    sam, cfn = _mutated(mutate)
    assert find_secret_leaks(sam, cfn)
