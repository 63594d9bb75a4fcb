"""The payment secret's cache (secret_cache.py): one GetSecretValue per five minutes, and errors
that say what is wrong with the secret without carrying any of it."""

from __future__ import annotations

import json
import traceback

import pytest

from douyin_pay.bundle.secret_cache import SECRET_MAX_AGE, SecretCache
from douyin_pay.errors import ConfigurationError

SECRET_ID = "arn:aws:secretsmanager:us-east-1:123456789012:secret:payment"
VALUE = {"salt": "s3cr3t-salt-value", "tokens": ["s3cr3t-token-value"]}


class FakeSecretsManager:
    def __init__(self, *answers: dict) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    def get_secret_value(self, *, SecretId: str) -> dict:
        self.asked.append(SecretId)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_fetch_serves_until_the_value_is_five_minutes_old():
    client = FakeSecretsManager(
        {"SecretString": json.dumps(VALUE)}, {"SecretString": json.dumps({**VALUE, "salt": "new"})}
    )
    clock = Clock()
    cache = SecretCache(client, SECRET_ID, clock=clock)
    assert cache.get() == VALUE
    clock.now += SECRET_MAX_AGE - 1
    assert cache.get() == VALUE
    assert client.asked == [SECRET_ID]
    clock.now += 1  # five minutes old: a rotation is picked up
    assert cache.get()["salt"] == "new"
    assert client.asked == [SECRET_ID, SECRET_ID]


def test_clear_makes_the_next_read_fetch():
    client = FakeSecretsManager({"SecretString": json.dumps(VALUE)})
    cache = SecretCache(client, SECRET_ID, clock=Clock())
    cache.get()
    cache.clear()
    cache.get()
    assert len(client.asked) == 2


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"SecretString": "salt=s3cr3t-salt-value"}, "the payment secret is not valid JSON"),
        ({"SecretString": json.dumps(["s3cr3t-token-value"])}, "the payment secret must be a JSON object"),
        ({"SecretBinary": b"s3cr3t-salt-value"}, r"stored as text \(SecretString\), not binary"),
    ],
)
def test_a_bad_secret_is_a_configuration_error_that_carries_none_of_it(answer, message):
    cache = SecretCache(FakeSecretsManager(answer), SECRET_ID, clock=Clock())
    with pytest.raises(ConfigurationError, match=message) as raised:
        cache.get()
    # Neither the message nor anything chained to it (what a logged traceback shows) holds the value.
    shown = "".join(traceback.format_exception(raised.value))
    assert "s3cr3t" not in shown


def test_a_failed_fetch_is_not_cached():
    class Failing(FakeSecretsManager):
        def get_secret_value(self, *, SecretId: str) -> dict:
            self.asked.append(SecretId)
            if len(self.asked) == 1:
                raise ConnectionError("Secrets Manager unavailable")
            return {"SecretString": json.dumps(VALUE)}

    cache = SecretCache(Failing(), SECRET_ID, clock=Clock())
    with pytest.raises(ConnectionError):
        cache.get()
    assert cache.get() == VALUE
