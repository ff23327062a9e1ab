"""Opening a database: engine settings per backend and bringing the schema up to date."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from headwater.store.checkpoint import SqliteTuning
from headwater.store.logwatch import track_commits

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# SQLite allows one writer at a time; writers in one process queue on this lock instead of on
# SQLite's busy handler, so clients never see "database is locked".
_sqlite_write_locks: dict[str, threading.Lock] = {}


def sqlite_synchronous() -> str:
    """``PRAGMA synchronous`` for SQLite connections: NORMAL (default) or FULL/EXTRA from
    ``HEADWATER_SQLITE_SYNCHRONOUS``.

    In WAL mode NORMAL makes a commit durable against the death of the process (the WAL is
    written before the commit returns; the operating system has it), which is what a 2xx
    of the ingest endpoints promises; a power loss or kernel crash may lose the last
    commits. FULL also fsyncs the WAL at each commit (with group commit, once per batch of
    requests), for deployments that must survive those too."""
    value = os.environ.get("HEADWATER_SQLITE_SYNCHRONOUS", "NORMAL").strip().upper()
    return value if value in ("NORMAL", "FULL", "EXTRA") else "NORMAL"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, pool_size: int = 10, sqlite_tuning: SqliteTuning | None = None) -> Engine:
    """An engine tuned for the backend: WAL + IMMEDIATE write transactions on SQLite, with
    ``sqlite_tuning`` applied to each connection the pool hands out."""
    if is_sqlite(url):
        tuning = sqlite_tuning or SqliteTuning()
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 60},
            pool_size=pool_size,
            max_overflow=20,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={sqlite_synchronous()}")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA foreign_keys=OFF")
            cur.execute("PRAGMA cache_size=-65536")
            cur.close()

        @event.listens_for(engine, "checkout")
        def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
            want = tuning.wal_autocheckpoint
            if record.info.get("wal_autocheckpoint") != want:
                dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={int(want)}")
                record.info["wal_autocheckpoint"] = want

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            if conn.get_execution_options().get("headwater_write"):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")

        return engine
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("postgresql") and "pool_size" not in url:
        engine = create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True)
        track_commits(engine)  # graph indexes skip log queries; they must still see our own writes
        return engine
    return create_engine(url, poolclass=NullPool)


def sqlite_write_lock(url: str) -> threading.Lock | None:
    """The in-process write lock for a SQLite database (None for other backends)."""
    if not is_sqlite(url):
        return None
    return _sqlite_write_locks.setdefault(url, threading.Lock())


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to `revision` (idempotent; safe to call at every start)."""
    with engine.connect().execution_options(headwater_write=True) as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        if current == head and revision == "head":
            return
        if engine.dialect.name == "postgresql":
            # serialise concurrent starts of several servers on one database
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(727274)")
        command.upgrade(alembic_config(conn), revision)
        conn.commit()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
