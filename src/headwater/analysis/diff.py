"""Lineage diff: what changed between two instants (or two runs of a pipeline).

Only pairs the log mentions between the two instants can differ, so those are read (through
`ix_lineage_log_at`), and each is replayed at both ends (`pairs_exist_at`, `details_at`). An edge is
`added` (absent then present), `removed` (present then absent) or `changed` (present at both with
different merged details: column mappings, SQL, pipeline, description, sources). Edges that came
and went inside the window are counted as `transient`. Column mappings are compared per target
column: `added`, `removed`, or `changed` (other source columns or another function).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from headwater.analysis.asof import ASSET_KINDS, DETAIL_KINDS, EDGE_KINDS, Pair, details_at, pairs_exist_at
from headwater.model.assets import Asset
from headwater.model.lineage import merge_details
from headwater.store import Store
from headwater.store import schema as s

COMPARED = ("sqlQuery", "description")


class DiffError(ValueError):
    pass


@dataclass(frozen=True)
class RunWindow:
    run_id: str
    job_pk: int
    at: int


RUN_SETTLE_MS = 1000


def run_instant(store: Store, run_id: str) -> RunWindow:
    """The server time a run's last event was applied (`runs.updated_at`).

    Event times are the producer's clock; the log's `at` is the server's, so the run's own lineage
    writes (same transaction, a few ms later) are caught by reading up to RUN_SETTLE_MS after it.
    """
    with store.read() as conn:
        row = conn.execute(select(s.runs).where(s.runs.c.run_id == run_id)).first()
    if row is None:
        raise DiffError(f"run {run_id} not found")
    return RunWindow(run_id, row.job_pk, row.updated_at)


def _run_datasets(store: Store, run_ids: list[str]) -> tuple[set[int], set[int]]:
    ins: set[int] = set()
    outs: set[int] = set()
    with store.read() as conn:
        for r in conn.execute(
            select(s.run_datasets.c.asset_pk, s.run_datasets.c.direction).where(
                s.run_datasets.c.run_id.in_(run_ids)
            )
        ):
            (ins if r.direction == "input" else outs).add(r.asset_pk)
    return ins, outs


def _mappings(merged: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    if merged is None:
        return out
    for cl in merged.get("columnsLineage", []):
        to = cl.get("toColumn")
        if not to:
            continue
        entry = out.setdefault(to, {"fromColumns": [], "function": None})
        for c in cl.get("fromColumns", []):
            if c not in entry["fromColumns"]:
                entry["fromColumns"].append(c)
        if cl.get("function"):
            entry["function"] = cl["function"]
    for entry in out.values():
        entry["fromColumns"].sort()
    return out


def _summary(merged: dict[str, Any] | None) -> dict[str, Any]:
    if merged is None:
        return {}
    pipe = merged.get("pipeline") or {}
    return {
        "sqlQuery": merged.get("sqlQuery"),
        "description": merged.get("description"),
        "pipeline": pipe.get("id") if isinstance(pipe, dict) else None,
        "sources": sorted(set(merged.get("sources", []))),
        "columns": _mappings(merged),
    }


def _ref(asset: Asset | None, pk: int) -> dict[str, Any]:
    if asset is None:
        return {"pk": pk, "fullyQualifiedName": None}
    return {"id": asset.id, "type": asset.type.value, "fullyQualifiedName": asset.fqn}


def lineage_diff(
    store: Store,
    since: int,
    until: int,
    *,
    pipeline: Asset | None = None,
    run_ids: list[str] | None = None,
) -> dict[str, Any]:
    """Edges and column mappings added, removed and changed between `since` and `until` (ms).

    With `pipeline`, only edges powered by it (at either end) count; with `run_ids` as well, edges
    from the runs' inputs to their outputs count too.
    """
    if until < since:
        since, until = until, since
    log = s.lineage_log
    touched: list[Pair] = []
    assets_touched: dict[int, str] = {}
    with store.read() as conn:
        rows = conn.execute(
            select(log.c.seq, log.c.kind, log.c.from_pk, log.c.to_pk)
            .where(log.c.at > since, log.c.at <= until)
            .order_by(log.c.seq)
        ).all()
    for r in rows:
        if r.kind in EDGE_KINDS + DETAIL_KINDS and r.to_pk is not None:
            touched.append((r.from_pk, r.to_pk))
        elif r.kind in ASSET_KINDS:
            assets_touched[r.from_pk] = r.kind
    pairs = list(dict.fromkeys(touched))
    before_exists = pairs_exist_at(store, pairs, since)
    after_exists = pairs_exist_at(store, pairs, until)
    before_details = details_at(store, [p for p in pairs if before_exists[p]], since)
    after_details = details_at(store, [p for p in pairs if after_exists[p]], until)
    ins: set[int] = set()
    outs: set[int] = set()
    if run_ids:
        ins, outs = _run_datasets(store, run_ids)
    assets = store.get_assets_by_pks({p for pair in pairs for p in pair} | set(assets_touched))

    added: list[dict[str, Any]] = []
    removed: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    col_added: list[dict[str, Any]] = []
    col_removed: list[dict[str, Any]] = []
    col_changed: list[dict[str, Any]] = []
    transient = 0
    for pair in pairs:
        b = merge_details(before_details[pair]) if before_exists[pair] and pair in before_details else None
        a = merge_details(after_details[pair]) if after_exists[pair] and pair in after_details else None
        if before_exists[pair] and b is None:
            b = merge_details([])
        if after_exists[pair] and a is None:
            a = merge_details([])
        sb, sa = _summary(b), _summary(a)
        if pipeline is not None:
            powered = pipeline.id in (sb.get("pipeline"), sa.get("pipeline"))
            by_run = bool(run_ids) and pair[0] in ins and pair[1] in outs
            if not (powered or by_run):
                continue
        edge = {
            "fromEntity": _ref(assets.get(pair[0]), pair[0]),
            "toEntity": _ref(assets.get(pair[1]), pair[1]),
        }
        if not before_exists[pair] and not after_exists[pair]:
            transient += 1
            continue
        if not before_exists[pair]:
            added.append({**edge, "after": _public(sa)})
        elif not after_exists[pair]:
            removed.append({**edge, "before": _public(sb)})
        else:
            fields = [
                k
                for k in ("sqlQuery", "description", "pipeline", "sources", "columns")
                if sb.get(k) != sa.get(k)
            ]
            if fields:
                changed.append(
                    {
                        **edge,
                        "fields": fields,
                        "before": {k: _public(sb)[k] for k in fields},
                        "after": {k: _public(sa)[k] for k in fields},
                    }
                )
        cb, ca = sb.get("columns", {}), sa.get("columns", {})
        for to in sorted(set(cb) | set(ca)):
            entry = {**edge, "toColumn": to}
            if to not in cb:
                col_added.append({**entry, "after": ca[to]})
            elif to not in ca:
                col_removed.append({**entry, "before": cb[to]})
            elif cb[to] != ca[to]:
                col_changed.append({**entry, "before": cb[to], "after": ca[to]})
    deleted = [
        _ref(assets.get(pk), pk) | {"change": kind.removeprefix("asset_")}
        for pk, kind in sorted(assets_touched.items())
    ]
    return {
        "from": since,
        "to": until,
        "pipeline": _ref(pipeline, pipeline.pk) if pipeline else None,
        "runs": run_ids or [],
        "summary": {
            "edgesAdded": len(added),
            "edgesRemoved": len(removed),
            "edgesChanged": len(changed),
            "edgesTransient": transient,
            "columnsAdded": len(col_added),
            "columnsRemoved": len(col_removed),
            "columnsChanged": len(col_changed),
            "assetsChanged": len(deleted) if pipeline is None else 0,
        },
        "edges": {"added": added, "removed": removed, "changed": changed},
        "columns": {"added": col_added, "removed": col_removed, "changed": col_changed},
        "assets": deleted if pipeline is None else [],
    }


def _public(summary: dict[str, Any]) -> dict[str, Any]:
    """A summary as shown: column mappings as a list."""
    out = dict(summary)
    out["columns"] = [{"toColumn": to, **m} for to, m in sorted((summary.get("columns") or {}).items())]
    return out


def run_diff(store: Store, run_a: str, run_b: str, *, pipeline: Asset | None = None) -> dict[str, Any]:
    """The diff between the instants of two runs, limited to what their pipeline powers."""
    a, b = run_instant(store, run_a), run_instant(store, run_b)
    if a.job_pk != b.job_pk:
        raise DiffError(f"runs {run_a} and {run_b} belong to different pipelines")
    if pipeline is None:
        pipeline = store.get_asset_by_pk(a.job_pk)
    if pipeline is None:
        raise DiffError(f"the pipeline of run {run_a} no longer exists")
    first, second = sorted([a, b], key=lambda w: w.at)
    since = min(first.at + RUN_SETTLE_MS, second.at - 1)
    until = second.at + RUN_SETTLE_MS
    out = lineage_diff(store, since, until, pipeline=pipeline, run_ids=[a.run_id, b.run_id])
    out["runs"] = [first.run_id, second.run_id]
    return out
