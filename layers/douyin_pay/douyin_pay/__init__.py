"""douyin_pay: the Douyin mini-program payments SDK, and (in :mod:`douyin_pay.bundle`) the AWS bundle.

The SDK is pure protocol code, importable without boto3 or Powertools:

* :mod:`douyin_pay.trade` — 通用交易系统 (trade_basic v1), which new mini-programs must use:
  SHA256-RSA2048 signing of tt.requestOrder's ``data`` (``request_order_data``,
  ``sign_request_order``, ``byte_authorization``), callback verification with the platform public
  key (``parse_callback`` and its notice types), the server client (``TradeClient``) and client_token
  handling (``fetch_client_token``, ``InMemoryTokenSource``). Import it as ``douyin_pay.trade``: its
  names are deliberately not exported here, where ``parse_callback`` and ``PaymentNotice`` are ecpay's;
* :mod:`douyin_pay.ecpay` — 担保支付 (ecpay v1): request signing (:func:`request_sign`), callback
  verification (:func:`parse_callback`, :func:`callback_sign` and the notice types), the platform
  client (:class:`EcpayClient`) and its typed results;
* :mod:`douyin_pay.errors` — the typed errors every protocol raises.

ecpay's names are also exported here, at the top level, where they have always been. Importing this
package loads neither ``cryptography`` (trade's RSA loads it on first use) nor ``requests`` (the
clients load it). :mod:`douyin_pay.bundle` (the serverless product: state machines, DynamoDB, SQS)
needs the ``[aws]`` extra and is never imported from here.
"""

from typing import TYPE_CHECKING

from . import ecpay
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

if TYPE_CHECKING:
    from .ecpay import *  # noqa: F403


def __getattr__(name: str) -> object:
    # ecpay's names are read from the ecpay package on first use: a star import would also load its
    # client, and so `requests`, which a callback never needs (ecpay/__init__.py loads it lazily).
    if name in ecpay.__all__:
        return getattr(ecpay, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CallbackError",
    "ConfigurationError",
    "DouyinPayError",
    "MalformedCallbackError",
    "PlatformError",
    "PlatformTransportError",
    "SignatureError",
    "UnsignableValueError",
    "ValidationError",
    *ecpay.__all__,
]
