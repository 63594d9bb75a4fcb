"""refund_fields / settle_fields and the wire checks the client repeats (trade-spec §4.5, §4.8)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from douyin_pay.errors import ValidationError
from douyin_pay.trade import ItemRefund, check_refund_fields, check_settle_fields, refund_fields, settle_fields

REFUND = {
    "order_id": "motb1",
    "out_refund_no": "r1",
    "refund_total_amount": 100,
    "refund_reason": [{"code": 101, "text": "不想要了"}],
    "order_entry_path": "pages/refund/detail",
}
SETTLE = {"out_order_no": "o1", "out_settle_no": "s1", "settle_desc": "分账"}


def refused(builder, base, field: str, **changes) -> None:
    with pytest.raises(ValidationError) as info:
        builder(**{**base, **changes})
    assert info.value.field == field, info.value


class TestRefundFields:
    def test_minimal(self):
        assert refund_fields(**REFUND) == {
            "order_id": "motb1",
            "out_refund_no": "r1",
            "refund_total_amount": 100,
            "refund_reason": [{"code": 101, "text": "不想要了"}],
            "order_entry_schema": {"path": "pages/refund/detail", "params": "{}"},
        }

    def test_every_field_in_order(self):
        fields = refund_fields(
            **REFUND,
            order_entry_params={"out_refund_no": "r1"},
            cp_extra="x" * 2048,
            notify_url="https://example.com/refund",
            item_order_detail=[{"item_order_id": "ot1", "refund_amount": 60}, ItemRefund("ot2", 40)],
            currency="DIAMOND",
        )
        assert list(fields) == [
            "order_id",
            "out_refund_no",
            "refund_total_amount",
            "refund_reason",
            "order_entry_schema",
            "cp_extra",
            "notify_url",
            "item_order_detail",
            "currency",
        ]
        assert fields["order_entry_schema"]["params"] == '{"out_refund_no":"r1"}'
        assert fields["item_order_detail"][1] == {"item_order_id": "ot2", "refund_amount": 40}
        assert check_refund_fields(fields) == fields

    def test_refund_all(self):
        assert refund_fields(**REFUND, refund_all=True)["refund_all"] is True
        refused(refund_fields, REFUND, "refund_all", refund_all=1)
        refused(
            refund_fields,
            REFUND,
            "refund_all",
            refund_all=True,
            item_order_detail=[{"item_order_id": "ot1", "refund_amount": 100}],
        )

    @pytest.mark.parametrize(
        ("reasons", "field"),
        [
            ([], "refund_reason"),
            ([{"code": 101, "text": "t"}] * 11, "refund_reason"),
            (["不想要了"], "refund_reason[0]"),
            ([{"code": 100, "text": "t"}], "refund_reason[0].code"),
            ([{"code": "101", "text": "t"}], "refund_reason[0].code"),
            ([{"code": 101.0, "text": "t"}], "refund_reason[0].code"),
            ([{"code": [101], "text": "t"}], "refund_reason[0].code"),
            ([{"code": 999, "text": "字" * 50}], "refund_reason[0].text"),
            ([{"code": 999}], "refund_reason[0]"),
            ("不想要了", "refund_reason"),
        ],
    )
    def test_refund_reason(self, reasons, field):
        refused(refund_fields, REFUND, field, refund_reason=reasons)

    def test_ten_reasons_and_49_characters_are_fine(self):
        reasons = [{"code": c, "text": "字" * 49} for c in (101, 102, 103, 999)] * 2 + [{"code": 999, "text": ""}] * 2
        assert len(refund_fields(**{**REFUND, "refund_reason": reasons})["refund_reason"]) == 10

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"order_id": "a" * 65}, "order_id"),
            ({"out_refund_no": ""}, "out_refund_no"),
            ({"refund_total_amount": 0}, "refund_total_amount"),
            ({"refund_total_amount": 1.5}, "refund_total_amount"),
            ({"cp_extra": "x" * 2049}, "cp_extra"),
            ({"notify_url": "http://example.com"}, "notify_url"),
            ({"notify_url": "https://e.com/" + "a" * 499}, "notify_url"),
            ({"currency": "USD"}, "currency"),
            ({"currency": ["CNY"]}, "currency"),
            ({"order_entry_path": "/pages/x"}, "order_entry_schema.path"),
            ({"item_order_detail": [{"item_order_id": "a", "refund_amount": 1}] * 100}, "item_order_detail"),
            (
                {"item_order_detail": [{"item_order_id": "a", "refund_amount": 1}] * 2},
                "item_order_detail[1].item_order_id",
            ),
            ({"item_order_detail": [{"item_order_id": "a", "refund_amount": 0}]}, "item_order_detail[0].refund_amount"),
            ({"item_order_detail": [{"item_order_id": "a", "amount": 1}]}, "item_order_detail[0]"),
        ],
    )
    def test_limits(self, changes, field):
        refused(refund_fields, REFUND, field, **changes)

    def test_99_items_are_fine(self):
        items = [{"item_order_id": f"ot{i}", "refund_amount": 1} for i in range(99)]
        assert len(refund_fields(**REFUND, item_order_detail=items)["item_order_detail"]) == 99

    def test_the_wire_check_refuses_what_storage_can_do_to_a_dict(self):
        fields = refund_fields(**REFUND)
        for broken, field in (
            ({**fields, "refund_total_amount": Decimal(100)}, "refund_total_amount"),
            ({k: v for k, v in fields.items() if k != "order_entry_schema"}, "order_entry_schema"),
            ({**fields, "order_entry_schema": {"path": "p", "params": {}}}, "order_entry_schema.params"),
            ({**fields, "app_id": "tt1"}, "app_id"),
        ):
            with pytest.raises(ValidationError) as info:
                check_refund_fields(broken)
            assert info.value.field == field


class TestSettleFields:
    def test_minimal_and_full(self):
        assert settle_fields(**SETTLE) == SETTLE
        fields = settle_fields(
            **SETTLE,
            settle_params=[{"merchant_uid": "7000", "amount": 100}, {"merchant_uid": "7001", "amount": 1}],
            item_order_id="ot1",
            ext="e" * 2048,
            notify_url="https://example.com/settle",
        )
        assert list(fields) == [
            "out_order_no",
            "out_settle_no",
            "settle_desc",
            "settle_params",
            "item_order_id",
            "ext",
            "notify_url",
        ]
        # A compact JSON *string* (pitfall 11).
        assert fields["settle_params"] == '[{"merchant_uid":"7000","amount":100},{"merchant_uid":"7001","amount":1}]'
        assert check_settle_fields(fields) == fields

    @pytest.mark.parametrize(
        ("payees", "field"),
        [
            ([], "settle_params"),
            ([{"merchant_uid": "7000", "amount": 0}], "settle_params[0].amount"),
            ([{"merchant_uid": "7000", "amount": 1.5}], "settle_params[0].amount"),
            ([{"merchant_uid": "7000", "amount": "100"}], "settle_params[0].amount"),
            ([{"merchant_uid": "", "amount": 1}], "settle_params[0].merchant_uid"),
            ([{"merchant_uid": "7000", "amount": 1}] * 2, "settle_params[1].merchant_uid"),
            ([{"merchant_uid": "7000", "amount": 1, "x": 1}], "settle_params[0]"),
            ([{"merchant_uid": f"7{i:019d}", "amount": 1} for i in range(20)], "settle_params"),
            ([{"merchant_uid": "7000", "amount": Decimal(1)}], "settle_params"),
        ],
    )
    def test_settle_params(self, payees, field):
        refused(settle_fields, SETTLE, field, settle_params=payees)

    def test_settle_params_limit_is_512_bytes(self):
        payees = [{"merchant_uid": f"7{i:019d}", "amount": 1} for i in range(10)]  # 511 bytes
        text = settle_fields(**SETTLE, settle_params=payees)["settle_params"]
        assert len(text.encode()) == 511
        assert json.loads(text) == payees

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"settle_desc": ""}, "settle_desc"),
            ({"ext": "e" * 2049}, "ext"),
            ({"out_settle_no": "s" * 65}, "out_settle_no"),
            ({"notify_url": "http://x"}, "notify_url"),
            ({"item_order_id": ""}, "item_order_id"),
        ],
    )
    def test_limits(self, changes, field):
        refused(settle_fields, SETTLE, field, **changes)

    def test_the_wire_check_wants_the_string_form(self):
        with pytest.raises(ValidationError) as info:
            check_settle_fields({**SETTLE, "settle_params": [{"merchant_uid": "7000", "amount": 1}]})
        assert info.value.field == "settle_params"
        with pytest.raises(ValidationError):
            check_settle_fields({**SETTLE, "settle_params": '[{"merchant_uid":"7000","amount":1,"amount":2}]'})
