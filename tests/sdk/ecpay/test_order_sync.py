"""Order sync: order_push_fields' rules at each boundary, and OrderSyncClient against a loopback stub.

Every limit of the contract is tried just inside (one push is sent) and just outside (ValidationError
naming the field, nothing sent). Byte limits are tried with three-byte CJK text, where a count of
characters would pass what the platform refuses.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest
import requests

from douyin_pay.ecpay import (
    OrderDetail,
    OrderItem,
    OrderSyncClient,
    PushResult,
    SyncStatus,
    order_push_fields,
)
from douyin_pay.ecpay import order_sync as module
from douyin_pay.errors import ConfigurationError, PlatformError, PlatformTransportError, ValidationError
from tests.http_stub import Answer, running_stub

APP_ID = "tt0000000000000001"
SECRET = "very-secret-app-secret"
OPEN_ID = "_000HgDkLrEjm1sJ0fQ1oWvG4QAB5lvhVnE"
UPDATE_TIME = 1_700_000_000_123
CREATE_TIME = 1_699_999_000_456
OK = {"err_code": 0, "err_msg": "success", "body": ""}
CJK = "商"  # three bytes in UTF-8


def item(**changes) -> OrderItem:
    base = OrderItem(item_code="sku-1", img="https://img.example/a.png", title="会员月卡", price=990)
    return replace(base, **changes)


def detail(**changes) -> OrderDetail:
    base = OrderDetail(
        order_id="A1",
        create_time=CREATE_TIME,
        status_text=SyncStatus.PAID.text,
        amount=1,
        total_price=990,
        detail_url="pages/order/detail?id=A1",
        items=(item(),),
    )
    return replace(base, **changes)


def fields(**changes) -> dict:
    args = {"open_id": OPEN_ID, "order_status": SyncStatus.PAID, "update_time": UPDATE_TIME, "detail": detail()}
    extra = changes.pop("extra", None)
    args.update(changes)
    return order_push_fields(**args, extra=extra)


def compact(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Tokens:
    """A TokenSource that hands out t1, t2, ... and records each call's ``stale``."""

    def __init__(self) -> None:
        self.calls: list[str | None] = []
        self.current = "t1"

    def token(self, *, stale: str | None = None) -> str:
        self.calls.append(stale)
        if stale == self.current:
            self.current = f"t{int(self.current[1:]) + 1}"
        return self.current


@pytest.fixture
def stub():
    with running_stub() as s:
        s.default = Answer.json(OK)
        yield s


@pytest.fixture
def tokens():
    return Tokens()


@pytest.fixture
def client(stub, tokens):
    with OrderSyncClient(APP_ID, tokens, base_url=stub.base_url, timeout=(1.0, 1.0)) as c:
        yield c


# -- the fields ------------------------------------------------------------------------------------


class TestFields:
    def test_exact_fields(self):
        got = fields()
        expected_detail = {
            "order_id": "A1",
            "create_time": CREATE_TIME,
            "status": "已支付",
            "amount": 1,
            "total_price": 990,
            "detail_url": "pages/order/detail?id=A1",
            "item_list": [
                {
                    "item_code": "sku-1",
                    "img": "https://img.example/a.png",
                    "title": "会员月卡",
                    "amount": 1,
                    "price": 990,
                }
            ],
        }
        assert got == {
            "app_name": "douyin",
            "open_id": OPEN_ID,
            "order_type": 0,
            "order_status": 1,
            "update_time": UPDATE_TIME,
            "order_detail": compact(expected_detail),
        }
        assert type(got["order_status"]) is int  # the plain int, not the enum member
        assert "会员月卡" in got["order_detail"]  # UTF-8 as is, not \u escapes

    def test_extra_and_sub_title_are_sent_only_when_given(self):
        got = fields(extra="cp-1", detail=detail(items=(item(sub_title="月卡"), item(item_code="sku-2"))))
        assert got["extra"] == "cp-1"
        first, second = json.loads(got["order_detail"])["item_list"]
        assert first["sub_title"] == "月卡"
        assert "sub_title" not in second
        assert fields(extra="")["extra"] == ""  # "optional, < 2048 bytes": empty is allowed

    def test_status_texts_are_the_contracts(self):
        assert {int(s): s.text for s in SyncStatus} == {
            0: "待支付",
            1: "已支付",
            2: "已取消",
            4: "已核销",
            5: "退款中",
            6: "已退款",
            8: "退款失败",
        }
        assert [s.name for s in SyncStatus] == [
            "UNPAID",
            "PAID",
            "CANCELLED",
            "FULFILLED",
            "REFUNDING",
            "REFUNDED",
            "REFUND_FAILED",
        ]

    @pytest.mark.parametrize("status", [*SyncStatus, 0, 8])
    def test_every_status_and_its_plain_int(self, status):
        assert fields(order_status=status)["order_status"] == int(status)

    @pytest.mark.parametrize("status", [3, 7, 9, -1, 9101, True, False, 1.0, "1", None])
    def test_other_statuses_are_refused(self, status):
        with pytest.raises(ValidationError) as info:
            fields(order_status=status)
        assert (info.value.field, info.value.code) == ("order_status", "invalid_status")

    def test_a_list_of_items_is_accepted(self):
        got = fields(detail=detail(items=[item(), item(item_code="sku-2")]))
        assert [i["item_code"] for i in json.loads(got["order_detail"])["item_list"]] == ["sku-1", "sku-2"]


def https(size: int) -> str:
    """An https URL of exactly ``size`` bytes."""
    head = "https://img.example/"
    return head + "a" * (size - len(head))


def cjk(size: int) -> str:
    """Text of exactly ``size`` UTF-8 bytes, as many three-byte characters as fit."""
    return CJK * (size // 3) + "a" * (size % 3)


# (name, field that a failure names, build the push fields from a value, just inside, just outside, code)
BOUNDARIES = [
    ("open_id long", "open_id", lambda v: fields(open_id=v), "o" * 128, "o" * 129, "invalid_text"),
    ("open_id chars", "open_id", lambda v: fields(open_id=v), CJK * 128, CJK * 129, "invalid_text"),
    ("open_id empty", "open_id", lambda v: fields(open_id=v), "o", "", "invalid_text"),
    ("update_time low", "update_time", lambda v: fields(update_time=v), 10**12, 10**12 - 1, "invalid_timestamp"),
    ("update_time high", "update_time", lambda v: fields(update_time=v), 10**13 - 1, 10**13, "invalid_timestamp"),
    ("update_time s", "update_time", lambda v: fields(update_time=v), UPDATE_TIME, 1_700_000_000, "invalid_timestamp"),
    ("extra", "extra", lambda v: fields(extra=v), "e" * 2047, "e" * 2048, "too_long"),
    ("extra bytes", "extra", lambda v: fields(extra=v), cjk(2047), cjk(2048), "too_long"),
    (
        "order_id",
        "order_detail.order_id",
        lambda v: fields(detail=detail(order_id=v)),
        "o" * 64,
        "o" * 65,
        "too_long",
    ),
    (
        "order_id bytes",
        "order_detail.order_id",
        lambda v: fields(detail=detail(order_id=v)),
        cjk(64),
        cjk(65),
        "too_long",
    ),
    ("order_id empty", "order_detail.order_id", lambda v: fields(detail=detail(order_id=v)), "o", "", "missing_field"),
    (
        "create_time low",
        "order_detail.create_time",
        lambda v: fields(detail=detail(create_time=v)),
        10**12,
        10**12 - 1,
        "invalid_timestamp",
    ),
    (
        "create_time high",
        "order_detail.create_time",
        lambda v: fields(detail=detail(create_time=v)),
        10**13 - 1,
        10**13,
        "invalid_timestamp",
    ),
    ("status", "order_detail.status", lambda v: fields(detail=detail(status_text=v)), "x", "", "missing_field"),
    ("amount", "order_detail.amount", lambda v: fields(detail=detail(amount=v)), 1, 0, "out_of_range"),
    (
        "total_price",
        "order_detail.total_price",
        lambda v: fields(detail=detail(total_price=v)),
        0,
        -1,
        "out_of_range",
    ),
    (
        "detail_url",
        "order_detail.detail_url",
        lambda v: fields(detail=detail(detail_url=v)),
        "p" * 1024,
        "p" * 1025,
        "too_long",
    ),
    (
        "detail_url bytes",
        "order_detail.detail_url",
        lambda v: fields(detail=detail(detail_url=v)),
        cjk(1024),
        cjk(1025),
        "too_long",
    ),
    (
        "detail_url empty",
        "order_detail.detail_url",
        lambda v: fields(detail=detail(detail_url=v)),
        "p",
        "",
        "missing_field",
    ),
    (
        "item_list",
        "order_detail.item_list",
        lambda v: fields(detail=detail(items=v)),
        (item(),),
        (),
        "missing_field",
    ),
    (
        "item_code",
        "order_detail.item_list[0].item_code",
        lambda v: fields(detail=detail(items=(item(item_code=v),))),
        cjk(64),
        cjk(65),
        "too_long",
    ),
    (
        "item_code empty",
        "order_detail.item_list[0].item_code",
        lambda v: fields(detail=detail(items=(item(item_code=v),))),
        "c",
        "",
        "missing_field",
    ),
    (
        "img",
        "order_detail.item_list[0].img",
        lambda v: fields(detail=detail(items=(item(img=v),))),
        https(512),
        https(513),
        "too_long",
    ),
    (
        "img bytes",
        "order_detail.item_list[0].img",
        lambda v: fields(detail=detail(items=(item(img=v),))),
        https(509) + CJK,
        https(510) + CJK,
        "too_long",
    ),
    (
        "img https",
        "order_detail.item_list[0].img",
        lambda v: fields(detail=detail(items=(item(img=v),))),
        "https://img.example/a.png",
        "http://img.example/a.png",
        "invalid_url",
    ),
    (
        "img empty",
        "order_detail.item_list[0].img",
        lambda v: fields(detail=detail(items=(item(img=v),))),
        "https://i.example",
        "",
        "missing_field",
    ),
    (
        "title",
        "order_detail.item_list[0].title",
        lambda v: fields(detail=detail(items=(item(title=v),))),
        cjk(256),
        cjk(257),
        "too_long",
    ),
    (
        "title empty",
        "order_detail.item_list[0].title",
        lambda v: fields(detail=detail(items=(item(title=v),))),
        "t",
        "",
        "missing_field",
    ),
    (
        "sub_title",
        "order_detail.item_list[0].sub_title",
        lambda v: fields(detail=detail(items=(item(sub_title=v),))),
        cjk(256),
        cjk(257),
        "too_long",
    ),
    (
        "item amount",
        "order_detail.item_list[0].amount",
        lambda v: fields(detail=detail(items=(item(amount=v),))),
        1,
        0,
        "out_of_range",
    ),
    (
        "price",
        "order_detail.item_list[0].price",
        lambda v: fields(detail=detail(items=(item(price=v),))),
        0,
        -1,
        "out_of_range",
    ),
    (
        "second item",
        "order_detail.item_list[1].img",
        lambda v: fields(detail=detail(items=(item(), item(img=v)))),
        "https://i.example/b.png",
        "ftp://i.example/b.png",
        "invalid_url",
    ),
]


@pytest.mark.parametrize(
    ("field", "build", "inside", "outside", "code"), [b[1:] for b in BOUNDARIES], ids=[b[0] for b in BOUNDARIES]
)
def test_each_limit_at_its_boundary(stub, client, field, build, inside, outside, code):
    client.push(build(inside))
    assert len(stub.requests) == 1
    with pytest.raises(ValidationError) as info:
        client.push(build(outside))
    assert (info.value.field, info.value.code) == (field, code)
    assert info.value.field in str(info.value)
    assert len(stub.requests) == 1  # nothing more was sent


class TestOrderDetailSize:
    """The < 2048-byte limit applies to the JSON string as sent: after escaping, in UTF-8."""

    @staticmethod
    def sized(total: int) -> OrderDetail:
        # Titles of '"' and CJK: each '"' is 1 byte raw but 2 in JSON, each CJK character 3 bytes
        # (6 if it were sent as a \u escape). The detail_url pads to the exact total.
        title, sub_title = '"' * 20 + CJK * 78, CJK * 85  # 254 and 255 bytes raw: each within its limit
        items = tuple(item(item_code=f"sku-{i}", title=title, sub_title=sub_title) for i in (1, 2))
        base = detail(items=items, detail_url="")
        wire = compact(
            {
                "order_id": base.order_id,
                "create_time": base.create_time,
                "status": base.status_text,
                "amount": base.amount,
                "total_price": base.total_price,
                "detail_url": "",
                "item_list": [
                    {
                        "item_code": f"sku-{i}",
                        "img": "https://img.example/a.png",
                        "title": title,
                        "sub_title": sub_title,
                        "amount": 1,
                        "price": 990,
                    }
                    for i in (1, 2)
                ],
            }
        )
        padding = total - len(wire.encode())
        assert 0 < padding <= 1024, padding  # the detail_url stays within its own limit
        return replace(base, detail_url="p" * padding)

    def test_2047_bytes_pass_and_are_sent_as_they_are(self, stub, client):
        sent_fields = fields(detail=self.sized(2047))
        assert len(sent_fields["order_detail"].encode()) == 2047
        client.push(sent_fields)
        [sent] = stub.requests
        assert len(sent.json()["order_detail"].encode()) == 2047

    def test_2048_bytes_fail_and_nothing_is_sent(self, stub, client):
        with pytest.raises(ValidationError) as info:
            client.push(fields(detail=self.sized(2048)))
        assert (info.value.field, info.value.code) == ("order_detail", "too_long")
        assert "2048" in str(info.value)
        assert stub.requests == []

    def test_each_part_within_its_own_limit_can_still_overflow_the_whole(self):
        items = tuple(item(item_code=f"sku-{i}", title=cjk(256)) for i in range(7))
        with pytest.raises(ValidationError) as info:
            fields(detail=detail(items=items))
        assert info.value.field == "order_detail"


class TestWrongTypes:
    @pytest.mark.parametrize(
        ("build", "field", "code"),
        [
            (lambda: fields(open_id=123), "open_id", "invalid_text"),
            (lambda: fields(open_id="o\ud800"), "open_id", "invalid_text"),
            (lambda: fields(update_time=True), "update_time", "invalid_integer"),
            (lambda: fields(update_time=float(UPDATE_TIME)), "update_time", "invalid_integer"),
            (lambda: fields(update_time=str(UPDATE_TIME)), "update_time", "invalid_integer"),
            (lambda: fields(extra=1), "extra", "invalid_text"),
            (lambda: fields(detail={"order_id": "A1"}), "order_detail", "invalid_order_detail"),
            (lambda: fields(detail=detail(create_time=True)), "order_detail.create_time", "invalid_integer"),
            (lambda: fields(detail=detail(amount=True)), "order_detail.amount", "invalid_integer"),
            (lambda: fields(detail=detail(total_price=9.9)), "order_detail.total_price", "invalid_integer"),
            (lambda: fields(detail=detail(total_price="990")), "order_detail.total_price", "invalid_integer"),
            (lambda: fields(detail=detail(status_text=None)), "order_detail.status", "invalid_text"),
            (lambda: fields(detail=detail(items="sku-1")), "order_detail.item_list", "invalid_item"),
            (lambda: fields(detail=detail(items=None)), "order_detail.item_list", "invalid_item"),
            (lambda: fields(detail=detail(items=({"item_code": "x"},))), "order_detail.item_list[0]", "invalid_item"),
            (
                lambda: fields(detail=detail(items=(item(title="月\udfff"),))),
                "order_detail.item_list[0].title",
                "invalid_text",
            ),
            (
                lambda: fields(detail=detail(items=(item(price=True),))),
                "order_detail.item_list[0].price",
                "invalid_integer",
            ),
            (
                lambda: fields(detail=detail(items=(item(amount=1.0),))),
                "order_detail.item_list[0].amount",
                "invalid_integer",
            ),
            (
                lambda: fields(detail=detail(items=(item(sub_title=None),))),
                "order_detail.item_list[0].sub_title",
                "invalid_text",
            ),
            (
                lambda: fields(detail=detail(items=(item(img="https://"),))),
                "order_detail.item_list[0].img",
                "invalid_url",
            ),
            (
                lambda: fields(detail=detail(items=(item(img="https://img.example/a b.png"),))),
                "order_detail.item_list[0].img",
                "invalid_url",
            ),
        ],
    )
    def test_refused(self, build, field, code):
        with pytest.raises(ValidationError) as info:
            build()
        assert (info.value.field, info.value.code) == (field, code)


# -- the client ------------------------------------------------------------------------------------


class TestPush:
    def test_the_body_sent(self, stub, client, tokens):
        pushed = fields(extra="cp-1")
        result = client.push(pushed)
        assert result == PushResult(err_code=0, err_msg="success", body="")
        [sent] = stub.requests
        assert sent.path == "/api/apps/order/v2/push"
        assert sent.headers["content-type"] == "application/json"
        body = sent.json()
        assert set(body) == {
            "access_token",
            "app_name",
            "open_id",
            "order_type",
            "order_status",
            "update_time",
            "extra",
            "order_detail",
        }
        assert body == {**pushed, "access_token": "t1"}
        assert isinstance(body["order_detail"], str)  # a JSON string, not an object
        # Compact UTF-8 on the wire; the detail string arrives byte for byte as it was measured.
        assert "会员月卡".encode() in sent.body
        assert b'"access_token":"t1"' in sent.body
        assert body["order_detail"].encode() == pushed["order_detail"].encode()
        assert tokens.calls == [None]

    def test_the_platform_body_is_returned(self, stub, client):
        stub.default = Answer.json({"err_code": 0, "err_msg": "", "body": "whatever"})
        assert client.push(fields()).body == "whatever"

    def test_an_invalid_token_is_refreshed_once_and_the_push_resent(self, stub, client, tokens):
        stub.queue(Answer.json({"err_code": 40002, "err_msg": "access_token 无效或已过期", "body": ""}))
        assert client.push(fields()).err_code == 0
        first, second = stub.requests
        assert tokens.calls == [None, "t1"]  # the rejected token is named as stale
        assert (first.json()["access_token"], second.json()["access_token"]) == ("t1", "t2")
        assert {**first.json(), "access_token": "t2"} == second.json()

    def test_a_second_invalid_token_is_raised(self, stub, client, tokens):
        stub.default = Answer.json({"err_code": 40002, "err_msg": "access_token 无效或已过期", "body": ""})
        with pytest.raises(PlatformError) as info:
            client.push(fields())
        assert (info.value.err_no, info.value.retryable) == (module.INVALID_TOKEN, False)
        assert len(stub.requests) == 2
        assert tokens.calls == [None, "t1"]
        assert "t1" not in str(info.value)
        assert "t2" not in str(info.value)

    def test_a_parameter_error_is_raised_without_refresh_or_retry(self, stub, client, tokens):
        stub.default = Answer.json({"err_code": 40014, "err_msg": "参数错误: open_id", "body": ""})
        with pytest.raises(PlatformError) as info:
            client.push(fields())
        assert (info.value.err_no, info.value.err_msg, info.value.retryable) == (40014, "参数错误: open_id", False)
        assert not isinstance(info.value, PlatformTransportError)
        assert len(stub.requests) == 1
        assert tokens.calls == [None]

    def test_a_system_error_is_retryable_and_not_retried_here(self, stub, client):
        stub.default = Answer.json({"err_code": -1, "err_msg": "系统错误", "body": ""})
        with pytest.raises(PlatformError) as info:
            client.push(fields())
        assert (info.value.err_no, info.value.retryable) == (-1, True)
        assert len(stub.requests) == 1

    @pytest.mark.parametrize(
        "answer",
        [
            Answer(status=500, body=b'{"err_code":0}'),
            Answer(status=503, body=b"unavailable", content_type="text/plain"),
            Answer.json(OK, status=429),
            Answer(body=b"not json", content_type="text/plain"),
            Answer(body=b'"a string"'),
            Answer.json({"err_msg": "no err_code"}),
            Answer.json({**OK, "err_code": "0"}),
            Answer.json({**OK, "err_code": None}),
            Answer.json({**OK, "err_code": False}),
            Answer.json({**OK, "body": {"not": "a string"}}),
        ],
    )
    def test_no_readable_answer_is_a_transport_error(self, stub, client, tokens, answer):
        stub.default = answer
        with pytest.raises(PlatformTransportError) as info:
            client.push(fields())
        assert info.value.retryable
        assert "t1" not in str(info.value)
        assert len(stub.requests) == 1
        assert tokens.calls == [None]

    def test_a_client_error_status_is_not_retryable(self, stub, client):
        stub.default = Answer(status=403, body=b"forbidden", content_type="text/plain")
        with pytest.raises(PlatformError) as info:
            client.push(fields())
        assert not isinstance(info.value, PlatformTransportError)
        assert (info.value.http_status, info.value.retryable) == (403, False)

    def test_timeout(self, stub, tokens):
        stub.default = Answer.json(OK, delay=0.5)
        slow = OrderSyncClient(APP_ID, tokens, base_url=stub.base_url, timeout=(1.0, 0.1))
        with slow, pytest.raises(PlatformTransportError, match="timed out"):
            slow.push(fields())

    def test_fields_carrying_a_token_are_refused_before_sending(self, stub, client, tokens):
        with pytest.raises(ValidationError) as info:
            client.push({**fields(), "access_token": "mine"})
        assert info.value.field == "access_token"
        assert "mine" not in str(info.value)
        assert stub.requests == []
        assert tokens.calls == []

    def test_a_token_source_without_a_token_is_a_configuration_error(self, stub):
        class Empty:
            def token(self, *, stale=None):
                return ""

        with pytest.raises(ConfigurationError):
            OrderSyncClient(APP_ID, Empty(), base_url=stub.base_url).push(fields())
        assert stub.requests == []


class TestClientSetup:
    @pytest.mark.parametrize(
        ("app_id", "source", "base_url"),
        [
            ("", Tokens(), "https://developer.toutiao.com"),
            ("a" * 65, Tokens(), "https://developer.toutiao.com"),
            (APP_ID, object(), "https://developer.toutiao.com"),
            (APP_ID, Tokens(), "http://developer.toutiao.com"),
        ],
    )
    def test_configuration(self, app_id, source, base_url):
        with pytest.raises(ConfigurationError):
            OrderSyncClient(app_id, source, base_url=base_url)

    def test_defaults_to_the_production_host(self, tokens):
        with OrderSyncClient(APP_ID, tokens) as c:
            assert c.base_url == "https://developer.toutiao.com"

    def test_a_given_session_is_left_open(self, stub, tokens):
        class Session(requests.Session):
            closed = False

            def close(self):
                self.closed = True
                super().close()

        session = Session()
        with OrderSyncClient(APP_ID, tokens, base_url=stub.base_url, session=session) as c:
            c.push(fields())
        assert not session.closed
        assert len(stub.requests) == 1

    def test_repr_shows_no_token(self, client):
        client.push(fields())
        assert repr(client) == f"OrderSyncClient(app_id={APP_ID!r}, base_url={client.base_url!r})"


class TestForApp:
    TOKEN_PATH = "/api/apps/v2/token"
    PUSH_PATH = "/api/apps/order/v2/push"

    @staticmethod
    def token_answer(token: str) -> Answer:
        return Answer.json({"err_no": 0, "err_tips": "success", "data": {"access_token": token, "expires_in": 7200}})

    def test_fetches_once_then_reuses_the_token(self, stub):
        stub.queue(self.token_answer("act.1"), Answer.json(OK), Answer.json(OK))
        with OrderSyncClient.for_app(APP_ID, SECRET, base_url=stub.base_url) as c:
            c.push(fields())
            c.push(fields(update_time=UPDATE_TIME + 1))
            assert SECRET not in repr(c)
            assert "act.1" not in repr(c)
        assert [r.path for r in stub.requests] == [self.TOKEN_PATH, self.PUSH_PATH, self.PUSH_PATH]
        assert stub.requests[0].json() == {"appid": APP_ID, "secret": SECRET, "grant_type": "client_credential"}
        assert [r.json()["access_token"] for r in stub.requests[1:]] == ["act.1", "act.1"]
        assert all(SECRET.encode() not in r.body for r in stub.requests[1:])

    def test_refetches_when_the_token_is_rejected(self, stub):
        stub.queue(
            self.token_answer("act.1"),
            Answer.json({"err_code": 40002, "err_msg": "access_token 无效或已过期", "body": ""}),
            self.token_answer("act.2"),
            Answer.json(OK),
        )
        with OrderSyncClient.for_app(APP_ID, SECRET, base_url=stub.base_url) as c:
            assert c.push(fields()).err_code == 0
        assert [r.path for r in stub.requests] == [self.TOKEN_PATH, self.PUSH_PATH, self.TOKEN_PATH, self.PUSH_PATH]
        assert stub.requests[3].json()["access_token"] == "act.2"

    def test_a_failed_fetch_is_raised_without_a_push(self, stub):
        stub.queue(Answer.json({"err_no": 40017, "err_tips": "secret 错误", "data": {}}))
        c = OrderSyncClient.for_app(APP_ID, SECRET, base_url=stub.base_url)
        with c, pytest.raises(PlatformError) as info:
            c.push(fields())
        assert info.value.err_no == 40017
        assert SECRET not in str(info.value)
        assert [r.path for r in stub.requests] == [self.TOKEN_PATH]

    def test_an_empty_secret_is_refused_at_once(self):
        with pytest.raises(ConfigurationError) as info:
            OrderSyncClient.for_app(APP_ID, "")
        assert "secret" in str(info.value)


def test_importing_order_sync_does_not_load_requests():
    # A callback handler imports douyin_pay.ecpay (and so this module) and never pushes.
    code = (
        "import sys\n"
        "from douyin_pay.ecpay import order_sync\n"
        "assert 'requests' not in sys.modules, 'requests imported eagerly'\n"
        "order_sync.OrderSyncClient('tt1', order_sync.InMemoryTokenSource(lambda: None))\n"
        "assert 'requests' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
