"""Field validation the way the platform does it (ecpay-spec §3). A failure is err_no 2010.

Each helper reads one field from the decoded request body and either returns a typed value or
raises :class:`Refusal` with an ``err_tips`` that names the field and the rule, so a developer can
fix the request from the answer alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ERR_PARAM = 2010


class Refusal(Exception):
    """The platform answers ``err_no`` with ``err_tips`` (HTTP 200, JSON envelope)."""

    def __init__(self, err_no: int, err_tips: str) -> None:
        super().__init__(f"{err_no}: {err_tips}")
        self.err_no = err_no
        self.err_tips = err_tips


class RawNumber(str):
    """A JSON number with a fraction or exponent, kept as its source text.

    The platform is written in Go and most likely decodes numbers as ``json.Number`` (ecpay-spec
    §5.4), i.e. it signs the number's text; keeping the text lets the signature check do the same.
    It is a ``str`` subclass only so that it can be told apart from a real string field.
    """


def param_error(field: str, rule: str) -> Refusal:
    return Refusal(ERR_PARAM, f"参数错误 invalid parameter {field}: {rule}")


# out_*_no: digits, letters, "_", "-", "*", at most 64 (§3.1, §3.5, §3.8).
_NUMBER_RE = re.compile(r"[0-9A-Za-z_*\-]{1,64}")
MAX_AMOUNT = 10_000_000_000  # [1, 10^10] fen (§3.1, §3.8)
VALID_TIME_MIN, VALID_TIME_MAX = 300, 172_800  # clamped, not refused (§3.1)


def is_valid_number(value: object) -> bool:
    return type(value) is str and _NUMBER_RE.fullmatch(value) is not None


def _is_text(value: object) -> bool:
    return isinstance(value, str) and not isinstance(value, RawNumber)


def _is_int(value: object) -> bool:
    # bool is an int subclass in Python; a JSON true/false is not an amount.
    return type(value) is int


def business_no(body: Mapping[str, Any], field: str) -> str:
    value = body.get(field)
    if value is None or value == "":
        raise param_error(field, "required")
    if not _is_text(value):
        raise param_error(field, "must be a string")
    if not is_valid_number(value):
        raise param_error(field, "at most 64 characters of 0-9 A-Z a-z _ - *")
    return value


def text(
    body: Mapping[str, Any],
    field: str,
    *,
    required: bool,
    max_chars: int | None = None,
    max_bytes: int | None = None,
) -> str:
    value = body.get(field)
    if value is None or value == "":
        if required:
            raise param_error(field, "required")
        return ""
    if not _is_text(value):
        raise param_error(field, "must be a string")
    if max_chars is not None and len(value) > max_chars:
        raise param_error(field, f"at most {max_chars} characters")
    if max_bytes is not None and len(value.encode("utf-8")) > max_bytes:
        raise param_error(field, f"at most {max_bytes} bytes (UTF-8)")
    return value


def amount(body: Mapping[str, Any], field: str, *, required: bool = True, minimum: int = 1) -> int:
    value = body.get(field)
    if value is None:
        if required:
            raise param_error(field, "required")
        return 0
    if not _is_int(value):
        raise param_error(field, "must be a JSON integer amount in fen (not a string, float or bool)")
    if not minimum <= value <= MAX_AMOUNT:
        raise param_error(field, f"must be in [{minimum}, {MAX_AMOUNT}]")
    return value


def flag(body: Mapping[str, Any], field: str) -> int:
    """An optional 0/1 number (disable_msg, all_settle)."""
    value = body.get(field)
    if value is None:
        return 0
    if not _is_int(value) or value not in (0, 1):
        raise param_error(field, "must be the number 0 or 1")
    return value


def valid_time(body: Mapping[str, Any]) -> int:
    value = body.get("valid_time")
    if value is None:
        raise param_error("valid_time", "required")
    if not _is_int(value):
        raise param_error("valid_time", "must be a JSON integer (seconds)")
    # §3.1: "<300 is raised to 300, >172800 lowered to 172800".
    return min(max(value, VALID_TIME_MIN), VALID_TIME_MAX)


def notify_url(body: Mapping[str, Any]) -> str:
    value = text(body, "notify_url", required=False, max_chars=256)
    # §3.1: "must start with https"; a bare "https://" is no URL.
    if value and not re.fullmatch(r"https://[^\s/?#]+[^\s]*", value):
        raise param_error("notify_url", "must be an https:// URL")
    return value


def cp_extra(body: Mapping[str, Any], *, truncate: bool) -> str:
    value = text(body, "cp_extra", required=False)
    if len(value) > 2048:
        # create_order truncates an over-long cp_extra (§3.1, [C]); elsewhere the limit is refused.
        if truncate:
            return value[:2048]
        raise param_error("cp_extra", "at most 2048 characters")
    return value


@dataclass(frozen=True)
class Payee:
    merchant_uid: str
    amount: int


def settle_params(body: Mapping[str, Any]) -> tuple[Payee, ...]:
    """§3.5: a *string* holding a JSON array of at most 4 ``{merchant_uid, amount}``."""
    raw = body.get("settle_params")
    if raw is None or raw == "":
        return ()
    if not _is_text(raw):
        raise param_error("settle_params", "must be a string holding a JSON array (not a JSON array)")
    if len(raw) > 2048:
        raise param_error("settle_params", "at most 2048 characters")
    try:
        items = json.loads(raw)
    except ValueError:
        raise param_error("settle_params", "is not valid JSON") from None
    if not isinstance(items, list):
        raise param_error("settle_params", "must be a JSON array")
    if len(items) > 4:
        raise param_error("settle_params", "at most 4 payees")
    payees = [_payee(f"settle_params[{i}]", item) for i, item in enumerate(items)]
    if len({p.merchant_uid for p in payees}) != len(payees):
        raise param_error("settle_params", "a merchant_uid appears twice")
    return tuple(payees)


def _payee(where: str, item: object) -> Payee:
    if not isinstance(item, dict):
        raise param_error(where, "must be an object {merchant_uid, amount}")
    uid = merchant_uid(item.get("merchant_uid"), f"{where}.merchant_uid")
    value = item.get("amount")
    if not _is_int(value) or value <= 0:
        raise param_error(f"{where}.amount", "must be a JSON integer > 0 (fen)")
    return Payee(uid, value)


MAX_MERCHANT_UID_CHARS = 32


def merchant_uid(value: object, field: str) -> str:
    """A merchant number: a string of 1-32 characters, all the platform states (§3.5 settle_params,
    §3.8 create_return); no character set, its examples are not all letters and digits."""
    if not _is_text(value) or not value or len(value) > MAX_MERCHANT_UID_CHARS:
        raise param_error(field, f"required string of at most {MAX_MERCHANT_UID_CHARS} characters")
    return value


def finish(body: Mapping[str, Any]) -> bool:
    """settle's ``finish`` (完结分账), typed as a string (DOC-HG, §3.5): "true" marks the settlement
    as the order's last, "false" or absent does not [I: the values are undocumented; these are
    the ones the SDK sends]. Anything else, a JSON boolean included, is refused."""
    value = body.get("finish")
    if value is None or value == "":
        return False
    if not _is_text(value) or value not in ("true", "false"):
        raise param_error("finish", 'must be the string "true" or "false"')
    return value == "true"


_LIMIT_PAY_WAYS = frozenset({"LIMIT_WX", "LIMIT_ALI", "LIMIT_DYZF"})


def limit_pay_way(body: Mapping[str, Any]) -> str:
    value = text(body, "limit_pay_way", required=False, max_chars=64)
    if value and not set(value.split(",")) <= _LIMIT_PAY_WAYS:
        raise param_error("limit_pay_way", "comma-separated LIMIT_WX, LIMIT_ALI, LIMIT_DYZF")
    return value
