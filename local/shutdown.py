"""Signals, exit codes and option types shared by the local commands (``python -m local.stack``, the simulators,
the demo, the load test and the bench).

Exit codes, the same for every command:

* 0 — done (a long-running command: stopped by its first SIGINT or SIGTERM, everything cleaned up);
* 1 — a check failed (the demo's story, the load test's errors, the bench's verdict, a background
  failure of the stack);
* 2 — usage or environment error (a bad option, a busy port, a missing secret);
* 130 / 143 — interrupted by SIGINT / SIGTERM (128 + the signal's number, as a shell reports it).

Why a long-running command waits the way :class:`StopSignals` does: CPython runs a Python signal
handler in the main thread only, but the kernel hands a process-directed signal to *any* thread
that does not block it. The stack has a dozen threads, so a SIGTERM often lands on one of them;
the main thread, blocked in ``Event.wait()`` without a timeout, then never wakes to run the handler
(the old ``python -m local.stack`` ignored about one SIGTERM in ten that way). And a handler that
calls ``Event.set()`` can deadlock: it runs between two bytecodes of the main thread, possibly
inside ``Event.wait`` while that thread holds the event's (non-reentrant) lock. So the handler only
records the signal in a plain attribute, and the main thread sleeps in short steps, checking it.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import time
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

OK = 0
CHECK_FAILED = 1
USAGE = 2
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

# The --help epilogs: a long-running server, and a command that runs to completion.
SERVER_EXIT_CODES = (
    "Exit codes: 0 stopped by the first SIGINT (Ctrl-C) or SIGTERM, everything cleaned up; "
    "2 usage error or a port that is not free; 130/143 a second SIGINT/SIGTERM while stopping."
)


def run_exit_codes(failed: str) -> str:
    return (
        f"Exit codes: 0 ok; 1 {failed}; 2 usage error; 130/143 interrupted by SIGINT (Ctrl-C)/SIGTERM, "
        "after stopping everything it started."
    )


def interrupted_exit_code(signum: int) -> int:
    """What a shell reports for a command a signal ended: 128 + its number (130 SIGINT, 143 SIGTERM)."""
    return 128 + signum


class StopSignals:
    """The first SIGINT or SIGTERM asks the command to stop cleanly; a second one, while it is
    stopping, ends the process at once with 128 + its number.

    Use as a context manager around the whole run (install before starting anything, so that a
    signal during start-up is not lost) and call :meth:`wait` once everything is up.
    """

    def __init__(self, poll_seconds: float = 0.1) -> None:
        self.poll_seconds = poll_seconds
        self.received: int | None = None  # the first signal's number; written by the handler only
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.received is not None:
            # os.write, not print: a handler may run while the main thread is inside print itself.
            os.write(2, f"\n{signal.Signals(signum).name} again: exiting without cleaning up\n".encode())
            os._exit(interrupted_exit_code(signum))
        self.received = signum

    def wait(self) -> int:
        """Block until the first stop signal; its number. Wakes within ``poll_seconds`` whichever
        thread the kernel delivered the signal to."""
        while self.received is None:
            time.sleep(self.poll_seconds)
        return self.received


class Interrupted(BaseException):  # like KeyboardInterrupt: no `except Exception` swallows it
    """SIGTERM in a command that runs to completion: unwinds like Ctrl-C, so ``finally`` blocks stop
    what was started, and the command exits with :func:`interrupted_exit_code`."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_interrupted(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signum)


def terminate_like_interrupt() -> None:
    """For a command that runs to completion (demo, load, bench): SIGTERM unwinds the stack as
    Ctrl-C does (KeyboardInterrupt) instead of killing the process without its clean-up."""
    signal.signal(signal.SIGTERM, _raise_interrupted)


def exit_code_of_interruption(exc: BaseException) -> int:
    if isinstance(exc, Interrupted):
        return interrupted_exit_code(exc.signum)
    return interrupted_exit_code(signal.SIGINT)  # KeyboardInterrupt


def positive[N: (int, float)](kind: type[N]) -> Callable[[str], N]:
    """argparse type of a positive, finite ``int`` or ``float`` option (a speed, seconds, clients)."""

    def parse(text: str) -> N:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a{'n integer' if kind is int else ' number'}: {text!r}") from None
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
        return value

    return parse
