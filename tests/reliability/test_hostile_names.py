"""Names built to break hand-built SQL are stored and found verbatim; nothing else is touched."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.helpers import LiveServer

HOSTILE = [
    "x'; DROP TABLE assets; --",
    'quote"d',
    "percent%_under",
    "back\\slash",
    "semi;colon) OR 1=1 --",
    "ünïcödé 表",
    "dotted.name",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_table_names(server: LiveServer, name: str) -> None:
    with server.client() as api:
        assert (
            api.put(
                "/api/v1/services/databaseServices", json={"name": "svc", "serviceType": "Postgres"}
            ).status_code
            == 201
        )
        api.put("/api/v1/databases", json={"name": "db", "service": "svc"})
        api.put("/api/v1/databaseSchemas", json={"name": "s", "database": "svc.db"})
        plain = api.put("/api/v1/tables", json={"name": "plain", "databaseSchema": "svc.db.s"}).json()
        made = api.put(
            "/api/v1/tables",
            json={"name": name, "databaseSchema": "svc.db.s", "columns": [{"name": name, "dataType": "INT"}]},
        )
        if '"' in name:
            # OpenMetadata's rule: a double quote may only wrap a whole name
            assert made.status_code == 400 and "quote" in made.json()["message"]
            return
        assert made.status_code == 201, made.text
        table = made.json()
        assert table["name"] == name
        fqn = table["fullyQualifiedName"]
        got = api.get(f"/api/v1/tables/name/{quote(fqn, safe='')}")
        assert got.status_code == 200 and got.json()["id"] == table["id"]
        found = api.get("/api/v1/headwater/assets", params={"q": name, "type": "table"}).json()
        assert [a["name"] for a in found["data"]] == [name]
        edge = {
            "edge": {
                "fromEntity": {"id": plain["id"], "type": "table"},
                "toEntity": {"id": table["id"], "type": "table"},
                "lineageDetails": {
                    "sqlQuery": name,
                    "columnsLineage": [
                        {"fromColumns": [], "toColumn": table["columns"][0]["fullyQualifiedName"]}
                    ],
                },
            }
        }
        assert api.put("/api/v1/lineage", json=edge).status_code == 200
        lineage = api.get(
            f"/api/v1/lineage/table/name/{quote(fqn, safe='')}", params={"upstreamDepth": 1}
        ).json()
        assert lineage["upstreamEdges"][0]["lineageDetails"]["sqlQuery"] == name
        # everything else is intact
        assert api.get("/api/v1/tables/name/svc.db.s.plain").status_code == 200
        assert server.store.count("assets") >= 5
