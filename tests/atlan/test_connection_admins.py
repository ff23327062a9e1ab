"""Per-connection admins: a Connection's adminUsers, adminGroups and adminRoles decide which
non-admin tokens may change the assets under it; global admin tokens always may."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest
from typer.testing import CliRunner

from headwater.atlan.directory import stable_id
from headwater.cli.main import app as cli_app
from tests.helpers import LiveServer, report_figure

GUARDED = "default/snowflake/1700000101"  # admins: jsmith, group data_eng, the $admin role
BY_ROLE = "default/snowflake/1700000102"  # admins: every $member (editor)


def _connection(qn: str, **admins: list[str]) -> dict[str, Any]:
    return {
        "typeName": "Connection",
        "attributes": {
            "name": qn.rsplit("/", 1)[-1],
            "qualifiedName": qn,
            "connectorName": "snowflake",
            "category": "warehouse",
            **admins,
        },
    }


def _table(conn: str, name: str) -> dict[str, Any]:
    return {
        "typeName": "Table",
        "attributes": {
            "name": name,
            "qualifiedName": f"{conn}/DB/SCH/{name}",
            "connectionQualifiedName": conn,
        },
    }


def _client(server: LiveServer, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _save(api: httpx.Client, *entities: dict[str, Any]) -> httpx.Response:
    return api.post("/api/meta/entity/bulk/", json={"entities": list(entities)})


def _table_names(server: LiveServer) -> set[str]:
    with server.client("admin") as admin:
        data = admin.get("/api/v1/headwater/assets", params={"type": "table", "limit": 1000}).json()["data"]
    return {a["name"] for a in data}


def test_only_connection_admins_change_its_assets(server: LiveServer) -> None:
    tokens = server.app.state.tokens  # type: ignore[attr-defined]
    with server.client("admin") as admin:
        r = _save(
            admin,
            _connection(
                GUARDED,
                adminUsers=["jsmith"],
                adminGroups=["data_eng"],
                adminRoles=[stable_id("role", "$admin")],
            ),
            _connection(BY_ROLE, adminRoles=["$member"]),
            _table(GUARDED, "SEEDED"),
        )
        assert r.status_code == 200, r.text
        seeded = next(
            e["guid"] for e in r.json()["mutatedEntities"]["CREATE"] if e["attributes"]["name"] == "SEEDED"
        )

    jsmith = tokens.create("editor", "jsmith-laptop", user="jsmith")
    in_group = tokens.create("editor", "etl-bot", user="bob", groups=["Data Eng"])  # alias of data_eng
    outsider = tokens.create("editor", "bob-laptop", user="bob", groups=["marketing"])

    with _client(server, jsmith) as api:
        assert _save(api, _table(GUARDED, "BY_USER")).status_code == 200
        assert api.get("/api/service/whoami").json()["username"] == "jsmith"
    with _client(server, in_group) as api:
        assert _save(api, _table(GUARDED, "BY_GROUP")).status_code == 200

    with _client(server, outsider) as api:
        denied = _save(api, _table(GUARDED, "NOT_MINE"))
        assert denied.status_code == 403
        body = denied.json()
        assert GUARDED in body["errorMessage"] and "'bob'" in body["errorMessage"]
        # one refused entity refuses the whole batch
        assert _save(api, _table(BY_ROLE, "FINE"), _table(GUARDED, "NOT_MINE2")).status_code == 403
        # no way around it: not by editing the connection's admins, not by deleting
        grab = _save(api, _connection(GUARDED, adminUsers=["bob"]))
        assert grab.status_code == 403
        assert api.delete(f"/api/meta/entity/guid/{seeded}").status_code == 403
        bulk = api.delete("/api/meta/entity/bulk/", params={"guid": seeded, "deleteType": "PURGE"})
        assert bulk.status_code == 403
        # a connection whose adminRoles name the editor role ($member) is open to every editor
        assert _save(api, _table(BY_ROLE, "BY_ROLE")).status_code == 200
        # a connection not stored yet has no admins to ask
        fresh = "default/snowflake/1700000103"
        assert _save(api, _connection(fresh, adminUsers=["bob"]), _table(fresh, "NEW")).status_code == 200

    # a global admin token may always, listed or not
    with server.client("admin") as admin:
        assert _save(admin, _table(GUARDED, "BY_ADMIN")).status_code == 200
        conn = admin.get(
            "/api/meta/entity/uniqueAttribute/type/Connection", params={"attr:qualifiedName": GUARDED}
        ).json()["entity"]
        assert conn["attributes"]["adminUsers"] == ["jsmith"]  # the grab did not happen
    assert _table_names(server) == {"SEEDED", "BY_USER", "BY_GROUP", "BY_ROLE", "NEW", "BY_ADMIN"}


def test_token_create_takes_user_and_groups(server: LiveServer) -> None:
    runner = CliRunner()
    base = ["token", "create", "--role", "editor", "--db-url", server.store.url]
    data_dir = ["--data-dir", str(server.settings.data_dir)]
    made = runner.invoke(
        cli_app, [*base, *data_dir, "--user", "ann", "--group", "data_eng", "--group", "ops"]
    )
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    with server.client("admin") as admin:
        r = _save(admin, _connection(GUARDED, adminGroups=["ops"]))
        assert r.status_code == 200, r.text
    with _client(server, token) as api:
        assert api.get("/api/service/whoami").json()["username"] == "ann"
        assert _save(api, _table(GUARDED, "BY_CLI_TOKEN")).status_code == 200
    bad = runner.invoke(cli_app, [*base, *data_dir, "--user", " "])
    assert bad.exit_code == 2 and "--user" in bad.output


def test_pyatlan_clients_of_admin_and_non_admin_users(server: LiveServer) -> None:
    from pyatlan.client.atlan import AtlanClient
    from pyatlan.errors import AtlanError
    from pyatlan.model.assets import Connection, Database
    from pyatlan.model.enums import AtlanConnectorType

    tokens = server.app.state.tokens  # type: ignore[attr-defined]
    with server.client("admin") as http:  # pyatlan checks adminUsers against the user directory
        users = {"users": [{"email": "jsmith@example.com", "roleName": "$member"}]}
        assert http.post("/api/service/users", json=users).status_code == 200
    admin = AtlanClient(base_url=server.url, api_key=server.admin_token)
    connection = Connection.creator(
        client=admin, name="guarded", connector_type=AtlanConnectorType.SNOWFLAKE, admin_users=["jsmith"]
    )
    connection.qualified_name = GUARDED
    assert admin.asset.save(connection).assets_created(Connection)

    jsmith = AtlanClient(base_url=server.url, api_key=tokens.create("editor", "js", user="jsmith"))
    saved = jsmith.asset.save(Database.creator(name="SALES", connection_qualified_name=GUARDED))
    assert [d.name for d in saved.assets_created(Database)] == ["SALES"]

    bob = AtlanClient(base_url=server.url, api_key=tokens.create("editor", "bob", user="bob"))
    with pytest.raises(AtlanError) as refused:
        bob.asset.save(Database.creator(name="HR", connection_qualified_name=GUARDED))
    assert GUARDED in str(refused.value)


def _schema(conn: str) -> dict[str, Any]:
    return {
        "typeName": "Schema",
        "attributes": {"name": "SCH", "qualifiedName": f"{conn}/DB/SCH", "connectionQualifiedName": conn},
    }


def _edge(src: str, dst: str) -> dict[str, Any]:
    return {"edge": {"fromEntity": {"id": src, "type": "table"}, "toEntity": {"id": dst, "type": "table"}}}


def test_openmetadata_api_writes_obey_connection_admins(server: LiveServer) -> None:
    """The same rule on the OpenMetadata-style API: entity PUT/POST/PATCH/DELETE/restore and
    lineage PUT/PATCH/DELETE touching an asset under a guarded connection."""
    free = "default/snowflake/1700000104"  # every editor ($member) is one of its admins
    tokens = server.app.state.tokens  # type: ignore[attr-defined]
    with server.client("admin") as admin:
        r = _save(
            admin,
            _connection(GUARDED, adminUsers=["jsmith"]),
            _connection(free, adminRoles=["$member"]),
            _schema(GUARDED),
            _schema(free),
            _table(GUARDED, "G1"),
            _table(GUARDED, "G2"),
            _table(free, "F1"),
            _table(free, "F2"),
        )
        assert r.status_code == 200, r.text
        ids = {e["attributes"]["name"]: e["guid"] for e in r.json()["mutatedEntities"]["CREATE"]}
        assert admin.put("/api/v1/lineage", json=_edge(ids["G1"], ids["G2"])).status_code == 200
        soft = admin.put("/api/v1/lineage", json=_edge(ids["F1"], ids["G2"]))
        assert soft.status_code == 200
        # edges into a free table whose other end is guarded: one manual, one powered by a pipeline
        assert admin.put("/api/v1/lineage", json=_edge(ids["G1"], ids["F2"])).status_code == 200
        service = {"name": "airflow_admins", "serviceType": "Airflow"}
        assert admin.put("/api/v1/services/pipelineServices", json=service).status_code in (200, 201)
        made = admin.put("/api/v1/pipelines", json={"name": "load_f1", "service": "airflow_admins"})
        assert made.status_code in (200, 201), made.text
        pipeline_id = made.json()["id"]
        by_pipeline = _edge(ids["G2"], ids["F1"])
        by_pipeline["edge"]["lineageDetails"] = {
            "pipeline": {"id": pipeline_id, "type": "pipeline"},
            "source": "PipelineLineage",
        }
        assert admin.put("/api/v1/lineage", json=by_pipeline).status_code == 200

    def free_table_upstreams() -> list[str]:
        with server.client("admin") as admin:
            return sorted(
                e["fromEntity"]
                for t in ("F1", "F2")
                for e in admin.get(f"/api/v1/lineage/table/{ids[t]}", params={"upstreamDepth": 1}).json()[
                    "upstreamEdges"
                ]
            )

    free_before = free_table_upstreams()
    assert free_before == sorted([ids["G1"], ids["G2"]])

    def snapshot() -> tuple[dict[str, Any], list[tuple[str, str]]]:
        with server.client("admin") as admin:
            g1 = admin.get(f"/api/v1/tables/{ids['G1']}").json()
            g2 = admin.get(f"/api/v1/lineage/table/{ids['G2']}", params={"upstreamDepth": 3}).json()
        pairs = sorted((e["fromEntity"], e["toEntity"]) for e in g2.get("upstreamEdges", []))
        return {k: g1.get(k) for k in ("description", "deleted", "name")}, pairs

    before = snapshot()
    outsider = tokens.create("editor", "bob-laptop", user="bob", groups=["marketing"])
    g1_qn, g2_qn = f"{GUARDED}/DB/SCH/G1", f"{GUARDED}/DB/SCH/G2"
    patch = [{"op": "add", "path": "/description", "value": "bob was here"}]
    with _client(server, outsider) as api:
        refusals = {
            "PATCH entity by id": api.patch(
                f"/api/v1/tables/{ids['G1']}",
                json=patch,
                headers={"Content-Type": "application/json-patch+json"},
            ),
            "PATCH entity by name": api.patch(
                f"/api/v1/tables/name/{g1_qn}",
                json=patch,
                headers={"Content-Type": "application/json-patch+json"},
            ),
            "PATCH moving an asset into the connection": api.patch(
                f"/api/v1/tables/{ids['F1']}",
                json=[{"op": "replace", "path": "/connectionQualifiedName", "value": GUARDED}],
                headers={"Content-Type": "application/json-patch+json"},
            ),
            "DELETE entity by id": api.delete(f"/api/v1/tables/{ids['G1']}", params={"hardDelete": "true"}),
            "DELETE entity by name": api.delete(f"/api/v1/tables/name/{g1_qn}"),
            "PUT entity under the connection's schema": api.put(
                "/api/v1/tables", json={"name": "SNEAK", "databaseSchema": f"{GUARDED}/DB/SCH", "columns": []}
            ),
            "PUT entity naming the connection": api.put(
                "/api/v1/tables",
                json={
                    "name": "SNEAK2",
                    "databaseSchema": f"{free}/DB/SCH",
                    "columns": [],
                    "connectionQualifiedName": GUARDED,
                },
            ),
            "PUT lineage into": api.put("/api/v1/lineage", json=_edge(ids["F2"], ids["G1"])),
            "PUT lineage out of": api.put("/api/v1/lineage", json=_edge(ids["G2"], ids["F2"])),
            "PATCH lineage": api.patch(
                f"/api/v1/lineage/table/{ids['G1']}/table/{ids['G2']}",
                json=[{"op": "add", "path": "/description", "value": "x"}],
                headers={"Content-Type": "application/json-patch+json"},
            ),
            "DELETE lineage by ids": api.delete(f"/api/v1/lineage/table/{ids['F1']}/table/{ids['G2']}"),
            "DELETE lineage by FQNs": api.delete(
                f"/api/v1/lineage/table/name/{quote(g1_qn, safe='')}/table/name/{quote(g2_qn, safe='')}"
            ),
            "DELETE lineage of a source": api.delete(f"/api/v1/lineage/table/{ids['G2']}/type/Manual"),
            "DELETE lineage of a source into a free table from a guarded one": api.delete(
                f"/api/v1/lineage/table/{ids['F2']}/type/Manual"
            ),
            "DELETE a pipeline's lineage reaching a guarded table": api.delete(
                f"/api/v1/lineage/pipeline/{pipeline_id}/type/PipelineLineage"
            ),
        }
        for what, resp in refusals.items():
            assert resp.status_code == 403, (what, resp.status_code, resp.text)
            message = resp.json()["message"]
            assert GUARDED in message and "'bob'" in message, (what, message)
        # assets of a connection whose admins include the editor role stay open to every editor
        assert api.put("/api/v1/lineage", json=_edge(ids["F1"], ids["F2"])).status_code == 200
        assert api.delete(f"/api/v1/lineage/table/{ids['F1']}/table/{ids['F2']}").status_code == 200
    assert snapshot() == before  # nothing the outsider tried happened
    assert free_table_upstreams() == free_before
    report_figure(
        f"per-connection admins, OpenMetadata-style API on {server.store.dialect}: {len(refusals)} writes by "
        f"an editor outside the connection's admins refused with 403, 0 of them changed anything"
    )

    jsmith = tokens.create("editor", "jsmith-laptop", user="jsmith")
    with _client(server, jsmith) as api:
        ok = api.patch(
            f"/api/v1/tables/{ids['G1']}", json=patch, headers={"Content-Type": "application/json-patch+json"}
        )
        assert ok.status_code == 200, ok.text
        assert api.put("/api/v1/lineage", json=_edge(ids["F2"], ids["G1"])).status_code == 200
        assert api.delete(f"/api/v1/lineage/table/{ids['F2']}/table/{ids['G1']}").status_code == 200
        assert api.delete(f"/api/v1/tables/{ids['G1']}").status_code == 200
    with server.client("admin") as admin:  # global admins always may
        restored = admin.put("/api/v1/tables/restore", json={"id": ids["G1"]})
        assert restored.status_code == 200, restored.text
        assert restored.json()["description"] == "bob was here"
