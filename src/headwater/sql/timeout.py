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
from typing import TypeVar

T = TypeVar("T")


class StatementTimeout(BaseException):
    """Raised inside the worker when its deadline passes (BaseException so ``except Exception`` in
    library code cannot swallow it)."""


class DeadlineExceeded(Exception):
    """What callers of :func:`run_with_deadline` see when the deadline passed."""


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> int:
    obj = ctypes.py_object(exc) if exc is not None else None
    return int(ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), obj))


class _Watchdog:
    """One daemon thread holding the deadlines of all armed calls."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._entries: dict[int, tuple[int, float]] = {}
        self._next_key = 0
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float) -> int:
        with self._cond:
            self._next_key += 1
            key = self._next_key
            self._entries[key] = (threading.get_ident(), time.monotonic() + seconds)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="headwater-sql-watchdog", daemon=True)
                self._thread.start()
            self._cond.notify()
            return key

    def disarm(self, key: int) -> bool:
        """Remove a deadline; False when it already fired."""
        with self._cond:
            return self._entries.pop(key, None) is not None

    def _run(self) -> None:
        with self._cond:
            while True:
                if not self._entries:
                    self._cond.wait()
                    continue
                now = time.monotonic()
                wait = None
                for key, (thread_id, deadline) in list(self._entries.items()):
                    if deadline <= now:
                        del self._entries[key]
                        _set_async_exc(thread_id, StatementTimeout)
                    else:
                        wait = deadline - now if wait is None else min(wait, deadline - now)
                if wait is not None:
                    self._cond.wait(timeout=wait)


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
