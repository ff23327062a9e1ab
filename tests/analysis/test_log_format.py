"""The lineage log's two ways of recording a new pair give the same as-of, diff and index answers.

The store writes a new pair as one `edge_add` entry that carries the pair's
first details (`source`, `details`); earlier code wrote an `edge_add` without a source followed by
a `details_put`. Databases hold both, so every reader must treat them alike: this test records a
history, answers every question on it, rewrites the log into the earlier form and asks again.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import text

from headwater.analysis import asof
from headwater.analysis.asof import AsOfGraph, details_at, pairs_exist_at, traverse_as_of
from headwater.analysis.diff import lineage_diff
from headwater.graph.index import GraphIndex
from headwater.graph.traversal import traverse
from headwater.model import AssetInput, AssetType, ColumnLineage, LineageDetails, LineageSource
from headwater.store import EdgeWrite, Store, now_ms


def _tables(store: Store, *names: str) -> dict[str, int]:
    items = [
        AssetInput(type=AssetType.DATABASE_SERVICE, fqn="pg", name="pg"),
        AssetInput(type=AssetType.DATABASE, fqn="pg.db", name="db"),
        AssetInput(type=AssetType.DATABASE_SCHEMA, fqn="pg.db.s", name="s"),
    ]
    items += [AssetInput(type=AssetType.TABLE, fqn=f"pg.db.s.{n}", name=n) for n in names]
    return {a.name: a.pk for a, _ in store.upsert_assets(items)}


def _tick() -> int:
    time.sleep(0.01)
    at = now_ms()
    time.sleep(0.01)
    return at


def _history(store: Store) -> tuple[dict[str, int], list[int]]:
    pks = _tables(store, "a", "b", "c", "d")
    a, b, c, d = pks["a"], pks["b"], pks["c"], pks["d"]
    cols = [ColumnLineage(fromColumns=["pg.db.s.a.id"], toColumn="pg.db.s.c.id")]
    marks = [_tick()]
    # new pairs; one of them twice in the same call, with a second source
    store.put_edges(
        [
            EdgeWrite(a, b, LineageDetails(sqlQuery="q1", source=LineageSource.QUERY_LINEAGE)),
            EdgeWrite(a, c, LineageDetails(columnsLineage=cols, source=LineageSource.DBT_LINEAGE)),
            EdgeWrite(a, c, LineageDetails(description="ol", source=LineageSource.OPEN_LINEAGE)),
            EdgeWrite(b, d, LineageDetails(source=LineageSource.VIEW_LINEAGE), description="b to d"),
        ],
        "loader",
    )
    marks.append(_tick())
    # existing pairs: the same source replaced, another one added; one more new pair
    store.put_edges(
        [
            EdgeWrite(a, b, LineageDetails(sqlQuery="q2", source=LineageSource.QUERY_LINEAGE)),
            EdgeWrite(a, b, LineageDetails(sqlQuery="q3", source=LineageSource.MANUAL)),
            EdgeWrite(c, d, LineageDetails(sqlQuery="q4", source=LineageSource.QUERY_LINEAGE)),
        ],
        "editor",
    )
    marks.append(_tick())
    store.delete_edge_details(a, c, [LineageSource.DBT_LINEAGE.value])
    store.delete_edge(b, d)
    marks.append(_tick())
    # a removed pair added again, with other details; an asset deleted
    store.put_edges([EdgeWrite(b, d, LineageDetails(sqlQuery="q5", source=LineageSource.QUERY_LINEAGE))])
    store.soft_delete_asset(c)
    marks.append(_tick())
    return pks, marks


def _answers(store: Store, pks: dict[str, int], marks: list[int]) -> dict[str, Any]:
    asof._CACHE.clear()
    index = GraphIndex(store)
    pairs = [(f, t) for f in pks.values() for t in pks.values() if f != t]
    out: dict[str, Any] = {
        "index": {
            name: sorted(
                traverse(index, pk, upstream_depth=3, downstream_depth=3, include_deleted=True).nodes
            )
            for name, pk in pks.items()
        }
    }
    for i, at in enumerate(marks):
        exist = pairs_exist_at(store, pairs, at)
        out[f"exist {i}"] = exist
        details = details_at(store, pairs, at)
        out[f"details {i}"] = {p: [x.model_dump() for x in ds] for p, ds in sorted(details.items())}
        for strategy in ("temporal", "delta", "log", "snapshot"):
            graph = AsOfGraph.open(store, index, at, strategy=strategy)
            walk = traverse_as_of(
                graph, pks["a"], upstream_depth=3, downstream_depth=3, node_limit=100, include_deleted=True
            )
            edges = graph.edges(walk.upstream_edges + walk.downstream_edges)
            out[f"{strategy} {i}"] = {
                "depth": walk.depth,
                "edges": {
                    p: (v.edge_description, sorted(x.model_dump_json() for x in v.details))
                    for p, v in sorted(edges.items())
                },
            }
        for j in range(i + 1, len(marks)):
            out[f"diff {i} {j}"] = lineage_diff(store, at, marks[j])
    return out


def _rewrite_log_the_earlier_way(store: Store) -> int:
    """Each `edge_add` carrying details becomes an `edge_add` without them plus a `details_put`."""
    with store.write() as conn:
        rows = conn.execute(
            text("SELECT at, kind, from_pk, to_pk, source, details FROM lineage_log ORDER BY seq")
        ).all()
        split = 0
        old: list[dict[str, Any]] = []
        for r in rows:
            if r.kind == "edge_add" and r.source is not None:
                split += 1
                old.append(
                    {"at": r.at, "kind": "edge_add", "f": r.from_pk, "t": r.to_pk, "src": None, "d": None}
                )
                old.append(
                    {
                        "at": r.at,
                        "kind": "details_put",
                        "f": r.from_pk,
                        "t": r.to_pk,
                        "src": r.source,
                        "d": r.details,
                    }
                )
            else:
                old.append(
                    {
                        "at": r.at,
                        "kind": r.kind,
                        "f": r.from_pk,
                        "t": r.to_pk,
                        "src": r.source,
                        "d": r.details,
                    }
                )
        conn.execute(text("DELETE FROM lineage_log"))
        conn.execute(text("DELETE FROM lineage_snapshots"))
        conn.execute(
            text(
                "INSERT INTO lineage_log (at, kind, from_pk, to_pk, source, details)"
                " VALUES (:at, :kind, :f, :t, :src, :d)"
            ),
            old,
        )
    return split


def test_new_pairs_log_one_entry_with_their_details(store: Store) -> None:
    pks = _tables(store, "a", "b")
    store.put_edges(
        [
            EdgeWrite(pks["a"], pks["b"], LineageDetails(sqlQuery="q", source=LineageSource.QUERY_LINEAGE)),
            EdgeWrite(pks["a"], pks["b"], LineageDetails(source=LineageSource.OPEN_LINEAGE)),
        ]
    )
    entries = store.log_since(0)
    assert [(e.kind, e.source) for e in entries] == [
        ("edge_add", "QueryLineage"),
        ("details_put", "OpenLineage"),
    ]
    assert entries[0].details is not None and '"sqlQuery":"q"' in entries[0].details


def test_both_log_forms_give_the_same_answers(store: Store) -> None:
    pks, marks = _history(store)
    new = _answers(store, pks, marks)
    assert new["details 1"] and new["diff 0 1"]["summary"]["edgesAdded"] == 3
    assert _rewrite_log_the_earlier_way(store) == 5
    old = _answers(store, pks, marks)
    assert old.keys() == new.keys()
    for key in new:
        assert old[key] == new[key], key
