"""What every lineage source yields: query records, problems with rows, and table metadata."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class QueryRecord:
    """One executed query, as a query log or a database's history reports it (times without a
    zone are UTC)."""

    query_text: str
    database_name: str | None = None
    schema_name: str | None = None
    user_name: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: float | None = None
    aborted: bool = False
    origin: str | None = None  # "file.csv:12", "pg_stat_statements", ...


@dataclass(frozen=True)
class BadRow:
    """A row that could not be read; reported, and the rest of the source still read."""

    origin: str
    reason: str
    example: str = ""
    kind: str = "bad row"  # short reason used to group bad rows in the summary


@dataclass
class ColumnInfo:
    name: str
    data_type: str | None = None
    description: str | None = None


@dataclass
class TableInfo:
    """A table or view of a database, as a connector lists it."""

    database: str
    schema: str
    name: str
    kind: str = "table"  # "table", "view", "materializedView", "foreign", "partitioned"
    columns: list[ColumnInfo] = field(default_factory=list)
    view_definition: str | None = None
    description: str | None = None
