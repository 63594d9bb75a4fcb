"""Each SigV4 example (examples/sigv4/) creates a payment on the local stack and reads it back.

The local gateway does not check SigV4 (tests/contracts/test_sigv4_examples.py checks the
signatures); this shows each example sends a request the API accepts and prints its answer.
"""

from __future__ import annotations

import json

import pytest

from tests.contracts.test_sigv4_examples import COMMANDS, KEYS, run_example


@pytest.mark.parametrize("language", COMMANDS)
def test_example_creates_and_reads_a_payment(language: str, stack) -> None:
    env = {**KEYS, "API_URL": stack.api.url, "AWS_REGION": "us-east-1", "AWS_SESSION_TOKEN": "local-token"}
    no = f"sigv4-{language}-0001"
    order = {"out_order_no": no, "total_amount": 100, "subject": "s", "body": "b"}

    status, body = run_example(language, ["POST", "/payments", json.dumps(order)], env).split("\n", 1)
    assert status == "201", body
    assert json.loads(body)["status"] == "CREATED"

    status, body = run_example(language, ["GET", f"/payments/{no}?refresh=true"], env).split("\n", 1)
    assert status == "200", body
    read = json.loads(body)
    assert (read["out_order_no"], read["total_amount"], read["status"]) == (no, 100, "CREATED")
