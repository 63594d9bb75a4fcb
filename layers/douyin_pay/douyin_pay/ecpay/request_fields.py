"""The validated request fields of ecpay's create endpoints (ecpay-spec §3.1, §3.3, §3.5).

Each builder checks every field before anything is signed or sent (a definitive refusal would spend
the business number) and returns the fields with unset ones as None, left out of the body. The
client sends them; the bundle validates and records them first, then sends exactly them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import validation as rules
from .signing import wire_value


@dataclass(frozen=True)
class SettlePayee:
    """A third-party payee of a settlement (not the seller, not the platform)."""

    merchant_uid: str
    amount: int


def order_fields(
    out_order_no: str,
    total_amount: int,
    subject: str,
    body: str,
    valid_time: int,
    *,
    cp_extra: str | None = None,
    notify_url: str | None = None,
    disable_msg: int | None = None,
    msg_page: str | None = None,
    store_uid: str | None = None,
    limit_pay_way: str | None = None,
    expand_order_info: Mapping[str, int] | None = None,
) -> dict[str, object]:
    """Validated create_order fields (unset ones are None and left out of the body).

    ``valid_time`` may be 1..172800 and is sent as given; the platform raises a value under 300 to
    300 (:func:`~douyin_pay.ecpay.validation.effective_valid_time`).
    """
    return {
        "out_order_no": rules.business_no("out_order_no", out_order_no),
        "total_amount": rules.amount("total_amount", total_amount),
        "subject": rules.text("subject", subject, max_chars=42, max_bytes=128),
        "body": rules.text("body", body, max_chars=42, max_bytes=128),
        "valid_time": rules.integer_range("valid_time", valid_time, rules.MIN_VALID_TIME, rules.MAX_VALID_TIME),
        "cp_extra": optional(rules.text, "cp_extra", cp_extra, max_bytes=2048, required=False),
        "notify_url": optional(rules.https_url, "notify_url", notify_url),
        "disable_msg": optional(rules.flag, "disable_msg", disable_msg),
        "msg_page": optional(rules.text, "msg_page", msg_page, max_chars=512, required=False),
        "store_uid": optional(rules.text, "store_uid", store_uid, max_chars=64, required=False),
        "limit_pay_way": optional(rules.limit_pay_way, "limit_pay_way", limit_pay_way),
        "expand_order_info": optional(rules.expand_order_info, "expand_order_info", expand_order_info),
    }


def refund_fields(
    out_order_no: str,
    out_refund_no: str,
    refund_amount: int,
    reason: str,
    *,
    cp_extra: str | None = None,
    notify_url: str | None = None,
    disable_msg: int | None = None,
    msg_page: str | None = None,
    all_settle: int | None = None,
    total_amount: int | None = None,
) -> dict[str, object]:
    """Validated create_refund fields.

    ``total_amount`` (the order's amount, fen) is optional: the field table does not list it, but
    the documented example sends it (DOC-2021: handsomegyr/bytedance ``Ecpay.php``, ``"total_amount":
    19800``) and so does SKIT (``AppsECPayCreateRefundV1Request.TotalAmount``). When given it is
    sent and, like every non-empty field, signed (ecpay-spec §5).
    """
    return {
        "out_order_no": rules.business_no("out_order_no", out_order_no),
        "out_refund_no": rules.business_no("out_refund_no", out_refund_no),
        "total_amount": optional(rules.amount, "total_amount", total_amount),
        "reason": rules.text("reason", reason, max_chars=100),
        "refund_amount": rules.amount("refund_amount", refund_amount),
        "cp_extra": optional(rules.text, "cp_extra", cp_extra, max_bytes=2048, required=False),
        "notify_url": optional(rules.https_url, "notify_url", notify_url),
        "disable_msg": optional(rules.flag, "disable_msg", disable_msg),
        "msg_page": optional(rules.text, "msg_page", msg_page, max_chars=512, required=False),
        "all_settle": optional(rules.flag, "all_settle", all_settle),
    }


def settle_fields(
    out_settle_no: str,
    out_order_no: str,
    settle_desc: str,
    *,
    settle_params: Sequence[SettlePayee | Mapping[str, Any]] | None = None,
    cp_extra: str | None = None,
    notify_url: str | None = None,
    finish: bool | None = None,
) -> dict[str, object]:
    """Validated settle fields; ``settle_params`` is sent (and signed) as one JSON string.

    An empty ``settle_params`` is sent as ``"[]"`` (the seller gets everything); ``finish=True``
    marks the settlement as the order's last (see :func:`~douyin_pay.ecpay.validation.finish`).
    """
    fields: dict[str, object] = {
        "out_settle_no": rules.business_no("out_settle_no", out_settle_no),
        "out_order_no": rules.business_no("out_order_no", out_order_no),
        "settle_desc": rules.text("settle_desc", settle_desc, max_chars=80),
        "settle_params": optional(rules.settle_params, "settle_params", settle_params),
        "cp_extra": optional(rules.text, "cp_extra", cp_extra, max_bytes=2048, required=False),
        "notify_url": optional(rules.https_url, "notify_url", notify_url),
        "finish": optional(rules.finish, "finish", finish),
    }
    if fields["settle_params"] is not None:
        rules.text("settle_params", wire_value("settle_params", fields["settle_params"]), max_chars=2048)
    return fields


def optional[T](check: Callable[..., T], field: str, value: object, **kwargs: Any) -> T | None:
    return None if value is None else check(field, value, **kwargs)
