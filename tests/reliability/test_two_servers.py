"""Two `headwater serve` processes on one PostgreSQL database, on different ports, behave as one
service: writes through both, racing on the same names, end as if one server had taken them."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from headwater.store import Store, schema
from tests.helpers import postgres_database, report_figure
from tests.reliability.test_crash_safety import CLI, Server, _event

EVENTS = 400
TABLES = 20
DEPTH = min(TABLES - 1, 10)  # the default depth limit


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_serve_processes_on_one_postgres_are_one_service(tmp_path: Path) -> None:
    with postgres_database() as url:
        Store(url).close()  # schema in place before the two servers race to start
        token = subprocess.run(
            [*CLI, "token", "create", "--role", "editor", "--data-dir", str(tmp_path / "a"), "--db-url", url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        servers = [Server(tmp_path / name, url) for name in ("a", "b")]
        for s in servers:
            s.data_dir.mkdir(exist_ok=True)
        threads = [threading.Thread(target=s.start) for s in servers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        try:
            _exercise(servers, token, url)
        finally:
            for s in servers:
                s.stop()


def _exercise(servers: list[Server], token: str, url: str) -> None:
    a, b = servers
    assert a.port != b.port and a.proc and b.proc and a.proc.pid != b.proc.pid
    headers = {"Authorization": f"Bearer {token}"}
    clients = [httpx.Client(base_url=s.url, headers=headers, timeout=60) for s in servers]
    ca, cb = clients
    ca.put(
        "/api/v1/services/databaseServices", json={"name": "pg", "serviceType": "Postgres"}
    ).raise_for_status()
    cb.put("/api/v1/databases", json={"name": "db", "service": "pg"}).raise_for_status()
    ca.put("/api/v1/databaseSchemas", json={"name": "s", "database": "pg.db"}).raise_for_status()
    statuses: list[int] = []
    lock = threading.Lock()

    def race_tables(client: httpx.Client) -> None:
        # both servers upsert the same table names at the same time
        for i in range(TABLES):
            r = client.put(
                "/api/v1/tables",
                json={
                    "name": f"t{i}",
                    "databaseSchema": "pg.db.s",
                    "columns": [{"name": "id", "dataType": "INT"}],
                },
            )
            with lock:
                statuses.append(r.status_code)

    def send_events(client: httpx.Client, start: int) -> None:
        for i in range(start, EVENTS, 2):
            r = client.post("/api/v1/lineage", json=_event(100_000 + i))
            with lock:
                statuses.append(r.status_code)

    work = [threading.Thread(target=race_tables, args=(c,)) for c in clients]
    work += [threading.Thread(target=send_events, args=(c, k)) for k, c in enumerate(clients)]
    started = time.monotonic()
    for t in work:
        t.start()
    for t in work:
        t.join()
    # lineage edits through both, each read back through the other
    ids = [ca.get(f"/api/v1/tables/name/pg.db.s.t{i}").json()["id"] for i in range(TABLES)]
    for i in range(TABLES - 1):
        writer = clients[i % 2]
        edge = {
            "edge": {
                "fromEntity": {"id": ids[i], "type": "table"},
                "toEntity": {"id": ids[i + 1], "type": "table"},
            }
        }
        r = writer.put("/api/v1/lineage", json=edge)
        statuses.append(r.status_code)
    for c in clients:
        assert c.post("/api/v1/openlineage/flush", params={"timeout": 120}).status_code == 200
    chains = [
        len(
            c.get(f"/api/v1/lineage/table/{ids[0]}", params={"downstreamDepth": DEPTH}).json()[
                "downstreamEdges"
            ]
        )
        for c in clients
    ]
    runs = [
        sum(
            c.get(f"/api/v1/namespaces/crash/jobs/job_{100_000 + i}").status_code == 200
            for i in range(0, EVENTS, 40)
        )
        for c in clients
    ]
    elapsed = time.monotonic() - started
    for c in clients:
        c.close()
    store = Store(url)
    try:
        tables, _ = store.list_assets(types=["table"], limit=10_000)
        table_fqns = [t.fqn for t in tables if t.fqn.startswith("pg.db.s.")]
        with store.read() as conn:
            run_count = conn.execute(select(func.count()).select_from(schema.runs)).scalar_one()
            edge_count = conn.execute(select(func.count()).select_from(schema.edges)).scalar_one()
    finally:
        store.close()
    ok = sum(1 for s in statuses if 200 <= s < 300)
    report_figure(
        f"two serve processes on one PostgreSQL (ports {a.port}, {b.port}): {len(statuses)} writes through both "
        f"({TABLES} table names upserted by both at once, {EVENTS} OpenLineage events, {TABLES - 1} lineage "
        f"edits), {ok} acknowledged; {len(table_fqns)} tables for {TABLES} names, {run_count} runs, "
        f"{edge_count} edges; {elapsed:.0f}s"
    )
    assert ok == len(statuses), sorted(set(statuses))
    assert sorted(table_fqns) == sorted(f"pg.db.s.t{i}" for i in range(TABLES))  # one asset per raced name
    assert run_count == EVENTS
    assert edge_count == EVENTS + TABLES - 1
    assert chains == [DEPTH, DEPTH]  # the chain written through both, read through each
    assert runs == [EVENTS // 40, EVENTS // 40]
