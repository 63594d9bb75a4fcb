"""Order sync (订单同步) against the running simulator: the access token, the order push, the push
records, and the settlement rule that depends on them (switch require_order_sync).

Everything goes over loopback HTTP with unsigned JSON, as the contract says; the clock is frozen
(speed 0) and moved with advance(), so token lifetimes are exact to the second.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from local.douyin_sim.platform import ControlError
from tests.local.sim_helpers import (
    APP_ID,
    APP_SECRET,
    PUSH_PATH,
    SETTLE_CYCLE,
    START,
    STATUS_TEXT,
    TOKEN_PATH,
    item,
    order_detail,
    paid_order,
    push_body,
    push_paid,
)

MISSING = object()  # an override that leaves the field out
T0 = int(START * 1000)  # a 13-digit update_time


def cjk(nbytes: int) -> str:
    """Exactly ``nbytes`` UTF-8 bytes, nearly all of them Chinese (3 bytes a character)."""
    return "订" * (nbytes // 3) + "x" * (nbytes % 3)


def _apply(fields: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = {**fields, **overrides}
    return {k: v for k, v in out.items() if v is not MISSING}


def push_with(client, token: str, no: str = "A1", status: int = 1, *, detail: Any = None, **top: Any) -> dict[str, Any]:
    """A push built from the valid one: ``detail`` overrides order_detail's fields (or replaces
    the whole order_detail when it is not a dict), ``top`` the top-level fields."""
    body = push_body(token, no, status, top.pop("update_time", T0))
    if isinstance(detail, dict):
        body["order_detail"] = json.dumps(_apply(order_detail(no, status), detail), ensure_ascii=False)
    elif detail is not None:
        body["order_detail"] = detail
    return client.push(_apply(body, top))


def settle_tips(answer: dict[str, Any]) -> str:
    assert answer["err_no"] == 2010, answer
    return answer["err_tips"]


# ---------------------------------------------------------------------------- access token


class TestToken:
    def test_success_shape(self, sim):
        _, client = sim
        response = client.post(TOKEN_PATH, {"appid": APP_ID, "secret": APP_SECRET, "grant_type": "client_credential"})
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/json")
        answer = response.json()
        assert set(answer) == {"err_no", "err_tips", "data"}
        assert answer["err_no"] == 0
        assert answer["err_tips"] == "success"
        assert set(answer["data"]) == {"access_token", "expires_in"}
        assert answer["data"]["expires_in"] == 7200
        token = answer["data"]["access_token"]
        assert isinstance(token, str)
        assert token
        assert push_with(client, token)["err_code"] == 0

    @pytest.mark.parametrize(
        ("overrides", "code"),
        [
            ({"appid": None}, 40014),
            ({"secret": None}, 40014),
            ({"grant_type": None}, 40014),
            ({"appid": 12345}, 40014),
            ({"secret": ["x"]}, 40014),
            ({"grant_type": True}, 40014),
            ({"appid": "tt0000000000000000"}, 40015),
            ({"appid": ""}, 40015),
            ({"secret": APP_SECRET + "x"}, 40017),
            ({"secret": ""}, 40017),
            ({"grant_type": "authorization_code"}, 40020),
            ({"grant_type": "Client_Credential"}, 40020),
        ],
    )
    def test_refusals(self, sim, overrides, code):
        simulator, client = sim
        answer = client.token_answer(**overrides)
        assert answer["err_no"] == code, answer
        assert answer["data"] == {}
        assert answer["err_tips"]
        if code == 40014:
            assert next(iter(overrides)) in answer["err_tips"]
        assert simulator.state()["access_tokens"]["fetches"] == 0

    @pytest.mark.parametrize(
        ("raw", "content_type"),
        [
            (b"not json", "application/json"),
            (b'["appid", "secret"]', "application/json"),
            (b"", "application/json"),
            (b"appid=x&secret=y&grant_type=client_credential", "application/x-www-form-urlencoded"),
        ],
    )
    def test_a_body_that_is_no_json_object_is_40014(self, sim, raw, content_type):
        _, client = sim
        url = client.base_url + TOKEN_PATH
        response = client.http.post(url, data=raw, headers={"Content-Type": content_type}, timeout=5)
        assert response.status_code == 200
        assert response.json() == {"err_no": 40014, "err_tips": response.json()["err_tips"], "data": {}}

    def test_the_secret_must_be_the_configured_one(self, make_sim):
        _, client = make_sim(app_secret="another-secret")
        assert client.token_answer()["err_no"] == 40017
        assert client.token_answer(secret="another-secret")["err_no"] == 0

    def test_a_token_lives_7200_seconds(self, sim):
        simulator, client = sim
        token = client.access_token()
        simulator.advance(7199.5)
        assert push_with(client, token, update_time=T0)["err_code"] == 0
        simulator.advance(0.5)
        expired = push_with(client, token, update_time=T0 + 1)
        assert expired["err_code"] == 40002
        assert expired["body"] == ""
        assert simulator.sync_record("A1")["update_time"] == T0  # the refused push left no trace
        assert push_with(client, client.access_token(), update_time=T0 + 2)["err_code"] == 0

    def test_a_superseded_token_has_300_seconds_of_grace(self, sim):
        simulator, client = sim
        first = client.access_token()
        simulator.advance(100)
        second = client.access_token()
        assert first != second
        simulator.advance(299)
        assert push_with(client, first, update_time=T0)["err_code"] == 0
        simulator.advance(1)
        assert push_with(client, first, update_time=T0 + 1)["err_code"] == 40002
        assert push_with(client, second, update_time=T0 + 2)["err_code"] == 0
        # The grace never outlives the token itself.
        simulator.advance(7200 - 300 - 1)
        assert push_with(client, second, update_time=T0 + 3)["err_code"] == 0
        simulator.advance(1)
        assert push_with(client, second, update_time=T0 + 4)["err_code"] == 40002

    def test_only_the_newest_two_tokens_are_ever_valid(self, sim):
        simulator, client = sim
        first, second, third = client.access_token(), client.access_token(), client.access_token()
        assert push_with(client, first)["err_code"] == 40002  # dead at once, no grace
        assert push_with(client, second)["err_code"] == 0  # in its grace
        assert push_with(client, third)["err_code"] == 0
        assert simulator.state()["access_tokens"]["fetches"] == 3
        assert len(simulator.state()["access_tokens"]["valid"]) == 2

    def test_a_grace_token_ends_300_s_after_the_next_fetch_not_its_own_issue(self, sim):
        simulator, client = sim
        first = client.access_token()
        simulator.advance(7000)
        client.access_token()
        simulator.advance(199)
        assert push_with(client, first, update_time=T0)["err_code"] == 0
        simulator.advance(1)  # 7200 s after its issue: expired, though its grace runs to 7300
        assert push_with(client, first, update_time=T0 + 1)["err_code"] == 40002

    def test_a_refused_fetch_supersedes_nothing(self, sim):
        simulator, client = sim
        first, second = client.access_token(), client.access_token()
        assert client.token_answer(secret="wrong")["err_no"] == 40017
        assert push_with(client, first)["err_code"] == 0
        simulator.advance(300)
        assert push_with(client, second, update_time=T0 + 1)["err_code"] == 0

    @pytest.mark.parametrize("token", ["", "unknown-token", MISSING, 42, None])
    def test_unknown_or_missing_access_token(self, sim, token):
        _, client = sim
        answer = push_with(client, "placeholder", access_token=token)
        if token == "unknown-token":
            assert answer["err_code"] == 40002
        else:
            assert answer["err_code"] == 40014
            assert "access_token" in answer["err_msg"]
        assert client.control("GET", "orders/A1/sync").status_code == 404

    def test_the_token_is_checked_before_the_fields(self, sim):
        _, client = sim
        answer = push_with(client, "unknown-token", app_name="toutiao", order_status=3)
        assert answer["err_code"] == 40002


# ---------------------------------------------------------------------------- push field rules


ACCEPTED_TOP = {
    "open_id 128 Chinese chars": {"open_id": "用" * 128},
    "open_id 1 char": {"open_id": "u"},
    "update_time smallest 13 digits": {"update_time": 10**12},
    "update_time largest 13 digits": {"update_time": 10**13 - 1},
    "extra 2047 bytes": {"extra": cjk(2047)},
    "extra empty": {"extra": ""},
    "extra absent": {"extra": MISSING},
    "unknown top-level key": {"scene": "1001"},
}

REFUSED_TOP = {
    "app_name other": ({"app_name": "toutiao"}, "app_name"),
    "app_name missing": ({"app_name": MISSING}, "app_name"),
    "open_id 129 chars": ({"open_id": "用" * 129}, "open_id"),
    "open_id empty": ({"open_id": ""}, "open_id"),
    "open_id missing": ({"open_id": MISSING}, "open_id"),
    "open_id number": ({"open_id": 12345}, "open_id"),
    "order_type POI 9101": ({"order_type": 9101}, "order_type"),
    "order_type POI 9001": ({"order_type": 9001}, "order_type"),
    "order_type 1": ({"order_type": 1}, "order_type"),
    "order_type string": ({"order_type": "0"}, "order_type"),
    "order_type missing": ({"order_type": MISSING}, "order_type"),
    "order_status 3": ({"order_status": 3}, "order_status"),
    "order_status 7": ({"order_status": 7}, "order_status"),
    "order_status 9": ({"order_status": 9}, "order_status"),
    "order_status -1": ({"order_status": -1}, "order_status"),
    "order_status string": ({"order_status": "1"}, "order_status"),
    "order_status bool": ({"order_status": True}, "order_status"),
    "order_status float": ({"order_status": 1.0}, "order_status"),
    "order_status missing": ({"order_status": MISSING}, "order_status"),
    "update_time 12 digits": ({"update_time": 10**12 - 1}, "update_time"),
    "update_time 14 digits": ({"update_time": 10**13}, "update_time"),
    "update_time in seconds": ({"update_time": int(START)}, "update_time"),
    "update_time string": ({"update_time": str(T0)}, "update_time"),
    "update_time missing": ({"update_time": MISSING}, "update_time"),
    "extra 2048 bytes": ({"extra": cjk(2048)}, "extra"),
    "extra object": ({"extra": {"k": "v"}}, "extra"),
}


def _top(client, token: str, overrides: dict[str, Any]) -> dict[str, Any]:
    body = push_body(token, "A1", 1, T0)
    return client.push(_apply(body, overrides))


class TestPushFieldRules:
    @pytest.mark.parametrize("overrides", ACCEPTED_TOP.values(), ids=ACCEPTED_TOP.keys())
    def test_top_level_inside_the_rules(self, sim, overrides):
        simulator, client = sim
        answer = _top(client, client.access_token(), overrides)
        assert answer == {"err_code": 0, "err_msg": "", "body": ""}
        (push,) = simulator.sync_record("A1")["pushes"]
        if "open_id" in overrides:
            assert push["open_id"] == overrides["open_id"]
        if overrides.get("extra", MISSING) is not MISSING:
            assert push["extra"] == overrides["extra"]

    @pytest.mark.parametrize(("overrides", "named"), REFUSED_TOP.values(), ids=REFUSED_TOP.keys())
    def test_top_level_outside_the_rules(self, sim, overrides, named):
        _, client = sim
        answer = _top(client, client.access_token(), overrides)
        assert answer["err_code"] == 40014, answer
        assert named in answer["err_msg"]
        assert answer["body"] == ""
        assert client.control("GET", "orders/A1/sync").status_code == 404

    @pytest.mark.parametrize("status", sorted(STATUS_TEXT))
    def test_every_documented_status_is_accepted(self, sim, status):
        simulator, client = sim
        assert client.push_status("A1", status)["err_code"] == 0
        assert simulator.sync_record("A1")["status"] == status

    def test_order_detail_sent_as_an_object_is_40014(self, sim):
        _, client = sim
        body = push_body(client.access_token(), "A1", 1, T0)
        body["order_detail"] = order_detail("A1", 1)  # the object itself, not its JSON text
        answer = client.push(body)
        assert answer["err_code"] == 40014
        assert "order_detail" in answer["err_msg"]
        assert client.control("GET", "orders/A1/sync").status_code == 404

    @pytest.mark.parametrize(
        "detail",
        ["", "{not json", "[]", '"a string"', "null", '{"order_id": NaN}', MISSING],
        ids=["empty", "not JSON", "an array", "a string", "null", "NaN", "missing"],
    )
    def test_order_detail_must_hold_a_json_object(self, sim, detail):
        _, client = sim
        body = _apply(push_body(client.access_token(), "A1", 1, T0), {"order_detail": detail})
        answer = client.push(body)
        assert answer["err_code"] == 40014
        assert "order_detail" in answer["err_msg"]

    @pytest.mark.parametrize(("size", "code"), [(2047, 0), (2048, 40014)])
    def test_order_detail_under_2048_bytes(self, sim, size, code):
        simulator, client = sim
        detail = order_detail("A1", 1, status="")
        base = len(json.dumps(detail, ensure_ascii=False).encode("utf-8"))
        detail["status"] = cjk(size - base)  # status has no length rule of its own
        text = json.dumps(detail, ensure_ascii=False)
        assert len(text.encode("utf-8")) == size
        assert len(text) < 1000  # Chinese text: bytes, not characters, are counted
        answer = push_with(client, client.access_token(), detail=text)
        assert answer["err_code"] == code, answer
        if code:
            assert "order_detail" in answer["err_msg"]
        else:
            assert simulator.sync_record("A1")["pushes"][0]["order_detail"] == detail


ACCEPTED_DETAIL = {
    "order_id 64 bytes": {"order_id": cjk(64)},
    "order_id 1 byte": {"order_id": "A"},
    "amount 1": {"amount": 1},
    "total_price 0": {"total_price": 0},
    "detail_url 1024 bytes": {"detail_url": cjk(1024)},
    "detail_url 1 byte": {"detail_url": "p"},
    "status any text": {"status": "x"},
    "item_code 64 bytes": {"item_list": [item(item_code=cjk(64))]},
    "img 512 bytes": {"item_list": [item(img="https://img.example.com/" + cjk(512 - 24))]},
    "title 256 bytes": {"item_list": [item(title=cjk(256))]},
    "title 1 byte": {"item_list": [item(title="t")]},
    "sub_title 256 bytes": {"item_list": [item(sub_title=cjk(256))]},
    "sub_title absent": {"item_list": [{k: v for k, v in item().items() if k != "sub_title"}]},
    "sub_title empty": {"item_list": [item(sub_title="")]},
    "item amount 1, price 0": {"item_list": [item(amount=1, price=0)]},
    "two items": {"item_list": [item(), item(item_code="SKU-2")]},
    "unknown key": {"shop_name": "店"},
}

REFUSED_DETAIL = {
    "order_id 65 bytes": ({"order_id": cjk(65)}, "order_detail.order_id"),
    "order_id empty": ({"order_id": ""}, "order_detail.order_id"),
    "order_id number": ({"order_id": 12345}, "order_detail.order_id"),
    "order_id missing": ({"order_id": MISSING}, "order_detail.order_id"),
    "create_time 12 digits": ({"create_time": 10**12 - 1}, "order_detail.create_time"),
    "create_time 14 digits": ({"create_time": 10**13}, "order_detail.create_time"),
    "create_time string": ({"create_time": str(T0)}, "order_detail.create_time"),
    "create_time missing": ({"create_time": MISSING}, "order_detail.create_time"),
    "status empty": ({"status": ""}, "order_detail.status"),
    "status number": ({"status": 1}, "order_detail.status"),
    "status missing": ({"status": MISSING}, "order_detail.status"),
    "amount 0": ({"amount": 0}, "order_detail.amount"),
    "amount float": ({"amount": 1.0}, "order_detail.amount"),
    "amount missing": ({"amount": MISSING}, "order_detail.amount"),
    "total_price -1": ({"total_price": -1}, "order_detail.total_price"),
    "total_price string": ({"total_price": "12800"}, "order_detail.total_price"),
    "total_price missing": ({"total_price": MISSING}, "order_detail.total_price"),
    "detail_url 1025 bytes": ({"detail_url": cjk(1025)}, "order_detail.detail_url"),
    "detail_url empty": ({"detail_url": ""}, "order_detail.detail_url"),
    "detail_url missing": ({"detail_url": MISSING}, "order_detail.detail_url"),
    "item_list empty": ({"item_list": []}, "order_detail.item_list"),
    "item_list object": ({"item_list": item()}, "order_detail.item_list"),
    "item_list missing": ({"item_list": MISSING}, "order_detail.item_list"),
    "item not an object": ({"item_list": ["SKU-1"]}, "order_detail.item_list[0]"),
    "item_code 65 bytes": ({"item_list": [item(item_code=cjk(65))]}, "item_list[0].item_code"),
    "item_code empty": ({"item_list": [item(item_code="")]}, "item_list[0].item_code"),
    "img 513 bytes": ({"item_list": [item(img="https://img.example.com/" + cjk(513 - 24))]}, "item_list[0].img"),
    "img http": ({"item_list": [item(img="http://img.example.com/1.png")]}, "item_list[0].img"),
    "img no URL": ({"item_list": [item(img="1.png")]}, "item_list[0].img"),
    "img missing": ({"item_list": [{k: v for k, v in item().items() if k != "img"}]}, "item_list[0].img"),
    "title 257 bytes": ({"item_list": [item(title=cjk(257))]}, "item_list[0].title"),
    "title empty": ({"item_list": [item(title="")]}, "item_list[0].title"),
    "sub_title 257 bytes": ({"item_list": [item(sub_title=cjk(257))]}, "item_list[0].sub_title"),
    "sub_title number": ({"item_list": [item(sub_title=5)]}, "item_list[0].sub_title"),
    "item amount 0": ({"item_list": [item(amount=0)]}, "item_list[0].amount"),
    "item price -1": ({"item_list": [item(price=-1)]}, "item_list[0].price"),
    "item price string": ({"item_list": [item(price="1")]}, "item_list[0].price"),
    "second item bad": ({"item_list": [item(), item(amount=0)]}, "item_list[1].amount"),
}


class TestOrderDetailRules:
    @pytest.mark.parametrize("detail", ACCEPTED_DETAIL.values(), ids=ACCEPTED_DETAIL.keys())
    def test_inside_the_rules(self, sim, detail):
        simulator, client = sim
        answer = push_with(client, client.access_token(), detail=detail)
        assert answer["err_code"] == 0, answer
        no = detail.get("order_id", "A1")
        (push,) = simulator.sync_record(no)["pushes"]
        assert push["order_detail"] == _apply(order_detail("A1", 1), detail)

    @pytest.mark.parametrize(("detail", "named"), REFUSED_DETAIL.values(), ids=REFUSED_DETAIL.keys())
    def test_outside_the_rules(self, sim, detail, named):
        simulator, client = sim
        answer = push_with(client, client.access_token(), detail=detail)
        assert answer["err_code"] == 40014, answer
        assert named in answer["err_msg"]
        assert simulator.state()["order_sync"] == {}


# ---------------------------------------------------------------------------- records and state


class TestRecords:
    def test_the_greatest_update_time_wins(self, sim):
        simulator, client = sim
        token = client.access_token()
        assert client.push_status("A1", 1, update_time=T0 + 1000, access_token=token)["err_code"] == 0
        # An older update_time is answered 0 but changes nothing.
        assert client.push_status("A1", 0, update_time=T0 + 999, access_token=token)["err_code"] == 0
        record = simulator.sync_record("A1")
        assert record["status"] == 1
        assert record["update_time"] == T0 + 1000
        assert [p["order_status"] for p in record["pushes"]] == [1, 0]
        assert [p["applied"] for p in record["pushes"]] == [True, False]
        assert client.push_status("A1", 6, update_time=T0 + 2000, access_token=token)["err_code"] == 0
        record = simulator.sync_record("A1")
        assert record["status"] == 6
        assert record["status_text"] == STATUS_TEXT[6]
        assert len(record["pushes"]) == 3

    def test_an_equal_update_time_replaces(self, sim):
        simulator, client = sim
        token = client.access_token()
        client.push_status("A1", 1, update_time=T0, access_token=token)
        client.push_status("A1", 4, update_time=T0, access_token=token)
        assert simulator.sync_record("A1")["status"] == 4

    def test_records_are_per_order_and_need_no_ecpay_order(self, sim):
        simulator, client = sim
        paid_order(simulator, client, no="A1")
        assert client.push_status("A1", 1)["err_code"] == 0
        assert client.push_status("NEVER-CREATED", 2)["err_code"] == 0
        state = simulator.state()
        assert set(state["order_sync"]) == {"A1", "NEVER-CREATED"}
        assert state["order_sync"]["NEVER-CREATED"]["status"] == 2
        assert "NEVER-CREATED" not in state["orders"]
        # Recorded, but still no ecpay order to settle: the order check comes first (2000).
        assert client.settle("S1", order="NEVER-CREATED")["err_no"] == 2000

    def test_state_and_sync_route(self, sim):
        simulator, client = sim
        token = client.access_token()
        simulator.advance(42)
        body = push_body(token, "A1", 1, T0 + 5, extra="额外")
        assert client.push(body)["err_code"] == 0
        state = client.control("GET", "state").json()
        record = state["order_sync"]["A1"]
        assert record["status"] == 1
        assert record["update_time"] == T0 + 5
        (push,) = record["pushes"]
        assert push == {
            "open_id": body["open_id"],
            "order_status": 1,
            "update_time": T0 + 5,
            "order_detail": json.loads(body["order_detail"]),
            "extra": "额外",
            "received_at": START + 42,
            "applied": True,
        }
        route = client.control("GET", "orders/A1/sync")
        assert route.status_code == 200
        assert route.json() == record
        assert route.json() == simulator.sync_record("A1")
        missing = client.control("GET", "orders/NOPE/sync")
        assert missing.status_code == 404
        assert "NOPE" in missing.json()["error"]
        with pytest.raises(ControlError) as excinfo:
            simulator.sync_record("NOPE")
        assert excinfo.value.status == 404
        tokens = state["access_tokens"]
        assert tokens["fetches"] == 1
        assert tokens["valid"] == [{"issued_at": START, "valid_until": START + 7200}]
        text = json.dumps(state, ensure_ascii=False)
        assert token not in text  # the access token is a credential
        assert APP_SECRET not in text
        assert state["config"]["require_order_sync"] is True
        assert "app_secret" not in state["config"]


# ---------------------------------------------------------------------------- the settlement rule


class TestSettlementRule:
    def test_never_pushed_is_refused(self, sim):
        simulator, client = sim
        paid_order(simulator, client)
        tips = settle_tips(client.settle("S1"))
        assert tips == "订单同步状态不是已支付/已核销,禁止分账 order A1 pushed status none"
        assert simulator.state()["settlements"] == {}

    @pytest.mark.parametrize("status", [0, 2, 5, 6, 8])
    def test_a_status_other_than_paid_or_fulfilled_is_refused(self, sim, status):
        simulator, client = sim
        paid_order(simulator, client)
        assert client.push_status("A1", status)["err_code"] == 0
        tips = settle_tips(client.settle("S1"))
        assert tips == f"订单同步状态不是已支付/已核销,禁止分账 order A1 pushed status {status}"

    @pytest.mark.parametrize("status", [1, 4])
    def test_paid_or_fulfilled_may_settle(self, sim, status):
        simulator, client = sim
        paid_order(simulator, client, amount=1000)
        assert client.push_status("A1", status)["err_code"] == 0
        simulator.advance(SETTLE_CYCLE)
        answer = client.settle("S1")
        assert answer["err_no"] == 0, answer
        assert simulator.state()["settlements"]["S1"]["settle_amount"] == 1000

    def test_the_latest_push_decides(self, sim):
        simulator, client = sim
        paid_order(simulator, client)
        simulator.advance(SETTLE_CYCLE)
        client.push_status("A1", 1, update_time=T0 + 10)
        client.push_status("A1", 5, update_time=T0 + 20)  # refund started
        client.push_status("A1", 1, update_time=T0 + 15)  # late and older: ignored
        assert "pushed status 5" in settle_tips(client.settle("S1"))
        client.push_status("A1", 8, update_time=T0 + 30)  # refund failed: still not settleable
        assert "pushed status 8" in settle_tips(client.settle("S2"))
        client.push_status("A1", 1, update_time=T0 + 40)
        assert client.settle("S3")["err_no"] == 0

    def test_unpaid_is_refused_for_that_before_the_sync_rule(self, sim):
        _, client = sim
        client.create_order("A1")
        client.push_status("A1", 1)  # a push alone does not make the ecpay order paid
        tips = settle_tips(client.settle("S1"))
        assert "未支付成功" in tips
        assert "订单同步" not in tips

    def test_a_refused_settle_spends_its_number(self, sim):
        simulator, client = sim
        paid_order(simulator, client)
        simulator.advance(SETTLE_CYCLE)
        settle_tips(client.settle("S1"))
        push_paid(client)
        again = client.settle("S1")
        assert again["err_no"] == 2010
        assert "pushed status none" in again["err_tips"]
        assert "use a new one" in again["err_tips"]
        assert "S1" in simulator.state()["spent_numbers"]["settle"]
        assert client.settle("S2")["err_no"] == 0

    def test_switch_off_allows_settling_unsynced_orders(self, sim):
        simulator, client = sim
        paid_order(simulator, client, no="A1")
        paid_order(simulator, client, no="A2")
        simulator.advance(SETTLE_CYCLE)
        off = client.control("POST", "config", {"require_order_sync": False})
        assert off.status_code == 200
        assert off.json()["require_order_sync"] is False
        assert client.settle("S1", order="A1")["err_no"] == 0
        assert client.control("POST", "config", {"require_order_sync": True}).status_code == 200
        assert "pushed status none" in settle_tips(client.settle("S2", order="A2"))
        assert client.control("POST", "config", {"require_order_sync": "no"}).status_code == 400
        assert simulator.config.require_order_sync is True

    def test_switch_off_at_construction(self, make_sim):
        simulator, client = make_sim(require_order_sync=False)
        paid_order(simulator, client)
        simulator.advance(SETTLE_CYCLE)
        assert client.settle("S1")["err_no"] == 0


# ---------------------------------------------------------------------------- HTTP surface and traffic


class TestTraffic:
    def test_routes(self, sim):
        _, client = sim
        for path in (TOKEN_PATH, PUSH_PATH):
            assert client.http.get(client.base_url + path, timeout=5).status_code == 405
            assert client.http.put(client.base_url + path, json={}, timeout=5).status_code == 405
        # Not ecpay endpoints, whatever the fault injector calls them.
        for name in ("token", "order_push"):
            assert client.raw(name, client.body({})).status_code == 404
        assert client.post("/api/apps/v2/token/", {}).status_code == 404

    def test_err_minus_1_on_order_push_is_not_applied(self, sim):
        _, client = sim
        token = client.access_token()
        armed = client.control("POST", "faults", {"endpoint": "order_push", "mode": "err_-1"})
        assert armed.status_code == 200
        answer = client.push(push_body(token, "A1", 1, T0))
        assert answer["err_code"] == -1
        assert answer["err_msg"].startswith("系统错误")
        assert set(answer) == {"err_code", "err_msg", "body"}
        assert client.control("GET", "orders/A1/sync").status_code == 404
        assert client.push(push_body(token, "A1", 1, T0))["err_code"] == 0  # used up

    def test_err_minus_1_on_token_issues_nothing(self, sim):
        simulator, client = sim
        first = client.access_token()
        simulator.inject_fault("token", "err_-1")
        answer = client.token_answer()
        assert answer["err_no"] == -1
        assert answer["data"] == {}
        assert simulator.state()["access_tokens"]["fetches"] == 1
        simulator.advance(300)
        assert push_with(client, first)["err_code"] == 0  # not superseded

    @pytest.mark.parametrize(("mode", "status"), [("http_500", 500), ("http_503", 503), ("html", 502)])
    def test_http_faults_on_order_push_are_not_applied(self, sim, mode, status):
        simulator, client = sim
        token = client.access_token()
        simulator.inject_fault("order_push", mode)
        assert client.post(PUSH_PATH, push_body(token, "A1", 1, T0)).status_code == status
        assert simulator.state()["order_sync"] == {}

    def test_garbage_on_order_push(self, sim):
        simulator, client = sim
        token = client.access_token()
        simulator.inject_fault("order_push", "garbage")
        response = client.post(PUSH_PATH, push_body(token, "A1", 1, T0))
        assert response.status_code == 200
        with pytest.raises(requests.JSONDecodeError):
            response.json()
        assert simulator.state()["order_sync"] == {}

    def test_accept_then_500_on_order_push_records_it(self, sim):
        simulator, client = sim
        token = client.access_token()
        simulator.inject_fault("order_push", "accept_then_500")
        assert client.post(PUSH_PATH, push_body(token, "A1", 1, T0)).status_code == 500
        assert simulator.sync_record("A1")["status"] == 1

    def test_accept_then_500_on_token_supersedes_the_previous(self, sim):
        simulator, client = sim
        first = client.access_token()
        simulator.inject_fault("token", "accept_then_500")
        body = {"appid": APP_ID, "secret": APP_SECRET, "grant_type": "client_credential"}
        assert client.post(TOKEN_PATH, body).status_code == 500
        simulator.advance(300)
        assert push_with(client, first)["err_code"] == 40002

    def test_timeout_on_order_push_applies_late(self, sim):
        simulator, client = sim
        token = client.access_token()
        simulator.configure(fault_timeout_seconds=0.6)
        simulator.inject_fault("order_push", "timeout")
        with pytest.raises(requests.exceptions.ReadTimeout):
            client.post(PUSH_PATH, push_body(token, "A1", 1, T0), timeout=0.2)
        deadline = time.monotonic() + 3
        while "A1" not in simulator.state()["order_sync"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)

    def test_modes_of_the_other_protocol_are_refused(self, sim):
        simulator, client = sim
        for endpoint, mode in (("order_push", "err_1000"), ("token", "err_1001"), ("create_order", "err_-1")):
            armed = client.control("POST", "faults", {"endpoint": endpoint, "mode": mode})
            assert armed.status_code == 400, (endpoint, mode)
        assert simulator.faults.pending() == []

    def test_a_wildcard_waits_for_an_endpoint_it_fits(self, sim):
        simulator, client = sim
        token = client.access_token()
        simulator.inject_fault("*", "err_-1")
        assert client.create_order("A1")["err_no"] == 0  # no -1 on ecpay
        assert client.push(push_body(token, "A1", 1, T0))["err_code"] == -1
        simulator.inject_fault("*", "err_1000")
        assert client.push(push_body(token, "A1", 1, T0))["err_code"] == 0  # no 1000 on order sync
        assert client.call("query_order", out_order_no="A1")["err_no"] == 1000

    def test_unlimited_unless_a_limit_is_set(self, sim):
        simulator, client = sim
        limits = simulator.state()["config"]["rate_limits"]
        assert limits["token"] is None
        assert limits["order_push"] is None
        token = client.access_token()
        assert all(client.push_status("A1", 1, access_token=token)["err_code"] == 0 for _ in range(40))
        simulator.configure(rate_limits={"order_push": 2})
        codes = [client.push_status("A1", 1, access_token=token)["err_code"] for _ in range(3)]
        assert codes == [0, 0, -1]
