"""What the template tells or refuses an operator at deploy time: the production rule that needs an
alarm topic, and the warning output when the public callback runs without a concurrency cap.

The conditions and rules are evaluated here with the parameter values a deploy would pass, by a
small evaluator of the intrinsic functions they use (CloudFormation compares parameter values as
strings: ``!Equals [!Ref CallbackReservedConcurrency, 0]`` is true for the parameter "0")."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import pytest

from tests.contracts.test_template import SAMCONFIG_PATH, _cfn_json, _sam_json


def evaluate(expr: Any, params: dict[str, str], conditions: dict[str, Any]) -> Any:
    if not isinstance(expr, dict):
        return expr
    ((fn, arg),) = expr.items()
    if fn == "Ref":
        return params[arg]
    if fn == "Condition":
        return evaluate(conditions[arg], params, conditions)
    if fn == "Fn::Equals":
        left, right = (evaluate(a, params, conditions) for a in arg)
        return str(left) == str(right)
    if fn == "Fn::Not":
        return not evaluate(arg[0], params, conditions)
    if fn == "Fn::And":
        return all(evaluate(a, params, conditions) for a in arg)
    if fn == "Fn::Or":
        return any(evaluate(a, params, conditions) for a in arg)
    raise AssertionError(f"no evaluator for {fn}")


def parameters(sam: dict[str, Any], **overrides: Any) -> dict[str, str]:
    values = {name: str(p.get("Default", "")) for name, p in sam["Parameters"].items()}
    return values | {k: str(v) for k, v in overrides.items()}


def failed_assertions(cfn: dict[str, Any], params: dict[str, str]) -> list[str]:
    """The AssertDescription of every rule assertion that would refuse these parameters."""
    failed = []
    for rule in cfn.get("Rules", {}).values():
        if "RuleCondition" in rule and not evaluate(rule["RuleCondition"], params, {}):
            continue
        failed += [a["AssertDescription"] for a in rule["Assertions"] if not evaluate(a["Assert"], params, {})]
    return failed


def present_outputs(cfn: dict[str, Any], params: dict[str, str]) -> set[str]:
    conditions = cfn.get("Conditions", {})
    return {
        name
        for name, output in cfn["Outputs"].items()
        if "Condition" not in output or evaluate(conditions[output["Condition"]], params, conditions)
    }


@pytest.fixture
def sam() -> dict[str, Any]:
    return json.loads(_sam_json())


@pytest.fixture
def cfn() -> dict[str, Any]:
    return json.loads(_cfn_json("us-east-1"))


TOPIC = "arn:aws:sns:us-east-1:123456789012:payments-alarms"


# ------------------------------------------------------------------------------------------------
# Production needs an alarm topic
# ------------------------------------------------------------------------------------------------
def test_production_without_an_alarm_topic_is_refused(sam, cfn):
    refused = failed_assertions(cfn, parameters(sam, AppId="tt01", PlatformEnvironment="production"))
    assert len(refused) == 1
    assert "AlarmTopicArn" in refused[0]
    assert "production" in refused[0]


@pytest.mark.parametrize(
    "overrides",
    [
        {"PlatformEnvironment": "production", "AlarmTopicArn": TOPIC},
        {"PlatformEnvironment": "sandbox", "AlarmTopicArn": ""},
        {"PlatformEnvironment": "sandbox", "AlarmTopicArn": TOPIC},
    ],
    ids=["production-with-topic", "sandbox-without", "sandbox-with"],
)
def test_other_combinations_deploy(sam, cfn, overrides):
    assert failed_assertions(cfn, parameters(sam, AppId="tt01", **overrides)) == []


def test_the_alarm_topic_parameter_says_production_needs_it(sam):
    assert "production" in sam["Parameters"]["AlarmTopicArn"]["Description"]
    assert "ProductionNeedsAlarmTopic" in sam["Parameters"]["AlarmTopicArn"]["Description"]


def test_samconfig_prod_says_how_to_pass_the_alarm_topic():
    text = SAMCONFIG_PATH.read_text(encoding="utf-8")
    prod = text.split("[prod.deploy.parameters]", 1)[1]
    comments = "\n".join(line for line in prod.splitlines() if line.lstrip().startswith("#"))
    assert "AlarmTopicArn" in comments
    assert "ProductionNeedsAlarmTopic" in comments
    assert re.search(r"sam deploy --config-env prod --parameter-overrides .*PlatformEnvironment", comments)
    # No account's topic is committed; the file stays valid TOML with the rule's value missing.
    deploy = tomllib.loads(text)["prod"]["deploy"]["parameters"]
    assert "AlarmTopicArn" not in deploy["parameter_overrides"]


def test_checker_rules_catch_a_dropped_rule(sam, cfn):
    cfn.pop("Rules")
    assert failed_assertions(cfn, parameters(sam, AppId="tt01", PlatformEnvironment="production")) == []


# ------------------------------------------------------------------------------------------------
# The callback's concurrency cap
# ------------------------------------------------------------------------------------------------
def test_uncapped_callback_shows_a_warning_output(sam, cfn):
    shown = present_outputs(cfn, parameters(sam, AppId="tt01", CallbackReservedConcurrency=0))
    assert "CallbackConcurrencyWarning" in shown
    text = cfn["Outputs"]["CallbackConcurrencyWarning"]["Value"]
    assert text.startswith("WARNING")
    assert "CallbackReservedConcurrency=0" in text
    assert "no concurrency cap" in text


@pytest.mark.parametrize("reserved", [20, 1, 1000])
def test_a_capped_callback_shows_no_warning(sam, cfn, reserved):
    shown = present_outputs(cfn, parameters(sam, AppId="tt01", CallbackReservedConcurrency=reserved))
    assert "CallbackConcurrencyWarning" not in shown
    assert "CallbackUrl" in shown


def test_the_default_shows_no_warning(sam, cfn):
    assert "CallbackConcurrencyWarning" not in present_outputs(cfn, parameters(sam, AppId="tt01"))


def test_the_warning_and_the_reservation_are_exact_opposites(sam, cfn):
    conditions = cfn["Conditions"]
    for reserved in (0, 1, 20):
        params = parameters(sam, AppId="tt01", CallbackReservedConcurrency=reserved)
        reserve = evaluate(conditions["ReserveCallbackConcurrency"], params, conditions)
        warn = evaluate(conditions["CallbackConcurrencyUncapped"], params, conditions)
        assert reserve != warn, reserved


def test_the_parameter_description_says_zero_removes_the_cap(sam):
    description = sam["Parameters"]["CallbackReservedConcurrency"]["Description"]
    assert "REMOVES the cap" in description
    assert "CallbackConcurrencyWarning" in description
