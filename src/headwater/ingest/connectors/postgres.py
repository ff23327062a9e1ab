"""PostgreSQL: metadata from the catalog, view definitions, query history from pg_stat_statements."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg

from headwater.ingest.connectors.base import Connector, ConnectorError, register
from headwater.ingest.records import ColumnInfo, QueryRecord, TableInfo

_KINDS = {"r": "table", "p": "partitioned", "v": "view", "m": "materializedView", "f": "foreign"}

_TABLES_SQL = """
SELECT c.oid, n.nspname, c.relname, c.relkind, obj_description(c.oid, 'pg_class'),
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%'
  AND NOT c.relispartition
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                  AND d.deptype = 'e')
ORDER BY n.nspname, c.relname
"""

_COLUMNS_SQL = """
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), col_description(a.attrelid, a.attnum)
FROM pg_attribute a
WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attrelid = ANY(%s)
ORDER BY a.attrelid, a.attnum
"""

# OpenMetadata's POSTGRES_SQL_STATEMENT, with its lineage filters.
_HISTORY_SQL = """
SELECT u.usename, d.datname, s.query, s.{time_column}
FROM {source} s
JOIN pg_catalog.pg_database d ON s.dbid = d.oid
JOIN pg_catalog.pg_user u ON s.userid = u.usesysid
WHERE s.query NOT LIKE '/* {{"app": "OpenMetadata", %%}} */%%'
  AND s.query NOT LIKE '/* {{"app": "dbt", %%}} */%%'
  AND (s.query ILIKE '%%create%%table%%as%%select%%' OR s.query ILIKE '%%insert%%into%%select%%'
       OR s.query ILIKE '%%update%%' OR s.query ILIKE '%%merge%%' OR s.query ILIKE '%%create%%view%%')
  {extra}
ORDER BY s.calls DESC
LIMIT %s
"""

PG_STAT_STATEMENTS_HELP = (
    "query lineage from PostgreSQL needs the pg_stat_statements extension: set "
    "shared_preload_libraries = 'pg_stat_statements' in postgresql.conf and restart the server, run "
    "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; in the database, and GRANT pg_read_all_stats TO "
    "the workflow's user"
)


@register("postgres")
class PostgresConnector(Connector):
    service_type = "Postgres"
    dialect = "postgres"
    default_schema = "public"

    def _connect(self, database: str | None = None) -> psycopg.Connection[Any]:
        host, port = self.host_port(5432)
        params: dict[str, Any] = {
            "host": host,
            "port": port,
            "user": self.config.get("username") or "postgres",
            "dbname": database or self.config.get("database") or "postgres",
            "connect_timeout": 10,
            "autocommit": True,
        }
        if self.password() is not None:
            params["password"] = self.password()
        if self.config.get("sslMode"):
            params["sslmode"] = self.config["sslMode"]
        opts = self.config.get("connectionOptions") or {}
        if isinstance(opts, dict):
            params.update({str(k): v for k, v in opts.items()})
        try:
            return psycopg.connect(**params)
        except psycopg.Error as exc:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConnectorError(
                f"cannot connect to PostgreSQL at {host}:{port} as {params['user']} "
                f"(database {params['dbname']}): {msg}"
            ) from None

    def test_connection(self) -> None:
        with self._connect() as conn:
            conn.execute("SELECT 1")

    def databases(self) -> list[str]:
        configured = self.config.get("database")
        if configured and not self.config.get("ingestAllDatabases"):
            return [str(configured)]
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname"
            ).fetchall()
        return [r[0] for r in rows if self.allowed(r[0])]

    def list_tables(self) -> Iterator[TableInfo]:
        for db in self.databases():
            with self._connect(db) as conn:
                rows = conn.execute(_TABLES_SQL).fetchall()
                rows = [r for r in rows if self.allowed(db, r[1], r[2])]
                cols: dict[int, list[ColumnInfo]] = {}
                oids = [r[0] for r in rows]
                for i in range(0, len(oids), 1000):
                    for rel, name, typ, desc in conn.execute(_COLUMNS_SQL, (oids[i : i + 1000],)):
                        cols.setdefault(rel, []).append(ColumnInfo(name, typ, desc))
            for oid, schema, name, kind, desc, viewdef in rows:
                yield TableInfo(
                    database=db,
                    schema=schema,
                    name=name,
                    kind=_KINDS.get(kind, "table"),
                    columns=cols.get(oid, []),
                    view_definition=viewdef.strip() if viewdef else None,
                    description=desc,
                )

    def query_history(self, since: datetime, limit: int) -> Iterator[QueryRecord]:
        source = str(self.config.get("queryStatementSource") or "pg_stat_statements")
        with self._connect() as conn:
            if source == "pg_stat_statements":
                ext = conn.execute(
                    "SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'"
                ).fetchone()
                if ext is None:
                    db = self.config.get("database") or "postgres"
                    raise ConnectorError(
                        f"pg_stat_statements is not installed in database {db!r}: {PG_STAT_STATEMENTS_HELP}"
                    )
            try:
                cols = {
                    r[0]
                    for r in conn.execute(
                        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0",
                        (source,),
                    )
                }
            except psycopg.Error as exc:
                raise ConnectorError(
                    f"cannot read {source}: {str(exc).strip()}; {PG_STAT_STATEMENTS_HELP}"
                ) from None
            time_column = "total_exec_time" if "total_exec_time" in cols else "total_time"
            extra = f"AND ({self.options.filter_condition})" if self.options.filter_condition else ""
            sql = _HISTORY_SQL.format(time_column=time_column, source=source, extra=extra)
            try:
                rows = conn.execute(sql.encode(), (limit,)).fetchall()
            except psycopg.Error as exc:
                text = str(exc).strip().splitlines()[0]
                raise ConnectorError(
                    f"cannot read query history from {source}: {text}; {PG_STAT_STATEMENTS_HELP}"
                ) from None
        hidden = 0
        for user, datname, query, duration in rows:
            if query is None or query.startswith("<insufficient privilege>"):
                hidden += 1
                continue
            if not self.allowed(datname):
                continue
            yield QueryRecord(
                query_text=query,
                database_name=datname,
                schema_name=self.default_schema,
                user_name=user,
                duration=float(duration) if duration is not None else None,
                origin=source,
            )
        if hidden:
            self.warnings.append(
                f"{hidden} queries of other users were hidden by PostgreSQL: GRANT pg_read_all_stats TO the workflow's user"
            )
