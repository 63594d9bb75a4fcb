"""Simulator configuration: the fixed identity (app id, SALT, token) and the runtime switches.

Switches can be changed while the simulator runs (``DouyinSimulator.configure`` or
``POST /_sim/config``); every component reads them through :class:`ConfigHolder`, so a change is
atomic (a new frozen snapshot replaces the old one).
"""

from __future__ import annotations

import dataclasses
import math
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

# settle_finish: the announcement of an automatic settlement (150 days after payment, §3.5, §6.4).
NOTICE_TYPES = ("payment", "refund", "settle", "settle_finish", "withdraw")

# Callback retry intervals after a failed attempt (ecpay-spec §6.3, "最多重试 15 次(共 16 次)").
RETRY_SCHEDULE: tuple[float, ...] = (
    15, 15, 30, 3 * 60, 10 * 60, 20 * 60, 30 * 60, 30 * 60, 30 * 60, 60 * 60,
    3 * 3600, 3 * 3600, 3 * 3600, 6 * 3600, 6 * 3600,
)  # fmt: skip

# Per-endpoint QPS limits (ecpay-spec §7.1; query_order uses the older, stricter 30 QPS figure as
# §3.2 advises). create_order has no documented limit, so it is unlimited unless set. The two
# SKIT/HG-only endpoints are likewise unlimited, and so are the order-sync pair (the access token
# and the order push, order_sync.py): no limit is documented for them either.
DEFAULT_RATE_LIMITS: dict[str, int | None] = {
    "create_order": None,
    "query_order": 30,
    "create_refund": 50,
    "query_refund": 30,
    "settle": 30,
    "query_settle": 30,
    "create_return": 50,
    "query_return": 50,
    "unsettle_amount": None,
    "query_platform_order": None,
    "token": None,
    "order_push": None,
    # The merchant's funds (/api/apps/ecpay/saas/, funds.py) and the bills (GET, bills.py): no
    # limit is documented for any of them.
    "query_merchant_balance": None,
    "merchant_withdraw": None,
    "query_withdraw_order": None,
    "bill": None,
    "bills": None,
    "fund_bills": None,
}

# Every endpoint the rate limiter and the fault injector know; the ecpay v1 ones (served under
# /api/apps/ecpay/v1/, signed with the SALT) and the order-sync ones (their own paths, unsigned).
ENDPOINTS = tuple(DEFAULT_RATE_LIMITS)
ORDER_SYNC_ENDPOINTS = ("token", "order_push")
# Signed like ecpay v1 but served under /api/apps/ecpay/saas/ (ecpay-spec §3.12).
SAAS_ENDPOINTS = ("query_merchant_balance", "merchant_withdraw", "query_withdraw_order")
# GET /api/apps/bill ("bill"), /api/apps/bills ("bills") and /api/apps/fund/bills ("fund_bills"),
# query strings signed (§3.10).
BILL_ENDPOINTS = ("bill", "bills", "fund_bills")
ECPAY_ENDPOINTS = tuple(e for e in ENDPOINTS if e not in (*ORDER_SYNC_ENDPOINTS, *SAAS_ENDPOINTS, *BILL_ENDPOINTS))

# Delay between the event (payment, refund completion, settlement completion) and the first
# callback attempt, in simulated seconds. "Refund callbacks often arrive 10 s or more late."
DEFAULT_DELAYS: dict[str, float] = {
    "payment": 1.0,
    "refund": 12.0,
    "settle": 5.0,
    "settle_finish": 5.0,
    "withdraw": 5.0,
}

OUTCOMES = ("SUCCESS", "FAIL")

# What the settlement cycle counts from: the payment (the older "settleable 7 days after payment")
# or the fulfilment (核销, the newer D+N; the platform learns of it from an order push with
# order_status 4).
SETTLE_AFTER = ("payment", "fulfilment")

# How an automatic settlement is announced: the documents name a settle_finish callback (§6.4) and
# also an is_auto_settle flag on the settle callback, and leave open which one the platform sends.
AUTO_SETTLE_NOTICES = ("settle_finish", "settle")


@dataclass(frozen=True)
class SimulatorConfig:
    """Everything the simulator needs. Secrets are kept out of ``repr``."""

    app_id: str
    salt: str = field(repr=False)
    token: str = field(repr=False)
    # Service-provider mode (ecpay-spec §7.4): when set, every request must carry it, else 2047.
    thirdparty_id: str | None = None
    # Simulated seconds per real second; 0 freezes the clock (it then moves only with advance()).
    speed: float = 1.0
    # Unix time the simulated clock starts at; None = the real time at construction.
    start_time: float | None = None
    port: int = 0
    # notify_url prefix → replacement, e.g. {"https://callback.localhost": "http://127.0.0.1:8123"}:
    # notify_url must be https like the real platform demands, the local receiver is plain http.
    deliver_to: Mapping[str, str] = field(default_factory=dict)
    # The console-configured callback URL, used when a request carried no notify_url (§6.1).
    default_notify_url: str | None = None
    # Extra deliveries of every notice (the platform may duplicate callbacks, §6.3).
    duplicates: int = 0
    delays: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_DELAYS))
    # Notice types never delivered (a lost callback), or "all".
    drop: frozenset[str] | Literal["all"] = frozenset()
    # Simulated seconds before a refund / settlement completes on its own; None = only by
    # complete_refund() / complete_settlement().
    refund_processing_seconds: float | None = 3.0
    settle_processing_seconds: float | None = 3.0
    # Simulated seconds before an accepted withdrawal succeeds (and its withdraw callback is sent).
    withdraw_processing_seconds: float = 3.0
    rate_limits: Mapping[str, int | None] = field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    refund_outcome: str = "SUCCESS"
    settle_outcome: str = "SUCCESS"
    retry_schedule: tuple[float, ...] = RETRY_SCHEDULE
    # Real seconds a callback POST may take before it counts as failed.
    delivery_timeout: float = 5.0
    # Real seconds the "timeout" fault holds the answer back (longer than a sane client timeout).
    fault_timeout_seconds: float = 12.0
    # Deliveries go only to loopback hosts unless this is set, so an unmapped notify_url never
    # makes the simulator POST to the internet.
    allow_external_delivery: bool = False
    seller_uid: str = "69438512345678901234"
    # The mini-program's AppSecret for POST /api/apps/v2/token. Last, with a random default, so
    # that existing constructions (positional app_id, salt, token) keep working.
    app_secret: str = field(repr=False, default_factory=lambda: secrets.token_hex(16))
    # settle is refused (2010) unless the order's latest pushed order_status is 1 or 4.
    require_order_sync: bool = True
    # settle is refused (2010) before the order's settlement cycle has run: settle_cycle_days after
    # the payment, or after the fulfilment (an unfulfilled order is refused). 0 turns the rule off
    # in both modes.
    settle_cycle_days: float = 7.0
    settle_after: Literal["payment", "fulfilment"] = "payment"
    # Simulated seconds from the payment until a CPS (influencer) order's commission and item_id
    # become known, unless pay() names its own commission_delay ("commission attribution is
    # delayed", §3.2).
    cps_commission_delay: float = 60.0
    # The platform settles an order still holding in-transit money this many days after its payment
    # (§3.5, "150 days"); 0 = never.
    auto_settle_days: float = 150.0
    # The notice that announces an automatic settlement: "settle_finish" or "settle" (AUTO_SETTLE_NOTICES).
    auto_settle_notice: Literal["settle_finish", "settle"] = "settle_finish"

    def __post_init__(self) -> None:
        _check(self)


# Switches that may change at runtime. Identity (app_id, salt, token, app_secret, thirdparty_id)
# and the listening port are fixed for the simulator's life.
RUNTIME_SWITCHES = frozenset(
    {
        "speed",
        "deliver_to",
        "default_notify_url",
        "duplicates",
        "delays",
        "drop",
        "refund_processing_seconds",
        "settle_processing_seconds",
        "withdraw_processing_seconds",
        "rate_limits",
        "refund_outcome",
        "settle_outcome",
        "retry_schedule",
        "delivery_timeout",
        "fault_timeout_seconds",
        "allow_external_delivery",
        "seller_uid",
        "require_order_sync",
        "settle_cycle_days",
        "settle_after",
        "cps_commission_delay",
        "auto_settle_days",
        "auto_settle_notice",
    }
)


def _check(cfg: SimulatorConfig) -> None:
    if not cfg.app_id or not cfg.salt or not cfg.token:
        raise ValueError("app_id, salt and token are required")
    if not isinstance(cfg.app_secret, str) or not cfg.app_secret:
        raise ValueError("app_secret must be a non-empty string")
    if type(cfg.require_order_sync) is not bool:
        raise ValueError("require_order_sync must be true or false")
    if cfg.speed < 0:
        raise ValueError("speed must be >= 0")
    if cfg.duplicates < 0:
        raise ValueError("duplicates must be >= 0")
    _check_deliveries(cfg)
    _check_platform(cfg)
    if any(v < 0 for v in cfg.retry_schedule):
        raise ValueError("retry intervals must be >= 0")
    if cfg.delivery_timeout <= 0 or cfg.fault_timeout_seconds < 0:
        raise ValueError("timeouts must be positive")


def _check_deliveries(cfg: SimulatorConfig) -> None:
    unknown = set(cfg.delays) - set(NOTICE_TYPES)
    if unknown:
        raise ValueError(f"unknown notice types in delays: {sorted(unknown)}")
    if any(v < 0 for v in cfg.delays.values()):
        raise ValueError("delays must be >= 0")
    if cfg.drop != "all" and not set(cfg.drop) <= set(NOTICE_TYPES):
        raise ValueError(f"drop must be 'all' or a subset of {NOTICE_TYPES}")


def _check_platform(cfg: SimulatorConfig) -> None:
    unknown = set(cfg.rate_limits) - set(ENDPOINTS)
    if unknown:
        raise ValueError(f"unknown endpoints in rate_limits: {sorted(unknown)}")
    if any(v is not None and v < 1 for v in cfg.rate_limits.values()):
        raise ValueError("a rate limit is a positive QPS, or None for unlimited")
    for name in ("refund_outcome", "settle_outcome"):
        if getattr(cfg, name) not in OUTCOMES:
            raise ValueError(f"{name} must be one of {OUTCOMES}")
    for name in ("refund_processing_seconds", "settle_processing_seconds"):
        value = getattr(cfg, name)
        if value is not None and value < 0:
            raise ValueError(f"{name} must be >= 0 or None")
    days = cfg.settle_cycle_days
    # bool is an int subclass; a JSON true is no number of days.
    if type(days) not in (int, float) or not math.isfinite(days) or days < 0:
        raise ValueError("settle_cycle_days must be a finite number >= 0 (0 turns the cycle off)")
    if cfg.settle_after not in SETTLE_AFTER:
        raise ValueError(f"settle_after must be one of {SETTLE_AFTER}")
    _check_cps_and_auto_settle(cfg)


def _check_cps_and_auto_settle(cfg: SimulatorConfig) -> None:
    if not is_seconds(cfg.cps_commission_delay):
        raise ValueError("cps_commission_delay must be a finite number of seconds >= 0")
    if not is_seconds(cfg.auto_settle_days):
        raise ValueError("auto_settle_days must be a finite number >= 0 (0 turns auto-settlement off)")
    if not is_seconds(cfg.withdraw_processing_seconds):
        raise ValueError("withdraw_processing_seconds must be a finite number of seconds >= 0")
    if cfg.auto_settle_notice not in AUTO_SETTLE_NOTICES:
        raise ValueError(f"auto_settle_notice must be one of {AUTO_SETTLE_NOTICES}")


def is_seconds(value: Any) -> bool:
    """A finite number >= 0 (a JSON true is no number: bool is an int subclass)."""
    return type(value) in (int, float) and math.isfinite(value) and value >= 0


def _normalise(changes: Mapping[str, Any], current: SimulatorConfig) -> dict[str, Any]:
    """Turn JSON-friendly switch values into config values; dict switches are merged."""
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in RUNTIME_SWITCHES:
            raise ValueError(f"unknown or fixed switch: {key}")
        if key in ("delays", "rate_limits", "deliver_to"):
            if not isinstance(value, Mapping):
                raise ValueError(f"{key} must be an object")
            value = {**getattr(current, key), **value}
        elif key == "drop":
            if value is None:
                value = frozenset()
            elif value != "all":
                if isinstance(value, str):
                    value = [value]
                value = frozenset(value)
        elif key == "retry_schedule":
            value = tuple(float(v) for v in value)
        out[key] = value
    return out


class ConfigHolder:
    """The current config snapshot; replaced atomically on change."""

    def __init__(self, config: SimulatorConfig) -> None:
        self._lock = threading.Lock()
        self._config = config

    def get(self) -> SimulatorConfig:
        with self._lock:
            return self._config

    def update(self, **changes: Any) -> SimulatorConfig:
        with self._lock:
            self._config = dataclasses.replace(self._config, **_normalise(changes, self._config))
            return self._config


def public_view(cfg: SimulatorConfig) -> dict[str, Any]:
    """The config as JSON, without the SALT, the token and the app secret."""
    return {
        "app_id": cfg.app_id,
        "thirdparty_id": cfg.thirdparty_id,
        "speed": cfg.speed,
        "deliver_to": dict(cfg.deliver_to),
        "default_notify_url": cfg.default_notify_url,
        "duplicates": cfg.duplicates,
        "delays": dict(cfg.delays),
        "drop": "all" if cfg.drop == "all" else sorted(cfg.drop),
        "refund_processing_seconds": cfg.refund_processing_seconds,
        "settle_processing_seconds": cfg.settle_processing_seconds,
        "withdraw_processing_seconds": cfg.withdraw_processing_seconds,
        "rate_limits": dict(cfg.rate_limits),
        "refund_outcome": cfg.refund_outcome,
        "settle_outcome": cfg.settle_outcome,
        "retry_schedule": list(cfg.retry_schedule),
        "delivery_timeout": cfg.delivery_timeout,
        "fault_timeout_seconds": cfg.fault_timeout_seconds,
        "allow_external_delivery": cfg.allow_external_delivery,
        "seller_uid": cfg.seller_uid,
        "require_order_sync": cfg.require_order_sync,
        "settle_cycle_days": cfg.settle_cycle_days,
        "settle_after": cfg.settle_after,
        "cps_commission_delay": cfg.cps_commission_delay,
        "auto_settle_days": cfg.auto_settle_days,
        "auto_settle_notice": cfg.auto_settle_notice,
    }
