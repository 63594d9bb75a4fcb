"""Order sync (订单同步): the mini-program access token and the order push, in simulated time.

Two endpoints beside ecpay on the same host, JSON in / JSON out, HTTP 200 for every answer with a
body, not MD5-signed (the order-sync wire contract shared with the SDK client and the bundle):

* ``POST /api/apps/v2/token`` ``{"appid", "secret", "grant_type": "client_credential"}`` →
  ``{"err_no", "err_tips", "data": {"access_token", "expires_in": 7200}}``; refusals carry
  ``data: {}``: 40014 parameter error, 40015 unknown appid, 40017 wrong secret, 40020 grant_type.
* ``POST /api/apps/order/v2/push`` → ``{"err_code", "err_msg", "body"}``: 40002 unknown, expired or
  superseded access_token, 40014 any field rule broken (``err_msg`` names the field).
* ``-1 系统错误`` on either comes only from fault injection (mode ``err_-1``) or a rate limit set
  by hand (no limit is documented, so there is none by default).

Tokens live 7200 s. A new fetch leaves the previous token a 300 s grace and kills anything older
at once: only the newest token and, for 300 s, the one before it are valid.

Every accepted push is kept per ``order_detail.order_id`` (the developer's out_order_no, whether or
not ecpay ever saw that order: the order center does not require one). The order's pushed status
is the push with the greatest ``update_time``; an older one is answered 0 and changes nothing. ecpay
``settle`` asks :meth:`OrderSync.pushed_status` (platform.py, switch ``require_order_sync``) and,
when the settlement cycle counts from the fulfilment (switch ``settle_after``),
:meth:`OrderSync.fulfilled_at`: the receive time of the first applied push with order_status 4.

Choices where the contract is silent, marked [I] like platform.py's:

* Check order on the token endpoint: JSON object → each field a string (40014) → appid (40015) →
  secret (40017) → grant_type (40020), the order the contract lists them in.
* Check order on the push: JSON object → access_token present (40014) → access_token valid (40002)
  → the fields in the contract's order → order_detail's fields. The token is checked before the
  fields, as ecpay checks the sign before the fields.
* A body sent without ``Content-Type: application/json`` is refused like non-JSON (40014), as
  ecpay's own endpoints refuse it (api.py).
* An empty string for a required string field counts as missing.
* ``update_time`` equal to the stored one replaces it (the contract leaves only older pushes
  without effect), so the later of two same-millisecond pushes wins.
* The success answer of the push is ``{"err_code": 0, "err_msg": "", "body": ""}``.

Thread-safe on its own (one lock). It never calls the platform, so the platform may call
:meth:`OrderSync.pushed_status` and :meth:`OrderSync.fulfilled_at` while holding its own lock.
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .clock import SimClock
from .config import ConfigHolder

TOKEN_TTL = 7200
GRACE = 300

# POST /api/apps/v2/token: err_no
ERR_TOKEN_PARAM = 40014
ERR_TOKEN_APPID = 40015
ERR_TOKEN_SECRET = 40017
ERR_TOKEN_GRANT_TYPE = 40020
# POST /api/apps/order/v2/push: err_code
ERR_PUSH_TOKEN = 40002
ERR_PUSH_PARAM = 40014
# Both: the retryable system error (fault injection or a hand-set rate limit only).
ERR_SYSTEM = -1

STATUS_TEXT: Mapping[int, str] = {
    0: "待支付",
    1: "已支付",
    2: "已取消",
    4: "已核销",
    5: "退款中",
    6: "已退款",
    8: "退款失败",
}
FULFILLED = 4  # 已核销: starts the settlement cycle when it counts from the fulfilment
SETTLEABLE_STATUSES = (1, FULFILLED)  # paid, fulfilled
POI_ORDER_TYPES = (9101, 9001)

MAX_EXTRA_BYTES = 2047  # "< 2048 bytes"
MAX_DETAIL_BYTES = 2047  # "< 2048 bytes"
_MS_MIN, _MS_MAX = 10**12, 10**13 - 1  # 13-digit unix milliseconds
_HTTPS_URL = re.compile(r"https://[^\s/?#]+[^\s]*")


class _Invalid(Exception):
    """A refusal: ``code`` and the message naming what is wrong."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _param(field_name: str, rule: str, code: int = ERR_PUSH_PARAM) -> _Invalid:
    return _Invalid(code, f"参数错误 invalid parameter {field_name}: {rule}")


def system_error(endpoint: str, detail: str = "") -> dict[str, Any]:
    """The "-1 系统错误" answer of ``endpoint`` ("token" or "order_push")."""
    tips = "系统错误" + (f" {detail}" if detail else "")
    if endpoint == "token":
        return {"err_no": ERR_SYSTEM, "err_tips": tips, "data": {}}
    return {"err_code": ERR_SYSTEM, "err_msg": tips, "body": ""}


# ---------------------------------------------------------------------------- field readers


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _decode(raw: bytes, content_type: str | None, code: int) -> dict[str, Any]:
    if "application/json" not in (content_type or "").lower():
        raise _param("body", "Content-Type must be application/json", code)
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError):
        raise _param("body", "not valid UTF-8 JSON", code) from None
    if not isinstance(body, dict):
        raise _param("body", "must be a JSON object", code)
    return body


def _utf8_len(value: str, where: str) -> int:
    try:
        return len(value.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate escape such as "\ud800"
        raise _param(where, "is not valid UTF-8 text") from None


def _text(
    obj: Mapping[str, Any], key: str, where: str, *, max_chars: int | None = None, max_bytes: int | None = None
) -> str:
    """A required string field ("" counts as missing); lengths in characters or UTF-8 bytes."""
    value = _optional_text(obj, key, where, max_chars=max_chars, max_bytes=max_bytes)
    if not value:
        raise _param(where, "required (a non-empty string)")
    return value


def _optional_text(
    obj: Mapping[str, Any], key: str, where: str, *, max_chars: int | None = None, max_bytes: int | None = None
) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _param(where, "must be a string")
    size = _utf8_len(value, where)
    if max_chars is not None and len(value) > max_chars:
        raise _param(where, f"at most {max_chars} characters (got {len(value)})")
    if max_bytes is not None and size > max_bytes:
        raise _param(where, f"at most {max_bytes} bytes UTF-8 (got {size})")
    return value


def _int(obj: Mapping[str, Any], key: str, where: str, *, minimum: int | None = None) -> int:
    value = obj.get(key)
    if value is None:
        raise _param(where, "required (a JSON integer)")
    # bool is an int subclass in Python; a JSON true/false is no number, and 1.0 is no integer.
    if type(value) is not int:
        raise _param(where, "must be a JSON integer (not a string, float or bool)")
    if minimum is not None and value < minimum:
        raise _param(where, f"must be >= {minimum}")
    return value


def _millis(obj: Mapping[str, Any], key: str, where: str) -> int:
    value = _int(obj, key, where)
    if not _MS_MIN <= value <= _MS_MAX:
        raise _param(where, "must be a 13-digit unix timestamp in milliseconds")
    return value


# ---------------------------------------------------------------------------- records


@dataclass
class AccessToken:
    value: str = field(repr=False)
    issued_at: float
    expires_at: float
    superseded_at: float | None = None  # a newer token was issued then
    revoked: bool = False  # two newer tokens were issued

    def valid_until(self) -> float:
        if self.revoked:
            return self.issued_at
        if self.superseded_at is None:
            return self.expires_at
        return min(self.expires_at, self.superseded_at + GRACE)

    def valid(self, now: float) -> bool:
        return not self.revoked and now < self.valid_until()


@dataclass
class Push:
    """One accepted push."""

    open_id: str
    order_status: int
    update_time: int
    order_detail: dict[str, Any]
    extra: str | None
    received_at: float  # simulated time
    applied: bool  # it became the order's current status (its update_time was not older)


@dataclass
class SyncRecord:
    out_order_no: str
    status: int
    update_time: int
    pushes: list[Push] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        return {
            "out_order_no": self.out_order_no,
            "status": self.status,
            "status_text": STATUS_TEXT[self.status],
            "update_time": self.update_time,
            "pushes": [dataclasses.asdict(p) for p in self.pushes],
        }


# ---------------------------------------------------------------------------- the endpoints


class OrderSync:
    def __init__(self, config: ConfigHolder, clock: SimClock) -> None:
        self._config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, AccessToken] = {}
        self._newest: list[AccessToken] = []  # at most the two newest, oldest first
        self.token_fetches = 0
        self.records: dict[str, SyncRecord] = {}

    def handle(self, endpoint: str, raw: bytes, content_type: str | None) -> dict[str, Any]:
        """The JSON answer of ``endpoint`` ("token" or "order_push")."""
        if endpoint == "token":
            return self.token(raw, content_type)
        if endpoint == "order_push":
            return self.push(raw, content_type)
        raise KeyError(endpoint)

    # ------------------------------------------------------------------ POST /api/apps/v2/token

    def token(self, raw: bytes, content_type: str | None) -> dict[str, Any]:
        try:
            body = _decode(raw, content_type, ERR_TOKEN_PARAM)
            for key in ("appid", "secret", "grant_type"):
                if not isinstance(body.get(key), str):
                    raise _param(key, "required (a string)", ERR_TOKEN_PARAM)
            cfg = self._config.get()
            if body["appid"] != cfg.app_id:
                raise _Invalid(ERR_TOKEN_APPID, "appid 错误 unknown appid")
            given = body["secret"].encode("utf-8", "surrogatepass")
            if not secrets.compare_digest(given, cfg.app_secret.encode("utf-8", "surrogatepass")):
                raise _Invalid(ERR_TOKEN_SECRET, "secret 错误 wrong secret")
            if body["grant_type"] != "client_credential":
                raise _Invalid(ERR_TOKEN_GRANT_TYPE, "grant_type 错误 grant_type must be client_credential")
        except _Invalid as refusal:
            return {"err_no": refusal.code, "err_tips": refusal.message, "data": {}}
        with self._lock:
            token = self._issue(self._clock.now())
        return {"err_no": 0, "err_tips": "success", "data": {"access_token": token.value, "expires_in": TOKEN_TTL}}

    def _issue(self, now: float) -> AccessToken:
        token = AccessToken("08" + secrets.token_hex(31), now, now + TOKEN_TTL)
        if self._newest:
            self._newest[-1].superseded_at = now
        if len(self._newest) == 2:
            self._newest.pop(0).revoked = True
        self._newest.append(token)
        self._tokens[token.value] = token
        self.token_fetches += 1
        return token

    def _token_valid(self, value: str, now: float) -> bool:
        token = self._tokens.get(value)
        return token is not None and token.valid(now)

    # ------------------------------------------------------------------ POST /api/apps/order/v2/push

    def push(self, raw: bytes, content_type: str | None) -> dict[str, Any]:
        with self._lock:
            now = self._clock.now()
            try:
                body = _decode(raw, content_type, ERR_PUSH_PARAM)
                access_token = _text(body, "access_token", "access_token")
                if not self._token_valid(access_token, now):
                    raise _Invalid(ERR_PUSH_TOKEN, "access_token 无效或已过期 invalid or expired access_token")
                push = self._read_push(body, now)
            except _Invalid as refusal:
                return {"err_code": refusal.code, "err_msg": refusal.message, "body": ""}
            self._record(push)
            return {"err_code": 0, "err_msg": "", "body": ""}

    def _read_push(self, body: Mapping[str, Any], now: float) -> Push:
        if body.get("app_name") != "douyin":
            raise _param("app_name", 'required, must be "douyin"')
        open_id = _text(body, "open_id", "open_id", max_chars=128)
        order_type = _int(body, "order_type", "order_type")
        if order_type in POI_ORDER_TYPES:
            raise _param("order_type", f"POI order types {POI_ORDER_TYPES} are not simulated; send 0")
        if order_type != 0:
            raise _param("order_type", "must be 0 (an ordinary mini-program order)")
        order_status = _int(body, "order_status", "order_status")
        if order_status not in STATUS_TEXT:
            raise _param("order_status", f"must be one of {tuple(STATUS_TEXT)}")
        update_time = _millis(body, "update_time", "update_time")
        extra = _optional_text(body, "extra", "extra", max_bytes=MAX_EXTRA_BYTES)
        detail = _order_detail(body)
        return Push(open_id, order_status, update_time, detail, extra, now, applied=False)

    def _record(self, push: Push) -> None:
        no = push.order_detail["order_id"]
        record = self.records.get(no)
        if record is None:
            record = self.records[no] = SyncRecord(no, push.order_status, push.update_time)
            push.applied = True
        elif push.update_time >= record.update_time:
            record.status, record.update_time = push.order_status, push.update_time
            push.applied = True
        record.pushes.append(push)

    # ------------------------------------------------------------------ reads

    def pushed_status(self, out_order_no: str) -> int | None:
        """The order's current pushed order_status; None if it was never pushed."""
        with self._lock:
            record = self.records.get(out_order_no)
            return None if record is None else record.status

    def fulfilled_at(self, out_order_no: str) -> float | None:
        """When the platform learnt the order was fulfilled (核销): the simulated receive time of its
        first applied push with order_status 4; None if there was none. A push with 4 that was
        older than the order's status at its arrival (not applied) tells the platform nothing."""
        with self._lock:
            record = self.records.get(out_order_no)
            if record is None:
                return None
            return next((p.received_at for p in record.pushes if p.applied and p.order_status == FULFILLED), None)

    def record(self, out_order_no: str) -> dict[str, Any] | None:
        with self._lock:
            record = self.records.get(out_order_no)
            return None if record is None else record.view()

    def state(self) -> dict[str, Any]:
        with self._lock:
            now = self._clock.now()
            return {
                "order_sync": {no: r.view() for no, r in self.records.items()},
                # Token values are credentials: only their times are shown.
                "access_tokens": {
                    "fetches": self.token_fetches,
                    "valid": [
                        {"issued_at": t.issued_at, "valid_until": t.valid_until()} for t in self._newest if t.valid(now)
                    ],
                },
            }


def _order_detail(body: Mapping[str, Any]) -> dict[str, Any]:
    """``order_detail``: a string holding a JSON object (< 2048 bytes), then its own fields."""
    raw = body.get("order_detail")
    if raw is None or raw == "":
        raise _param("order_detail", "required (a string holding a JSON object)")
    if not isinstance(raw, str):
        raise _param("order_detail", "must be a string holding a JSON object (not a JSON object)")
    size = _utf8_len(raw, "order_detail")
    if size > MAX_DETAIL_BYTES:
        raise _param("order_detail", f"must be under 2048 bytes UTF-8 (got {size})")
    try:
        detail = json.loads(raw, parse_constant=_reject_constant)
    except ValueError:
        raise _param("order_detail", "is not valid JSON") from None
    if not isinstance(detail, dict):
        raise _param("order_detail", "must hold a JSON object")
    # Keys the contract does not list may carry lone surrogates; the record must stay printable.
    _utf8_len(json.dumps(detail, ensure_ascii=False), "order_detail")
    w = "order_detail."
    _text(detail, "order_id", w + "order_id", max_bytes=64)
    _millis(detail, "create_time", w + "create_time")
    _text(detail, "status", w + "status")
    _int(detail, "amount", w + "amount", minimum=1)
    _int(detail, "total_price", w + "total_price", minimum=0)
    _text(detail, "detail_url", w + "detail_url", max_bytes=1024)
    items = detail.get("item_list")
    if items is None:
        raise _param(w + "item_list", "required (a non-empty array)")
    if not isinstance(items, list):
        raise _param(w + "item_list", "must be an array")
    if not items:
        raise _param(w + "item_list", "must not be empty")
    for i, item in enumerate(items):
        _item(item, f"{w}item_list[{i}]")
    return detail


def _item(item: object, where: str) -> None:
    if not isinstance(item, dict):
        raise _param(where, "must be an object")
    _text(item, "item_code", where + ".item_code", max_bytes=64)
    img = _text(item, "img", where + ".img", max_bytes=512)
    if not _HTTPS_URL.fullmatch(img):
        raise _param(where + ".img", "must be an https:// URL")
    _text(item, "title", where + ".title", max_bytes=256)
    _optional_text(item, "sub_title", where + ".sub_title", max_bytes=256)
    _int(item, "amount", where + ".amount", minimum=1)
    _int(item, "price", where + ".price", minimum=0)
