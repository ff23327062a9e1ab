"""GET /api/v1/lineage/{type}/{id} and /name/{fqn}: depths, cycles, node limit, deleted nodes."""

from __future__ import annotations

import itertools

import httpx

from tests.api.om_helpers import (
    SCHEMA_FQN,
    cols,
    edge_pairs,
    lineage,
    make_tables,
    ok,
    put_edge,
)


def _chain(api: httpx.Client, n: int) -> list[dict]:
    tables = make_tables(api, *[f"t{i}" for i in range(n)])
    chain = [tables[f"t{i}"] for i in range(n)]
    for a, b in itertools.pairwise(chain):
        put_edge(api, a, b, columnsLineage=cols(a, b, ("id", "id")), source="QueryLineage")
    return chain


def test_by_id_and_by_name_agree_with_per_direction_depths(api: httpx.Client) -> None:
    t = _chain(api, 9)
    ids = [x["id"] for x in t]
    by_id = lineage(api, t[4], upstreamDepth=2, downstreamDepth=3)
    by_name = ok(
        api.get(
            f"/api/v1/lineage/table/name/{SCHEMA_FQN}.t4", params={"upstreamDepth": 2, "downstreamDepth": 3}
        )
    )
    for lin in (by_id, by_name):
        assert lin["entity"]["id"] == ids[4]
        assert lin["entity"]["fullyQualifiedName"] == f"{SCHEMA_FQN}.t4"
        assert lin["entity"]["type"] == "table"
        assert edge_pairs(lin, "upstreamEdges") == {(ids[2], ids[3]), (ids[3], ids[4])}
        assert edge_pairs(lin, "downstreamEdges") == {(ids[4], ids[5]), (ids[5], ids[6]), (ids[6], ids[7])}
        assert sorted(n["name"] for n in lin["nodes"]) == ["t2", "t3", "t5", "t6", "t7"]
        assert all(isinstance(e["fromEntity"], str) for e in lin["upstreamEdges"] + lin["downstreamEdges"])
        assert "truncated" not in lin  # the OpenMetadata shape unless nodeLimit is used
        cl = next(e for e in lin["downstreamEdges"] if e["fromEntity"] == ids[4])["lineageDetails"]
        assert cl["columnsLineage"] == [
            {"fromColumns": [f"{SCHEMA_FQN}.t4.id"], "toColumn": f"{SCHEMA_FQN}.t5.id"}
        ]
        assert cl["source"] == "QueryLineage"
    # depth 0 one way, default 1 the other
    lin = lineage(api, t[4], upstreamDepth=0)
    assert lin["upstreamEdges"] == []
    assert edge_pairs(lin, "downstreamEdges") == {(ids[4], ids[5])}


def test_depth_beyond_three_up_to_the_maximum(api: httpx.Client, server) -> None:  # type: ignore[no-untyped-def]
    maximum = server.settings.max_depth
    t = _chain(api, maximum + 2)
    ids = [x["id"] for x in t]
    lin = lineage(api, t[0], upstreamDepth=0, downstreamDepth=maximum)
    assert len(lin["downstreamEdges"]) == maximum
    assert (ids[maximum - 1], ids[maximum]) in edge_pairs(lin, "downstreamEdges")
    assert all(n["id"] != ids[maximum + 1] for n in lin["nodes"])
    lin = lineage(api, t[-1], upstreamDepth=5, downstreamDepth=0)
    assert len(lin["upstreamEdges"]) == 5
    for bad in (maximum + 1, -1):
        for param in ("upstreamDepth", "downstreamDepth"):
            resp = api.get(f"/api/v1/lineage/table/{ids[0]}", params={param: bad})
            assert resp.status_code == 400
            body = resp.json()
            assert body["code"] == 400 and param in body["message"]
            resp = api.get(f"/api/v1/lineage/table/name/{SCHEMA_FQN}.t0", params={param: bad})
            assert resp.status_code == 400 and param in resp.json()["message"]


def test_cycles_are_walked_once(api: httpx.Client) -> None:
    t = make_tables(api, "a", "b", "c", "d")
    a, b, c, d = t["a"], t["b"], t["c"], t["d"]
    put_edge(api, a, b)
    put_edge(api, b, c)
    put_edge(api, c, a)
    put_edge(api, c, d)
    lin = lineage(api, a, upstreamDepth=10, downstreamDepth=10)
    assert edge_pairs(lin, "downstreamEdges") == {
        (a["id"], b["id"]),
        (b["id"], c["id"]),
        (c["id"], a["id"]),
        (c["id"], d["id"]),
    }
    assert edge_pairs(lin, "upstreamEdges") == {(c["id"], a["id"]), (b["id"], c["id"]), (a["id"], b["id"])}
    assert len(lin["downstreamEdges"]) == 4 and len(lin["upstreamEdges"]) == 3
    assert sorted(n["name"] for n in lin["nodes"]) == ["b", "c", "d"]


def test_node_limit_truncates_and_says_so(api: httpx.Client) -> None:
    names = ["root"] + [f"c{i}" for i in range(8)]
    t = make_tables(api, *names)
    for i in range(8):
        put_edge(api, t["root"], t[f"c{i}"])
    resp = api.get(f"/api/v1/lineage/table/{t['root']['id']}", params={"downstreamDepth": 1, "nodeLimit": 4})
    lin = ok(resp)
    assert lin["truncated"] is True
    assert resp.headers["X-Headwater-Truncated"] == "true"
    assert 1 <= len(lin["nodes"]) < 8
    shown = {n["id"] for n in lin["nodes"]}
    assert all(e["toEntity"] in shown for e in lin["downstreamEdges"])
    resp = api.get(
        f"/api/v1/lineage/table/{t['root']['id']}", params={"downstreamDepth": 1, "nodeLimit": 100}
    )
    assert ok(resp)["truncated"] is False and len(resp.json()["nodes"]) == 8
    assert resp.headers["X-Headwater-Truncated"] == "false"
    resp = api.get(f"/api/v1/lineage/table/{t['root']['id']}", params={"nodeLimit": 0})
    assert resp.status_code == 400 and "nodeLimit" in resp.json()["message"]


def test_soft_deleted_nodes_hidden_unless_include_deleted(api: httpx.Client) -> None:
    t = make_tables(api, "a", "b", "c")
    a, b, c = t["a"], t["b"], t["c"]
    put_edge(api, a, b)
    put_edge(api, b, c)
    ok(api.delete(f"/api/v1/tables/{b['id']}"))
    lin = lineage(api, a, downstreamDepth=3)
    assert lin["nodes"] == [] and lin["downstreamEdges"] == []
    lin = lineage(api, a, downstreamDepth=3, includeDeleted="true")
    assert edge_pairs(lin, "downstreamEdges") == {(a["id"], b["id"]), (b["id"], c["id"])}
    deleted = {n["name"]: n["deleted"] for n in lin["nodes"]}
    assert deleted == {"b": True, "c": False}
    # a deleted root is 404 (with code) unless includeDeleted
    resp = api.get(f"/api/v1/lineage/table/{b['id']}")
    assert resp.status_code == 404 and resp.json()["code"] == 404
    assert ok(api.get(f"/api/v1/lineage/table/{b['id']}", params={"includeDeleted": "true"}))["entity"][
        "deleted"
    ]
    # restored, it is back
    ok(api.put("/api/v1/tables/restore", json={"id": b["id"]}))
    assert edge_pairs(lineage(api, a, downstreamDepth=3), "downstreamEdges") == {
        (a["id"], b["id"]),
        (b["id"], c["id"]),
    }


def test_unknown_root_and_type(api: httpx.Client) -> None:
    t = make_tables(api, "a")
    resp = api.get("/api/v1/lineage/table/00000000-0000-0000-0000-000000000000")
    assert resp.status_code == 404 and "not found" in resp.json()["message"]
    resp = api.get(f"/api/v1/lineage/dashboard/{t['a']['id']}")
    assert resp.status_code == 404
    resp = api.get(f"/api/v1/lineage/tabel/{t['a']['id']}")
    assert resp.status_code == 400 and "tabel" in resp.json()["message"]
    resp = api.get('/api/v1/lineage/table/name/svc.db."broken.tbl')
    assert resp.status_code == 400 and resp.json()["code"] == 400
