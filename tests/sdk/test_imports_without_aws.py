"""The SDK imports and works where boto3 and Powertools cannot be imported at all.

The test environment has both installed, so a fresh interpreter blocks them with a meta-path finder
before anything is imported, then imports and uses the SDK. The same interpreter shows the blocker
works: the bundle's store, which needs boto3, fails to import.

A second probe does the same for douyin_pay.trade, and also shows what each import costs: importing
the package loads neither cryptography nor requests, verifying a callback loads cryptography only,
and the ecpay callback path never loads cryptography at all.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import douyin_pay

PROBE = r"""
import importlib
import importlib.abc
import json
import pkgutil
import sys

BLOCKED = {"boto3", "botocore", "aws_lambda_powertools"}
attempts = []


class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] in BLOCKED:
            attempts.append(fullname)
            raise ImportError(f"{fullname} is blocked by the no-AWS probe", name=fullname)
        return None


already = BLOCKED & {name.partition(".")[0] for name in sys.modules}
assert not already, f"imported before the blocker was installed: {already}"
sys.meta_path.insert(0, Blocker())
assert "requests" not in sys.modules, "requests was imported at interpreter start-up"

# The callback path: the package, verification and parsing, and no `requests`.
import douyin_pay
from douyin_pay import PaymentNotice, SignatureError, callback_sign, parse_callback, request_sign

assert douyin_pay.__file__ == sys.argv[1], f"wrong douyin_pay: {douyin_pay.__file__}"
TOKEN = "probe-token"
msg = json.dumps({"appid": "tt1", "cp_orderno": "o-1", "total_amount": 100, "status": "SUCCESS", "way": "1"})
envelope = {"msg": msg, "nonce": "1", "timestamp": "1700000000", "type": "payment"}
envelope["msg_signature"] = callback_sign(TOKEN, envelope["timestamp"], envelope["nonce"], msg)
notice = parse_callback(json.dumps(envelope), TOKEN)
assert isinstance(notice, PaymentNotice), type(notice)
assert (notice.out_order_no, notice.total_amount) == ("o-1", 100), notice
try:
    parse_callback(json.dumps(envelope), TOKEN + "x")
except SignatureError:
    pass
else:
    raise AssertionError("a callback signed with another token verified")
assert "requests" not in sys.modules, "the callback path imported requests"

# Signing: houseme/bytedance's published minimal vector (app_id is not signed).
sign = request_sign({"app_id": "appid12345", "out_trade_no": "out_trade_no", "total_amount": 100}, "test")
assert sign == "2001ff1c8ffa0f6b4bfb592133a84294", sign
assert "requests" not in sys.modules, "request_sign imported requests"

# Every SDK module, found by walking the package so a new one is covered without editing this list.
walked = [m.name for m in pkgutil.walk_packages(douyin_pay.ecpay.__path__, "douyin_pay.ecpay.")]
expected = {"douyin_pay.ecpay." + n for n in ("client", "notices", "results", "signing", "validation")}
assert expected <= set(walked), f"the walk missed modules: {sorted(expected - set(walked))}"
for name in [*walked, "douyin_pay.errors", "douyin_pay._fields"]:
    importlib.import_module(name)
for name in douyin_pay.__all__:
    getattr(douyin_pay, name)  # the lazily loaded client names too

client = douyin_pay.EcpayClient("tt-probe-app", "probe-salt", base_url=douyin_pay.SANDBOX_BASE_URL)
assert client.base_url == "https://open-sandbox.douyin.com", client.base_url

# The SDK did not even try to import them: one that tried and fell back would behave differently
# in Lambda (where boto3 is present) than on a laptop.
assert attempts == [], f"the SDK tried to import {attempts}"
assert "douyin_pay.bundle" not in sys.modules, "the SDK imported the bundle"

# The blocker works: the bundle's store needs boto3 and cannot be imported with it blocked.
try:
    import douyin_pay.bundle.store
except ImportError as exc:
    assert "blocked by the no-AWS probe" in str(exc), exc
else:
    raise AssertionError("douyin_pay.bundle.store imported with boto3 blocked")
assert attempts and attempts[0].startswith("boto3"), attempts
print("probe ok:", len(walked), "ecpay modules")
"""


def test_sdk_imports_and_works_without_boto3_or_powertools(tmp_path):
    # The same douyin_pay as this process imported (the worktree's, or the installed one).
    package_file = str(Path(douyin_pay.__file__).resolve())
    layer_dir = str(Path(package_file).parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [layer_dir, os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, package_file],
        cwd=tmp_path,  # so the '' that -c puts on sys.path finds nothing of the repository's
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("probe ok:"), result.stdout


TRADE_PROBE = r"""
import importlib
import importlib.abc
import json
import pkgutil
import sys

BLOCKED = {"boto3", "botocore", "aws_lambda_powertools"}
attempts = []


class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] in BLOCKED:
            attempts.append(fullname)
            raise ImportError(f"{fullname} is blocked by the no-AWS probe", name=fullname)
        return None


sys.meta_path.insert(0, Blocker())
for name in ("cryptography", "requests"):
    assert name not in sys.modules, f"{name} was imported at interpreter start-up"

# The package and the ecpay callback path: no cryptography (its RSA is for the trade system only).
import douyin_pay
from douyin_pay import callback_sign, parse_callback as ecpay_parse_callback

assert douyin_pay.__file__ == sys.argv[1], f"wrong douyin_pay: {douyin_pay.__file__}"
msg = json.dumps({"appid": "tt1", "cp_orderno": "o-1", "total_amount": 100, "status": "SUCCESS", "way": "1"})
envelope = {"msg": msg, "nonce": "1", "timestamp": "1700000000", "type": "payment"}
envelope["msg_signature"] = callback_sign("t", envelope["timestamp"], envelope["nonce"], msg)
assert ecpay_parse_callback(json.dumps(envelope), "t").total_amount == 100
assert "cryptography" not in sys.modules, "the ecpay callback path imported cryptography"

# Importing douyin_pay.trade (and every module but the client) loads neither.
import douyin_pay.trade
from douyin_pay.trade import PaymentNotice, SignatureError, parse_callback

walked = [m.name for m in pkgutil.walk_packages(douyin_pay.trade.__path__, "douyin_pay.trade.")]
expected = {"douyin_pay.trade." + n for n in ("client", "keys", "notices", "request_order", "signing", "tokens")}
assert expected <= set(walked), f"the walk missed modules: {sorted(expected - set(walked))}"
for name in walked:
    if name not in ("douyin_pay.trade.client", "douyin_pay.trade.transport"):
        importlib.import_module(name)
assert "cryptography" not in sys.modules, "importing douyin_pay.trade loaded cryptography"
assert "requests" not in sys.modules, "importing douyin_pay.trade loaded requests"

# A trade callback verifies and parses without boto3 (vector V-R3, trade-spec §5.6); this loads
# cryptography and still not requests.
[vector] = [v for v in json.load(open(sys.argv[2], encoding="utf-8")) if v["kind"] == "callback"]
notice = parse_callback(vector["headers"], vector["body"].encode(), vector["public_key"])
assert isinstance(notice, PaymentNotice), type(notice)
assert (notice.out_order_no, notice.total_amount) == ("ORDER20240101001", 100), notice
try:
    parse_callback(vector["headers"], vector["body"].encode() + b" ", vector["public_key"])
except SignatureError:
    pass
else:
    raise AssertionError("a changed body verified")
assert "cryptography" in sys.modules
assert "requests" not in sys.modules, "the trade callback path imported requests"

# The client names load lazily, and need no AWS either.
for name in douyin_pay.trade.__all__:
    getattr(douyin_pay.trade, name)
assert "requests" in sys.modules
assert attempts == [], f"the SDK tried to import {attempts}"
assert "douyin_pay.bundle" not in sys.modules, "the SDK imported the bundle"
print("trade probe ok:", len(walked), "trade modules")
"""


def test_trade_imports_lazily_and_works_without_boto3_or_powertools(tmp_path):
    package_file = str(Path(douyin_pay.__file__).resolve())
    layer_dir = str(Path(package_file).parents[1])
    vectors = Path(__file__).resolve().parent / "trade" / "vectors" / "trade-vectors.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [layer_dir, os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, "-c", TRADE_PROBE, package_file, str(vectors)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("trade probe ok:"), result.stdout
