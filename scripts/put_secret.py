"""Write the payment keys into the stack's secret without putting them on a command line.

    make secret [ENV=prod] [FILE=keys.json] [REPLACE=1] [SECRET_ID=arn:...]
    python scripts/put_secret.py [--env dev|prod] [--file keys.json] [--replace] [--secret-id ARN]
                                 [--protocol ecpay|trade|both] [--region REGION]

The secret is the stack's ``PaymentSecretArn`` output (the stack named in samconfig.toml for ENV),
or ``--secret-id``. Values come from a JSON file (delete it afterwards) or from prompts that do
not echo (``getpass``), so nothing secret reaches the shell history or the process list. They are
merged into the value already stored (``--replace`` starts from nothing), and the result is
checked with the bundle's own readers (EcpaySecrets, TradeSecrets, the trade key parsers, the
origin check) BEFORE anything is written: a bare-string ``tokens`` or a padded token is refused
here, not discovered as a wall of rejected callbacks. No value is ever printed, only field names.

Exit status: 0 written; 1 refused (the result would be invalid; nothing written); 2 usage or
environment (no stack, no credentials, unreadable file).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
for entry in (REPO, REPO / "layers" / "douyin_pay"):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

from douyin_pay.bundle.callback_origin import SECRET_FIELD as ORIGIN_FIELD  # noqa: E402
from douyin_pay.bundle.callback_origin import origin_allowed  # noqa: E402
from douyin_pay.bundle.platforms.ecpay import EcpaySecrets  # noqa: E402
from douyin_pay.bundle.platforms.ecpay_sync import APP_SECRET_KEY  # noqa: E402
from douyin_pay.bundle.platforms.trade import TradeSecrets  # noqa: E402
from douyin_pay.errors import ConfigurationError  # noqa: E402
from douyin_pay.trade import keys  # noqa: E402
from local import deploy  # noqa: E402

EXIT_REFUSED = 1
EXIT_USAGE = 2

WEBHOOK_FIELD = "webhook_auth_value"
# The secret's shape (README "Put the keys into the secret"): a field outside it is a typo.
TOP_LEVEL_FIELDS = frozenset({"salt", "tokens", APP_SECRET_KEY, "trade", WEBHOOK_FIELD, ORIGIN_FIELD})
TRADE_FIELDS = frozenset({"client_secret", "private_key", "key_version", "platform_public_keys"})


class Refused(Exception):
    """The secret would be invalid; the message names the field, never a value (exit 1)."""


class UsageProblem(Exception):
    """Nothing to work on: no stack, no credentials, an unreadable file (exit 2)."""


@dataclass(frozen=True)
class Target:
    secret_id: str
    protocols: frozenset[str]  # whose keys are asked for and required
    order_sync: bool  # ecpay order sync needs app_secret


# -- where -----------------------------------------------------------------------------------------


def stack_target(cloudformation: Any, stack: str) -> Target:
    """The stack's secret and what it needs, from its outputs and parameters."""
    try:
        found = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    except Exception as exc:  # noqa: BLE001 - botocore's errors name the stack, never a secret
        raise UsageProblem(f"cannot read stack {stack}: {exc} (deployed? right region? or give --secret-id)") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}
    params = {p["ParameterKey"]: p.get("ParameterValue", "") for p in found.get("Parameters", [])}
    if not outputs.get("PaymentSecretArn"):
        raise UsageProblem(f"stack {stack} has no PaymentSecretArn output")
    return Target(
        secret_id=outputs["PaymentSecretArn"],
        protocols=frozenset({params.get("Protocol") or "ecpay"}),
        order_sync=params.get("OrderSync", "on") != "off",
    )


def stored_value(secrets: Any, secret_id: str) -> dict[str, Any]:
    try:
        text = secrets.get_secret_value(SecretId=secret_id).get("SecretString") or "{}"
    except Exception as exc:  # noqa: BLE001 - the message names the secret, never its value
        raise UsageProblem(f"cannot read the secret: {exc}") from None
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise UsageProblem("the stored secret is not a JSON object; start again with --replace")
    return value


# -- what ------------------------------------------------------------------------------------------


def file_values(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageProblem(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        # JSONDecodeError's message gives a position, not the text around it.
        raise UsageProblem(f"{path} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(value, dict):
        raise UsageProblem(f"{path} must hold one JSON object")
    return value


@dataclass
class Prompts:
    """The questions, one field at a time. Secrets go through getpass (no echo); file paths and
    key_version are not secret and are read with input. Enter keeps what is stored."""

    secret: Callable[[str], str] = lambda label: getpass.getpass(label)
    plain: Callable[[str], str] = lambda label: input(label)

    def ask(self, stored: Mapping[str, Any], protocols: frozenset[str]) -> dict[str, Any]:
        updates: dict[str, Any] = {}
        if "ecpay" in protocols:
            self._ecpay(stored, updates)
        if "trade" in protocols:
            trade = self._trade(stored.get("trade") if isinstance(stored.get("trade"), dict) else {})
            if trade:
                updates["trade"] = trade
        for name, label in (
            (WEBHOOK_FIELD, "MerchantWebhookUrl's header value (optional)"),
            (ORIGIN_FIELD, "CloudFront origin header value, 32+ characters (optional)"),
        ):
            if value := self.secret(f"{name}: {label} [Enter: keep / none]: "):
                updates[name] = value
        return updates

    def _ecpay(self, stored: Mapping[str, Any], updates: dict[str, Any]) -> None:
        if salt := self.secret("salt: the SALT of the 担保支付 settings [Enter: keep]: "):
            updates["salt"] = salt
        if token := self.secret("tokens: the callback token now set in the console [Enter: keep the list]: "):
            updates["tokens"] = self._with_previous(token, stored.get("tokens"), "token")
        if app_secret := self.secret(f"{APP_SECRET_KEY}: the mini-program's AppSecret (开发设置) [Enter: keep]: "):
            updates[APP_SECRET_KEY] = app_secret

    def _trade(self, stored: Mapping[str, Any]) -> dict[str, Any]:
        trade: dict[str, Any] = {}
        if client_secret := self.secret("trade.client_secret: the AppSecret [Enter: keep]: "):
            trade["client_secret"] = client_secret
        if path := self.plain("trade.private_key: path of the app private key PEM file [Enter: keep]: ").strip():
            trade["private_key"] = _key_file(path)
            trade["key_version"] = self.plain("trade.key_version: that key's version in the console: ").strip()
        if path := self.plain("trade.platform_public_keys: path of the platform public key PEM [Enter: keep]: "):
            key = _key_file(path.strip())
            trade["platform_public_keys"] = self._with_previous(key, stored.get("platform_public_keys"), "key")
        return trade

    def _with_previous(self, new: str, stored: object, what: str) -> list[str]:
        """The new value first; the stored ones after it if the operator keeps them (a rotation:
        notices signed with the old token or platform key keep arriving)."""
        previous = [v for v in stored if isinstance(v, str) and v != new] if isinstance(stored, list) else []
        if not previous:
            return [new]
        keep = self.plain(
            f"Keep the {len(previous)} previous {what}(s) after the new one? During a rotation the old one still "
            "signs notices (ecpay: keep an old token a year; README 'Put the keys into the secret') [Y/n]: "
        )
        return [new, *previous] if keep.strip().lower() in ("", "y", "yes") else [new]


def _key_file(path: str) -> str:
    try:
        return Path(path).expanduser().read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        raise UsageProblem(f"cannot read a PEM key from {path}") from None


def merge(stored: Mapping[str, Any], updates: Mapping[str, Any]) -> dict[str, Any]:
    """``updates`` over ``stored``, the ``trade`` object field by field."""
    merged = dict(stored)
    for name, value in updates.items():
        if name == "trade" and isinstance(value, dict) and isinstance(merged.get("trade"), dict):
            merged["trade"] = {**merged["trade"], **value}
        else:
            merged[name] = value
    return merged


def field_names(updates: Mapping[str, Any]) -> list[str]:
    names = []
    for name, value in updates.items():
        if name == "trade" and isinstance(value, dict):
            names += [f"trade.{inner}" for inner in value]
        elif isinstance(value, list):
            names.append(f"{name} ({len(value)})")
        else:
            names.append(name)
    return names


# -- checked ---------------------------------------------------------------------------------------


def validate(secret: Mapping[str, Any], target: Target) -> None:
    """Raise Refused unless the bundle will read ``secret`` as a stack of ``target``'s protocols
    needs it. The bundle's readers are used so that this and the functions never disagree."""
    unknown = sorted(set(secret) - TOP_LEVEL_FIELDS)
    trade = secret.get("trade")
    if isinstance(trade, dict):
        unknown += sorted(f"trade.{name}" for name in set(trade) - TRADE_FIELDS)
    if unknown:
        raise Refused(f"unknown field(s) {', '.join(unknown)} (README 'Put the keys into the secret')")
    try:
        if "ecpay" in target.protocols or secret.get("salt") or secret.get("tokens"):
            EcpaySecrets.from_mapping(secret)
            _check_app_secret(secret, target)
        if "trade" in target.protocols or "trade" in secret:
            parsed = TradeSecrets.from_mapping(secret)
            keys.private_key(parsed.private_key)
            for key in parsed.platform_public_keys:
                keys.public_key(key)
        origin_allowed({}, secret)  # raises when callback_origin_secret is set but unusable
    except ConfigurationError as exc:
        raise Refused(str(exc)) from None
    webhook = secret.get(WEBHOOK_FIELD)
    if webhook is not None and (not isinstance(webhook, str) or not webhook or webhook != webhook.strip()):
        raise Refused(f"{WEBHOOK_FIELD} must be a non-empty string without white space around it")


def _check_app_secret(secret: Mapping[str, Any], target: Target) -> None:
    value = secret.get(APP_SECRET_KEY)
    if value is None and not target.order_sync:
        return
    if not isinstance(value, str) or not value or value != value.strip():
        raise ConfigurationError(
            f"{APP_SECRET_KEY} is missing or padded: ecpay order sync (OrderSync=on) fetches its access_token with it"
        )


# -- the run ---------------------------------------------------------------------------------------


def put(
    secrets: Any, target: Target, stored: Mapping[str, Any], updates: Mapping[str, Any], *, out=None
) -> dict[str, Any]:
    """Merge, check, write; raises Refused (nothing written) or UsageProblem."""
    result = merge(stored, updates)
    validate(result, target)
    try:
        secrets.put_secret_value(SecretId=target.secret_id, SecretString=json.dumps(result, ensure_ascii=False))
    except Exception as exc:  # noqa: BLE001 - botocore's message names the secret, never the value sent
        raise UsageProblem(f"cannot write the secret: {exc}") from None
    print(f"Wrote {target.secret_id}: set {', '.join(field_names(updates)) or 'nothing new'}", file=out)
    kept = sorted(set(stored) - set(updates))
    if kept:
        print(f"Kept as stored: {', '.join(kept)}", file=out)
    print("The functions cache the secret for up to 5 minutes.", file=out)
    if WEBHOOK_FIELD in updates:
        print(f"{WEBHOOK_FIELD} is read when the stack is deployed: run make deploy again.", file=out)
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[2])
    parser.add_argument("--env", default="dev", help="dev (samconfig [default]) or prod")
    parser.add_argument("--secret-id", default="", help="the secret's ARN or name, instead of the stack's output")
    parser.add_argument("--file", default="", help="a JSON object of values (delete it afterwards)")
    parser.add_argument("--replace", action="store_true", help="start from nothing instead of the stored value")
    parser.add_argument("--protocol", choices=("ecpay", "trade", "both"), default="", help="default: the stack's")
    parser.add_argument("--region", default="")
    parser.add_argument("--samconfig", default=str(REPO / "samconfig.toml"))
    return parser


def resolve_target(args: argparse.Namespace, session: Any) -> Target:
    chosen = {"both": frozenset({"ecpay", "trade"}), "": None}.get(args.protocol, frozenset({args.protocol}))
    if args.secret_id:
        return Target(args.secret_id, chosen or frozenset({"ecpay"}), order_sync=True)
    try:
        env = deploy.environment(args.env)
        stack = deploy.stack_name(deploy.load_samconfig(Path(args.samconfig)), env)
    except deploy.UsageError as exc:
        raise UsageProblem(str(exc)) from None
    target = stack_target(session.client("cloudformation"), stack)
    return Target(target.secret_id, chosen or target.protocols, target.order_sync) if chosen else target


def main(argv: Iterable[str] | None = None, prompts: Prompts | None = None, out=None) -> int:
    import boto3  # here, not at import: --help and the tests' module import need no AWS

    args = _parser().parse_args(None if argv is None else list(argv))
    session = boto3.session.Session(region_name=args.region or None)
    try:
        target = resolve_target(args, session)
        secrets = session.client("secretsmanager")
        stored = {} if args.replace else stored_value(secrets, target.secret_id)
        asked = prompts or Prompts()
        updates = file_values(Path(args.file)) if args.file else asked.ask(stored, target.protocols)
        put(secrets, target, stored, updates, out=out)
    except Refused as exc:
        print(f"Refused, nothing written: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except UsageProblem as exc:
        print(f"make secret: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.file:
        print(f"Now delete {args.file}: it holds the keys in clear (shred -u {args.file}).", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
