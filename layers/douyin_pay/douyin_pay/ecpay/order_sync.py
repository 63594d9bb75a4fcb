"""订单同步 (order sync): pushing an order's status to Douyin, ``POST /api/apps/order/v2/push``.

A settlement is refused for an order whose latest pushed status is not paid or fulfilled (the
order-sync contract), so every status change is pushed here. The push carries an ecpay
``access_token`` (not a signature) and the order as ``order_detail``: a JSON **string**, under 2048
bytes, of the order and its items.

:func:`order_push_fields` checks every field rule before anything is sent and serialises
``order_detail`` once, so the size checked is the size of the string that is sent; the bundle records
those fields and :meth:`OrderSyncClient.push` sends them. A push refused for its token (40002) is
repeated once with a fresh token; nothing else is retried here: a later push of the same order (a
greater ``update_time``) supersedes an earlier one, so the caller decides whether to repeat.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

from .. import _fields as read
from .._http import DEFAULT_TIMEOUT, SessionOwner, check_base_url, check_timeout
from .._tokens import InMemoryTokenSource, TokenSource
from ..errors import ConfigurationError, PlatformError, PlatformTransportError, ValidationError
from .access_token import PRODUCTION_BASE_URL, SYSTEM_ERROR, AccessToken, _post_json, fetch_access_token

if TYPE_CHECKING:
    import requests

ORDER_PUSH_PATH = "/api/apps/order/v2/push"
INVALID_TOKEN = 40002  # access_token 无效或已过期: unknown, expired, or superseded beyond the grace
INVALID_PARAMS = 40014  # 参数错误: err_msg names the field

ORDER_TYPE_ORDINARY = 0  # 9101 / 9001 are POI orders, which we never send
APP_NAME = "douyin"
MAX_OPEN_ID_CHARS = 128
MAX_EXTRA_BYTES = 2047  # "< 2048 bytes"
MAX_ORDER_DETAIL_BYTES = 2047  # "< 2048 bytes", of the JSON string as sent
MAX_ORDER_ID_BYTES = 64
MAX_DETAIL_URL_BYTES = 1024
MAX_ITEM_CODE_BYTES = 64
MAX_IMG_BYTES = 512
MAX_TITLE_BYTES = 256
MAX_SUB_TITLE_BYTES = 256
_MS_LOW, _MS_HIGH = 10**12, 10**13 - 1  # 13-digit unix milliseconds


class SyncStatus(IntEnum):
    """``order_status`` of an ordinary order; :attr:`text` is the ``status`` text sent with it."""

    UNPAID = 0
    PAID = 1
    CANCELLED = 2
    FULFILLED = 4
    REFUNDING = 5
    REFUNDED = 6
    REFUND_FAILED = 8

    @property
    def text(self) -> str:
        """The status text the contract pairs with this status (STATUS_TEXT)."""
        return STATUS_TEXT[self]


STATUS_TEXT: Mapping[SyncStatus, str] = {
    SyncStatus.UNPAID: "待支付",
    SyncStatus.PAID: "已支付",
    SyncStatus.CANCELLED: "已取消",
    SyncStatus.FULFILLED: "已核销",
    SyncStatus.REFUNDING: "退款中",
    SyncStatus.REFUNDED: "已退款",
    SyncStatus.REFUND_FAILED: "退款失败",
}


@dataclass(frozen=True)
class OrderItem:
    """One line of ``order_detail.item_list``. ``price`` is in fen; ``img`` is an https URL."""

    item_code: str
    img: str
    title: str
    price: int
    amount: int = 1
    sub_title: str = ""  # left out of the push when empty


@dataclass(frozen=True)
class OrderDetail:
    """The order as Douyin shows it. ``order_id`` is our out_order_no; ``create_time`` is 13-digit
    unix milliseconds; ``status_text`` is sent as ``status`` (use :attr:`SyncStatus.text`);
    ``amount`` counts the items; ``total_price`` is in fen; ``detail_url`` is a mini-program page."""

    order_id: str
    create_time: int
    status_text: str
    amount: int
    total_price: int
    detail_url: str
    items: tuple[OrderItem, ...]


# -- field rules -----------------------------------------------------------------------------------


def _utf8_size(field: str, value: str) -> int:
    try:
        return len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValidationError(field, "must be valid Unicode text (no lone surrogates)", code="invalid_text") from None


def _text(field: str, value: object, max_bytes: int, *, min_bytes: int = 1) -> str:
    """A string of ``min_bytes``..``max_bytes`` bytes in UTF-8 (the platform counts bytes, not characters)."""
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string", code="invalid_text")
    size = _utf8_size(field, value)
    if size < min_bytes:
        raise ValidationError(field, "must not be empty", code="missing_field")
    if size > max_bytes:
        raise ValidationError(field, f"must be at most {max_bytes} bytes in UTF-8", code="too_long")
    return value


def _integer(field: str, value: object, minimum: int) -> int:
    """An int (never a bool: ``True`` would be sent as ``true``) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, "must be an integer", code="invalid_integer")
    if value < minimum:
        raise ValidationError(field, f"must be at least {minimum}", code="out_of_range")
    return int(value)


def _millis(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, "must be an integer of unix milliseconds", code="invalid_integer")
    if not _MS_LOW <= value <= _MS_HIGH:
        raise ValidationError(field, "must be 13-digit unix milliseconds", code="invalid_timestamp")
    return int(value)


def _image_url(field: str, value: object) -> str:
    url = _text(field, value, MAX_IMG_BYTES)
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or any(c.isspace() for c in url):
        raise ValidationError(field, "must be an https URL", code="invalid_url")
    return url


def _status(value: object) -> SyncStatus:
    if not isinstance(value, bool) and isinstance(value, int):
        try:
            return SyncStatus(value)
        except ValueError:
            pass
    allowed = ", ".join(str(int(s)) for s in SyncStatus)
    raise ValidationError("order_status", f"must be one of {allowed}", code="invalid_status")


def _item(where: str, item: object) -> dict[str, object]:
    if not isinstance(item, OrderItem):
        raise ValidationError(where, "must be an OrderItem", code="invalid_item")
    fields: dict[str, object] = {
        "item_code": _text(f"{where}.item_code", item.item_code, MAX_ITEM_CODE_BYTES),
        "img": _image_url(f"{where}.img", item.img),
        "title": _text(f"{where}.title", item.title, MAX_TITLE_BYTES),
    }
    if _text(f"{where}.sub_title", item.sub_title, MAX_SUB_TITLE_BYTES, min_bytes=0):
        fields["sub_title"] = item.sub_title
    fields["amount"] = _integer(f"{where}.amount", item.amount, 1)
    fields["price"] = _integer(f"{where}.price", item.price, 0)
    return fields


def _detail(detail: object) -> dict[str, object]:
    if not isinstance(detail, OrderDetail):
        raise ValidationError("order_detail", "must be an OrderDetail", code="invalid_order_detail")
    items = detail.items
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise ValidationError("order_detail.item_list", "must be a sequence of OrderItem", code="invalid_item")
    if not items:
        raise ValidationError("order_detail.item_list", "must not be empty", code="missing_field")
    return {
        "order_id": _text("order_detail.order_id", detail.order_id, MAX_ORDER_ID_BYTES),
        "create_time": _millis("order_detail.create_time", detail.create_time),
        # The contract asks only for a non-empty text; the whole detail's size bounds its length.
        "status": _text("order_detail.status", detail.status_text, MAX_ORDER_DETAIL_BYTES),
        "amount": _integer("order_detail.amount", detail.amount, 1),
        "total_price": _integer("order_detail.total_price", detail.total_price, 0),
        "detail_url": _text("order_detail.detail_url", detail.detail_url, MAX_DETAIL_URL_BYTES),
        "item_list": [_item(f"order_detail.item_list[{i}]", item) for i, item in enumerate(items)],
    }


def order_push_fields(
    open_id: str,
    order_status: SyncStatus,
    update_time: int,
    detail: OrderDetail,
    *,
    extra: str | None = None,
) -> dict[str, object]:
    """The push body for one status of one order, every rule checked, without ``access_token``.

    ``update_time`` (13-digit ms) orders pushes: the platform keeps the one with the greatest.
    ``order_detail`` is serialised here, once (compact, UTF-8 as is), and its size is checked on that
    exact string. A broken rule raises :class:`~douyin_pay.errors.ValidationError` naming the field by
    its wire path (``order_detail.item_list[0].img``); nothing has been sent.
    """
    if not isinstance(open_id, str) or not 0 < len(open_id) <= MAX_OPEN_ID_CHARS:
        raise ValidationError(
            "open_id", f"must be a string of 1 to {MAX_OPEN_ID_CHARS} characters", code="invalid_text"
        )
    _utf8_size("open_id", open_id)
    status = _status(order_status)
    fields: dict[str, object] = {
        "app_name": APP_NAME,
        "open_id": open_id,
        "order_type": ORDER_TYPE_ORDINARY,
        "order_status": int(status),
        "update_time": _millis("update_time", update_time),
    }
    if extra is not None:
        fields["extra"] = _text("extra", extra, MAX_EXTRA_BYTES, min_bytes=0)
    order_detail = json.dumps(_detail(detail), ensure_ascii=False, separators=(",", ":"))
    size = len(order_detail.encode("utf-8"))
    if size > MAX_ORDER_DETAIL_BYTES:
        raise ValidationError(
            "order_detail",
            f"is {size} bytes as JSON; it must be at most {MAX_ORDER_DETAIL_BYTES} (shorten titles or items)",
            code="too_long",
        )
    fields["order_detail"] = order_detail
    return fields


# -- the client ------------------------------------------------------------------------------------


def _unexpected(key: str, problem: str) -> NoReturn:
    # A 200 answer we cannot read leaves the outcome unknown: the push may be repeated as it is.
    raise PlatformTransportError(f"order_push: unexpected response: {key!r} {problem}")


@dataclass(frozen=True)
class PushResult:
    """The platform's answer to an accepted push (``err_code`` is then 0)."""

    err_code: int = read.wire("err_code", read.as_json_int, required=True)
    err_msg: str = read.wire("err_msg", read.as_str)
    body: str = read.wire("body", read.as_str)

    @classmethod
    def from_response(cls, payload: Mapping[str, Any]) -> PushResult:
        return read.build(cls, payload, _unexpected)


class OrderSyncClient(SessionOwner):
    """Client of the order-sync push.

    ``tokens`` hands out the ecpay access_token (:meth:`for_app` builds an in-process one; the bundle
    passes its shared source); ``app_id`` names the app in ``repr`` and logs only: the token
    identifies it to the platform.
    """

    def __init__(
        self,
        app_id: str,
        tokens: TokenSource,
        *,
        base_url: str = PRODUCTION_BASE_URL,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        if not isinstance(app_id, str) or not 0 < len(app_id) <= 64:
            raise ConfigurationError("app_id must be a non-empty string of at most 64 characters")
        if not callable(getattr(tokens, "token", None)):
            raise ConfigurationError("tokens must be a TokenSource (an object with a token() method)")
        self.app_id = app_id
        self.base_url = check_base_url(base_url)
        self.timeout = check_timeout(timeout)
        self._tokens = tokens
        self._owns_session = session is None
        if session is None:
            import requests  # here, not at import: a callback handler never pushes

            session = requests.Session()
        self._session = session

    @classmethod
    def for_app(
        cls,
        app_id: str,
        secret: str,
        *,
        base_url: str = PRODUCTION_BASE_URL,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> OrderSyncClient:
        """A client that fetches and caches its own access_token (for SDK use without the bundle).

        One per process: each one fetches its own token, and every fetch invalidates the last.
        """
        if not isinstance(secret, str) or not secret:
            raise ConfigurationError("secret must be a non-empty string")

        def fetch() -> AccessToken:
            return fetch_access_token(app_id, secret, base_url=base_url, session=client._session, timeout=timeout)

        client = cls(app_id, InMemoryTokenSource(fetch), base_url=base_url, session=session, timeout=timeout)
        return client

    def __repr__(self) -> str:  # never show a token or the secret
        return f"OrderSyncClient(app_id={self.app_id!r}, base_url={self.base_url!r})"

    def push(self, fields: Mapping[str, object]) -> PushResult:
        """Send fields built by :func:`order_push_fields`, with the current access_token.

        40002 (token invalid) asks the token source for a new one, naming the rejected token, and
        sends once more; a second 40002 is raised. Any other ``err_code`` ≠ 0 raises
        :class:`PlatformError` (retryable for -1 only); no readable answer raises
        :class:`PlatformTransportError`.
        """
        if not isinstance(fields, Mapping):
            raise ValidationError("fields", "must be the mapping order_push_fields returned", code="invalid_fields")
        if "access_token" in fields:
            raise ValidationError("access_token", "is added by the client; leave it out", code="unexpected_field")
        token = self._token(self._tokens.token())
        try:
            return self._send(fields, token)
        except PlatformError as exc:
            if exc.err_no != INVALID_TOKEN:
                raise
        # The refused push was not applied: one fresh token, one more send.
        return self._send(fields, self._token(self._tokens.token(stale=token)))

    @staticmethod
    def _token(token: object) -> str:
        if not isinstance(token, str) or not token:
            raise ConfigurationError("the token source returned no token")
        return token

    def _send(self, fields: Mapping[str, object], token: str) -> PushResult:
        body = {"access_token": token, **fields}
        status, payload = _post_json(self._session, self.base_url + ORDER_PUSH_PATH, body, self.timeout, "order_push")
        err_code = read.as_json_int(payload, "err_code", _unexpected, required=True)
        if err_code != 0:
            message = payload.get("err_msg")
            raise PlatformError(
                err_code,
                message if isinstance(message, str) else "",
                http_status=status,
                retryable=err_code == SYSTEM_ERROR,
            )
        return PushResult.from_response(payload)
