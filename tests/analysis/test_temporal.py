"""The graph index's temporal part answers as-of reads exactly as the log says.

A random history (pairs added, removed, added again, details replaced, assets deleted, restored
and purged) is written at distinct milliseconds; an index built before it (kept up by catch-ups),
one rebuilt halfway and one built at the end must give, at every instant, the neighbours and
deleted flags that the log itself gives (`pairs_exist_at`, the log strategy).
"""

from __future__ import annotations

import random
import time

from headwater.analysis import asof
from headwater.analysis.asof import AsOfGraph, build_as_of_view, pairs_exist_at
from headwater.graph.index import GraphIndex
from headwater.model import AssetInput, AssetType, ColumnLineage, LineageDetails
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
