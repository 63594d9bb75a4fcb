"""Store.transact: conflicts with a concurrent transaction are retried a bounded number of times;
any other cancellation is raised at once with the reasons per action."""

from __future__ import annotations

import pytest

from douyin_pay.bundle.store import Store, TransactionFailed


class Canceled(Exception):
    def __init__(self, codes: list[str]) -> None:
        super().__init__("cancelled")
        self.response = {"CancellationReasons": [{"Code": c} for c in codes]}


class FakeClient:
    """Answers transact_write_items from a script of cancellations (None = success)."""

    class exceptions:  # mirrors boto3's client.exceptions namespace
        TransactionCanceledException = Canceled

    def __init__(self, script: list[list[str] | None]) -> None:
        self.script = script
        self.calls = 0

    def transact_write_items(self, TransactItems):  # boto3's parameter name
        codes = self.script[self.calls]
        self.calls += 1
        if codes is not None:
            raise Canceled(codes)


CONFLICT = ["None", "TransactionConflict"]


def test_conflicts_are_retried_up_to_the_bound():
    client = FakeClient([CONFLICT, CONFLICT, None])
    Store("t", client).transact([{}], conflict_retries=2)
    assert client.calls == 3


def test_conflicts_past_the_bound_are_raised():
    client = FakeClient([CONFLICT, CONFLICT, CONFLICT])
    with pytest.raises(TransactionFailed) as info:
        Store("t", client).transact([{}], conflict_retries=2)
    assert info.value.conflict
    assert client.calls == 3


def test_no_retry_by_default_and_condition_failures_are_never_retried():
    client = FakeClient([CONFLICT])
    with pytest.raises(TransactionFailed):
        Store("t", client).transact([{}])
    assert client.calls == 1
    client = FakeClient([["ConditionalCheckFailed", "None"], None])
    with pytest.raises(TransactionFailed) as info:
        Store("t", client).transact([{}, {}], conflict_retries=2)
    assert client.calls == 1
    assert info.value.condition_failed(0)
    assert not info.value.condition_failed(1)
    assert not info.value.condition_failed(5)
    assert info.value.item(1) is None
