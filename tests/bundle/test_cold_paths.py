"""What each handler's cold start loads: the trade system's RSA library (cryptography) and its SDK
package load only on the trade paths, so an ecpay stack's callback does not start slower for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.bundle.harness import REPO

PROBE = r"""
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("handler", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
from douyin_pay.bundle import runtime
runtime.callbacks()  # the use case the callback builds on its first request
print(json.dumps(sorted(m for m in ("cryptography", "requests", "douyin_pay.trade") if m in sys.modules)))
"""


def loaded_by(function: str) -> list[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "layers" / "douyin_pay"), str(REPO)]),
        "DOUYIN_APP_ID": "tt0123456789abcdef",
        "PAYMENTS_TABLE": "t",
        "DOUYIN_SECRET_ID": "s",
        "AWS_DEFAULT_REGION": "us-east-1",
        "DOUYIN_PROTOCOL": "trade",
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(REPO / "functions" / function / "app.py")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_callback_loads_neither_rsa_nor_http_libraries_until_a_notice_needs_them():
    # Even in a trade stack: the RSA code loads with the first trade notice, not at import.
    assert loaded_by("callback") == []


def test_the_query_function_loads_no_rsa_library():
    assert "cryptography" not in loaded_by("query")
