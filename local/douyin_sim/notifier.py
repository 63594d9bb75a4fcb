"""Callback delivery: one background thread working through a time-ordered schedule.

The schedule is kept in simulated time. A notice's first attempt is due at its event time plus the
per-type delay; after a failed attempt the next one is due the §6.3 interval later (measured from
the failed attempt), 16 attempts in all, then the notice is given up. Success is HTTP 200 with a
JSON body whose err_no is 0 (§6.2: "Anything else (or a timeout) is treated as failure").

The same thread also asks the platform to apply what became due (refund and settlement
completion), so those callbacks happen without anyone querying. Deliveries are made one at a time
(deterministic order); a receiver that hangs delays the others by at most ``delivery_timeout``.
"""

from __future__ import annotations

import heapq
import ipaddress
import json
import logging
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from .clock import SimClock
from .config import ConfigHolder, SimulatorConfig
from .platform import Notice
from .signatures import callback_signature

log = logging.getLogger(__name__)

# Duplicated deliveries of one notice are spaced this many simulated seconds apart.
DUPLICATE_GAP = 1.0
# The thread re-checks at least this often (real seconds), whatever the clock does.
_MAX_WAIT = 0.25


@dataclass(frozen=True)
class Delivery:
    """One callback attempt, as the platform made it."""

    notice_id: int
    type: str
    url: str  # the notify_url the platform addressed
    delivered_to: str  # after deliver_to rewriting
    body: Mapping[str, str]  # the exact JSON object POSTed; body["msg"] is JSON text
    http_status: int | None  # None: no HTTP answer (refused, timed out, not sent)
    response: str  # the start of the receiver's answer
    ok: bool
    attempt: int  # 1..16 (§6.3)
    copy: int  # 0 = the notice itself, 1.. = configured duplicates
    sim_time: float
    error: str = ""


# (HTTP status or None, start of the answer, accepted?, transport error)
_PostResult = tuple[int | None, str, bool, str]


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    notice: Notice = field(compare=False)
    copy: int = field(compare=False)
    attempt: int = field(compare=False, default=1)


def _rewrite(url: str, deliver_to: Mapping[str, str]) -> str:
    for prefix in sorted(deliver_to, key=len, reverse=True):
        if url.startswith(prefix):
            return deliver_to[prefix].rstrip("/") + url[len(prefix) :]
    return url


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _accepted(response: requests.Response) -> bool:
    if response.status_code != 200:
        return False
    try:
        answer = response.json()
    except ValueError:
        return False
    return isinstance(answer, dict) and type(answer.get("err_no")) is int and answer["err_no"] == 0


class Notifier:
    def __init__(
        self,
        config: ConfigHolder,
        clock: SimClock,
        tick: Callable[[], None],
        next_due: Callable[[], float | None],
    ) -> None:
        self._config = config
        self._clock = clock
        self._tick = tick
        self._next_due = next_due
        self._cond = threading.Condition()
        self._heap: list[_Job] = []
        self._seq = 0
        self._woken = False
        self._log: list[Delivery] = []
        self._dropped: list[dict[str, Any]] = []
        self._exhausted: list[int] = []
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._session: requests.Session | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the notifier was already started")
        self._session = requests.Session()
        self._session.trust_env = False  # never route loopback callbacks through a proxy
        self._thread = threading.Thread(target=self._run, name="douyin-sim-notifier", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._session is not None:
            self._session.close()

    def wake(self) -> None:
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    # ------------------------------------------------------------------ scheduling

    def submit(self, notice: Notice) -> None:
        cfg = self._config.get()
        if cfg.drop == "all" or notice.type in cfg.drop:
            with self._cond:
                self._dropped.append({"notice_id": notice.notice_id, "type": notice.type, "msg": notice.msg})
            return
        first = notice.event_time + cfg.delays.get(notice.type, 0.0)
        with self._cond:
            for copy in range(1 + cfg.duplicates):
                self._push(_Job(first + copy * DUPLICATE_GAP, 0, notice, copy))
            self._woken = True
            self._cond.notify_all()

    def _push(self, job: _Job) -> None:
        self._seq += 1
        job.seq = self._seq
        heapq.heappush(self._heap, job)

    # ------------------------------------------------------------------ observation

    def deliveries(self) -> list[Delivery]:
        with self._cond:
            return list(self._log)

    def wait_for(self, n: int, timeout: float) -> list[Delivery]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._log) >= n, timeout):
                raise TimeoutError(f"{len(self._log)} of {n} callback deliveries after {timeout} s")
            return list(self._log)

    def status(self) -> dict[str, Any]:
        with self._cond:
            return {
                "pending": [self._job_view(j) for j in sorted(self._heap)],
                "dropped": list(self._dropped),
                "given_up": list(self._exhausted),
                "attempts": len(self._log),
            }

    @staticmethod
    def _job_view(job: _Job) -> dict[str, Any]:
        notice = job.notice
        return {"notice_id": notice.notice_id, "type": notice.type, "due": job.due, "attempt": job.attempt}

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._tick()
            except Exception:  # the thread must survive anything a tick may raise
                log.exception("platform tick failed")
            due = self._pop_due(self._clock.now())
            for job in due:
                if self._stopping.is_set():
                    return
                self._attempt(job)
            if not due:
                self._sleep()

    def _pop_due(self, now: float) -> list[_Job]:
        with self._cond:
            due = []
            while self._heap and self._heap[0].due <= now:
                due.append(heapq.heappop(self._heap))
            return due

    def _sleep(self) -> None:
        platform_due = self._next_due()
        with self._cond:
            if not self._woken:
                head = self._heap[0].due if self._heap else None
                times = [t for t in (head, platform_due) if t is not None]
                wait = self._clock.real_seconds_until(min(times)) if times else None
                wait = _MAX_WAIT if wait is None else min(max(wait, 0.001), _MAX_WAIT)
                self._cond.wait(wait)
            self._woken = False

    def _attempt(self, job: _Job) -> None:
        cfg = self._config.get()
        notice = job.notice
        url = notice.notify_url or cfg.default_notify_url or ""
        target = _rewrite(url, cfg.deliver_to) if url else ""
        msg = json.dumps(notice.msg, ensure_ascii=False, separators=(",", ":"))
        # The attempt's time is when it starts; the next retry is due an interval after it.
        started = self._clock.now()
        timestamp = str(int(started))
        nonce = str(secrets.randbelow(9999) + 1)  # ≤4 digits, like "797" or "5280" (§6.1)
        body = {
            "msg": msg,
            "msg_signature": callback_signature(cfg.token, timestamp, nonce, msg),
            "nonce": nonce,
            "timestamp": timestamp,
            "type": notice.type,
        }
        status, answer, ok, error = self._post(cfg, target, body)
        record = Delivery(
            notice_id=notice.notice_id,
            type=notice.type,
            url=url,
            delivered_to=target,
            body=body,
            http_status=status,
            response=answer,
            ok=ok,
            attempt=job.attempt,
            copy=job.copy,
            sim_time=started,
            error=error,
        )
        with self._cond:
            self._log.append(record)
            if not ok:
                if job.attempt <= len(cfg.retry_schedule):
                    interval = cfg.retry_schedule[job.attempt - 1]
                    self._push(_Job(record.sim_time + interval, 0, notice, job.copy, job.attempt + 1))
                else:
                    self._exhausted.append(notice.notice_id)
            self._cond.notify_all()

    def _post(self, cfg: SimulatorConfig, target: str, body: Mapping[str, str]) -> _PostResult:
        if not target:
            return None, "", False, "no notify_url: the request had none and no default_notify_url is set"
        if not cfg.allow_external_delivery and not _is_loopback(target):
            return None, "", False, f"not sent: {target} is not loopback (map it with deliver_to)"
        assert self._session is not None
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        try:
            response = self._session.post(
                target,
                data=data,
                headers={"Content-Type": "application/json", "Connection": "close"},
                timeout=cfg.delivery_timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            return None, "", False, f"{type(exc).__name__}: {exc}"
        return response.status_code, response.text[:200], _accepted(response), ""
