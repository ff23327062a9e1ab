"""Database connectors end to end: a throwaway PostgreSQL cluster (metadata, view definitions,
pg_stat_statements) and MariaDB (information_schema, the general log), through the REST sink."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from headwater.model import AssetType
from tests.helpers import LiveServer
from tests.ingest.conftest import MariaSource, PgSource, column_pairs, edges, run_ingest, write_workflow


def test_postgres_metadata_views_and_query_history(
    server: LiveServer, api: httpx.Client, pg_source: PgSource, tmp_path: Path
) -> None:
    wf = write_workflow(
        tmp_path / "pg.yaml",
        source_type="postgres-lineage",
        service="pg",
        connection=pg_source.connection(),
        config={"queryLogDuration": 1, "resultLimit": 100},
        server=server.url,
        token=server.editor_token,
    )
    res = run_ingest("-c", str(wf), "--json")
    assert res.exit_code == 0, res.output
    s = res.summary
    assert s is not None, res.output
    assert s["status"] == "success", s
    assert s["metadata"]["tables"] == 5  # customers, orders, order_facts, country_totals, big_orders
    assert s["views"] == 1

    # metadata: tables with typed columns
    resp = api.get("/api/v1/tables/name/pg.shop.public.orders", params={"fields": "columns"})
    assert resp.status_code == 200, resp.text
    cols = {c["name"]: c for c in resp.json()["columns"]}
    assert set(cols) == {"id", "customer_id", "amount", "created_at"}
    assert cols["amount"]["dataType"] == "NUMERIC"
    assert cols["amount"]["dataTypeDisplay"] == "numeric(10,2)"
    view = server.store.get_asset_by_fqn(AssetType.TABLE, "pg.shop.analytics.big_orders")
    assert view is not None and view.attributes["tableType"] == "View"
    assert "schemaDefinition" in view.attributes

    # view lineage from the definition
    got = edges(api, "pg.shop.analytics.big_orders")
    assert set(got) == {
        ("pg.shop.public.orders", "pg.shop.analytics.big_orders"),
        ("pg.shop.public.customers", "pg.shop.analytics.big_orders"),
    }
    d = got[("pg.shop.public.customers", "pg.shop.analytics.big_orders")]
    assert d["source"] == "ViewLineage"
    assert column_pairs(d) == {("pg.shop.public.customers.name", "pg.shop.analytics.big_orders.name")}

    # query lineage from pg_stat_statements (normalised SQL on the edge)
    got = edges(api, "pg.shop.analytics.order_facts")
    assert ("pg.shop.public.orders", "pg.shop.analytics.order_facts") in got
    d = got[("pg.shop.public.customers", "pg.shop.analytics.order_facts")]
    assert d["source"] == "QueryLineage"
    assert "INSERT INTO analytics.order_facts" in d["sqlQuery"]
    assert column_pairs(d) == {
        ("pg.shop.public.customers.name", "pg.shop.analytics.order_facts.customer_name")
    }
    got = edges(api, "pg.shop.analytics.country_totals")
    assert column_pairs(got[("pg.shop.public.orders", "pg.shop.analytics.country_totals")]) == {
        ("pg.shop.public.orders.amount", "pg.shop.analytics.country_totals.total")
    }

    # a second run changes nothing
    again = run_ingest("-c", str(wf), "--json")
    assert again.summary is not None, again.output
    assert again.summary["edges_added"] == 0 and again.summary["edges_updated"] == 0


def test_postgres_without_pg_stat_statements(store: object, pg_source: PgSource, tmp_path: Path) -> None:
    wf = write_workflow(
        tmp_path / "pg.yaml",
        source_type="postgres-lineage",
        service="pg2",
        connection=pg_source.connection("plain"),
        config={"tableFilterPattern": {"includes": ["^t$"]}},
    )
    res = run_ingest("-c", str(wf), "--db-url", store.url, "--json")  # type: ignore[attr-defined]
    assert res.exit_code == 0, res.output
    s = res.summary
    assert s is not None
    assert s["status"] == "partialSuccess"
    assert s["metadata"]["tables"] == 1
    warning = " ".join(s["warnings"])
    assert "pg_stat_statements is not installed" in warning
    assert "shared_preload_libraries" in warning


def test_postgres_unreachable(store: object, tmp_path: Path) -> None:
    wf = write_workflow(
        tmp_path / "pg.yaml",
        source_type="postgres-lineage",
        service="pg3",
        connection={"type": "Postgres", "username": "x", "hostPort": "127.0.0.1:9", "database": "d"},
    )
    res = run_ingest("-c", str(wf), "--db-url", store.url, "--json")  # type: ignore[attr-defined]
    assert res.exit_code == 1
    assert res.summary is not None and "cannot connect to PostgreSQL at 127.0.0.1:9" in res.summary["error"]


def test_postgres_unknown_connection_key(tmp_path: Path) -> None:
    wf = write_workflow(
        tmp_path / "pg.yaml",
        source_type="postgres-lineage",
        service="pg",
        connection={"type": "Postgres", "hostport": "x:1"},
    )
    res = run_ingest("-c", str(wf))
    assert res.exit_code == 2
    assert "unknown key 'hostport'" in res.output and "'hostPort'" in res.output


def test_mariadb_metadata_views_and_general_log(
    server: LiveServer, api: httpx.Client, maria_source: MariaSource, tmp_path: Path
) -> None:
    schema = maria_source.schema
    wf = write_workflow(
        tmp_path / "maria.yaml",
        source_type="mariadb-lineage",
        service="maria",
        connection=maria_source.connection(),
        server=server.url,
        token=server.editor_token,
    )
    res = run_ingest("-c", str(wf), "--json")
    assert res.exit_code == 0, res.output
    s = res.summary
    assert s is not None, res.output
    assert s["metadata"]["tables"] == 4, s
    assert s["views"] == 1, s
    base = f"maria.default.{schema}"
    got = edges(api, f"{base}.big_orders")
    assert set(got) == {(f"{base}.orders", f"{base}.big_orders"), (f"{base}.customers", f"{base}.big_orders")}
    assert got[(f"{base}.orders", f"{base}.big_orders")]["source"] == "ViewLineage"
    assert column_pairs(got[(f"{base}.customers", f"{base}.big_orders")]) == {
        (f"{base}.customers.name", f"{base}.big_orders.name")
    }
    got = edges(api, f"{base}.order_facts")
    d = got[(f"{base}.customers", f"{base}.order_facts")]
    assert d["source"] == "QueryLineage"
    assert d["sqlQuery"].startswith("INSERT INTO order_facts")
    assert column_pairs(d) == {(f"{base}.customers.name", f"{base}.order_facts.customer_name")}
    assert (f"{base}.orders", f"{base}.order_facts") in got


def test_mysql_without_history_says_what_to_enable(store: object, tmp_path: Path) -> None:
    pymysql = pytest.importorskip("pymysql")
    try:
        conn = pymysql.connect(host="127.0.0.1", user="root", password="")
    except pymysql.MySQLError as exc:  # pragma: no cover
        pytest.skip(f"MariaDB not reachable: {exc}")
    with conn.cursor() as cur:
        cur.execute("SELECT @@general_log, @@performance_schema")
        general, perf = cur.fetchone()
    conn.close()
    if general or perf:
        pytest.skip("statement history is on in this server")
    wf = write_workflow(
        tmp_path / "m.yaml",
        source_type="mysql-lineage",
        service="my",
        connection={
            "type": "Mysql",
            "username": "root",
            "hostPort": "127.0.0.1:3306",
            "databaseSchema": "mysql",
        },
        config={"processViewLineage": False, "includeMetadata": False},
    )
    res = run_ingest("-c", str(wf), "--db-url", store.url, "--json")  # type: ignore[attr-defined]
    assert res.exit_code == 0, res.output
    assert res.summary is not None
    assert "performance_schema=ON" in " ".join(res.summary["warnings"])
