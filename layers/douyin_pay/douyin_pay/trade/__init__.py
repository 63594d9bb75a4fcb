"""通用交易系统 (trade_basic v1): SHA256-RSA2048 order signing for tt.requestOrder, callback
verification with the platform public key, the server client and its typed results (trade-spec).

Importable without boto3 or Powertools, and cheap to import: ``cryptography`` loads when a key is
first used, ``requests`` when the client (or :func:`fetch_client_token`) is first used.
"""

from typing import TYPE_CHECKING

# The errors every trade call raises, re-exported so a handler needs one import.
from ..errors import (
    CallbackError,
    ConfigurationError,
    DouyinPayError,
    MalformedCallbackError,
    PlatformError,
    PlatformTransportError,
    SignatureError,
    ValidationError,
)
from .endpoints import PRODUCTION_BASE_URL
from .items import ItemRefund, RefundItemDetail
from .notices import (
    AnyNotice,
    GenericNotice,
    Notice,
    PaymentNotice,
    PreCreateRefundNotice,
    RefundNotice,
    SettleNotice,
    parse_callback,
    verify_callback,
)
from .request_fields import check_refund_fields, check_settle_fields, refund_fields, settle_fields
from .request_order import RequestOrderParams, request_order_data, sign_request_order
from .results import (
    PAY_CHANNELS,
    AuditDetail,
    CpsInfo,
    CpsItem,
    ItemOrder,
    RefundCreated,
    SettleCreated,
    TradeOrder,
    TradeRefund,
    TradeSettlement,
)
from .signing import byte_authorization, new_nonce, rsa_sign, rsa_verify, signature_message
from .tokens import ClientToken, InMemoryTokenSource, TokenSource, fetch_client_token

if TYPE_CHECKING:
    from .client import AUTH_ERR_NOS, RETRYABLE_ERR_NOS, RetryPolicy, TradeClient

# The client pulls in `requests` (~80 ms of cold start); a callback handler only verifies and
# parses, so the client names are loaded on first use (PEP 562).
_CLIENT_NAMES = frozenset({"AUTH_ERR_NOS", "RETRYABLE_ERR_NOS", "RetryPolicy", "TradeClient"})


def __getattr__(name: str) -> object:
    if name in _CLIENT_NAMES:
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AUTH_ERR_NOS",
    "PAY_CHANNELS",
    "PRODUCTION_BASE_URL",
    "RETRYABLE_ERR_NOS",
    "AnyNotice",
    "AuditDetail",
    "CallbackError",
    "ClientToken",
    "ConfigurationError",
    "CpsInfo",
    "CpsItem",
    "DouyinPayError",
    "GenericNotice",
    "InMemoryTokenSource",
    "ItemOrder",
    "ItemRefund",
    "MalformedCallbackError",
    "Notice",
    "PaymentNotice",
    "PlatformError",
    "PlatformTransportError",
    "PreCreateRefundNotice",
    "RefundCreated",
    "RefundItemDetail",
    "RefundNotice",
    "RequestOrderParams",
    "RetryPolicy",
    "SettleCreated",
    "SettleNotice",
    "SignatureError",
    "TokenSource",
    "TradeClient",
    "TradeOrder",
    "TradeRefund",
    "TradeSettlement",
    "ValidationError",
    "byte_authorization",
    "check_refund_fields",
    "check_settle_fields",
    "fetch_client_token",
    "new_nonce",
    "parse_callback",
    "refund_fields",
    "request_order_data",
    "rsa_sign",
    "rsa_verify",
    "settle_fields",
    "sign_request_order",
    "signature_message",
    "verify_callback",
]
