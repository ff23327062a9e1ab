"""Bad input answers 4xx JSON naming the problem and changes nothing; auth by role."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.api.om_helpers import SCHEMA_FQN, cols, edge_body, make_tables, ok, put_edge, snapshot
from tests.helpers import LiveServer

MISSING = "00000000-0000-0000-0000-00000000abcd"


def _setup(api: httpx.Client) -> dict[str, dict[str, Any]]:
    t = make_tables(api, "a", "b")
    put_edge(api, t["a"], t["b"], columnsLineage=cols(t["a"], t["b"], ("id", "id")), source="QueryLineage")
    return t


def _bad_type(t: dict[str, Any]) -> dict[str, Any]:
    body = edge_body(t["a"], t["b"])
    body["edge"]["toEntity"]["type"] = "tabel"
    return body


def _missing(t: dict[str, Any]) -> dict[str, Any]:
    body = edge_body(t["a"], t["b"])
    body["edge"]["toEntity"]["id"] = MISSING
    return body


def _bad_column(t: dict[str, Any]) -> dict[str, Any]:
    return edge_body(
        t["a"],
        t["b"],
        columnsLineage=[{"fromColumns": [f"{SCHEMA_FQN}.a.nope"], "toColumn": f"{SCHEMA_FQN}.b.id"}],
    )


def _foreign_column(t: dict[str, Any]) -> dict[str, Any]:
    return edge_body(
        t["a"],
        t["b"],
        columnsLineage=[{"fromColumns": [f"{SCHEMA_FQN}.b.id"], "toColumn": f"{SCHEMA_FQN}.b.v"}],
    )


def _extra_key(t: dict[str, Any]) -> dict[str, Any]:
    body = edge_body(t["a"], t["b"])
    body["edge"]["weight"] = 3
    return body


def _self_edge(t: dict[str, Any]) -> dict[str, Any]:
    return edge_body(t["a"], t["a"])


def _bad_source(t: dict[str, Any]) -> dict[str, Any]:
    return edge_body(t["a"], t["b"], source="Telepathy")


def _missing_pipeline(t: dict[str, Any]) -> dict[str, Any]:
    return edge_body(t["a"], t["b"], pipeline={"id": MISSING, "type": "pipeline"})


EDGE_CASES: dict[str, tuple[Callable[[dict[str, Any]], dict[str, Any]], int, str]] = {
    "unknown entity type": (_bad_type, 400, "tabel"),
    "edge to a missing entity": (_missing, 404, MISSING),
    "unknown column": (_bad_column, 400, "nope"),
    "column of the other end": (_foreign_column, 400, f"{SCHEMA_FQN}.b.id"),
    "unknown key": (_extra_key, 400, "weight"),
    "self edge": (_self_edge, 400, "differ"),
    "unknown source": (_bad_source, 400, "source"),
    "missing pipeline": (_missing_pipeline, 404, MISSING),
}


@pytest.mark.parametrize("case", list(EDGE_CASES))
def test_bad_edge_is_refused_and_nothing_changes(api: httpx.Client, case: str) -> None:
    t = _setup(api)
    before = snapshot(api)
    make, status, needle = EDGE_CASES[case]
    resp = api.put("/api/v1/lineage", json=make(t))
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["code"] == status and needle in body["message"], body
    assert snapshot(api) == before


def test_invalid_json_and_wrong_shapes(api: httpx.Client) -> None:
    _setup(api)
    before = snapshot(api)
    resp = api.put(
        "/api/v1/lineage", content=b'{"edge": {"fromEntity": ', headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 400 and "JSON" in resp.json()["message"]
    resp = api.put("/api/v1/lineage", json={"edge": {"fromEntity": {"type": "table"}}})
    assert resp.status_code == 400 and "toEntity" in resp.json()["message"]
    resp = api.put("/api/v1/tables", content=b"[not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and "JSON" in resp.json()["message"]
    resp = api.patch(f"/api/v1/tables/name/{SCHEMA_FQN}.a", json={"op": "add"})
    assert resp.status_code == 400 and resp.json()["code"] == 400
    assert snapshot(api) == before


def test_bad_entities_and_fqns(api: httpx.Client) -> None:
    _setup(api)
    before = snapshot(api)
    resp = api.put("/api/v1/tables", json={"name": "x", "databaseSchema": "svc.db.nosuch", "columns": []})
    assert resp.status_code == 404 and "svc.db.nosuch" in resp.json()["message"]
    resp = api.put("/api/v1/tables", json={"name": 'bad"name', "databaseSchema": SCHEMA_FQN})
    assert resp.status_code == 400 and "name" in resp.json()["message"].lower()
    resp = api.put("/api/v1/tables", json={"databaseSchema": SCHEMA_FQN})
    assert resp.status_code == 400 and "name" in resp.json()["message"]
    resp = api.get('/api/v1/lineage/table/name/svc.db."sch.a')
    assert resp.status_code == 400 and resp.json()["code"] == 400
    resp = api.delete(f'/api/v1/lineage/table/name/svc.db."x/table/name/{SCHEMA_FQN}.b')
    assert resp.status_code == 400
    resp = api.get("/api/v1/lineage/tabel/name/svc.db.sch.a")
    assert resp.status_code == 400 and "tabel" in resp.json()["message"]
    resp = api.get("/api/v1/search/query", params={"index": "no_such_index"})
    assert resp.status_code == 400 and "no_such_index" in resp.json()["message"]
    resp = api.get("/api/v1/search/query", params={"query_filter": "{nope"})
    assert resp.status_code == 400 and "query_filter" in resp.json()["message"]
    resp = api.get("/api/v1/tables", params={"after": "%%%"})
    assert resp.status_code == 400 and "cursor" in resp.json()["message"]
    assert snapshot(api) == before


# -- auth ---------------------------------------------------------------------------------------


def test_no_token_is_401_except_version(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url) as anon:
        assert anon.get("/api/v1/system/version").status_code == 200
        for method, path in (
            ("GET", "/api/v1/tables"),
            ("GET", "/api/v1/lineage/table/name/a.b.c.d"),
            ("PUT", "/api/v1/lineage"),
            ("GET", "/api/v1/search/query"),
        ):
            resp = anon.request(method, path)
            assert resp.status_code == 401, (method, path)
            assert resp.json()["code"] == 401 and "token" in resp.json()["message"].lower()
        resp = anon.get("/api/v1/tables", headers={"Authorization": "Bearer not-a-token"})
        assert resp.status_code == 401 and "Invalid token" in resp.json()["message"]


def test_viewer_reads_but_cannot_write(server: LiveServer, api: httpx.Client) -> None:
    t = _setup(api)
    before = snapshot(api)
    with server.client("viewer") as viewer:
        assert viewer.get(f"/api/v1/lineage/table/{t['a']['id']}").status_code == 200
        assert viewer.get("/api/v1/tables").status_code == 200
        writes = [
            viewer.put("/api/v1/lineage", json=edge_body(t["b"], t["a"])),
            viewer.delete(f"/api/v1/lineage/table/{t['a']['id']}/table/{t['b']['id']}"),
            viewer.delete(f"/api/v1/lineage/table/{t['b']['id']}/type/QueryLineage"),
            viewer.patch(f"/api/v1/lineage/table/{t['a']['id']}/table/{t['b']['id']}", json=[]),
            viewer.put("/api/v1/tables", json={"name": "c", "databaseSchema": SCHEMA_FQN}),
            viewer.delete(f"/api/v1/tables/{t['a']['id']}"),
            viewer.get("/api/v1/headwater/tokens"),
        ]
        for resp in writes:
            assert resp.status_code == 403, resp.request.url
            assert resp.json()["code"] == 403 and "viewer" in resp.json()["message"]
    assert snapshot(api) == before


def test_editor_writes_but_only_admin_manages_tokens(server: LiveServer, api: httpx.Client) -> None:
    t = _setup(api)
    with server.client("editor") as editor:
        assert editor.put("/api/v1/lineage", json=edge_body(t["b"], t["a"])).status_code == 200
        assert editor.delete(f"/api/v1/lineage/table/{t['b']['id']}/table/{t['a']['id']}").status_code == 200
        assert (
            editor.put("/api/v1/tables", json={"name": "c", "databaseSchema": SCHEMA_FQN}).status_code == 201
        )
        for resp in (
            editor.get("/api/v1/headwater/tokens"),
            editor.post("/api/v1/headwater/tokens", json={"role": "admin"}),
        ):
            assert resp.status_code == 403 and "admin" in resp.json()["message"]
    made = api.post("/api/v1/headwater/tokens", json={"role": "viewer", "name": "temp"})
    assert made.status_code == 201 and made.json()["role"] == "viewer"
    token = made.json()["token"]
    listed = ok(api.get("/api/v1/headwater/tokens"))["data"]
    jti = next(x["jti"] for x in listed if x["name"] == "temp")
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as temp:
        assert temp.get("/api/v1/tables").status_code == 200
        ok(api.delete(f"/api/v1/headwater/tokens/{jti}"))
        time.sleep(2.1)  # the verification cache holds a token for 2 s
        resp = temp.get("/api/v1/tables")
        assert resp.status_code == 401 and "revoked" in resp.json()["message"]
    resp = api.post("/api/v1/headwater/tokens", json={"role": "root"})
    assert resp.status_code == 400 and "role" in resp.json()["message"]
