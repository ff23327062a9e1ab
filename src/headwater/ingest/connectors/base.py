"""The connector interface every database lineage source implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from headwater.ingest.config import LineageOptions
from headwater.ingest.records import QueryRecord, TableInfo


class ConnectorError(Exception):
    """The database cannot be reached or read; the message says what to fix."""


class Connector(ABC):
    """A database the lineage workflow reads metadata and query history from.

    ``config`` is ``source.serviceConnection.config`` of the workflow (OpenMetadata's keys).
    """

    #: OpenMetadata service type (``Postgres``, ``Mysql``...), stored on the service asset.
    service_type: str = ""
    #: SQL dialect of the queries it returns (a name ``headwater.sql.resolve_dialect`` accepts).
    dialect: str = "ansi"
    #: (database, schema) the query history's unqualified names default to when a row has none.
    default_schema: str | None = None

    def __init__(self, config: dict[str, Any], options: LineageOptions) -> None:
        self.config = config
        self.options = options
        self.warnings: list[str] = []

    @abstractmethod
    def test_connection(self) -> None:
        """Connect once; raise :class:`ConnectorError` with a clear message when that fails."""

    @abstractmethod
    def list_tables(self) -> Iterator[TableInfo]:
        """Every table and view (with columns, and view definitions) that the filters allow."""

    @abstractmethod
    def query_history(self, since: datetime, limit: int) -> Iterator[QueryRecord]:
        """Queries run since ``since`` (at most ``limit``), lineage-bearing ones at least.

        When the database keeps no history the connector can read, raise :class:`ConnectorError`
        naming the settings needed.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    # helpers for subclasses

    def password(self) -> str | None:
        auth = self.config.get("authType")
        if isinstance(auth, dict) and auth.get("password") is not None:
            return str(auth["password"])
        pw = self.config.get("password")
        return str(pw) if pw is not None else None

    def host_port(self, default_port: int) -> tuple[str, int]:
        hp = str(self.config.get("hostPort") or f"localhost:{default_port}")
        host, _, port = hp.rpartition(":") if ":" in hp else (hp, "", str(default_port))
        try:
            return host or "localhost", int(port)
        except ValueError:
            raise ConnectorError(f"serviceConnection.config.hostPort {hp!r}: expected host:port") from None

    def allowed(self, database: str, schema: str | None = None, table: str | None = None) -> bool:
        o = self.options
        if not o.database_filter.allows(database):
            return False
        if schema is not None and not o.schema_filter.allows(schema):
            return False
        return not (table is not None and not o.table_filter.allows(table))


REGISTRY: dict[str, type[Connector]] = {}


def register(name: str) -> Callable[[type[Connector]], type[Connector]]:
    def deco(cls: type[Connector]) -> type[Connector]:
        REGISTRY[name] = cls
        return cls

    return deco


def make_connector(name: str, config: dict[str, Any], options: LineageOptions) -> Connector:
    cls = REGISTRY.get(name)
    if cls is None:
        raise ConnectorError(f"no connector {name!r}; available: {', '.join(sorted(REGISTRY))}")
    return cls(config, options)
