"""Identity and signature checks: app_id, thirdparty_id and sign, before anything else runs."""

from __future__ import annotations

from tests.local.sim_helpers import _ORDER, PROVIDER, Client

# ---------------------------------------------------------------------------- identity and signature


class TestAuthentication:
    def test_bad_sign_is_2008(self, sim):
        _, client = sim
        body = client.body({"out_order_no": "A1"})
        body["sign"] = "0" * 32
        assert client.raw("query_order", body).json()["err_no"] == 2008

    def test_missing_sign_is_2008(self, sim):
        _, client = sim
        body = client.body({"out_order_no": "A1"})
        del body["sign"]
        assert client.raw("query_order", body).json()["err_no"] == 2008

    def test_tampered_field_and_wrong_salt_are_2008(self, sim):
        _, client = sim
        body = client.body({"out_order_no": "A1", **_ORDER})
        body["total_amount"] = 1
        assert client.raw("create_order", body).json()["err_no"] == 2008
        other = Client(client.base_url, salt="another-salt")
        assert other.create_order("A2")["err_no"] == 2008

    def test_signature_failure_does_not_spend_the_number(self, sim):
        _, client = sim
        assert Client(client.base_url, salt="wrong").create_order("A1")["err_no"] == 2008
        assert client.create_order("A1")["err_no"] == 0

    def test_unknown_app_id_is_2042(self, sim):
        _, client = sim
        stranger = Client(client.base_url, app_id="tt0000000000000000")
        assert stranger.create_order("A1")["err_no"] == 2042
        assert stranger.call("query_order", out_order_no="A1")["err_no"] == 2042
        # The return endpoints document 2020 "illegal app_id" instead (ecpay-spec §3.8).
        assert stranger.call("query_return", out_return_no="T1")["err_no"] == 2020

    def test_provider_mode_requires_thirdparty_id(self, make_sim):
        _, client = make_sim(thirdparty_id=PROVIDER)
        assert client.create_order("A1")["err_no"] == 0
        assert Client(client.base_url).create_order("A2")["err_no"] == 2047  # missing
        assert Client(client.base_url, thirdparty_id="tt-wrong").create_order("A3")["err_no"] == 2047

    def test_thirdparty_id_without_provider_mode_is_2048(self, sim):
        _, client = sim
        assert Client(client.base_url, thirdparty_id=PROVIDER).create_order("A1")["err_no"] == 2048

    def test_float_is_verified_on_its_text_then_refused_as_2010(self, sim):
        _, client = sim
        answer = client.create_order("A1", total_amount=100.5)
        assert answer["err_no"] == 2010
        assert "total_amount" in answer["err_tips"]

    def test_not_json_is_2010(self, sim):
        _, client = sim
        url = f"{client.base_url}/api/apps/ecpay/v1/query_order"
        json_header = {"Content-Type": "application/json"}
        assert client.http.post(url, data=b"{", headers=json_header).json()["err_no"] == 2010
        assert client.http.post(url, json=[1, 2]).json()["err_no"] == 2010
        assert client.http.post(url, data=b"a=b").json()["err_no"] == 2010  # form-encoded
