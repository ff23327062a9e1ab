"""A token scoped to one connection can change that connection's assets and nothing else."""

from __future__ import annotations

import httpx

from tests.helpers import LiveServer

A, B = "default/snowflake/1700000001", "default/snowflake/1700000002"


def _connection(qn: str) -> dict[str, object]:
    return {
        "typeName": "Connection",
        "attributes": {
            "name": qn.rsplit("/", 1)[-1],
            "qualifiedName": qn,
            "connectorName": "snowflake",
            "category": "warehouse",
            "adminUsers": ["jsmith"],
        },
    }


def _table(conn: str, name: str) -> dict[str, object]:
    return {
        "typeName": "Table",
        "attributes": {
            "name": name,
            "qualifiedName": f"{conn}/DB/SCH/{name}",
            "connectionQualifiedName": conn,
        },
    }


def test_scoped_token_writes_only_its_connection(server: LiveServer) -> None:
    with server.client("admin") as admin:
        r = admin.post("/api/meta/entity/bulk/", json={"entities": [_connection(A), _connection(B)]})
        assert r.status_code == 200, r.text
        r = admin.post("/api/meta/entity/bulk/", json={"entities": [_table(B, "OTHER")]})
        assert r.status_code == 200, r.text
        other_guid = r.json()["mutatedEntities"]["CREATE"][0]["guid"]
    # jsmith administers both connections: the scope alone keeps this token to A
    scoped = server.app.state.tokens.create(  # type: ignore[attr-defined]
        "editor", "conn-a-bot", scope=A, user="jsmith"
    )
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {scoped}"}, timeout=30) as api:
        ok = api.post("/api/meta/entity/bulk/", json={"entities": [_table(A, "MINE")]})
        assert ok.status_code == 200, ok.text
        denied = api.post("/api/meta/entity/bulk/", json={"entities": [_table(B, "THEIRS")]})
        assert denied.status_code == 403 and B in denied.json()["errorMessage"]
        mixed = api.post(
            "/api/meta/entity/bulk/", json={"entities": [_table(A, "MINE2"), _table(B, "THEIRS2")]}
        )
        assert mixed.status_code == 403
        gone = api.delete("/api/meta/entity/bulk/", params={"guid": other_guid, "deleteType": "PURGE"})
        assert gone.status_code == 403
        # other write APIs refuse a scoped token outright; reads are fine
        om = api.put("/api/v1/services/databaseServices", json={"name": "x", "serviceType": "Postgres"})
        assert om.status_code == 403 and "scoped" in om.json()["message"]
        assert api.get("/api/v1/headwater/assets").status_code == 200
    with server.client("admin") as admin:
        names = {
            a["name"] for a in admin.get("/api/v1/headwater/assets", params={"type": "table"}).json()["data"]
        }
        assert names == {"MINE", "OTHER"}  # nothing the scoped token was refused reached the store
