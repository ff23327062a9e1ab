"""GraphIndex and traverse against a brute-force BFS on random graphs, through overlay changes,
rebuilds and writes from another Store on the same database (both stores)."""

from __future__ import annotations

import random
from collections import deque

import pytest

from headwater.graph import GraphIndex, traverse
from headwater.graph import index as index_module
from headwater.model.assets import AssetInput
from headwater.model.lineage import LineageDetails
from headwater.model.types import AssetType, LineageSource
from headwater.store import EdgeWrite, Store
from headwater.store import store as store_module


def _assets(store: Store, n: int) -> list[int]:
    items = [AssetInput(type=AssetType.TABLE, fqn=f"svc.db.sch.t{i}", name=f"t{i}") for i in range(n)]
    return [a.pk for a, _ in store.upsert_assets(items)]


def _put(store: Store, pairs: list[tuple[int, int]]) -> None:
    store.put_edges([EdgeWrite(f, t, LineageDetails(source=LineageSource.MANUAL)) for f, t in pairs])


def _expected(
    edges: set[tuple[int, int]], deleted: set[int], root: int, up: int, down: int, include_deleted: bool
) -> tuple[dict[int, int], set[tuple[int, int]], set[tuple[int, int]]]:
    """Depth of every node (upstream first, negative), and the edges each direction walks."""
    out: dict[int, list[int]] = {}
    inc: dict[int, list[int]] = {}
    for f, t in edges:
        out.setdefault(f, []).append(t)
        inc.setdefault(t, []).append(f)
    depth = {root: 0}
    walked: list[set[tuple[int, int]]] = []
    for upstream, limit in ((True, up), (False, down)):
        adj = inc if upstream else out
        dist = {root: 0}
        queue = deque([root])
        seen_edges: set[tuple[int, int]] = set()
        while queue:
            node = queue.popleft()
            if dist[node] >= limit:
                continue
            for other in adj.get(node, []):
                if not include_deleted and other in deleted:
                    continue
                seen_edges.add((other, node) if upstream else (node, other))
                if other not in dist:
                    dist[other] = dist[node] + 1
                    queue.append(other)
        for node, d in dist.items():
            depth.setdefault(node, -d if upstream else d)
        walked.append(seen_edges)
    return depth, walked[0], walked[1]


def _check(index: GraphIndex, edges: set[tuple[int, int]], deleted: set[int], roots: list[int]) -> None:
    for root in roots:
        for up, down in ((3, 3), (1, 2), (0, 4)):
            for include_deleted in (False, True):
                got = traverse(
                    index, root, upstream_depth=up, downstream_depth=down, include_deleted=include_deleted
                )
                depth, up_edges, down_edges = _expected(edges, deleted, root, up, down, include_deleted)
                assert got.depth == depth
                assert got.nodes == set(depth) - {root}
                assert len(got.upstream_edges) == len(set(got.upstream_edges))
                assert len(got.downstream_edges) == len(set(got.downstream_edges))
                assert set(got.upstream_edges) == up_edges
                assert set(got.downstream_edges) == down_edges
                assert not got.truncated


@pytest.mark.parametrize("seed", [1, 2])
def test_overlay_and_rebuild_match_brute_force(
    store: Store, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    pks = _assets(store, 40)
    edges: set[tuple[int, int]] = set()
    while len(edges) < 90:
        f, t = rng.sample(pks, 2)
        edges.add((f, t))
    _put(store, sorted(edges))
    index = GraphIndex(store)
    deleted: set[int] = set()
    _check(index, edges, deleted, rng.sample(pks, 6))
    # a few rounds of changes applied through the overlay; then a forced rebuild, then more
    monkeypatch.setattr(index_module, "REBUILD_AFTER", 10**9)
    for round_ in range(4):
        adds: set[tuple[int, int]] = set()
        while len(adds) < 12:
            f, t = rng.sample(pks, 2)
            adds.add((f, t))
        _put(store, sorted(adds))
        edges |= adds
        for pair in rng.sample(sorted(edges), 10):
            assert store.delete_edge(*pair)
            edges.discard(pair)
        # remove then re-add a base pair: it must come back exactly once
        pair = rng.choice(sorted(edges))
        store.delete_edge(*pair)
        _put(store, [pair])
        victim = rng.choice(pks)
        if victim in deleted:
            store.restore_asset(victim)
            deleted.discard(victim)
        else:
            store.soft_delete_asset(victim)
            deleted.add(victim)
        _check(index, edges, deleted, [*rng.sample(pks, 5), pair[0], pair[1]])
        if round_ == 1:
            index.rebuild()
            assert index.stats()["overlay"] == 0
            _check(index, edges, deleted, rng.sample(pks, 5))
    # past the overlay limit the next read rebuilds the arrays
    monkeypatch.setattr(index_module, "REBUILD_AFTER", 1)
    _put(store, [(pks[0], pks[1])])
    edges.add((pks[0], pks[1]))
    _check(index, edges, deleted, [pks[0], pks[1]])
    assert index.stats()["overlay"] == 0
    assert index.stats()["base_edges"] == len(edges)


def test_node_limit_truncates(store: Store) -> None:
    pks = _assets(store, 30)
    _put(store, [(pks[0], p) for p in pks[1:]])
    index = GraphIndex(store)
    got = traverse(index, pks[0], upstream_depth=0, downstream_depth=1, node_limit=10)
    assert got.truncated and len(got.nodes) == 10
    assert len(got.downstream_edges) == 10
    assert all(f == pks[0] and t in got.nodes for f, t in got.downstream_edges)


def test_writes_through_another_store_are_seen_at_once(store: Store) -> None:
    """A second Store on the same database stands for another server process."""
    pks = _assets(store, 6)
    _put(store, [(pks[0], pks[1])])
    index = GraphIndex(store)
    assert traverse(index, pks[0], upstream_depth=2, downstream_depth=2).nodes == {pks[1]}
    other = Store(store.url, run_migrations=False)
    try:
        for i in range(1, 5):
            other.put_edges([EdgeWrite(pks[i], pks[i + 1], LineageDetails())])
            got = traverse(index, pks[0], upstream_depth=0, downstream_depth=10)
            assert got.nodes == set(pks[1 : i + 2])
        other.delete_edge(pks[2], pks[3])
        assert traverse(index, pks[0], upstream_depth=0, downstream_depth=10).nodes == {pks[1], pks[2]}
        # entries that do not touch edges move the checked position on without changing anything
        other.set_setting("bench", "1")
        other.soft_delete_asset(pks[1])
        assert traverse(index, pks[0], upstream_depth=0, downstream_depth=10).nodes == set()
    finally:
        other.close()
    assert index.stats()["seq"] == store.max_log_seq()


def test_bulk_paths_small_chunks(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Key lookups split into many statements and inserts through COPY give the same answers."""
    monkeypatch.setattr(store_module, "KEY_CHUNK", 7)
    monkeypatch.setattr(store_module, "COPY_MIN", 1)
    pks = _assets(store, 25)
    pairs = [(pks[i], pks[j]) for i in range(25) for j in range(i + 1, min(25, i + 4))]
    first = store.put_edges([EdgeWrite(f, t, LineageDetails(sqlQuery=f"q{f}")) for f, t in pairs])
    assert all(first)
    again = store.put_edges(
        [EdgeWrite(f, t, LineageDetails(source=LineageSource.QUERY_LINEAGE)) for f, t in pairs[:20]]
        + [EdgeWrite(f, t, LineageDetails(sqlQuery="new")) for f, t in pairs[:5]]
    )
    assert not any(again)
    got = store.get_edges([*pairs, (pks[24], pks[0])])
    assert set(got) == set(pairs)
    assert [len(got[p].details) for p in pairs[:20]] == [2] * 20
    assert got[pairs[0]].details[-1].sqlQuery == "new" or got[pairs[0]].details[0].sqlQuery == "new"
    kinds = [e.kind for e in store.log_since(0, ["edge_add"])]
    assert len(kinds) == len(pairs)
    removed = store.hard_delete_asset(pks[3])
    assert removed == [pks[3]]
    left = store.get_edges(pairs)
    assert all(pks[3] not in p for p in left)
    assert len(left) == len([p for p in pairs if pks[3] not in p])
    index = GraphIndex(store)
    assert traverse(index, pks[2], upstream_depth=0, downstream_depth=1).nodes == {pks[4], pks[5]}


def test_log_appends_commit_in_seq_order(store: Store) -> None:
    """A writer appending to the log waits for one that appended before it to commit, so an index
    never reads a later seq before an earlier one is visible (PostgreSQL hands seqs out early)."""
    import threading
    import time

    pks = _assets(store, 4)
    index = GraphIndex(store)
    index.refresh()
    other = Store(store.url, run_migrations=False)
    done = threading.Event()
    try:
        with store.write() as conn:
            store.put_edges([EdgeWrite(pks[0], pks[1], LineageDetails())], conn=conn)

            def second() -> None:
                other.put_edges([EdgeWrite(pks[2], pks[3], LineageDetails())])
                done.set()

            thread = threading.Thread(target=second)
            thread.start()
            time.sleep(0.5)
            assert not done.is_set()  # held back until the first commits
        thread.join(10)
        assert done.is_set()
    finally:
        other.close()
    adds = [(e.seq, e.from_pk) for e in store.log_since(0, ["edge_add"])]
    assert [f for _, f in sorted(adds)] == [pks[0], pks[2]]
    assert traverse(index, pks[0], upstream_depth=1, downstream_depth=1).nodes == {pks[1]}
    assert traverse(index, pks[3], upstream_depth=1, downstream_depth=1).nodes == {pks[2]}


def test_shared_reads_reuse_one_connection(store: Store) -> None:
    pks = _assets(store, 3)
    _put(store, [(pks[0], pks[1]), (pks[1], pks[2])])
    with store.shared_reads():
        with store._quick_read() as first, store._quick_read() as second:
            assert first is second
        with store.shared_reads():  # nested: still the same one
            edges = store.get_edges([(pks[0], pks[1]), (pks[1], pks[2]), (pks[2], pks[0])])
            assets = store.get_assets_by_pks(pks)
    assert set(edges) == {(pks[0], pks[1]), (pks[1], pks[2])}
    assert set(assets) == set(pks)
    with store._quick_read() as a, store._quick_read() as b:
        assert a is not b  # outside the block each lookup has its own


def test_edge_pair_arrays_in_several_ranges(store: Store) -> None:
    """The bulk pair fetch behind rebuilds returns every pair once, however the ranges fall."""
    pks = _assets(store, 12)
    pairs = {(pks[i], pks[j]) for i in range(12) for j in range(12) if i != j and (i * j) % 3 == 1}
    _put(store, sorted(pairs))
    for step in (1, 2, 5, 250_000):
        src, dst = store.edge_pair_arrays(step=step)
        got = list(zip(src.tolist(), dst.tolist(), strict=True))
        assert len(got) == len(pairs) and set(got) == pairs
