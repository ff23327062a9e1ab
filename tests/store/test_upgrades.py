"""Upgrading from every earlier schema version keeps the data that version held.

Each test stops the schema at one old revision, writes data the way that version's code did (raw
SQL on its tables), then opens a `Store`, which upgrades to head, and reads the data back through
today's API.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import text

from headwater.analysis.asof import details_at
from headwater.analysis.snapshots import snapshot_head
from headwater.graph.index import GraphIndex
from headwater.model import AssetInput, AssetType, LineageDetails, LineageSource
from headwater.store import EdgeWrite, Store, now_ms, saved_queries
from headwater.store.engine import ScriptDirectory, alembic_config, current_revision, make_engine, migrate

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()
OLD_REVISIONS = [
    rev.revision for rev in reversed(list(ScriptDirectory.from_config(alembic_config()).walk_revisions()))
][:-1]

SERVICE = "warehouse"
CHECKSUM = hashlib.md5(b"insert into t2 select * from t1").hexdigest()


REVISION_ORDER = [
    rev.revision for rev in reversed(list(ScriptDirectory.from_config(alembic_config()).walk_revisions()))
]


def _seed_old_version(url: str, revision: str) -> None:
    """Two tables with a column each, one edge with details and its log rows, and a saved query:
    inside the settings table as 0001-0400 kept them, in `saved_queries` from 0450 on."""
    engine = make_engine(url)
    now = 1_700_000_000_000
    with engine.begin() as conn:
        assets = [
            (1, "svc-id", "databaseService", SERVICE, SERVICE, None),
            (2, "t1-id", "table", f"{SERVICE}.db.s.t1", "t1", 1),
            (3, "t2-id", "table", f"{SERVICE}.db.s.t2", "t2", 1),
            (4, "c1-id", "column", f"{SERVICE}.db.s.t1.a", "a", 2),
            (5, "c2-id", "column", f"{SERVICE}.db.s.t2.a", "a", 3),
        ]
        for pk, id_, type_, fqn, name, parent in assets:
            conn.execute(
                text(
                    "INSERT INTO assets (pk, id, type, fqn, name, parent_pk, attributes, partial, deleted,"
                    " version, created_at, updated_at) VALUES"
                    " (:pk, :id, :type, :fqn, :name, :parent, '{}', false, false, 0.1, :now, :now)"
                ),
                {"pk": pk, "id": id_, "type": type_, "fqn": fqn, "name": name, "parent": parent, "now": now},
            )
        details = json.dumps(
            {
                "columnsLineage": [
                    {"fromColumns": [f"{SERVICE}.db.s.t1.a"], "toColumn": f"{SERVICE}.db.s.t2.a"}
                ],
                "sqlQuery": "insert into t2 select * from t1",
                "source": "QueryLineage",
                "createdAt": now,
                "updatedAt": now,
            },
            sort_keys=True,
        )
        conn.execute(text("INSERT INTO edges (from_pk, to_pk, created_at) VALUES (2, 3, :now)"), {"now": now})
        conn.execute(
            text(
                "INSERT INTO edge_details (from_pk, to_pk, source, details, pipeline_pk, created_at, updated_at)"
                " VALUES (2, 3, 'QueryLineage', :d, 1, :now, :now)"
            ),
            {"d": details, "now": now},
        )
        conn.execute(
            text(
                "INSERT INTO lineage_log (at, kind, from_pk, to_pk, source, details) VALUES"
                " (:now, 'edge_add', 2, 3, NULL, NULL), (:now, 'details_put', 2, 3, 'QueryLineage', :d)"
            ),
            {"d": details, "now": now},
        )
        record = {
            "id": "5b0d3c9e-0000-5000-8000-000000000001",
            "name": CHECKSUM,
            "fullyQualifiedName": f"{SERVICE}.{CHECKSUM}",
            "checksum": CHECKSUM,
            "query": "insert into t2 select * from t1",
            "version": 0.1,
            "deleted": False,
            "processedLineage": True,
        }
        if REVISION_ORDER.index(revision) < REVISION_ORDER.index("0450_saved_queries"):
            conn.execute(
                text("INSERT INTO settings (key, value) VALUES (:k, :v)"),
                {
                    "k": "om_queries:" + hashlib.sha1(SERVICE.encode()).hexdigest(),
                    "v": json.dumps({CHECKSUM: record}),
                },
            )
        else:
            conn.execute(
                text(
                    "INSERT INTO saved_queries (id, service, checksum, fqn, record, updated_at)"
                    " VALUES (:id, :service, :checksum, :fqn, :record, 0)"
                ),
                {
                    "id": record["id"],
                    "service": SERVICE,
                    "checksum": CHECKSUM,
                    "fqn": record["fullyQualifiedName"],
                    "record": json.dumps(record, sort_keys=True),
                },
            )
    if url.startswith("postgresql"):
        with engine.begin() as conn:  # explicit pks above: move the sequence past them
            conn.execute(text("SELECT setval(pg_get_serial_sequence('assets', 'pk'), 5)"))
    engine.dispose()


@pytest.mark.parametrize("revision", OLD_REVISIONS)
def test_upgrade_from_every_earlier_version_keeps_data(db_url: str, revision: str) -> None:
    engine = make_engine(db_url)
    migrate(engine, revision)
    assert current_revision(engine) == revision
    engine.dispose()
    _seed_old_version(db_url, revision)

    store = Store(db_url)  # upgrades to head
    try:
        with store.read() as conn:
            assert current_revision(conn.engine) == HEAD
        t1 = store.get_asset_by_fqn(AssetType.TABLE, f"{SERVICE}.db.s.t1")
        t2 = store.get_asset_by_fqn(AssetType.TABLE, f"{SERVICE}.db.s.t2")
        assert t1 is not None and t2 is not None
        edge = store.get_edge(t1.pk, t2.pk)
        assert edge is not None
        [details] = edge.details
        assert details.sqlQuery == "insert into t2 select * from t1"
        assert [c.fromColumns for c in details.columnsLineage] == [[f"{SERVICE}.db.s.t1.a"]]
        # the saved query moved out of settings into its table, unchanged
        [(service, record)] = saved_queries.list_queries(store)
        assert service == SERVICE and record["checksum"] == CHECKSUM and record["processedLineage"] is True
        assert store.get_setting("om_queries:" + hashlib.sha1(SERVICE.encode()).hexdigest()) is None
        # the edge set can be checkpointed for as-of reads (lineage_snapshots, 0600)
        info = snapshot_head(store, every=1)
        assert info is not None and info.edges == 1
        # and the upgraded store keeps working: a new asset gets a fresh pk
        created, _ = store.upsert_asset(AssetInput(type=AssetType.TABLE, fqn=f"{SERVICE}.db.s.t3", name="t3"))
        assert created.pk > 5
        # the pipeline index is partial from 0700 on, and still finds the pipeline's edges
        with store.read() as conn:
            if store.dialect == "sqlite":
                ddl = conn.execute(
                    text("SELECT sql FROM sqlite_master WHERE name = 'ix_edge_details_pipeline'")
                ).scalar_one()
            else:
                ddl = conn.execute(
                    text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_edge_details_pipeline'")
                ).scalar_one()
        assert "pipeline_pk IS NOT NULL" in ddl
        assert store.edges_by_pipeline([1]) == [(2, 3)]
        # the old log's `details_put` of the new pair (with its `edge_add`) is no details change
        # for the graph index (0800's partial index); one written now is
        index = GraphIndex(store)
        index.rebuild()
        assert index.stats()["details_changed"] == 0
        # the log as the old version wrote it (edge_add, then details_put) and a new pair as
        # today's store writes it (one edge_add with the details) read alike as of now
        store.put_edges(
            [EdgeWrite(t2.pk, created.pk, LineageDetails(sqlQuery="insert into t3 select * from t2"))]
        )
        kinds = [(e.kind, e.source) for e in store.log_since(0)]
        assert kinds[:2] == [("edge_add", None), ("details_put", "QueryLineage")]
        assert kinds[-1] == ("edge_add", "Manual")
        later = details_at(store, [(t1.pk, t2.pk), (t2.pk, created.pk)], now_ms())
        assert later[(t1.pk, t2.pk)][0].sqlQuery == "insert into t2 select * from t1"
        assert later[(t2.pk, created.pk)][0].sqlQuery == "insert into t3 select * from t2"
        again = LineageDetails(sqlQuery="again", source=LineageSource.QUERY_LINEAGE)
        store.put_edges([EdgeWrite(t1.pk, t2.pk, again)])
        index.rebuild()
        assert index.stats()["details_changed"] == 1
    finally:
        store.close()
