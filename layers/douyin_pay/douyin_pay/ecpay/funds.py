"""Merchant balance, withdrawal and withdrawal query (ecpay-spec §3.12): fields and typed results.

The three endpoints live under ``/api/apps/ecpay/saas/`` (not ``/v1/``) and are signed like every
ecpay request (MD5 + SALT over the body, app_id / thirdparty_id unsigned). Their shapes are not in
the official pages we can read; they come from three SDKs that copied the doc tables and agree:

* request fields ``merchant_uid``, ``channel_type``, ``withdraw_amount`` (fen), ``out_order_id``,
  ``cp_extra``, and the result-callback URL: SKIT
  (``Models/_Legacy/AppsECPay/SaaS/Withdraw/AppsECPaySaaS*Request.cs``), HeartGarlic/douyin-openapi
  (``douyin_openapi.go``, ``MerchantWithdrawParams``; DOC-HG) and houseme/bytedance
  (``payment/withdraw/domain.go``). The URL field is ``callback`` in DOC-HG and houseme, which copy
  the doc table; SKIT alone names it ``callback_url``: this SDK sends ``callback``;
* ``channel_type``: ``alipay``, ``wx``, ``hz`` (抖音支付), ``yeepay`` (易宝), ``yzt`` (担保支付企业版聚合账户)
  [houseme; DOC-HG lists the first four];
* query_merchant_balance answers ``account_info{online_balance, withdrawable_balacne, freeze_balance}``
  — the misspelt key is what all three SDKs read — and ``settle_info{settle_type (1 bank card,
  2 Alipay), settle_account, bankcard_no, bank_name}``, plus ``merchant_entity`` [DOC-HG, houseme];
* merchant_withdraw answers ``order_id`` (the platform's number) and ``merchant_entity``;
* query_withdraw_order answers ``status`` (SUCCESS / FAIL / PROCESSING / REEXCHANGE: 退票, the bank
  returned the money after a success) and a status text, ``statusMsg`` in DOC-HG and houseme,
  ``status_msg`` in SKIT: either is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NoReturn

from .. import _fields as read
from ..errors import PlatformTransportError, ValidationError
from . import validation as rules
from .request_fields import optional

SAAS_PREFIX = "/api/apps/ecpay/saas/"

WITHDRAW_CHANNELS = frozenset({"alipay", "wx", "hz", "yeepay", "yzt"})


class WithdrawStatus(StrEnum):
    SUCCESS = "SUCCESS"
    FAIL = "FAIL"
    PROCESSING = "PROCESSING"
    REEXCHANGE = "REEXCHANGE"  # 退票: reported successful, then returned by the bank


def _unexpected(key: str, problem: str) -> NoReturn:
    # A 200 answer we cannot read leaves the outcome unknown: retry the identical request.
    raise PlatformTransportError(f"unexpected platform response: {key!r} {problem}")


def channel_type(field: str, value: object) -> str:
    if not isinstance(value, str) or value not in WITHDRAW_CHANNELS:
        raise ValidationError(field, f"must be one of {sorted(WITHDRAW_CHANNELS)}", code="invalid_channel_type")
    return value


def balance_fields(merchant_uid: str, channel: str) -> dict[str, object]:
    return {
        "merchant_uid": rules.merchant_uid("merchant_uid", merchant_uid),
        "channel_type": channel_type("channel_type", channel),
    }


def withdraw_fields(
    merchant_uid: str,
    channel: str,
    withdraw_amount: int,
    out_order_id: str,
    *,
    callback: str | None = None,
    cp_extra: str | None = None,
) -> dict[str, object]:
    """Validated merchant_withdraw fields; ``out_order_id`` is the withdrawal's business number."""
    return {
        **balance_fields(merchant_uid, channel),
        "withdraw_amount": rules.amount("withdraw_amount", withdraw_amount),
        "out_order_id": rules.business_no("out_order_id", out_order_id),
        "callback": optional(rules.https_url, "callback", callback),
        "cp_extra": optional(rules.text, "cp_extra", cp_extra, max_bytes=2048, required=False),
    }


def withdraw_query_fields(merchant_uid: str, channel: str, out_order_id: str) -> dict[str, object]:
    return {
        **balance_fields(merchant_uid, channel),
        "out_order_id": rules.business_no("out_order_id", out_order_id),
    }


def _withdrawable(data: Mapping[str, Any], key: str, fail: read.Fail, *, required: bool = False) -> int | None:
    """The withdrawable balance under the platform's misspelt key, or the correct spelling should
    it ever be fixed; two different values are refused."""
    misspelt = read.as_amount(data, key, fail)
    spelt = read.as_amount(data, "withdrawable_balance", fail)
    if misspelt is not None and spelt is not None and misspelt != spelt:
        fail(key, "disagrees with 'withdrawable_balance'")
    value = misspelt if misspelt is not None else spelt
    if value is None and required:
        fail(key, "is missing")
    return value


def _status_msg(data: Mapping[str, Any], key: str, fail: read.Fail, *, required: bool = False) -> str:
    return read.as_str(data, key, fail) or read.as_str(data, "status_msg", fail)


def _status(data: Mapping[str, Any], key: str, fail: read.Fail, *, required: bool = False) -> WithdrawStatus:
    text = read.as_str(data, key, fail, required=True)
    try:
        return WithdrawStatus(text)
    except ValueError:
        fail(key, f"is not one of {[s.value for s in WithdrawStatus]}")


@dataclass(frozen=True)
class MerchantBalance:
    """query_merchant_balance: the merchant's money on one channel, in fen."""

    online_balance: int = read.wire("online_balance", read.as_amount, required=True)  # 在途: not yet settled
    withdrawable_balance: int = read.wire("withdrawable_balacne", _withdrawable, required=True)
    freeze_balance: int = read.wire("freeze_balance", read.as_amount, required=True)
    settle_type: int | None = None  # 1 bank card, 2 Alipay
    settle_account: str = ""
    bankcard_no: str = ""
    bank_name: str = ""
    merchant_entity: int | None = None

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> MerchantBalance:
        account = read.as_mapping(payload, "account_info", _unexpected)
        if not account:
            _unexpected("account_info", "is missing")
        settle = read.as_mapping(payload, "settle_info", _unexpected)
        return read.build(
            cls,
            account,
            _unexpected,
            settle_type=read.as_int(settle, "settle_type", _unexpected),
            settle_account=read.as_str(settle, "settle_account", _unexpected),
            bankcard_no=read.as_str(settle, "bankcard_no", _unexpected),
            bank_name=read.as_str(settle, "bank_name", _unexpected),
            merchant_entity=read.as_int(payload, "merchant_entity", _unexpected),
        )


@dataclass(frozen=True)
class WithdrawResult:
    """merchant_withdraw: accepted only; the outcome comes by the withdraw callback or the query."""

    order_id: str = read.wire("order_id", read.as_str, required=True)
    merchant_entity: int | None = read.wire("merchant_entity", read.as_int)

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> WithdrawResult:
        return read.build(cls, payload, _unexpected)


@dataclass(frozen=True)
class WithdrawOrderResult:
    """query_withdraw_order."""

    status: WithdrawStatus = read.wire("status", _status, required=True)  # noqa: RUF009 - a str enum, immutable
    status_msg: str = read.wire("statusMsg", _status_msg)

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> WithdrawOrderResult:
        return read.build(cls, payload, _unexpected)
