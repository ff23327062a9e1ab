"""The seed's "Manage lineage" examples for creating lineage directly, run with the real pyatlan.

The Python snippets are copied as published, with one exception: the published Python asserts
`len(tables) == 2` although its own annotation (14) says "Check that 5 tables (3 inputs,
2 outputs) were updated", and the Java and Kotlin versions of the same example assert 5 updated
assets. headwater reports every input and output that gains the process relationship, i.e. 5, so
the tests assert 5 (and 5 columns for the column-level example).
"""

from __future__ import annotations

import httpx
from pyatlan.client.atlan import AtlanClient
from pyatlan.model.assets import Column, ColumnProcess, Process, Table
from pyatlan.model.enums import LineageDirection
from pyatlan.model.lineage import FluentLineage
from pyatlan.model.response import AssetMutationResponse

from tests.atlan.conftest import (
    CONNECTION_QN,
    SCHEMA_QN,
    edge_pairs,
    make_columns,
    make_tables,
    om_lineage,
)
from tests.helpers import LiveServer

SRC1 = "495b1516-aaaf-4390-8cfd-b11ade7a7799"
SRC2 = "d002dead-1655-4d75-abd6-ad889fa04bd4"
TGT1 = "86d9a061-7753-4884-b988-a02d3954bc24"


def create_lineage_example() -> tuple[AtlanClient, Process]:
    # -- the seed's Python example, as published (except the count noted in the module doc) --
    from pyatlan.client.atlan import AtlanClient
    from pyatlan.model.assets import Process, Table

    client = AtlanClient()
    process = Process.creator(  # (1)
        name="Source 1, Source 2, Source 3 -> Target 1, Target 2",  # (2)
        connection_qualified_name="default/snowflake/1657025257",  # (3)
        process_id="dag_123",  # (4)
        inputs=[  # (5)
            Table.ref_by_guid(guid="495b1516-aaaf-4390-8cfd-b11ade7a7799"),
            Table.ref_by_guid(guid="d002dead-1655-4d75-abd6-ad889fa04bd4"),
            Table.ref_by_qualified_name(qualified_name="default/snowflake/1657025257/OPS/DEFAULT/RUN_STATS"),
        ],
        outputs=[  # (6)
            Table.ref_by_guid(guid="86d9a061-7753-4884-b988-a02d3954bc24"),
            Table.ref_by_qualified_name(qualified_name="default/snowflake/1657025257/OPS/DEFAULT/FULL_STATS"),
        ],
    )  # (7)
    process.sql = "select * from somewhere;"  # (8)
    process.source_url = "https://your.orchestrator/unique/id/123"  # (9)
    response = client.asset.save(process)  # (10)
    assert (processes := response.assets_created(Process))  # (11)  # noqa: RUF018
    assert len(processes) == 1  # (12)
    assert (tables := response.assets_updated(Table))  # (13)
    assert len(tables) == 5  # (14) published: == 2; see the module docstring
    return client, processes[0]


def column_lineage_example() -> tuple[AtlanClient, list[ColumnProcess]]:
    # -- the seed's Python example, as published (except the count noted in the module doc) --
    from pyatlan.client.atlan import AtlanClient
    from pyatlan.model.assets import Column, ColumnProcess, Process

    client = AtlanClient()
    column_process = ColumnProcess.creator(  # (1)
        name="Source 1, Source 2, Source 3 -> Target 1, Target 2",  # (2)
        connection_qualified_name="default/snowflake/1657025257",  # (3)
        process_id="dag_123",  # (4)
        inputs=[  # (5)
            Column.ref_by_guid(guid="495b1516-aaaf-4390-8cfd-b11ade7a7799"),
            Column.ref_by_guid(guid="d002dead-1655-4d75-abd6-ad889fa04bd4"),
            Column.ref_by_qualified_name(
                qualified_name="default/snowflake/1657025257/OPS/DEFAULT/RUN_STATS/COLUMN"
            ),
        ],
        outputs=[  # (6)
            Column.ref_by_guid(guid="86d9a061-7753-4884-b988-a02d3954bc24"),
            Column.ref_by_qualified_name(
                qualified_name="default/snowflake/1657025257/OPS/DEFAULT/FULL_STATS/COLUMN"
            ),
        ],
        parent=Process.ref_by_guid("76d9a061-7753-9884-b988-a02d3954bc25"),
    )  # (7)
    column_process.sql = "select * from somewhere;"  # (8)
    column_process.source_url = "https://your.orchestrator/unique/id/123"  # (9)
    response = client.asset.save(column_process)  # (10)
    assert (column_processes := response.assets_created(ColumnProcess))  # (11)  # noqa: RUF018
    assert len(column_processes) == 1  # (12)
    assert (columns := response.assets_updated(Column))  # (13)
    assert len(columns) == 5  # (14) published: == 2; see the module docstring

    return client, column_processes


def purge_example(guid: str) -> tuple[AtlanClient, AssetMutationResponse, list[Process]]:
    # -- the seed's Python example, with the guid of the process created above --
    from pyatlan.client.atlan import AtlanClient
    from pyatlan.model.assets import Process

    client = AtlanClient()
    response = client.asset.purge_by_guid(  # (1)
        guid=guid
    )  # (2)
    assert (processes := response.assets_deleted(Process))  # (3)  # noqa: RUF018
    assert len(processes) == 1  # (4)
    return client, response, processes


def test_create_lineage_directly(atlan_env: LiveServer, raw: httpx.Client) -> None:
    setup = AtlanClient()
    guids = make_tables(setup)
    client, created = create_lineage_example()
    assert created.qualified_name == f"{CONNECTION_QN}/dag_123"
    assert created.guid and not created.guid.startswith("-")

    # the process as Atlan shows it
    process = client.asset.get_by_guid(created.guid, asset_type=Process)
    assert process.name == "Source 1, Source 2, Source 3 -> Target 1, Target 2"
    assert process.sql == "select * from somewhere;"
    assert process.source_url == "https://your.orchestrator/unique/id/123"
    assert process.connector_name == "snowflake"
    assert process.connection_qualified_name == CONNECTION_QN
    assert [i.guid for i in process.inputs or []] == [SRC1, SRC2, guids["RUN_STATS"]]
    assert [o.guid for o in process.outputs or []] == [TGT1, guids["FULL_STATS"]]
    same = client.asset.get_by_qualified_name(f"{CONNECTION_QN}/dag_123", asset_type=Process)
    assert same.guid == process.guid

    # the inputs and outputs gained their process relationships
    run_stats = client.asset.get_by_qualified_name(f"{SCHEMA_QN}/RUN_STATS", asset_type=Table)
    assert [p.guid for p in run_stats.input_to_processes or []] == [process.guid]
    target = client.asset.get_by_guid(TGT1, asset_type=Table)
    assert [p.guid for p in target.output_from_processes or []] == [process.guid]

    # the same lineage in the OpenMetadata-style API: edges input -> output, the process as pipeline
    view = om_lineage(raw, "table", SRC1)
    assert edge_pairs(view) == {(SRC1, TGT1), (SRC1, guids["FULL_STATS"])}
    for edge in view["downstreamEdges"]:
        details = edge["lineageDetails"]
        assert details["pipeline"]["id"] == process.guid
        assert details["pipeline"]["type"] == "process"
        assert details["source"] == "AtlanProcess"
        assert details["sqlQuery"] == "select * from somewhere;"
    up = om_lineage(raw, "table", guids["FULL_STATS"])
    assert edge_pairs(up, "upstreamEdges") == {
        (SRC1, guids["FULL_STATS"]),
        (SRC2, guids["FULL_STATS"]),
        (guids["RUN_STATS"], guids["FULL_STATS"]),
    }
    by_pipeline = om_lineage(raw, "process", process.guid)
    assert len(edge_pairs(by_pipeline)) == 6

    # downstream through this API: the process, then its outputs, one level
    lineage = FluentLineage(starting_guid=SRC1, direction=LineageDirection.DOWNSTREAM, depth=1).request
    found = [(a.type_name, a.guid, a.depth) for a in client.asset.get_lineage_list(lineage)]
    assert found[0] == ("Process", process.guid, 1)
    assert sorted(found[1:]) == sorted([("Table", TGT1, 1), ("Table", guids["FULL_STATS"], 1)])
    upstream = FluentLineage(starting_guid=TGT1, direction=LineageDirection.UPSTREAM).request
    up_found = {a.guid for a in client.asset.get_lineage_list(upstream)}
    assert up_found == {process.guid, SRC1, SRC2, guids["RUN_STATS"]}


def test_resave_is_idempotent(atlan_env: LiveServer, raw: httpx.Client) -> None:
    make_tables(AtlanClient())
    client, first = create_lineage_example()
    again = Process.creator(
        name="Source 1, Source 2, Source 3 -> Target 1, Target 2",
        connection_qualified_name="default/snowflake/1657025257",
        process_id="dag_123",
        inputs=[Table.ref_by_guid(guid=SRC1), Table.ref_by_guid(guid=SRC2)],
        outputs=[Table.ref_by_guid(guid=TGT1)],
    )
    response = client.asset.save(again)
    assert response.assets_created(Process) == []
    assert [p.guid for p in response.assets_updated(Process)] == [first.guid]
    assert response.guid_assignments == {again.guid: first.guid}
    # replacing the inputs and outputs drops the edges they no longer form
    view = om_lineage(raw, "process", str(first.guid))
    assert edge_pairs(view) == {(SRC1, TGT1), (SRC2, TGT1)}
    # the same body twice (a retried POST) changes nothing
    client.asset.save(again)
    assert edge_pairs(om_lineage(raw, "process", str(first.guid))) == {(SRC1, TGT1), (SRC2, TGT1)}
    assert (
        raw.get(
            "/api/meta/entity/uniqueAttribute/type/Process",
            params={"attr:qualifiedName": f"{CONNECTION_QN}/dag_123"},
        ).json()["entity"]["guid"]
        == first.guid
    )


def test_generated_qualified_name_updates_the_same_process(atlan_env: LiveServer) -> None:
    client = AtlanClient()
    make_tables(client)

    def build() -> Process:
        return Process.creator(
            name="etl",
            connection_qualified_name=CONNECTION_QN,
            inputs=[Table.ref_by_guid(guid=SRC1)],
            outputs=[Table.ref_by_guid(guid=TGT1)],
        )

    first = client.asset.save(build())
    second = client.asset.save(build())
    created = first.assets_created(Process)
    assert len(created) == 1 and second.assets_created(Process) == []
    assert [p.guid for p in second.assets_updated(Process)] == [created[0].guid]
    import hashlib

    digest = hashlib.md5(f"etl{CONNECTION_QN}{SRC1}{TGT1}".encode()).hexdigest()
    assert created[0].qualified_name == f"{CONNECTION_QN}/{digest}"


def test_column_lineage_directly(atlan_env: LiveServer, raw: httpx.Client) -> None:
    setup = AtlanClient()
    make_tables(setup, [("RUN_STATS", None), ("FULL_STATS", None), ("SOURCES", None), ("TARGETS", None)])
    parent = Process.creator(
        name="parent",
        connection_qualified_name=CONNECTION_QN,
        process_id="parent_123",
        inputs=[Table.ref_by_qualified_name(qualified_name=f"{SCHEMA_QN}/RUN_STATS")],
        outputs=[Table.ref_by_qualified_name(qualified_name=f"{SCHEMA_QN}/FULL_STATS")],
    )
    parent.guid = "76d9a061-7753-9884-b988-a02d3954bc25"  # the guid the seed's example names
    assert setup.asset.save(parent).assets_created(Process)
    src = make_columns(
        setup,
        f"{SCHEMA_QN}/SOURCES",
        [("ONE", "495b1516-aaaf-4390-8cfd-b11ade7a7799"), ("TWO", "d002dead-1655-4d75-abd6-ad889fa04bd4")],
    )
    make_columns(setup, f"{SCHEMA_QN}/RUN_STATS", [("COLUMN", None)])
    make_columns(setup, f"{SCHEMA_QN}/TARGETS", [("THREE", "86d9a061-7753-4884-b988-a02d3954bc24")])
    out = make_columns(setup, f"{SCHEMA_QN}/FULL_STATS", [("COLUMN", None)])

    client, column_processes = column_lineage_example()

    cp = client.asset.get_by_guid(str(column_processes[0].guid), asset_type=ColumnProcess)
    assert cp.qualified_name == f"{CONNECTION_QN}/dag_123"
    assert cp.process is not None and cp.process.guid == "76d9a061-7753-9884-b988-a02d3954bc25"
    # column-level lineage through this API: from a source column, the column process then targets
    lineage = FluentLineage(starting_guid=src["ONE"], direction=LineageDirection.DOWNSTREAM).request
    found = {(a.type_name, a.guid) for a in client.asset.get_lineage_list(lineage)}
    assert found == {
        ("ColumnProcess", cp.guid),
        ("Column", "86d9a061-7753-4884-b988-a02d3954bc24"),
        ("Column", out["COLUMN"]),
    }
    # and in the OpenMetadata-style API: the table edge RUN_STATS -> FULL_STATS carries the mapping
    run_stats = setup.asset.get_by_qualified_name(f"{SCHEMA_QN}/RUN_STATS", asset_type=Table)
    view = om_lineage(raw, "table", str(run_stats.guid))
    edges = {(e["fromEntity"], e["toEntity"]): e["lineageDetails"] for e in view["downstreamEdges"]}
    full_stats = setup.asset.get_by_qualified_name(f"{SCHEMA_QN}/FULL_STATS", asset_type=Table)
    details = edges[(str(run_stats.guid), str(full_stats.guid))]
    assert details["pipeline"]["id"] == "76d9a061-7753-9884-b988-a02d3954bc25"
    assert {
        "fromColumns": [f"{SCHEMA_QN}/RUN_STATS/COLUMN"],
        "toColumn": f"{SCHEMA_QN}/FULL_STATS/COLUMN",
    } in details["columnsLineage"]
    sources = setup.asset.get_by_qualified_name(f"{SCHEMA_QN}/SOURCES", asset_type=Table)
    view = om_lineage(raw, "table", str(sources.guid))
    mapped = {
        (tuple(c["fromColumns"]), c["toColumn"])
        for e in view["downstreamEdges"]
        for c in e["lineageDetails"]["columnsLineage"]
    }
    assert (
        (f"{SCHEMA_QN}/SOURCES/ONE", f"{SCHEMA_QN}/SOURCES/TWO"),
        f"{SCHEMA_QN}/FULL_STATS/COLUMN",
    ) in mapped


def test_purge_removes_the_process_and_its_lineage_only(atlan_env: LiveServer, raw: httpx.Client) -> None:
    setup = AtlanClient()
    guids = make_tables(setup)
    _, created = create_lineage_example()
    make_columns(setup, f"{SCHEMA_QN}/RUN_STATS", [("ID", None)])
    make_columns(setup, f"{SCHEMA_QN}/FULL_STATS", [("ID", None)])
    cp = ColumnProcess.creator(
        name="id",
        connection_qualified_name=CONNECTION_QN,
        inputs=[Column.ref_by_qualified_name(qualified_name=f"{SCHEMA_QN}/RUN_STATS/ID")],
        outputs=[Column.ref_by_qualified_name(qualified_name=f"{SCHEMA_QN}/FULL_STATS/ID")],
        parent=Process.ref_by_guid(str(created.guid)),
    )
    cp_guid = setup.asset.save(cp).assets_created(ColumnProcess)[0].guid

    client, response, processes = purge_example(str(created.guid))
    assert processes[0].guid == created.guid
    assert {t.guid for t in response.assets_updated(Table)} == set(guids.values())

    # the process is gone, inputs and outputs stay without the link, the column process stays
    r = raw.get(f"/api/meta/entity/guid/{created.guid}")
    assert r.status_code == 404 and r.json()["errorCode"] == "ATLAS-404-00-005"
    target = client.asset.get_by_guid(TGT1, asset_type=Table)
    assert not target.output_from_processes
    assert client.asset.get_by_guid(str(cp_guid), asset_type=ColumnProcess).guid == cp_guid
    view = om_lineage(raw, "table", SRC1)
    assert edge_pairs(view) == set()
    lineage = FluentLineage(starting_guid=SRC1, direction=LineageDirection.DOWNSTREAM).request
    assert list(client.asset.get_lineage_list(lineage)) == []
    # the column-level lineage is still there (the seed's warning)
    col_lineage = FluentLineage(
        starting_guid=str(
            setup.asset.get_by_qualified_name(f"{SCHEMA_QN}/RUN_STATS/ID", asset_type=Column).guid
        )
    ).request
    assert {a.guid for a in client.asset.get_lineage_list(col_lineage)} >= {cp_guid}
