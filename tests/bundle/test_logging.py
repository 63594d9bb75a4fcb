"""Secrets never reach the logs, even at DEBUG: the AWS SDK's and urllib3's loggers stay at WARNING
whatever level the stack runs at (LogLevel=DEBUG makes the Lambda runtime's root logger DEBUG)."""

from __future__ import annotations

import logging

from douyin_pay.bundle import runtime
from tests.bundle.harness import OLD_TOKEN, SALT, TOKEN, notice_body, payment_msg
from tests.bundle.test_api import ORDER


def debug_run(bundle, caplog) -> str:
    """A create and a callback with every logger at DEBUG unless it holds its own level."""
    caplog.set_level(logging.DEBUG)  # the root logger, as ApplicationLogLevel=DEBUG sets it
    runtime.secret_cache().clear()  # the secret is fetched again, inside the run
    assert bundle.create_payment(ORDER)[0] == 201
    assert bundle.callback(notice_body("payment", payment_msg("order-1", 12800)))[0] == 200
    return caplog.text


def test_a_debug_invocation_logs_no_secret(bundle, caplog):
    text = debug_run(bundle, caplog)
    assert "DEBUG" in text  # the run did log at DEBUG (Powertools and the bundle's own lines)
    for secret in (SALT, TOKEN, OLD_TOKEN):
        assert secret not in text


def test_the_check_sees_a_leak(bundle, caplog):
    # Without the quiet loggers botocore logs GetSecretValue's response body: the secret.
    botocore = logging.getLogger("botocore")
    botocore.setLevel(logging.NOTSET)
    try:
        text = debug_run(bundle, caplog)
    finally:
        botocore.setLevel(logging.WARNING)
    assert SALT in text
