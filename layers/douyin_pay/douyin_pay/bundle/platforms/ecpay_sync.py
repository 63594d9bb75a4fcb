"""ecpay order sync (订单同步), the adapter's half: what the bundle's order sync means in ecpay.

The platform settles an ordinary mini-program order only when the status the merchant pushed to
Douyin's order center says it is paid or fulfilled ("普通小程序订单必传，担保支付分账依赖该状态").
The bundle's use case (``bundle/order_sync.py``) decides when to push and keeps pushes in order;
this module knows the rest — which order-center status each change of ours means, how an order is
shown there, which answers mean what, and the mini-program access_token the push carries.

An order can be synced only if the merchant gave the buyer's ``open_id`` (from ``code2Session``)
and how to show it: ``image_url`` (the item's picture) and ``order_entry_path`` (the mini-program
page of the order). The item's title and subtitle are the order's ``subject`` and ``body``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ...ecpay.order_sync import INVALID_TOKEN, OrderDetail, OrderItem, SyncStatus, order_push_fields
from ...errors import ConfigurationError, PlatformError, ValidationError
from ..settings import SANDBOX, Settings
from ..states import FULFILLED, Kind, OrderStatus, RefundStatus
from .calls import Fault
from .ecpay import SYNC_FIELDS

if TYPE_CHECKING:
    from ...ecpay.order_sync import OrderSyncClient

# Where the SDK names a problem with each (a field of the push body), in the API's words.
_API_FIELD = {
    "open_id": "open_id",
    "order_detail.item_list[0].img": "image_url",
    "order_detail.detail_url": "order_entry_path",
}
# What stands in for a field the merchant left out, so the fields given are checked by the SDK's
# own rules at create time (an order that cannot be pushed is refused before anything is written).
_PLACEHOLDER = {"open_id": "-", "image_url": "https://-", "order_entry_path": "-"}
# The platform allows a 1024-byte detail_url and a 512-byte img, but the whole order_detail must
# stay under 2048 bytes. With the page path at most 800 bytes, and neither it nor the picture's URL
# holding a character JSON escapes (so each is sent at its own size), every order the API accepts
# fits — subject and body (≤128 bytes each, their quotes escaped) and a 64-byte number included.
ENTRY_PATH_BYTES = 800
_PLAIN = re.compile(r'[^\s"\\\x00-\x1f\x7f]+')  # no white space, quote, backslash or control character

# The order-center statuses the platform's settlement accepts.
SETTLEABLE = frozenset({int(SyncStatus.PAID), int(SyncStatus.FULFILLED)})
# The secret's key for the mini-program's AppSecret (the access_token is fetched with it).
APP_SECRET_KEY = "app_secret"  # noqa: S105 - the key's name, not its value

# Changes of the same second are pushed in lifecycle order: update_time is the change's second in
# milliseconds plus this offset (at most 0.5 s off the true time), so the order center never sees a
# later status with an earlier time.
_OFFSET = {
    (Kind.ORDER, OrderStatus.CREATED): 0,
    (Kind.ORDER, OrderStatus.EXPIRED): 100,
    (Kind.ORDER, OrderStatus.FAILED): 100,
    (Kind.ORDER, OrderStatus.PAID): 100,
    (Kind.ORDER, FULFILLED): 200,
    (Kind.REFUND, RefundStatus.PROCESSING): 300,
    (Kind.REFUND, RefundStatus.SUCCEEDED): 400,
    (Kind.REFUND, RefundStatus.FAILED): 400,
}


def display_fields(given: dict[str, Any], *, subject: str, body: str, total_amount: int) -> dict[str, Any]:
    """Check an order request's sync fields by the push's rules; returns what the order stores."""
    filled = {**_PLACEHOLDER, **given}
    for name, value in given.items():
        if not isinstance(value, str):
            raise ValidationError(name, "must be a string", code="invalid_field")
        if name != "open_id" and value and not _PLAIN.fullmatch(value):
            raise ValidationError(
                name, "must not contain white space, quotes, backslashes or control characters", code="invalid_text"
            )
    path = given.get("order_entry_path")
    if isinstance(path, str) and len(path.encode("utf-8", "surrogatepass")) > ENTRY_PATH_BYTES:
        raise ValidationError("order_entry_path", f"must be at most {ENTRY_PATH_BYTES} bytes in UTF-8", code="too_long")
    detail = _detail(
        "0", 1_000_000_000_000, SyncStatus.UNPAID, filled["image_url"], filled["order_entry_path"],
        subject=subject, body=body, total_amount=total_amount,
    )  # fmt: skip
    try:
        order_push_fields(filled["open_id"], SyncStatus.UNPAID, 1_000_000_000_000, detail)
    except ValidationError as exc:
        name = _API_FIELD.get(exc.field)
        if name is None:
            raise
        raise ValidationError(name, str(exc).split(": ", 1)[-1], code=exc.code) from None
    return given


def missing(order: Mapping[str, Any]) -> list[str]:
    """The sync fields an order lacks (empty: it can be synced)."""
    return [name for name in SYNC_FIELDS if not order.get(name)]


def statuses_for(kind: Kind, change: str, order: Mapping[str, Any]) -> tuple[int, ...]:
    """The order-center statuses one change of ours means, in the order they are pushed.

    A refund's final state is announced as such (退款 成功/失败); if money is left on the order
    (a part refund, or a refund that failed), the order's standing status follows it, because
    settlement needs the order shown as paid or fulfilled again."""
    standing = SyncStatus.FULFILLED if order.get("fulfilled_at") else SyncStatus.PAID
    if kind is Kind.ORDER:
        table = {
            OrderStatus.CREATED: (SyncStatus.UNPAID,),
            OrderStatus.PAID: (standing,),
            OrderStatus.EXPIRED: (SyncStatus.CANCELLED,),
            OrderStatus.FAILED: (SyncStatus.CANCELLED,),
            FULFILLED: (SyncStatus.FULFILLED,),
        }
        return tuple(int(s) for s in table.get(change, ()))
    if kind is Kind.REFUND:
        money_left = int(order.get("refundable_amount") or 0) > 0
        if change == RefundStatus.PROCESSING:
            return (int(SyncStatus.REFUNDING),)
        if change == RefundStatus.SUCCEEDED:
            return (int(SyncStatus.REFUNDED), int(standing)) if money_left else (int(SyncStatus.REFUNDED),)
        if change == RefundStatus.FAILED:
            return (int(SyncStatus.REFUND_FAILED), int(standing))
    return ()


def update_time(kind: Kind, change: str, changed_at: int) -> int:
    """The push's update_time (ms) for a change at ``changed_at`` (s); see :data:`_OFFSET`."""
    return changed_at * 1000 + _OFFSET.get((kind, change), 0)


def status_text(status: int) -> str:
    return SyncStatus(status).text


def _detail(
    out_order_no: str,
    create_time: int,
    status: SyncStatus,
    image_url: str,
    entry_path: str,
    *,
    subject: str,
    body: str,
    total_amount: int,
) -> OrderDetail:
    item = OrderItem(
        item_code=out_order_no,
        img=image_url,
        # subject and body are at most 128 bytes (create_order's rule): within the 256 of the push.
        title=subject,
        sub_title=body,
        price=total_amount,
        amount=1,
    )
    return OrderDetail(
        order_id=out_order_no,
        create_time=create_time,
        status_text=status.text,
        amount=1,
        total_price=total_amount,
        detail_url=entry_path,
        items=(item,),
    )


class EcpayOrderSync:
    """ecpay's :class:`~douyin_pay.bundle.platforms.base.OrderPusher`: pushes one status of one
    stored order (``POST /api/apps/order/v2/push``)."""

    required_fields = SYNC_FIELDS

    def __init__(
        self,
        settings: Settings,
        *,
        secret: Callable[[], Mapping[str, Any]],
        tokens: Callable[[Callable[[], Any]], Any],
    ) -> None:
        self._settings = settings
        self._secret = secret
        self._tokens = tokens  # builds the stack's shared token source around a fetch
        self._client: OrderSyncClient | None = None

    @staticmethod
    def update_time(kind: Kind, change: str, changed_at: int) -> int:
        return update_time(kind, change, changed_at)

    @staticmethod
    def statuses(kind: Kind, change: str, order: Mapping[str, Any]) -> tuple[int, ...]:
        return statuses_for(kind, change, order)

    @staticmethod
    def status_text(status: int) -> str:
        return status_text(status)

    def push(self, order: Mapping[str, Any], status: int, at: int) -> None:
        """Raises :class:`PlatformError` (see :meth:`fault`)."""
        sync = SyncStatus(status)
        detail = _detail(
            order["out_order_no"],
            int(order["created_at"]) * 1000,
            sync,
            order["image_url"],
            order["order_entry_path"],
            subject=order.get("subject", ""),
            body=order.get("body", ""),
            total_amount=int(order["total_amount"]),
        )
        self.client().push(order_push_fields(order["open_id"], sync, at, detail))

    @staticmethod
    def fault(error: PlatformError) -> Fault:
        # A token the platform still refuses after one refresh is the secret's problem: retry later
        # (the alarm on the queue's DLQ tells the operator); a parameter error never heals.
        return Fault(retryable=error.retryable or error.err_no == INVALID_TOKEN)

    def client(self) -> OrderSyncClient:
        from ...ecpay.access_token import fetch_access_token
        from ...ecpay.client import DEFAULT_TIMEOUT, PRODUCTION_BASE_URL, SANDBOX_BASE_URL
        from ...ecpay.order_sync import OrderSyncClient

        if self._client is None:
            settings = self._settings
            base_url = settings.base_url_override or (
                SANDBOX_BASE_URL if settings.environment == SANDBOX else PRODUCTION_BASE_URL
            )

            def fetch() -> Any:
                app_secret = self._secret().get(APP_SECRET_KEY)
                if not isinstance(app_secret, str) or not app_secret:
                    raise ConfigurationError(
                        f"the payment secret has no {APP_SECRET_KEY}: order sync needs the mini-program's AppSecret"
                    )
                return fetch_access_token(settings.app_id, app_secret, base_url=base_url, timeout=DEFAULT_TIMEOUT)

            self._client = OrderSyncClient(settings.app_id, self._tokens(fetch), base_url=base_url)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
