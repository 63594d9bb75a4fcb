"""担保支付 (ecpay v1): MD5 + SALT request signing, SHA1 + token callbacks, the client and its typed
results (ecpay-spec), and 订单同步 (order sync): the access_token fetch (:func:`fetch_access_token`),
the push's fields, checked before sending (:func:`order_push_fields`), and its client
(:class:`OrderSyncClient`); the merchant's balance and withdrawals (funds.py) and bills (bills.py).
Douyin is retiring ecpay for new mini-programs; existing ones keep it.

Importable without boto3 or Powertools; the clients (and so ``requests``) load on first use.
"""

from typing import TYPE_CHECKING

from .access_token import AccessToken, fetch_access_token
from .bills import BILL_COLUMNS, BillFile, BillType, PaymentBillRow, RefundBillRow, SettleBillRow, parse_bill
from .funds import WITHDRAW_CHANNELS, MerchantBalance, WithdrawOrderResult, WithdrawResult, WithdrawStatus
from .notices import (
    AnyNotice,
    AutoSettlement,
    GenericNotice,
    Notice,
    PaymentNotice,
    RefundNotice,
    SettleFinishNotice,
    SettleNotice,
    WithdrawNotice,
    parse_callback,
    verify_callback,
)
from .order_sync import (
    OrderDetail,
    OrderItem,
    OrderSyncClient,
    PushResult,
    SyncStatus,
    order_push_fields,
)
from .request_fields import SettlePayee
from .results import (
    PAY_WAYS,
    CpsInfo,
    CreateOrderResult,
    OrderQueryResult,
    PaymentInfo,
    PlatformOrderResult,
    PlatformSettlement,
    RefundQueryResult,
    RefundResult,
    ReturnInfo,
    SettleQueryResult,
    SettleResult,
    UnsettleAmountResult,
)
from .settlements import SettlePayeeAmount
from .signing import UNSIGNED_KEYS, callback_sign, request_sign, wire_value

if TYPE_CHECKING:
    from .client import (
        API_PREFIX,
        DEFAULT_TIMEOUT,
        NO_RETRY,
        PRODUCTION_BASE_URL,
        SANDBOX_BASE_URL,
        EcpayClient,
        RetryPolicy,
    )

# The client pulls in `requests` (~80 ms of cold start); a callback handler only verifies and
# parses, so the client names are loaded on first use (PEP 562).
_CLIENT_NAMES = frozenset(
    {
        "API_PREFIX",
        "DEFAULT_TIMEOUT",
        "NO_RETRY",
        "PRODUCTION_BASE_URL",
        "SANDBOX_BASE_URL",
        "EcpayClient",
        "RetryPolicy",
    }
)


def __getattr__(name: str) -> object:
    if name in _CLIENT_NAMES:
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "API_PREFIX",
    "BILL_COLUMNS",
    "DEFAULT_TIMEOUT",
    "NO_RETRY",
    "PAY_WAYS",
    "PRODUCTION_BASE_URL",
    "SANDBOX_BASE_URL",
    "UNSIGNED_KEYS",
    "WITHDRAW_CHANNELS",
    "AccessToken",
    "AnyNotice",
    "AutoSettlement",
    "BillFile",
    "BillType",
    "CpsInfo",
    "CreateOrderResult",
    "EcpayClient",
    "GenericNotice",
    "MerchantBalance",
    "Notice",
    "OrderDetail",
    "OrderItem",
    "OrderQueryResult",
    "OrderSyncClient",
    "PaymentBillRow",
    "PaymentInfo",
    "PaymentNotice",
    "PlatformOrderResult",
    "PlatformSettlement",
    "PushResult",
    "RefundBillRow",
    "RefundNotice",
    "RefundQueryResult",
    "RefundResult",
    "RetryPolicy",
    "ReturnInfo",
    "SettleBillRow",
    "SettleFinishNotice",
    "SettleNotice",
    "SettlePayee",
    "SettlePayeeAmount",
    "SettleQueryResult",
    "SettleResult",
    "SyncStatus",
    "UnsettleAmountResult",
    "WithdrawNotice",
    "WithdrawOrderResult",
    "WithdrawResult",
    "WithdrawStatus",
    "callback_sign",
    "fetch_access_token",
    "order_push_fields",
    "parse_bill",
    "parse_callback",
    "request_sign",
    "verify_callback",
    "wire_value",
]
