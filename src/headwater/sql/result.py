"""Result types of the SQL lineage engine.

Plain dataclasses with sets, so callers (ingest, CLI, UI) can merge and compare
results without knowing anything about sqlglot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Transformation subtypes, modelled on OpenLineage's columnLineage facet.
#: Direct: the target value is computed from the source value.
IDENTITY = "IDENTITY"
TRANSFORMATION = "TRANSFORMATION"
AGGREGATION = "AGGREGATION"
#: Indirect-style influences that we still report as column pairs because users
#: expect ``rn`` to depend on the columns of its window, or a CASE result on its conditions.
WINDOW = "WINDOW"
CONDITIONAL = "CONDITIONAL"

#: Strength order used when the same pair is reached along several paths.
TRANSFORMATION_RANK: dict[str, int] = {
    IDENTITY: 0,
    TRANSFORMATION: 1,
    CONDITIONAL: 2,
    WINDOW: 3,
    AGGREGATION: 4,
}

#: OpenLineage ``type`` for each subtype.
TRANSFORMATION_KIND: dict[str, str] = {
    IDENTITY: "DIRECT",
    TRANSFORMATION: "DIRECT",
    AGGREGATION: "DIRECT",
    WINDOW: "INDIRECT",
    CONDITIONAL: "INDIRECT",
}

ColumnPair = tuple[str, str]
#: ((source_table, source_column), (target_table, target_column))
ColumnEdge = tuple[tuple[str, str], tuple[str, str]]


def column_ref(table: str, column: str) -> str:
    """Dotted ``table.column`` form used in results (bare column when the table is unknown)."""
    return f"{table}.{column}" if table else column


@dataclass(frozen=True)
class Transformation:
    """How a target column is derived from one source column."""

    subtype: str = IDENTITY
    function: str | None = None

    @property
    def kind(self) -> str:
        """OpenLineage transformation type (DIRECT or INDIRECT)."""
        return TRANSFORMATION_KIND.get(self.subtype, "DIRECT")

    def combine(self, other: Transformation) -> Transformation:
        """Keep the stronger of two transformations (for unions and multi-hop paths)."""
        if TRANSFORMATION_RANK.get(other.subtype, 1) > TRANSFORMATION_RANK.get(self.subtype, 1):
            return other
        if other.subtype == self.subtype and self.function is None:
            return other
        return self


@dataclass(frozen=True)
class LineageError:
    """One problem met while extracting lineage, with the statement it came from."""

    kind: str  # "parse", "timeout", "too_large", "unsupported", "truncated", "internal"
    message: str
    statement: str
    index: int = 0  # position of the statement in the script (0-based)

    def __str__(self) -> str:
        snippet = self.statement if len(self.statement) <= 200 else self.statement[:200] + "..."
        return f"[{self.kind}] statement {self.index}: {self.message}: {snippet}"


@dataclass
class StatementLineage:
    """Lineage of one statement of a script, before temp tables are bridged."""

    index: int
    sql: str
    kind: str  # e.g. "INSERT", "CREATE_TABLE_AS", "SELECT", "MERGE", "USE", "UNKNOWN"
    sources: set[str] = field(default_factory=set)
    targets: set[str] = field(default_factory=set)
    column_edges: dict[ColumnEdge, Transformation] = field(default_factory=dict)
    temporary: set[str] = field(default_factory=set)  # tables this statement declares temporary
    dropped: set[str] = field(default_factory=set)  # tables this statement drops
    unsupported: str | None = None  # why a lineage-bearing statement could not be analysed

    @property
    def column_lineage(self) -> set[ColumnPair]:
        """(source_table.column, target_table.column) pairs of this statement."""
        return {(column_ref(*src), column_ref(*dst)) for src, dst in self.column_edges}


@dataclass
class LineageResult:
    """Union of the lineage of every statement of a script, temp tables bridged."""

    sources: set[str] = field(default_factory=set)
    targets: set[str] = field(default_factory=set)
    column_lineage: set[ColumnPair] = field(default_factory=set)
    #: pair -> subtype ("IDENTITY", "TRANSFORMATION", "AGGREGATION", "WINDOW", "CONDITIONAL")
    column_transformations: dict[ColumnPair, str] = field(default_factory=dict)
    #: pair -> function name (e.g. "SUM", "UPPER", "CAST") where the mapping is not a plain copy
    column_functions: dict[ColumnPair, str] = field(default_factory=dict)
    errors: list[LineageError] = field(default_factory=list)
    statements: list[StatementLineage] = field(default_factory=list)
    #: tables recognised as temporary/intermediate and bridged over
    intermediate_tables: set[str] = field(default_factory=set)
    #: tables recognised as temporary (never real assets)
    temporary_tables: set[str] = field(default_factory=set)
    dialect: str = ""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (sorted, so output is stable)."""
        return {
            "dialect": self.dialect or "ansi",
            "sources": sorted(self.sources),
            "targets": sorted(self.targets),
            "column_lineage": [
                {
                    "from": src,
                    "to": dst,
                    "transformation": self.column_transformations.get((src, dst), IDENTITY),
                    "function": self.column_functions.get((src, dst)),
                }
                for src, dst in sorted(self.column_lineage)
            ],
            "intermediate_tables": sorted(self.intermediate_tables),
            "temporary_tables": sorted(self.temporary_tables),
            "errors": [
                {"kind": e.kind, "message": e.message, "statement_index": e.index, "statement": e.statement}
                for e in self.errors
            ],
        }
