"""Configuration of the bundle's functions: plain settings from the environment the template sets,
secrets (SALT, tokens) from Secrets Manager through Powertools Parameters — never from the
environment, and never in a log line or an error message."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import ConfigurationError

PRODUCTION = "production"
SANDBOX = "sandbox"
SECRET_MAX_AGE = 300  # seconds; a rotated SALT/token is picked up within five minutes


@dataclass(frozen=True)
class Settings:
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
        )

    @property
    def base_url(self) -> str:
        from ..ecpay.client import PRODUCTION_BASE_URL, SANDBOX_BASE_URL

        if self.base_url_override:
            return self.base_url_override
        return SANDBOX_BASE_URL if self.environment == SANDBOX else PRODUCTION_BASE_URL


@dataclass(frozen=True)
class Secrets:
    """SALT signs requests; tokens verify callbacks (several while one is being rotated)."""

    salt: str = field(repr=False)
    tokens: tuple[str, ...] = field(repr=False)

    @classmethod
    def from_mapping(cls, raw: object) -> Secrets:
        # Messages name the shape that is wrong, never a value.
        if not isinstance(raw, Mapping):
            raise ConfigurationError('the payment secret must be JSON {"salt": "...", "tokens": ["..."]}')
        salt = raw.get("salt")
        tokens = raw.get("tokens")
        if isinstance(tokens, str):
            tokens = [tokens]
        if not isinstance(salt, str) or not salt:
            raise ConfigurationError("the payment secret has no salt")
        if not isinstance(tokens, list) or not tokens or not all(isinstance(t, str) and t for t in tokens):
            raise ConfigurationError("the payment secret has no callback token")
        return cls(salt=salt, tokens=tuple(tokens))


def load_secrets(secret_id: str, *, max_age: int = SECRET_MAX_AGE) -> Secrets:
    """Read the secret through Powertools Parameters, cached in memory for ``max_age`` seconds."""
    from aws_lambda_powertools.utilities import parameters

    try:
        raw = parameters.get_secret(secret_id, transform="json", max_age=max_age)
    except parameters.exceptions.TransformParameterError as exc:
        raise ConfigurationError("the payment secret is not valid JSON") from exc
    return Secrets.from_mapping(raw)
