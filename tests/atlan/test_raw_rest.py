"""The seed's "Raw REST API" requests, byte for byte, and the same results as the SDK gets."""

from __future__ import annotations

import httpx
from pyatlan.client.atlan import AtlanClient

from tests.atlan.conftest import SCHEMA_QN, edge_pairs, make_columns, make_tables, om_lineage
from tests.helpers import LiveServer

PROCESS_BODY = {
    "entities": [
        {
            "typeName": "Process",
            "attributes": {
                "name": "Source 1, Source 2, Source 3 -> Target 1, Target 2",
                "qualifiedName": "default/snowflake/1657025257/dag_123",
                "inputs": [
                    {"typeName": "Table", "guid": "495b1516-aaaf-4390-8cfd-b11ade7a7799"},
                    {"typeName": "Table", "guid": "d002dead-1655-4d75-abd6-ad889fa04bd4"},
                    {
                        "typeName": "Table",
                        "uniqueAttributes": {
                            "qualifiedName": "default/snowflake/1657025257/OPS/DEFAULT/RUN_STATS"
                        },
                    },
                ],
                "outputs": [
                    {"typeName": "Table", "guid": "86d9a061-7753-4884-b988-a02d3954bc24"},
                    {
                        "typeName": "Table",
                        "uniqueAttributes": {
                            "qualifiedName": "default/snowflake/1657025257/OPS/DEFAULT/FULL_STATS"
                        },
                    },
                ],
            },
        }
    ]
}

COLUMN_PROCESS_BODY = {
    "entities": [
        {
            "typeName": "ColumnProcess",
            "attributes": {
                "name": "Source 1, Source 2, Source 3 -> Target 1, Target 2",
                "qualifiedName": "default/snowflake/1657025257/dag_123",
                "inputs": [
                    {"typeName": "Column", "guid": "495b1516-aaaf-4390-8cfd-b11ade7a7799"},
                    {"typeName": "Column", "guid": "d002dead-1655-4d75-abd6-ad889fa04bd4"},
                    {
                        "typeName": "Column",
                        "uniqueAttributes": {
                            "qualifiedName": "default/snowflake/1657025257/OPS/DEFAULT/RUN_STATS"
                        },
                    },
                ],
                "outputs": [
                    {"typeName": "Column", "guid": "86d9a061-7753-4884-b988-a02d3954bc24"},
                    {
                        "typeName": "Column",
                        "uniqueAttributes": {
                            "qualifiedName": "default/snowflake/1657025257/OPS/DEFAULT/FULL_STATS"
                        },
                    },
                ],
                "process": {
                    "guid": "76d9a061-7753-9884-b988-a02d3954bc25",
                    "typeName": "Process",
                    "uniqueAttributes": {"qualifiedName": "default/snowflake/1657025257/parent_123"},
                },
            },
        }
    ]
}


def _types(entries: list[dict[str, object]]) -> list[object]:
    return sorted(e["typeName"] for e in entries)  # type: ignore[type-var]


def test_raw_process_create_and_purge(atlan_env: LiveServer, raw: httpx.Client) -> None:
    guids = make_tables(AtlanClient())
    r = raw.post("/api/meta/entity/bulk", json=PROCESS_BODY)
    assert r.status_code == 200, r.text
    body = r.json()
    created = body["mutatedEntities"]["CREATE"]
    assert [(c["typeName"], c["attributes"]["qualifiedName"]) for c in created] == [
        ("Process", "default/snowflake/1657025257/dag_123")
    ]
    assert _types(body["mutatedEntities"]["UPDATE"]) == ["Table"] * 5
    assert body["guidAssignments"] == {}
    guid = created[0]["guid"]
    # the same request again (a client retry) creates nothing
    again = raw.post("/api/meta/entity/bulk/", json=PROCESS_BODY).json()
    assert "CREATE" not in again["mutatedEntities"]
    assert [e["guid"] for e in again["mutatedEntities"]["UPDATE"]] == [guid]
    view = om_lineage(raw, "table", "495b1516-aaaf-4390-8cfd-b11ade7a7799")
    assert len(edge_pairs(view)) == 2

    # DELETE /api/meta/entity/bulk?guid=...&deleteType=PURGE, no payload
    r = raw.delete("/api/meta/entity/bulk", params={"guid": guid, "deleteType": "PURGE"})
    assert r.status_code == 200, r.text
    deleted = r.json()["mutatedEntities"]["DELETE"]
    assert [(d["typeName"], d["guid"], d["status"], d["deleteHandler"]) for d in deleted] == [
        ("Process", guid, "DELETED", "PURGE")
    ]
    assert _types(r.json()["mutatedEntities"]["UPDATE"]) == ["Table"] * 5
    assert raw.get(f"/api/meta/entity/guid/{guid}").status_code == 404
    for g in guids.values():
        assert raw.get(f"/api/meta/entity/guid/{g}").json()["entity"]["status"] == "ACTIVE"
    assert edge_pairs(om_lineage(raw, "table", "495b1516-aaaf-4390-8cfd-b11ade7a7799")) == set()
    # purging an unknown guid is not an error
    r = raw.delete("/api/meta/entity/bulk/", params={"guid": guid, "deleteType": "PURGE"})
    assert r.status_code == 200 and r.json() == {"mutatedEntities": {}, "guidAssignments": {}}


def test_raw_column_process(atlan_env: LiveServer, raw: httpx.Client) -> None:
    client = AtlanClient()
    make_tables(client, [("SOURCES", None), ("TARGETS", None), ("PARENT_IN", None), ("PARENT_OUT", None)])
    make_columns(
        client,
        f"{SCHEMA_QN}/SOURCES",
        [("A", "495b1516-aaaf-4390-8cfd-b11ade7a7799"), ("B", "d002dead-1655-4d75-abd6-ad889fa04bd4")],
    )
    make_columns(client, f"{SCHEMA_QN}/TARGETS", [("C", "86d9a061-7753-4884-b988-a02d3954bc24")])
    # the example names a table-like qualifiedName for its Column references: they exist as columns
    setup = {
        "entities": [
            {
                "typeName": "Column",
                "attributes": {"name": "RUN_STATS", "qualifiedName": f"{SCHEMA_QN}/RUN_STATS"},
            },
            {
                "typeName": "Column",
                "attributes": {"name": "FULL_STATS", "qualifiedName": f"{SCHEMA_QN}/FULL_STATS"},
            },
            {
                "typeName": "Process",
                "guid": "76d9a061-7753-9884-b988-a02d3954bc25",
                "attributes": {
                    "name": "parent",
                    "qualifiedName": "default/snowflake/1657025257/parent_123",
                    "inputs": [
                        {"typeName": "Table", "uniqueAttributes": {"qualifiedName": f"{SCHEMA_QN}/PARENT_IN"}}
                    ],
                    "outputs": [
                        {
                            "typeName": "Table",
                            "uniqueAttributes": {"qualifiedName": f"{SCHEMA_QN}/PARENT_OUT"},
                        }
                    ],
                },
            },
        ]
    }
    r = raw.post("/api/meta/entity/bulk/", json=setup)
    assert r.status_code == 200, r.text
    assert "76d9a061-7753-9884-b988-a02d3954bc25" in {
        c["guid"] for c in r.json()["mutatedEntities"]["CREATE"]
    }

    r = raw.post("/api/meta/entity/bulk", json=COLUMN_PROCESS_BODY)
    assert r.status_code == 200, r.text
    mutated = r.json()["mutatedEntities"]
    assert _types(mutated["CREATE"]) == ["ColumnProcess"]
    assert _types(mutated["UPDATE"]) == ["Column"] * 5
    cp = raw.get(f"/api/meta/entity/guid/{mutated['CREATE'][0]['guid']}").json()["entity"]
    assert cp["attributes"]["process"]["guid"] == "76d9a061-7753-9884-b988-a02d3954bc25"
    assert {i["guid"] for i in cp["attributes"]["inputs"]} >= {
        "495b1516-aaaf-4390-8cfd-b11ade7a7799",
        "d002dead-1655-4d75-abd6-ad889fa04bd4",
    }
    # a Process and a ColumnProcess may share a qualifiedName (it is unique per type)
    process_qn = raw.get(
        "/api/meta/entity/uniqueAttribute/type/ColumnProcess",
        params={"attr:qualifiedName": "default/snowflake/1657025257/dag_123"},
    )
    assert process_qn.status_code == 200
    missing = raw.get(
        "/api/meta/entity/uniqueAttribute/type/Process",
        params={"attr:qualifiedName": "default/snowflake/1657025257/dag_123"},
    )
    assert missing.status_code == 404 and missing.json()["errorCode"] == "ATLAS-404-00-009"


def test_raw_process_with_missing_reference(atlan_env: LiveServer, raw: httpx.Client) -> None:
    make_tables(AtlanClient(), [("RUN_STATS", None)])
    r = raw.post("/api/meta/entity/bulk/", json=PROCESS_BODY)
    assert r.status_code == 404
    body = r.json()
    assert body["errorCode"] == "ATLAS-404-00-00A"
    assert "495b1516-aaaf-4390-8cfd-b11ade7a7799" in body["errorMessage"]
    assert "entities[0].inputs[0]" in body["errorMessage"]
    # nothing was written
    assert (
        raw.get(
            "/api/meta/entity/uniqueAttribute/type/Process",
            params={"attr:qualifiedName": "default/snowflake/1657025257/dag_123"},
        ).status_code
        == 404
    )
