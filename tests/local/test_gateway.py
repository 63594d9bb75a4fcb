"""The local stack's front doors (local/gateway.py) as HTTP/1.1 servers: an answer to a request that
asked to close its connection says so, so the client's pool does not keep a connection the server
is closing (its next request would race that close: under load the simulators' next delivery failed
with RemoteDisconnected and counted as a callback we did not answer)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from local.gateway import HttpFront, function_url


class Recorder:
    """Stands in for local.functions.Functions: answers every event, or crashes when told to."""

    def __init__(self) -> None:
        self.fail = False

    def invoke(self, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
        if self.fail:
            raise RuntimeError("the handler crashed")
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": '{"err_no":0}'}


@pytest.fixture
def front() -> Iterator[tuple[HttpFront, Recorder]]:
    functions = Recorder()
    served = function_url(functions).start()  # type: ignore[arg-type]
    try:
        yield served, functions
    finally:
        served.stop()


def will_close(response: requests.Response) -> bool:
    """Whether http.client, under requests' pool, was told the server closes this connection."""
    return response.raw._original_response.will_close  # what the pool decides by


@pytest.mark.parametrize("crash", [False, True], ids=["answer", "502"])
def test_an_answer_to_connection_close_says_close(front, crash):
    served, functions = front
    functions.fail = crash
    with requests.Session() as session:
        response = session.post(served.url + "/", data=b"{}", headers={"Connection": "close"}, timeout=10)
    assert response.status_code == (502 if crash else 200)
    assert response.headers["connection"] == "close"
    assert will_close(response) is True


def test_a_keep_alive_request_keeps_its_connection(front):
    served, _ = front
    with requests.Session() as session:
        first = session.post(served.url + "/", data=b"{}", timeout=10)
        second = session.post(served.url + "/", data=b"{}", timeout=10)
    assert "connection" not in first.headers
    assert will_close(first) is False
    assert second.status_code == 200
