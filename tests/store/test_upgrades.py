"""Upgrades: a database created at every earlier schema version, holding data, migrates to head
with its data intact and usable."""

from __future__ import annotations

import json

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from headwater.graph import GraphIndex, traverse
from headwater.model import AssetType
from headwater.store import Store
from headwater.store.engine import alembic_config, current_revision, make_engine

REVISIONS = [
    r.revision for r in reversed(list(ScriptDirectory.from_config(alembic_config()).walk_revisions()))
]


def _seed_at_0001(url: str) -> None:
    """Rows written with plain SQL against the first schema, as an old server would have."""
    engine = make_engine(url)
    with engine.begin() as conn:
        for pk, (typ, fqn, name, parent) in enumerate(
            [
                ("databaseService", "pg", "pg", None),
                ("database", "pg.db", "db", 1),
                ("databaseSchema", "pg.db.s", "s", 2),
                ("table", "pg.db.s.a", "a", 3),
                ("table", "pg.db.s.b", "b", 3),
                ("column", "pg.db.s.a.id", "id", 4),
            ],
            start=1,
        ):
            conn.execute(
                text(
                    "INSERT INTO assets (pk, id, type, fqn, name, parent_pk, attributes, partial, deleted, version, "
                    "created_at, updated_at) VALUES (:pk, :id, :type, :fqn, :name, :parent, :attrs, false, false, 0.1, 1, 1)"
                ),
                {
                    "pk": pk,
                    "id": f"00000000-0000-0000-0000-00000000000{pk}",
                    "type": typ,
                    "fqn": fqn,
                    "name": name,
                    "parent": parent,
                    "attrs": json.dumps({"tableType": "Regular"} if typ == "table" else {}),
                },
            )
        details = json.dumps(
            {
                "sqlQuery": "insert into b select * from a",
                "source": "QueryLineage",
                "columnsLineage": [],
                "createdAt": 1,
                "updatedAt": 1,
            }
        )
        conn.execute(text("INSERT INTO edges (from_pk, to_pk, created_at) VALUES (4, 5, 1)"))
        conn.execute(
            text(
                "INSERT INTO edge_details (from_pk, to_pk, source, details, created_at, updated_at) "
                "VALUES (4, 5, 'QueryLineage', :d, 1, 1)"
            ),
            {"d": details},
        )
        conn.execute(text("INSERT INTO lineage_log (at, kind, from_pk, to_pk) VALUES (1, 'edge_add', 4, 5)"))
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval('assets_pk_seq', 6)"))
    engine.dispose()


@pytest.mark.parametrize("start", REVISIONS[:-1] or ["0001"])
def test_upgrade_from_every_earlier_version_keeps_data(db_url: str, start: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        command.upgrade(alembic_config(conn), "0001")
        conn.commit()
    _seed_at_0001(db_url)
    with engine.connect() as conn:
        command.upgrade(alembic_config(conn), start)
        conn.commit()
    assert current_revision(engine) == start
    engine.dispose()

    store = Store(db_url)  # opening migrates to head
    try:
        assert current_revision(store.engine) == REVISIONS[-1]
        a = store.get_asset_by_fqn(AssetType.TABLE, "pg.db.s.a")
        b = store.get_asset_by_fqn(AssetType.TABLE, "pg.db.s.b")
        assert a is not None and b is not None and a.attributes == {"tableType": "Regular"}
        edge = store.get_edge(a.pk, b.pk)
        assert edge is not None and edge.details[0].sqlQuery == "insert into b select * from a"
        assert traverse(GraphIndex(store), a.pk, upstream_depth=0, downstream_depth=1).downstream_edges == [
            (a.pk, b.pk)
        ]
        # and the upgraded store takes new writes
        from headwater.model import AssetInput

        new, created = store.upsert_asset(AssetInput(type=AssetType.TABLE, fqn="pg.db.s.c", name="c"))
        assert created and new.pk > 6
    finally:
        store.close()
