"""client_token (trade-spec §2.3) and the trade_basic envelope: the newest-two rule, the 5-minute
grace, 10020, the fetch count, access-token errors, log_id, and the Go-mux paths."""

from __future__ import annotations

import re

import pytest

from tests.local.trade_helpers import APP_ID


def _valid(client, token):
    return client.call("order_query", {"out_order_no": "nope"}, token=token)["err_no"] == 20000


class TestClientToken:
    def test_the_answer(self, trade_sim):
        sim, client = trade_sim
        answer = client.fetch_token()
        assert answer["message"] == "success"
        data = answer["data"]
        assert list(data) == ["access_token", "description", "error_code", "expires_in"]
        assert re.fullmatch(r"clt\.[0-9a-f]{40}", data["access_token"])
        assert data["error_code"] == 0
        assert data["expires_in"] == 7200
        assert sim.token_fetches == 1
        assert sim.state()["client_token"]["fetches"] == 1

    @pytest.mark.parametrize(
        ("overrides", "code"),
        [
            ({"client_secret": "wrong"}, 10013),
            ({"client_key": "tt0000000000000000"}, 10003),
            ({"grant_type": "authorization_code"}, 10002),
            ({"client_secret": ""}, 10002),
            ({"client_key": None}, 10002),
        ],
    )
    def test_errors_are_http_200_with_data_error_code(self, trade_sim, overrides, code):
        sim, client = trade_sim
        answer = client.fetch_token(**overrides)
        assert answer["data"]["error_code"] == code
        assert "access_token" not in answer["data"]
        assert sim.token_fetches == 0

    def test_a_non_json_body_is_a_parameter_error(self, trade_sim):
        _, client = trade_sim
        response = client.http.post(client.base_url + "/oauth/client_token/", data=f"client_key={APP_ID}")
        assert response.status_code == 200
        assert response.json()["data"]["error_code"] == 10002

    def test_only_the_newest_two_are_valid_and_the_previous_dies_five_minutes_later(self, trade_sim):
        sim, client = trade_sim
        a = client.fetch_token()["data"]["access_token"]
        sim.advance(60)
        b = client.fetch_token()["data"]["access_token"]
        assert _valid(client, a)  # within the grace
        assert _valid(client, b)
        sim.advance(299)
        assert _valid(client, a)
        sim.advance(1)  # 5 minutes after b was fetched
        assert client.call("order_query", {"out_order_no": "x"}, token=a)["err_no"] == 28001003
        assert _valid(client, b)
        c = client.fetch_token()["data"]["access_token"]
        d = client.fetch_token()["data"]["access_token"]  # c is now the previous one, b is third
        assert client.call("order_query", {"out_order_no": "x"}, token=b)["err_no"] == 28001003
        assert _valid(client, c)
        assert _valid(client, d)
        assert sim.state()["client_token"]["valid"] == [c, d]
        assert sim.token_fetches == 4

    def test_a_token_expires_after_7200_seconds(self, trade_sim):
        sim, client = trade_sim
        token = client.token
        sim.advance(7199)
        assert _valid(client, token)
        sim.advance(1)
        answer = client.call("order_query", {"out_order_no": "x"}, token=token)
        assert answer["err_no"] == 28001008
        assert answer["_http"] == 200

    def test_more_than_500_fetches_in_five_minutes_is_10020(self, trade_sim):
        sim, client = trade_sim
        for _ in range(500):
            assert client.fetch_token()["data"]["error_code"] == 0
        last_valid = sim.state()["client_token"]["valid"]
        assert client.fetch_token()["data"]["error_code"] == 10020
        assert sim.state()["client_token"]["valid"] == last_valid  # a refused fetch kills nothing
        assert sim.token_fetches == 500
        assert sim.state()["client_token"]["refused"] == 1
        sim.advance(300)
        assert client.fetch_token()["data"]["error_code"] == 0

    def test_the_window_slides(self, make_trade_sim):
        sim, client = make_trade_sim(client_token_rate_limit=3)
        client.fetch_token()
        sim.advance(200)
        client.fetch_token()
        client.fetch_token()
        assert client.fetch_token()["data"]["error_code"] == 10020
        sim.advance(100)  # the first fetch leaves the window
        assert client.fetch_token()["data"]["error_code"] == 0
        assert client.fetch_token()["data"]["error_code"] == 10020


class TestEnvelope:
    @pytest.mark.parametrize("token", ["", "clt.unknown", "0801121846735352506a356a6"])
    def test_a_missing_or_unknown_token_is_28001003(self, trade_sim, token):
        _, client = trade_sim
        response = client.post("order_query", {"out_order_no": "x"}, token=token)
        assert response.status_code == 200
        answer = response.json()
        assert answer["err_no"] == 28001003
        assert answer["err_msg"] == "access_token invalid"
        assert answer["data"] is None
        assert re.fullmatch(r"\d{14}[0-9A-F]{20}", answer["log_id"])

    def test_token_errors_on_settle_create_are_still_http_200(self, trade_sim):
        _, client = trade_sim
        assert client.post("settle_create", {}, token="clt.x").status_code == 200

    def test_every_answer_has_a_fresh_log_id(self, trade_sim):
        _, client = trade_sim
        order_id = client.paid_order()
        answers = [
            client.call("order_query", {"order_id": order_id}),
            client.call("order_query", {"order_id": order_id}),
            client.call("order_query", {}),
            client.call("refund_query", {"order_id": order_id}),
            client.call("settle_query", {"order_id": order_id}),
            client.call("query_cps", {"order_id": order_id}),
            client.call("order_query", {}, token="clt.bad"),
            client.call("settle_create", {}),
        ]
        ids = [a["log_id"] for a in answers]
        assert all(re.fullmatch(r"\d{14}[0-9A-F]{20}", i) for i in ids)
        assert len(set(ids)) == len(ids)
        assert set(answers[0]) == {"err_no", "err_msg", "log_id", "data", "_http"}
        assert answers[0]["err_msg"] == ""  # never rely on "success"

    def test_the_body_must_be_a_json_object(self, trade_sim):
        _, client = trade_sim
        headers = {"access-token": client.token, "Content-Type": "application/json"}
        url = client.base_url + "/api/trade_basic/v1/developer/order_query/"
        assert client.http.post(url, data=b"[1]", headers=headers).json()["err_no"] == 10000
        assert client.http.post(url, data=b"{", headers=headers).json()["err_no"] == 10000
        form = {"access-token": client.token, "Content-Type": "application/x-www-form-urlencoded"}
        assert client.http.post(url, data=b'{"order_id":"x"}', headers=form).json()["err_no"] == 10000

    def test_the_header_name_is_case_insensitive(self, trade_sim):
        _, client = trade_sim
        url = client.base_url + "/api/trade_basic/v1/developer/order_query/"
        headers = {"Access-Token": client.token, "Content-Type": "application/json"}
        assert client.http.post(url, data=b'{"order_id":"x"}', headers=headers).json()["err_no"] == 20000


class TestPaths:
    @pytest.mark.parametrize(
        "path",
        [
            "/api/trade_basic/v1/developer/order_query",  # no trailing slash
            "/api/trade_basic/v1/developer/settle_create",
            "/api/trade_basic/v1/developer/nope/",
            "/api/trade/basic/v1/developer/order/query_cps",  # the AFX mirror's path
            "/oauth/client_token",
            "/api/apps/ecpay/v1/query_order",
        ],
    )
    def test_unknown_paths_are_go_404s(self, trade_sim, path):
        _, client = trade_sim
        response = client.http.post(client.base_url + path, json={}, headers={"access-token": client.token})
        assert response.status_code == 404
        assert response.text == "404 page not found\n"

    def test_other_methods_are_405(self, trade_sim):
        _, client = trade_sim
        assert client.http.get(client.base_url + "/api/trade_basic/v1/developer/order_query/").status_code == 405
        assert client.http.get(client.base_url + "/oauth/client_token/").status_code == 405
