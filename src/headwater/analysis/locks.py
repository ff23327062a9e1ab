"""A lock held across every server process on one database (PostgreSQL advisory lock), or within
the one process that owns a SQLite file, for background work that must not run twice at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from headwater.store import Store

_LOCAL: dict[tuple[str, int], threading.Lock] = {}
_LOCAL_GUARD = threading.Lock()


def _local(store: Store, key: int) -> threading.Lock:
    with _LOCAL_GUARD:
        return _LOCAL.setdefault((store.url, key), threading.Lock())


@contextmanager
def cluster_lock(store: Store, key: int, *, wait: bool = True) -> Iterator[bool]:
    """Hold lock `key` for the block; yields whether it was got (always True with `wait`).

    On PostgreSQL a session advisory lock on a connection kept for the block: released at the end,
    or by the server if this process dies. A process-local lock is taken first in both cases, so
    threads of one process queue here rather than on database connections.
    """
    local = _local(store, key)
    if not local.acquire(blocking=wait):
        yield False
        return
    try:
        if store.dialect != "postgresql":
            yield True
            return
        with store.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            if wait:
                conn.exec_driver_sql(f"SELECT pg_advisory_lock({int(key)})")
                got = True
            else:
                got = bool(conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({int(key)})").scalar())
            try:
                yield got
            finally:
                if got:
                    conn.exec_driver_sql(f"SELECT pg_advisory_unlock({int(key)})")
    finally:
        local.release()
