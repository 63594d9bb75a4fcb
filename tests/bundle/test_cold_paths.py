"""What each handler's cold start loads: the trade system's RSA library (cryptography) and its SDK
package load only on the trade paths, so an ecpay stack's callback does not start slower for it."""

from __future__ import annotations

import ast
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


def run_probe(probe: str, function: str, *args: str, protocol: str) -> object:
    """What ``probe`` prints last (JSON), run with the handler ``function``'s file in a fresh process."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "layers" / "douyin_pay"), str(REPO)]),
        "DOUYIN_APP_ID": "tt0123456789abcdef",
        "PAYMENTS_TABLE": "t",
        "DOUYIN_SECRET_ID": "s",
        "AWS_DEFAULT_REGION": "us-east-1",
        "DOUYIN_PROTOCOL": protocol,
        "RECONCILE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
    }
    out = subprocess.run(
        [sys.executable, "-c", probe, str(REPO / "functions" / function / "app.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def loaded_by(function: str) -> list[str]:
    return run_probe(PROBE, function, protocol="trade")  # type: ignore[return-value]


def test_the_callback_loads_neither_rsa_nor_http_libraries_until_a_notice_needs_them():
    # Even in a trade stack: the RSA code loads with the first trade notice, not at import.
    assert loaded_by("callback") == []


def test_the_query_function_loads_no_rsa_library():
    assert "cryptography" not in loaded_by("query")


# What each handler's cold start (import and the bench's set-up of its first invocation,
# local/bench/cold_start.py) must not load in an ecpay stack: the modules of other paths.
SETUP_PROBE = r"""
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
from douyin_pay.bundle import runtime
exec(sys.argv[2])
print(json.dumps(sorted(sys.modules)))
"""

NOT_ON_THE_PATH = {
    "callback": {
        "requests",
        "douyin_pay.ecpay.client",
        "douyin_pay.bundle.submissions",
        "douyin_pay.bundle.reconciler",
        "douyin_pay.bundle.queue",
        "aws_lambda_powertools.utilities.parameters",  # the secret's cache is our own (secret_cache.py)
        "aws_lambda_powertools.event_handler",
        "douyin_pay.bundle.platforms.trade",  # routing a callback asks the traits, not the adapter
        # The types of the calls to the platform, which a callback never makes (the adapter imports
        # them in the methods that return them), and the refunds only the trade system opens.
        "douyin_pay.bundle.platforms.calls",
        "douyin_pay.bundle.refund_openings",
    },
    "query": {
        "requests",
        "douyin_pay.ecpay.notices",
        "douyin_pay.bundle.callbacks",
        "douyin_pay.bundle.submissions",
        "douyin_pay.bundle.platforms.trade",  # an ecpay stack reads ecpay orders
        # A read shows the item through the protocol's traits: no adapter, no port types, no
        # state machine (a refresh loads them).
        "douyin_pay.bundle.platforms.ecpay",
        "douyin_pay.bundle.platforms.base",
        "douyin_pay.bundle.observations",
        "aws_lambda_powertools.utilities.parameters",
    },
    "create_payment": {
        "douyin_pay.ecpay.notices",
        "douyin_pay.ecpay.bills",  # the client loads its bill and funds modules on their first use
        "douyin_pay.ecpay.funds",
        "douyin_pay.bundle.callbacks",
        "douyin_pay.bundle.reconciler",
    },
    "reconcile": {
        "aws_lambda_powertools.utilities.batch",  # partial batch responses are our own (sqs_batch.py)
        "aws_lambda_powertools.utilities.data_classes",
        "asyncio",
        "douyin_pay.ecpay.bills",
        "douyin_pay.bundle.submissions",
    },
}


def loaded_after_setup(function: str) -> set[str]:
    from local.bench.cold_start import SETUP

    return set(run_probe(SETUP_PROBE, function, SETUP[function], protocol="ecpay"))  # type: ignore[arg-type]


def test_each_cold_start_loads_only_its_own_path():
    for function, absent in NOT_ON_THE_PATH.items():
        loaded = loaded_after_setup(function)
        assert "douyin_pay.bundle.runtime" in loaded, function  # the probe did load the handler
        assert not absent & loaded, (function, sorted(absent & loaded))


def test_every_dataclass_in_the_layer_has_a_docstring_of_its_own():
    # Without one, @dataclass writes "Name(field: type, ...)" as the docstring, with
    # inspect.signature: at class creation, so at every cold start that loads the class.
    missing = []
    for path in sorted((REPO / "layers" / "douyin_pay" / "douyin_pay").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef) or ast.get_docstring(node) is not None:
                continue
            if any("dataclass" in ast.unparse(decorator) for decorator in node.decorator_list):
                missing.append(f"{path.relative_to(REPO)}: {node.name}")
    assert not missing, missing
