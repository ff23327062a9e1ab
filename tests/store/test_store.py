"""The store's contract, on SQLite and PostgreSQL: upserts by FQN, edges per source, the lineage log."""

from __future__ import annotations

import json

from sqlalchemy import select

from headwater.model import AssetInput, AssetType, ColumnInput, ColumnLineage, LineageDetails, LineageSource
from headwater.model.lineage import merge_details
from headwater.store import EdgeWrite, Store, schema


def _tables(store: Store, *names: str) -> dict[str, int]:
    items = [
        AssetInput(type=AssetType.DATABASE_SERVICE, fqn="pg", name="pg"),
        AssetInput(type=AssetType.DATABASE, fqn="pg.db", name="db"),
        AssetInput(type=AssetType.DATABASE_SCHEMA, fqn="pg.db.s", name="s"),
    ]
    items += [
        AssetInput(
            type=AssetType.TABLE,
            fqn=f"pg.db.s.{n}",
            name=n,
            columns=[ColumnInput(name="id"), ColumnInput(name="v")],
        )
        for n in names
    ]
    return {a.name: a.pk for a, _ in store.upsert_assets(items)}


def test_upsert_by_fqn_updates_in_place_and_links_parents(store: Store) -> None:
    pks = _tables(store, "a")
    again, created = store.upsert_asset(
        AssetInput(type=AssetType.TABLE, fqn="pg.db.s.a", name="a", description="now described")
    )
    assert not created and again.pk == pks["a"] and again.description == "now described"
    assert again.version > 0.1
    schema = store.get_asset_by_fqn(AssetType.DATABASE_SCHEMA, "pg.db.s")
    assert schema is not None and again.parent_pk == schema.pk
    cols = store.columns_of([pks["a"]])[pks["a"]]
    assert [c.fqn for c in cols] == ["pg.db.s.a.id", "pg.db.s.a.v"]


def test_columns_are_synced_to_the_given_list(store: Store) -> None:
    pks = _tables(store, "a")
    store.upsert_asset(
        AssetInput(
            type=AssetType.TABLE,
            fqn="pg.db.s.a",
            name="a",
            columns=[ColumnInput(name="id"), ColumnInput(name="x.y")],
        )
    )
    assert store.column_fqns_of(pks["a"]) == {"pg.db.s.a.id", 'pg.db.s.a."x.y"'}


def test_partial_asset_is_completed_not_duplicated(store: Store) -> None:
    placeholder, created = store.upsert_asset(
        AssetInput(type=AssetType.TABLE, fqn="pg.db.s.late", name="late", partial=True)
    )
    assert created and placeholder.partial
    full, created = store.upsert_asset(AssetInput(type=AssetType.TABLE, fqn="pg.db.s.late", name="late"))
    assert not created and full.pk == placeholder.pk and not full.partial


def test_same_source_replaces_other_sources_kept_side_by_side(store: Store) -> None:
    pks = _tables(store, "a", "b")
    col = ColumnLineage(fromColumns=["pg.db.s.a.id"], toColumn="pg.db.s.b.id")
    assert store.put_edges(
        [EdgeWrite(pks["a"], pks["b"], LineageDetails(sqlQuery="q1", source=LineageSource.QUERY_LINEAGE))]
    ) == [True]
    assert store.put_edges(
        [EdgeWrite(pks["a"], pks["b"], LineageDetails(sqlQuery="q2", source=LineageSource.QUERY_LINEAGE))]
    ) == [False]
    store.put_edges(
        [
            EdgeWrite(
                pks["a"], pks["b"], LineageDetails(columnsLineage=[col], source=LineageSource.OPEN_LINEAGE)
            )
        ]
    )
    edge = store.get_edge(pks["a"], pks["b"])
    assert edge is not None
    by_source = {d.source: d for d in edge.details}
    assert set(by_source) == {LineageSource.QUERY_LINEAGE, LineageSource.OPEN_LINEAGE}
    assert by_source[LineageSource.QUERY_LINEAGE].sqlQuery == "q2"
    merged = merge_details(edge.details)
    assert merged["sqlQuery"] == "q2"
    assert merged["columnsLineage"] == [{"fromColumns": ["pg.db.s.a.id"], "toColumn": "pg.db.s.b.id"}]
    assert set(merged["sources"]) == {"QueryLineage", "OpenLineage"}
    assert store.count("edges") == 1


def test_one_details_object_for_many_edges_keeps_each_edge_exact(store: Store) -> None:
    """Bulk writers share one details object across edges; unusual values survive the encoding."""
    pks = _tables(store, "a", "b", "c")
    shared = LineageDetails.model_validate(
        {"sqlQuery": "insert into b select * from a -- zürich ✓", "source": "QueryLineage", "rows": 2**70}
    )
    writes = [EdgeWrite(pks["a"], pks["b"], shared), EdgeWrite(pks["a"], pks["c"], shared)]
    assert store.put_edges(writes, "loader") == [True, True]
    first = store.get_edge(pks["a"], pks["b"])
    assert first is not None
    created = first.details[0].createdAt
    # later: one pair again (keeps its createdAt), one new pair in the same call
    store.put_edges([EdgeWrite(pks["a"], pks["b"], shared), EdgeWrite(pks["b"], pks["c"], shared)], "loader")
    edges = store.get_edges([(pks["a"], pks["b"]), (pks["a"], pks["c"]), (pks["b"], pks["c"])])
    for view in edges.values():
        (d,) = view.details
        assert d.sqlQuery == "insert into b select * from a -- zürich ✓"
        assert d.model_extra == {"rows": 2**70}
        assert d.createdBy == "loader" and d.updatedBy == "loader"
    assert edges[(pks["a"], pks["b"])].details[0].createdAt == created
    fresh = edges[(pks["b"], pks["c"])].details[0]
    assert fresh.createdAt == fresh.updatedAt
    # a new pair's first details ride on its `edge_add` entry; later ones are `details_put`
    puts = [e for e in store.log_since(0) if e.kind == "details_put" or (e.kind == "edge_add" and e.source)]
    assert [e.kind for e in puts] == ["edge_add", "edge_add", "details_put", "edge_add"]
    assert all(json.loads(e.details or "{}")["sqlQuery"].endswith("zürich ✓") for e in puts)


def test_new_pairs_are_logged_in_write_order_with_their_stored_details(store: Store) -> None:
    """A call of only new pairs logs one `edge_add` per pair, in the order written (not key order),
    each carrying exactly the text stored in `edge_details`; also after rows were deleted."""
    pks = _tables(store, "a", "b", "c", "d")
    a, b, c, d = pks["a"], pks["b"], pks["c"], pks["d"]
    store.put_edges([EdgeWrite(c, d, LineageDetails(sqlQuery="gone"))])
    store.delete_edge(c, d)  # the newest edge_details row is gone: new rows reuse its place
    start = store.max_log_seq()
    shared = LineageDetails(sqlQuery="shared", source=LineageSource.QUERY_LINEAGE)
    writes = [
        EdgeWrite(c, d, shared, description="cd"),
        EdgeWrite(a, b, LineageDetails(sqlQuery="ab", source=LineageSource.DBT_LINEAGE)),
        EdgeWrite(b, c, shared),
        EdgeWrite(a, d, LineageDetails(source=LineageSource.VIEW_LINEAGE)),
    ]
    assert store.put_edges(writes, "loader") == [True] * 4
    entries = [e for e in store.log_since(0, details=True) if e.seq > start]
    assert [(e.kind, e.from_pk, e.to_pk) for e in entries] == [
        ("edge_add", w.from_pk, w.to_pk) for w in writes
    ]
    assert len({e.at for e in entries}) == 1
    ed = schema.edge_details
    with store.read() as conn:
        stored = {
            (r.from_pk, r.to_pk): (r.source, r.details)
            for r in conn.execute(select(ed.c.from_pk, ed.c.to_pk, ed.c.source, ed.c.details))
        }
    for e, w in zip(entries, writes, strict=True):
        assert (e.source, e.details) == stored[(w.from_pk, w.to_pk)]
        assert e.source == w.details.source.value


def test_every_change_is_logged_with_a_time(store: Store) -> None:
    pks = _tables(store, "a", "b")
    store.put_edges([EdgeWrite(pks["a"], pks["b"], LineageDetails(sqlQuery="q"))])
    store.delete_edge(pks["a"], pks["b"])
    kinds = [e.kind for e in store.log_since(0)]
    assert kinds == ["edge_add", "details_remove", "edge_remove"]
    assert all(e.at > 0 for e in store.log_since(0))
    assert store.get_edge(pks["a"], pks["b"]) is None


def test_removing_the_last_source_removes_the_edge(store: Store) -> None:
    pks = _tables(store, "a", "b")
    store.put_edges(
        [
            EdgeWrite(pks["a"], pks["b"], LineageDetails(source=LineageSource.VIEW_LINEAGE)),
            EdgeWrite(pks["a"], pks["b"], LineageDetails(source=LineageSource.MANUAL)),
        ]
    )
    assert store.delete_edges_into_by_source(pks["b"], "ViewLineage") == 1
    assert store.get_edge(pks["a"], pks["b"]) is not None
    assert store.delete_edges_into_by_source(pks["b"], "Manual") == 1
    assert store.get_edge(pks["a"], pks["b"]) is None


def test_hard_delete_removes_edges_and_children(store: Store) -> None:
    pks = _tables(store, "a", "b")
    store.put_edges([EdgeWrite(pks["a"], pks["b"], LineageDetails())])
    removed = store.hard_delete_asset(pks["a"])
    assert len(removed) == 3  # the table and its two columns
    assert store.get_asset_by_pk(pks["a"]) is None
    assert store.count("edges") == 0
    assert store.get_asset_by_fqn(AssetType.COLUMN, "pg.db.s.a.id") is None


def test_soft_delete_keeps_edges_and_can_be_restored(store: Store) -> None:
    pks = _tables(store, "a", "b")
    store.put_edges([EdgeWrite(pks["a"], pks["b"], LineageDetails())])
    store.soft_delete_asset(pks["a"])
    asset = store.get_asset_by_pk(pks["a"])
    assert asset is not None and asset.deleted
    assert store.count("edges") == 1
    store.restore_asset(pks["a"])
    asset = store.get_asset_by_pk(pks["a"])
    assert asset is not None and not asset.deleted


def test_pipeline_reference_is_indexed_and_deletable(store: Store) -> None:
    pks = _tables(store, "a", "b", "c")
    store.upsert_assets(
        [
            AssetInput(type=AssetType.PIPELINE_SERVICE, fqn="af", name="af"),
            AssetInput(type=AssetType.PIPELINE, fqn="af.etl", name="etl"),
        ]
    )
    pipe = store.get_asset_by_fqn(AssetType.PIPELINE, "af.etl")
    assert pipe is not None
    store.put_edges(
        [
            EdgeWrite(
                pks["a"],
                pks["b"],
                LineageDetails(pipeline={"id": pipe.id, "type": "pipeline"}),
                pipeline_pk=pipe.pk,
            ),
            EdgeWrite(pks["b"], pks["c"], LineageDetails()),
        ]
    )
    assert store.edges_by_pipeline([pipe.pk]) == [(pks["a"], pks["b"])]
    assert store.delete_edges_by_pipeline(pipe.pk) == 1
    assert store.get_edge(pks["a"], pks["b"]) is None
    assert store.get_edge(pks["b"], pks["c"]) is not None


def test_list_assets_filters_and_pages(store: Store) -> None:
    _tables(store, "orders", "order_items", "customers")
    page, total = store.list_assets(types=["table"], q="ORDER", limit=1)
    assert total == 2 and len(page) == 1
    rest, _ = store.list_assets(types=["table"], q="order", limit=5, after_pk=page[0].pk)
    assert {a.name for a in page + rest} == {"orders", "order_items"}


def test_resaving_a_soft_deleted_asset_restores_it_in_the_graph(store: Store) -> None:
    from headwater.graph import GraphIndex, traverse

    pks = _tables(store, "a", "b")
    store.put_edges([EdgeWrite(pks["a"], pks["b"], LineageDetails())])
    index = GraphIndex(store)
    store.soft_delete_asset(pks["b"])
    assert traverse(index, pks["a"], upstream_depth=0, downstream_depth=1).nodes == set()
    store.upsert_asset(AssetInput(type=AssetType.TABLE, fqn="pg.db.s.b", name="b"))
    assert traverse(index, pks["a"], upstream_depth=0, downstream_depth=1).nodes == {pks["b"]}


def test_details_dump_equals_pydantic_dump() -> None:
    """The store's direct dump of the usual details shape equals pydantic's (the stored JSON)."""
    from headwater.store.store import _dump_details

    cases = [
        LineageDetails(),
        LineageDetails(source=LineageSource.QUERY_LINEAGE, sqlQuery="select 1 -- zürich ✓", description=""),
        LineageDetails(
            columnsLineage=[
                ColumnLineage(fromColumns=["a.x", "a.y"], toColumn="b.z", function="concat(x, y)"),
                ColumnLineage(fromColumns=[], toColumn=None),
                ColumnLineage(fromColumns=["a.x"]),
            ],
            createdAt=1,
            createdBy="me",
            updatedAt=2,
            updatedBy="you",
        ),
        LineageDetails.model_validate({"sqlQuery": "q", "rows": 2**70}),  # extra field
        LineageDetails.model_validate({"columnsLineage": [{"fromColumns": ["a"], "toColumn": "b", "x": 1}]}),
        LineageDetails(pipeline={"id": "p", "type": "pipeline", "nested": {"k": [1, None]}}),
    ]
    for details in cases:
        want = details.model_dump(mode="json", exclude_none=True)
        want.pop("source")
        got = _dump_details(details)
        got.pop("source", None)
        assert got == want
