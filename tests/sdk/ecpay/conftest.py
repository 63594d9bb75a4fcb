"""The ecpay SDK tests' HTTP stub; a test file that needs another default answer defines its own."""

from __future__ import annotations

import pytest

from tests.http_stub import running_stub


@pytest.fixture
def stub():
    with running_stub() as s:
        yield s
