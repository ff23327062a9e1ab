"""Fixtures for the lineage workflow: a throwaway PostgreSQL source, a MariaDB source database,
and helpers to run `headwater ingest` and read the resulting graph through the API."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import yaml
from typer.testing import CliRunner

from headwater.cli.main import app as cli_app
from tests.ingest.pg_cluster import throwaway_cluster

runner = CliRunner()


def write_workflow(
    path: Path,
    *,
    source_type: str,
    service: str,
    config: dict[str, Any] | None = None,
    connection: dict[str, Any] | None = None,
    server: str | None = None,
    token: str | None = None,
) -> Path:
    wf: dict[str, Any] = {
        "source": {
            "type": source_type,
            "serviceName": service,
            "sourceConfig": {"config": {"type": "DatabaseLineage", **(config or {})}},
        },
        "sink": {"type": "metadata-rest", "config": {}},
        "workflowConfig": {
            "loggerLevel": "INFO",
            "openMetadataServerConfig": {
                "hostPort": (server or "http://127.0.0.1:1") + "/api",
                "authProvider": "openmetadata",
                "securityConfig": {"jwtToken": token or "none"},
            },
        },
    }
    if connection is not None:
        wf["source"]["serviceConnection"] = {"config": connection}
    path.write_text(yaml.safe_dump(wf, sort_keys=False))
    return path


@dataclass
class CliResult:
    exit_code: int
    output: str
    summary: dict[str, Any] | None


def run_ingest(*args: str) -> CliResult:
    res = runner.invoke(cli_app, ["ingest", *args])
    summary = None
    if "--json" in args and res.exit_code in (0, 1):
        text = res.stdout.strip()
        if text.startswith("{"):
            summary = json.loads(text)
    return CliResult(res.exit_code, res.output, summary)


def lineage(api: httpx.Client, fqn: str, up: int = 1, down: int = 1) -> dict[str, Any]:
    resp = api.get(f"/api/v1/lineage/table/name/{fqn}", params={"upstreamDepth": up, "downstreamDepth": down})
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()
    return data


def edges(api: httpx.Client, fqn: str) -> dict[tuple[str, str], dict[str, Any]]:
    """{(from_fqn, to_fqn): lineageDetails} of the edges touching a table."""
    data = lineage(api, fqn)
    by_id = {n["id"]: n["fullyQualifiedName"] for n in data["nodes"]}
    by_id[data["entity"]["id"]] = data["entity"]["fullyQualifiedName"]
    out = {}
    for e in data["upstreamEdges"] + data["downstreamEdges"]:
        out[(by_id[e["fromEntity"]], by_id[e["toEntity"]])] = e["lineageDetails"]
    return out


def column_pairs(details: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f, c["toColumn"]) for c in details.get("columnsLineage", []) for f in c["fromColumns"]}


# -- PostgreSQL source --------------------------------------------------------------------------

PG_SETUP = [
    "CREATE SCHEMA analytics",
    "CREATE TABLE public.customers (id int primary key, name text, country varchar(2))",
    "CREATE TABLE public.orders (id int primary key, customer_id int, amount numeric(10,2), created_at timestamp)",
    "CREATE TABLE analytics.order_facts (order_id int, customer_name text, amount numeric(10,2))",
    "CREATE VIEW analytics.big_orders AS SELECT o.id, o.amount, c.name FROM public.orders o "
    "JOIN public.customers c ON c.id = o.customer_id WHERE o.amount > 100",
    "INSERT INTO public.customers VALUES (1, 'ann', 'de'), (2, 'bob', 'fr')",
    "INSERT INTO public.orders VALUES (1, 1, 150, now()), (2, 2, 20, now())",
]
PG_QUERIES = [
    "INSERT INTO analytics.order_facts (order_id, customer_name, amount) "
    "SELECT o.id, c.name, o.amount FROM public.orders o JOIN public.customers c ON c.id = o.customer_id",
    "CREATE TABLE analytics.country_totals AS SELECT c.country, sum(o.amount) AS total "
    "FROM public.orders o JOIN public.customers c ON c.id = o.customer_id GROUP BY c.country",
]


@dataclass
class PgSource:
    dsn: str
    host: str
    port: int
    database: str

    def connection(self, database: str | None = None) -> dict[str, Any]:
        return {
            "type": "Postgres",
            "username": "postgres",
            "authType": {"password": ""},
            "hostPort": f"{self.host}:{self.port}",
            "database": database or self.database,
        }


@pytest.fixture(scope="session")
def pg_source() -> Iterator[PgSource]:
    """A fresh cluster with database `shop`: tables, a view, and lineage queries in pg_stat_statements."""
    with throwaway_cluster() as dsn:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE DATABASE shop")
            conn.execute("CREATE DATABASE plain")
        shop = dsn.rsplit("/", 1)[0] + "/shop"
        with psycopg.connect(shop, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pg_stat_statements")
            for stmt in PG_SETUP:
                conn.execute(stmt)
            conn.execute("SELECT pg_stat_statements_reset()")
            for stmt in PG_QUERIES:
                conn.execute(stmt)
        with psycopg.connect(dsn.rsplit("/", 1)[0] + "/plain", autocommit=True) as conn:
            conn.execute("CREATE TABLE t (id int)")
        hostport = dsn.split("@", 1)[1].split("/", 1)[0]
        host, port = hostport.split(":")
        yield PgSource(dsn=dsn, host=host, port=int(port), database="shop")


# -- MariaDB source -----------------------------------------------------------------------------

MARIADB = {"host": os.environ.get("HEADWATER_TEST_MYSQL_HOST", "127.0.0.1"), "port": 3306, "user": "root"}


@dataclass
class MariaSource:
    schema: str

    def connection(self) -> dict[str, Any]:
        return {
            "type": "MariaDB",
            "username": MARIADB["user"],
            "authType": {"password": ""},
            "hostPort": f"{MARIADB['host']}:{MARIADB['port']}",
            "databaseSchema": self.schema,
        }


@pytest.fixture
def maria_source() -> Iterator[MariaSource]:
    """A fresh database on the MariaDB server, with the general log written to a table while it lives."""
    pymysql = pytest.importorskip("pymysql")
    try:
        admin = pymysql.connect(
            host=MARIADB["host"], port=MARIADB["port"], user=MARIADB["user"], password="", autocommit=True
        )
    except pymysql.MySQLError as exc:  # pragma: no cover - environment without MariaDB
        pytest.skip(f"MariaDB not reachable: {exc}")
    schema = f"hw_ing_{uuid.uuid4().hex[:10]}"
    cur = admin.cursor()
    cur.execute("SHOW GLOBAL VARIABLES WHERE Variable_name IN ('general_log', 'log_output')")
    before = dict(cur.fetchall())
    cur.execute("SET GLOBAL log_output = 'TABLE'")
    cur.execute("SET GLOBAL general_log = ON")
    try:
        cur.execute(f"CREATE DATABASE {schema}")
        work = pymysql.connect(
            host=MARIADB["host"],
            port=MARIADB["port"],
            user=MARIADB["user"],
            password="",
            database=schema,
            autocommit=True,
        )
        with work.cursor() as w:
            w.execute("CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(50), country CHAR(2))")
            w.execute("CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT, amount DECIMAL(10,2))")
            w.execute(
                "CREATE TABLE order_facts (order_id INT, customer_name VARCHAR(50), amount DECIMAL(10,2))"
            )
            w.execute(
                "CREATE VIEW big_orders AS SELECT o.id, o.amount, c.name FROM orders o "
                "JOIN customers c ON c.id = o.customer_id WHERE o.amount > 100"
            )
            w.execute("INSERT INTO customers VALUES (1, 'ann', 'de')")
            w.execute("INSERT INTO orders VALUES (1, 1, 150)")
            w.execute(
                "INSERT INTO order_facts (order_id, customer_name, amount) "
                "SELECT o.id, c.name, o.amount FROM orders o JOIN customers c ON c.id = o.customer_id"
            )
        work.close()
        yield MariaSource(schema)
    finally:
        cur.execute(f"DROP DATABASE IF EXISTS {schema}")
        cur.execute(f"SET GLOBAL general_log = {before.get('general_log', 'OFF')}")
        cur.execute(f"SET GLOBAL log_output = '{before.get('log_output', 'FILE')}'")
        admin.close()
