"""Online backup and restore of the embedded SQLite store.

A backup uses SQLite's own backup API, which copies a consistent snapshot while the server keeps
serving and writing. PostgreSQL users use pg_dump/pg_restore (see docs/deploy.md).
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """A backup or restore that cannot be done, with what to do instead."""


def sqlite_path(db_url: str) -> Path:
    url = make_url(db_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise BackupError(
            "backup/restore work on the SQLite store; for PostgreSQL use pg_dump -Fc and pg_restore (docs/deploy.md)"
        )
    return Path(url.database)


def backup(db_url: str, target: Path) -> int:
    """Write a consistent snapshot of the live database to `target`; returns its size in bytes."""
    source = sqlite_path(db_url)
    if not source.exists():
        raise BackupError(f"no database at {source}")
    if target.exists():
        raise BackupError(f"{target} exists; choose a new file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=60)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst, pages=4096)
            ok = dst.execute("PRAGMA integrity_check").fetchone()[0]
            if ok != "ok":
                raise BackupError(f"backup failed its integrity check: {ok}")
        finally:
            dst.close()
    finally:
        src.close()
    partial.replace(target)
    return target.stat().st_size


def restore(backup_file: Path, db_url: str, *, force: bool = False) -> None:
    """Replace the database with a backup (stop the server first)."""
    target = sqlite_path(db_url)
    if not backup_file.exists():
        raise BackupError(f"no backup at {backup_file}")
    conn = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"assets", "edges", "lineage_log", "alembic_version"} <= tables:
            raise BackupError(f"{backup_file} is not a headwater database")
        ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if ok != "ok":
            raise BackupError(f"{backup_file} is damaged: {ok}")
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{backup_file} is not a headwater database ({exc})") from None
    finally:
        conn.close()
    if target.exists() and not force:
        raise BackupError(
            f"{target} exists; pass --force to replace it (the current data is moved to {target}.before-restore)"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        shutil.move(str(target), str(target) + ".before-restore")
        for suffix in ("-wal", "-shm"):
            side = Path(str(target) + suffix)
            if side.exists():
                side.unlink()
    shutil.copyfile(backup_file, target)
