"""Write the sample events in ``events/`` with the builders the local gateway uses (local/events.py).

    python scripts/make_events.py          # (re)write events/*.json
    python scripts/make_events.py --check  # exit 1 if a committed file differs from what is generated

Every id, timestamp and signature is fixed, so rerunning reproduces the files byte for byte. The
callbacks are signed with the TEST token ``events-test-token`` (see events/README.md); it is not,
and must never become, a real Douyin token.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
for entry in (REPO, REPO / "layers" / "douyin_pay"):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

# Signed by the simulator's own code, not the SDK's: the sample callbacks then test the SDK's verifier.
from local.douyin_sim.signatures import callback_signature  # noqa: E402
from local.events import function_url_event, http_api_v2_event, iam_caller, schedule_event, sqs_event  # noqa: E402
from local.trade_sim.crypto import callback_message  # noqa: E402
from local.trade_sim.crypto import sign as trade_sign  # noqa: E402

EVENTS_DIR = REPO / "events"
VECTORS = REPO / "tests" / "sdk" / "trade" / "vectors" / "trade-vectors.json"

# Public test values, not secrets: documented in events/README.md.
TEST_TOKEN = "events-test-token"  # noqa: S105 - TEST ONLY
FORGED_TOKEN = "not-the-configured-token"  # noqa: S105 - signs callback_forged.json
APP_ID = "tt0123456789abcdef"
SELLER_UID = "69438512345678901234"
PAYEE_UID = "696458350318359362"

# Timeline (2025-11-25, UTC): pay 11:50, refund 11:55, settle 11:58, notices 12:00, reads 12:01,
# reconcile batch 12:05, sweep 12:10.
T_CREATE_PAYMENT = 1764071400  # 11:50:00
T_PAID = 1764071460  # 11:51:00
T_CREATE_REFUND = 1764071700  # 11:55:00
T_REFUNDED = 1764071820  # 11:57:00
T_CREATE_SETTLE = 1764071880  # 11:58:00
T_SETTLED = 1764071970  # 11:59:30
T_NOTICE = 1764072000  # 12:00:00, the callbacks' "timestamp"
T_READ = 1764072060  # 12:01:00
T_BATCH = 1764072300  # 12:05:00, the reconcile batch
T_SWEEP = 1764072600  # 12:10:00

NONCE = "4821"
ORDER_ID = "7176407140000000001"
REFUND_NO = "7176407170000000002"
SETTLE_NO = "7176407188000000003"

BACKEND_IP = "203.0.113.10"  # documentation range (RFC 5737)
DOUYIN_IP = "198.51.100.23"
CALLER = iam_caller()


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _sigv4_headers(method: str, path: str, epoch_s: int, body: bytes | None) -> list[tuple[str, str]]:
    """Headers a SigV4-signing backend sends. API Gateway has verified them before the event exists;
    the signature is illustrative (derived from the request so that it is stable)."""
    amz_date = _amz_date(epoch_s)
    signed = "content-type;host;x-amz-date;x-amz-security-token" if body else "host;x-amz-date;x-amz-security-token"
    signature = hashlib.sha256(f"{method} {path} {amz_date}".encode() + (body or b"")).hexdigest()
    scope = f"{amz_date[:8]}/us-east-1/execute-api/aws4_request"
    headers = [
        ("Accept", "application/json"),
        ("Accept-Encoding", "gzip, deflate"),
        (
            "Authorization",
            f"AWS4-HMAC-SHA256 Credential={CALLER['accessKey']}/{scope}, SignedHeaders={signed}, Signature={signature}",
        ),
        ("User-Agent", "merchant-backend/1.0 python-requests/2.32.3"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Security-Token", "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN"),
    ]
    if body:
        headers.insert(2, ("Content-Type", "application/json"))
    return headers


def _amz_date(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%Y%m%dT%H%M%SZ")


def _api(
    method: str,
    path: str,
    route_key: str,
    *,
    request_id: str,
    epoch_ms: int,
    body: Any = None,
    query: str | None = None,
) -> dict[str, Any]:
    raw = None if body is None else _json_bytes(body)
    return http_api_v2_event(
        method,
        path,
        route_key=route_key,
        query=query,
        headers=_sigv4_headers(method, path, epoch_ms // 1000, raw),
        body=raw,
        source_ip=BACKEND_IP,
        iam_caller=CALLER,
        request_id=request_id,
        time_epoch_ms=epoch_ms,
    )


# ------------------------------------------------------------------------------------------------
# Douyin callbacks (ecpay-spec §6)
# ------------------------------------------------------------------------------------------------


def payment_msg() -> dict[str, Any]:
    # §6.4 type=payment, fields in the order of the real payloads (§6.5 C2/C3); way is a string.
    return {
        "appid": APP_ID,
        "cp_orderno": "demo-order-0001",
        "cp_extra": "demo",
        "way": "10",
        "channel_no": "DY202511251151000000000000000001",
        "channel_gateway_no": "17176407140000000001",
        "payment_order_no": "DPS2511251151007176407140000000001",
        "out_channel_order_no": "DY202511251151000000000000000001",
        "total_amount": 12800,
        "status": "SUCCESS",
        "seller_uid": SELLER_UID,
        "extra": "",
        "item_id": "",
        "paid_at": T_PAID,
        "message": "",
        "order_id": ORDER_ID,
        "ec_pay_trade_no": "DTPP2511251151007176407140000000001",
    }


def refund_msg() -> dict[str, Any]:
    # §6.4 type=refund: the money-arrival result.
    return {
        "appid": APP_ID,
        "cp_refundno": "demo-refund-0001",
        "cp_extra": "",
        "status": "SUCCESS",
        "refund_amount": 3000,
        "is_all_settled": False,
        "refunded_at": T_REFUNDED,
        "message": "",
        "order_id": ORDER_ID,
        "refund_no": REFUND_NO,
    }


def settle_msg() -> dict[str, Any]:
    # §6.4 type=settle ("app_id" here). 12800 paid - 3000 refunded = 9800 settled; rake 0.6 % = 59;
    # 1000 to the payee, the rest (8741) to the seller.
    return {
        "app_id": APP_ID,
        "cp_settle_no": "demo-settle-0001",
        "cp_extra": "",
        "status": "SUCCESS",
        "rake": 59,
        "commission": 0,
        "settle_detail": f"商户号{SELLER_UID}-分成金额(分)8741,商户号{PAYEE_UID}-分成金额(分)1000",
        "settled_at": T_SETTLED,
        "message": "",
        "order_id": ORDER_ID,
        "channel_settle_id": "CS" + SETTLE_NO,
        "settle_amount": 9800,
        "settle_no": SETTLE_NO,
        "out_order_no": "demo-order-0001",
        "is_auto_settle": False,
    }


def callback_body(type_: str, msg: dict[str, Any], token: str = TEST_TOKEN) -> bytes:
    """The POST body Douyin sends: compact JSON (Go's encoder), ``msg`` as JSON *text*."""
    msg_text = json.dumps(msg, ensure_ascii=False, separators=(",", ":"))
    timestamp = str(T_NOTICE)
    envelope = {
        "msg": msg_text,
        "msg_signature": callback_signature(token, timestamp, NONCE, msg_text),
        "nonce": NONCE,
        "timestamp": timestamp,
        "type": type_,
    }
    return _json_bytes(envelope)


def _callback(body: bytes, *, request_id: str, epoch_ms: int, force_base64: bool = False) -> dict[str, Any]:
    return function_url_event(
        "POST",
        "/",
        headers=[
            ("Accept-Encoding", "gzip"),
            ("Content-Type", "application/json"),
            # Assumption: the platform is written in Go (ecpay-spec §5.2) and uses its default client.
            ("User-Agent", "Go-http-client/1.1"),
        ],
        body=body,
        source_ip=DOUYIN_IP,
        request_id=request_id,
        time_epoch_ms=epoch_ms,
        force_base64=force_base64,
    )


# -- the trade system (通用交易系统) -------------------------------------------------------------

TRADE_ORDER_ID = "motb71764071400000000000001"
TRADE_NONCE = "m7cgbhrKIYu9V94xgCOEekbG9Vh7y50j"


def trade_test_platform_key() -> str:
    """The TEST "platform" key of the trade samples: the published V-R1 sample key (trade-spec §3.4,
    the project's copy of the vectors). Public; never a real platform key."""
    [entry] = [v for v in json.loads(VECTORS.read_text(encoding="utf-8")) if v["kind"] == "rsa_sign"]
    return entry["private_key"]


def trade_payment_msg() -> dict[str, Any]:
    return {
        "app_id": APP_ID,
        "out_order_no": "demo-trade-0001",
        "order_id": TRADE_ORDER_ID,
        "status": "SUCCESS",
        "total_amount": 12800,
        "discount_amount": 0,
        "pay_channel": 10,
        "channel_pay_id": "TP2025112511510000000000000001",
        "user_bill_pay_id": "DTPS2511251151000000000000000001",
        "merchant_uid": SELLER_UID,
        "event_time": T_PAID * 1000,
    }


def trade_pre_create_refund_msg() -> dict[str, Any]:
    return {
        "app_id": APP_ID,
        "open_id": "_000demo0openid0000000000000000000",
        "refund_id": "ort71764071700000000000002",
        "order_id": TRADE_ORDER_ID,
        "out_order_no": "demo-trade-0001",
        "refund_total_amount": 12800,
        "need_refund_audit": 1,
        "refund_audit_deadline": (T_CREATE_REFUND + 72 * 3600) * 1000,
        "create_refund_time": T_CREATE_REFUND * 1000,
        "refund_source": 1,
        "refund_reason": ["不想要了"],
        "refund_description": "",
        "cp_extra": "",
        "refund_item_detail": {"item_order_quantity": 1, "item_order_detail": []},
    }


def trade_callback(type_: str, msg: dict[str, Any], *, request_id: str, epoch_ms: int, identify: str) -> dict:
    """A trade-system callback: ``msg`` as JSON text in a version 3.0 envelope, signed in the headers
    over the exact body bytes (trade-spec §5.1, §5.2) by the simulator's own RSA code."""
    body = _json_bytes(
        {"version": "3.0", "msg": json.dumps(msg, ensure_ascii=False, separators=(",", ":")), "type": type_}
    )
    timestamp = str(T_NOTICE)
    signature = trade_sign(trade_test_platform_key(), callback_message(timestamp, TRADE_NONCE, body))
    return function_url_event(
        "POST",
        "/",
        headers=[
            ("Accept-Encoding", "gzip"),
            ("Byte-Identifyname", identify),
            ("Byte-Logid", "20251125120000000000000000000001"),
            ("Byte-Nonce-Str", TRADE_NONCE),
            ("Byte-Signature", signature),
            ("Byte-Timestamp", timestamp),
            ("Content-Type", "application/json"),
            ("User-Agent", "Go-http-client/2.0"),
        ],
        body=body,
        source_ip=DOUYIN_IP,
        request_id=request_id,
        time_epoch_ms=epoch_ms,
    )


# ------------------------------------------------------------------------------------------------
# All sample events
# ------------------------------------------------------------------------------------------------


def generate() -> dict[str, dict[str, Any]]:
    """File name -> event, in the order events/README.md lists them."""
    ms = 1000
    payment_body = callback_body("payment", payment_msg())
    return {
        "create_payment.json": _api(
            "POST",
            "/payments",
            "POST /payments",
            request_id="Vx3kQhHzoAMEbCw=",
            epoch_ms=T_CREATE_PAYMENT * ms + 123,
            body={
                "out_order_no": "demo-order-0001",
                "total_amount": 12800,
                "subject": "拿铁咖啡",
                "body": "拿铁 大杯 ×1",
                "valid_time": 1800,
                "cp_extra": "demo",
            },
        ),
        "create_refund.json": _api(
            "POST",
            "/payments/demo-order-0001/refunds",
            "POST /payments/{out_order_no}/refunds",
            request_id="Vx5BShHzoAMEbQw=",
            epoch_ms=T_CREATE_REFUND * ms + 456,
            body={"out_refund_no": "demo-refund-0001", "refund_amount": 3000, "reason": "顾客取消一杯"},
        ),
        "create_settlement.json": _api(
            "POST",
            "/payments/demo-order-0001/settlements",
            "POST /payments/{out_order_no}/settlements",
            request_id="Vx6PJhHzoAMEbYg=",
            epoch_ms=T_CREATE_SETTLE * ms + 789,
            body={
                "out_settle_no": "demo-settle-0001",
                "settle_desc": "订单结算",
                "settle_params": [{"merchant_uid": PAYEE_UID, "amount": 1000}],
            },
        ),
        "get_payment.json": _api(
            "GET",
            "/payments/demo-order-0001",
            "GET /payments/{out_order_no}",
            request_id="Vx7aDhHzoAMEbiA=",
            epoch_ms=T_READ * ms + 101,
        ),
        "get_payment_refresh.json": _api(
            "GET",
            "/payments/demo-order-0001",
            "GET /payments/{out_order_no}",
            request_id="Vx7aKhHzoAMEbjQ=",
            epoch_ms=T_READ * ms + 202,
            query="refresh=true",
        ),
        "get_refund.json": _api(
            "GET",
            "/refunds/demo-refund-0001",
            "GET /refunds/{out_refund_no}",
            request_id="Vx7aRhHzoAMEbkg=",
            epoch_ms=T_READ * ms + 303,
        ),
        "get_settlement.json": _api(
            "GET",
            "/settlements/demo-settle-0001",
            "GET /settlements/{out_settle_no}",
            request_id="Vx7aYhHzoAMEblw=",
            epoch_ms=T_READ * ms + 404,
        ),
        "callback_payment.json": _callback(
            payment_body, request_id="5f0c7a52-3d4e-4b8a-9c61-2e8f1a7b0c01", epoch_ms=T_NOTICE * ms + 12
        ),
        "callback_payment_base64.json": _callback(
            payment_body,
            request_id="5f0c7a52-3d4e-4b8a-9c61-2e8f1a7b0c02",
            epoch_ms=T_NOTICE * ms + 15_034,  # the platform's first retry, 15 s later (§6.3)
            force_base64=True,
        ),
        "callback_refund.json": _callback(
            callback_body("refund", refund_msg()),
            request_id="5f0c7a52-3d4e-4b8a-9c61-2e8f1a7b0c03",
            epoch_ms=T_NOTICE * ms + 47,
        ),
        "callback_settle.json": _callback(
            callback_body("settle", settle_msg()),
            request_id="5f0c7a52-3d4e-4b8a-9c61-2e8f1a7b0c04",
            epoch_ms=T_NOTICE * ms + 81,
        ),
        "callback_forged.json": _callback(
            callback_body("payment", payment_msg(), token=FORGED_TOKEN),
            request_id="5f0c7a52-3d4e-4b8a-9c61-2e8f1a7b0c05",
            epoch_ms=T_NOTICE * ms + 512,
        ),
        "callback_malformed.json": _callback(
            payment_body[:64],  # cut off mid-string: not JSON
            request_id="5f0c7a52-3d4e-4b8a-9c61-2e8f1a7b0c06",
            epoch_ms=T_NOTICE * ms + 733,
        ),
        "reconcile_batch.json": sqs_event(
            [
                {
                    "body": {"v": 1, "kind": "order", "ref": "demo-order-0001", "protocol": "ecpay"},
                    "message_id": "2f6b1c3e-8a4d-4e5f-9b7a-1c2d3e4f5a01",
                    # sent by create-payment with DelaySeconds=900, received when it became visible
                    "sent_timestamp_ms": T_CREATE_PAYMENT * ms + 640,
                    "first_receive_timestamp_ms": T_BATCH * ms + 655,
                    "sender_id": "AROAEXAMPLECREATEPAY1:douyin-pay-CreatePaymentFunction-Q9W8E7R6T5Y4",
                },
                {
                    "body": {"v": 1, "kind": "refund", "ref": "demo-refund-0001", "protocol": "ecpay"},
                    "message_id": "2f6b1c3e-8a4d-4e5f-9b7a-1c2d3e4f5a02",
                    # re-enqueued by reconcile as attempt 2 with DelaySeconds=120
                    "sent_timestamp_ms": (T_BATCH - 120) * ms + 118,
                    "first_receive_timestamp_ms": T_BATCH * ms + 130,
                    "sender_id": "AROAEXAMPLERECONCILE1:douyin-pay-ReconcileFunction-U1I2O3P4A5S6",
                },
            ]
        ),
        "sweeper_schedule.json": schedule_event(time_epoch_s=T_SWEEP, event_id="d5b5c7f2-3a1e-4c0b-8f26-9e4b7a1c2d3e"),
        "create_trade_payment.json": _api(
            "POST",
            "/payments",
            "POST /payments",
            request_id="Vx3kXhHzoAMEbDx=",
            epoch_ms=T_CREATE_PAYMENT * ms + 321,
            body={
                "out_order_no": "demo-trade-0001",
                "total_amount": 12800,
                "subject": "年度会员",
                "image_url": "https://cdn.example.com/vip.png",
                "goods_type": 401,
                "tag_group_id": "tag_group_7272625659888041996",
                "order_entry_path": "pages/order/detail",
                "valid_time": 1800,
            },
        ),
        "callback_trade_payment.json": trade_callback(
            "payment",
            trade_payment_msg(),
            request_id="5f0c7a52-3d4e-4b8a-9c61-2e8f1a7b0c11",
            epoch_ms=T_NOTICE * ms + 19,
            identify="/msg/basic/payment/notify",
        ),
        "callback_trade_pre_create_refund.json": trade_callback(
            "pre_create_refund",
            trade_pre_create_refund_msg(),
            request_id="5f0c7a52-3d4e-4b8a-9c61-2e8f1a7b0c12",
            epoch_ms=T_NOTICE * ms + 58,
            identify="/msg/basic/refund/pre_create",
        ),
        "audit_refund.json": _api(
            "POST",
            "/refunds/Uort71764071700000000000002/audit",
            "POST /refunds/{out_refund_no}/audit",
            request_id="Vx9aBhHzoAMEbzz=",
            epoch_ms=T_READ * ms + 505,
            body={"decision": "deny", "deny_message": "课程已开始，不支持退款"},
        ),
    }


def render(event: dict[str, Any]) -> str:
    """The committed form: 2-space JSON, UTF-8 text kept readable, trailing newline."""
    return json.dumps(event, ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on drift")
    args = parser.parse_args(argv)
    events = generate()
    drift = []
    for name, event in events.items():
        path = EVENTS_DIR / name
        text = render(event)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                drift.append(name)
        else:
            path.write_bytes(text.encode("utf-8"))
    stale = sorted(p.name for p in EVENTS_DIR.glob("*.json") if p.name not in events)
    for name in stale:
        print(f"not generated by this script (remove it or add it here): events/{name}", file=sys.stderr)
    if args.check:
        for name in drift:
            print(f"out of date: events/{name} (run python scripts/make_events.py)", file=sys.stderr)
        return 1 if drift or stale else 0
    print(f"wrote {len(events)} events to {EVENTS_DIR.relative_to(REPO)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
