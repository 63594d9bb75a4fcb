"""The names the issue promises import from `douyin_pay`, and the package installs as one."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

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
