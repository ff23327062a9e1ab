"""WAL checkpoints on a thread of their own (SQLite), so commits do not pay for them.

In WAL mode SQLite appends each commit to the write-ahead log and, by default, the connection
whose commit brings the log past 1,000 pages copies the log back into the database file and
syncs both before its commit returns. Under a burst of OpenLineage events that is every few
hundred events, and the group-commit writer, and every client waiting on it, stalled for each
copy (per group: 4 ms at the median, 15 ms at the 90th percentile).

While a :class:`WalCheckpointer` runs, the store's connections raise that threshold to
:data:`FALLBACK_AUTOCHECKPOINT_PAGES` (a safety net should the thread fall behind), and the thread
runs a PASSIVE checkpoint shortly after writes: it copies what no reader still needs, never
blocks a writer or a reader, and leaves the log to restart from its beginning. Durability is
unchanged: a commit is in the log before it returns, whoever checkpoints it later.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass

log = logging.getLogger(__name__)

# SQLite's own default: what connections use when no checkpointer runs
DEFAULT_AUTOCHECKPOINT_PAGES = 1000
# while one runs, a committing connection checkpoints only past this (40 MB of 4 KB pages)
FALLBACK_AUTOCHECKPOINT_PAGES = 10_000


@dataclass
class SqliteTuning:
    """Per-engine settings the pool applies to each connection it hands out (see
    ``engine.make_engine``): changing them here reaches pooled connections at their next
    checkout."""

    wal_autocheckpoint: int = DEFAULT_AUTOCHECKPOINT_PAGES


class WalCheckpointer:
    """A daemon thread that checkpoints one SQLite database's WAL after writes.

    :meth:`poke` after each write transaction; the thread checkpoints at most once per
    ``interval`` seconds while writes go on, and sleeps while none do."""

    def __init__(self, path: str, tuning: SqliteTuning, *, interval: float = 0.05) -> None:
        self.path = path
        self.tuning = tuning
        self.interval = interval
        self.checkpoints = 0  # PASSIVE checkpoints run (for tests and diagnostics)
        self._poked = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self.tuning.wal_autocheckpoint = FALLBACK_AUTOCHECKPOINT_PAGES
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self.tuning.wal_autocheckpoint = DEFAULT_AUTOCHECKPOINT_PAGES
        self._stop.set()
        self._poked.set()
        thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def poke(self) -> None:
        """Something was committed: checkpoint soon."""
        if not self._poked.is_set():  # set() takes a lock; most pokes find it set already
            self._poked.set()

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        try:
            while not self._stop.is_set():
                self._poked.wait()
                if self._stop.is_set():
                    break
                # let the writes of the next few milliseconds join this checkpoint
                self._stop.wait(self.interval)
                self._poked.clear()
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error as exc:  # e.g. the file went away; commits checkpoint then
                    log.warning("background WAL checkpoint of %s failed: %s", self.path, exc)
                    self._stop.wait(1.0)
        finally:
            conn.close()
