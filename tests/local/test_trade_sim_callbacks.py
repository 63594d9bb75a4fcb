"""Callback delivery (trade-spec §5): the §5.4 retry schedules, re-signing, what counts as an
acknowledgement, duplicates, delays, drops, the delivery log, and platform key rotation."""

from __future__ import annotations

import itertools
import json
import time

import pytest

from local.trade_sim.config import RETRY_SCHEDULES
from tests.local.trade_helpers import APP_KEY_2, PLATFORM_KEY, default_answer, public_pem, verifies


def _fail(*types, status=500, body=b"oops"):
    def answer(received):
        if received.body["type"] in types:
            return status, body
        return default_answer(received)

    return answer


def _attempts(sim, type_, n):
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = [d for d in sim.deliveries() if d.type == type_]
        if len(found) >= n:
            return found
        time.sleep(0.005)
    raise AssertionError(f"fewer than {n} {type_} attempts: {len([d for d in sim.deliveries() if d.type == type_])}")


def _trigger(sim, client, type_):
    """Make one notice of the type; return the sim time its first attempt is due."""
    order_id = client.paid_order()
    if type_ == "payment":
        return client.now() + 1
    if type_ == "refund":
        client.refund(order_id, "R1", 100)
        return client.now() + 3 + 10
    client.call("settle_create", {"out_order_no": "O1", "out_settle_no": "S1", "settle_desc": "d"})
    return client.now() + 3 + 5


class TestRetrySchedules:
    def test_the_documented_schedules(self):
        assert RETRY_SCHEDULES["payment"] == (12, 12, 33, 60, 120, 180, 240, 300, 360, 420)
        assert RETRY_SCHEDULES["pre_create_refund"] == (600,) * 432  # every 10 min for 72 h
        assert sum(RETRY_SCHEDULES["pre_create_refund"]) == 72 * 3600
        assert len(RETRY_SCHEDULES["refund"]) == 10
        assert len(RETRY_SCHEDULES["settle"]) == 10

    @pytest.mark.parametrize("type_", ["payment", "refund", "settle"])
    def test_failed_callbacks_follow_the_schedule_then_stop(self, trade_sim, trade_receiver, type_):
        sim, client = trade_sim
        trade_receiver.answer = _fail(type_)
        first = _trigger(sim, client, type_)
        sim.advance(first - client.now())
        schedule = RETRY_SCHEDULES[type_]
        for i, interval in enumerate(schedule, start=1):
            _attempts(sim, type_, i)
            if i <= 2:  # not a second early
                sim.advance(interval - 1)
                time.sleep(0.05)
                assert len([d for d in sim.deliveries() if d.type == type_]) == i
                sim.advance(1)
            else:
                sim.advance(interval)
        attempts = _attempts(sim, type_, len(schedule) + 1)
        assert [d.attempt for d in attempts] == list(range(1, len(schedule) + 2))
        gaps = [b.sim_time - a.sim_time for a, b in itertools.pairwise(attempts)]
        assert gaps == list(schedule)
        assert all(not d.ok and d.http_status == 500 for d in attempts)
        notice_id = attempts[0].notice_id
        sim.advance(max(schedule) * 2)
        time.sleep(0.1)
        assert len([d for d in sim.deliveries() if d.type == type_]) == len(schedule) + 1
        assert notice_id in sim.state()["callbacks"]["given_up"]

    def test_a_success_stops_the_retries(self, trade_sim, trade_receiver):
        sim, client = trade_sim
        trade_receiver.answer = _fail("payment")
        _trigger(sim, client, "payment")
        sim.advance(1)
        _attempts(sim, "payment", 1)
        trade_receiver.answer = default_answer
        sim.advance(12)
        second = _attempts(sim, "payment", 2)[1]
        assert second.ok
        sim.advance(3600)
        time.sleep(0.1)
        assert len(sim.deliveries()) == 2
        assert sim.state()["callbacks"]["pending"] == []


class TestAcknowledgement:
    @pytest.mark.parametrize(
        ("status", "body"),
        [
            (200, b"success"),  # not JSON
            (200, b'{"err_no":"0","err_tips":"success"}'),  # err_no a string
            (200, b'{"err_no":1,"err_tips":"busy"}'),
            (200, b'{"err_tips":"success"}'),
            (200, b"[0]"),
            (201, b'{"err_no":0,"err_tips":"success"}'),
            (204, b""),
        ],
    )
    def test_anything_but_200_with_err_no_0_is_a_failure(self, trade_sim, trade_receiver, status, body):
        sim, client = trade_sim
        trade_receiver.answer = _fail("payment", status=status, body=body)
        _trigger(sim, client, "payment")
        sim.advance(1)
        (delivery,) = _attempts(sim, "payment", 1)
        assert not delivery.ok
        assert delivery.error
        assert delivery.http_status == status
        assert sim.state()["callbacks"]["pending"][0]["attempt"] == 2

    def test_an_unreachable_receiver_is_a_failure(self, make_trade_sim):
        sim, client = make_trade_sim(deliver_to={"https://callback.localhost": "http://127.0.0.1:9"})
        _trigger(sim, client, "payment")
        sim.advance(1)
        (delivery,) = _attempts(sim, "payment", 1)
        assert delivery.http_status is None
        assert "ConnectionError" in delivery.error

    def test_external_targets_are_never_contacted(self, make_trade_sim):
        sim, client = make_trade_sim(deliver_to={}, default_notify_url="https://merchant.example.com/notify")
        _trigger(sim, client, "payment")
        sim.advance(1)
        (delivery,) = _attempts(sim, "payment", 1)
        assert delivery.http_status is None
        assert "not loopback" in delivery.error


class TestSigning:
    def test_retries_are_re_signed_by_default(self, trade_sim, trade_receiver):
        sim, client = trade_sim
        trade_receiver.answer = _fail("payment")
        _trigger(sim, client, "payment")
        sim.advance(1)
        _attempts(sim, "payment", 1)
        sim.advance(12)
        first, second = trade_receiver.wait(2)
        assert first.raw == second.raw
        assert int(second.headers["Byte-Timestamp"]) - int(first.headers["Byte-Timestamp"]) == 12
        assert first.headers["Byte-Nonce-Str"] != second.headers["Byte-Nonce-Str"]
        assert first.headers["Byte-Eventid"] == second.headers["Byte-Eventid"]  # the same event
        assert verifies(first, public_pem(PLATFORM_KEY))
        assert verifies(second, public_pem(PLATFORM_KEY))

    def test_retries_can_resend_the_first_signature(self, make_trade_sim, trade_receiver):
        sim, client = make_trade_sim(resign_retries=False)
        trade_receiver.answer = _fail("payment")
        _trigger(sim, client, "payment")
        sim.advance(1)
        _attempts(sim, "payment", 1)
        sim.advance(12)
        first, second = trade_receiver.wait(2)
        for header in ("Byte-Timestamp", "Byte-Nonce-Str", "Byte-Signature"):
            assert first.headers[header] == second.headers[header]
        assert verifies(second, public_pem(PLATFORM_KEY))

    def test_platform_key_rotation(self, trade_sim, trade_receiver):
        sim, client = trade_sim
        old = public_pem(PLATFORM_KEY)
        new = client.control("keys/platform/rotate").json()["public_key"]
        assert new != old
        assert sim.platform_public_key_pem == new
        assert client.http.get(client.base_url + "/_sim/keys/platform").json() == {"public_key": new}
        _trigger(sim, client, "payment")
        sim.advance(1)
        (received,) = trade_receiver.wait(1)
        assert verifies(received, new)
        assert not verifies(received, old)

    def test_a_retry_after_rotation_uses_the_new_key(self, trade_sim, trade_receiver):
        sim, client = trade_sim
        trade_receiver.answer = _fail("payment")
        _trigger(sim, client, "payment")
        sim.advance(1)
        _attempts(sim, "payment", 1)
        new = sim.rotate_platform_key()
        sim.advance(12)
        first, second = trade_receiver.wait(2)
        assert verifies(first, public_pem(PLATFORM_KEY))
        assert verifies(second, new)
        assert not verifies(second, public_pem(PLATFORM_KEY))

    def test_a_rotation_can_install_a_given_key(self, trade_sim):
        _, client = trade_sim

        answer = client.control("keys/platform/rotate", {"private_key": APP_KEY_2})
        assert answer.json()["public_key"] == public_pem(APP_KEY_2)
        assert client.control("keys/platform/rotate", {"private_key": "nope"}).status_code == 400


class TestInjection:
    def test_duplicates(self, make_trade_sim, trade_receiver):
        sim, client = make_trade_sim(duplicates=2)
        _trigger(sim, client, "payment")
        sim.advance(3)
        received = trade_receiver.wait(3)
        assert len({r.raw for r in received}) == 1
        assert len({r.headers["Byte-Eventid"] for r in received}) == 1
        assert sorted(d.copy for d in _attempts(sim, "payment", 3)) == [0, 1, 2]

    def test_delays(self, make_trade_sim, trade_receiver):
        sim, client = make_trade_sim(delays={"payment": 30})
        _trigger(sim, client, "payment")
        sim.advance(29)
        time.sleep(0.1)
        assert trade_receiver.received == []
        sim.advance(1)
        trade_receiver.wait(1)

    def test_drops(self, make_trade_sim, trade_receiver):
        sim, client = make_trade_sim(drop=frozenset({"payment"}))
        order_id = client.paid_order()
        sim.advance(60)
        time.sleep(0.1)
        assert trade_receiver.received == []
        (dropped,) = sim.state()["callbacks"]["dropped"]
        assert dropped["msg"]["order_id"] == order_id
        sim.configure(drop="all")
        client.refund(order_id, "R1", 100)
        sim.advance(60)
        time.sleep(0.1)
        assert trade_receiver.received == []
        assert len(sim.state()["callbacks"]["dropped"]) == 2

    def test_the_delivery_log_over_http(self, trade_sim, trade_receiver):
        sim, client = trade_sim
        trade_receiver.answer = _fail("payment", status=503, body=b"busy")
        _trigger(sim, client, "payment")
        sim.advance(1)
        _attempts(sim, "payment", 1)
        (entry,) = client.http.get(client.base_url + "/_sim/deliveries").json()
        assert entry["type"] == "payment"
        assert entry["attempt"] == 1
        assert entry["http_status"] == 503
        assert entry["response"] == "busy"
        assert entry["ok"] is False
        assert json.loads(entry["body"])["version"] == "3.0"
        assert entry["headers"]["Byte-Identifyname"] == "/msg/basic/payment/notify"
