"""Column-level lineage: exact pairs and their transformation types."""

from __future__ import annotations

import pytest

from tests.sql.helpers import assert_columns, lineage


def test_insert_with_column_list_maps_by_position() -> None:
    assert_columns(
        "INSERT INTO dst (id, full_name) SELECT s.id, s.name FROM src s",
        {("src.id", "dst.id"), ("src.name", "dst.full_name")},
    )


def test_insert_without_column_list_uses_output_names() -> None:
    assert_columns(
        "INSERT INTO dst SELECT id, name AS label FROM src",
        {("src.id", "dst.id"), ("src.name", "dst.label")},
        "postgres",
    )


def test_insert_without_column_list_uses_target_schema_when_known() -> None:
    assert_columns(
        "INSERT INTO dst SELECT id, name FROM src",
        {("src.id", "dst.key"), ("src.name", "dst.title")},
        schema={"dst": ["key", "title"]},
    )


def test_transformation_types_and_functions() -> None:
    r = lineage(
        """
        INSERT INTO out_t
        SELECT o.id,
               UPPER(TRIM(o.name)) AS name,
               CAST(o.amount AS DECIMAL(10, 2)) AS amount,
               SUM(o.qty) AS qty,
               ROW_NUMBER() OVER (PARTITION BY o.region ORDER BY o.ts) AS rn,
               CASE WHEN o.status = 'x' THEN o.flag ELSE 0 END AS flag,
               o.a + o.b AS total
        FROM orders o GROUP BY o.id, o.name, o.amount, o.region, o.ts, o.status, o.flag, o.a, o.b
        """,
        "postgres",
    )
    assert r.column_transformations == {
        ("orders.id", "out_t.id"): "IDENTITY",
        ("orders.name", "out_t.name"): "TRANSFORMATION",
        ("orders.amount", "out_t.amount"): "TRANSFORMATION",
        ("orders.qty", "out_t.qty"): "AGGREGATION",
        ("orders.region", "out_t.rn"): "WINDOW",
        ("orders.ts", "out_t.rn"): "WINDOW",
        ("orders.status", "out_t.flag"): "CONDITIONAL",
        ("orders.flag", "out_t.flag"): "TRANSFORMATION",
        ("orders.a", "out_t.total"): "TRANSFORMATION",
        ("orders.b", "out_t.total"): "TRANSFORMATION",
    }
    assert r.column_functions[("orders.name", "out_t.name")] == "TRIM"
    assert r.column_functions[("orders.amount", "out_t.amount")] == "CAST"
    assert r.column_functions[("orders.qty", "out_t.qty")] == "SUM"
    assert r.column_functions[("orders.region", "out_t.rn")] == "ROW_NUMBER"
    assert ("orders.id", "out_t.id") not in r.column_functions


def test_cte_chain_keeps_strongest_transformation() -> None:
    r = lineage(
        "WITH c AS (SELECT id, SUM(amount) AS total FROM s GROUP BY id) INSERT INTO t SELECT id, total AS t2 FROM c"
    )
    assert r.column_transformations == {("s.id", "t.id"): "IDENTITY", ("s.amount", "t.t2"): "AGGREGATION"}


def test_union_merges_branches_by_position() -> None:
    assert_columns(
        "INSERT INTO t (a, b) SELECT x1, y1 FROM x UNION ALL SELECT x2, y2 FROM y",
        {("x.x1", "t.a"), ("x.y1", "t.b"), ("y.x2", "t.a"), ("y.y2", "t.b")},
    )


def test_subqueries_in_from_where_and_select() -> None:
    assert_columns(
        """
        INSERT INTO t
        SELECT d.k, (SELECT MAX(v) FROM lookup l WHERE l.k = d.k) AS mx
        FROM (SELECT k FROM base WHERE k > 0) d
        WHERE d.k IN (SELECT k FROM allowed)
        """,
        {("base.k", "t.k"), ("lookup.v", "t.mx")},
    )


def test_join_with_aliases_attributes_each_column_to_its_table() -> None:
    assert_columns(
        "CREATE TABLE t AS SELECT a.id, b.name, a.v * b.w AS vw FROM s1 a JOIN s2 b ON a.id = b.id",
        {("s1.id", "t.id"), ("s2.name", "t.name"), ("s1.v", "t.vw"), ("s2.w", "t.vw")},
    )


def test_unqualified_columns_in_join_resolve_with_schema() -> None:
    schema = {"s1": ["id", "v"], "s2": ["id2", "name"]}
    assert_columns(
        "CREATE TABLE t AS SELECT v, name FROM s1 JOIN s2 ON s1.id = s2.id2",
        {("s1.v", "t.v"), ("s2.name", "t.name")},
        schema=schema,
    )


def test_unqualified_columns_in_join_without_schema_are_reported_bare() -> None:
    assert_columns("INSERT INTO tgt SELECT col1 FROM t1 JOIN t2 ON t1.id = t2.id", {("col1", "tgt.col1")})


def test_nested_schema_dict_form_is_accepted() -> None:
    schema = {"db": {"sch": {"s1": {"id": "INT", "v": "INT"}, "s2": {"id2": "INT", "name": "TEXT"}}}}
    assert_columns(
        "INSERT INTO t SELECT v, name FROM db.sch.s1 JOIN db.sch.s2 ON id = id2",
        {("db.sch.s1.v", "t.v"), ("db.sch.s2.name", "t.name")},
        schema=schema,
    )


def test_star_without_schema_maps_star_to_star() -> None:
    assert_columns("INSERT INTO t SELECT * FROM s", {("s.*", "t.*")})


def test_star_with_schema_expands() -> None:
    assert_columns(
        "INSERT INTO t SELECT * FROM s", {("s.a", "t.a"), ("s.b", "t.b")}, schema={"s": ["a", "b"]}
    )
    assert_columns(
        "CREATE TABLE t AS SELECT x.*, y.c FROM s x JOIN r y ON x.a = y.a",
        {("s.a", "t.a"), ("s.b", "t.b"), ("r.c", "t.c")},
        schema={"s": ["a", "b"]},
    )


def test_count_star_depends_on_the_whole_table() -> None:
    r = lineage("INSERT INTO t SELECT COUNT(*) AS n FROM s")
    assert r.column_transformations == {("s.*", "t.n"): "AGGREGATION"}


def test_derived_columns_from_earlier_aliases_snowflake() -> None:
    # OpenMetadata #19210: a column built from another alias of the same SELECT
    assert_columns(
        "INSERT INTO t SELECT a.price * a.qty AS gross, gross * 0.2 AS tax FROM orders a",
        {
            ("ORDERS.PRICE", "T.GROSS"),
            ("ORDERS.QTY", "T.GROSS"),
            ("ORDERS.PRICE", "T.TAX"),
            ("ORDERS.QTY", "T.TAX"),
        },
        "snowflake",
    )


def test_alias_swap_is_not_taken_for_a_lateral_alias_in_postgres() -> None:
    assert_columns("INSERT INTO t SELECT b AS a, a AS b FROM s", {("s.b", "t.a"), ("s.a", "t.b")}, "postgres")


def test_merge_columns() -> None:
    assert_columns(
        """
        MERGE INTO tgt t USING (SELECT id, amount * 2 AS amt FROM src) s ON t.id = s.id
        WHEN MATCHED THEN UPDATE SET t.amount = s.amt
        WHEN NOT MATCHED THEN INSERT (id, amount) VALUES (s.id, s.amt)
        """,
        {("SRC.ID", "TGT.ID"), ("SRC.AMOUNT", "TGT.AMOUNT")},
        "snowflake",
    )


def test_update_from_columns() -> None:
    assert_columns(
        "UPDATE t SET a = s.b, c = t.c + s.d FROM s WHERE t.id = s.id",
        {("s.b", "t.a"), ("s.d", "t.c")},
        "postgres",
    )
    assert_columns(
        "UPDATE t SET t.c = s.c FROM tab1 t JOIN tab2 s ON t.id = s.id", {("tab2.c", "tab1.c")}, "tsql"
    )


def test_lateral_view_explode_columns() -> None:
    assert_columns(
        "INSERT INTO t SELECT e.id, tag FROM events e LATERAL VIEW explode(e.tags) tt AS tag",
        {("events.id", "t.id"), ("events.tags", "t.tag")},
        "hive",
    )


def test_unnest_columns() -> None:
    assert_columns(
        "INSERT INTO t SELECT e.id, u.x FROM events e CROSS JOIN UNNEST(e.tags) AS u(x)",
        {("events.id", "t.id"), ("events.tags", "t.x")},
        "trino",
    )


def test_flatten_columns() -> None:
    assert_columns(
        "CREATE TABLE t AS SELECT e.id, f.value AS tag FROM events e, LATERAL FLATTEN(input => e.tags) f",
        {("EVENTS.ID", "T.ID"), ("EVENTS.TAGS", "T.TAG")},
        "snowflake",
    )


def test_view_with_column_list() -> None:
    assert_columns(
        "CREATE VIEW v (k, total) AS SELECT id, SUM(x) FROM s GROUP BY id",
        {("s.id", "v.k"), ("s.x", "v.total")},
    )


def test_cte_with_column_list() -> None:
    assert_columns(
        "WITH c (k, v) AS (SELECT id, amount FROM s) INSERT INTO t SELECT k, v FROM c",
        {("s.id", "t.k"), ("s.amount", "t.v")},
    )


def test_materialized_view_with_subquery() -> None:
    # OpenMetadata #15427
    assert_columns(
        """CREATE MATERIALIZED VIEW mv AS
           SELECT r.seller, r.total FROM (SELECT seller_no AS seller, SUM(amount) AS total
                                          FROM invoices GROUP BY seller_no) r""",
        {("invoices.seller_no", "mv.seller"), ("invoices.amount", "mv.total")},
        "postgres",
    )


def test_case_sensitive_quoted_columns() -> None:
    assert_columns('INSERT INTO "T" ("Id") SELECT "Id" FROM "S"', {("S.Id", "T.Id")}, "postgres")
    assert_columns('INSERT INTO t (id) SELECT "Id" FROM s', {("S.Id", "T.ID")}, "snowflake")


@pytest.mark.parametrize(
    ("dialect", "sql", "pairs"),
    [
        (
            "bigquery",
            "CREATE TABLE ds.t AS SELECT SAFE_CAST(x AS INT64) AS x FROM ds.s",
            {("ds.s.x", "ds.t.x")},
        ),
        ("clickhouse", "INSERT INTO t SELECT toDate(ts) AS d FROM s", {("s.ts", "t.d")}),
        ("duckdb", "CREATE TABLE t AS SELECT list_value(a, b) AS l FROM s", {("s.a", "t.l"), ("s.b", "t.l")}),
        ("tsql", "SELECT ISNULL(a, 0) AS a INTO dbo.t FROM dbo.s", {("dbo.s.a", "dbo.t.a")}),
        ("oracle", "INSERT INTO t (a) SELECT NVL(x, 0) FROM s", {("S.X", "T.A")}),
        ("redshift", "INSERT INTO t SELECT NVL(x, 0) AS a FROM s", {("s.x", "t.a")}),
        ("trino", "INSERT INTO t SELECT date_trunc('day', ts) AS d FROM s", {("s.ts", "t.d")}),
        ("teradata", "INSERT INTO t SELECT ZEROIFNULL(x) AS a FROM s", {("s.x", "t.a")}),
        ("databricks", "INSERT INTO t SELECT explode_outer(arr) AS a FROM s", {("s.arr", "t.a")}),
        ("mysql", "INSERT INTO t SELECT IFNULL(x, 0) AS a FROM s", {("s.x", "t.a")}),
        ("athena", "INSERT INTO t SELECT from_unixtime(x) AS a FROM s", {("s.x", "t.a")}),
    ],
)
def test_functions_across_dialects(dialect: str, sql: str, pairs: set[tuple[str, str]]) -> None:
    assert_columns(sql, pairs, dialect)


def test_update_self_row_columns_and_compound_assignment() -> None:
    assert_columns("UPDATE dbo.t SET val = t.other FROM dbo.t t", {("dbo.t.other", "dbo.t.val")}, "tsql")
    assert_columns(
        "UPDATE sr SET sr.Name += wo.Note FROM Production.ScrapReason AS sr JOIN Production.WorkOrder AS wo "
        "ON sr.ID = wo.ID",
        {("production.workorder.note", "production.scrapreason.name")},
        "tsql",
    )
    assert_columns("UPDATE t SET n = n + 1", set(), "postgres")


def test_update_from_subquery_joined_to_table() -> None:
    assert_columns(
        "UPDATE dbo.inventory SET reorder_level = s.quantity, lead = sup.lead_days "
        "FROM (SELECT product_id, quantity FROM dbo.sales) s JOIN dbo.suppliers sup ON sup.id = s.product_id "
        "WHERE inventory.product_id = s.product_id",
        {
            ("dbo.sales.quantity", "dbo.inventory.reorder_level"),
            ("dbo.suppliers.lead_days", "dbo.inventory.lead"),
        },
        "tsql",
    )
