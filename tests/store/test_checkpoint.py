"""SQLite WAL checkpoints on their own thread: commits stop copying the log back, nothing is lost."""

from __future__ import annotations

import time
from pathlib import Path

from headwater.openlineage.service import IngestService
from headwater.store import Store
from headwater.store.checkpoint import DEFAULT_AUTOCHECKPOINT_PAGES, FALLBACK_AUTOCHECKPOINT_PAGES

ROW_BYTES = 100_000
ROWS = 120  # ~12 MB: 3,000 pages, far past SQLite's default checkpoint at 1,000


def _autocheckpoint(store: Store) -> int:
    with store.read() as conn:
        return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


def _append_rows(store: Store, first: int, count: int) -> None:
    for i in range(first, first + count):
        with store.write() as conn:
            conn.exec_driver_sql(
                "INSERT INTO raw_events (received_at, kind, transport, dedup_key, payload) VALUES (?,?,?,?,?)",
                (0, "test", "test", f"k{i}", str(i) * (ROW_BYTES // len(str(i)))),
            )


def test_checkpoints_leave_the_commits_and_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "hw.db"
    store = Store(f"sqlite:///{db}")
    try:
        assert _autocheckpoint(store) == DEFAULT_AUTOCHECKPOINT_PAGES
        assert store.start_wal_checkpointer() is True
        assert store.start_wal_checkpointer() is False  # one per store
        # every connection handed out from now on leaves checkpoints to the thread
        assert _autocheckpoint(store) == FALLBACK_AUTOCHECKPOINT_PAGES
        checkpointer = store._checkpointer
        assert checkpointer is not None
        size_before = db.stat().st_size
        _append_rows(store, 0, ROWS)
        # no commit went past the fallback threshold, so only the thread can have copied the
        # log into the database file
        copied = size_before + ROWS * ROW_BYTES * 0.9
        deadline = time.monotonic() + 10
        while (db.stat().st_size < copied or not checkpointer.checkpoints) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert db.stat().st_size >= copied and checkpointer.checkpoints >= 1
        store.stop_wal_checkpointer()
        assert _autocheckpoint(store) == DEFAULT_AUTOCHECKPOINT_PAGES
        _append_rows(store, ROWS, 10)
    finally:
        store.close()
    # everything committed is there, read by a new process's store
    reopened = Store(f"sqlite:///{db}", run_migrations=False)
    try:
        with reopened.read() as conn:
            rows = conn.exec_driver_sql(
                "SELECT count(*), sum(length(payload)) FROM raw_events WHERE kind = 'test'"
            ).one()
        assert rows[0] == ROWS + 10
        assert rows[1] == sum(len(str(i) * (ROW_BYTES // len(str(i)))) for i in range(ROWS + 10))
    finally:
        reopened.close()


def test_the_ingest_service_runs_the_checkpointer_while_it_runs(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'hw.db'}")
    service = IngestService(store)
    try:
        service.start()
        assert store._checkpointer is not None and store._checkpointer.running
        assert _autocheckpoint(store) == FALLBACK_AUTOCHECKPOINT_PAGES
        service.stop()
        assert store._checkpointer is None
        assert _autocheckpoint(store) == DEFAULT_AUTOCHECKPOINT_PAGES
    finally:
        service.stop()
        store.close()
