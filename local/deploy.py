"""``make deploy`` and ``make destroy``: the SAM commands, with every parameter spelled out.

Why a tool and not ``sam deploy --guided``: the guided deploy asks "Function Url has no
authentication. Is this okay? [y/N]", whose default (N) aborts it, and ``--parameter-overrides``
on the command line *replaces* the list saved in ``samconfig.toml`` instead of merging with it.
So this builds the complete list itself — samconfig's saved values, then what ENV decides
(PlatformEnvironment, LogLevel for prod), then APP_ID / PROTOCOL / ALARM_TOPIC, then PARAMS — and
refuses, before any sam command, what the template would refuse only after a build (no AppId, a
production stack without an alarm topic, a trade stack on the sandbox).

Only the standard library: it runs under the interpreter that builds the functions (python3.13),
before any virtualenv exists. ``--dry-run`` prints the exact commands instead of running them.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The template's own patterns (template.yaml Parameters: AppId, AlarmTopicArn), checked here so a
# typo fails in a second instead of after a build and a change set.
APP_ID_PATTERN = re.compile(r"^tt[0-9A-Za-z]+$")
TOPIC_PATTERN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$")
PROTOCOLS = ("ecpay", "trade")

EXIT_USAGE = 2

CREATE_TOPIC_HELP = """\
A production stack sends its alarms to an SNS topic (template rule ProductionNeedsAlarmTopic). Create one
and subscribe a person (confirm the e-mail), then pass its ARN:
  aws sns create-topic --name douyin-pay-alarms
  aws sns subscribe --topic-arn arn:aws:sns:<region>:<account>:douyin-pay-alarms \\
      --protocol email --notification-endpoint ops@example.com
  make deploy ENV=prod APP_ID=tt... ALARM_TOPIC=arn:aws:sns:<region>:<account>:douyin-pay-alarms
(or add AlarmTopicArn=\\"arn:...\\" to the [prod] parameter_overrides line of samconfig.toml). See docs/deploy.md."""


class UsageError(Exception):
    """A missing or wrong input, reported before any sam command runs (exit 2)."""


@dataclass(frozen=True)
class Environment:
    """One deployment target: ``dev`` = samconfig [default] on the Douyin sandbox, ``prod`` = [prod]."""

    name: str
    config_env: str
    platform: str  # PlatformEnvironment
    fixed: Mapping[str, str] = field(default_factory=dict)  # what ENV decides besides the platform


ENVIRONMENTS = {
    "dev": Environment("dev", "default", "sandbox"),
    "prod": Environment("prod", "prod", "production", {"LogLevel": "INFO"}),
}


def environment(name: str) -> Environment:
    try:
        return ENVIRONMENTS[name]
    except KeyError:
        raise UsageError(f"ENV must be one of {', '.join(ENVIRONMENTS)} (got {name!r})") from None


# -- samconfig.toml and template.yaml -------------------------------------------------------------


def load_samconfig(path: Path) -> dict:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def stack_name(config: Mapping, env: Environment) -> str:
    section = config.get(env.config_env, {})
    for command in ("global", "deploy"):
        name = section.get(command, {}).get("parameters", {}).get("stack_name")
        if isinstance(name, str) and name:
            return name
    raise UsageError(f"samconfig.toml has no stack_name for [{env.config_env}]")


def saved_overrides(config: Mapping, env: Environment) -> dict[str, str]:
    """The parameter_overrides samconfig holds for ENV (a string ``K="v" K2="v2"`` or, as newer
    guided deploys write it, a list of such strings)."""
    raw = config.get(env.config_env, {}).get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
    items = [raw] if isinstance(raw, str) else list(raw)
    return parse_pairs(" ".join(str(item) for item in items), source="samconfig.toml parameter_overrides")


def parse_pairs(text: str, *, source: str) -> dict[str, str]:
    """``Key=Value`` pairs separated by white space, values optionally quoted (shell rules)."""
    pairs: dict[str, str] = {}
    for token in shlex.split(text):
        key, sep, value = token.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z0-9]+", key):
            raise UsageError(f"{source}: {token!r} is not Key=Value")
        pairs[key] = value
    return pairs


def template_parameters(path: Path) -> frozenset[str]:
    """The names under ``Parameters:`` (two-space indent), read without a YAML library: the
    template's CloudFormation tags need a custom loader, and only the names are wanted."""
    names: set[str] = set()
    inside = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if re.fullmatch(r"Parameters:\s*", line):
            inside = True
        elif inside and re.match(r"\S", line):
            break
        elif inside and (match := re.fullmatch(r"  ([A-Za-z0-9]+):\s*", line)):
            names.add(match.group(1))
    return frozenset(names)


# -- the parameter list ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DeployRequest:
    env: Environment
    app_id: str = ""
    protocol: str = ""
    alarm_topic: str = ""
    params: str = ""  # PARAMS: extra Key=Value pairs, appended last


def parameter_list(request: DeployRequest, saved: Mapping[str, str], known: frozenset[str]) -> dict[str, str]:
    """Every parameter the deploy passes, in the order they were decided; raises UsageError for
    what the template would refuse after a build."""
    env = request.env
    extra = parse_pairs(request.params, source="PARAMS")
    if "PlatformEnvironment" in extra:
        raise UsageError("PARAMS may not set PlatformEnvironment: ENV decides it (dev = sandbox, prod = production)")
    chosen = {"AppId": request.app_id, "Protocol": request.protocol, "AlarmTopicArn": request.alarm_topic}
    merged = {**saved, "PlatformEnvironment": env.platform, **env.fixed}
    merged.update({key: value for key, value in chosen.items() if value})
    merged.update(extra)
    if unknown := sorted(set(merged) - known):
        raise UsageError(f"not parameters of template.yaml: {', '.join(unknown)}")
    _check(merged, env)
    return merged


def _check(params: Mapping[str, str], env: Environment) -> None:
    app_id = params.get("AppId", "")
    if not app_id:
        raise UsageError(
            "APP_ID is required: make deploy APP_ID=tt... (the mini-program's app id from the Douyin console; "
            f"or save AppId in the [{env.config_env}] parameter_overrides of samconfig.toml)"
        )
    if not APP_ID_PATTERN.fullmatch(app_id):
        raise UsageError(f"APP_ID must look like tt0123456789abcdef (got {app_id!r})")
    protocol = params.get("Protocol", "ecpay")
    if protocol not in PROTOCOLS:
        raise UsageError(f"PROTOCOL must be ecpay or trade (got {protocol!r})")
    if protocol == "trade" and params["PlatformEnvironment"] != "production":
        # The trade system has no sandbox: a sandbox trade stack answers every request 500.
        raise UsageError("PROTOCOL=trade needs ENV=prod: the trade system has no sandbox (README 'Deploy')")
    topic = params.get("AlarmTopicArn", "")
    if topic and not TOPIC_PATTERN.fullmatch(topic):
        raise UsageError(f"ALARM_TOPIC must be an SNS topic ARN, arn:aws:sns:<region>:<account>:<name> (got {topic!r})")
    if params["PlatformEnvironment"] == "production" and not topic:
        raise UsageError("ALARM_TOPIC is required for ENV=prod.\n" + CREATE_TOPIC_HELP)


def overrides_argument(params: Mapping[str, str]) -> str:
    """One ``--parameter-overrides`` value, ``Key="Value"`` pairs as samconfig writes them."""
    for key, value in params.items():
        if any(c in value for c in "\"'\\") or any(c.isspace() for c in value):
            raise UsageError(f"the value of {key} may not contain quotes, backslashes or white space")
    return " ".join(f'{key}="{value}"' for key, value in params.items())


# -- the commands ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tools:
    sam: str
    python313: str
    region: str = ""

    def build_path(self) -> str:
        """``sam build`` without Docker builds with the python3.13 found first on PATH (as sam-check)."""
        return str(Path(self.python313).parent)

    def region_args(self) -> list[str]:
        return ["--region", self.region] if self.region else []


@dataclass(frozen=True)
class Step:
    argv: list[str]
    path_prefix: str = ""  # put first on PATH

    def shell(self) -> str:
        prefix = f"PATH={shlex.quote(self.path_prefix)}:$PATH " if self.path_prefix else ""
        return prefix + shlex.join(self.argv)

    def environ(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.path_prefix:
            env["PATH"] = self.path_prefix + os.pathsep + env.get("PATH", "")
        return env


def deploy_steps(env: Environment, stack: str, params: Mapping[str, str], tools: Tools, *, confirm: bool) -> list[Step]:
    deploy = [tools.sam, "deploy", "--config-env", env.config_env, "--stack-name", stack]
    deploy += ["--parameter-overrides", overrides_argument(params), "--no-fail-on-empty-changeset"]
    if not confirm:
        deploy.append("--no-confirm-changeset")
    return [
        Step([tools.sam, "build", "--config-env", env.config_env], path_prefix=tools.build_path()),
        Step(deploy + tools.region_args()),
        Step([tools.sam, "list", "stack-outputs", "--stack-name", stack, "--output", "table", *tools.region_args()]),
    ]


def next_steps(env: Environment, params: Mapping[str, str]) -> str:
    protocol = params.get("Protocol", "ecpay")
    keys = (
        "client_secret, private_key, key_version, platform_public_keys"
        if protocol == "trade"
        else "salt, tokens, app_secret"
    )
    topic = params.get("AlarmTopicArn")
    alarm = (
        f"   Confirm a subscription to {topic} (aws sns list-subscriptions-by-topic --topic-arn {topic})."
        if topic
        else "   This stack has no AlarmTopicArn: its alarms notify nobody (ALARM_TOPIC=arn:... to add one)."
    )
    where = (
        "开发 -> 解决方案配置 (payment, refund, settlement, 退款扩展点), then 发布上线"
        if protocol == "trade"
        else "支付设置 -> 回调地址"
    )
    env_arg = "" if env.name == "dev" else f" ENV={env.name}"
    return "\n".join(
        [
            "Next steps (docs/deploy.md):",
            f"1. Put the keys into the secret ({keys}): make secret{env_arg}",
            "   Until then every callback is answered 500 and CallbackUrl5xxAlarm fires.",
            f"2. Register the CallbackUrl output in the Douyin console: {where}.",
            "3. Alarms:",
            alarm,
            "4. Call the API (ApiUrl) with SigV4, from a role allowed execute-api:Invoke on",
            "   ApiArn/$default/<METHOD>/<path> (README 'Call the API from your backend'; examples/sigv4/).",
        ]
    )


KEPT_ON_DELETE = """\
`sam delete` removes the stack {stack} but KEEPS (DeletionPolicy / RetentionPolicy Retain):
  - the DynamoDB table (PaymentsTable): every order, refund and settlement. Deletion protection is on.
    To keep it for a new stack, see docs/deploy.md "Keeping the table across a redeploy".
    To delete it:  aws dynamodb update-table --table-name <table> --no-deletion-protection-enabled
                   aws dynamodb delete-table --table-name <table>
  - the API access log group (PaymentsApiAccessLogGroup): the audit trail of who called what.
    To delete it:  aws logs delete-log-group --log-group-name <group>
  - the layer versions (DouyinPayLayer).
    To delete one: aws lambda delete-layer-version --layer-name <name> --version-number <n>
It DELETES the payment secret the stack created (keys can be re-issued in the Douyin console;
with ExistingSecretArn your secret is not touched), the queues and their messages, the functions'
log groups, the event bus, the alarms and the Callback Function URL (a new stack gets a new URL:
register it again in the Douyin console).
The physical names of what is kept are listed below: note them before confirming."""


def destroy_steps(env: Environment, stack: str, tools: Tools) -> list[Step]:
    region = tools.region_args()
    return [
        Step([tools.sam, "list", "resources", "--stack-name", stack, "--output", "table", *region]),
        Step([tools.sam, "delete", "--config-env", env.config_env, "--stack-name", stack, *region]),
    ]


# -- running --------------------------------------------------------------------------------------


def run(steps: Sequence[Step], *, dry_run: bool, out=None) -> int:
    for step in steps:
        print(("DRY_RUN: " if dry_run else "+ ") + step.shell(), file=out, flush=True)
        if dry_run:
            continue
        result = subprocess.run(step.argv, env=step.environ(), check=False)  # noqa: S603 - argv built above, no shell
        if result.returncode != 0:
            return result.returncode
    return 0


def ensure_sam(tools: Tools, make: str, stamp: str) -> None:
    """Build the SAM CLI's own virtualenv (the Makefile's $(SAM_STAMP)) when it is missing."""
    if not Path(tools.sam).exists():
        subprocess.run([make, "--no-print-directory", stamp], check=True)  # noqa: S603


def confirm_destroy(stack: str) -> bool:
    answer = input(f"Type the stack name ({stack}) to delete it: ")
    return answer.strip() == stack


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local.deploy", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("deploy", "destroy"))
    parser.add_argument("--env", default="dev")
    parser.add_argument("--app-id", default="")
    parser.add_argument("--protocol", default="")
    parser.add_argument("--alarm-topic", default="")
    parser.add_argument("--params", default="")
    parser.add_argument("--region", default="")
    parser.add_argument("--yes", action="store_true", help="deploy without confirming the change set (CI)")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--sam", default=str(ROOT / ".venv-sam" / "bin" / "sam"))
    parser.add_argument("--sam-stamp", default=".venv-sam/.installed")
    parser.add_argument("--make", default="make")
    parser.add_argument("--python313", default=sys.executable)
    parser.add_argument("--samconfig", default=str(ROOT / "samconfig.toml"))
    parser.add_argument("--template", default=str(ROOT / "template.yaml"))
    return parser


def main(argv: Iterable[str] | None = None) -> int:
    args = _parser().parse_args(None if argv is None else list(argv))
    tools = Tools(sam=args.sam, python313=args.python313, region=args.region)
    try:
        env = environment(args.env)
        config = load_samconfig(Path(args.samconfig))
        stack = stack_name(config, env)
        if args.action == "destroy":
            return _destroy(env, stack, tools, args)
        request = DeployRequest(env, args.app_id, args.protocol, args.alarm_topic, args.params)
        params = parameter_list(request, saved_overrides(config, env), template_parameters(Path(args.template)))
        steps = deploy_steps(env, stack, params, tools, confirm=not args.yes)
    except UsageError as exc:
        print(f"make deploy: {exc}" if args.action == "deploy" else f"make destroy: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not args.dry_run:
        ensure_sam(tools, args.make, args.sam_stamp)
    status = run(steps, dry_run=args.dry_run)
    if status == 0:
        print("\n" + next_steps(env, params))
    return status


def _destroy(env: Environment, stack: str, tools: Tools, args: argparse.Namespace) -> int:
    print(KEPT_ON_DELETE.format(stack=stack))
    listing, delete = destroy_steps(env, stack, tools)
    if not args.dry_run:
        ensure_sam(tools, args.make, args.sam_stamp)
    if status := run([listing], dry_run=args.dry_run):
        return status
    if not args.dry_run and not confirm_destroy(stack):
        print("Not deleted.")
        return 1
    return run([delete], dry_run=args.dry_run)


if __name__ == "__main__":
    sys.exit(main())
