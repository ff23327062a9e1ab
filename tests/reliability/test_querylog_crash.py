"""A query-log workflow killed with SIGKILL mid-run, several times, then re-run to the end, leaves
exactly the catalog one uninterrupted run leaves: the same assets (partial ones included) and the
same edges with the same details, nothing lost and nothing duplicated. Both sinks: straight into the
store (``--db-url``) and through a server's API (the default ``metadata-rest`` sink).
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from bench.query_log import make_queries, seed, warehouse, write_log
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from headwater.store import Store, schema
from tests.helpers import live_server, postgres_database, report_figure

CLI = [sys.executable, "-m", "headwater.cli.main"]
KILLS = 4
TABLES, ETL, SELECTS, ROWS = 400, 2000, 300, 20_000
#: details keys that record when/by whom a write happened, not what it says
_WHEN = {"createdAt", "updatedAt", "createdBy", "updatedBy"}


@contextmanager
def _reference_db(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A second, empty database of the same kind for the uninterrupted run."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'reference.db'}"
    else:
        with postgres_database() as url:
            yield url


def _workflow(path: Path, log: Path, server: str | None = None, token: str | None = None) -> Path:
    wf = {
        "source": {
            "type": "query-log-lineage",
            "serviceName": "wh",
            "serviceConnection": {"config": {"type": "Snowflake"}},
            "sourceConfig": {
                "config": {
                    "type": "DatabaseLineage",
                    "queryLogFilePath": str(log),
                    "createPartialAssets": True,
                }
            },
        },
        "sink": {"type": "metadata-rest", "config": {}},
        "workflowConfig": {
            "openMetadataServerConfig": {
                "hostPort": f"{server or 'http://127.0.0.1:1'}/api",
                "authProvider": "openmetadata",
                "securityConfig": {"jwtToken": token or "none"},
            }
        },
    }
    path.write_text(yaml.safe_dump(wf, sort_keys=False))
    return path


def _counts(store: Store) -> int:
    with store.read() as conn:
        assets = conn.execute(select(func.count()).select_from(schema.assets)).scalar_one()
        details = conn.execute(select(func.count()).select_from(schema.edge_details)).scalar_one()
    return int(assets) + int(details)


def snapshot(url: str) -> tuple[set[tuple[Any, ...]], dict[tuple[str, str, str], dict[str, Any]], int]:
    """(assets as (type, fqn, partial, deleted), {(from, to, source): details without timestamps}, edge rows)."""
    store = Store(url)
    src, dst = aliased(schema.assets), aliased(schema.assets)
    d = schema.edge_details
    try:
        with store.read() as conn:
            assets = {
                (r.type, r.fqn, bool(r.partial), bool(r.deleted))
                for r in conn.execute(
                    select(
                        schema.assets.c.type,
                        schema.assets.c.fqn,
                        schema.assets.c.partial,
                        schema.assets.c.deleted,
                    )
                )
            }
            rows = conn.execute(
                select(src.c.fqn, dst.c.fqn, d.c.source, d.c.details).select_from(
                    d.join(src, src.c.pk == d.c.from_pk).join(dst, dst.c.pk == d.c.to_pk)
                )
            ).all()
            edge_rows = conn.execute(select(func.count()).select_from(schema.edges)).scalar_one()
    finally:
        store.close()
    edges: dict[tuple[str, str, str], dict[str, Any]] = {}
    for f, t, source, details in rows:
        assert (f, t, source) not in edges, f"duplicate edge detail {f} -> {t} [{source}]"
        edges[(f, t, source)] = {k: v for k, v in json.loads(details).items() if k not in _WHEN}
    return assets, edges, int(edge_rows)


def _run_to_end(cmd: list[str]) -> dict[str, Any]:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


def _killed_run(
    cmd: list[str], store: Store, rng: random.Random, clean_seconds: float, at_write: bool
) -> str:
    """Start the workflow and SIGKILL it: at a random moment of a normal run's length, or a random
    moment shortly after it starts writing. Returns where it was killed."""
    before = _counts(store)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if at_write:
            deadline = time.time() + 600
            while proc.poll() is None and _counts(store) == before and time.time() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.4))
        else:
            time.sleep(rng.uniform(0.2, 1.0) * clean_seconds)
    finally:
        finished = proc.poll() is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    if finished:
        return "after the end"
    return "mid-write" if _counts(store) != before else "before writing"


@pytest.mark.slow
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("sink", ["store", "rest"])
def test_killed_and_rerun_workflow_equals_one_clean_run(sink: str, db_url: str, tmp_path: Path) -> None:
    rng = random.Random(8)
    tables = warehouse(TABLES, rng)
    log = tmp_path / "queries.csv"
    write_log(log, make_queries(tables, ETL, SELECTS, rng), ROWS, rng)

    with _reference_db(db_url, tmp_path) as ref_url:
        for url in (db_url, ref_url):
            st = Store(url)
            seed(st, tables)
            st.close()
        clean_cmd = [
            *CLI,
            "ingest",
            "-c",
            str(_workflow(tmp_path / "clean.yaml", log)),
            "--db-url",
            ref_url,
            "--json",
        ]
        t0 = time.perf_counter()
        clean = _run_to_end(clean_cmd)
        clean_seconds = time.perf_counter() - t0
        expected = snapshot(ref_url)

    store = Store(db_url)
    try:
        with _sink(sink, store, tmp_path, log) as cmd:
            kills = [_killed_run(cmd, store, rng, clean_seconds, at_write=k % 2 == 0) for k in range(KILLS)]
            final = _run_to_end(cmd)
    finally:
        store.close()
    found = snapshot(db_url)

    assets, edges, edge_rows = found
    missing = set(expected[1]) - set(edges)
    extra = set(edges) - set(expected[1])
    assert not missing and not extra, f"{len(missing)} edges lost, {len(extra)} extra"
    changed = [k for k in edges if edges[k] != expected[1][k]]
    assert not changed, (
        f"{len(changed)} edges differ, e.g. {changed[0]}: {edges[changed[0]]} != {expected[1][changed[0]]}"
    )
    assert edge_rows == expected[2]
    assert assets == expected[0], f"assets differ: {sorted(assets ^ expected[0])[:5]}"
    assert kills.count("mid-write") >= 1, kills
    assert final["rows_read"] == clean["rows_read"] == ROWS
    report_figure(
        f"query-log workflow ({sink} sink) on {db_url.split(':')[0]}: {ROWS} rows, {KILLS} SIGKILLs "
        f"({', '.join(kills)}), then a full run: {len(edges)} edges and {len(assets)} assets, "
        f"identical to one clean run; 0 lost, 0 duplicated"
    )


@contextmanager
def _sink(sink: str, store: Store, tmp_path: Path, log: Path) -> Iterator[list[str]]:
    """The command of the killed runs: into the store directly, or through a live server."""
    if sink == "store":
        yield [
            *CLI,
            "ingest",
            "-c",
            str(_workflow(tmp_path / "wf.yaml", log)),
            "--db-url",
            store.url,
            "--json",
        ]
        return
    with live_server(store, tmp_path / "data") as srv:
        wf = _workflow(tmp_path / "wf.yaml", log, srv.url, srv.editor_token)
        yield [*CLI, "ingest", "-c", str(wf), "--json"]
