"""An SDK signing bug fails end to end, because the simulator does not share the SDK's signing code.

The bundle signs requests and verifies callbacks with the SDK (douyin_pay.ecpay.signing); the
simulator checks requests and signs callbacks with local/douyin_sim/signatures.py, written
separately from the spec. Each test breaks one SDK signer on purpose and shows the path failing;
the controls run the same path with the real signer and succeed.

The broken signer is bound in place of the real one wherever a loaded module holds it by name:
``douyin_pay.ecpay.client.request_sign`` and ``douyin_pay.ecpay.notices.callback_sign`` (what the
bundle calls), and any other holder. A simulator that borrowed the SDK's signer would then be broken
the same way, agree with the bundle, and these tests would fail.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from douyin_pay.ecpay import signing
from tests.bundle import conftest as bundle_fixtures
from tests.bundle.harness import notice_body, payment_msg

# The in-process bundle and the simulator it talks to, as the bundle tests have them.
bundle = bundle_fixtures.bundle
sim = bundle_fixtures.sim

REPO = Path(__file__).resolve().parents[2]
REAL_REQUEST_SIGN = signing.request_sign
REAL_CALLBACK_SIGN = signing.callback_sign
NO = "indep-1"
AMOUNT = 12800
ORDER = {"out_order_no": NO, "total_amount": AMOUNT, "subject": "独立签名", "body": "signing independence"}


def break_everywhere(monkeypatch: pytest.MonkeyPatch, real: object, broken: object) -> set[str]:
    """Bind ``broken`` wherever a loaded module holds ``real``; the names replaced.

    This module is left alone: the broken signers call the real one through REAL_*_SIGN.
    """
    replaced = set()
    for module_name, module in list(sys.modules.items()):
        if not isinstance(module, ModuleType) or module_name == __name__:
            continue
        for attr, value in list(vars(module).items()):
            if value is real:
                monkeypatch.setattr(module, attr, broken)
                replaced.add(f"{module_name}.{attr}")
    return replaced


def signed_by_notifier(bundle) -> bytes:
    """The payment callback the simulator's notifier builds and signs for the order just paid.

    The bundle fixture drops callbacks (its tests deliver them by hand), so let this one be made.
    Its notify_url is not loopback, so it is not sent anywhere; the attempt keeps the exact body.
    """
    bundle.sim.configure(drop=frozenset())
    bundle.sim.pay(NO)
    bundle.advance(1)  # the payment callback's delay
    (delivery,) = bundle.sim.wait_for_deliveries(1)
    assert delivery.type == "payment"
    return json.dumps(dict(delivery.body), ensure_ascii=False).encode()


def signed_by_harness(bundle) -> bytes:
    """The callback body the bundle tests build (tests/bundle/harness.py), signed the simulator's way."""
    bundle.sim.pay(NO)
    return notice_body("payment", payment_msg(NO, AMOUNT))


CALLBACK_SOURCES = pytest.mark.parametrize(
    "signed", [signed_by_notifier, signed_by_harness], ids=["notifier", "harness"]
)


def order_status(bundle) -> str:
    return bundle.item(f"ORDER#{NO}", "ORDER")["status"]


# -- create_order: the SDK signs, the simulator verifies ----------------------------------------


def test_control_a_correctly_signed_order_is_accepted(bundle):
    status, body = bundle.create_payment(ORDER)
    assert status == 201, body
    assert bundle.sim.state()["orders"][NO]["status"] == "PROCESSING"


def test_an_order_signed_with_a_value_left_out_is_refused_by_the_simulator(bundle, monkeypatch):
    left_out: list[bool] = []

    def forgets_notify_url(params, salt):
        # The MD5 over every signed value but one: a notify_url put in the body after signing.
        left_out.append("notify_url" in params)
        return REAL_REQUEST_SIGN({k: v for k, v in params.items() if k != "notify_url"}, salt)

    replaced = break_everywhere(monkeypatch, REAL_REQUEST_SIGN, forgets_notify_url)
    assert "douyin_pay.ecpay.client.request_sign" in replaced

    status, body = bundle.create_payment(ORDER)

    assert left_out == [True]  # the broken signer ran, and really left a value out
    assert (status, body["code"], body["err_no"]) == (502, "platform_rejected", 2008)
    assert NO not in bundle.sim.state()["orders"]
    assert order_status(bundle) == "FAILED"
    assert [i for i in bundle.table_items() if i.get("status") == "PAID"] == []


# -- callbacks: the simulator signs, the SDK verifies -------------------------------------------


@CALLBACK_SOURCES
def test_control_a_callback_the_simulator_signs_is_accepted(bundle, signed):
    assert bundle.create_payment(ORDER)[0] == 201
    status, reply = bundle.callback(signed(bundle))
    assert (status, reply["err_no"]) == (200, 0)
    assert order_status(bundle) == "PAID"


@CALLBACK_SOURCES
def test_a_callback_the_simulator_signs_is_refused_by_a_wrong_verifier(bundle, monkeypatch, signed):
    assert bundle.create_payment(ORDER)[0] == 201

    def forgets_to_sort(token, timestamp, nonce, msg):
        # SHA1 of the right four strings, concatenated in the order given instead of sorted.
        return hashlib.sha1((token + timestamp + nonce + msg).encode("utf-8")).hexdigest()

    # Broken before the simulator signs, so that a simulator using the SDK's signer would sign
    # with the broken one too (and the bundle would then agree with it).
    replaced = break_everywhere(monkeypatch, REAL_CALLBACK_SIGN, forgets_to_sort)
    assert "douyin_pay.ecpay.notices.callback_sign" in replaced

    status, reply = bundle.callback(signed(bundle))

    assert status == 401
    assert reply["err_no"] != 0
    assert order_status(bundle) == "CREATED"


# -- the simulator does not even load the SDK ---------------------------------------------------

_WITHOUT_SDK = """
import hashlib, json, sys, urllib.request
sys.modules["douyin_pay"] = None  # any import of the SDK now raises ImportError
from local.douyin_sim import DouyinSimulator, SimulatorConfig
body = {"app_id": "tt1", "out_order_no": "A1"}
body["sign"] = hashlib.md5(b"A1&salt").hexdigest()  # by hand: "A1" and the SALT, sorted
with DouyinSimulator(SimulatorConfig("tt1", "salt", "token", speed=0)) as sim:
    request = urllib.request.Request(
        sim.base_url + "/api/apps/ecpay/v1/query_order",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never a proxy
    print(json.load(direct.open(request, timeout=10))["err_no"])
"""


def test_the_simulator_verifies_signatures_without_the_sdk():
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # the repository only, not the layer
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_SDK], env=env, cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2000"  # signature accepted; the order is simply unknown
