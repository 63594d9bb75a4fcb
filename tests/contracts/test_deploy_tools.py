"""The deploy tools: `make deploy` / `make destroy` (local/deploy.py), `make secret`
(scripts/put_secret.py), and the docs that must keep up with the template and the Makefile.

No AWS account: the make targets run with DRY_RUN=1 (or a fake `sam` that records its arguments),
and put_secret.py runs against moto."""

from __future__ import annotations

import builtins
import getpass
import importlib.util
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from local import deploy
from local.rsa_keys import new_key, public_pem

REPO = Path(__file__).resolve().parents[2]
APP_ID = "tt0123456789abcdef"
TOPIC = "arn:aws:sns:us-east-1:123456789012:douyin-pay-alarms"
MAKE = shutil.which("make") or "make"


def make(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ENV", "MAKEFLAGS", "MFLAGS")}
    return subprocess.run(
        [MAKE, "-s", "--no-print-directory", "-C", str(REPO), *args, f"PYTHON313={sys.executable}"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )


def dry_run_commands(stdout: str) -> list[list[str]]:
    lines = [line.removeprefix("DRY_RUN: ") for line in stdout.splitlines() if line.startswith("DRY_RUN: ")]
    return [shlex.split(line) for line in lines]


def overrides(command: list[str]) -> dict[str, str]:
    """The parameters sam would receive, parsed the way samconfig writes them (Key="Value")."""
    (value,) = [command[i + 1] for i, arg in enumerate(command) if arg == "--parameter-overrides"]
    return dict(pair.split("=", 1) for pair in shlex.split(value))


def sam_command(commands: list[list[str]], verb: str) -> list[str]:
    (found,) = [c for c in commands if verb in c and c[c.index(verb) - 1].endswith("sam")]
    return found


# -- make deploy ----------------------------------------------------------------------------------


def test_dev_deploy_builds_then_deploys_every_parameter_without_guided_then_lists_outputs():
    result = make("deploy", "DRY_RUN=1", f"APP_ID={APP_ID}")
    assert result.returncode == 0, result.stderr
    commands = dry_run_commands(result.stdout)
    bare = [c[1:] if c[0].startswith("PATH=") else c for c in commands]
    assert [c[1:3] for c in bare] == [["build", "--config-env"], ["deploy", "--config-env"], ["list", "stack-outputs"]]
    build = commands[0]
    # sam build without Docker uses the python3.13 first on PATH, as `make sam-check` arranges.
    assert build[0] == f"PATH={Path(sys.executable).parent}:$PATH"
    deploy_cmd = sam_command(commands, "deploy")
    assert deploy_cmd[deploy_cmd.index("--config-env") + 1] == "default"
    assert deploy_cmd[deploy_cmd.index("--stack-name") + 1] == "douyin-pay-dev"
    # --parameter-overrides replaces samconfig's list, so the whole list is here.
    assert overrides(deploy_cmd) == {"PlatformEnvironment": "sandbox", "AppId": APP_ID}
    assert "--guided" not in result.stdout
    assert "--no-confirm-changeset" not in deploy_cmd  # the change set is shown and confirmed
    assert "make secret" in result.stdout
    assert "CallbackUrl" in result.stdout


def test_prod_deploy_is_production_with_info_logs_and_the_alarm_topic():
    result = make("deploy", "DRY_RUN=1", "ENV=prod", f"APP_ID={APP_ID}", f"ALARM_TOPIC={TOPIC}", "PROTOCOL=trade")
    assert result.returncode == 0, result.stderr
    deploy_cmd = sam_command(dry_run_commands(result.stdout), "deploy")
    assert deploy_cmd[deploy_cmd.index("--config-env") + 1] == "prod"
    assert deploy_cmd[deploy_cmd.index("--stack-name") + 1] == "douyin-pay-prod"
    assert overrides(deploy_cmd) == {
        "PlatformEnvironment": "production",
        "LogLevel": "INFO",
        "AppId": APP_ID,
        "Protocol": "trade",
        "AlarmTopicArn": TOPIC,
    }
    assert "--guided" not in result.stdout
    assert "make secret ENV=prod" in result.stdout
    assert "client_secret" in result.stdout  # the trade keys are the ones to put


def test_yes_skips_the_change_set_confirmation_and_params_are_appended():
    params = "PARAMS=CallbackReservedConcurrency=0 OrderSync=off"
    result = make("deploy", "DRY_RUN=1", f"APP_ID={APP_ID}", "YES=1", params)
    assert result.returncode == 0, result.stderr
    deploy_cmd = sam_command(dry_run_commands(result.stdout), "deploy")
    assert "--no-confirm-changeset" in deploy_cmd
    assert overrides(deploy_cmd) == {
        "PlatformEnvironment": "sandbox",
        "AppId": APP_ID,
        "CallbackReservedConcurrency": "0",
        "OrderSync": "off",
    }


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["ENV=prod", f"APP_ID={APP_ID}"], "ALARM_TOPIC"),
        (["ENV=prod", f"ALARM_TOPIC={TOPIC}"], "APP_ID"),
        ([], "APP_ID"),
        (["APP_ID=wx123"], "APP_ID"),
        (["ENV=prod", f"APP_ID={APP_ID}", "ALARM_TOPIC=my-topic"], "ALARM_TOPIC"),
        ([f"APP_ID={APP_ID}", "PROTOCOL=trade"], "ENV=prod"),  # the trade system has no sandbox
        ([f"APP_ID={APP_ID}", "PROTOCOL=wechat"], "PROTOCOL"),
        ([f"APP_ID={APP_ID}", "PARAMS=PlatformEnvironment=production"], "PlatformEnvironment"),
        ([f"APP_ID={APP_ID}", "PARAMS=CallbackReservedConcurency=0"], "CallbackReservedConcurency"),
        (["ENV=staging", f"APP_ID={APP_ID}"], "ENV"),
    ],
)
def test_a_deploy_that_would_fail_later_fails_before_any_sam_command(args, named):
    result = make("deploy", "DRY_RUN=1", *args)
    assert result.returncode != 0
    assert named in result.stderr
    assert "DRY_RUN:" not in result.stdout
    assert "sam " not in result.stdout


def test_prod_without_alarm_topic_explains_how_to_create_one():
    result = make("deploy", "DRY_RUN=1", "ENV=prod", f"APP_ID={APP_ID}")
    assert "aws sns create-topic" in result.stderr
    assert "aws sns subscribe" in result.stderr


def test_app_id_and_other_parameters_saved_in_samconfig_are_kept(tmp_path, capsys):
    # A guided deploy saves its answers in samconfig.toml; --parameter-overrides would drop them.
    config = (REPO / "samconfig.toml").read_text(encoding="utf-8")
    saved = 'parameter_overrides = "PlatformEnvironment=\\"sandbox\\" AppId=\\"tt99\\" ThirdpartyId=\\"tp1\\""'
    config = config.replace('parameter_overrides = "PlatformEnvironment=\\"sandbox\\""', saved, 1)
    assert saved in config
    (tmp_path / "samconfig.toml").write_text(config, encoding="utf-8")
    status = deploy.main(["deploy", "--dry-run", "--samconfig", str(tmp_path / "samconfig.toml")])
    assert status == 0
    deploy_cmd = sam_command(dry_run_commands(capsys.readouterr().out), "deploy")
    assert overrides(deploy_cmd) == {"PlatformEnvironment": "sandbox", "AppId": "tt99", "ThirdpartyId": "tp1"}


def fake_sam(tmp_path: Path, *, fail_on: str = "") -> tuple[Path, Path]:
    """A `sam` that records each call (its arguments and the first PATH entry) and succeeds,
    except for the verb ``fail_on``."""
    log = tmp_path / "calls.log"
    script = tmp_path / "sam"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "${{PATH%%:*}} $*" >> {shlex.quote(str(log))}\n'
        f'[ "$1" = {shlex.quote(fail_on or "-")} ] && exit 3\n'
        "exit 0\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script, log


def test_a_real_deploy_runs_build_deploy_and_outputs_in_order_and_stops_at_a_failure(tmp_path):
    sam, log = fake_sam(tmp_path)
    args = ["deploy", "--sam", str(sam), "--app-id", APP_ID, "--python313", "/opt/py313/bin/python3.13"]
    assert deploy.main(args) == 0
    calls = log.read_text().splitlines()
    assert [c.split()[1] for c in calls] == ["build", "deploy", "list"]
    assert calls[0].split()[0] == "/opt/py313/bin"  # python3.13 first on PATH for the build

    log.unlink()
    sam, log = fake_sam(tmp_path, fail_on="build")
    assert deploy.main(args) == 3
    assert [c.split()[1] for c in log.read_text().splitlines()] == ["build"]


# -- make destroy ---------------------------------------------------------------------------------


def test_destroy_dry_run_says_what_is_kept_and_prints_the_sam_delete_command():
    result = make("destroy", "DRY_RUN=1", "ENV=prod")
    assert result.returncode == 0, result.stderr
    for kept in ("DynamoDB table", "--no-deletion-protection-enabled", "access log group", "layer versions"):
        assert kept in result.stdout
    assert "DELETES the payment secret" in result.stdout
    assert "ExistingSecretArn" in result.stdout
    delete = sam_command(dry_run_commands(result.stdout), "delete")
    assert delete[delete.index("--config-env") + 1] == "prod"
    assert delete[delete.index("--stack-name") + 1] == "douyin-pay-prod"
    # The kept resources' physical names are listed before the question.
    assert sam_command(dry_run_commands(result.stdout), "list")[2] == "resources"


@pytest.mark.parametrize(("answer", "deleted"), [("douyin-pay-dev", True), ("yes", False), ("", False)])
def test_destroy_deletes_only_when_the_stack_name_is_typed(tmp_path, monkeypatch, answer, deleted):
    sam, log = fake_sam(tmp_path)
    monkeypatch.setattr(builtins, "input", lambda _label: answer)
    status = deploy.main(["destroy", "--sam", str(sam)])
    verbs = [c.split()[1] for c in log.read_text().splitlines()]
    assert verbs == (["list", "delete"] if deleted else ["list"])
    assert status == (0 if deleted else 1)


# -- make help, docs ------------------------------------------------------------------------------


def test_every_target_make_help_names_exists():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    rules = set(re.findall(r"^([A-Za-z][\w-]*)\s*:(?!=)", makefile, flags=re.MULTILINE))
    shown = make("help").stdout
    named = set(re.findall(r"^make ([a-z][\w-]*)", shown, flags=re.MULTILINE))
    assert {"deploy", "secret", "destroy"} <= named
    assert named <= rules, f"make help names targets that do not exist: {sorted(named - rules)}"


def alarm_ids() -> list[str]:
    template = (REPO / "template.yaml").read_text(encoding="utf-8")
    return re.findall(r"^  ([A-Za-z0-9]+):\n    Type: AWS::CloudWatch::Alarm$", template, flags=re.MULTILINE)


def test_operations_doc_names_every_alarm_of_the_template():
    ids = alarm_ids()
    assert len(ids) >= 20  # the parse found them
    operations = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    missing = [a for a in ids if f"`{a}`" not in operations]
    assert not missing, f"docs/operations.md does not explain {missing}"


def test_deploy_doc_exists_where_samconfig_points():
    assert "docs/deploy.md" in (REPO / "samconfig.toml").read_text(encoding="utf-8")
    text = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    for topic in ("make deploy", "make secret", "make destroy", "--guided", "Is this okay", "AlarmTopicArn"):
        assert topic in text


# -- make secret (scripts/put_secret.py) ----------------------------------------------------------


def load_put_secret():
    spec = importlib.util.spec_from_file_location("put_secret", REPO / "scripts" / "put_secret.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["put_secret"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


put_secret = load_put_secret()

SALT = "SALT-7f3a9c1e"
OLD_TOKEN = "TOKEN-old-5b2d"
NEW_TOKEN = "TOKEN-new-8e41"
APP_SECRET = "APPSECRET-c0ffee"
ORIGIN = "ORIGIN-" + "k" * 40
VALUES = (SALT, OLD_TOKEN, NEW_TOKEN, APP_SECRET, ORIGIN, "BEGIN PRIVATE KEY", "MII")


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        yield boto3.client("secretsmanager")


def new_secret(client, value: dict) -> str:
    return client.create_secret(Name="douyin-pay-test", SecretString=json.dumps(value))["ARN"]


def stored(client, arn: str) -> dict:
    return json.loads(client.get_secret_value(SecretId=arn)["SecretString"])


def answer(monkeypatch, hidden: dict[str, str], plain: dict[str, str] | None = None) -> list[str]:
    """Answer getpass and input prompts by the field name each label starts with (Enter otherwise)."""
    asked: list[str] = []

    def reply(table):
        def prompt(label: str) -> str:
            asked.append(label)
            return next((v for k, v in table.items() if label.startswith(k)), "")

        return prompt

    monkeypatch.setattr(getpass, "getpass", reply(hidden))
    monkeypatch.setattr(builtins, "input", reply(plain or {}))
    return asked


def assert_no_value_printed(capsys):
    captured = capsys.readouterr()
    for value in VALUES:
        assert value not in captured.out + captured.err
    return captured


def test_prompts_merge_into_the_stored_secret_and_keep_the_previous_token(aws, monkeypatch, capsys):
    arn = new_secret(aws, {"salt": SALT, "tokens": [OLD_TOKEN], "app_secret": APP_SECRET})
    asked = answer(monkeypatch, {"tokens": NEW_TOKEN}, {"Keep the 1 previous token": "y"})
    assert put_secret.main(["--secret-id", arn]) == 0
    assert stored(aws, arn) == {"salt": SALT, "tokens": [NEW_TOKEN, OLD_TOKEN], "app_secret": APP_SECRET}
    assert any(label.startswith("salt") for label in asked)  # through getpass: never echoed
    out = assert_no_value_printed(capsys).out
    assert "tokens (2)" in out
    assert "Kept as stored: app_secret, salt" in out


def test_dropping_the_previous_token_is_a_choice(aws, monkeypatch, capsys):
    arn = new_secret(aws, {"salt": SALT, "tokens": [OLD_TOKEN], "app_secret": APP_SECRET})
    answer(monkeypatch, {"tokens": NEW_TOKEN}, {"Keep the": "n"})
    assert put_secret.main(["--secret-id", arn]) == 0
    assert stored(aws, arn)["tokens"] == [NEW_TOKEN]
    assert_no_value_printed(capsys)


def test_the_placeholder_is_filled_from_prompts(aws, monkeypatch, capsys):
    arn = new_secret(aws, {"salt": "", "tokens": []})  # what the stack creates
    answer(monkeypatch, {"salt": SALT, "tokens": NEW_TOKEN, "app_secret": APP_SECRET, "callback_origin": ORIGIN})
    assert put_secret.main(["--secret-id", arn]) == 0
    assert stored(aws, arn) == {
        "salt": SALT,
        "tokens": [NEW_TOKEN],
        "app_secret": APP_SECRET,
        "callback_origin_secret": ORIGIN,
    }
    assert_no_value_printed(capsys)


@pytest.mark.parametrize(
    ("hidden", "reason"),
    [
        ({"tokens": f" {NEW_TOKEN}"}, "white space"),  # pasted with a space: every callback would look forged
        ({"tokens": f"{NEW_TOKEN}\n"}, "white space"),
        ({"salt": f"{SALT} "}, "white space"),
        ({"app_secret": f" {APP_SECRET}"}, "app_secret"),
        ({"callback_origin": "short"}, "callback_origin_secret"),
    ],
)
def test_a_padded_or_short_value_is_refused_and_nothing_is_written(aws, monkeypatch, capsys, hidden, reason):
    before = {"salt": SALT, "tokens": [OLD_TOKEN], "app_secret": APP_SECRET}
    arn = new_secret(aws, before)
    answer(monkeypatch, hidden, {"Keep the": "y"})
    assert put_secret.main(["--secret-id", arn]) == 1
    assert stored(aws, arn) == before
    assert reason in assert_no_value_printed(capsys).err


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ({"salt": SALT, "tokens": NEW_TOKEN, "app_secret": APP_SECRET}, "must be a JSON list"),
        ({"salt": SALT, "tokens": [], "app_secret": APP_SECRET}, "no callback token"),
        ({"salt": SALT, "token": [NEW_TOKEN], "app_secret": APP_SECRET}, "unknown field(s) token"),
    ],
)
def test_a_file_with_a_bare_string_tokens_or_a_typo_is_refused(aws, tmp_path, capsys, content, reason):
    arn = new_secret(aws, {"salt": "", "tokens": []})
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(json.dumps(content), encoding="utf-8")
    assert put_secret.main(["--secret-id", arn, "--file", str(keys_file), "--replace"]) == 1
    assert stored(aws, arn) == {"salt": "", "tokens": []}
    assert reason in assert_no_value_printed(capsys).err


def test_replace_overwrites_what_was_stored(aws, tmp_path, capsys):
    arn = new_secret(aws, {"salt": "x", "tokens": ["y"], "app_secret": "z", "webhook_auth_value": "w"})
    content = {"salt": SALT, "tokens": [NEW_TOKEN], "app_secret": APP_SECRET}
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(json.dumps(content), encoding="utf-8")
    assert put_secret.main(["--secret-id", arn, "--file", str(keys_file), "--replace"]) == 0
    assert stored(aws, arn) == content
    out = assert_no_value_printed(capsys).out
    assert f"delete {keys_file}" in out


def test_a_file_merges_without_replace(aws, tmp_path, capsys):
    arn = new_secret(aws, {"salt": SALT, "tokens": [OLD_TOKEN], "app_secret": APP_SECRET})
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(json.dumps({"webhook_auth_value": "hook-value-1"}), encoding="utf-8")
    assert put_secret.main(["--secret-id", arn, "--file", str(keys_file)]) == 0
    assert stored(aws, arn) == {
        "salt": SALT,
        "tokens": [OLD_TOKEN],
        "app_secret": APP_SECRET,
        "webhook_auth_value": "hook-value-1",
    }
    assert "make deploy again" in assert_no_value_printed(capsys).out


STACK_TEMPLATE = {
    "Parameters": {"Protocol": {"Type": "String"}, "OrderSync": {"Type": "String"}, "Secret": {"Type": "String"}},
    "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
    "Outputs": {"PaymentSecretArn": {"Value": {"Ref": "Secret"}}},
}


def new_stack(name: str, secret_arn: str, protocol: str, order_sync: str = "on") -> None:
    params = {"Protocol": protocol, "OrderSync": order_sync, "Secret": secret_arn}
    boto3.client("cloudformation").create_stack(
        StackName=name,
        TemplateBody=json.dumps(STACK_TEMPLATE),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
    )


def test_the_stack_names_the_secret_and_its_protocol_trade_keys_from_pem_files(aws, monkeypatch, tmp_path, capsys):
    arn = new_secret(aws, {"salt": "", "tokens": []})
    new_stack("douyin-pay-prod", arn, "trade")
    app_key = new_key()
    platform_key = public_pem(new_key())
    (tmp_path / "app.pem").write_text(app_key, encoding="ascii")
    (tmp_path / "platform.pem").write_text(platform_key, encoding="ascii")
    answer(
        monkeypatch,
        {"trade.client_secret": APP_SECRET},
        {
            "trade.private_key": str(tmp_path / "app.pem"),
            "trade.key_version": "2",
            "trade.platform_public_keys": str(tmp_path / "platform.pem"),
        },
    )
    assert put_secret.main(["--env", "prod"]) == 0
    assert stored(aws, arn) == {
        "salt": "",
        "tokens": [],
        "trade": {
            "client_secret": APP_SECRET,
            "private_key": app_key,
            "key_version": "2",
            "platform_public_keys": [platform_key],
        },
    }
    assert_no_value_printed(capsys)


def test_a_trade_key_the_bundle_cannot_read_is_refused(aws, monkeypatch, tmp_path, capsys):
    arn = new_secret(aws, {"salt": "", "tokens": []})
    new_stack("douyin-pay-prod", arn, "trade")
    (tmp_path / "app.pem").write_text(public_pem(new_key()), encoding="ascii")  # the public half by mistake
    (tmp_path / "platform.pem").write_text(public_pem(new_key()), encoding="ascii")
    answer(
        monkeypatch,
        {"trade.client_secret": APP_SECRET},
        {
            "trade.private_key": str(tmp_path / "app.pem"),
            "trade.key_version": "1",
            "trade.platform_public_keys": str(tmp_path / "platform.pem"),
        },
    )
    assert put_secret.main(["--env", "prod"]) == 1
    assert stored(aws, arn) == {"salt": "", "tokens": []}
    assert "private key" in assert_no_value_printed(capsys).err


def test_order_sync_off_needs_no_app_secret(aws, monkeypatch, capsys):
    arn = new_secret(aws, {"salt": "", "tokens": []})
    new_stack("douyin-pay-dev", arn, "ecpay", order_sync="off")
    answer(monkeypatch, {"salt": SALT, "tokens": NEW_TOKEN})
    assert put_secret.main([]) == 0
    assert stored(aws, arn) == {"salt": SALT, "tokens": [NEW_TOKEN]}
    assert_no_value_printed(capsys)


def test_no_stack_is_a_usage_error(aws, monkeypatch, capsys):
    answer(monkeypatch, {})
    assert put_secret.main(["--env", "prod"]) == 2
    assert "douyin-pay-prod" in capsys.readouterr().err
