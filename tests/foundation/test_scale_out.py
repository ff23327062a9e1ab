"""Two headwater servers on one PostgreSQL database behave as one service."""

from __future__ import annotations

from pathlib import Path

from headwater.store import Store
from tests.helpers import live_server, postgres_database


def _table(client, schema: str, name: str) -> str:  # type: ignore[no-untyped-def]
    answer = client.put(
        "/api/v1/tables",
        json={"name": name, "databaseSchema": schema, "columns": [{"name": "id", "dataType": "INT"}]},
    )
    assert answer.status_code in (200, 201), answer.text
    return str(answer.json()["id"])


def test_writes_through_one_server_are_read_through_the_other(tmp_path: Path) -> None:
    with postgres_database() as url:
        store_a, store_b = Store(url), Store(url)
        try:
            with live_server(store_a, tmp_path / "a") as a, live_server(store_b, tmp_path / "b") as b:
                ca, cb = a.client(), b.client()
                # tokens are signed with a key kept in the shared database: B accepts A's token
                cross = cb.get("/api/v1/tables", headers={"Authorization": f"Bearer {a.admin_token}"})
                assert cross.status_code == 200
                ca.put("/api/v1/services/databaseServices", json={"name": "pg", "serviceType": "Postgres"})
                cb.put("/api/v1/databases", json={"name": "db", "service": "pg"})
                ca.put("/api/v1/databaseSchemas", json={"name": "s", "database": "pg.db"})
                ids = [(_table(ca if i % 2 else cb, "pg.db.s", f"t{i}")) for i in range(4)]
                # warm B's graph index before the edges exist, so it must catch up from the log
                assert cb.get(f"/api/v1/lineage/table/{ids[0]}").json()["downstreamEdges"] == []
                for i in range(3):
                    writer = ca if i % 2 else cb
                    edge = {
                        "edge": {
                            "fromEntity": {"id": ids[i], "type": "table"},
                            "toEntity": {"id": ids[i + 1], "type": "table"},
                        }
                    }
                    assert writer.put("/api/v1/lineage", json=edge).status_code == 200
                for reader in (ca, cb):
                    got = reader.get(
                        f"/api/v1/lineage/table/{ids[0]}", params={"downstreamDepth": 3, "upstreamDepth": 0}
                    ).json()
                    assert [(e["fromEntity"], e["toEntity"]) for e in got["downstreamEdges"]] == [
                        (ids[0], ids[1]),
                        (ids[1], ids[2]),
                        (ids[2], ids[3]),
                    ]
                # a delete through A is seen by B at once
                assert ca.delete(f"/api/v1/lineage/table/{ids[1]}/table/{ids[2]}").status_code == 200
                got = cb.get(f"/api/v1/lineage/table/{ids[0]}", params={"downstreamDepth": 3}).json()
                assert len(got["downstreamEdges"]) == 1
                ca.close()
                cb.close()
        finally:
            store_a.close()
            store_b.close()
