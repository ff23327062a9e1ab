"""Persistence behind one interface: SQLite (default, WAL) and PostgreSQL via SQLAlchemy Core."""

from headwater.store.store import (
    ConflictError,
    EdgeWrite,
    InvalidError,
    LogEntry,
    NotFoundError,
    Store,
    StoreError,
    now_ms,
)

__all__ = [
    "ConflictError",
    "EdgeWrite",
    "InvalidError",
    "LogEntry",
    "NotFoundError",
    "Store",
    "StoreError",
    "now_ms",
]
