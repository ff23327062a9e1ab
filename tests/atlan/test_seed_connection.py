"""The seed's "Create Spark connection for using OpenLineage" example, and its raw REST form."""

from __future__ import annotations

import httpx
import pytest
from pyatlan.client.atlan import AtlanClient
from pyatlan.errors import AtlanError
from pyatlan.model.assets import Connection
from pyatlan.model.enums import AtlanConnectorType
from pyatlan.model.group import AtlanGroup
from pyatlan.model.response import AssetMutationResponse
from pyatlan.model.user import AtlanUser

from tests.helpers import LiveServer


def register_directory(client: AtlanClient) -> None:
    """The user and group the seed names, registered through the SDK's own user and group APIs."""
    client.user.create([AtlanUser.create(email="jsmith@example.com", role_name="$member")])
    client.group.create(AtlanGroup.create(alias="group2"))


def create_spark_connection() -> AssetMutationResponse:
    # -- the seed's Python example, as published --
    from pyatlan.client.atlan import AtlanClient

    client = AtlanClient()
    admin_role_guid = client.role_cache.get_id_for_name("$admin")  # (1)
    spark_connection = client.open_lineage.create_connection(  # (2)
        name="open_lineage_connection",
        connector_type=AtlanConnectorType.SPARK,
        admin_roles=[admin_role_guid],
        admin_users=["jsmith"],
        admin_groups=["group2"],
    )
    return spark_connection


def test_create_spark_connection(atlan_env: LiveServer, raw: httpx.Client) -> None:
    client = AtlanClient()
    register_directory(client)
    response = create_spark_connection()
    created = response.assets_created(Connection)
    assert len(created) == 1
    connection = client.asset.get_by_guid(str(created[0].guid), asset_type=Connection)
    assert connection.name == "open_lineage_connection"
    assert connection.connector_name == "spark"
    prefix, connector, epoch = str(connection.qualified_name).split("/")
    assert (prefix, connector) == ("default", "spark") and epoch.isdigit()
    assert connection.admin_users == {"jsmith"} or connection.admin_users == ["jsmith"]
    assert set(connection.admin_groups or []) == {"group2"}
    assert set(connection.admin_roles or []) == {client.role_cache.get_id_for_name("$admin")}
    credential = raw.get(f"/api/service/credentials/{connection.default_credential_guid}").json()
    assert credential["connector"] == "spark"
    assert credential["extra"]["events.urlPath"] == "/events/openlineage/spark/api/v1/lineage"
    # the connection is a headwater asset like any other
    stored = atlan_env.store.get_asset(str(connection.guid))
    assert stored is not None and stored.type.value == "connection"


def test_unknown_admins_are_rejected_by_the_sdk(atlan_env: LiveServer) -> None:
    client = AtlanClient()
    with pytest.raises(ValueError, match="jsmith"):
        client.open_lineage.create_connection(name="c", admin_users=["jsmith"])
    with pytest.raises(ValueError, match="is required"):
        client.open_lineage.create_connection(name="c")


def test_connection_needs_an_admin_server_side(raw: httpx.Client) -> None:
    body = {
        "entities": [
            {"typeName": "Connection", "attributes": {"name": "x", "qualifiedName": "default/spark/1"}}
        ]
    }
    r = raw.post("/api/meta/entity/bulk/", json=body)
    assert r.status_code == 400
    assert "adminUsers" in r.json()["errorMessage"]


def test_raw_rest_connection(raw: httpx.Client) -> None:
    """The two raw REST requests of the seed, in order."""
    r = raw.post(
        "/api/service/credentials",
        params={"testCredential": "true"},
        json={
            "authType": "atlan_api_key",
            "name": "default-spark-1716979138-0",
            "connector": "spark",
            "connectorConfigName": "atlan-connectors-spark",
            "connectorType": "event",
            "extra": {
                "events.enable-partial-assets": True,
                "events.enabled": True,
                "events.topic": "openlineage_spark",
                "events.urlPath": "/events/openlineage/spark/api/v1/lineage",
            },
        },
    )
    assert r.status_code == 200, r.text
    credential_id = r.json()["id"]
    r = raw.post(
        "/api/meta/entity/bulk",
        json={
            "entities": [
                {
                    "typeName": "Connection",
                    "attributes": {
                        "name": "open_lineage_connection",
                        "connectorName": "spark",
                        "qualifiedName": "default/spark/123456789",
                        "category": "connector",
                        "defaultCredentialGuid": credential_id,
                        "adminRoles": ["e7ae0295-c60a-469a-bd2c-fb903943aa02"],
                        "adminGroups": ["group2"],
                        "adminUsers": ["jsmith"],
                    },
                }
            ]
        },
    )
    assert r.status_code == 200, r.text
    created = r.json()["mutatedEntities"]["CREATE"]
    assert [(c["typeName"], c["attributes"]["qualifiedName"]) for c in created] == [
        ("Connection", "default/spark/123456789")
    ]
    got = raw.get(
        "/api/meta/entity/uniqueAttribute/type/Connection",
        params={"attr:qualifiedName": "default/spark/123456789"},
    ).json()["entity"]
    assert got["attributes"]["defaultCredentialGuid"] == credential_id


def test_roles_users_groups_as_the_sdk_reads_them(atlan_env: LiveServer) -> None:
    client = AtlanClient()
    register_directory(client)
    assert client.role_cache.get_id_for_name("$admin")
    assert client.role_cache.get_id_for_name("$nope") is None
    assert client.user_cache.get_id_for_name("jsmith")
    assert client.user_cache.get_id_for_name("test-admin")  # API token names are users too
    assert client.group_cache.get_id_for_name("group2")
    assert client.group_cache.get_id_for_alias("group2")
    with pytest.raises(AtlanError):
        client.group.create(AtlanGroup.create(alias="group2"))  # already exists: 409


def test_directory_writes_need_admin(server: LiveServer) -> None:
    with server.client("editor") as http:
        r = http.post("/api/service/groups", json={"group": {"name": "g"}})
        assert r.status_code == 403
        r = http.post("/api/service/credentials", json={"name": "c", "connector": "spark", "authType": "x"})
        assert r.status_code == 403
    with server.client("viewer") as http:
        assert http.get("/api/service/roles").status_code == 200
