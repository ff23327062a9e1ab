"""Dialect names: sqlglot's own, plus the names OpenMetadata and sqlfluff use.

Query logs arrive labelled with whatever their connector calls the engine
(``mssql``, ``sparksql``, ``greenplum`` ...). Mapping those here, once, keeps
callers from guessing which sqlglot dialect parses their SQL best.
"""

from __future__ import annotations

from functools import lru_cache

from sqlglot.dialects.dialect import Dialect, Dialects

#: sqlglot's dialect names ("" is its generic dialect, exposed as "ansi").
SQLGLOT_DIALECTS: tuple[str, ...] = tuple(sorted(d.value for d in Dialects if d.value))

#: Other names accepted, mapped to the closest sqlglot dialect ("" = generic).
DIALECT_ALIASES: dict[str, str] = {
    "ansi": "",
    "generic": "",
    "sql": "",
    "informix": "",
    "sparksql": "spark",
    "deltalake": "spark",
    "spark3": "spark",
    "unitycatalog": "databricks",
    "greenplum": "postgres",
    "postgresql": "postgres",
    "cockroachdb": "postgres",
    "vertica": "postgres",
    "mariadb": "mysql",
    "singlestore": "mysql",
    "memsql": "mysql",
    "tidb": "mysql",
    "db2": "postgres",
    "impala": "hive",
    "azuresql": "tsql",
    "mssql": "tsql",
    "sqlserver": "tsql",
    "synapse": "tsql",
    "microsoftfabric": "fabric",
    "bq": "bigquery",
    "googlebigquery": "bigquery",
    "awsathena": "athena",
    "prestodb": "presto",
    "trinodb": "trino",
    "ch": "clickhouse",
    "sparkthrift": "spark",
}

#: Every accepted name, for error messages, CLIs and UIs.
ACCEPTED_DIALECTS: tuple[str, ...] = tuple(sorted(set(SQLGLOT_DIALECTS) | set(DIALECT_ALIASES)))

# Dialects where an unqualified ``USE x`` selects a database (catalog level of a
# three-part name); elsewhere it selects the schema (``db.table`` names).
_USE_SELECTS_DATABASE = frozenset({"snowflake", "tsql", "fabric", "redshift", "postgres", "teradata"})

# Dialects where a projection may refer to an alias defined earlier in the same
# SELECT list (``SELECT a + 1 AS x, x * 2 AS y``).
_LATERAL_ALIAS_DIALECTS = frozenset(
    {"snowflake", "redshift", "databricks", "spark", "teradata", "duckdb", "clickhouse", "exasol", "dremio"}
)


@lru_cache(maxsize=256)
def resolve_dialect(name: str | None) -> str:
    """Return the sqlglot dialect name for ``name`` ("" means sqlglot's generic dialect).

    Raises ``ValueError`` listing the accepted names when ``name`` is unknown, so
    a typo in a workflow config fails loudly instead of parsing with the wrong rules.
    """
    if name is None:
        return ""
    key = name.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    if key == "":
        return ""
    if key in DIALECT_ALIASES:
        return DIALECT_ALIASES[key]
    if key in SQLGLOT_DIALECTS:
        return key
    raise ValueError(f"unknown SQL dialect {name!r}; accepted: {', '.join(ACCEPTED_DIALECTS)}")


@lru_cache(maxsize=64)
def get_dialect(name: str) -> Dialect:
    """Return a (cached) sqlglot Dialect instance for a resolved dialect name."""
    return Dialect.get_or_raise(name or None)


def use_selects_database(dialect: str) -> bool:
    """Whether ``USE x`` (no kind keyword) changes the default database rather than the schema."""
    return dialect in _USE_SELECTS_DATABASE


def supports_lateral_alias(dialect: str) -> bool:
    """Whether a SELECT item can reference an alias defined earlier in the same SELECT list."""
    return dialect in _LATERAL_ALIAS_DIALECTS
