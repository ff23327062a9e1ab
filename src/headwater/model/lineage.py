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
    return merge_detail_dicts([d.model_dump(mode="json", exclude_none=True) for d in details])


def merge_detail_dicts(details: list[dict[str, Any]]) -> dict[str, Any]:
    """`merge_details` over details as stored (JSON objects of dumped `LineageDetails`), so the
    lineage read path need not build a pydantic model per edge and source."""
    if not details:
        return {"columnsLineage": [], "source": LineageSource.MANUAL.value, "sources": []}
    if len(details) == 1:  # most edges have one source: the same result, without the bookkeeping
        only = details[0]
        if _plain_columns(only.get("columnsLineage") or ()):
            one = {k: v for k, v in only.items() if v is not None and k != "createdAt"}
            one.setdefault("source", LineageSource.MANUAL.value)
            one["columnsLineage"] = [_column_entry(cl) for cl in only.get("columnsLineage") or ()]
            if only.get("createdAt"):
                one["createdAt"] = only["createdAt"]
            one["sources"] = [one["source"]]
            return one
    return _merge_many(details)


def _merge_many(details: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(details, key=lambda d: d.get("updatedAt") or 0) if len(details) > 1 else details
    merged: dict[str, Any] = dict(ordered[-1])
    merged.setdefault("source", LineageSource.MANUAL.value)
    for key in ("sqlQuery", "pipeline", "description"):
        for d in reversed(ordered):
            value = d.get(key)
            if value:
                merged[key] = value
                break
    columns: dict[tuple[str | None, str | None], list[str]] = {}
    for d in ordered:
        for cl in d.get("columnsLineage") or ():
            bucket = columns.setdefault((cl.get("toColumn"), cl.get("function")), [])
            for c in cl.get("fromColumns") or ():
                if c not in bucket:
                    bucket.append(c)
    merged["columnsLineage"] = [
        {k: v for k, v in {"fromColumns": froms, "toColumn": to, "function": fn}.items() if v is not None}
        for (to, fn), froms in columns.items()
    ]
    merged["createdAt"] = min((d.get("createdAt") or 0) for d in ordered) or None
    merged["sources"] = [d.get("source") or LineageSource.MANUAL.value for d in ordered]
    return {k: v for k, v in merged.items() if v is not None}


def _plain_columns(columns: Any) -> bool:
    """Column mappings the merge would keep as they are: one per (target, function), no source
    column twice."""
    keys = set()
    for cl in columns:
        froms = cl.get("fromColumns") or ()
        if len(froms) > 1 and len(set(froms)) != len(froms):
            return False
        keys.add((cl.get("toColumn"), cl.get("function")))
    return len(keys) == len(columns)


def _column_entry(cl: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"fromColumns": list(cl.get("fromColumns") or ())}
    if cl.get("toColumn") is not None:
        out["toColumn"] = cl["toColumn"]
    if cl.get("function") is not None:
        out["function"] = cl["function"]
    return out
