"""client_token bookkeeping (trade-spec §2.3), in simulated time.

* A token lives ``expires_in`` = 7200 s.
* A new fetch leaves the previous token 5 minutes; anything older dies at once: only the newest two
  are ever valid ("连续多次获取 client_token 只会保留最新的两个", and the open-douyin FAQ: tokenB's
  life drops to 5 min when tokenC is issued, tokenA dies).
* More than ``limit`` fetches within 5 minutes → 10020; a refused fetch issues nothing and
  invalidates nothing.

Not thread-safe on its own: the platform calls it under its lock.
"""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass

TOKEN_TTL = 7200
GRACE = 300
RATE_WINDOW = 300

ERR_TOKEN_INVALID = 28001003  # [I] not published for trade_basic (§10.11)
ERR_TOKEN_EXPIRED = 28001008  # the open platform's "access_token过期,请刷新或重新授权"


@dataclass
class Token:
    value: str
    issued_at: float
    expires_at: float
    superseded_at: float | None = None
    revoked: bool = False  # fell out of the newest two

    def problem(self, now: float) -> int | None:
        """None if usable now, else the err_no the platform answers."""
        if self.revoked or (self.superseded_at is not None and now >= self.superseded_at + GRACE):
            return ERR_TOKEN_INVALID
        if now >= self.expires_at:
            return ERR_TOKEN_EXPIRED
        return None


class TokenBook:
    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}
        self._order: list[Token] = []
        self._recent: deque[float] = deque()
        self.fetches = 0  # tokens issued
        self.refused = 0  # fetches refused with 10020

    def rate_limited(self, now: float, limit: int | None) -> bool:
        while self._recent and now - self._recent[0] >= RATE_WINDOW:
            self._recent.popleft()
        return limit is not None and len(self._recent) >= limit

    def issue(self, now: float) -> Token:
        token = Token("clt." + secrets.token_hex(20), now, now + TOKEN_TTL)
        if self._order:
            self._order[-1].superseded_at = now
        if len(self._order) >= 2:
            self._order[-2].revoked = True
        self._order.append(token)
        self._tokens[token.value] = token
        self._recent.append(now)
        self.fetches += 1
        return token

    def check(self, value: str, now: float) -> int | None:
        token = self._tokens.get(value)
        if token is None:
            return ERR_TOKEN_INVALID
        return token.problem(now)

    def view(self, now: float) -> dict[str, object]:
        return {
            "fetches": self.fetches,
            "refused": self.refused,
            "valid": [t.value for t in self._order if t.problem(now) is None],
        }
