"""MySQL and MariaDB: metadata from information_schema, query history from performance_schema
(``events_statements_history_long``) or, failing that, the general log written to a table.

As in OpenMetadata, a MySQL database is a *schema* of one database named ``default``:
``service.default.<mysql database>.<table>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pymysql

from headwater.ingest.connectors.base import Connector, ConnectorError, register
from headwater.ingest.records import ColumnInfo, QueryRecord, TableInfo

DEFAULT_DATABASE = "default"
_SYSTEM = ("information_schema", "performance_schema", "mysql", "sys")
_LINEAGE_RE = re.compile(r"\b(insert|create|merge|update|replace|into)\b", re.IGNORECASE)

HISTORY_HELP = (
    "query lineage from MySQL/MariaDB needs a statement history: start the server with "
    "performance_schema=ON and enable the events_statements_history_long consumer (UPDATE "
    "performance_schema.setup_consumers SET ENABLED='YES' WHERE NAME='events_statements_history_long'), "
    "or turn on the general log to a table (SET GLOBAL log_output='TABLE'; SET GLOBAL general_log=ON); "
    "the workflow's user needs SELECT on performance_schema or mysql.general_log"
)


@register("mysql")
@register("mariadb")
class MySQLConnector(Connector):
    service_type = "Mysql"
    dialect = "mysql"

    def __init__(self, config: dict[str, Any], options: Any) -> None:
        super().__init__(config, options)
        if str(config.get("type", "")).lower() == "mariadb":
            self.service_type = "MariaDB"

    def _connect(self) -> pymysql.connections.Connection[Any]:
        host, port = self.host_port(3306)
        try:
            return pymysql.connect(
                host=host,
                port=port,
                user=str(self.config.get("username") or "root"),
                password=self.password() or "",
                database=self.config.get("databaseSchema") or None,
                connect_timeout=10,
                autocommit=True,
                charset="utf8mb4",
            )
        except pymysql.MySQLError as exc:
            raise ConnectorError(
                f"cannot connect to MySQL/MariaDB at {host}:{port}: {exc.args[-1] if exc.args else exc}"
            ) from None

    def test_connection(self) -> None:
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
        finally:
            conn.close()

    def _schemas(self, cur: Any) -> list[str]:
        only = self.config.get("databaseSchema")
        cur.execute("SELECT schema_name FROM information_schema.schemata ORDER BY schema_name")
        names = [r[0] for r in cur.fetchall() if r[0].lower() not in _SYSTEM]
        if only:
            names = [n for n in names if n == only]
        return [n for n in names if self.allowed(DEFAULT_DATABASE, n)]

    def list_tables(self) -> Iterator[TableInfo]:
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                schemas = self._schemas(cur)
                for schema in schemas:
                    cur.execute(
                        "SELECT table_name, table_type, table_comment FROM information_schema.tables "
                        "WHERE table_schema = %s ORDER BY table_name",
                        (schema,),
                    )
                    tables = [r for r in cur.fetchall() if self.allowed(DEFAULT_DATABASE, schema, r[0])]
                    cur.execute(
                        "SELECT table_name, column_name, column_type, column_comment FROM information_schema.columns "
                        "WHERE table_schema = %s ORDER BY table_name, ordinal_position",
                        (schema,),
                    )
                    cols: dict[str, list[ColumnInfo]] = {}
                    for tname, cname, ctype, ccomment in cur.fetchall():
                        cols.setdefault(tname, []).append(ColumnInfo(cname, ctype, ccomment or None))
                    cur.execute(
                        "SELECT table_name, view_definition FROM information_schema.views WHERE table_schema = %s",
                        (schema,),
                    )
                    views = {r[0]: r[1] for r in cur.fetchall()}
                    for name, ttype, comment in tables:
                        is_view = "VIEW" in str(ttype).upper()
                        yield TableInfo(
                            database=DEFAULT_DATABASE,
                            schema=schema,
                            name=name,
                            kind="view" if is_view else "table",
                            columns=cols.get(name, []),
                            view_definition=views.get(name) if is_view else None,
                            description=(comment or None) if not is_view else None,
                        )
        finally:
            conn.close()

    def query_history(self, since: datetime, limit: int) -> Iterator[QueryRecord]:
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('performance_schema', 'general_log', 'log_output')"
                )
                settings = {str(k).lower(): str(v).upper() for k, v in cur.fetchall()}
                records: list[QueryRecord] | None = None
                if settings.get("performance_schema") == "ON":
                    records = self._from_performance_schema(cur, limit)
                if (
                    records is None
                    and settings.get("general_log") == "ON"
                    and "TABLE" in settings.get("log_output", "")
                ):
                    records = self._from_general_log(cur, since, limit)
                if records is None:
                    raise ConnectorError(
                        "no readable statement history (performance_schema="
                        f"{settings.get('performance_schema', '?')}, general_log={settings.get('general_log', '?')}, "
                        f"log_output={settings.get('log_output', '?')}): {HISTORY_HELP}"
                    )
        finally:
            conn.close()
        yield from records

    def _from_performance_schema(self, cur: Any, limit: int) -> list[QueryRecord] | None:
        try:
            cur.execute(
                "SELECT ENABLED FROM performance_schema.setup_consumers WHERE NAME = 'events_statements_history_long'"
            )
            row = cur.fetchone()
            if not row or str(row[0]).upper() != "YES":
                self.warnings.append("performance_schema consumer events_statements_history_long is disabled")
                return None
            cur.execute(
                "SELECT SQL_TEXT, CURRENT_SCHEMA, TIMER_WAIT FROM performance_schema.events_statements_history_long "
                "WHERE SQL_TEXT IS NOT NULL ORDER BY EVENT_ID DESC LIMIT %s",
                (limit * 5,),
            )
            rows = cur.fetchall()
        except pymysql.MySQLError as exc:
            self.warnings.append(f"cannot read performance_schema: {exc.args[-1] if exc.args else exc}")
            return None
        out: list[QueryRecord] = []
        for text, schema, wait in reversed(rows):
            if not _LINEAGE_RE.search(text or "") or not self._schema_ok(schema):
                continue
            out.append(
                QueryRecord(
                    query_text=text,
                    database_name=DEFAULT_DATABASE,
                    schema_name=schema,
                    duration=(wait / 1e9) if wait else None,
                    origin="performance_schema",
                )
            )
        return out[-limit:]

    def _schema_ok(self, schema: str | None) -> bool:
        if schema is None:
            return True
        return schema.lower() not in _SYSTEM and self.allowed(DEFAULT_DATABASE, schema)

    def _from_general_log(self, cur: Any, since: datetime, limit: int) -> list[QueryRecord] | None:
        """Replays the general log per connection to know each query's current database."""
        naive = since.astimezone(UTC).replace(tzinfo=None) if since.tzinfo else since
        try:
            cur.execute(
                "SELECT event_time, user_host, thread_id, command_type, CONVERT(argument USING utf8mb4) "
                "FROM mysql.general_log WHERE event_time >= %s AND command_type IN ('Connect', 'Init DB', 'Query') "
                "ORDER BY event_time",
                (naive,),
            )
            rows = cur.fetchall()
        except pymysql.MySQLError as exc:
            self.warnings.append(f"cannot read mysql.general_log: {exc.args[-1] if exc.args else exc}")
            return None
        current: dict[int, str | None] = {}
        out: list[QueryRecord] = []
        use_re = re.compile(r"^\s*use\s+`?([^`;\s]+)`?", re.IGNORECASE)
        connect_re = re.compile(r"\son\s+(\S+)")
        for at, user_host, thread, command, arg in rows:
            text = arg or ""
            if command == "Connect":
                m = connect_re.search(text)
                current[thread] = m.group(1) if m and m.group(1) != "using" else None
                continue
            if command == "Init DB":
                current[thread] = text.strip() or None
                continue
            m = use_re.match(text)
            if m:
                current[thread] = m.group(1)
                continue
            if not _LINEAGE_RE.search(text) or "general_log" in text:
                continue
            schema = current.get(thread)
            if not self._schema_ok(schema):
                continue
            out.append(
                QueryRecord(
                    query_text=text,
                    database_name=DEFAULT_DATABASE,
                    schema_name=schema,
                    user_name=str(user_host).split("[")[0] if user_host else None,
                    start_time=at if isinstance(at, datetime) else None,
                    origin="mysql.general_log",
                )
            )
        return out[-limit:]
