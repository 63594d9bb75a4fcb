"""The committed sample events (events/) drive the real handlers through a whole lifecycle, so
they stay usable for `sam local invoke` and document real payloads."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.bundle.harness import REPO, TOKEN

EVENTS = REPO / "events"
EVENTS_TOKEN = "events-test-token"  # documented in events/README.md


def sample(name: str) -> dict:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def status_of(response: dict) -> tuple[int, dict]:
    return response["statusCode"], json.loads(response["body"])


def test_every_sample_event_is_exercised():
    exercised = {
        "create_payment.json",
        "get_payment.json",
        "get_payment_refresh.json",
        "callback_payment.json",
        "callback_payment_base64.json",
        "callback_forged.json",
        "callback_malformed.json",
        "create_refund.json",
        "get_refund.json",
        "callback_refund.json",
        "create_settlement.json",
        "get_settlement.json",
        "callback_settle.json",
        "reconcile_batch.json",
        "sweeper_schedule.json",
        "create_trade_payment.json",
        "callback_trade_payment.json",
        "callback_trade_pre_create_refund.json",
        "audit_refund.json",
    }
    assert {p.name for p in Path(EVENTS).glob("*.json")} == exercised


def test_lifecycle_from_the_sample_events(bundle):
    bundle.put_secret(tokens=(TOKEN, EVENTS_TOKEN))
    # The sample callbacks carry the time they were made (late 2025): the story happens then, or its
    # payment would be more than a year old and no longer refundable.
    bundle.clock.offset = 1764072000 - time.time()

    status, order = status_of(bundle.invoke("create_payment", sample("create_payment.json")))
    assert (status, order["status"], order["total_amount"]) == (201, "CREATED", 12800)
    assert status_of(bundle.invoke("query", sample("get_payment.json")))[1]["status"] == "CREATED"
    assert status_of(bundle.invoke("query", sample("get_payment_refresh.json")))[1]["status"] == "CREATED"

    assert status_of(bundle.invoke("callback", sample("callback_forged.json")))[0] == 401
    assert status_of(bundle.invoke("callback", sample("callback_malformed.json")))[0] == 400
    assert status_of(bundle.invoke("callback", sample("callback_payment.json"))) == (
        200,
        {"err_no": 0, "err_tips": "success"},
    )
    assert status_of(bundle.invoke("callback", sample("callback_payment_base64.json")))[0] == 200  # a duplicate
    assert status_of(bundle.invoke("query", sample("get_payment.json")))[1]["status"] == "PAID"

    bundle.sim.pay("demo-order-0001")  # the platform's side of the same payment
    status, refund = status_of(bundle.invoke("create_refund", sample("create_refund.json")))
    assert (status, refund["status"]) == (201, "PROCESSING")
    assert status_of(bundle.invoke("callback", sample("callback_refund.json")))[0] == 200
    assert status_of(bundle.invoke("query", sample("get_refund.json")))[1]["status"] == "SUCCEEDED"

    status, settlement = status_of(bundle.invoke("create_settlement", sample("create_settlement.json")))
    assert (status, settlement["status"]) == (201, "PROCESSING")
    assert status_of(bundle.invoke("callback", sample("callback_settle.json")))[0] == 200
    assert status_of(bundle.invoke("query", sample("get_settlement.json")))[1]["status"] == "SUCCEEDED"

    assert bundle.invoke("reconcile", sample("reconcile_batch.json")) == {"batchItemFailures": []}
    assert bundle.invoke("sweeper", sample("sweeper_schedule.json")) == {"enqueued": 0}


def test_trade_lifecycle_from_the_sample_events(trade_bundle, trade_sim):
    import time

    from douyin_pay.bundle import runtime
    from tests.bundle.conftest import trade_secret
    from tests.local.trade_helpers import public_pem

    # The samples are signed with the published V-R1 test key, at their own time (2025-11-25).
    vectors = json.loads((REPO / "tests/sdk/trade/vectors/trade-vectors.json").read_text(encoding="utf-8"))
    [vr1] = [v for v in vectors if v["kind"] == "rsa_sign"]
    test_platform_key = public_pem(
        "-----BEGIN PRIVATE KEY-----\n" + vr1["private_key"] + "\n-----END PRIVATE KEY-----\n"
    )
    secrets = trade_bundle.session.client("secretsmanager")
    value = json.loads(secrets.get_secret_value(SecretId=trade_bundle.resources.secret_id)["SecretString"])
    value["trade"] = trade_secret(trade_sim, platform_keys=[test_platform_key])
    secrets.put_secret_value(SecretId=trade_bundle.resources.secret_id, SecretString=json.dumps(value))
    runtime.secret_cache().clear()
    trade_bundle.clock.offset = 1764072000 - time.time()

    status, order = status_of(trade_bundle.invoke("create_payment", sample("create_trade_payment.json")))
    assert (status, order["status"], order["protocol"]) == (201, "CREATED", "trade")
    assert set(order["pay_params"]) == {"data", "byteAuthorization"}
    assert status_of(trade_bundle.invoke("callback", sample("callback_trade_payment.json"))) == (
        200,
        {"err_no": 0, "err_tips": "success"},
    )
    status, reply = status_of(trade_bundle.invoke("callback", sample("callback_trade_pre_create_refund.json")))
    assert (status, reply["data"]["out_refund_no"]) == (200, "Uort71764071700000000000002")
    # The merchant denies it; the platform is told (the simulator knows no such refund: a 422 refusal).
    status, answer = status_of(trade_bundle.invoke("create_refund", sample("audit_refund.json")))
    assert (status, answer["code"]) == (422, "platform_refused"), answer
    refund = trade_bundle.item("REFUND#Uort71764071700000000000002", "REFUND")
    assert (refund["audit_status"], refund["status"], refund["refund_amount"]) == ("PENDING", "PROCESSING", 12800)
