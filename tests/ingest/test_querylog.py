"""Query-log workflows end to end: CSV, JSON Lines and directories, through the REST sink (the
default) and straight into a store, with the resulting graph read back through the API."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from headwater.model import AssetInput, AssetType, ColumnInput
from headwater.store import Store
from tests.helpers import LiveServer
from tests.ingest.conftest import column_pairs, edges, run_ingest, write_workflow

SVC = "wh"
TABLES = {
    "raw.customers": ["id", "name", "email"],
    "raw.orders": ["id", "customer_id", "amount"],
    "mart.customer_orders": ["customer_id", "customer_name", "total"],
    "mart.emails": ["email"],
}

CSV = """query_text,database_name,schema_name,user_name,start_time,end_time,duration,aborted
"insert into mart.customer_orders (customer_id, customer_name, total) select c.id, upper(c.name), sum(o.amount) from raw.customers c join raw.orders o on o.customer_id = c.id group by c.id, c.name",shop,raw,etl,2026-01-01 10:00:00,2026-01-01 10:00:05,5.0,false
"insert into mart.customer_orders (customer_id, customer_name, total) select c.id, upper(c.name), sum(o.amount) from raw.customers c join raw.orders o on o.customer_id = c.id group by c.id, c.name",shop,raw,etl,2026-01-02 10:00:00,2026-01-02 10:00:05,5.0,false
"select * from customers",shop,raw,bob,,,,
"insert into mart.emails (email) select email from customers",shop,raw,etl,,,,
"insert into mart.emails select email from nowhere_table",shop,raw,etl,,,,
"insert into broken select from where",shop,raw,etl,,,,
,shop,raw,etl,,,,
"insert into mart.emails (email) select email from raw.customers",shop,raw,etl,,,,true
"""


def seed_catalog(store: Store) -> None:
    items = [
        AssetInput(
            type=AssetType.DATABASE_SERVICE, fqn=SVC, name=SVC, attributes={"serviceType": "Snowflake"}
        ),
        AssetInput(type=AssetType.DATABASE, fqn=f"{SVC}.shop", name="shop"),
        AssetInput(type=AssetType.DATABASE_SCHEMA, fqn=f"{SVC}.shop.raw", name="raw"),
        AssetInput(type=AssetType.DATABASE_SCHEMA, fqn=f"{SVC}.shop.mart", name="mart"),
    ]
    for name, cols in TABLES.items():
        schema, table = name.split(".")
        items.append(
            AssetInput(
                type=AssetType.TABLE,
                fqn=f"{SVC}.shop.{schema}.{table}",
                name=table,
                columns=[ColumnInput(name=c, data_type="VARCHAR") for c in cols],
            )
        )
    store.upsert_assets(items)


def _workflow(tmp_path: Path, server: LiveServer, log: Path, **config: object) -> Path:
    return write_workflow(
        tmp_path / "lineage.yaml",
        source_type="query-log-lineage",
        service=SVC,
        config={"queryLogFilePath": str(log), **config},
        connection={"type": "Snowflake"},
        server=server.url,
        token=server.editor_token,
    )


def test_csv_through_rest_sink(server: LiveServer, api: httpx.Client, tmp_path: Path) -> None:
    seed_catalog(server.store)
    log = tmp_path / "queries.csv"
    log.write_text(CSV)
    wf = _workflow(tmp_path, server, log)
    res = run_ingest("-c", str(wf), "--json")
    assert res.exit_code == 0, res.output
    s = res.summary
    assert s is not None
    assert s["status"] == "partialSuccess"
    assert s["rows_read"] == 8
    assert s["bad_rows"] == 1 and "unreadable row: missing query_text" in s["failures"]
    assert s["aborted_rows"] == 1
    assert s["distinct_queries"] == 5
    assert s["read_only_skipped"] == 1
    assert s["failed"] == 1 and "parse" in s["failures"]
    assert s["edges_added"] == 3
    assert any(k.lower().startswith("nowhere_table") for k in s["unresolved_tables"])

    got = edges(api, f"{SVC}.shop.mart.customer_orders")
    assert set(got) == {
        (f"{SVC}.shop.raw.customers", f"{SVC}.shop.mart.customer_orders"),
        (f"{SVC}.shop.raw.orders", f"{SVC}.shop.mart.customer_orders"),
    }
    d = got[(f"{SVC}.shop.raw.customers", f"{SVC}.shop.mart.customer_orders")]
    assert d["source"] == "QueryLineage"
    assert d["sqlQuery"].startswith("insert into mart.customer_orders")
    assert column_pairs(d) == {
        (f"{SVC}.shop.raw.customers.id", f"{SVC}.shop.mart.customer_orders.customer_id"),
        (f"{SVC}.shop.raw.customers.name", f"{SVC}.shop.mart.customer_orders.customer_name"),
    }
    fn = {c["toColumn"]: c.get("function") for c in d["columnsLineage"]}
    assert fn[f"{SVC}.shop.mart.customer_orders.customer_name"] == "UPPER"
    d2 = got[(f"{SVC}.shop.raw.orders", f"{SVC}.shop.mart.customer_orders")]
    assert column_pairs(d2) == {(f"{SVC}.shop.raw.orders.amount", f"{SVC}.shop.mart.customer_orders.total")}
    # unqualified `customers` resolved with the row's default schema
    assert (f"{SVC}.shop.raw.customers", f"{SVC}.shop.mart.emails") in edges(api, f"{SVC}.shop.mart.emails")

    # idempotent: the same run again changes nothing
    seq = server.store.max_log_seq()
    again = run_ingest("-c", str(wf), "--json")
    assert again.exit_code == 0
    assert again.summary is not None
    assert again.summary["edges_added"] == 0 and again.summary["edges_updated"] == 0
    assert again.summary["edges_unchanged"] == 3
    assert server.store.max_log_seq() == seq


def test_jsonl_directory_into_store(store: Store, tmp_path: Path) -> None:
    seed_catalog(store)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.jsonl").write_text(
        json.dumps({"query_text": "insert into mart.emails (email) select email from raw.customers"})
        + "\n{not json\n"
        + json.dumps(
            {
                "query_text": "create table mart.big as select id, amount from orders",
                "database_name": "shop",
                "schema_name": "raw",
            }
        )
        + "\n"
    )
    (logs / "b.csv").write_text(
        'query_text,database_name,schema_name\n"insert into mart.customer_orders (customer_id) select id from raw.customers",shop,raw\n'
    )
    (logs / "notes.txt").write_text("ignored")
    wf = write_workflow(
        tmp_path / "wf.yaml",
        source_type="query-log-lineage",
        service=SVC,
        config={"queryLogFilePath": str(logs), "createPartialAssets": True, "dialect": "postgres"},
    )
    res = run_ingest("-c", str(wf), "--db-url", store.url, "--json")
    assert res.exit_code == 0, res.output
    s = res.summary
    assert s is not None
    assert s["rows_read"] == 4 and s["bad_rows"] == 1
    assert "unreadable row: invalid JSON" in s["failures"]
    assert s["edges_added"] == 3
    # the unknown target was created as a partial table under the row's database and schema
    assert s["partial_assets_created"] == [f"{SVC}.shop.mart.big"]
    big = store.get_asset_by_fqn(AssetType.TABLE, f"{SVC}.shop.mart.big")
    assert big is not None and big.partial
    src = store.get_asset_by_fqn(AssetType.TABLE, f"{SVC}.shop.raw.orders")
    assert src is not None
    edge = store.get_edge(src.pk, big.pk)
    assert (
        edge is not None
        and edge.details[0].sqlQuery == "create table mart.big as select id, amount from orders"
    )


def test_unknown_key_names_closest(tmp_path: Path) -> None:
    log = tmp_path / "q.csv"
    log.write_text("query_text\nselect 1\n")
    wf = write_workflow(
        tmp_path / "wf.yaml",
        source_type="query-log-lineage",
        service=SVC,
        config={"queryLogFilePath": str(log), "queryLogDurations": 2},
    )
    res = run_ingest("-c", str(wf))
    assert res.exit_code == 2
    assert "unknown key 'queryLogDurations'" in res.output
    assert "did you mean 'queryLogDuration'" in res.output


def test_bad_config_messages(tmp_path: Path) -> None:
    wf = tmp_path / "wf.yaml"
    wf.write_text("source:\n  type: query-lineage\n  serviceName: x\n")
    res = run_ingest("-c", str(wf))
    assert res.exit_code == 2 and "query-log-lineage" in res.output
    wf.write_text("source: [1, 2\n")
    res = run_ingest("-c", str(wf))
    assert res.exit_code == 2 and "not valid YAML" in res.output
    res = run_ingest("-c", str(tmp_path / "missing.yaml"))
    assert res.exit_code == 2 and "cannot read workflow file" in res.output
    write_workflow(
        wf, source_type="query-log-lineage", service=SVC, config={"queryLogFilePath": "q.csv", "threads": 0}
    )
    res = run_ingest("-c", str(wf))
    assert res.exit_code == 2 and "threads" in res.output and "at least 1" in res.output
    write_workflow(
        wf,
        source_type="query-log-lineage",
        service=SVC,
        config={"queryLogFilePath": "q.csv", "dialect": "snowflak"},
    )
    res = run_ingest("-c", str(wf))
    assert res.exit_code == 2 and "unknown SQL dialect" in res.output


def test_unreadable_source_fails(store: Store, tmp_path: Path) -> None:
    wf = write_workflow(
        tmp_path / "wf.yaml",
        source_type="query-log-lineage",
        service=SVC,
        config={"queryLogFilePath": str(tmp_path / "nope.csv")},
    )
    res = run_ingest("-c", str(wf), "--db-url", store.url, "--json")
    assert res.exit_code == 1
    assert res.summary is not None and res.summary["status"] == "failed"
    assert "does not exist" in res.summary["error"]
    bad = tmp_path / "bad.csv"
    bad.write_text("sql,db\nselect 1,x\n")
    write_workflow(wf, source_type="query-log-lineage", service=SVC, config={"queryLogFilePath": str(bad)})
    res = run_ingest("-c", str(wf), "--db-url", store.url, "--json")
    assert res.exit_code == 1
    assert res.summary is not None and "no 'query_text' column" in res.summary["error"]


def test_rest_sink_unreachable_server(tmp_path: Path) -> None:
    log = tmp_path / "q.csv"
    log.write_text("query_text\nselect 1\n")
    wf = write_workflow(
        tmp_path / "wf.yaml",
        source_type="query-log-lineage",
        service=SVC,
        config={"queryLogFilePath": str(log)},
        server="http://127.0.0.1:9",
    )
    res = run_ingest("-c", str(wf))
    assert res.exit_code == 1
    assert "cannot reach the headwater server" in res.output


def test_text_summary_and_filters(store: Store, tmp_path: Path) -> None:
    seed_catalog(store)
    log = tmp_path / "queries.csv"
    log.write_text(CSV)
    wf = write_workflow(
        tmp_path / "wf.yaml",
        source_type="query-log-lineage",
        service=SVC,
        config={"queryLogFilePath": str(log), "tableFilterPattern": {"excludes": ["^emails$"]}},
    )
    res = run_ingest("-c", str(wf), "--db-url", store.url)
    assert res.exit_code == 0, res.output
    assert "distinct queries: 5" in res.output
    assert "edges added: 2" in res.output
    assert "nowhere_table" in res.output.lower()


def test_threads_parse_in_worker_processes(store: Store, tmp_path: Path) -> None:
    seed_catalog(store)
    log = tmp_path / "many.csv"
    lines = ["query_text,database_name,schema_name"]
    for i in range(260):
        lines.append(
            f'"insert into mart.emails (email) select email from raw.customers where id > {i}",shop,raw'
        )
    log.write_text("\n".join(lines) + "\n")
    wf = write_workflow(
        tmp_path / "wf.yaml",
        source_type="query-log-lineage",
        service=SVC,
        config={"queryLogFilePath": str(log), "threads": 2},
    )
    res = run_ingest("-c", str(wf), "--db-url", store.url, "--json")
    assert res.exit_code == 0, res.output
    assert res.summary is not None
    assert res.summary["distinct_queries"] == 260 and res.summary["parsed"] == 260
    assert res.summary["edges_added"] == 1


def test_view_lineage_of_known_views_through_rest(
    server: LiveServer, api: httpx.Client, tmp_path: Path
) -> None:
    """A query-log workflow also reads the definitions of the service's views the server knows."""
    seed_catalog(server.store)
    server.store.upsert_assets(
        [
            AssetInput(
                type=AssetType.TABLE,
                fqn=f"{SVC}.shop.mart.v_emails",
                name="v_emails",
                attributes={"tableType": "View", "schemaDefinition": "SELECT c.email FROM raw.customers c"},
                columns=[ColumnInput(name="email")],
            )
        ]
    )
    log = tmp_path / "q.csv"
    log.write_text("query_text\nselect 1\n")
    res = run_ingest("-c", str(_workflow(tmp_path, server, log)), "--json")
    assert res.exit_code == 0, res.output
    assert res.summary is not None and res.summary["views"] == 1
    got = edges(api, f"{SVC}.shop.mart.v_emails")
    d = got[(f"{SVC}.shop.raw.customers", f"{SVC}.shop.mart.v_emails")]
    assert d["source"] == "ViewLineage"
    assert column_pairs(d) == {(f"{SVC}.shop.raw.customers.email", f"{SVC}.shop.mart.v_emails.email")}


def test_override_view_lineage(store: Store, tmp_path: Path) -> None:
    """overrideViewLineage drops ViewLineage edges from tables a view's definition no longer reads."""
    seed_catalog(store)

    def define(sql: str) -> None:
        store.upsert_assets(
            [
                AssetInput(
                    type=AssetType.TABLE,
                    fqn=f"{SVC}.shop.mart.v",
                    name="v",
                    attributes={"tableType": "View", "schemaDefinition": sql},
                    columns=[ColumnInput(name="id")],
                )
            ]
        )

    log = tmp_path / "q.csv"
    log.write_text("query_text\nselect 1\n")
    wf = write_workflow(
        tmp_path / "wf.yaml",
        source_type="query-log-lineage",
        service=SVC,
        config={"queryLogFilePath": str(log), "overrideViewLineage": True},
    )
    define("SELECT id FROM raw.customers")
    first = run_ingest("-c", str(wf), "--db-url", store.url, "--json").summary
    assert first is not None and first["edges_added"] == 1, first
    define("SELECT id FROM raw.orders")
    second = run_ingest("-c", str(wf), "--db-url", store.url, "--json").summary
    assert second is not None
    assert second["edges_added"] == 1
    assert second["edges_removed"] == [f"{SVC}.shop.raw.customers -> {SVC}.shop.mart.v [ViewLineage]"]
    view = store.get_asset_by_fqn(AssetType.TABLE, f"{SVC}.shop.mart.v")
    customers = store.get_asset_by_fqn(AssetType.TABLE, f"{SVC}.shop.raw.customers")
    assert view is not None and customers is not None
    assert store.get_edge(customers.pk, view.pk) is None
    third = run_ingest("-c", str(wf), "--db-url", store.url, "--json").summary
    assert third is not None and third["edges_removed"] == [] and third["edges_unchanged"] == 1
