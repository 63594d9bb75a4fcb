"""Configuration of the bundle's functions: plain settings from the environment the template sets.
The secrets (the platform's keys) come from Secrets Manager (secret_cache.py), never from the
environment, and never appear in a log line or an error message."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from ..errors import ConfigurationError
from .platforms.protocol import LEGACY_PROTOCOL, PaymentProtocol

PRODUCTION = "production"
SANDBOX = "sandbox"


class SettleAfter(StrEnum):
    """What the settlement cycle (结算周期, set in the Douyin console) counts from."""

    PAYMENT = "payment"  # N days after the payment (the older rule: 7)
    FULFILMENT = "fulfilment"  # N days after fulfilment (核销), POST /payments/{no}/fulfilment


class RefundAudit(StrEnum):
    """What the bundle answers when the platform asks the merchant to audit a refund a user asked
    for (trade system only; trade-spec §4.7). Unanswered, the platform approves it after 72 h."""

    APPROVE = "approve"  # approve at once
    DENY = "deny"  # deny at once
    MANUAL = "manual"  # wait for POST /refunds/{out_refund_no}/audit


@dataclass(frozen=True)
class Settings:
    """One stack's configuration, read once per execution environment by :meth:`from_env`."""

    app_id: str
    table_name: str
    secret_id: str
    environment: str = PRODUCTION
    thirdparty_id: str | None = None
    queue_url: str | None = None
    dlq_url: str | None = None
    callback_url: str | None = None
    # Only for the local stack and tests: point the client at a simulator on loopback.
    base_url_override: str | None = None
    protocol: PaymentProtocol = LEGACY_PROTOCOL  # the protocol new orders are created with
    trade_base_url_override: str | None = None  # the trade system's, like base_url_override
    refund_audit: RefundAudit = RefundAudit.MANUAL
    event_bus: str | None = None  # where the stream's domain events go (the publisher only)
    # ecpay order sync (订单同步): push every ecpay order's status to Douyin, and settle only orders
    # synced as paid or fulfilled, because the platform's settlement depends on that status.
    order_sync: bool = True
    # The settlement cycle: an order may be settled settle_cycle_days after its payment or its
    # fulfilment; before, a settlement is refused here (409) instead of spending a business number.
    settle_after: SettleAfter = SettleAfter.PAYMENT
    settle_cycle_days: int = 7
    # The platform's query limit per app id, and how many reconcile consumers may run at once: the
    # API's share of the limit is what reconciliation leaves (query_budget.py).
    platform_query_qps: int = 30
    reconcile_consumers: int = 5
    # Warn (event, metric) this many days before the platform settles an unsettled ecpay order by
    # itself, 150 days after its payment; 0: no warning, only the check at the deadline.
    auto_settle_warn_days: int = 20

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        def need(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise ConfigurationError(f"environment variable {name} is not set")
            return value

        environment = env.get("DOUYIN_ENVIRONMENT", PRODUCTION).strip() or PRODUCTION
        if environment not in (PRODUCTION, SANDBOX):
            raise ConfigurationError("DOUYIN_ENVIRONMENT must be 'production' or 'sandbox'")
        return cls(
            app_id=need("DOUYIN_APP_ID"),
            table_name=need("PAYMENTS_TABLE"),
            secret_id=need("DOUYIN_SECRET_ID"),
            environment=environment,
            thirdparty_id=env.get("DOUYIN_THIRDPARTY_ID", "").strip() or None,
            queue_url=env.get("RECONCILE_QUEUE_URL", "").strip() or None,
            dlq_url=env.get("RECONCILE_DLQ_URL", "").strip() or None,
            callback_url=env.get("CALLBACK_URL", "").strip() or None,
            base_url_override=env.get("DOUYIN_BASE_URL", "").strip() or None,
            protocol=_protocol(env.get("DOUYIN_PROTOCOL", "").strip()),
            trade_base_url_override=env.get("DOUYIN_TRADE_BASE_URL", "").strip() or None,
            refund_audit=_refund_audit(env.get("DOUYIN_REFUND_AUDIT", "").strip()),
            event_bus=env.get("EVENT_BUS_NAME", "").strip() or None,
            order_sync=_switch("ORDER_SYNC", env.get("ORDER_SYNC", "").strip(), default=True),
            settle_after=_settle_after(env.get("SETTLE_AFTER", "").strip()),
            settle_cycle_days=_days(env.get("SETTLE_CYCLE_DAYS", "").strip()),
            platform_query_qps=_count("PLATFORM_QUERY_QPS", env, default=30, low=1, high=1000),
            reconcile_consumers=_count("RECONCILE_MAX_CONCURRENCY", env, default=5, low=2, high=1000),
            auto_settle_warn_days=_count("AUTO_SETTLE_WARN_DAYS", env, default=20, low=0, high=140),
        )


def _protocol(value: str) -> PaymentProtocol:
    try:
        return PaymentProtocol(value) if value else LEGACY_PROTOCOL
    except ValueError:
        names = ", ".join(repr(p.value) for p in PaymentProtocol)
        raise ConfigurationError(f"DOUYIN_PROTOCOL must be one of {names}") from None


def _refund_audit(value: str) -> RefundAudit:
    try:
        return RefundAudit(value) if value else RefundAudit.MANUAL
    except ValueError:
        names = ", ".join(repr(p.value) for p in RefundAudit)
        raise ConfigurationError(f"DOUYIN_REFUND_AUDIT must be one of {names}") from None


def _settle_after(value: str) -> SettleAfter:
    try:
        return SettleAfter(value) if value else SettleAfter.PAYMENT
    except ValueError:
        raise ConfigurationError("SETTLE_AFTER must be 'payment' or 'fulfilment'") from None


def _days(value: str) -> int:
    if not value:
        return 7
    if not value.isdigit() or int(value) > 365:
        raise ConfigurationError("SETTLE_CYCLE_DAYS must be a whole number of days from 0 to 365")
    return int(value)


def _count(name: str, env: Mapping[str, str], *, default: int, low: int, high: int) -> int:
    value = env.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise ConfigurationError(f"{name} must be a whole number from {low} to {high}")
    return int(value)


def _switch(name: str, value: str, *, default: bool) -> bool:
    if not value:
        return default
    if value not in ("on", "off"):
        raise ConfigurationError(f"{name} must be 'on' or 'off'")
    return value == "on"
