"""Multi-statement scripts: unions, temp-table bridging, USE, batches, procedures; OpenMetadata pain points."""

from __future__ import annotations

from tests.sql.helpers import assert_columns, assert_tables, lineage


def test_script_is_the_union_of_statements() -> None:
    assert_tables(
        "INSERT INTO t1 SELECT * FROM s1; INSERT INTO t2 SELECT * FROM s2; SELECT * FROM s3",
        {"s1", "s2", "s3"},
        {"t1", "t2"},
    )


def test_temp_table_is_bridged_postgres() -> None:
    r = assert_tables(
        """
        CREATE TEMP TABLE stage AS SELECT id, amount FROM raw.orders;
        INSERT INTO mart.daily (id, total) SELECT id, amount * 2 FROM stage;
        """,
        {"raw.orders"},
        {"mart.daily"},
        "postgres",
    )
    assert r.column_lineage == {("raw.orders.id", "mart.daily.id"), ("raw.orders.amount", "mart.daily.total")}
    assert r.column_transformations[("raw.orders.amount", "mart.daily.total")] == "TRANSFORMATION"
    assert r.temporary_tables == {"stage"}


def test_tsql_hash_temp_table_and_select_into() -> None:
    r = assert_tables(
        """
        SELECT o.id, o.amount INTO #tmp FROM [Sales].[dbo].[Orders] o;
        INSERT INTO dbo.Summary (id, amount) SELECT id, SUM(amount) FROM #tmp GROUP BY id;
        DROP TABLE #tmp;
        """,
        {"sales.dbo.orders"},
        {"dbo.summary"},
        "tsql",
    )
    assert r.column_transformations == {
        ("sales.dbo.orders.id", "dbo.summary.id"): "IDENTITY",
        ("sales.dbo.orders.amount", "dbo.summary.amount"): "AGGREGATION",
    }


def test_created_then_dropped_table_is_temporary() -> None:
    r = assert_tables(
        "CREATE TABLE work1 AS SELECT a FROM src; INSERT INTO dst SELECT a FROM work1; DROP TABLE work1",
        {"src"},
        {"dst"},
    )
    assert r.column_lineage == {("src.a", "dst.a")}


def test_drop_before_create_is_not_temporary() -> None:
    assert_tables("DROP TABLE IF EXISTS tab1; CREATE TABLE tab1 AS SELECT a FROM src", {"src"}, {"tab1"})


def test_teradata_volatile_table() -> None:
    assert_tables(
        "CREATE VOLATILE TABLE vt AS (SELECT a FROM src) WITH DATA ON COMMIT PRESERVE ROWS; "
        "INSERT INTO dst SELECT a FROM vt;",
        {"src"},
        {"dst"},
        "teradata",
    )


def test_intermediate_table_written_then_read() -> None:
    r = assert_tables(
        "CREATE TABLE tab_a AS SELECT x FROM tab_b; CREATE TABLE tab_c AS SELECT x FROM tab_a",
        {"tab_b"},
        {"tab_c"},
    )
    assert r.intermediate_tables == {"tab_a"}
    assert r.column_lineage == {("tab_b.x", "tab_c.x")}
    # every hop is still available per statement
    assert [(st.sources, st.targets) for st in r.statements] == [
        ({"tab_b"}, {"tab_a"}),
        ({"tab_a"}, {"tab_c"}),
    ]


def test_rename_after_write() -> None:
    assert_tables("INSERT INTO tab1 SELECT * FROM tab2; ALTER TABLE tab1 RENAME TO tab3", {"tab2"}, {"tab3"})


def test_use_changes_the_default() -> None:
    assert_tables(
        "USE sales; INSERT INTO orders_copy SELECT * FROM orders; USE hr; SELECT * FROM people",
        {"sales.orders", "hr.people"},
        {"sales.orders_copy"},
        "mysql",
    )
    assert_tables(
        "USE SalesDB; INSERT INTO dbo.t SELECT * FROM dbo.s",
        {"salesdb.dbo.s"},
        {"salesdb.dbo.t"},
        "tsql",
    )
    assert_tables(
        "USE SCHEMA analytics.core; CREATE TABLE t AS SELECT * FROM s",
        {"ANALYTICS.CORE.S"},
        {"ANALYTICS.CORE.T"},
        "snowflake",
    )
    assert_tables("USE WAREHOUSE big_wh; SELECT * FROM s", {"S"}, set(), "snowflake")


def test_tsql_go_batches_and_missing_semicolons() -> None:
    assert_tables(
        "INSERT INTO t1 SELECT * FROM s1\nGO\nINSERT INTO t2 SELECT * FROM s2\nGO 2\n",
        {"s1", "s2"},
        {"t1", "t2"},
        "tsql",
    )
    assert_tables(
        "insert into tab1 select * from foo\ninsert into tab2 select * from bar",
        {"foo", "bar"},
        {"tab1", "tab2"},
        "tsql",
    )


def test_stored_procedure_bodies() -> None:
    sql = """CREATE PROCEDURE dbo.load_sales AS
    BEGIN
        INSERT INTO dbo.sales_hist (id, amount) SELECT id, amount FROM dbo.sales;
        UPDATE dbo.load_log SET done = 1;
    END"""
    r = assert_tables(sql, {"dbo.sales"}, {"dbo.sales_hist", "dbo.load_log"}, "tsql")
    assert ("dbo.sales.id", "dbo.sales_hist.id") in r.column_lineage
    assert_tables(
        "CREATE PROCEDURE p() BEGIN INSERT INTO t (a) SELECT a FROM s; END", {"s"}, {"t"}, "bigquery"
    )


def test_statement_detail_is_exposed() -> None:
    r = lineage("USE db1; INSERT INTO t SELECT a FROM s; SELECT 1", "mysql")
    assert [st.kind for st in r.statements] == ["USE", "INSERT", "SELECT"]
    assert r.statements[1].column_lineage == {("db1.s.a", "db1.t.a")}


# --- OpenMetadata pain points (spec section 6) --------------------------------------------------------------


def test_om_15784_tsql_bracket_names_in_comma_joins() -> None:
    assert_columns(
        """INSERT INTO [DW].[dbo].[FactSales] (CustomerName, Amount)
           SELECT c.[Name], s.[Amount] FROM [Sales].[dbo].[Orders] s, [Sales].[dbo].[Customers] c
           WHERE s.[CustomerID] = c.[ID]""",
        {
            ("sales.dbo.customers.name", "dw.dbo.factsales.customername"),
            ("sales.dbo.orders.amount", "dw.dbo.factsales.amount"),
        },
        "tsql",
    )


def test_om_11398_bigquery_backticked_names_with_spaces() -> None:
    r = assert_tables(
        "CREATE TABLE `my-project.my dataset.my table` AS SELECT `order id` FROM `my-project.raw data.orders`",
        {"my-project.raw data.orders"},
        {"my-project.my dataset.my table"},
        "bigquery",
    )
    assert r.column_lineage == {
        ("my-project.raw data.orders.order id", "my-project.my dataset.my table.order id")
    }


def test_om_19210_derived_columns_attributed_to_the_right_table() -> None:
    assert_columns(
        """INSERT INTO report SELECT o.id, c.region, o.amount * c.rate AS converted
           FROM orders o JOIN currencies c ON o.cur = c.code""",
        {
            ("orders.id", "report.id"),
            ("currencies.region", "report.region"),
            ("orders.amount", "report.converted"),
            ("currencies.rate", "report.converted"),
        },
    )


def test_om_5784_aliased_columns() -> None:
    assert_columns(
        "INSERT INTO t SELECT x.col_a AS renamed_a, x.col_b renamed_b FROM src x",
        {("src.col_a", "t.renamed_a"), ("src.col_b", "t.renamed_b")},
    )


def test_om_5619_multi_source_joins() -> None:
    assert_columns(
        """INSERT INTO t SELECT a.k, b.v1, c.v2 FROM a JOIN b ON a.k = b.k LEFT JOIN c ON b.k = c.k""",
        {("a.k", "t.k"), ("b.v1", "t.v1"), ("c.v2", "t.v2")},
    )


def test_lone_temp_table_is_still_a_target() -> None:
    # a query log row that only fills a temp table: nothing to bridge, the write is reported
    r = assert_tables("CREATE TEMPORARY TABLE t1 AS SELECT a FROM s", {"S"}, {"T1"}, "snowflake")
    assert r.temporary_tables == {"T1"}
    assert r.column_lineage == {("S.A", "T1.A")}


def test_bridging_through_a_table_read_with_star() -> None:
    r = lineage(
        "CREATE TABLE stage AS SELECT id, name FROM raw.users; INSERT INTO mart.users SELECT s.* FROM stage s",
        schema={"raw.users": ["id", "name"]},
    )
    assert r.sources == {"raw.users"} and r.targets == {"mart.users"}
    assert r.column_lineage == {("raw.users.id", "mart.users.id"), ("raw.users.name", "mart.users.name")}
