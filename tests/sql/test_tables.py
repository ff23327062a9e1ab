"""Table-level lineage per statement kind, across dialects (examples modelled on each dialect's docs)."""

from __future__ import annotations

import pytest

from tests.sql.helpers import assert_tables

# (dialect, sql, sources, targets)
CASES = [
    # INSERT ... SELECT, with and without column lists
    (
        "postgres",
        "INSERT INTO films SELECT * FROM tmp_films WHERE date_prod < '2004-05-07'",
        {"tmp_films"},
        {"films"},
    ),
    (
        "postgres",
        "INSERT INTO films (code, title) SELECT code, title FROM archive.films",
        {"archive.films"},
        {"films"},
    ),
    (
        "mysql",
        "INSERT INTO tbl_temp2 (fld_id) SELECT tbl_temp1.fld_order_id FROM tbl_temp1 WHERE tbl_temp1.fld_order_id > 100",
        {"tbl_temp1"},
        {"tbl_temp2"},
    ),
    (
        "snowflake",
        "INSERT INTO employees (first_name, last_name) SELECT first_name, last_name FROM contractors",
        {"CONTRACTORS"},
        {"EMPLOYEES"},
    ),
    (
        "bigquery",
        "INSERT dataset.Inventory (product, quantity) SELECT product, quantity FROM dataset.NewArrivals",
        {"dataset.NewArrivals"},
        {"dataset.Inventory"},
    ),
    (
        "tsql",
        "INSERT INTO dbo.EmployeeSales SELECT sp.BusinessEntityID, c.LastName FROM Sales.SalesPerson AS sp "
        "INNER JOIN Person.Person AS c ON sp.BusinessEntityID = c.BusinessEntityID",
        {"sales.salesperson", "person.person"},
        {"dbo.employeesales"},
    ),
    (
        "oracle",
        "INSERT INTO bonuses SELECT employee_id, salary*1.1 FROM employees WHERE commission_pct > 0.25",
        {"EMPLOYEES"},
        {"BONUSES"},
    ),
    (
        "clickhouse",
        "INSERT INTO db.events_local SELECT * FROM db.events_buffer",
        {"db.events_buffer"},
        {"db.events_local"},
    ),
    ("duckdb", "INSERT INTO tbl SELECT * FROM other_tbl", {"other_tbl"}, {"tbl"}),
    ("trino", "INSERT INTO orders SELECT * FROM new_orders", {"new_orders"}, {"orders"}),
    ("teradata", "INSERT INTO sales_hist SELECT * FROM sales_daily", {"sales_daily"}, {"sales_hist"}),
    ("redshift", "INSERT INTO category_stage (SELECT * FROM category)", {"category"}, {"category_stage"}),
    # INSERT ... VALUES: a write without a source
    ("postgres", "INSERT INTO films VALUES ('UA502', 'Bananas', 105)", set(), {"films"}),
    # INSERT OVERWRITE (Hive / Spark / Databricks)
    (
        "hive",
        "INSERT OVERWRITE TABLE page_view PARTITION(dt='2008-06-08', country) "
        "SELECT pvs.viewTime, pvs.userid FROM page_view_stg pvs",
        {"page_view_stg"},
        {"page_view"},
    ),
    (
        "spark",
        "INSERT OVERWRITE students SELECT * FROM persons WHERE name = 'Dora Williams'",
        {"persons"},
        {"students"},
    ),
    (
        "databricks",
        "INSERT OVERWRITE TABLE main.sales.daily SELECT * FROM main.sales.raw",
        {"main.sales.raw"},
        {"main.sales.daily"},
    ),
    # CREATE TABLE AS
    (
        "postgres",
        "CREATE TABLE films_recent AS SELECT * FROM films WHERE date_prod >= '2002-01-01'",
        {"films"},
        {"films_recent"},
    ),
    (
        "snowflake",
        "CREATE OR REPLACE TABLE mytable_copy AS SELECT * FROM mydb.myschema.mytable",
        {"MYDB.MYSCHEMA.MYTABLE"},
        {"MYTABLE_COPY"},
    ),
    (
        "bigquery",
        "CREATE TABLE mydataset.top_words AS SELECT corpus, ARRAY_AGG(word) AS top_words "
        "FROM `bigquery-public-data.samples.shakespeare` GROUP BY corpus",
        {"bigquery-public-data.samples.shakespeare"},
        {"mydataset.top_words"},
    ),
    ("redshift", "CREATE TABLE event_backup AS SELECT * FROM event", {"event"}, {"event_backup"}),
    (
        "athena",
        "CREATE TABLE new_table WITH (format = 'Parquet') AS SELECT * FROM old_table",
        {"old_table"},
        {"new_table"},
    ),
    ("teradata", "CREATE TABLE emp_copy AS (SELECT * FROM employee) WITH DATA", {"employee"}, {"emp_copy"}),
    # CREATE VIEW / MATERIALIZED VIEW
    (
        "postgres",
        "CREATE VIEW comedies AS SELECT * FROM films WHERE kind = 'Comedy'",
        {"films"},
        {"comedies"},
    ),
    ("snowflake", "CREATE MATERIALIZED VIEW mv1 AS SELECT col1, col2 FROM table1", {"TABLE1"}, {"MV1"}),
    (
        "postgres",
        "CREATE MATERIALIZED VIEW sales_summary AS SELECT seller_no, sum(amount) AS total "
        "FROM (SELECT * FROM invoice WHERE invoice_date > '2020-01-01') recent GROUP BY seller_no",
        {"invoice"},
        {"sales_summary"},
    ),
    (
        "trino",
        "CREATE OR REPLACE VIEW test AS SELECT orderkey, orderstatus FROM orders",
        {"orders"},
        {"test"},
    ),
    # plain DDL: a write with no source (like sqllineage), and LIKE / CLONE read the model table
    ("postgres", "CREATE TABLE t1 (id int, name text)", set(), {"t1"}),
    ("snowflake", "CREATE TABLE t2 LIKE t1", {"T1"}, {"T2"}),
    ("snowflake", "CREATE TABLE orders_clone CLONE orders", {"ORDERS"}, {"ORDERS_CLONE"}),
    # MERGE
    (
        "snowflake",
        "MERGE INTO target t USING source s ON t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET t.v = s.v WHEN NOT MATCHED THEN INSERT (id, v) VALUES (s.id, s.v)",
        {"SOURCE"},
        {"TARGET"},
    ),
    (
        "tsql",
        "MERGE Production.UnitMeasure AS tgt USING (SELECT @UnitMeasureCode, @Name) AS src (UnitMeasureCode, Name) "
        "ON (tgt.UnitMeasureCode = src.UnitMeasureCode) WHEN MATCHED THEN UPDATE SET Name = src.Name",
        set(),
        {"production.unitmeasure"},
    ),
    (
        "bigquery",
        "MERGE dataset.DetailedInventory T USING dataset.Inventory S ON T.product = S.product "
        "WHEN NOT MATCHED AND quantity < 20 THEN INSERT(product, quantity) VALUES(product, quantity)",
        {"dataset.Inventory"},
        {"dataset.DetailedInventory"},
    ),
    (
        "databricks",
        "MERGE INTO target USING (SELECT * FROM updates WHERE ts > '2024-01-01') u ON target.k = u.k "
        "WHEN MATCHED THEN DELETE",
        {"updates"},
        {"target"},
    ),
    # UPDATE ... FROM / JOIN
    (
        "postgres",
        "UPDATE employees SET sales_count = sales_count + 1 FROM accounts "
        "WHERE accounts.name = 'Acme Corporation' AND employees.id = accounts.sales_person",
        {"accounts"},
        {"employees"},
    ),
    (
        "mysql",
        "UPDATE items, month SET items.price = month.price WHERE items.id = month.id",
        {"month"},
        {"items"},
    ),
    ("mysql", "UPDATE t1 JOIN t2 ON t1.id = t2.id SET t1.a = t2.b", {"t2"}, {"t1"}),
    (
        "tsql",
        "UPDATE sr SET sr.Name = 'x' FROM Production.ScrapReason AS sr JOIN Production.WorkOrder AS wo "
        "ON sr.ScrapReasonID = wo.ScrapReasonID AND wo.ScrappedQty > 300",
        {"production.workorder"},
        {"production.scrapreason"},
    ),
    (
        "postgres",
        "UPDATE accounts SET (contact_first_name, contact_last_name) = "
        "(SELECT first_name, last_name FROM employees WHERE employees.id = accounts.sales_person)",
        {"employees"},
        {"accounts"},
    ),
    (
        "snowflake",
        "UPDATE t1 SET number_column = t1.number_column + t2.number_column FROM t2 WHERE t1.key = t2.key",
        {"T2"},
        {"T1"},
    ),
    # DELETE ... USING / subquery
    (
        "postgres",
        "DELETE FROM films USING producers WHERE producer_id = producers.id AND producers.name = 'foo'",
        {"producers"},
        {"films"},
    ),
    (
        "postgres",
        "DELETE FROM films WHERE producer_id IN (SELECT id FROM producers WHERE name = 'foo')",
        {"producers"},
        {"films"},
    ),
    (
        "snowflake",
        "DELETE FROM leased_bicycles USING returned_bicycles "
        "WHERE leased_bicycles.bicycle_id = returned_bicycles.bicycle_id",
        {"RETURNED_BICYCLES"},
        {"LEASED_BICYCLES"},
    ),
    # SELECT INTO
    (
        "tsql",
        "SELECT c.FirstName, c.LastName INTO dbo.EmployeeAddresses FROM Person.Person AS c",
        {"person.person"},
        {"dbo.employeeaddresses"},
    ),
    (
        "postgres",
        "SELECT * INTO films_recent FROM films WHERE date_prod >= '2002-01-01'",
        {"films"},
        {"films_recent"},
    ),
    (
        "postgres",
        "SELECT * INTO films_all FROM films UNION ALL SELECT * FROM films_backup",
        {"films", "films_backup"},
        {"films_all"},
    ),
    # COPY / UNLOAD
    (
        "snowflake",
        "COPY INTO mytable FROM @my_int_stage/data.csv FILE_FORMAT = (TYPE = CSV)",
        set(),
        {"MYTABLE"},
    ),
    ("snowflake", "COPY INTO @my_stage/result/data_ FROM (SELECT * FROM orderstiny)", {"ORDERSTINY"}, set()),
    (
        "redshift",
        "COPY listing FROM 's3://mybucket/data/listing/' IAM_ROLE 'arn:aws:iam::0123456789012:role/MyRole'",
        set(),
        {"listing"},
    ),
    (
        "redshift",
        "UNLOAD ('select * from venue where venuestate = ''NV''') TO 's3://mybucket/unload/' "
        "IAM_ROLE 'arn:aws:iam::0123456789012:role/MyRedshiftRole'",
        {"venue"},
        set(),
    ),
    # read-only queries
    ("postgres", "SELECT * FROM weather WHERE city = 'San Francisco'", {"weather"}, set()),
    ("bigquery", "SELECT * FROM `project.dataset.table` WHERE x = 1", {"project.dataset.table"}, set()),
    ("oracle", "SELECT SYSDATE FROM DUAL", set(), set()),
]


@pytest.mark.parametrize(
    ("dialect", "sql", "sources", "targets"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_statement_tables(dialect: str, sql: str, sources: set[str], targets: set[str]) -> None:
    assert_tables(sql, sources, targets, dialect)


@pytest.mark.parametrize(
    "dialect", ["postgres", "snowflake", "bigquery", "mysql", "tsql", "spark", "trino", "duckdb"]
)
def test_ctes_are_not_tables(dialect: str) -> None:
    sql = """
    WITH regional_sales AS (SELECT region, SUM(amount) AS total_sales FROM orders GROUP BY region),
         top_regions AS (SELECT region FROM regional_sales
                         WHERE total_sales > (SELECT SUM(total_sales) / 10 FROM regional_sales))
    SELECT region, product, SUM(quantity) AS product_units FROM orders
    WHERE region IN (SELECT region FROM top_regions) GROUP BY region, product
    """
    result = assert_tables(sql, {"ORDERS" if dialect == "snowflake" else "orders"}, set(), dialect)
    assert result.column_lineage == set()


def test_recursive_cte() -> None:
    sql = """
    WITH RECURSIVE included_parts(sub_part, part, quantity) AS (
        SELECT sub_part, part, quantity FROM parts WHERE part = 'our_product'
      UNION ALL
        SELECT p.sub_part, p.part, p.quantity * pr.quantity
        FROM included_parts pr, parts p WHERE p.part = pr.sub_part)
    INSERT INTO part_totals SELECT sub_part, SUM(quantity) as total_quantity FROM included_parts GROUP BY sub_part
    """
    assert_tables(sql, {"parts"}, {"part_totals"}, "postgres")


def test_cte_shadowing_a_table_reads_the_table() -> None:
    # a non-recursive CTE body cannot see itself: the inner ``t`` is the stored table
    assert_tables(
        "WITH t AS (SELECT * FROM t WHERE x > 1) INSERT INTO u SELECT * FROM t", {"t"}, {"u"}, "postgres"
    )


def test_nested_ctes_and_subqueries() -> None:
    sql = """
    INSERT INTO report
    WITH a AS (WITH inner_cte AS (SELECT id FROM raw.one) SELECT id FROM inner_cte),
         b AS (SELECT id FROM (SELECT id FROM raw.two) x)
    SELECT a.id, (SELECT max(id) FROM raw.three) AS m FROM a JOIN b ON a.id = b.id
    WHERE EXISTS (SELECT 1 FROM raw.four f WHERE f.id = a.id)
    """
    assert_tables(sql, {"raw.one", "raw.two", "raw.three", "raw.four"}, {"report"}, "spark")


@pytest.mark.parametrize("op", ["UNION", "UNION ALL", "INTERSECT", "EXCEPT"])
def test_set_operations(op: str) -> None:
    assert_tables(
        f"INSERT INTO t SELECT a FROM x {op} SELECT a FROM y {op} SELECT a FROM z", {"x", "y", "z"}, {"t"}
    )


def test_lateral_view_unnest_flatten() -> None:
    assert_tables(
        "INSERT INTO t SELECT id, tag FROM events LATERAL VIEW explode(tags) tt AS tag",
        {"events"},
        {"t"},
        "hive",
    )
    assert_tables(
        "INSERT INTO t SELECT e.id, x FROM events e CROSS JOIN UNNEST(e.tags) AS u(x)",
        {"events"},
        {"t"},
        "trino",
    )
    assert_tables(
        "CREATE TABLE t AS SELECT e.id, f.value AS tag FROM events e, LATERAL FLATTEN(input => e.tags) f",
        {"EVENTS"},
        {"T"},
        "snowflake",
    )
    assert_tables(
        "SELECT id, tag FROM mydataset.events, UNNEST(tags) AS tag", {"mydataset.events"}, set(), "bigquery"
    )


def test_three_and_four_part_names() -> None:
    assert_tables("INSERT INTO db.sch.t SELECT * FROM db2.sch2.s", {"DB2.SCH2.S"}, {"DB.SCH.T"}, "snowflake")
    assert_tables(
        "INSERT INTO dbo.t SELECT * FROM linkedsrv.salesdb.dbo.orders",
        {"linkedsrv.salesdb.dbo.orders"},
        {"dbo.t"},
        "tsql",
    )


def test_quoted_and_case_sensitive_identifiers() -> None:
    assert_tables(
        'INSERT INTO "Sales"."Orders" SELECT * FROM "Raw"."orders"',
        {"Raw.orders"},
        {"Sales.Orders"},
        "postgres",
    )
    assert_tables(
        'INSERT INTO Sales.Orders SELECT * FROM "Raw".orders', {"Raw.orders"}, {"sales.orders"}, "postgres"
    )
    assert_tables(
        'INSERT INTO sales.orders SELECT * FROM "raw"."Orders"', {"raw.Orders"}, {"SALES.ORDERS"}, "snowflake"
    )
    assert_tables(
        "INSERT INTO `Sales`.`Orders` SELECT * FROM Raw.Orders", {"Raw.Orders"}, {"Sales.Orders"}, "mysql"
    )
    assert_tables(
        "INSERT INTO [Sales].[Orders] SELECT * FROM [Raw].[Orders]", {"raw.orders"}, {"sales.orders"}, "tsql"
    )


def test_variables_placeholders_and_comments() -> None:
    sql = """
    -- nightly load
    INSERT INTO target /* the target */ (a, b)
    SELECT a, b FROM source -- the source
    WHERE created_at > :since AND region = ? AND owner = $1
    """
    assert_tables(sql, {"source"}, {"target"}, "postgres")
    assert_tables("INSERT INTO t SELECT a FROM s WHERE d > @start_date", {"s"}, {"t"}, "tsql")
    assert_tables("INSERT INTO t SELECT a FROM s WHERE d > ${hiveconf:start}", {"s"}, {"t"}, "hive")


def test_default_database_and_schema_qualify_unqualified_names() -> None:
    assert_tables("SELECT * FROM orders", {"public.orders"}, set(), default_schema="public")
    assert_tables(
        "INSERT INTO sales.t SELECT * FROM orders",
        {"shop.public.orders"},
        {"shop.sales.t"},
        default_database="shop",
        default_schema="public",
    )
    assert_tables("SELECT * FROM other.orders", {"other.orders"}, set(), default_schema="public")
    assert_tables(
        "SELECT * FROM orders",
        {"SHOP.PUBLIC.ORDERS"},
        set(),
        "snowflake",
        default_database="shop",
        default_schema="public",
    )


def test_spark_file_paths_are_not_tables() -> None:
    assert_tables("SELECT * FROM parquet.`/data/events/`", set(), set(), "spark")


def test_alter_swap_and_exchange() -> None:
    assert_tables("ALTER TABLE tab1 SWAP WITH tab2", {"TAB2"}, {"TAB1"}, "snowflake")
    assert_tables(
        "ALTER TABLE tab1 EXCHANGE PARTITION (pt='part1') WITH TABLE tab2", {"tab2"}, {"tab1"}, "hive"
    )


def test_foreign_keys_are_not_sources() -> None:
    assert_tables(
        "CREATE TABLE orders (id int, customer_id int REFERENCES customers(id))",
        set(),
        {"orders"},
        "postgres",
    )


def test_user_defined_table_functions_are_sources() -> None:
    assert_tables(
        "SELECT * FROM TABLE(analytics.core.daily_events()) e",
        {"ANALYTICS.CORE.DAILY_EVENTS"},
        set(),
        "snowflake",
    )
    assert_tables("INSERT INTO t SELECT * FROM my_schema.get_rows(1)", {"my_schema.get_rows"}, {"t"})
    # built-in generators are not data
    assert_tables("SELECT seq4() FROM TABLE(GENERATOR(ROWCOUNT => 10))", set(), set(), "snowflake")
    assert_tables("SELECT * FROM generate_series(1, 10)", set(), set(), "postgres")


def test_snowflake_identifier_and_streams() -> None:
    assert_tables("CREATE TABLE IDENTIFIER('db.sch.t') AS SELECT * FROM s", {"S"}, {"DB.SCH.T"}, "snowflake")
    assert_tables("CREATE OR REPLACE STREAM st ON TABLE raw.orders", {"RAW.ORDERS"}, {"ST"}, "snowflake")


def test_copy_into_table_with_column_list_from_stage_query() -> None:
    assert_tables(
        "COPY INTO db.trf.files (name, data) FROM (SELECT METADATA$FILENAME, $1 FROM @db.stg.my_stage) "
        "FILE_FORMAT = (FORMAT_NAME = 'db.trf.ff')",
        set(),
        {"DB.TRF.FILES"},
        "snowflake",
    )


def test_reading_the_target_only_to_filter_is_not_a_source() -> None:
    assert_tables(
        "INSERT INTO master SELECT k, v FROM stage WHERE k NOT IN (SELECT k FROM master)",
        {"stage"},
        {"master"},
    )
    # but reading it in FROM is
    assert_tables("INSERT INTO t SELECT a.x FROM s a JOIN t b ON a.k = b.k", {"s", "t"}, {"t"})


def test_slash_slash_comment_lines() -> None:
    assert_tables(
        "// nightly job header\nSELECT * FROM my_schema.my_table", {"MY_SCHEMA.MY_TABLE"}, set(), "snowflake"
    )
