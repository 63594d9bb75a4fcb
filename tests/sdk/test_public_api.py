"""The names the issue promises import from `douyin_pay`, and the package installs as one."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import pytest

import douyin_pay

PROMISED = [
    "request_sign",
    "callback_sign",
    "parse_callback",
    "DouyinPayError",
    "SignatureError",
    "MalformedCallbackError",
    "ConfigurationError",
    "ValidationError",
    "PlatformError",
    "PaymentNotice",
    "RefundNotice",
    "SettleNotice",
    "SettleFinishNotice",
    "GenericNotice",
    "EcpayClient",
    "PRODUCTION_BASE_URL",
    "SANDBOX_BASE_URL",
]


def test_promised_names_import():
    for name in PROMISED:
        assert getattr(douyin_pay, name) is not None, name
    assert set(PROMISED) <= set(douyin_pay.__all__)


def test_every_exported_name_resolves():
    for name in douyin_pay.__all__:
        getattr(douyin_pay, name)


def test_ecpay_loads_each_name_from_the_module_that_defines_it():
    # The package's names are resolved lazily from its table; a name listed in __all__ but missing
    # from the table (or the reverse) would fail only for the user who asked for it.
    import douyin_pay.ecpay as ecpay

    assert set(ecpay._EXPORTS) == set(ecpay.__all__)
    for name, module in ecpay._EXPORTS.items():
        assert getattr(ecpay, name) is getattr(importlib.import_module(f"douyin_pay.ecpay.{module}"), name), name
    assert "AccessToken" in dir(ecpay)
    with pytest.raises(AttributeError, match="no_such_name"):
        ecpay.no_such_name  # noqa: B018 - the attribute access is the test


def test_importing_the_package_loads_none_of_its_modules():
    # What the callback's cold start relies on: `import douyin_pay.errors` (or the ecpay package)
    # costs nothing until a name is used.
    probe = (
        "import sys, douyin_pay, douyin_pay.errors, douyin_pay.ecpay\n"
        "print(sorted(m for m in sys.modules if m.startswith('douyin_pay.ecpay.')))\n"
        "douyin_pay.parse_callback\n"
        "print(sorted(m for m in sys.modules if m.startswith('douyin_pay.ecpay.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    before, after = out.splitlines()
    assert before == "[]"
    assert "'douyin_pay.ecpay.notices'" in after
    assert "douyin_pay.ecpay.bills" not in after
    assert "douyin_pay.ecpay.client" not in after


def test_every_sdk_dataclass_resolves_its_type_hints():
    # Serialisers (cattrs, pydantic, ...) read a type's hints: a field annotated with a name imported
    # only for type checkers (to spare a cold start a module) would fail them with a NameError.
    import dataclasses
    import pkgutil
    import typing

    checked = 0
    for package in ("douyin_pay.ecpay", "douyin_pay.trade"):
        for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
            module = importlib.import_module(f"{package}.{info.name}")
            for value in vars(module).values():
                if dataclasses.is_dataclass(value) and isinstance(value, type) and value.__module__ == module.__name__:
                    typing.get_type_hints(value)  # raises on an unresolvable annotation
                    checked += 1
    assert checked > 40, checked  # the walk found the SDK's types


ORDER_SYNC_PROMISED = [
    "AccessToken",
    "fetch_access_token",
    "SyncStatus",
    "OrderItem",
    "OrderDetail",
    "order_push_fields",
    "PushResult",
    "OrderSyncClient",
]


def test_order_sync_names_import_from_ecpay_and_the_top_level():
    import douyin_pay.ecpay as ecpay

    for name in ORDER_SYNC_PROMISED:
        assert getattr(ecpay, name) is getattr(douyin_pay, name), name
    assert set(ORDER_SYNC_PROMISED) <= set(ecpay.__all__)
    assert callable(ecpay.OrderSyncClient.for_app)
    assert callable(ecpay.OrderSyncClient.push)


def test_client_methods_cover_every_endpoint():
    endpoints = [
        "create_order",
        "query_order",
        "create_refund",
        "query_refund",
        "settle",
        "query_settle",
        "create_return",
        "query_return",
        "unsettle_amount",
        "query_platform_order",
        "query_merchant_balance",
        "merchant_withdraw",
        "query_withdraw_order",
        "query_bill",
        "download_bills",
        "download_fund_bills",
    ]
    for name in endpoints:
        assert callable(getattr(douyin_pay.EcpayClient, name)), name


def test_package_is_installed_from_its_pyproject():
    assert importlib.metadata.version("douyin_pay") == "0.1.0"
    assert importlib.metadata.requires("douyin_pay")[0].startswith("requests")


def test_verifying_callbacks_does_not_import_requests():
    # Cold start of the callback handler: the client (and `requests`) load only when used.
    code = (
        "import sys, douyin_pay; douyin_pay.parse_callback; "
        "assert 'requests' not in sys.modules, 'requests imported eagerly'; "
        "douyin_pay.EcpayClient; assert 'requests' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_attribute_raises():
    import pytest

    with pytest.raises(AttributeError):
        douyin_pay.NoSuchThing  # noqa: B018


TRADE_PROMISED = [
    "signature_message",
    "rsa_sign",
    "rsa_verify",
    "byte_authorization",
    "parse_callback",
    "PaymentNotice",
    "RefundNotice",
    "PreCreateRefundNotice",
    "SettleNotice",
    "GenericNotice",
    "TradeClient",
    "TradeOrder",
    "ItemOrder",
    "CpsInfo",
    "RefundCreated",
    "TradeRefund",
    "AuditDetail",
    "SettleCreated",
    "TradeSettlement",
    "refund_fields",
    "settle_fields",
    "ClientToken",
    "fetch_client_token",
    "TokenSource",
    "InMemoryTokenSource",
    "request_order_data",
    "RequestOrderParams",
    "sign_request_order",
    "RetryPolicy",
    "PRODUCTION_BASE_URL",
    "AUTH_ERR_NOS",
]


def test_trade_promised_names_import():
    import douyin_pay.trade as trade

    for name in TRADE_PROMISED:
        assert getattr(trade, name) is not None, name
    assert set(TRADE_PROMISED) <= set(trade.__all__)
    for name in trade.__all__:
        getattr(trade, name)
    assert trade.PRODUCTION_BASE_URL == "https://open.douyin.com"
    assert frozenset({28001003, 28001008}) == trade.AUTH_ERR_NOS


def test_trade_names_stay_out_of_the_top_level():
    # douyin_pay's top level is ecpay's (where it has always been); the trade system is reached as
    # douyin_pay.trade, so PaymentNotice and parse_callback keep meaning ecpay's there.
    trade_only = {"TradeClient", "rsa_sign", "byte_authorization", "PreCreateRefundNotice", "request_order_data"}
    assert not trade_only & set(douyin_pay.__all__)
    assert douyin_pay.parse_callback is douyin_pay.ecpay.parse_callback
    assert douyin_pay.RetryPolicy is __import__("douyin_pay.trade", fromlist=["x"]).RetryPolicy


def test_trade_client_methods_cover_every_endpoint():
    from douyin_pay.trade import TradeClient

    for name in [
        "order_query",
        "query_cps",
        "refund_create",
        "refund_query",
        "refund_audit_callback",
        "settle_create",
        "settle_query",
        "close",
    ]:
        assert callable(getattr(TradeClient, name)), name


def test_platform_error_keeps_its_signature_and_gains_log_id():
    error = douyin_pay.PlatformError(1000, "busy", http_status=200)
    assert (error.err_no, error.err_tips, error.err_msg, error.retryable, error.log_id) == (
        1000,
        "busy",
        "busy",
        True,
        None,
    )
    assert str(error) == "platform error (err_no 1000): busy"
    error = douyin_pay.PlatformError(23111, "exists", retryable=False, log_id="2022092115392201020812109511046")
    assert str(error) == "platform error (err_no 23111): exists (log_id 2022092115392201020812109511046)"
    transport = douyin_pay.PlatformTransportError("timed out", log_id="L")
    assert (transport.retryable, transport.log_id, transport.err_no) == (True, "L", None)
