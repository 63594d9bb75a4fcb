"""The local stack's moto server: a port taken between the stack's check and its start is an
OSError from start(), as for the stack's other servers, not a start() that never returns."""

from __future__ import annotations

import errno
import socket
import threading

import pytest
import requests

from local.moto_server import MotoServer
from local.stack import LOOPBACK, LocalStack, StackConfig, StackPorts


def in_time(call, seconds: float = 20.0) -> BaseException | None:
    """What ``call`` raised (None if nothing), failing the test if it has not returned in time."""
    raised: list[BaseException | None] = [None]

    def run():
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            raised[0] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    return raised[0]


@pytest.fixture
def taken_port():
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_a_taken_port_is_raised_from_start(taken_port):
    server = MotoServer(LOOPBACK, taken_port)
    raised = in_time(server.start)
    assert isinstance(raised, OSError)
    assert raised.errno == errno.EADDRINUSE
    server.close()  # nothing bound: nothing to release, and no error


def test_a_free_port_serves_and_close_releases_it():
    server = MotoServer(LOOPBACK, 0)
    server.start()
    host, port = server.get_host_and_port()
    assert requests.get(f"http://{host}:{port}/moto-api/data.json", timeout=10).status_code == 200
    server.close()
    with socket.socket() as again:
        again.bind((LOOPBACK, port))  # free again


def test_the_stack_on_a_taken_aws_port_raises_and_leaves_nothing_running(taken_port):
    before = set(threading.enumerate())
    stack = LocalStack(StackConfig(log_level="CRITICAL", console=False, ports=StackPorts(aws=taken_port)))
    raised = in_time(stack.start)
    assert isinstance(raised, OSError)
    assert raised.errno == errno.EADDRINUSE
    stack.stop()
    assert [t for t in threading.enumerate() if t not in before and t.is_alive()] == []
