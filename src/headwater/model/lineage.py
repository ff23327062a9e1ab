"""Lineage details carried by an edge, in OpenMetadata's field names so they pass through unchanged."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from headwater.model.types import LineageSource


class ColumnLineage(BaseModel):
    """`fromColumns[] -> toColumn`, each a column FQN, with an optional function/transformation."""

    model_config = ConfigDict(extra="allow")

    fromColumns: list[str] = Field(default_factory=list)
    toColumn: str | None = None
    function: str | None = None


class LineageDetails(BaseModel):
    """The details of one edge as reported by one source."""

    model_config = ConfigDict(extra="allow")

    sqlQuery: str | None = None
    columnsLineage: list[ColumnLineage] = Field(default_factory=list)
    pipeline: dict[str, Any] | None = None  # EntityReference: at least {id, type}
    description: str | None = None
    source: LineageSource = LineageSource.MANUAL
    createdAt: int | None = None
    createdBy: str | None = None
    updatedAt: int | None = None
    updatedBy: str | None = None


class EdgeView(BaseModel):
    """An edge as read back: endpoints plus the details of every source, and a merged view."""

    from_pk: int
    to_pk: int
    details: list[LineageDetails]
    edge_description: str | None = None


def merge_details(details: list[LineageDetails]) -> dict[str, Any]:
    """One OpenMetadata-shaped `lineageDetails` from the details of every source of an edge.

    Column mappings are unioned (per target column, source columns merged); SQL, pipeline and
    description come from the most recently updated source that has them; `source` is that of the
    most recent update, and `sources` lists all of them.
    """
    if not details:
        return {"columnsLineage": [], "source": LineageSource.MANUAL.value, "sources": []}
    ordered = sorted(details, key=lambda d: d.updatedAt or 0)
    latest = ordered[-1]
    merged: dict[str, Any] = latest.model_dump(mode="json", exclude_none=True)
    for key in ("sqlQuery", "pipeline", "description"):
        for d in reversed(ordered):
            value = getattr(d, key)
            if value:
                merged[key] = value
                break
    columns: dict[tuple[str | None, str | None], list[str]] = {}
    for d in ordered:
        for cl in d.columnsLineage:
            key2 = (cl.toColumn, cl.function)
            bucket = columns.setdefault(key2, [])
            for c in cl.fromColumns:
                if c not in bucket:
                    bucket.append(c)
    merged["columnsLineage"] = [
        {k: v for k, v in {"fromColumns": froms, "toColumn": to, "function": fn}.items() if v is not None}
        for (to, fn), froms in columns.items()
    ]
    merged["createdAt"] = min((d.createdAt or 0) for d in ordered) or None
    merged["sources"] = [d.source.value for d in ordered]
    return {k: v for k, v in merged.items() if v is not None}
