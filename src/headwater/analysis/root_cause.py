"""Root cause analysis: everything upstream of an asset, most likely culprits first.

Each upstream asset comes with the edges that lead from it toward the root, the pipelines or
processes powering those edges (`edge_details.pipeline_pk`) and the jobs whose runs wrote it
(`run_datasets`), and the latest run of each (`runs`, keyed by the pipeline's asset pk `job_pk`).

Suspicion, strongest first: a latest run that failed or was aborted; a late run (the last start is
older than twice the job's usual interval, or a run still going after twice its usual duration);
an edge on the path changed within `changed_within_ms` (default 7 days); a run still running.
Ties break by distance (nearer first) and then by the most recent event.

As of a past instant T (`at`), the same analysis answers as headwater knew things then: the
graph and the details of its edges as of T (`analysis.asof`), each run's state history as
received by T (a state reported later is not known then), writers from the run datasets
received by T, and lateness and the "recently changed" window judged at T instead of now.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from headwater.analysis.asof import AsOfGraph, NotThenError
from headwater.analysis.common import owner_names
from headwater.graph.index import GraphIndex
from headwater.model.assets import Asset
from headwater.openlineage.translate import summarize
from headwater.store import Store, now_ms
from headwater.store import schema as s

FAILED_STATES = ("FAIL", "FAILED", "ABORT", "ABORTED")
RUNNING_STATES = ("START", "RUNNING")
DEFAULT_CHANGED_WITHIN_MS = 7 * 24 * 3600 * 1000
HISTORY = 20  # runs per job used to learn its usual interval and duration
CHUNK = 500

RANKS = {"run_failed": 0, "run_late": 1, "edge_changed": 2, "run_running": 3, "ok": 4}


@dataclass
class RunSummary:
    run_id: str
    job_pk: int
    state: str
    started_at: int | None
    ended_at: int | None
    updated_at: int
    error_message: str | None
    late: bool = False
    late_reason: str | None = None

    def json(self, pipeline: Asset | None) -> dict[str, Any]:
        return {
            "runId": self.run_id,
            "pipeline": _ref(pipeline) if pipeline else {"pk": self.job_pk},
            "state": self.state,
            "startedAt": self.started_at,
            "endedAt": self.ended_at,
            "updatedAt": self.updated_at,
            "errorMessage": self.error_message,
            "late": self.late,
            "lateReason": self.late_reason,
        }


def _ref(asset: Asset) -> dict[str, Any]:
    return {
        "id": asset.id,
        "type": asset.type.value,
        "fullyQualifiedName": asset.fqn,
        "name": asset.name,
        "deleted": asset.deleted,
    }


def latest_runs(
    store: Store, job_pks: Iterable[int], now: int | None = None, *, at: int | None = None
) -> dict[int, RunSummary]:
    """The latest run of each job, with lateness judged against the job's recent history.

    With `at`, runs as they stood at that instant (see `_runs_as_of`); lateness is judged at `at`.
    """
    now = at if at is not None else (now if now is not None else now_ms())
    jobs = list(dict.fromkeys(job_pks))
    history: dict[int, list[RunSummary]] = {pk: [] for pk in jobs}
    r = s.runs
    with store.read() as conn:
        for i in range(0, len(jobs), CHUNK):
            for row in conn.execute(select(r).where(r.c.job_pk.in_(jobs[i : i + CHUNK]))):
                history[row.job_pk].append(
                    RunSummary(
                        row.run_id,
                        row.job_pk,
                        row.state,
                        row.started_at,
                        row.ended_at,
                        row.updated_at,
                        row.error_message,
                    )
                )
    if at is not None:
        history = _runs_as_of(store, history, at)
    out: dict[int, RunSummary] = {}
    for pk, runs in history.items():
        if not runs:
            continue
        runs.sort(key=lambda x: (x.started_at or x.updated_at, x.updated_at, x.run_id))
        last = runs[-1]
        recent = runs[-HISTORY:]
        starts = [x.started_at for x in recent if x.started_at is not None]
        intervals = [b - a for a, b in itertools.pairwise(starts) if b > a]
        durations = [
            x.ended_at - x.started_at
            for x in recent[:-1]
            if x.started_at is not None and x.ended_at is not None and x.ended_at >= x.started_at
        ]
        if len(intervals) >= 2 and last.started_at is not None:
            usual = statistics.median(intervals)
            if now - last.started_at > 2 * usual:
                last.late = True
                last.late_reason = f"no run since {now - last.started_at} ms; usual interval {int(usual)} ms"
        if (
            not last.late
            and last.state in RUNNING_STATES
            and len(durations) >= 2
            and last.started_at is not None
        ):
            usual_d = statistics.median(durations)
            if now - last.started_at > 2 * max(usual_d, 1):
                last.late = True
                last.late_reason = f"running for {now - last.started_at} ms; usual duration {int(usual_d)} ms"
        out[pk] = last
    return out


def _runs_as_of(store: Store, history: dict[int, list[RunSummary]], at: int) -> dict[int, list[RunSummary]]:
    """Each run as headwater knew it at `at`: only the states received by then count (a run
    with none did not exist yet), summarised like the translator does; the error message only
    while the state then is a failure."""
    ids = [run.run_id for runs in history.values() for run in runs]
    states: dict[str, list[tuple[str, int, int]]] = {rid: [] for rid in ids}
    rs = s.run_states
    with store.read() as conn:
        for i in range(0, len(ids), CHUNK):
            for row in conn.execute(
                select(rs.c.run_id, rs.c.state, rs.c.event_time, rs.c.received_at).where(
                    rs.c.run_id.in_(ids[i : i + CHUNK]), rs.c.received_at <= at
                )
            ):
                states[row.run_id].append((row.state, row.event_time, row.received_at))
    out: dict[int, list[RunSummary]] = {}
    for pk, runs in history.items():
        then: list[RunSummary] = []
        for run in runs:
            known = states[run.run_id]
            if not known:
                continue
            state, started, ended = summarize((st, t) for st, t, _ in known)
            then.append(
                RunSummary(
                    run.run_id,
                    run.job_pk,
                    state,
                    started,
                    ended,
                    max(received for _, _, received in known),
                    run.error_message if state in FAILED_STATES else None,
                )
            )
        out[pk] = then
    return out


def _run_status(run: RunSummary) -> str:
    if run.state in FAILED_STATES:
        return "run_failed"
    if run.late:
        return "run_late"
    if run.state in RUNNING_STATES:
        return "run_running"
    return "ok"


def root_cause(
    store: Store,
    index: GraphIndex,
    root: Asset,
    *,
    max_depth: int,
    node_limit: int = 10_000,
    changed_within_ms: int = DEFAULT_CHANGED_WITHIN_MS,
    now: int | None = None,
    at: int | None = None,
) -> dict[str, Any]:
    """Upstream of `root` with runs and recent changes, ordered most suspicious first.

    With `at` (epoch ms), the analysis as of that instant (see the module docstring); raises
    `NotThenError` when the root did not exist then.
    """
    now = at if at is not None else (now if now is not None else now_ms())
    graph: AsOfGraph | None = None
    if at is None:
        index.refresh()
    else:  # AsOfGraph.open refreshes the index itself
        if root.created_at > at:
            raise NotThenError(
                f"{root.type.value} {root.fqn} did not exist at {at} (created at {root.created_at})"
            )
        graph = AsOfGraph.open(store, index, at)
        if graph.is_deleted(root.pk):
            raise NotThenError(f"{root.type.value} {root.fqn} was deleted at {at}")

    def upstream_of(nodes: list[int]) -> dict[int, list[int]]:
        if graph is not None:
            found = graph.neighbours_many(nodes, upstream=True)
            graph.prefetch_deleted({n for ns in found.values() for n in ns})
            return found
        return {node: list(index.upstream(node)) for node in nodes}

    is_deleted = graph.is_deleted if graph is not None else index.is_deleted
    depth: dict[int, int] = {root.pk: 0}
    toward: dict[int, list[int]] = {}  # node -> its downstream neighbours on the way to the root
    frontier = [root.pk]
    truncated = False
    for level in range(1, max_depth + 1):
        nxt: list[int] = []
        ups = upstream_of(frontier)
        for node in frontier:
            for up in ups[node]:
                if is_deleted(up):
                    continue
                if up not in depth:
                    if len(depth) - 1 >= node_limit:
                        truncated = True
                        continue
                    depth[up] = level
                    nxt.append(up)
                toward.setdefault(up, []).append(node)
        frontier = nxt
        if not frontier:
            break
    pairs = [(u, d) for u, downs in toward.items() for d in downs]
    edge_info = _edge_info(store, pairs) if graph is None else _edge_info_as_of(store, graph, pairs)
    writers = _writers(store, list(depth), at)
    job_pks = {p for info in edge_info.values() for p in info["pipelines"]} | {
        j for js in writers.values() for j in js
    }
    runs = latest_runs(store, job_pks, now, at=at)
    assets = store.get_assets_by_pks(set(depth) | job_pks)
    if graph is not None:  # deleted since T: shown as they were then
        for pk in list(assets):
            then = graph.is_deleted(pk)
            if assets[pk].deleted != then:
                assets[pk] = assets[pk].model_copy(update={"deleted": then})

    def path_to_root(pk: int) -> list[str]:
        out = [assets[pk].fqn if pk in assets else str(pk)]
        cur = pk
        while cur != root.pk:
            nxt_pk = min(toward[cur], key=lambda n: depth.get(n, 0))
            out.append(assets[nxt_pk].fqn if nxt_pk in assets else str(nxt_pk))
            cur = nxt_pk
        return out

    items: list[dict[str, Any]] = []
    for pk, d in depth.items():
        if pk not in assets or (pk == root.pk and not writers.get(pk)):
            continue  # the root itself only when jobs write it
        reasons: list[dict[str, Any]] = []
        edges_json: list[dict[str, Any]] = []
        pipes: dict[int, RunSummary | None] = {}
        latest_event = 0
        for down in toward.get(pk, []):
            info = edge_info.get((pk, down), {"pipelines": [], "changedAt": None, "sources": []})
            changed = info["changedAt"]
            edges_json.append(
                {
                    "toEntity": assets[down].fqn if down in assets else str(down),
                    "changedAt": changed,
                    "sources": info["sources"],
                    "pipelines": [assets[p].fqn for p in info["pipelines"] if p in assets],
                }
            )
            if changed is not None:
                latest_event = max(latest_event, changed)
                if now - changed <= changed_within_ms:
                    reasons.append(
                        {
                            "kind": "edge_changed",
                            "at": changed,
                            "edge": [assets[pk].fqn, assets[down].fqn if down in assets else str(down)],
                        }
                    )
            for p in info["pipelines"]:
                pipes[p] = runs.get(p)
        for j in writers.get(pk, []):
            pipes.setdefault(j, runs.get(j))
        runs_json = []
        for p, run in pipes.items():
            if run is None:
                runs_json.append({"pipeline": _ref(assets[p]) if p in assets else {"pk": p}, "state": None})
                continue
            runs_json.append(run.json(assets.get(p)))
            latest_event = max(latest_event, run.ended_at or run.started_at or run.updated_at)
            status = _run_status(run)
            if status != "ok":
                reasons.append(
                    {
                        "kind": status,
                        "at": run.ended_at or run.started_at or run.updated_at,
                        "pipeline": assets[p].fqn if p in assets else str(p),
                        "runId": run.run_id,
                        "state": run.state,
                        "reason": run.late_reason or run.error_message,
                    }
                )
        rank = min((RANKS[r["kind"]] for r in reasons), default=RANKS["ok"])
        reasons.sort(key=lambda r: (RANKS[r["kind"]], -(r.get("at") or 0)))
        asset = assets[pk]
        items.append(
            {
                **_ref(asset),
                "depth": d,
                "path": path_to_root(pk),
                "owners": owner_names(asset),
                "suspicion": next((r["kind"] for r in reasons), "ok"),
                "reasons": reasons,
                "runs": runs_json,
                "edges": edges_json,
                "_sort": (rank, d, -latest_event, asset.fqn),
            }
        )
    items.sort(key=lambda it: it["_sort"])
    for it in items:
        del it["_sort"]
    pipelines = sorted(
        (run.json(assets.get(p)) | {"status": _run_status(run)} for p, run in runs.items()),
        key=lambda r: (RANKS[r["status"]], -(r["endedAt"] or r["startedAt"] or r["updatedAt"] or 0)),
    )
    return {
        "entity": _ref(root),
        "items": items,
        "pipelines": pipelines,
        "truncated": truncated,
        "evaluatedAt": now,
        "asOf": at,
    }


def _edge_info(store: Store, pairs: Sequence[tuple[int, int]]) -> dict[tuple[int, int], dict[str, Any]]:
    """Per pair: pipelines powering it, its sources and when it last changed."""
    out: dict[tuple[int, int], dict[str, Any]] = {
        p: {"pipelines": [], "changedAt": None, "sources": []} for p in pairs
    }
    # `_rows_matching` joins the keys (a row-value IN is a full table scan on SQLite)
    keys = ("from_pk", "to_pk")
    with store.read() as conn:
        for row in store._rows_matching(
            conn, "edge_details", keys, pairs, ("from_pk", "to_pk", "source", "pipeline_pk", "updated_at")
        ):
            info = out[(row.from_pk, row.to_pk)]
            info["sources"].append(row.source)
            if row.pipeline_pk is not None and row.pipeline_pk not in info["pipelines"]:
                info["pipelines"].append(row.pipeline_pk)
            info["changedAt"] = max(info["changedAt"] or 0, row.updated_at)
        for erow in store._rows_matching(conn, "edges", keys, pairs, ("from_pk", "to_pk", "created_at")):
            info = out[(erow.from_pk, erow.to_pk)]
            info["changedAt"] = max(info["changedAt"] or 0, erow.created_at)
    return out


def _edge_info_as_of(
    store: Store, graph: AsOfGraph, pairs: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], dict[str, Any]]:
    """`_edge_info` from the details each pair had at the graph's instant."""
    views = graph.edges(pairs)
    pipeline_ids = {
        str(d.pipeline["id"])
        for view in views.values()
        for d in view.details
        if d.pipeline and d.pipeline.get("id")
    }
    pk_of = {i: a.pk for i, a in store.get_assets_by_ids(pipeline_ids).items()}
    out: dict[tuple[int, int], dict[str, Any]] = {}
    for pair in pairs:
        info: dict[str, Any] = {"pipelines": [], "changedAt": None, "sources": []}
        view = views.get(pair)
        for d in view.details if view is not None else []:
            info["sources"].append(d.source.value)
            pk = pk_of.get(str((d.pipeline or {}).get("id")))
            if pk is not None and pk not in info["pipelines"]:
                info["pipelines"].append(pk)
            when = d.updatedAt or d.createdAt
            if when is not None and when <= graph.at:
                info["changedAt"] = max(info["changedAt"] or 0, when)
        out[pair] = info
    return out


def _writers(store: Store, pks: Sequence[int], at: int | None = None) -> dict[int, list[int]]:
    """Jobs whose runs wrote each asset (OpenLineage outputs); with `at`, only runs whose
    states had been received by then."""
    out: dict[int, list[int]] = {}
    rd, r, rs = s.run_datasets, s.runs, s.run_states
    with store.read() as conn:
        for i in range(0, len(pks), CHUNK):
            chunk = list(pks[i : i + CHUNK])
            query = select(rd.c.asset_pk, r.c.job_pk).join(r, r.c.run_id == rd.c.run_id)
            if at is not None:
                known = select(rs.c.run_id).where(rs.c.run_id == rd.c.run_id, rs.c.received_at <= at)
                query = query.where(known.exists())
            for row in conn.execute(
                query.where(rd.c.asset_pk.in_(chunk), rd.c.direction == "output").distinct()
            ):
                bucket = out.setdefault(row.asset_pk, [])
                if row.job_pk not in bucket:
                    bucket.append(row.job_pk)
    return out
