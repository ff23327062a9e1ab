"""Knowing whether the lineage log may have grown, without a query per read (PostgreSQL).

Graph indexes used to ask PostgreSQL for the log head before every read: one loopback round trip,
several times the cost of a typical in-memory traversal. Instead a background thread LISTENs on
`headwater_log` (a trigger NOTIFYs it whenever a statement appends to `lineage_log`, see migration
0500) and counts notifications; a read asks the database only when something may have changed.

What a read that skips the query is guaranteed to see (`LogWatch.token` returns a value only then):

- every write committed by any `Store` of this process before the read began (commits are counted
  in-process, after they complete: `track_commits`);
- every write whose notification has reached this process's socket (unread bytes count as "maybe");
- every write committed before the listener's last confirmation round trip, which is at most
  `window` seconds old (default 50 ms). PostgreSQL signals listeners at commit, before the writer
  gets its answer, and sends pending notifications ahead of the reply to any later query, so that
  round trip proves that nothing older is outstanding.

In practice a notification arrives within about 100 µs of the commit, long before a client can get
another server's answer and send its next request; the confirmation window bounds the rare case of
a listener that has not been scheduled yet. If the listener is not connected (or has not confirmed
recently, e.g. after an idle spell), reads fall back to the exact per-read query.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import select
import threading
import time
from typing import Any

from psycopg.pq import ConnStatus
from sqlalchemy import Engine, event

log = logging.getLogger("headwater.logwatch")

CHANNEL = "headwater_log"
# seconds a listener confirmation is trusted for (see the module docstring); 0 turns the watch
# off, and graph reads ask PostgreSQL for the log head every time
WINDOW = float(os.environ.get("HEADWATER_LOG_WATCH_WINDOW_MS", "50")) / 1000
IDLE_AFTER = 1.0  # seconds without reads after which the listener stops its confirmation pings

# In-process commits, counted after they complete. `next()` on a count is atomic in CPython and
# every value is stored once, so a reader that saw one value sees a different one after any later
# commit (even if two threads store out of order).
_commit_numbers = itertools.count(1)
_last_commit = 0


def last_commit() -> int:
    return _last_commit


def track_commits(engine: Engine) -> None:
    """Count this engine's commits once they are done (when the connection goes back to the pool).

    The `commit` event fires before the COMMIT itself, so it only marks the connection; the
    pool's `checkin`, after the transaction has ended, publishes the new number.
    """

    @event.listens_for(engine, "commit")
    def _mark(conn: Any) -> None:
        with contextlib.suppress(Exception):
            conn.connection.info["headwater_committed"] = True

    @event.listens_for(engine.pool, "checkin")
    def _publish(_dbapi_conn: Any, record: Any) -> None:
        global _last_commit
        if record is not None and record.info.pop("headwater_committed", False):
            _last_commit = next(_commit_numbers)


class LogWatch:
    """A LISTEN connection on its own thread, and a cheap "may the log have changed?" for readers."""

    def __init__(self, engine: Engine, *, window: float = WINDOW) -> None:
        self._engine = engine
        self._window = window
        self._pid = os.getpid()
        self._lock = threading.Lock()  # readers' socket check vs the listener consuming it
        self._gen = 0  # bumped on every notification (and on every (re)connect)
        self._confirmed = float("-inf")  # monotonic send time of the last answered ping
        self._sock = -1
        self._poller: select.poll | None = None
        self._last_read = 0.0
        self._ping_asked = False
        self._pinging = False
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._conn: Any = None
        self._thread = threading.Thread(target=self._run, name="headwater-logwatch", daemon=True)
        self._thread.start()

    # -- readers ------------------------------------------------------------------------------

    def token(self) -> tuple[int, int] | None:
        """A value that differs from any earlier one whenever the log may have changed since;
        None when the listener cannot vouch for the present (then ask the database)."""
        if os.getpid() != self._pid:
            return None  # a forked child: the listener thread and its socket are the parent's
        now = time.monotonic()
        self._last_read = now
        # confirmation first, then the notification count: a confirmation is stored after the
        # notifications that preceded it were counted
        if now - self._confirmed > self._window:
            self._ask_ping()
            return None
        with self._lock:
            poller = self._poller
            # not connected; a ping in flight (psycopg may hold notifications it has read until
            # the reply comes); or unread bytes: maybe news
            if poller is None or self._pinging or poller.poll(0):
                return None
            return (self._gen, _last_commit)

    def _ask_ping(self) -> None:
        if not self._ping_asked:
            self._ping_asked = True
            with contextlib.suppress(OSError):  # the pipe is full: a wake-up is pending anyway
                os.write(self._wake_w, b"p")

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"q")
        self._thread.join(5)
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    # -- the listener thread ------------------------------------------------------------------

    def _run(self) -> None:
        delay = 0.1
        while not self._stop.is_set():
            try:
                self._connect()
                delay = 0.1
                self._listen()
            except Exception as exc:  # the connection broke: readers query until it is back
                if not self._stop.is_set():
                    log.debug("lineage log listener: %s; reconnecting", exc)
            finally:
                self._disconnect()
            self._stop.wait(delay)
            delay = min(delay * 2, 5.0)

    def _connect(self) -> None:
        pooled = self._engine.raw_connection()
        raw = pooled.driver_connection
        pooled.detach()  # ours for good, outside the pool
        raw.autocommit = True  # type: ignore[union-attr]
        raw.add_notify_handler(self._notified)  # type: ignore[union-attr]
        raw.execute(f"LISTEN {CHANNEL}")  # type: ignore[union-attr]
        poller = select.poll()
        poller.register(raw.fileno(), select.POLLIN)  # type: ignore[union-attr]
        with self._lock:
            self._conn = raw
            self._sock = raw.fileno()  # type: ignore[union-attr]
            self._poller = poller
            self._gen += 1  # anything may have happened while we were not listening

    def _disconnect(self) -> None:
        with self._lock:
            raw, self._conn = self._conn, None
            self._poller = None
            self._confirmed = float("-inf")
        if raw is not None:
            with contextlib.suppress(Exception):
                raw.close()

    def _notified(self, _notify: Any) -> None:
        self._gen += 1  # called by psycopg for notifications read during a ping

    def _listen(self) -> None:
        raw = self._conn
        pgconn = raw.pgconn
        every = self._window / 2
        last_ping = float("-inf")
        while not self._stop.is_set():
            now = time.monotonic()
            busy = now - self._last_read < IDLE_AFTER
            timeout = max(0.0, last_ping + every - now) if busy else None
            ready, _, _ = select.select([self._sock, self._wake_r], [], [], timeout)
            if self._wake_r in ready:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_r, 512)
            if self._sock in ready:
                with self._lock:
                    pgconn.consume_input()  # raises when the connection is gone
                    if pgconn.status != ConnStatus.OK:
                        raise ConnectionError("lineage log listener connection lost")
                    got = False
                    while pgconn.notifies() is not None:
                        got = True
                    if got:
                        self._gen += 1
            now = time.monotonic()
            if self._ping_asked or (busy and now - last_ping >= every):
                self._ping_asked = False
                last_ping = now
                answered = False
                with self._lock:
                    self._pinging = True
                try:
                    raw.execute("SELECT 1")  # notifications ahead of the reply reach _notified first
                    answered = True
                finally:
                    with self._lock:
                        self._pinging = False
                        if answered:
                            self._confirmed = now
