"""Small assertion helpers for the SQL lineage tests: exact sets, never "non-empty"."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from headwater.sql import LineageResult, extract_lineage


def lineage(sql: str, dialect: str | None = None, **kwargs: Any) -> LineageResult:
    """Run the engine and fail on unexpected errors (tests of errors call extract_lineage directly)."""
    result = extract_lineage(sql, dialect=dialect, **kwargs)
    assert not result.errors, [str(e) for e in result.errors]
    return result


def assert_tables(
    sql: str,
    sources: Iterable[str],
    targets: Iterable[str],
    dialect: str | None = None,
    **kwargs: Any,
) -> LineageResult:
    """Exact sources and targets."""
    result = lineage(sql, dialect, **kwargs)
    assert result.sources == set(sources), f"sources: {sorted(result.sources)}"
    assert result.targets == set(targets), f"targets: {sorted(result.targets)}"
    return result


def assert_columns(
    sql: str, pairs: Iterable[tuple[str, str]], dialect: str | None = None, **kwargs: Any
) -> LineageResult:
    """Exact column pairs."""
    result = lineage(sql, dialect, **kwargs)
    assert result.column_lineage == set(pairs), f"columns: {sorted(result.column_lineage)}"
    return result
