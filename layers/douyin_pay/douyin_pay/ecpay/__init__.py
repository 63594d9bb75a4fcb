"""担保支付 (ecpay v1): MD5 + SALT request signing, SHA1 + token callbacks, the client and its typed
results (ecpay-spec), and 订单同步 (order sync): the access_token fetch (:func:`fetch_access_token`),
the push's fields, checked before sending (:func:`order_push_fields`), and its client
(:class:`OrderSyncClient`); the merchant's balance and withdrawals (funds.py) and bills (bills.py).
Douyin is retiring ecpay for new mini-programs; existing ones keep it.

Importable without boto3 or Powertools. Every name here loads its module on first use (PEP 562): a
callback handler needs only the notices and their signing, not the clients (and so ``requests``),
the bills or the order sync, and each module it skips is cold start it does not pay.
"""

import importlib
from typing import TYPE_CHECKING

# Each public name and the module that defines it. douyin_pay's top level exports the same names.
_EXPORTS: dict[str, str] = {
    "AccessToken": "access_token",
    "fetch_access_token": "access_token",
    "BILL_COLUMNS": "bills",
    "BillFile": "bills",
    "BillType": "bills",
    "PaymentBillRow": "bills",
    "RefundBillRow": "bills",
    "SettleBillRow": "bills",
    "parse_bill": "bills",
    "API_PREFIX": "client",
    "DEFAULT_TIMEOUT": "client",
    "EcpayClient": "client",
    "NO_RETRY": "client",
    "PRODUCTION_BASE_URL": "client",
    "RetryPolicy": "client",
    "SANDBOX_BASE_URL": "client",
    "MerchantBalance": "funds",
    "WITHDRAW_CHANNELS": "funds",
    "WithdrawOrderResult": "funds",
    "WithdrawResult": "funds",
    "WithdrawStatus": "funds",
    "AnyNotice": "notices",
    "AutoSettlement": "notices",
    "GenericNotice": "notices",
    "Notice": "notices",
    "PaymentNotice": "notices",
    "RefundNotice": "notices",
    "SettleFinishNotice": "notices",
    "SettleNotice": "notices",
    "WithdrawNotice": "notices",
    "parse_callback": "notices",
    "verify_callback": "notices",
    "OrderDetail": "order_sync",
    "OrderItem": "order_sync",
    "OrderSyncClient": "order_sync",
    "PushResult": "order_sync",
    "SyncStatus": "order_sync",
    "order_push_fields": "order_sync",
    "SettlePayee": "request_fields",
    "CpsInfo": "results",
    "CreateOrderResult": "results",
    "OrderQueryResult": "results",
    "PAY_WAYS": "results",
    "PaymentInfo": "results",
    "PlatformOrderResult": "results",
    "PlatformSettlement": "results",
    "RefundQueryResult": "results",
    "RefundResult": "results",
    "ReturnInfo": "results",
    "SettleQueryResult": "results",
    "SettleResult": "results",
    "UnsettleAmountResult": "results",
    "SettlePayeeAmount": "settlements",
    "UNSIGNED_KEYS": "signing",
    "callback_sign": "signing",
    "request_sign": "signing",
    "wire_value": "signing",
}

if TYPE_CHECKING:
    from .access_token import AccessToken, fetch_access_token
    from .bills import BILL_COLUMNS, BillFile, BillType, PaymentBillRow, RefundBillRow, SettleBillRow, parse_bill
    from .client import (
        API_PREFIX,
        DEFAULT_TIMEOUT,
        NO_RETRY,
        PRODUCTION_BASE_URL,
        SANDBOX_BASE_URL,
        EcpayClient,
        RetryPolicy,
    )
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
    from .order_sync import OrderDetail, OrderItem, OrderSyncClient, PushResult, SyncStatus, order_push_fields
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


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # found once; later look-ups do not come back here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


# The same names as _EXPORTS' keys, spelled out for linters and readers (tests/sdk/test_public_api.py).
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
