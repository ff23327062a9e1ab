"""The running side of OpenLineage ingestion: group-committed raw appends and a
background translator, shared by the HTTP endpoints and the Kafka/Kinesis consumers.

Many concurrent requests each wait for "durably stored"; committing them one by one
would make the database the bottleneck, so a writer thread commits whatever is queued
in one transaction (group commit) and then wakes every waiting request. Translation
runs behind, in its own thread, from the durable log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from typing import TypeAlias

from sqlalchemy import func, select

from headwater.openlineage.events import AcceptedEvent, OpenLineageEvent
from headwater.openlineage.translate import RAW_KIND_PREFIX, RAW_ROWS_PER_STATEMENT, Translator
from headwater.store import Store
from headwater.store import schema as s

log = logging.getLogger(__name__)

_Events = Sequence[OpenLineageEvent | AcceptedEvent]
# who waits for a group: a thread (concurrent Future) or a coroutine (asyncio Future)
_Waiter: TypeAlias = "Future[int] | asyncio.Future[int]"
_Item: TypeAlias = "tuple[_Events, str, _Waiter]"
# a write submitted or committed this recently means requests are flowing (see _writes_flowing)
_FLOWING_WINDOW = 0.02


def _settle(fut: _Waiter, result: int | BaseException) -> None:
    """Give a waiter its group's outcome: rows added, or the error that failed the group."""
    if isinstance(result, BaseException):
        fut.set_exception(result)
    else:
        fut.set_result(result)


def _resolve_all(results: list[tuple[asyncio.Future[int], int | BaseException]]) -> None:
    """Wake every coroutine of one group commit, on its event loop, in one callback."""
    for fut, result in results:
        if not fut.done():  # done: cancelled, the client went away
            _settle(fut, result)


class IngestService:
    """Durable append (group commit) + asynchronous translation for one store."""

    def __init__(
        self,
        store: Store,
        *,
        translator: Translator | None = None,
        max_batch: int = 2000,
        translate_batch: int = 500,
        busy_translate_batch: int = 100,
        translate_delay: float = 0.05,
        max_yield: float = 0.5,
        max_translate_wait: float = 10.0,
    ) -> None:
        self.store = store
        self.translator = translator or Translator(store)
        self.max_batch = max_batch
        self.translate_batch = translate_batch
        self.busy_translate_batch = busy_translate_batch
        self.translate_delay = translate_delay
        self.max_yield = max_yield
        self.max_translate_wait = max_translate_wait
        self._flow_since: float | None = None  # monotonic start of the current flow of stores
        self._last_store = 0.0  # monotonic time of the writer's last commit
        self._last_submit = 0.0  # monotonic time of the last submission
        self._writing = False  # the writer holds a group (waiting for the lock or committing)
        self._own_checkpointer = False  # start() started the store's WAL checkpointer
        # C-implemented: a put is a few hundred nanoseconds, paid on the event loop per request
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start the writer and translator threads (idempotent)."""
        with self._lock:
            if self._threads:
                return
            self._stop.clear()
            # bursts of appends would otherwise copy the WAL back inside the writer's commits
            self._own_checkpointer = self.store.start_wal_checkpointer()
            for target, name in ((self._writer, "ol-writer"), (self._translator_loop, "ol-translator")):
                t = threading.Thread(target=target, name=name, daemon=True)
                t.start()
                self._threads.append(t)
            self._wake.set()  # translate whatever a previous process left behind

    def stop(self, timeout: float = 10.0) -> None:
        with self._lock:
            threads, self._threads = self._threads, []
        if not threads:
            return
        self._stop.set()
        self._queue.put(None)
        self._wake.set()
        for t in threads:
            t.join(timeout)
        if self._own_checkpointer:
            self._own_checkpointer = False
            self.store.stop_wal_checkpointer()

    @property
    def running(self) -> bool:
        return bool(self._threads)

    # ------------------------------------------------------------------ ingest

    def submit(self, events: _Events, transport: str) -> Future[int]:
        """Queue events for durable storage; the future resolves once they are committed."""
        fut: Future[int] = Future()
        if not self.running:
            try:
                fut.set_result(self.translator.append_raw(events, transport))
            except Exception as exc:
                fut.set_exception(exc)
            self._wake.set()
            return fut
        self._enqueue((events, transport, fut))
        return fut

    async def store_async(self, events: _Events, transport: str) -> int:
        """:meth:`submit` for coroutines: returns rows added once they are committed.

        The writer wakes all the coroutines of one group commit with one callback on their
        event loop, instead of one cross-thread wake-up per request (``wrap_future``), which
        cost the event loop more than accepting the event."""
        if not self.running:
            return await asyncio.wrap_future(self.submit(events, transport))
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._enqueue((events, transport, fut))
        return await fut

    def _enqueue(self, item: _Item) -> None:
        if self._idle.is_set():  # clear() takes a lock: not on every request
            self._idle.clear()
        self._last_submit = time.monotonic()
        self._queue.put(item)

    def store_events(self, events: _Events, transport: str) -> int:
        """Blocking variant of :meth:`submit` for consumers; returns rows actually added."""
        return self.submit(events, transport).result()

    def _writer(self) -> None:
        while not self._stop.is_set():
            first = self._queue.get()
            if first is None:
                break
            self._writing = True
            try:
                self._write_group(first)
            finally:
                self._writing = False

    def _write_group(self, first: _Item) -> None:
        """Store ``first`` and whatever else is queued (up to ``max_batch`` events) in one
        transaction (one statement when they fit), then wake every waiter."""
        items = [first]
        count = len(first[0])
        while count < self.max_batch:
            try:
                nxt = self._queue.get_nowait()
            except queue.Empty:
                break
            if nxt is None:
                self._stop.set()
                break
            items.append(nxt)
            count += len(nxt[0])
        results: list[int | BaseException]
        # a group that fits one INSERT needs no transaction around it (on SQLite that saves the
        # BEGIN and COMMIT calls and their waits for the GIL; a 2xx still follows the commit)
        one_statement = count <= RAW_ROWS_PER_STATEMENT
        try:
            with self.store.write_one_statement() if one_statement else self.store.write() as conn:
                results = list(self.translator.append_groups(conn, [(ev, tp) for ev, tp, _f in items]))
        except Exception as exc:
            log.exception("storing OpenLineage events failed")
            results = [exc] * len(items)
        else:
            self._last_store = time.monotonic()
            self._wake.set()
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[int], int | BaseException]]] = {}
        for (_e, _t, fut), result in zip(items, results, strict=True):
            if isinstance(fut, Future):
                _settle(fut, result)
            else:
                by_loop.setdefault(fut.get_loop(), []).append((fut, result))
        for loop, waiting in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(_resolve_all, waiting)

    # ------------------------------------------------------------------ translate

    def _translator_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(1.0)
            # let a few group commits accumulate: a batch costs ~20 statements and a commit
            # whatever its size, and translating one event at a time starves the request path
            self._stop.wait(self.translate_delay)
            self._wake.clear()
            try:
                while not self._stop.is_set():
                    busy = self._yield_to_writer()
                    n = self.translator.process_pending(
                        self.busy_translate_batch if busy else self.translate_batch
                    )
                    if n == 0:
                        break
                    self._after_translate()
            except Exception:
                log.exception("OpenLineage translation failed; retrying shortly")
                time.sleep(0.5)
                continue
            if self._queue.empty() and self.pending() == 0:
                self._idle.set()

    def _yield_to_writer(self) -> bool:
        """Let stores go first while requests are flowing (a client waits on each store;
        nobody waits on translation). A flow that started less than ``max_translate_wait``
        seconds ago gets the whole machine: on SQLite a translation batch holds the single
        write lock, and on any store it takes the GIL from the event loop, so translating
        during a burst slowed every request of it (benchmarked: stored events/s up by about
        a third when translation waits). Past that, translation takes one short batch per
        ``max_yield`` seconds so it keeps moving under constant load. Returns whether stores
        were flowing, i.e. the next translation batch should be short."""

        flowing = self._writes_flowing
        if not flowing():
            self._flow_since = None
            return False
        now = time.monotonic()
        if self._flow_since is None:
            self._flow_since = now
        deadline = max(now + self.max_yield, self._flow_since + self.max_translate_wait)
        while flowing() and time.monotonic() < deadline and not self._stop.is_set():
            time.sleep(0.01)
        return True

    def _writes_flowing(self) -> bool:
        """Whether stores are under way: one queued, one held by the writer (possibly waiting
        for the write lock, which the translator's batches take on SQLite), or one submitted
        or committed in the last few milliseconds. Checking only the queue and the last
        commit was fooled during a translation batch: the writer had taken the queued
        requests and was blocked on the lock, so the queue looked empty and the last commit
        old, and the translator went on with full-size batches while every client waited."""
        if self._writing or not self._queue.empty():
            return True
        return time.monotonic() - max(self._last_store, self._last_submit) < _FLOWING_WINDOW

    def _after_translate(self) -> None:
        """Hook for the API: refresh read indexes after lineage changed."""

    def pending(self) -> int:
        """Raw events stored but not yet translated."""
        with self.store.read() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(s.raw_events)
                    .where(
                        s.raw_events.c.processed_at.is_(None), s.raw_events.c.kind.like(RAW_KIND_PREFIX + "%")
                    )
                ).scalar_one()
            )

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until everything submitted so far is stored and translated."""
        if not self.running:
            self.translator.drain(self.translate_batch)
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.empty() and self.pending() == 0:
                return True
            self._wake.set()
            time.sleep(0.02)
        return False
