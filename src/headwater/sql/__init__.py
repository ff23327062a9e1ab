"""SQL -> lineage with sqlglot: sources, targets and column mappings, per dialect, schema-aware.

>>> from headwater.sql import extract_lineage
>>> r = extract_lineage("insert into dst (id) select id from src", dialect="postgres")
>>> sorted(r.sources), sorted(r.targets), sorted(r.column_lineage)
(['src'], ['dst'], [('src.id', 'dst.id')])

This package must not import storage or HTTP code.
"""

from headwater.sql.dialects import ACCEPTED_DIALECTS, resolve_dialect
from headwater.sql.extract import extract_lineage
from headwater.sql.result import LineageError, LineageResult, StatementLineage, Transformation

__all__ = [
    "ACCEPTED_DIALECTS",
    "LineageError",
    "LineageResult",
    "StatementLineage",
    "Transformation",
    "extract_lineage",
    "resolve_dialect",
]
