"""担保支付 (ecpay v1): MD5 + SALT request signing, SHA1 + token callbacks, the client and its typed
results (ecpay-spec), and the access_token the order-sync push carries (:func:`fetch_access_token`).
Douyin is retiring ecpay for new mini-programs; existing ones keep it.

Importable without boto3 or Powertools; the client (and so ``requests``) loads on first use.
"""

from typing import TYPE_CHECKING

from .access_token import AccessToken, fetch_access_token
from .notices import (
    AnyNotice,
    AutoSettlement,
    GenericNotice,
    Notice,
    PaymentNotice,
    RefundNotice,
    SettleFinishNotice,
    SettleNotice,
    parse_callback,
    verify_callback,
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
    "DEFAULT_TIMEOUT",
    "NO_RETRY",
    "PAY_WAYS",
    "PRODUCTION_BASE_URL",
    "SANDBOX_BASE_URL",
    "UNSIGNED_KEYS",
    "AccessToken",
    "AnyNotice",
    "AutoSettlement",
    "CpsInfo",
    "CreateOrderResult",
    "EcpayClient",
    "GenericNotice",
    "Notice",
    "OrderQueryResult",
    "PaymentInfo",
    "PaymentNotice",
    "PlatformOrderResult",
    "PlatformSettlement",
    "RefundNotice",
    "RefundQueryResult",
    "RefundResult",
    "RetryPolicy",
    "ReturnInfo",
    "SettleFinishNotice",
    "SettleNotice",
    "SettlePayee",
    "SettlePayeeAmount",
    "SettleQueryResult",
    "SettleResult",
    "UnsettleAmountResult",
    "callback_sign",
    "fetch_access_token",
    "parse_callback",
    "request_sign",
    "verify_callback",
    "wire_value",
]
