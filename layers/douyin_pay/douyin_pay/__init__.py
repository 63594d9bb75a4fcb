"""douyin_pay: Douyin mini-program 担保支付 (ecpay v1) on AWS — the SDK layer.

Signing (:func:`request_sign`, :func:`callback_sign`), callback verification
(:func:`parse_callback` and the notice types) and the platform client (:class:`EcpayClient`).
Everything here is importable without boto3 or Powertools.
"""

from typing import TYPE_CHECKING

from .errors import (
    CallbackError,
    ConfigurationError,
    DouyinPayError,
    MalformedCallbackError,
    PlatformError,
    PlatformTransportError,
    SignatureError,
    UnsignableValueError,
    ValidationError,
)
from .models import (
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
from .notices import (
    AnyNotice,
    AutoSettlement,
    GenericNotice,
    Notice,
    PaymentNotice,
    RefundNotice,
    SettleFinishNotice,
    SettleNotice,
    SettlePayeeAmount,
    parse_callback,
    verify_callback,
)
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
        SettlePayee,
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
        "SettlePayee",
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
    "AnyNotice",
    "AutoSettlement",
    "CallbackError",
    "ConfigurationError",
    "CpsInfo",
    "CreateOrderResult",
    "DouyinPayError",
    "EcpayClient",
    "GenericNotice",
    "MalformedCallbackError",
    "Notice",
    "OrderQueryResult",
    "PaymentInfo",
    "PaymentNotice",
    "PlatformError",
    "PlatformOrderResult",
    "PlatformSettlement",
    "PlatformTransportError",
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
    "SignatureError",
    "UnsettleAmountResult",
    "UnsignableValueError",
    "ValidationError",
    "callback_sign",
    "parse_callback",
    "request_sign",
    "verify_callback",
    "wire_value",
]
