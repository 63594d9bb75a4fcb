"""Field rules (err_no 2010): required fields, types, lengths, ranges, clamping."""

from __future__ import annotations

import json

import pytest

from tests.local.sim_helpers import paid_order

# ---------------------------------------------------------------------------- field validation


FIVE_PAYEES = json.dumps([{"merchant_uid": f"m{i}", "amount": 1} for i in range(5)])
LONG_URL = "https://callback.localhost/" + "x" * 240
BAD_CREATE_ORDER = {
    "missing subject": {"subject": None},
    "amount as string": {"total_amount": "12800"},
    "amount as bool": {"total_amount": True},
    "amount zero": {"total_amount": 0},
    "amount over 10^10": {"total_amount": 10**10 + 1},
    "valid_time as string": {"valid_time": "900"},
    "subject 43 chars": {"subject": "a" * 43},
    "subject over 128 bytes": {"subject": "😀" * 33},  # 33 chars, 132 bytes
    "body 43 chars": {"body": "商" * 43},
    "out_order_no bad char": {"out_order_no": "A 1"},
    "out_order_no 65 chars": {"out_order_no": "A" * 65},
    "notify_url http": {"notify_url": "http://callback.localhost/n"},
    "notify_url 257 chars": {"notify_url": LONG_URL},
    "disable_msg 2": {"disable_msg": 2},
    "limit_pay_way unknown": {"limit_pay_way": "LIMIT_CASH"},
}


class TestValidation:
    @pytest.mark.parametrize("override", BAD_CREATE_ORDER.values(), ids=BAD_CREATE_ORDER.keys())
    def test_create_order_field_rules(self, sim, override):
        _, client = sim
        fields = {"out_order_no": "V1", "total_amount": 100, "subject": "s", "body": "b", "valid_time": 900}
        fields = {k: v for k, v in {**fields, **override}.items() if v is not None}
        answer = client.call("create_order", **fields)
        assert answer["err_no"] == 2010, answer
        assert next(iter(override)) in answer["err_tips"]

    def test_subject_of_42_cjk_chars_is_fine(self, sim):
        _, client = sim
        assert client.create_order("V1", subject="商" * 42, body="品" * 42)["err_no"] == 0  # 126 bytes

    def test_over_long_cp_extra_is_truncated_on_create_order(self, sim):
        _simulator, client = sim
        assert client.create_order("V1", cp_extra="x" * 3000)["err_no"] == 0
        assert len(client.call("query_order", out_order_no="V1")["payment_info"]["cp_extra"]) == 2048

    @pytest.mark.parametrize(
        ("fields", "named"),
        [
            ({"reason": "r" * 101}, "reason"),
            ({"reason": None}, "reason"),
            ({"refund_amount": 10.0}, "refund_amount"),
            ({"cp_extra": "c" * 2049}, "cp_extra"),
            ({"all_settle": "1"}, "all_settle"),
            ({"out_refund_no": "R#1"}, "out_refund_no"),
        ],
    )
    def test_create_refund_field_rules(self, sim, fields, named):
        simulator, client = sim
        paid_order(simulator, client)
        body = {"out_order_no": "A1", "out_refund_no": "R1", "reason": "r", "refund_amount": 100, **fields}
        body = {k: v for k, v in body.items() if v is not None}
        answer = client.call("create_refund", **body)
        assert answer["err_no"] == 2010, answer
        assert named in answer["err_tips"]

    @pytest.mark.parametrize(
        ("fields", "named"),
        [
            ({"settle_desc": "d" * 81}, "settle_desc"),
            ({"settle_params": [{"merchant_uid": "m", "amount": 1}]}, "settle_params"),
            ({"settle_params": "not json"}, "settle_params"),
            ({"settle_params": FIVE_PAYEES}, "4 payees"),
            ({"settle_params": json.dumps([{"merchant_uid": "m", "amount": 0}])}, "amount"),
            ({"settle_params": json.dumps([{"amount": 5}])}, "merchant_uid"),
            ({"notify_url": "ftp://x"}, "notify_url"),
        ],
    )
    def test_settle_field_rules(self, sim, fields, named):
        simulator, client = sim
        paid_order(simulator, client)
        body = {"out_settle_no": "S1", "out_order_no": "A1", "settle_desc": "d", **fields}
        answer = client.call("settle", **body)
        assert answer["err_no"] == 2010, answer
        assert named in answer["err_tips"]

    def test_valid_time_is_clamped(self, sim):
        simulator, client = sim
        client.create_order("SHORT", valid_time=10)  # raised to 300 (§3.1)
        client.create_order("LONG", valid_time=10**6)  # lowered to 172800
        simulator.advance(299)
        assert client.order_status("SHORT") == "PROCESSING"
        simulator.advance(1)
        assert client.order_status("SHORT") == "TIMEOUT"
        simulator.advance(172_800 - 300 - 1)
        assert client.order_status("LONG") == "PROCESSING"
        simulator.advance(1)
        assert client.order_status("LONG") == "TIMEOUT"
