"""Simulator configuration: the fixed identity (app id, secret, keys) and the runtime switches.

Switches can be changed while the simulator runs (``TradeSimulator.configure`` or
``POST /_sim/config``); every component reads them through :class:`ConfigHolder`, so a change is
atomic (a new frozen snapshot replaces the old one). The keys change only through their own
control routes (``/_sim/keys/...``), never through ``configure``.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from . import crypto

NOTICE_TYPES = ("payment", "refund", "pre_create_refund", "settle")

# The trade_basic developer endpoints (trade-spec §4), each served at
# /api/trade_basic/v1/developer/<name>/ (with the trailing slash).
ENDPOINTS = (
    "order_query",
    "query_cps",
    "refund_create",
    "refund_query",
    "refund_audit_callback",
    "settle_create",
    "settle_query",
)
# Faults can also be armed on the token endpoint.
FAULT_ENDPOINTS = (*ENDPOINTS, "client_token")

# Intervals between a failed attempt and the next one, in simulated seconds (trade-spec §5.4).
RETRY_SCHEDULES: dict[str, tuple[float, ...]] = {
    # [C OD-NPR] 12s, 12s, 33s, 1m, 2m, 3m, 4m, 5m, 6m, 7m.
    "payment": (12, 12, 33, 60, 120, 180, 240, 300, 360, 420),
    # [S industry analogue] "一共重试10次": the first ten of 10s, 10s, 30s, 1m … 8m.
    "refund": (10, 10, 30, 60, 120, 180, 240, 300, 360, 420),
    # [S industry analogue] 15s, 30s, 1m, 2m … 128m (the ten listed intervals).
    "settle": (15, 30, 60, 120, 240, 480, 960, 1920, 3840, 7680),
    # [C OD-RCB] every 10 minutes for 72 hours (the platform then auto-passes the refund).
    "pre_create_refund": (600.0,) * 432,
}

# Delay between the event and the first callback attempt, in simulated seconds.
DEFAULT_DELAYS: dict[str, float] = {"payment": 1.0, "refund": 10.0, "pre_create_refund": 1.0, "settle": 5.0}

# Per-endpoint QPS limits. The trade_basic limits are not published (trade-spec §4.1), so none is
# applied unless configured; excess answers err_no 28003018 (the open platform's "请求频率过高").
DEFAULT_RATE_LIMITS: dict[str, int | None] = dict.fromkeys(ENDPOINTS)

OUTCOMES = ("SUCCESS", "FAIL")
DUPLICATE_ORDER_MODES = ("same_order", "error")


@dataclass(frozen=True)
class TradeSimulatorConfig:
    """Everything the simulator needs. Secrets are kept out of ``repr``."""

    app_id: str
    client_secret: str = field(repr=False)
    # key_version → the developer's uploaded app public key (PEM). Several may be registered, so a
    # key rotation can be tested; POST /_sim/keys/app changes them at runtime.
    app_public_keys: Mapping[str, str] = field(default_factory=dict, repr=False)
    # The platform's key pair for signing callbacks; an RSA-2048 key is generated if None.
    platform_private_key_pem: str | None = field(default=None, repr=False)
    port: int = 0
    # Unix time the simulated clock starts at; None = the real time at construction.
    start_time: float | None = None
    # Simulated seconds per real second; 0 freezes the clock (it then moves only with advance()).
    speed: float = 1.0
    # URL prefix → replacement, e.g. {"https://callback.localhost": "http://127.0.0.1:8123"}.
    deliver_to: Mapping[str, str] = field(default_factory=dict)
    # The solution-configured (解决方案配置) callback URL. If None, payNotifyUrl / notify_url are
    # ignored and nothing is delivered (trade-spec §9.4).
    default_notify_url: str | None = None
    # None = default_notify_url; "" = not configured (nothing of that type is delivered).
    refund_notify_url: str | None = None
    settle_notify_url: str | None = None
    pre_create_refund_url: str | None = None
    # Extra deliveries of every notice (the platform warns about duplicates, §5.4).
    duplicates: int = 0
    delays: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_DELAYS))
    # Notice types never delivered (a lost callback), or "all".
    drop: frozenset[str] | Literal["all"] = frozenset()
    retry_schedules: Mapping[str, tuple[float, ...]] = field(default_factory=lambda: dict(RETRY_SCHEDULES))
    # Re-sign each retry with a fresh Byte-Timestamp / Byte-Nonce-Str (§10.5 is open); False
    # resends the first attempt's headers unchanged.
    resign_retries: bool = True
    # Simulated seconds before an accepted refund / settlement completes on its own; None = only
    # by complete_refund() / complete_settlement().
    refund_processing_seconds: float | None = 3.0
    settle_processing_seconds: float | None = 3.0
    refund_outcome: str = "SUCCESS"
    settle_outcome: str = "SUCCESS"
    # Whether a merchant's audit denial is followed by a refund FAIL callback (§10.8 is open).
    deny_sends_refund_callback: bool = True
    # A repeated outOrderNo in tt.requestOrder: "same_order" answers the existing unpaid order,
    # "error" refuses it (errNo 10000). §10.3 is open.
    duplicate_out_order_no: str = "same_order"
    # settle_create answers its errors with this HTTP status (AFX lists 400 for all of them).
    settle_error_http_status: int = 400
    # Settlement is allowed N days after payment ("支付 D+N"); 0 = at once.
    settle_delay_days: float = 0
    # The platform's fee taken at settlement, in 1/10000 of the settled amount (rounded half up).
    rake_basis_points: int = 60
    # The receiving merchant (进件) when data carries no merchantUid.
    merchant_uid: str = "70000000000000000001"
    rate_limits: Mapping[str, int | None] = field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    # More than this many client_token fetches in 5 simulated minutes → error 10020 (§2.3).
    client_token_rate_limit: int | None = 500
    # Real seconds a callback POST may take before it counts as failed.
    delivery_timeout: float = 5.0
    # Real seconds the "timeout" fault holds the answer back.
    fault_timeout_seconds: float = 12.0
    # Deliveries go only to loopback hosts unless this is set.
    allow_external_delivery: bool = False

    def __post_init__(self) -> None:
        if self.platform_private_key_pem is None:
            object.__setattr__(self, "platform_private_key_pem", crypto.generate_private_key_pem())
        object.__setattr__(self, "app_public_keys", dict(self.app_public_keys))
        _check(self)

    @property
    def platform_public_key_pem(self) -> str:
        assert self.platform_private_key_pem is not None
        return crypto.public_pem_of(self.platform_private_key_pem)

    def notify_base(self, notice_type: str) -> str:
        """The solution-configured URL for a notice type; "" if none is configured."""
        own = {
            "payment": None,
            "refund": self.refund_notify_url,
            "settle": self.settle_notify_url,
            "pre_create_refund": self.pre_create_refund_url,
        }[notice_type]
        return (self.default_notify_url or "") if own is None else own


# Switches that may change at runtime (configure / POST /_sim/config). Identity, keys and the
# listening port are fixed, or change through their own routes.
RUNTIME_SWITCHES = frozenset(
    f.name
    for f in dataclasses.fields(TradeSimulatorConfig)
    if f.name not in {"app_id", "client_secret", "app_public_keys", "platform_private_key_pem", "port", "start_time"}
)


def _check(cfg: TradeSimulatorConfig) -> None:
    if not cfg.app_id or not cfg.client_secret:
        raise ValueError("app_id and client_secret are required")
    for version, pem in cfg.app_public_keys.items():
        if not isinstance(version, str) or not version:
            raise ValueError("a key_version is a non-empty string")
        crypto.load_app_public_key(pem)  # raises ValueError unless an RSA-2048 public key
    crypto.load_private_key(cfg.platform_private_key_pem or "")
    if cfg.speed < 0:
        raise ValueError("speed must be >= 0")
    if cfg.duplicates < 0:
        raise ValueError("duplicates must be >= 0")
    _check_deliveries(cfg)
    _check_platform(cfg)
    if cfg.delivery_timeout <= 0 or cfg.fault_timeout_seconds < 0:
        raise ValueError("timeouts must be positive")


def _check_deliveries(cfg: TradeSimulatorConfig) -> None:
    for name in ("delays", "retry_schedules"):
        unknown = set(getattr(cfg, name)) - set(NOTICE_TYPES)
        if unknown:
            raise ValueError(f"unknown notice types in {name}: {sorted(unknown)}")
    if any(v < 0 for v in cfg.delays.values()):
        raise ValueError("delays must be >= 0")
    if any(v < 0 for schedule in cfg.retry_schedules.values() for v in schedule):
        raise ValueError("retry intervals must be >= 0")
    if cfg.drop != "all" and not set(cfg.drop) <= set(NOTICE_TYPES):
        raise ValueError(f"drop must be 'all' or a subset of {NOTICE_TYPES}")


def _check_platform(cfg: TradeSimulatorConfig) -> None:
    unknown = set(cfg.rate_limits) - set(ENDPOINTS)
    if unknown:
        raise ValueError(f"unknown endpoints in rate_limits: {sorted(unknown)}")
    if any(v is not None and v < 1 for v in cfg.rate_limits.values()):
        raise ValueError("a rate limit is a positive QPS, or None for unlimited")
    if cfg.client_token_rate_limit is not None and cfg.client_token_rate_limit < 1:
        raise ValueError("client_token_rate_limit is a positive count, or None")
    for name in ("refund_outcome", "settle_outcome"):
        if getattr(cfg, name) not in OUTCOMES:
            raise ValueError(f"{name} must be one of {OUTCOMES}")
    _check_modes(cfg)
    for name in ("refund_processing_seconds", "settle_processing_seconds"):
        value = getattr(cfg, name)
        if value is not None and value < 0:
            raise ValueError(f"{name} must be >= 0 or None")
    if cfg.settle_delay_days < 0 or not 0 <= cfg.rake_basis_points <= 10_000:
        raise ValueError("settle_delay_days must be >= 0 and rake_basis_points in [0, 10000]")


def _check_modes(cfg: TradeSimulatorConfig) -> None:
    if cfg.duplicate_out_order_no not in DUPLICATE_ORDER_MODES:
        raise ValueError(f"duplicate_out_order_no must be one of {DUPLICATE_ORDER_MODES}")
    if cfg.settle_error_http_status not in (200, 400):
        raise ValueError("settle_error_http_status must be 400 or 200")


def _normalise(changes: Mapping[str, Any], current: TradeSimulatorConfig) -> dict[str, Any]:
    """Turn JSON-friendly switch values into config values; dict switches are merged."""
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in RUNTIME_SWITCHES:
            raise ValueError(f"unknown or fixed switch: {key}")
        if key in ("delays", "rate_limits", "deliver_to", "retry_schedules"):
            if not isinstance(value, Mapping):
                raise ValueError(f"{key} must be an object")
            if key == "retry_schedules":
                value = {k: tuple(float(x) for x in v) for k, v in value.items()}
            value = {**getattr(current, key), **value}
        elif key == "drop":
            if value is None:
                value = frozenset()
            elif value != "all":
                value = frozenset([value] if isinstance(value, str) else value)
        out[key] = value
    return out


class ConfigHolder:
    """The current config snapshot; replaced atomically on change."""

    def __init__(self, config: TradeSimulatorConfig) -> None:
        self._lock = threading.Lock()
        self._config = config

    def get(self) -> TradeSimulatorConfig:
        with self._lock:
            return self._config

    def update(self, **changes: Any) -> TradeSimulatorConfig:
        with self._lock:
            self._config = dataclasses.replace(self._config, **_normalise(changes, self._config))
            return self._config

    def set_platform_key(self, private_key_pem: str) -> TradeSimulatorConfig:
        with self._lock:
            self._config = dataclasses.replace(self._config, platform_private_key_pem=private_key_pem)
            return self._config

    def set_app_key(self, key_version: str, public_key_pem: str | None) -> TradeSimulatorConfig:
        """Register (or, with None, retire) an app public key."""
        with self._lock:
            keys = dict(self._config.app_public_keys)
            if public_key_pem is None:
                if keys.pop(key_version, None) is None:
                    raise KeyError(key_version)
            else:
                keys[key_version] = public_key_pem
            self._config = dataclasses.replace(self._config, app_public_keys=keys)
            return self._config


def public_view(cfg: TradeSimulatorConfig) -> dict[str, Any]:
    """The config as JSON, without the client secret and the platform private key."""
    view: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        if f.name in ("client_secret", "platform_private_key_pem"):
            continue
        value = getattr(cfg, f.name)
        if f.name == "drop":
            value = "all" if value == "all" else sorted(value)
        elif f.name == "retry_schedules":
            value = {k: list(v) for k, v in value.items()}
        elif isinstance(value, Mapping):
            value = dict(value)
        view[f.name] = value
    view["platform_public_key_pem"] = cfg.platform_public_key_pem
    return view
