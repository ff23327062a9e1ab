"""Snapshots of the edge set for as-of reads far back, and assets purged since an instant."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from headwater.analysis import asof, snapshots
from headwater.analysis.asof import build_as_of_view
from headwater.store import Store
from tests.analysis.an_helpers import column_maps, fqn, graph_edges, ok, tick
from tests.analysis.test_asof import EXPECTED_COLUMNS, EXPECTED_EDGES, lineage
from tests.helpers import LiveServer

RAW, STG, MART = fqn("raw"), fqn("stg"), fqn("mart")


def _edges_as_of(server: LiveServer, root_fqn: str, at: int, strategy: str | None) -> set[tuple[str, str]]:
    store = server.store
    root = store.get_asset_by_fqn("table", root_fqn)
    assert root is not None
    view = build_as_of_view(
        store,
        server.app.state.index,  # type: ignore[attr-defined]
        root,
        at,
        upstream_depth=3,
        downstream_depth=3,
        node_limit=100,
        strategy=strategy,
    )
    assets = view.all_assets()
    return {(assets[e.from_pk].fqn, assets[e.to_pk].fqn) for e in view.upstream + view.downstream}


def _forget(store: Store) -> None:
    """Drop what this process keeps in memory, as a freshly started server would have it."""
    asof._CACHE.clear()
    snapshots._LOADED.clear()
    snapshots._CSRS.clear()


def test_snapshots_made_on_demand_answer_every_instant(
    server: LiveServer, api: httpx.Client, history: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = server.store
    # every few entries, and every read counts as far back: the snapshot strategy answers them all
    monkeypatch.setattr(snapshots, "SNAPSHOT_EVERY", 5)
    monkeypatch.setattr(asof, "DELTA_LIMIT", -1)
    _forget(store)
    assert snapshots.list_snapshots(store) == []
    for name, expected in EXPECTED_EDGES.items():
        assert _edges_as_of(server, STG, history["t"][name], "snapshot") == expected, name
    made = snapshots.list_snapshots(store)
    assert made and all(s.seq % 5 == 0 for s in made)  # on the grid, reused by instants nearby
    # through the public API (automatic strategy), after a restart: snapshots read back from the store
    _forget(store)
    for name, expected in EXPECTED_EDGES.items():
        got = lineage(api, STG, history["t"][name])
        assert graph_edges(got) == expected, name
        assert column_maps(got) == EXPECTED_COLUMNS[name], name
    assert snapshots.list_snapshots(store) == made


def test_snapshot_keeper_snapshots_the_head(server: LiveServer, history: dict[str, Any]) -> None:
    store = server.store
    keeper = snapshots.SnapshotKeeper(store, every=1)
    info = keeper.run_once()
    assert info is not None and info.seq == store.max_log_seq() and info.edges == store.count("edges")
    assert keeper.run_once() is None  # nothing written since
    _forget(store)
    # a read at t6 (after every change) starts from that snapshot: same answer as the live graph
    assert _edges_as_of(server, STG, history["t"]["t6"], "snapshot") == EXPECTED_EDGES["t6"]
    assert _edges_as_of(server, STG, history["t"]["t2"], "snapshot") == EXPECTED_EDGES["t2"]


def test_purged_assets_show_in_reads_before_the_purge(
    server: LiveServer, api: httpx.Client, history: dict[str, Any]
) -> None:
    t = history["t"]
    mart = history["mart"]
    ok(api.delete(f"/api/v1/tables/{mart['id']}", params={"hardDelete": "true"}))
    after = tick()
    assert api.get(f"/api/v1/tables/{mart['id']}").status_code == 404
    # as of t2, stg -> mart existed: mart is shown with its name, type and FQN
    then = lineage(api, STG, t["t2"])
    assert graph_edges(then) == EXPECTED_EDGES["t2"]
    node = {n["fullyQualifiedName"]: n for n in then["nodes"]}[MART]
    assert (node["id"], node["name"], node["type"], node["deleted"]) == (mart["id"], "mart", "table", False)
    # after the purge it is gone
    assert graph_edges(lineage(api, STG, after)) == set()
    for strategy in ("temporal", "delta", "log", "snapshot"):
        _forget(server.store)
        assert _edges_as_of(server, STG, t["t2"], strategy) == EXPECTED_EDGES["t2"], strategy
