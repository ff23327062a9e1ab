"""Atlan API behaviour beyond the seed: placeholders, partial assets, append/remove, soft delete and
restore, lineage paging and filters, error shapes, and lineage from other APIs seen through Atlan."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pyatlan.client.atlan import AtlanClient
from pyatlan.errors import InvalidRequestError, NotFoundError
from pyatlan.model.assets import Process, Table
from pyatlan.model.enums import AtlanDeleteType, LineageDirection
from pyatlan.model.fields.atlan_fields import LineageFilterFieldString
from pyatlan.model.lineage import FluentLineage

from tests.atlan.conftest import CONNECTION_QN, SCHEMA_QN, edge_pairs, make_tables, om_lineage
from tests.helpers import LiveServer


def _table(name: str, guid: str) -> dict[str, Any]:
    return {
        "typeName": "Table",
        "guid": guid,
        "attributes": {
            "name": name,
            "qualifiedName": f"{SCHEMA_QN}/{name}",
            "connectionQualifiedName": CONNECTION_QN,
        },
    }


def _chain(n: int) -> dict[str, Any]:
    """T0 -> P0 -> T1 -> P1 -> ... -> Tn in one request, linked by placeholder guids."""
    entities = [_table(f"T{i}", f"-{i + 1}") for i in range(n + 1)]
    for i in range(n):
        entities.append(
            {
                "typeName": "Process",
                "guid": f"-{1000 + i}",
                "attributes": {
                    "name": f"P{i}",
                    "qualifiedName": f"{CONNECTION_QN}/p{i}",
                    "connectionQualifiedName": CONNECTION_QN,
                    "inputs": [{"typeName": "Table", "guid": f"-{i + 1}"}],
                    "outputs": [{"typeName": "Table", "guid": f"-{i + 2}"}],
                },
            }
        )
    return {"entities": entities}


def test_placeholders_in_one_request(raw: httpx.Client) -> None:
    r = raw.post("/api/meta/entity/bulk/", json=_chain(3))
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["mutatedEntities"]["CREATE"]) == 7
    assignments = body["guidAssignments"]
    assert set(assignments) == {"-1", "-2", "-3", "-4", "-1000", "-1001", "-1002"}
    assert all(not g.startswith("-") for g in assignments.values())
    process = raw.get(f"/api/meta/entity/guid/{assignments['-1000']}").json()["entity"]
    assert [i["guid"] for i in process["attributes"]["inputs"]] == [assignments["-1"]]
    # a placeholder not in the request is an error naming it
    bad = {"entities": [{**_chain(1)["entities"][2], "guid": "-5"}]}
    bad["entities"][0]["attributes"]["inputs"] = [{"typeName": "Table", "guid": "-77"}]
    r = raw.post("/api/meta/entity/bulk/", json=bad)
    assert r.status_code == 404 and "-77" in r.json()["errorMessage"]


def test_lineage_list_paging_depth_and_filters(atlan_env: LiveServer, raw: httpx.Client) -> None:
    assignments = raw.post("/api/meta/entity/bulk/", json=_chain(4)).json()["guidAssignments"]
    client = AtlanClient()
    t0 = assignments["-1"]
    everything = FluentLineage(starting_guid=t0, direction=LineageDirection.DOWNSTREAM, size=3).request
    found = [(a.name, a.depth) for a in client.asset.get_lineage_list(everything)]
    assert found == [("P0", 1), ("T1", 1), ("P1", 2), ("T2", 2), ("P2", 3), ("T3", 3), ("P3", 4), ("T4", 4)]
    shallow = FluentLineage(starting_guid=t0, direction=LineageDirection.DOWNSTREAM, depth=2, size=2).request
    assert [a.name for a in client.asset.get_lineage_list(shallow)] == ["P0", "T1", "P1", "T2"]
    only_tables = FluentLineage(
        starting_guid=t0,
        direction=LineageDirection.DOWNSTREAM,
        includes_in_results=[FluentLineage.ACTIVE],
        where_assets=[LineageFilterFieldString(Table.NAME).neq("T3")],
    )
    assert [a.name for a in client.asset.get_lineage_list(only_tables.request)] == [
        "P0",
        "T1",
        "P1",
        "T2",
        "P2",
    ]
    # upstream from the end, starting at a process
    upstream = FluentLineage(starting_guid=assignments["-1003"], direction=LineageDirection.UPSTREAM).request
    assert [(a.name, a.depth) for a in client.asset.get_lineage_list(upstream)][:3] == [
        ("T3", 1),
        ("P2", 2),
        ("T2", 2),
    ]
    # raw: hasMore only when another entity exists; a page past the end is empty with hasMore false
    page = raw.post(
        "/api/meta/lineage/list", json={"guid": t0, "depth": 1, "direction": "OUTPUT", "from": 0, "size": 2}
    ).json()
    assert page["hasMore"] is False and page["entityCount"] == 2
    page = raw.post(
        "/api/meta/lineage/list", json={"guid": t0, "depth": 9, "direction": "OUTPUT", "from": 0, "size": 2}
    ).json()
    assert page["hasMore"] is True
    page = raw.post(
        "/api/meta/lineage/list", json={"guid": t0, "depth": 9, "direction": "OUTPUT", "from": 8, "size": 2}
    ).json()
    assert page["entities"] == [] and page["hasMore"] is False
    # immediate neighbours: the start first, and two-hop neighbours of the same kind
    page = raw.post(
        "/api/meta/lineage/list",
        json={
            "guid": assignments["-2"],
            "depth": 1,
            "direction": "OUTPUT",
            "from": 0,
            "size": 5,
            "immediateNeighbours": True,
        },
    ).json()
    first = page["entities"][0]
    assert (first["guid"], first["depth"]) == (assignments["-2"], 0)
    assert [n["guid"] for n in first["immediateUpstream"]] == [t0]
    assert [n["guid"] for n in first["immediateDownstream"]] == [assignments["-3"]]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"depth": 1, "direction": "OUTPUT", "from": 0, "size": 2}, "guid"),
        ({"guid": "x", "depth": -1, "direction": "OUTPUT", "from": 0, "size": 2}, "depth"),
        ({"guid": "x", "depth": 1, "direction": "BOTH", "from": 0, "size": 2}, "direction"),
    ],
)
def test_lineage_list_validation(raw: httpx.Client, body: dict[str, Any], fragment: str) -> None:
    r = raw.post("/api/meta/lineage/list", json=body)
    assert r.status_code == 400 and r.json()["errorCode"] == "ATLAS-400-00-029"
    assert fragment in r.json()["errorMessage"]


def test_lineage_list_unknown_guid(atlan_env: LiveServer) -> None:
    client = AtlanClient()
    with pytest.raises(NotFoundError):
        client.asset.get_lineage_list(FluentLineage(starting_guid="no-such-guid").request)


def test_append_and_remove_relationships(atlan_env: LiveServer, raw: httpx.Client) -> None:
    client = AtlanClient()
    guids = make_tables(client, [("A", None), ("B", None), ("C", None), ("OUT", None)])
    process = Process.creator(
        name="p",
        connection_qualified_name=CONNECTION_QN,
        process_id="p",
        inputs=[Table.ref_by_guid(guids["A"])],
        outputs=[Table.ref_by_guid(guids["OUT"])],
    )
    pguid = client.asset.save(process).assets_created(Process)[0].guid
    body = {
        "entities": [
            {
                "typeName": "Process",
                "guid": "-1",
                "attributes": {"qualifiedName": f"{CONNECTION_QN}/p", "name": "p"},
                "appendRelationshipAttributes": {"inputs": [{"typeName": "Table", "guid": guids["B"]}]},
                "removeRelationshipAttributes": {
                    "inputs": [{"typeName": "Table", "uniqueAttributes": {"qualifiedName": f"{SCHEMA_QN}/A"}}]
                },
            }
        ]
    }
    r = raw.post("/api/meta/entity/bulk/", json=body)
    assert r.status_code == 200, r.text
    mutated = r.json()["mutatedEntities"]
    assert [e["guid"] for e in mutated["PARTIAL_UPDATE"]] == [pguid]
    assert {e["guid"] for e in mutated["UPDATE"]} == {guids["A"], guids["B"]}
    assert edge_pairs(om_lineage(raw, "process", str(pguid))) == {(guids["B"], guids["OUT"])}
    # SDK-style append with Table.ref_by_guid(semantic=APPEND)
    from pyatlan.model.enums import SaveSemantic

    updater = Process.updater(qualified_name=f"{CONNECTION_QN}/p", name="p")
    updater.inputs = [Table.ref_by_guid(guids["C"], semantic=SaveSemantic.APPEND)]
    client.asset.save(updater)
    assert edge_pairs(om_lineage(raw, "process", str(pguid))) == {
        (guids["B"], guids["OUT"]),
        (guids["C"], guids["OUT"]),
    }


def test_two_processes_on_one_pair(atlan_env: LiveServer, raw: httpx.Client) -> None:
    client = AtlanClient()
    guids = make_tables(client, [("A", None), ("B", None)])
    made = []
    for pid in ("one", "two"):
        p = Process.creator(
            name=pid,
            connection_qualified_name=CONNECTION_QN,
            process_id=pid,
            inputs=[Table.ref_by_guid(guids["A"])],
            outputs=[Table.ref_by_guid(guids["B"])],
        )
        made.append(client.asset.save(p).assets_created(Process)[0].guid)
    view = om_lineage(raw, "table", guids["A"])
    assert view["downstreamEdges"][0]["lineageDetails"]["pipeline"]["id"] == made[1]
    lineage = FluentLineage(starting_guid=guids["A"], direction=LineageDirection.DOWNSTREAM).request
    assert {a.guid for a in client.asset.get_lineage_list(lineage)} == {*made, guids["B"]}
    client.asset.purge_by_guid(made[1])
    view = om_lineage(raw, "table", guids["A"])
    assert view["downstreamEdges"][0]["lineageDetails"]["pipeline"]["id"] == made[0]
    client.asset.purge_by_guid(made[0])
    assert edge_pairs(om_lineage(raw, "table", guids["A"])) == set()


def test_soft_delete_and_restore(atlan_env: LiveServer, raw: httpx.Client) -> None:
    client = AtlanClient()
    guids = make_tables(client, [("A", None), ("B", None)])
    p = Process.creator(
        name="p",
        connection_qualified_name=CONNECTION_QN,
        process_id="p",
        inputs=[Table.ref_by_guid(guids["A"])],
        outputs=[Table.ref_by_guid(guids["B"])],
    )
    pguid = str(client.asset.save(p).assets_created(Process)[0].guid)
    response = client.asset.delete_by_guid(pguid)  # SOFT: GET, DELETE, GET again
    assert [d.guid for d in response.assets_deleted(Process)] == [pguid]
    archived = client.asset.get_by_guid(pguid, asset_type=Process)
    assert archived.status.value == "DELETED"
    assert edge_pairs(om_lineage(raw, "table", guids["A"])) == set()
    assert client.asset.restore(asset_type=Process, qualified_name=f"{CONNECTION_QN}/p")
    restored = client.asset.get_by_guid(pguid, asset_type=Process)
    assert restored.status.value == "ACTIVE"
    assert edge_pairs(om_lineage(raw, "table", guids["A"])) == {(guids["A"], guids["B"])}
    hard = client.asset.purge_by_guid(pguid, delete_type=AtlanDeleteType.HARD)
    assert hard.assets_deleted(Process)[0].delete_handler == "HARD"
    with pytest.raises(NotFoundError):
        client.asset.get_by_guid(pguid, asset_type=Process)


def test_errors_in_shapes_the_sdk_parses(atlan_env: LiveServer, raw: httpx.Client) -> None:
    client = AtlanClient()
    with pytest.raises(NotFoundError) as info:
        client.asset.get_by_guid("nope")
    assert "ATLAS-404-00-005" in str(info.value)
    with pytest.raises(NotFoundError):
        client.asset.get_by_qualified_name("default/x/1/nope", asset_type=Table)
    missing = Process.creator(
        name="p",
        connection_qualified_name=CONNECTION_QN,
        inputs=[Table.ref_by_qualified_name(f"{SCHEMA_QN}/MISSING")],
        outputs=[Table.ref_by_qualified_name(f"{SCHEMA_QN}/ALSO")],
    )
    with pytest.raises(NotFoundError) as info:
        client.asset.save(missing)
    assert f"{SCHEMA_QN}/MISSING" in str(info.value)
    for body, code in [
        ({"entities": []}, "ATLAS-400-00-01A"),
        ({}, "ATLAS-400-00-01A"),
        ({"entities": [{"typeName": "Table", "attributes": {"name": "x"}}] * 10_001}, "ATLAS-400-00-212"),
        ({"entities": [{"attributes": {}}]}, "ATLAS-400-00-01A"),
        ({"entities": [{"typeName": "Table", "attributes": {"name": "x"}}]}, "ATLAS-400-00-01C"),
    ]:
        r = raw.post("/api/meta/entity/bulk/", json=body)
        assert r.status_code == 400, r.text
        assert r.json()["errorCode"] == code
        assert r.json()["errorMessage"]
    r = raw.post("/api/meta/entity/bulk/", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["errorMessage"]
    r = raw.delete("/api/meta/entity/bulk/", params={"deleteType": "PURGE"})
    assert r.status_code == 400 and r.json()["errorMessage"] == "Guid(s) not specified"
    cp = {
        "entities": [
            {
                "typeName": "ColumnProcess",
                "attributes": {"name": "c", "qualifiedName": "c", "inputs": [], "outputs": []},
            }
        ]
    }
    r = raw.post("/api/meta/entity/bulk/", json=cp)
    assert r.status_code == 400 and "process" in r.json()["errorMessage"]
    with pytest.raises(InvalidRequestError):
        client.asset.get_lineage_list(
            FluentLineage(starting_guid="x", direction=LineageDirection.DOWNSTREAM, depth=-1).request
        )


def test_auth(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as anon:
        r = anon.post("/api/meta/entity/bulk/", json=_chain(1))
        assert r.status_code == 401 and r.json()["message"]
    with server.client("viewer") as viewer:
        assert viewer.post("/api/meta/entity/bulk/", json=_chain(1)).status_code == 403
        assert viewer.post("/api/meta/lineage/list", json={"guid": "x"}).status_code == 404


def test_partial_references_become_partial_assets(raw: httpx.Client) -> None:
    body = {
        "entities": [
            {
                "typeName": "Process",
                "attributes": {
                    "name": "ol",
                    "qualifiedName": "default/spark/1/job",
                    "inputs": [
                        {
                            "typeName": "Table",
                            "uniqueAttributes": {"qualifiedName": "default/spark/1/DB/S/IN"},
                            "attributes": {"isPartial": True},
                        }
                    ],
                    "outputs": [
                        {
                            "typeName": "Table",
                            "uniqueAttributes": {"qualifiedName": "default/spark/1/DB/S/OUT"},
                            "attributes": {"isPartial": True},
                        }
                    ],
                },
            }
        ]
    }
    r = raw.post("/api/meta/entity/bulk/", json=body)
    assert r.status_code == 200, r.text
    assert sorted(c["typeName"] for c in r.json()["mutatedEntities"]["CREATE"]) == [
        "Process",
        "Table",
        "Table",
    ]
    got = raw.get(
        "/api/meta/entity/uniqueAttribute/type/Table",
        params={"attr:qualifiedName": "default/spark/1/DB/S/IN"},
    ).json()
    assert got["entity"]["attributes"]["isPartial"] is True
    # the full asset arriving later completes the same one, not a duplicate
    full = {
        "entities": [
            {
                "typeName": "Table",
                "attributes": {
                    "name": "IN",
                    "qualifiedName": "default/spark/1/DB/S/IN",
                    "description": "real",
                },
            }
        ]
    }
    r = raw.post("/api/meta/entity/bulk/", json=full).json()
    assert "CREATE" not in r["mutatedEntities"]
    again = raw.get(
        "/api/meta/entity/uniqueAttribute/type/Table",
        params={"attr:qualifiedName": "default/spark/1/DB/S/IN"},
    ).json()
    assert again["entity"]["guid"] == got["entity"]["guid"]
    assert not again["entity"]["attributes"].get("isPartial")


def test_lineage_from_the_openmetadata_api_is_visible(atlan_env: LiveServer, raw: httpx.Client) -> None:
    client = AtlanClient()
    guids = make_tables(client, [("A", None), ("B", None)])
    r = raw.put(
        "/api/v1/lineage",
        json={
            "edge": {
                "fromEntity": {"id": guids["A"], "type": "table"},
                "toEntity": {"id": guids["B"], "type": "table"},
            }
        },
    )
    assert r.status_code == 200, r.text
    lineage = FluentLineage(starting_guid=guids["A"], direction=LineageDirection.DOWNSTREAM).request
    assert [(a.guid, a.depth) for a in client.asset.get_lineage_list(lineage)] == [(guids["B"], 1)]
