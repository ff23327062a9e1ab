"""The graph index's temporal part answers as-of reads exactly as the log says.

A random history (pairs added, removed, added again, details replaced, assets deleted, restored
and purged) is written at distinct milliseconds; an index built before it (kept up by catch-ups),
one rebuilt halfway and one built at the end must give, at every instant, the neighbours and
deleted flags that the log itself gives (`pairs_exist_at`, the log strategy).
"""

from __future__ import annotations

import random
import time
from typing import Any

from headwater.analysis import asof
from headwater.analysis.asof import AsOfGraph, build_as_of_view, pairs_exist_at
from headwater.graph.index import GraphIndex
from headwater.model import AssetInput, AssetType, ColumnLineage, LineageDetails, LineageSource
from headwater.store import EdgeWrite, Store, now_ms

NAMES = [f"t{i}" for i in range(8)]


def _tables(store: Store) -> dict[str, int]:
    items = [
        AssetInput(type=AssetType.DATABASE_SERVICE, fqn="pg", name="pg"),
        AssetInput(type=AssetType.DATABASE, fqn="pg.db", name="db"),
        AssetInput(type=AssetType.DATABASE_SCHEMA, fqn="pg.db.s", name="s"),
    ]
    items += [AssetInput(type=AssetType.TABLE, fqn=f"pg.db.s.{n}", name=n) for n in NAMES]
    return {a.name: a.pk for a, _ in store.upsert_assets(items) if a.type == AssetType.TABLE}


def _tick() -> int:
    time.sleep(0.003)
    at = now_ms()
    time.sleep(0.003)
    return at


def _details(i: int, f: str, t: str) -> LineageDetails:
    cols = [ColumnLineage(fromColumns=[f"pg.db.s.{f}.id"], toColumn=f"pg.db.s.{t}.id", function=f"f{i}()")]
    return LineageDetails(sqlQuery=f"q{i}", columnsLineage=cols)


def _random_history(store: Store, pks: dict[str, int], steps: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    marks = [_tick()]
    for i in range(steps):
        f, t = rng.sample(NAMES, 2)
        roll = rng.random()
        if roll < 0.45:
            store.put_edges([EdgeWrite(pks[f], pks[t], _details(i, f, t))])
        elif roll < 0.75:
            store.delete_edge(pks[f], pks[t])
        elif roll < 0.85:
            store.soft_delete_asset(pks[f])
        else:
            store.restore_asset(pks[f])
        marks.append(_tick())
    return marks


def _expected(store: Store, pks: dict[str, int], at: int) -> tuple[set[tuple[int, int]], set[int]]:
    pairs = [(a, b) for a in pks.values() for b in pks.values() if a != b]
    exist = pairs_exist_at(store, pairs, at)
    graph = AsOfGraph.open(store, GraphIndex(store, temporal=False), at, strategy="log")
    deleted = {pk for pk in pks.values() if graph.is_deleted(pk)}
    return {p for p, yes in exist.items() if yes}, deleted


def _temporal(index: GraphIndex, pks: dict[str, int], at: int) -> tuple[set[tuple[int, int]], set[int]]:
    index.refresh()
    down = {(pk, n) for pk in pks.values() for n in index.downstream_at(pk, at)}
    up = {(n, pk) for pk in pks.values() for n in index.upstream_at(pk, at)}
    assert down == up
    assert all(
        len(set(index.downstream_at(pk, at))) == len(index.downstream_at(pk, at)) for pk in pks.values()
    )
    return down, {pk for pk in pks.values() if index.deleted_at(pk, at)}


def test_temporal_part_matches_the_log_at_every_instant(store: Store) -> None:
    pks = _tables(store)
    early = GraphIndex(store)
    early.rebuild()  # built before any lineage: everything comes from catch-ups
    marks = _random_history(store, pks, 40, seed=3)
    middle = GraphIndex(store)
    middle.rebuild()  # built halfway: removals so far read through the partial index
    marks += _random_history(store, pks, 40, seed=4)[1:]
    # a purge: its edges are removed and the asset is gone, but it was there before
    store.hard_delete_asset(pks["t7"])
    marks.append(_tick())
    late = GraphIndex(store)
    late.rebuild()
    assert late.stats()["history_pairs"] > 0 and late.stats()["history_assets"] > 0
    changed = 0
    previous: tuple[set[tuple[int, int]], set[int]] | None = None
    for at in marks:
        expected = _expected(store, pks, at)
        changed += previous is not None and expected != previous
        previous = expected
        for name, index in (("early", early), ("middle", middle), ("late", late)):
            assert _temporal(index, pks, at) == expected, (name, at)
    assert changed > 20  # the instants do see different graphs


def test_temporal_reads_match_the_other_strategies(store: Store) -> None:
    pks = _tables(store)
    marks = _random_history(store, pks, 30, seed=11)
    index = GraphIndex(store)
    for at in marks[::3]:
        for name in NAMES[:7]:
            root = store.get_asset_by_pk(pks[name])
            assert root is not None
            answers = {}
            for strategy in ("temporal", "delta", "log", "snapshot"):
                asof._CACHE.clear()
                try:
                    view = build_as_of_view(
                        store,
                        index,
                        root,
                        at,
                        upstream_depth=3,
                        downstream_depth=3,
                        node_limit=100,
                        include_deleted=True,
                        strategy=strategy,
                    )
                except asof.NotThenError:
                    answers[strategy] = None
                    continue
                answers[strategy] = (
                    sorted(view.depth.items()),
                    sorted(
                        (e.from_pk, e.to_pk, tuple(sorted(d.model_dump_json() for d in e.details)))
                        for e in view.upstream + view.downstream
                    ),
                    sorted((pk, a.deleted) for pk, a in view.all_assets().items()),
                )
            assert answers["temporal"] == answers["delta"] == answers["log"] == answers["snapshot"], (
                name,
                at,
            )


def test_index_without_the_temporal_part_falls_back(store: Store) -> None:
    pks = _tables(store)
    marks = _random_history(store, pks, 10, seed=5)
    index = GraphIndex(store, temporal=False)
    graph = AsOfGraph.open(store, index, marks[5], strategy="temporal")
    assert graph.strategy == "delta"
    assert AsOfGraph.open(store, GraphIndex(store), marks[5]).strategy == "temporal"


def test_details_as_of_between_changes_come_from_memory_and_the_log(
    store: Store, db_url: str, monkeypatch: Any
) -> None:
    """A pair's details as of instants between its details changes: the index keeps each pair's
    last details change in memory (from a rebuild, or from catch-ups, including another store's
    writes), so only pairs changed after the instant are looked up in the log."""
    pks = _tables(store)
    a, b, c = pks["t0"], pks["t1"], pks["t2"]
    early = GraphIndex(store)
    early.rebuild()  # before any lineage: every change comes from catch-ups
    query, manual = LineageSource.QUERY_LINEAGE, LineageSource.MANUAL
    marks = [_tick()]
    store.put_edges(
        [
            EdgeWrite(a, b, LineageDetails(sqlQuery="v1", source=query)),
            EdgeWrite(b, c, _details(0, "t1", "t2")),
        ]
    )
    marks.append(_tick())
    store.put_edges([EdgeWrite(a, b, LineageDetails(sqlQuery="v2", source=query))])  # replaced
    marks.append(_tick())
    store.put_edges([EdgeWrite(a, b, LineageDetails(sqlQuery="m1", source=manual))])  # a second source
    marks.append(_tick())
    store.delete_edge_details(a, b, [query.value])  # one source removed, the pair stays
    marks.append(_tick())
    other = Store(db_url)  # another writer (as another process would be)
    try:
        other.put_edges([EdgeWrite(a, b, LineageDetails(sqlQuery="m2", source=manual))])
    finally:
        other.close()
    marks.append(_tick())
    late = GraphIndex(store)
    late.rebuild()  # the changes read through the partial index of migration 0800
    expected = [None, ["v1"], ["v2"], ["m1", "v2"], ["m1"], ["m2"]]
    root = store.get_asset_by_pk(a)
    assert root is not None
    for name, index in (("early", early), ("late", late)):
        for at, want in zip(marks, expected, strict=True):
            answers = {}
            for strategy in ("temporal", "log"):
                asof._CACHE.clear()
                view = build_as_of_view(
                    store,
                    index,
                    root,
                    at,
                    upstream_depth=0,
                    downstream_depth=2,
                    node_limit=100,
                    strategy=strategy,
                )
                answers[strategy] = {
                    (e.from_pk, e.to_pk): sorted(str(d.sqlQuery) for d in e.details) for e in view.downstream
                }
            assert answers["temporal"] == answers["log"], (name, at)
            assert answers["temporal"].get((a, b)) == want, (name, at)
        # only the pair whose details changed after its addition is kept, with its last change
        assert index.stats()["details_changed"] == 1, name
        assert index.changed_after([(a, b), (b, c)], marks[0]) == {(a, b)}
        assert index.changed_after([(a, b), (b, c)], marks[-1]) == set()

    # nothing changed after the last instant: the details come from `edge_details`, no log lookup
    def no_log(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the log was asked")

    monkeypatch.setattr(asof, "_pair_history", no_log)
    monkeypatch.setattr(asof, "_touched_after", no_log)
    asof._CACHE.clear()
    view = build_as_of_view(
        store, late, root, marks[-1], upstream_depth=0, downstream_depth=2, node_limit=100
    )
    assert {(e.from_pk, e.to_pk) for e in view.downstream} == {(a, b), (b, c)}
