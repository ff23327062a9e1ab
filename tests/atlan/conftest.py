"""Fixtures for the Atlan API tests: the real pyatlan SDK pointed at a live headwater server.

The seed's examples construct `AtlanClient()` with no arguments; it reads ATLAN_BASE_URL and
ATLAN_API_KEY from the environment, which `atlan_env` sets to the live server and its admin token.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

pytest.importorskip("pyatlan", reason="install the atlan-test extra: pip install -e '.[atlan-test]'")

from pyatlan.client.atlan import AtlanClient
from pyatlan.model.assets import Column, Connection, Database, Schema, Table
from pyatlan.model.enums import AtlanConnectorType

from tests.helpers import LiveServer

CONNECTION_QN = "default/snowflake/1657025257"
SCHEMA_QN = f"{CONNECTION_QN}/OPS/DEFAULT"

# the tables the seed's "create lineage between assets" example references
SEED_TABLES: list[tuple[str, str | None]] = [
    ("SOURCE_1", "495b1516-aaaf-4390-8cfd-b11ade7a7799"),
    ("SOURCE_2", "d002dead-1655-4d75-abd6-ad889fa04bd4"),
    ("RUN_STATS", None),
    ("TARGET_1", "86d9a061-7753-4884-b988-a02d3954bc24"),
    ("FULL_STATS", None),
]


@pytest.fixture
def atlan_env(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> LiveServer:
    monkeypatch.setenv("ATLAN_BASE_URL", server.url)
    monkeypatch.setenv("ATLAN_API_KEY", server.admin_token)
    return server


@pytest.fixture
def client(atlan_env: LiveServer) -> Iterator[AtlanClient]:
    yield AtlanClient()


@pytest.fixture
def raw(server: LiveServer) -> Iterator[httpx.Client]:
    """Plain HTTP with the admin token, for the seed's raw REST requests."""
    with server.client("admin") as http:
        yield http


def make_connection(client: AtlanClient, qualified_name: str = CONNECTION_QN, name: str = "snowflake") -> str:
    admin = client.role_cache.get_id_for_name("$admin")
    assert admin
    connection = Connection.creator(
        client=client, name=name, connector_type=AtlanConnectorType.SNOWFLAKE, admin_roles=[admin]
    )
    connection.qualified_name = qualified_name
    response = client.asset.save(connection)
    created = response.assets_created(Connection)
    assert len(created) == 1
    return str(created[0].guid)


def make_tables(
    client: AtlanClient, tables: list[tuple[str, str | None]] = SEED_TABLES, schema_qn: str = SCHEMA_QN
) -> dict[str, str]:
    """Connection, database, schema and tables (with the given guids); returns name -> guid."""
    connection_qn = "/".join(schema_qn.split("/")[:3])
    db_name, schema_name = schema_qn.split("/")[3:5]
    make_connection(client, connection_qn)
    client.asset.save(Database.creator(name=db_name, connection_qualified_name=connection_qn))
    client.asset.save(Schema.creator(name=schema_name, database_qualified_name=f"{connection_qn}/{db_name}"))
    batch = []
    for name, guid in tables:
        table = Table.creator(name=name, schema_qualified_name=schema_qn)
        if guid:
            table.guid = guid  # keep the seed's guids
        batch.append(table)
    response = client.asset.save(batch)
    created = response.assets_created(Table)
    assert len(created) == len(tables)
    return {t.name: str(t.guid) for t in created}


def make_columns(client: AtlanClient, table_qn: str, columns: list[tuple[str, str | None]]) -> dict[str, str]:
    table_name = table_qn.rsplit("/", 1)[-1]
    batch = []
    for order, (name, guid) in enumerate(columns, start=1):
        column = Column.creator(
            name=name, parent_type=Table, parent_name=table_name, parent_qualified_name=table_qn, order=order
        )
        if guid:
            column.guid = guid
        batch.append(column)
    response = client.asset.save(batch)
    created = response.assets_created(Column)
    assert len(created) == len(columns)
    return {c.name: str(c.guid) for c in created}


def om_lineage(raw: httpx.Client, asset_type: str, guid: str, **params: Any) -> dict[str, Any]:
    """The OpenMetadata-style lineage of an asset, by id."""
    r = raw.get(
        f"/api/v1/lineage/{asset_type}/{guid}", params={"upstreamDepth": 3, "downstreamDepth": 3, **params}
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def edge_pairs(view: dict[str, Any], key: str = "downstreamEdges") -> set[tuple[str, str]]:
    return {(e["fromEntity"], e["toEntity"]) for e in view.get(key, [])}
