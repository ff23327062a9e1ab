"""Per-statement deadline that really interrupts a runaway parse.

Python threads cannot be killed, and SIGALRM only works in the main thread, so
one shared watchdog thread raises :class:`StatementTimeout` asynchronously in
the thread doing the work (``PyThreadState_SetAsyncExc``). The exception is
delivered at the next bytecode boundary, which sqlglot's parser reaches often.
One watchdog thread serves every caller: arming costs a dict insert, not a thread.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class StatementTimeout(BaseException):
    """Raised inside the worker when its deadline passes (BaseException so ``except Exception`` in
    library code cannot swallow it)."""


class DeadlineExceeded(Exception):
    """What callers of :func:`run_with_deadline` see when the deadline passed."""


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> int:
    obj = ctypes.py_object(exc) if exc is not None else None
    return int(ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), obj))


#: How often the watchdog looks at the deadlines: the resolution of the timeout.
_TICK = 0.05
#: The watchdog thread exits after this long without work (and restarts on demand).
_IDLE_EXIT = 10.0


class _Watchdog:
    """One daemon thread holding the deadlines of all armed calls.

    It polls every ``_TICK`` seconds instead of being woken on each ``arm``:
    waking it per statement handed the GIL over and cost ~1 ms a statement.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[int, tuple[int, float]] = {}
        self._next_key = 0
        self._thread: threading.Thread | None = None
        self._last_used = time.monotonic()

    def arm(self, seconds: float) -> int:
        with self._lock:
            self._next_key += 1
            key = self._next_key
            self._entries[key] = (threading.get_ident(), time.monotonic() + seconds)
            self._last_used = time.monotonic()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="headwater-sql-watchdog", daemon=True)
                self._thread.start()
            return key

    def disarm(self, key: int) -> bool:
        """Remove a deadline; False when it already fired."""
        with self._lock:
            return self._entries.pop(key, None) is not None

    def _run(self) -> None:
        while True:
            time.sleep(_TICK)
            with self._lock:
                now = time.monotonic()
                if not self._entries and now - self._last_used > _IDLE_EXIT:
                    self._thread = None
                    return
                for key, (thread_id, deadline) in list(self._entries.items()):
                    if deadline <= now:
                        del self._entries[key]
                        _set_async_exc(thread_id, StatementTimeout)


_WATCHDOG = _Watchdog()


def run_with_deadline(fn: Callable[[], T], seconds: float | None) -> T:
    """Run ``fn`` in the calling thread; raise :class:`DeadlineExceeded` if it takes longer than
    ``seconds`` (``None`` or <= 0 disables the deadline)."""
    if not seconds or seconds <= 0:
        return fn()
    thread_id = threading.get_ident()
    try:
        key = _WATCHDOG.arm(seconds)
        try:
            return fn()
        finally:
            if not _WATCHDOG.disarm(key):
                # Fired but maybe not yet delivered: clear it so it cannot escape later.
                _set_async_exc(thread_id, None)
    except StatementTimeout:
        raise DeadlineExceeded(f"statement took longer than {seconds:g} s") from None


def _child_main(fn: Callable[[], Any], conn: Any) -> None:
    try:
        conn.send(("ok", fn()))
    except BaseException as exc:  # report every failure to the parent, never hang it
        conn.send(("error", (type(exc).__name__, str(exc))))
    finally:
        conn.close()


def fork_available() -> bool:
    """Whether :func:`run_in_child` can run (needs the ``fork`` start method)."""
    import multiprocessing

    # a daemonic process (e.g. a multiprocessing.Pool worker) may not start children
    return "fork" in multiprocessing.get_all_start_methods() and not multiprocessing.current_process().daemon


def run_in_child(fn: Callable[[], T], seconds: float | None) -> T:
    """Run ``fn`` in a forked child process and kill it at the deadline.

    sqlglot's compiled parser (sqlglotc) holds the GIL and never returns to the
    interpreter while it parses, so neither an async exception nor another
    thread can stop it; only a separate process can be stopped on time. Used for
    large statements, where the fork costs little next to the parse.
    """
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    reader, writer = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_main, args=(fn, writer), daemon=True)
    proc.start()
    writer.close()
    try:
        if not reader.poll(seconds if seconds and seconds > 0 else None):
            raise DeadlineExceeded(f"statement took longer than {seconds:g} s")
        try:
            status, payload = reader.recv()
        except EOFError:
            raise RuntimeError("the worker process died while parsing") from None
    finally:
        reader.close()
        if proc.is_alive():
            proc.kill()
        proc.join()
    if status == "ok":
        return payload  # type: ignore[no-any-return,unused-ignore]
    name, message = payload
    if name == "RecursionError":
        raise RecursionError(message)
    raise ChildError(name, message)


class ChildError(Exception):
    """An exception raised inside :func:`run_in_child`, re-raised in the parent by name."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message
