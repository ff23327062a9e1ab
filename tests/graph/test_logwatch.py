"""The lineage log watch (PostgreSQL): reads skip the log-head query while nothing was written, yet
see writes made by other processes (NOTIFY from the log trigger), and fall back to querying when
the listener connection is lost. Also: a server builds its graph index at start."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from headwater.graph import GraphIndex, traverse
from headwater.model.assets import AssetInput
from headwater.model.lineage import LineageDetails
from headwater.model.types import AssetType
from headwater.store import EdgeWrite, Store
from tests.helpers import live_server, postgres_database


@pytest.fixture
def pg_store() -> Iterator[Store]:
    with postgres_database() as url:
        st = Store(url)
        try:
            yield st
        finally:
            st.close()


def _assets(store: Store, n: int) -> list[int]:
    items = [AssetInput(type=AssetType.TABLE, fqn=f"svc.db.sch.t{i}", name=f"t{i}") for i in range(n)]
    return [a.pk for a, _ in store.upsert_assets(items)]


def _foreign_edge(url: str, f: int, t: int) -> None:
    """An edge written the way another server would: plain SQL on its own connection, so nothing
    in this process counts the commit; only the NOTIFY tells the index."""
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn, conn.transaction():
        conn.execute("INSERT INTO edges (from_pk, to_pk, created_at) VALUES (%s, %s, 0)", (f, t))
        conn.execute(
            "INSERT INTO lineage_log (at, kind, from_pk, to_pk) VALUES (0, 'edge_add', %s, %s)", (f, t)
        )


def _downstream(index: GraphIndex, pk: int) -> set[int]:
    return traverse(index, pk, upstream_depth=0, downstream_depth=3).nodes


def _wait_for(predicate, seconds: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.001)
    return False


class _CountingHead:
    """Counts the index's log-head queries (wraps the real store method)."""

    def __init__(self, store: Store) -> None:
        self.calls = 0
        self._real = store.max_log_seq

    def __call__(self) -> int:
        self.calls += 1
        return self._real()


def test_reads_skip_the_log_query_and_see_other_writers(
    pg_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    pks = _assets(pg_store, 6)
    index = GraphIndex(pg_store)
    assert _downstream(index, pks[0]) == set()
    assert _wait_for(lambda: pg_store.log_watch().token() is not None)  # type: ignore[union-attr]
    head = _CountingHead(pg_store)
    monkeypatch.setattr(pg_store, "max_log_seq", head)
    reads = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < 0.3:
        _downstream(index, pks[0])
        reads += 1
    # the listener re-confirms every 25 ms; reads in between never touch the database
    assert head.calls < reads / 10, (head.calls, reads)
    for i in range(1, 4):
        _foreign_edge(pg_store.url, pks[i - 1], pks[i])
        assert _wait_for(lambda i=i: _downstream(index, pks[0]) == set(pks[1 : i + 1]))


def test_own_writes_are_seen_at_once(pg_store: Store) -> None:
    pks = _assets(pg_store, 4)
    index = GraphIndex(pg_store)
    assert _wait_for(lambda: _downstream(index, pks[0]) == set() and index._token is not None)
    other = Store(pg_store.url, run_migrations=False)  # another Store of this process
    try:
        for i in range(1, 4):
            writer = other if i % 2 else pg_store
            writer.put_edges([EdgeWrite(pks[i - 1], pks[i], LineageDetails())])
            assert _downstream(index, pks[0]) == set(pks[1 : i + 1])
    finally:
        other.close()


def test_a_lost_listener_falls_back_to_queries_and_reconnects(pg_store: Store) -> None:
    pks = _assets(pg_store, 3)
    index = GraphIndex(pg_store)
    watch = pg_store.log_watch()
    assert watch is not None
    assert _wait_for(lambda: watch.token() is not None)
    pid = watch._conn.info.backend_pid
    with psycopg.connect(pg_store.url.replace("+psycopg", ""), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    _foreign_edge(pg_store.url, pks[0], pks[1])
    assert _wait_for(lambda: _downstream(index, pks[0]) == {pks[1]})
    # back on a new connection: tokens again, and news still arrive
    assert _wait_for(lambda: watch.token() is not None and watch._conn.info.backend_pid != pid)
    _foreign_edge(pg_store.url, pks[1], pks[2])
    assert _wait_for(lambda: _downstream(index, pks[0]) == {pks[1], pks[2]})


def test_server_builds_the_index_at_start(store: Store, tmp_path: Path) -> None:
    pks = _assets(store, 3)
    store.put_edges([EdgeWrite(pks[0], pks[1], LineageDetails())])
    with live_server(store, tmp_path / "data") as srv:
        index: GraphIndex = srv.app.state.index  # type: ignore[attr-defined]
        assert _wait_for(lambda: index.stats()["base_edges"] == 1)  # no lineage read yet
        with srv.client() as client:
            ids = store.get_assets_by_pks(pks)
            got = client.get(f"/api/v1/lineage/table/{ids[pks[0]].id}").json()
            assert [e["toEntity"] for e in got["downstreamEdges"]] == [ids[pks[1]].id]
