"""Where the trade system lives (trade-spec §2.2, §2.3, §4.1): one place for hosts and paths."""

from __future__ import annotations

PRODUCTION_BASE_URL = "https://open.douyin.com"
# The official URLs end with a slash (§4.1, §9 pitfall 13); whether one without is tolerated is [?].
API_PREFIX = "/api/trade_basic/v1/developer/"
CLIENT_TOKEN_PATH = "/oauth/client_token/"  # noqa: S105 - a URL path, not a secret


def api_path(name: str) -> str:
    return f"{API_PREFIX}{name}/"
