"""`headwater backup` takes a consistent snapshot while writes go on; `restore` brings it back."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from headwater.config import Settings
from headwater.model import AssetInput, AssetType
from headwater.store import Store

CLI = [sys.executable, "-m", "headwater.cli.main"]


def test_online_backup_and_restore(tmp_path: Path) -> None:
    data = tmp_path / "data"
    url = Settings(data_dir=data).database_url
    data.mkdir()
    store = Store(url)
    store.upsert_assets(
        [AssetInput(type=AssetType.TABLE, fqn=f"s.d.x.t{i}", name=f"t{i}") for i in range(200)]
    )
    stop = threading.Event()

    def keep_writing() -> None:
        i = 0
        while not stop.is_set():
            store.upsert_asset(AssetInput(type=AssetType.TABLE, fqn=f"s.d.x.live{i}", name=f"live{i}"))
            i += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        snap = tmp_path / "snap.db"
        done = subprocess.run(
            [*CLI, "backup", str(snap), "--data-dir", str(data)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    finally:
        stop.set()
        writer.join()
    total_live = store.list_assets(types=["table"], limit=1)[1]
    store.close()

    restored_dir = tmp_path / "restored"
    done = subprocess.run(
        [*CLI, "restore", str(snap), "--data-dir", str(restored_dir)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    again = Store(Settings(data_dir=restored_dir).database_url)
    tables = again.list_assets(types=["table"], limit=1)[1]
    assert 200 <= tables <= total_live
    assert again.get_asset_by_fqn(AssetType.TABLE, "s.d.x.t199") is not None
    again.close()

    # restoring over existing data needs --force and keeps the old file aside
    refused = subprocess.run(
        [*CLI, "restore", str(snap), "--data-dir", str(restored_dir)], capture_output=True, text=True
    )
    assert refused.returncode != 0 and "--force" in refused.stderr
    # a file that is not a headwater database is refused with a clear message
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database")
    bad = subprocess.run(
        [*CLI, "restore", str(junk), "--data-dir", str(tmp_path / "x"), "--force"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "error" in bad.stderr


def test_backup_of_postgres_points_to_pg_dump(tmp_path: Path) -> None:
    done = subprocess.run(
        [*CLI, "backup", str(tmp_path / "x.db"), "--db-url", "postgresql://u@127.0.0.1/x"],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and "pg_dump" in done.stderr
