"""One platform token per kind for the whole stack, shared through the table: the trade system's
client_token, and the mini-program access_token that ecpay's order sync (订单同步) carries.

The trade system invalidates older tokens on every fetch (only the newest two stay valid, the
previous one for 5 more minutes) and limits fetches to 500 per 5 minutes (trade-spec §2.3, pitfall
12). Lambda runs many execution environments at once, so a per-process cache would have each cold
environment fetch its own token and invalidate the others'. Instead the token lives in one item:

* each environment keeps it in memory until it is due for refresh (no table call per request);
* when it is due (or missing, or the platform rejected it), the environment that wins a
  conditional write takes a short lease and fetches; the others read the item until the new token
  appears — so N concurrent cold environments fetch it once;
* a lease whose holder died expires, and the next caller takes over.

The token is refreshed ahead of expiry (``expires_in`` − max(300 s, 10 %)), so the platform's
5-minute grace covers environments still holding the previous one. The mini-program's access_token
has the same shape of rule (a fetch supersedes the last one), so it is kept the same way under its
own item.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable
from typing import Any

from ..errors import PlatformTransportError
from .store import Change, ConditionFailed, Store

TOKEN_LEASE = 10  # seconds a fetch may take before another environment may take over
WAIT_STEP = 0.1  # real seconds between reads while another environment fetches
WAIT_LIMIT = 3.0  # real seconds to wait for it before answering "retry"


TRADE_CLIENT_TOKEN = "trade"  # noqa: S105 - an item name, not a secret: the trade system's client_token
MINI_APP_ACCESS_TOKEN = "access"  # noqa: S105 - an item name: the mini-program's access_token (ecpay order sync)


def token_key(app_id: str, name: str = TRADE_CLIENT_TOKEN) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"TOKEN#{name}#{app_id}"}, "sk": {"S": "TOKEN"}}


def refresh_at(fetched_at: float, expires_in: float) -> int:
    return int(fetched_at + expires_in - max(300.0, expires_in / 10))


class StoredTokenSource:
    """A :class:`douyin_pay.trade.tokens.TokenSource` kept in the payments table.

    ``fetch`` returns the SDK's ``ClientToken``; ``clock`` is the bundle's (the local stack moves
    it), so the token's lifetime is counted from the fetch on that clock."""

    def __init__(
        self,
        store: Store,
        app_id: str,
        fetch: Callable[[], Any],
        clock: Callable[[], float],
        *,
        sleep: Callable[[float], None] = time.sleep,
        wall: Callable[[], float] = time.monotonic,
        name: str = TRADE_CLIENT_TOKEN,
    ) -> None:
        self._store = store
        self._key = token_key(app_id, name)
        self._fetch = fetch
        self._clock = clock
        self._sleep = sleep
        self._wall = wall
        self._owner = secrets.token_hex(8)
        self._cached: str | None = None
        self._refresh_at = 0

    def token(self, *, stale: str | None = None) -> str:
        now = int(self._clock())
        if self._cached and self._cached != stale and now < self._refresh_at:
            return self._cached
        item = self._read()
        if item and item.get("token") != stale and now < int(item.get("refresh_at", 0)):
            return self._remember(item)
        return self._refresh(item, now)

    def _read(self) -> dict[str, Any] | None:
        return self._store.read(self._key)

    def _remember(self, item: dict[str, Any]) -> str:
        self._cached = item["token"]
        self._refresh_at = int(item["refresh_at"])
        return self._cached

    def _refresh(self, seen: dict[str, Any] | None, now: int) -> str:
        lease = Change(set={"lease_owner": self._owner, "lease_until": now + TOKEN_LEASE})
        cond = lease.expr
        free = f"attribute_not_exists({cond.name('lease_until')}) OR {cond.name('lease_until')} < {cond.value(now)}"
        # Only if nobody refreshed since we looked: otherwise use theirs.
        if seen and seen.get("token"):
            unchanged = cond.eq("token", seen["token"])
        else:
            unchanged = f"attribute_not_exists({cond.name('token')})"
        lease.where(free, unchanged)
        try:
            self._store.update(self._key, lease)
        except ConditionFailed as exc:
            current = exc.item or {}
            if current.get("token") and current.get("token") != (seen or {}).get("token"):
                return self._remember(current)
            return self._wait_for_other((seen or {}).get("token"))
        try:
            fetched = self._fetch()
        except Exception:
            self._release()
            raise
        fetched_at = int(self._clock())
        expires_in = max(60.0, fetched.expires_at - time.time())
        record = Change(
            set={
                "token": fetched.access_token,
                "fetched_at": fetched_at,
                "refresh_at": refresh_at(fetched_at, expires_in),
                "expires_at": int(fetched_at + expires_in),
            },
            remove=("lease_owner", "lease_until"),
        )
        record.where(record.expr.eq("lease_owner", self._owner))
        try:
            item = self._store.update(self._key, record)
        except ConditionFailed:
            # Our lease ran out and another environment took over; ours is still valid (newest two).
            item = {"token": fetched.access_token, "refresh_at": refresh_at(fetched_at, expires_in)}
        return self._remember(item)

    def _release(self) -> None:
        change = Change(remove=("lease_owner", "lease_until"))
        change.where(change.expr.eq("lease_owner", self._owner))
        with contextlib.suppress(ConditionFailed):  # taken over meanwhile
            self._store.update(self._key, change)

    def _wait_for_other(self, old: str | None) -> str:
        deadline = self._wall() + WAIT_LIMIT
        while self._wall() < deadline:
            self._sleep(WAIT_STEP)
            item = self._read()
            if item and item.get("token") and item.get("token") != old:
                return self._remember(item)
        raise PlatformTransportError("the platform token is being refreshed by another function; retry")
