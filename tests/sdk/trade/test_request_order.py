"""request_order_data: the §3.2 rules, and the exact data string it renders."""

from __future__ import annotations

import json

import pytest

from douyin_pay.errors import ValidationError
from douyin_pay.trade import RequestOrderParams, request_order_data, rsa_verify, sign_request_order, signature_message
from tests.sdk.trade.helpers import SAMPLE_KEY, SAMPLE_PUBLIC_KEY

BASE = {
    "out_order_no": "A1",
    "total_amount": 300,
    "sku_id": "sku-1",
    "title": "会员月卡",
    "image_url": "https://example.com/a.png",
    "goods_type": 401,
    "tag_group_id": "tag_group_7272625659888041996",
    "order_entry_path": "pages/order/detail",
}


def data(**changes) -> dict:
    return json.loads(request_order_data(**{**BASE, **changes}))


def refused(field: str, **changes) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        request_order_data(**{**BASE, **changes})
    assert info.value.field == field, info.value
    return info.value


class TestRendering:
    def test_minimal_order(self):
        text = request_order_data(**BASE)
        assert text == (
            '{"skuList":[{"skuId":"sku-1","price":300,"quantity":1,"title":"会员月卡",'
            '"imageList":["https://example.com/a.png"],"type":401,"tagGroupId":"tag_group_7272625659888041996"}],'
            '"outOrderNo":"A1","totalAmount":300,"orderEntrySchema":{"path":"pages/order/detail","params":"{}"}}'
        )

    def test_every_optional_field_in_the_documented_order(self):
        text = request_order_data(
            **{**BASE, "goods_type": 101},
            quantity=3,
            price=100,
            currency="CNY",
            pay_expire_seconds=172_800,
            pay_notify_url="https://example.com/n",
            merchant_uid="71223625266663938860",
            limit_pay_way=[2, 1],
            sku_attr={"call_duration": 100},
            entry_path="pages/goods",
            entry_params={"sku": "测试"},
            promotion_id="p1",
            order_entry_params='{"id": "A1"}',
        )
        parsed = json.loads(text)
        assert list(parsed) == [
            "skuList",
            "outOrderNo",
            "totalAmount",
            "currency",
            "payExpireSeconds",
            "payNotifyUrl",
            "merchantUid",
            "orderEntrySchema",
            "limitPayWayList",
            "promotionId",
        ]
        [sku] = parsed["skuList"]
        assert list(sku) == [
            "skuId",
            "price",
            "quantity",
            "title",
            "imageList",
            "type",
            "tagGroupId",
            "entrySchema",
            "skuAttr",
        ]
        assert sku["entrySchema"] == {"path": "pages/goods", "params": '{"sku":"测试"}'}
        assert sku["skuAttr"] == '{"call_duration":100}'
        # A params string is sent exactly as given: the caller's own serialisation is kept.
        assert parsed["orderEntrySchema"]["params"] == '{"id": "A1"}'
        assert parsed["limitPayWayList"] == [2, 1]
        assert '"title":"会员月卡"' in text
        assert ": " not in text.replace('{\\"id\\": \\"A1\\"}', "")

    def test_price_defaults_to_total_over_quantity(self):
        assert data(quantity=3)["skuList"][0]["price"] == 100


class TestRules:
    @pytest.mark.parametrize("total", [0, -1, 1.0, "100", True, None])
    def test_total_amount(self, total):
        refused("total_amount", total_amount=total)

    @pytest.mark.parametrize("quantity", [0, 101, 1.0, True])
    def test_quantity(self, quantity):
        refused("quantity", quantity=quantity)

    def test_price_times_quantity_must_equal_total(self):
        refused("price", quantity=3, total_amount=301)
        refused("price", quantity=2, price=100)
        assert data(quantity=100, total_amount=100)["skuList"][0]["price"] == 1

    def test_title_limit_is_256_bytes(self):
        assert data(title="测" * 85)  # 255 bytes
        refused("title", title="测" * 86)  # 258 bytes
        refused("title", title="")

    def test_image_url_limit_is_512_bytes(self):
        assert data(image_url="https://e.com/" + "a" * 498)
        refused("image_url", image_url="https://e.com/" + "a" * 499)

    @pytest.mark.parametrize(
        "path", ["/pages/a", "pages/a?x=1", "pages:a", "pages/a&b", "pages/*", "", "页面", "a" * 513]
    )
    def test_schema_path(self, path):
        refused("order_entry.path", order_entry_path=path)

    def test_schema_params(self):
        refused("order_entry.params", order_entry_params={"k": "v" * 520})
        refused("order_entry.params", order_entry_params="[1]")
        refused("order_entry.params", order_entry_params='{"a":1,"a":2}')
        refused("order_entry.params", order_entry_params={"bad": object()})
        refused("entry_params", entry_params={"a": 1})
        refused("order_entry.params", order_entry_params={"k": "\ud800"})
        # Pretty-printed JSON text is still a JSON object: sent exactly as given.
        assert data(order_entry_params='{\n  "id": "A1"\n}')["orderEntrySchema"]["params"] == '{\n  "id": "A1"\n}'

    def test_out_order_no_limit_is_64_bytes(self):
        assert data(out_order_no="a" * 64)
        refused("out_order_no", out_order_no="a" * 65)
        refused("out_order_no", out_order_no=" a")
        refused("out_order_no", out_order_no="a\x00")

    def test_goods_type_and_tag_group(self):
        refused("goods_type", goods_type="401")
        refused("tag_group_id", tag_group_id="")

    @pytest.mark.parametrize("goods_type", [101, 104, 107])
    def test_sku_attr_required_for_number_cards(self, goods_type):
        refused("sku_attr", goods_type=goods_type)
        assert data(goods_type=goods_type, sku_attr={"a": 1})["skuList"][0]["skuAttr"] == '{"a":1}'
        assert "skuAttr" not in data(goods_type=108)["skuList"][0]

    def test_currency(self):
        refused("currency", currency="USD")
        refused("quantity", currency="DIAMOND", quantity=3)
        assert data(currency="DIAMOND")["currency"] == "DIAMOND"

    @pytest.mark.parametrize("seconds", [0, 172_801, 1.5])
    def test_pay_expire_seconds(self, seconds):
        refused("pay_expire_seconds", pay_expire_seconds=seconds)

    @pytest.mark.parametrize("url", ["http://example.com/n", "https://", "https://e.com/" + "a" * 500, "ftp://x"])
    def test_pay_notify_url(self, url):
        refused("pay_notify_url", pay_notify_url=url)

    @pytest.mark.parametrize("ways", [[3], [1, 1], [True], "1,2", [1.0]])
    def test_limit_pay_way(self, ways):
        refused("limit_pay_way", limit_pay_way=ways)

    def test_limit_pay_way_subsets(self):
        assert data(limit_pay_way=[10])["limitPayWayList"] == [10]
        assert data(limit_pay_way=(1, 2, 10))["limitPayWayList"] == [1, 2, 10]


def test_sign_request_order_signs_the_string_it_returns():
    text = request_order_data(**BASE)
    params = sign_request_order("tt1", text, SAMPLE_KEY, 2, timestamp=1_700_000_000, nonce="abc")
    assert isinstance(params, RequestOrderParams)
    assert params.data == text
    signature = params.byte_authorization.rsplit("signature=", 1)[1]
    assert rsa_verify(
        signature_message("POST", "/requestOrder", 1_700_000_000, "abc", text), signature, SAMPLE_PUBLIC_KEY
    )
    with pytest.raises(AttributeError):
        params.data = "{}"  # frozen
