"""Callback delivery: one background thread working through a time-ordered schedule.

The schedule is kept in simulated time. A notice's first attempt is due at its event time plus
the per-type delay; after a failed attempt the next one is due the type's §5.4 interval later
(measured from the failed attempt); when the schedule runs out the notice is given up.

Success is HTTP 200 with a JSON body whose ``err_no`` is the integer 0 (§5.3). A
pre_create_refund reply must also carry ``data.out_refund_no``, and the platform must accept it
(unique within the app); otherwise the attempt failed and is retried.

Each attempt POSTs ``{"version":"3.0","msg":"<JSON string>","type":…}`` with the Byte-* headers;
Byte-Signature is SHA256withRSA over ``ts\\nnonce\\nbody\\n`` with the platform key current at that
moment. Retries are re-signed with a fresh timestamp and nonce unless ``resign_retries`` is off.

The same thread asks the platform to apply what became due (expiry, completion, time-outs), so
those callbacks happen without anyone querying. Deliveries go one at a time (deterministic order).
"""

from __future__ import annotations

import heapq
import ipaddress
import json
import logging
import secrets
import string
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from local.douyin_sim.clock import SimClock

from . import crypto
from .config import ConfigHolder, TradeSimulatorConfig
from .platform import IDENTIFY_NAMES
from .records import Notice, log_id

log = logging.getLogger(__name__)

DUPLICATE_GAP = 1.0  # simulated seconds between duplicated deliveries of one notice
_MAX_WAIT = 0.25  # the thread re-checks at least this often (real seconds)
_NONCE_ALPHABET = string.ascii_letters + string.digits
RESPONSE_KEEP = 2000  # characters of each reply kept in the delivery log


@dataclass(frozen=True)
class Delivery:
    """One callback attempt, as the platform made it."""

    notice_id: int
    type: str
    url: str  # the URL the platform addressed
    delivered_to: str  # after deliver_to rewriting
    headers: Mapping[str, str]
    body: str  # the exact body POSTed (UTF-8)
    http_status: int | None  # None: no HTTP answer (refused, timed out, not sent)
    response: str  # the start of the receiver's answer
    ok: bool
    attempt: int  # 1, 2, …
    copy: int  # 0 = the notice itself, 1.. = configured duplicates
    sim_time: float
    error: str = ""  # transport error, or why a 200 answer did not count


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    notice: Notice = field(compare=False)
    copy: int = field(compare=False)
    attempt: int = field(compare=False, default=1)
    signed: tuple[str, str, str] | None = field(compare=False, default=None)  # (ts, nonce, sig)


@dataclass(frozen=True)
class _Answer:
    status: int | None
    text: str
    json: Any
    error: str


def rewrite(url: str, deliver_to: Mapping[str, str]) -> str:
    for prefix in sorted(deliver_to, key=len, reverse=True):
        if url.startswith(prefix):
            return deliver_to[prefix].rstrip("/") + url[len(prefix) :]
    return url


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def callback_body(notice: Notice) -> bytes:
    """The exact body bytes: compact JSON, ``msg`` double-encoded as a JSON string (§5.1)."""
    msg = json.dumps(notice.msg, ensure_ascii=False, separators=(",", ":"))
    envelope = {"version": "3.0", "msg": msg, "type": notice.type}
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Notifier:
    def __init__(
        self,
        config: ConfigHolder,
        clock: SimClock,
        tick: Callable[[], None],
        next_due: Callable[[], float | None],
        on_reply: Callable[[Notice, Any], str],
        still_wanted: Callable[[Notice], bool],
    ) -> None:
        self._config = config
        self._clock = clock
        self._tick = tick
        self._next_due = next_due
        self._on_reply = on_reply
        self._still_wanted = still_wanted
        self._cond = threading.Condition()
        self._heap: list[_Job] = []
        self._seq = 0
        self._woken = False
        self._log: list[Delivery] = []
        self._dropped: list[dict[str, Any]] = []
        self._not_sent: list[dict[str, Any]] = []
        self._exhausted: list[int] = []
        self._obsolete: list[int] = []
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._session: requests.Session | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the notifier was already started")
        self._session = requests.Session()
        self._session.trust_env = False  # never route loopback callbacks through a proxy
        self._thread = threading.Thread(target=self._run, name="trade-sim-notifier", daemon=True)
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
        entry = {"notice_id": notice.notice_id, "type": notice.type, "msg": dict(notice.msg)}
        if cfg.drop == "all" or notice.type in cfg.drop:
            with self._cond:
                self._dropped.append(entry)
            return
        if not notice.url:
            reason = "no solution-configured callback URL: a payNotifyUrl / notify_url alone is ignored (§9.4)"
            with self._cond:
                self._not_sent.append({**entry, "reason": reason})
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
                "pending": [
                    {"notice_id": j.notice.notice_id, "type": j.notice.type, "due": j.due, "attempt": j.attempt}
                    for j in sorted(self._heap)
                ],
                "dropped": list(self._dropped),
                "not_sent": list(self._not_sent),
                "given_up": list(self._exhausted),
                "obsolete": list(self._obsolete),
                "attempts": len(self._log),
            }

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
                try:
                    self._attempt(job)
                except Exception:  # a bug in one attempt must not stop every later callback
                    log.exception("callback attempt failed")
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

    def _sign(self, cfg: TradeSimulatorConfig, job: _Job, body: bytes, started: float) -> tuple[str, str, str]:
        if job.signed is not None and not cfg.resign_retries:
            return job.signed
        timestamp = str(int(started))
        nonce = "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(32))
        assert cfg.platform_private_key_pem is not None
        signature = crypto.sign(cfg.platform_private_key_pem, crypto.callback_message(timestamp, nonce, body))
        return timestamp, nonce, signature

    def _attempt(self, job: _Job) -> None:
        notice = job.notice
        if not self._still_wanted(notice):
            with self._cond:
                self._obsolete.append(notice.notice_id)
            return
        cfg = self._config.get()
        body = callback_body(notice)
        started = self._clock.now()
        job.signed = self._sign(cfg, job, body, started)
        timestamp, nonce, signature = job.signed
        identify = IDENTIFY_NAMES[notice.type]
        headers = {
            "Content-Type": "application/json",
            "Byte-Timestamp": timestamp,
            "Byte-Nonce-Str": nonce,
            "Byte-Signature": signature,
            "Byte-Logid": log_id(started),
            "Byte-Identifyname": identify,
            "Byte-Eventid": f"basic_industry_{identify}_{cfg.app_id}_{notice.event_name}_{notice.subject_id}",
            "Byte-Env": "prod",
            "User-Agent": "Go-http-client/1.1",
        }
        target = rewrite(notice.url, cfg.deliver_to)
        answer = self._post(cfg, target, body, headers)
        ok, error = self._judge(notice, answer)
        record = Delivery(
            notice_id=notice.notice_id,
            type=notice.type,
            url=notice.url,
            delivered_to=target,
            headers=headers,
            body=body.decode("utf-8"),
            http_status=answer.status,
            response=answer.text[:RESPONSE_KEEP],
            ok=ok,
            attempt=job.attempt,
            copy=job.copy,
            sim_time=started,
            error=error,
        )
        schedule = cfg.retry_schedules.get(notice.type, ())
        with self._cond:
            self._log.append(record)
            if not ok:
                if job.attempt <= len(schedule):
                    interval = schedule[job.attempt - 1]
                    retry = _Job(started + interval, 0, notice, job.copy, job.attempt + 1, job.signed)
                    self._push(retry)
                else:
                    self._exhausted.append(notice.notice_id)
            self._cond.notify_all()

    def _judge(self, notice: Notice, answer: _Answer) -> tuple[bool, str]:
        if answer.error:
            return False, answer.error
        if answer.status != 200:
            return False, f"HTTP {answer.status}: only 200 counts"
        reply = answer.json
        if not isinstance(reply, dict) or type(reply.get("err_no")) is not int:
            return False, 'the reply is not a JSON object with an integer "err_no"'
        if reply["err_no"] != 0:
            return False, f"err_no {reply['err_no']} is a failure"
        if notice.type == "pre_create_refund":
            refused = self._on_reply(notice, reply)
            if refused:
                return False, f"reply refused: {refused}"
        return True, ""

    def _post(self, cfg: TradeSimulatorConfig, target: str, body: bytes, headers: Mapping[str, str]) -> _Answer:
        if not cfg.allow_external_delivery and not is_loopback(target):
            return _Answer(None, "", None, f"not sent: {target} is not loopback (map it with deliver_to)")
        assert self._session is not None
        try:
            response = self._session.post(
                target,
                data=body,
                headers={**headers, "Connection": "close"},
                timeout=cfg.delivery_timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            return _Answer(None, "", None, f"{type(exc).__name__}: {exc}")
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        return _Answer(response.status_code, response.text, parsed, "")
