"""Marquez-shaped reads over the OpenLineage part of the graph (spec openlineage.md §4).

Marquez's web UI and marquez-python read jobs, datasets, runs and an undirected
job/dataset neighbourhood; everything here is derived from what translation stored:
pipelines (jobs), ``ol_datasets`` (dataset identities), runs and ``run_datasets``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from headwater.identity.fqn import split, unquote_name
from headwater.model.types import AssetType, LineageSource
from headwater.openlineage import tables as olt
from headwater.openlineage.naming import NodeId, canonical, node_id, node_id_candidates
from headwater.openlineage.translate import RAW_KIND_PREFIX, pipeline_fqn
from headwater.store import Store
from headwater.store import schema as s

MARQUEZ_STATE = {
    "START": "RUNNING",
    "RUNNING": "RUNNING",
    "OTHER": "RUNNING",
    "COMPLETE": "COMPLETED",
    "FAIL": "FAILED",
    "ABORT": "ABORTED",
}
MAX_NODES = 5000


class NotFound(LookupError):
    """A namespace, job, dataset or run that does not exist (404)."""


def iso(ms_value: int | None) -> str | None:
    if ms_value is None:
        return None
    return datetime.fromtimestamp(ms_value / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def _attrs(text: str | None) -> dict[str, Any]:
    data = json.loads(text or "{}")
    return data if isinstance(data, dict) else {}


class MarquezReader:
    """Read model for the Marquez API."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------------ lookups

    def _job_rows(self, conn: Connection, where: Any = None) -> list[Any]:
        stmt = select(s.assets).where(
            s.assets.c.type == AssetType.PIPELINE.value,
            s.assets.c.deleted.is_(False),
            s.assets.c.attributes.like('%"openlineage": {%'),
        )
        if where is not None:
            stmt = stmt.where(where)
        return list(conn.execute(stmt.order_by(s.assets.c.pk)).all())

    def _find_job(self, conn: Connection, namespace: str, name: str) -> Any:
        row = conn.execute(
            select(s.assets).where(
                s.assets.c.type == AssetType.PIPELINE.value, s.assets.c.fqn == pipeline_fqn(namespace, name)
            )
        ).first()
        if row is None:
            raise NotFound(f"Job {namespace}:{name} not found")
        return row

    def _find_dataset_pk(self, conn: Connection, namespace: str, name: str) -> int:
        ident = canonical(namespace, name)
        for ns, nm in ((namespace, name), (ident.namespace, ident.name)):
            row = conn.execute(
                select(olt.ol_datasets.c.asset_pk).where(
                    olt.ol_datasets.c.namespace == ns, olt.ol_datasets.c.name == nm
                )
            ).first()
            if row is not None:
                return int(row.asset_pk)
        raise NotFound(f"Dataset {namespace}:{name} not found")

    def _dataset_ids(self, conn: Connection, pks: Iterable[int]) -> dict[int, tuple[str, str]]:
        """(namespace, name) of each asset: its primary OpenLineage identity, else its FQN."""
        wanted = list(set(pks))
        out: dict[int, tuple[str, str]] = {}
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            rows = conn.execute(select(olt.ol_datasets).where(olt.ol_datasets.c.asset_pk.in_(chunk))).all()
            for r in sorted(rows, key=lambda r: (not r.is_primary, r.created_at)):
                out.setdefault(r.asset_pk, (r.namespace, r.name))
        missing = [pk for pk in wanted if pk not in out]
        if missing:
            for r in conn.execute(select(s.assets.c.pk, s.assets.c.fqn).where(s.assets.c.pk.in_(missing))):
                parts = [unquote_name(p) for p in split(r.fqn)]
                out[r.pk] = (parts[0], ".".join(parts[1:]) or parts[0])
        return out

    # ------------------------------------------------------------------ namespaces

    def namespaces(self, limit: int = 100, offset: int = 0) -> dict[str, Any]:
        with self.store.read() as conn:
            names: dict[str, int] = {}
            for row in self._job_rows(conn):
                ol = _attrs(row.attributes).get("openlineage") or {}
                ns = ol.get("namespace")
                if ns:
                    names[ns] = min(names.get(ns, row.created_at), row.created_at)
            for r in conn.execute(
                select(olt.ol_datasets.c.namespace, func.min(olt.ol_datasets.c.created_at)).group_by(
                    olt.ol_datasets.c.namespace
                )
            ):
                names[r[0]] = min(names.get(r[0], r[1]), r[1])
        items = [self._namespace(n, t) for n, t in sorted(names.items())]
        return {"namespaces": items[offset : offset + limit], "totalCount": len(items)}

    @staticmethod
    def _namespace(name: str, created: int) -> dict[str, Any]:
        return {
            "name": name,
            "createdAt": iso(created),
            "updatedAt": iso(created),
            "ownerName": "anonymous",
            "description": None,
            "isHidden": False,
        }

    def namespace(self, name: str) -> dict[str, Any]:
        for ns in self.namespaces(limit=1_000_000)["namespaces"]:
            if ns["name"] == name:
                return dict(ns)
        raise NotFound(f"Namespace {name} not found")

    # ------------------------------------------------------------------ jobs

    def _job_io(self, conn: Connection, job_pks: Sequence[int]) -> dict[int, tuple[set[int], set[int]]]:
        out: dict[int, tuple[set[int], set[int]]] = {pk: (set(), set()) for pk in job_pks}
        for i in range(0, len(job_pks), 500):
            chunk = list(job_pks[i : i + 500])
            rows = conn.execute(
                select(s.runs.c.job_pk, s.run_datasets.c.asset_pk, s.run_datasets.c.direction)
                .select_from(s.run_datasets.join(s.runs, s.runs.c.run_id == s.run_datasets.c.run_id))
                .where(s.runs.c.job_pk.in_(chunk))
                .distinct()
            ).all()
            for r in rows:
                out[r.job_pk][0 if r.direction == "input" else 1].add(r.asset_pk)
        return out

    def _latest_runs(
        self, conn: Connection, job_pks: Sequence[int], per_job: int = 10
    ) -> dict[int, list[Any]]:
        out: dict[int, list[Any]] = {pk: [] for pk in job_pks}
        if not job_pks:
            return out
        rows = conn.execute(
            select(s.runs)
            .where(s.runs.c.job_pk.in_(list(job_pks)))
            .order_by(func.coalesce(s.runs.c.started_at, s.runs.c.updated_at).desc())
        ).all()
        for r in rows:
            if len(out[r.job_pk]) < per_job:
                out[r.job_pk].append(r)
        return out

    def _current_job_versions(self, conn: Connection, rows: Sequence[Any]) -> dict[int, str]:
        """Each job's current version: the one of its newest finished run (see `job_versions`)."""
        if not rows:
            return {}
        newest: dict[int, Any] = {}
        for r in conn.execute(
            select(s.runs.c.run_id, s.runs.c.job_pk)
            .where(s.runs.c.job_pk.in_([r.pk for r in rows]), s.runs.c.state.in_(list(DONE_STATES)))
            .order_by(func.coalesce(s.runs.c.ended_at, s.runs.c.updated_at).desc(), s.runs.c.run_id)
        ):
            newest.setdefault(r.job_pk, r.run_id)
        io: dict[str, tuple[set[int], set[int]]] = {run_id: (set(), set()) for run_id in newest.values()}
        run_ids = list(io)
        for i in range(0, len(run_ids), 500):
            for d in conn.execute(
                select(s.run_datasets).where(s.run_datasets.c.run_id.in_(run_ids[i : i + 500]))
            ):
                io[d.run_id][0 if d.direction == "input" else 1].add(d.asset_pk)
        ids = self._dataset_ids(conn, {pk for ins, outs in io.values() for pk in (*ins, *outs)})
        out: dict[int, str] = {}
        for row in rows:
            run_id = newest.get(row.pk)
            if run_id is None:
                continue
            ol = _attrs(row.attributes).get("openlineage") or {}
            ins, outs = io[run_id]
            out[row.pk] = job_version_id(
                ol.get("namespace", ""),
                ol.get("name", row.name),
                sorted(ids[p] for p in ins),
                sorted(ids[p] for p in outs),
            )
        return out

    def _jobs_json(self, conn: Connection, rows: Sequence[Any]) -> list[dict[str, Any]]:
        pks = [r.pk for r in rows]
        io = self._job_io(conn, pks)
        latest = self._latest_runs(conn, pks)
        ids = self._dataset_ids(conn, {pk for ins, outs in io.values() for pk in (*ins, *outs)})
        versions = self._current_job_versions(conn, rows)
        out = []
        for row in rows:
            attrs = _attrs(row.attributes)
            ol = attrs.get("openlineage") or {}
            ns, name = ol.get("namespace", ""), ol.get("name", row.name)
            ins, outs = io.get(row.pk, (set(), set()))
            parent = attrs.get("parentJob") or {}
            simple = name
            if parent.get("name") and name.startswith(parent["name"] + "."):
                simple = name[len(parent["name"]) + 1 :]
            facets = {k: v for k, v in (attrs.get("olJobFacets") or {}).items()}
            loc = (facets.get("sourceCodeLocation") or {}).get("url")
            runs = [self._run_json(r, ns, name) for r in latest.get(row.pk, [])]
            ptype = (attrs.get("processingType") or "BATCH").upper()
            out.append(
                {
                    "id": {"namespace": ns, "name": name},
                    "type": {"STREAMING": "STREAM"}.get(ptype, ptype),
                    "name": name,
                    "simpleName": simple,
                    "parentJobName": parent.get("name"),
                    "createdAt": iso(row.created_at),
                    "updatedAt": iso(row.updated_at),
                    "namespace": ns,
                    "inputs": [dict(zip(("namespace", "name"), ids[p], strict=True)) for p in sorted(ins)],
                    "outputs": [dict(zip(("namespace", "name"), ids[p], strict=True)) for p in sorted(outs)],
                    "location": loc,
                    "description": row.description,
                    "facets": facets,
                    "currentVersion": versions.get(row.pk),
                    "latestRun": runs[0] if runs else None,
                    "latestRuns": runs,
                    "tags": [],
                    "labels": [],
                }
            )
        return out

    def jobs(
        self,
        namespace: str | None = None,
        limit: int = 100,
        offset: int = 0,
        last_run_states: Sequence[str] = (),
    ) -> dict[str, Any]:
        with self.store.read() as conn:
            rows = self._job_rows(conn)
            if namespace is not None:
                rows = [
                    r
                    for r in rows
                    if (_attrs(r.attributes).get("openlineage") or {}).get("namespace") == namespace
                ]
            jobs = self._jobs_json(conn, rows)
        if last_run_states:
            wanted = set(last_run_states)
            jobs = [j for j in jobs if j["latestRun"] and j["latestRun"]["state"] in wanted]
        return {"jobs": jobs[offset : offset + limit], "totalCount": len(jobs)}

    def job(self, namespace: str, name: str) -> dict[str, Any]:
        with self.store.read() as conn:
            return self._jobs_json(conn, [self._find_job(conn, namespace, name)])[0]

    # ------------------------------------------------------------------ runs

    def _run_json(self, row: Any, namespace: str, name: str) -> dict[str, Any]:
        facets = {
            k: v[1]
            for k, v in _attrs(row.facets).items()
            if isinstance(v, list) and len(v) == 2 and k[:1] != "_"
        }
        nominal = facets.get("nominalTime") or {}
        duration = row.ended_at - row.started_at if row.ended_at and row.started_at else None
        return {
            "id": row.run_id,
            "createdAt": iso(row.started_at or row.updated_at),
            "updatedAt": iso(row.updated_at),
            "nominalStartTime": nominal.get("nominalStartTime"),
            "nominalEndTime": nominal.get("nominalEndTime"),
            "state": MARQUEZ_STATE.get(row.state, "RUNNING"),
            "startedAt": iso(row.started_at),
            "endedAt": iso(row.ended_at),
            "durationMs": duration,
            "args": {},
            "jobVersion": {"namespace": namespace, "name": name, "version": None},
            "inputDatasetVersions": [],
            "outputDatasetVersions": [],
            "context": {},
            "facets": facets,
            "errorMessage": row.error_message,
        }

    def runs(self, namespace: str, name: str, limit: int = 100, offset: int = 0) -> dict[str, Any]:
        with self.store.read() as conn:
            job = self._find_job(conn, namespace, name)
            total = conn.execute(
                select(func.count()).select_from(s.runs).where(s.runs.c.job_pk == job.pk)
            ).scalar_one()
            rows = conn.execute(
                select(s.runs)
                .where(s.runs.c.job_pk == job.pk)
                .order_by(func.coalesce(s.runs.c.started_at, s.runs.c.updated_at).desc())
                .limit(limit)
                .offset(offset)
            ).all()
        return {"runs": [self._run_json(r, namespace, name) for r in rows], "totalCount": int(total)}

    def run(self, run_id: str) -> dict[str, Any]:
        with self.store.read() as conn:
            row = conn.execute(select(s.runs).where(s.runs.c.run_id == run_id)).first()
            if row is None:
                raise NotFound(f"Run {run_id} not found")
            job = conn.execute(
                select(s.assets.c.attributes, s.assets.c.name).where(s.assets.c.pk == row.job_pk)
            ).first()
            ol = _attrs(job.attributes).get("openlineage", {}) if job else {}
            data = self._run_json(row, ol.get("namespace", ""), ol.get("name", job.name if job else ""))
            io = conn.execute(
                select(s.run_datasets.c.asset_pk, s.run_datasets.c.direction).where(
                    s.run_datasets.c.run_id == run_id
                )
            ).all()
            ids = self._dataset_ids(conn, [r.asset_pk for r in io])
            hist = conn.execute(
                select(s.run_states.c.state, s.run_states.c.event_time)
                .where(s.run_states.c.run_id == run_id)
                .order_by(s.run_states.c.event_time)
            ).all()
        for r in io:
            ns, nm = ids[r.asset_pk]
            key = "inputDatasetVersions" if r.direction == "input" else "outputDatasetVersions"
            version = dataset_version_id(ns, nm, run_id) if r.direction == "output" else None
            data[key].append(
                {"datasetVersionId": {"namespace": ns, "name": nm, "version": version}, "facets": {}}
            )
        data["states"] = [{"state": h.state, "transitionedAt": iso(h.event_time)} for h in hist]
        return data

    # ------------------------------------------------------------------ datasets

    def _datasets_json(self, conn: Connection, pks: Sequence[int]) -> list[dict[str, Any]]:
        if not pks:
            return []
        ids = self._dataset_ids(conn, pks)
        rows = {r.pk: r for r in conn.execute(select(s.assets).where(s.assets.c.pk.in_(list(pks))))}
        cols = self.store.columns_of(list(pks))
        writers: dict[int, str] = {}  # dataset pk -> the run that wrote its newest version
        for w in conn.execute(
            select(s.run_datasets.c.asset_pk, s.run_datasets.c.run_id)
            .where(s.run_datasets.c.asset_pk.in_(list(pks)), s.run_datasets.c.direction == "output")
            .order_by(s.run_datasets.c.event_time.desc(), s.run_datasets.c.run_id)
        ):
            writers.setdefault(w.asset_pk, w.run_id)
        out = []
        for pk in pks:
            row = rows.get(pk)
            if row is None:
                continue
            ns, name = ids[pk]
            fields: list[dict[str, Any]] = [
                {
                    "name": c.name,
                    "type": c.attributes.get("dataType"),
                    "tags": [],
                    "description": c.description,
                }
                for c in cols.get(pk, [])
            ]
            out.append(
                {
                    "id": {"namespace": ns, "name": name},
                    "type": "STREAM" if row.type == AssetType.TOPIC.value else "DB_TABLE",
                    "name": name,
                    "physicalName": name,
                    "createdAt": iso(row.created_at),
                    "updatedAt": iso(row.updated_at),
                    "namespace": ns,
                    "sourceName": ns,
                    "fields": fields,
                    "tags": [],
                    "lastModifiedAt": iso(row.updated_at),
                    "lastLifecycleState": None,
                    "description": row.description,
                    "currentVersion": dataset_version_id(ns, name, writers[pk]) if pk in writers else None,
                    "facets": {},
                    "deleted": bool(row.deleted),
                    "fullyQualifiedName": row.fqn,
                    "_pk": pk,
                    "_id": node_id("dataset", ns, name),
                }
            )
        return out

    def datasets(self, namespace: str, limit: int = 100, offset: int = 0) -> dict[str, Any]:
        with self.store.read() as conn:
            pks = [
                r.asset_pk
                for r in conn.execute(
                    select(olt.ol_datasets.c.asset_pk)
                    .where(olt.ol_datasets.c.namespace == namespace, olt.ol_datasets.c.is_primary.is_(True))
                    .order_by(olt.ol_datasets.c.name)
                )
            ]
            pks = list(dict.fromkeys(pks))
            page = [_public(d) for d in self._datasets_json(conn, pks[offset : offset + limit])]
            return {"datasets": page, "totalCount": len(pks)}

    def dataset(self, namespace: str, name: str) -> dict[str, Any]:
        with self.store.read() as conn:
            pk = self._find_dataset_pk(conn, namespace, name)
            return _public(self._datasets_json(conn, [pk])[0])

    # ------------------------------------------------------------------ lineage graph

    def _resolve_node(self, conn: Connection, node: str) -> tuple[str, int]:
        last_error: NotFound | None = None
        for cand in node_id_candidates(node):
            try:
                if cand.type == "job":
                    return "job", int(self._find_job(conn, cand.namespace, cand.name).pk)
                if cand.type == "dataset":
                    return "dataset", self._find_dataset_pk(conn, cand.namespace, cand.name)
            except NotFound as exc:
                last_error = exc
        raise last_error or NotFound(f"Node {node} not found")

    def lineage(self, node: str, depth: int = 20) -> dict[str, Any]:
        """Undirected job/dataset neighbourhood of a node, ``depth`` job hops, as Marquez does."""
        with self.store.read() as conn:
            kind, pk = self._resolve_node(conn, node)
            jobs: set[int] = set()
            if kind == "job":
                frontier = {pk}
            else:
                frontier = self._jobs_touching(conn, [pk])
                if not frontier:
                    ds = self._datasets_json(conn, [pk])
                    return {"graph": [self._dataset_node(ds[0], set(), set())] if ds else []}
            io: dict[int, tuple[set[int], set[int]]] = {}
            hops = 0
            while frontier and hops <= depth and len(jobs) < MAX_NODES:
                jobs |= frontier
                new_io = self._job_io(conn, sorted(frontier))
                io.update(new_io)
                hops += 1
                if hops > depth:
                    break
                touched = {d for ins, outs in new_io.values() for d in (*ins, *outs)}
                frontier = self._jobs_touching(conn, touched) - jobs
            job_rows = [r for r in self._job_rows(conn, s.assets.c.pk.in_(sorted(jobs)))]
            jobs_json = {r.pk: j for r, j in zip(job_rows, self._jobs_json(conn, job_rows), strict=True)}
            ds_pks = sorted(
                {d for ins, outs in io.values() for d in (*ins, *outs)}
                | ({pk} if kind == "dataset" else set())
            )
            ds_json = {d["_pk"]: d for d in self._with_pk(conn, ds_pks)}
        nodes: list[dict[str, Any]] = []
        ds_in: dict[int, set[str]] = {p: set() for p in ds_json}
        ds_out: dict[int, set[str]] = {p: set() for p in ds_json}
        for jpk, job in jobs_json.items():
            jid = node_id("job", job["namespace"], job["name"])
            ins, outs = io.get(jpk, (set(), set()))
            in_edges = []
            out_edges = []
            for d in sorted(ins):
                if d in ds_json:
                    did = ds_json[d]["_id"]
                    in_edges.append({"origin": did, "destination": jid})
                    ds_out[d].add(jid)
            for d in sorted(outs):
                if d in ds_json:
                    did = ds_json[d]["_id"]
                    out_edges.append({"origin": jid, "destination": did})
                    ds_in[d].add(jid)
            nodes.append({"id": jid, "type": "JOB", "data": job, "inEdges": in_edges, "outEdges": out_edges})
        for d, data in ds_json.items():
            nodes.append(self._dataset_node(data, ds_in[d], ds_out[d]))
        nodes.sort(key=lambda n: n["id"])
        return {"graph": nodes}

    def _with_pk(self, conn: Connection, pks: Sequence[int]) -> list[dict[str, Any]]:
        return self._datasets_json(conn, pks)

    @staticmethod
    def _dataset_node(data: dict[str, Any], from_jobs: set[str], to_jobs: set[str]) -> dict[str, Any]:
        did = node_id("dataset", data["namespace"], data["name"])
        clean = {k: v for k, v in data.items() if not k.startswith("_")}
        return {
            "id": did,
            "type": "DATASET",
            "data": clean,
            "inEdges": [{"origin": j, "destination": did} for j in sorted(from_jobs)],
            "outEdges": [{"origin": did, "destination": j} for j in sorted(to_jobs)],
        }

    def _jobs_touching(self, conn: Connection, asset_pks: Iterable[int]) -> set[int]:
        wanted = list(set(asset_pks))
        out: set[int] = set()
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            out |= {
                r.job_pk
                for r in conn.execute(
                    select(s.runs.c.job_pk)
                    .select_from(s.run_datasets.join(s.runs, s.runs.c.run_id == s.run_datasets.c.run_id))
                    .where(s.run_datasets.c.asset_pk.in_(chunk))
                    .distinct()
                )
            }
        return out

    # ------------------------------------------------------------------ column lineage

    def column_lineage(self, node: str, depth: int = 20, with_downstream: bool = False) -> dict[str, Any]:
        """Field-level graph from the OpenLineage column mappings stored on edges."""
        cands = node_id_candidates(node) if not node.startswith("datasetField:") else []
        field_filter: str | None = None
        with self.store.read() as conn:
            if node.startswith("datasetField:"):
                from headwater.openlineage.naming import parse_node_id

                parsed = parse_node_id(node)
                start = self._find_dataset_pk(conn, parsed.namespace, parsed.name)
                field_filter = parsed.field
            else:
                kind, start = self._resolve_node(conn, node)
                if kind != "dataset":
                    raise ValueError("column lineage needs a dataset or datasetField node")
            del cands
            # walk dataset edges carrying OpenLineage column mappings
            mappings: list[tuple[int, int, dict[str, Any]]] = []
            seen = {start}
            frontier = {start}
            for _ in range(max(depth, 1)):
                if not frontier:
                    break
                d = s.edge_details
                stmts = s.details_touching(
                    (d.c.from_pk, d.c.to_pk, d.c.details),
                    list(frontier),
                    d.c.source == LineageSource.OPEN_LINEAGE.value,
                    outgoing=with_downstream,
                )
                # a pair found both ways once
                rows = list({(r.from_pk, r.to_pk): r for stmt in stmts for r in conn.execute(stmt)}.values())
                nxt: set[int] = set()
                for r in rows:
                    for m in json.loads(r.details).get("columnsLineage") or []:
                        mappings.append((r.from_pk, r.to_pk, m))
                    for p in (r.from_pk, r.to_pk):
                        if p not in seen:
                            seen.add(p)
                            nxt.add(p)
                frontier = nxt
            fqns = {
                r.pk: r.fqn
                for r in conn.execute(select(s.assets.c.pk, s.assets.c.fqn).where(s.assets.c.pk.in_(seen)))
            }
            ids = self._dataset_ids(conn, seen)
            types: dict[tuple[int, str], str | None] = {}
            for pk, cols in self.store.columns_of(list(seen)).items():
                for c in cols:
                    types[(pk, c.name)] = c.attributes.get("dataType")

        def field_of(pk: int, col_fqn: str) -> str:
            prefix = fqns.get(pk, "") + "."
            return unquote_name(col_fqn[len(prefix) :]) if col_fqn.startswith(prefix) else col_fqn

        nodes: dict[str, dict[str, Any]] = {}

        def ensure(pk: int, fld: str) -> dict[str, Any]:
            ns, name = ids[pk]
            nid = f"datasetField:{ns}:{name}:{fld}"
            if nid not in nodes:
                nodes[nid] = {
                    "id": nid,
                    "type": "DATASET_FIELD",
                    "data": {
                        "namespace": ns,
                        "dataset": name,
                        "datasetVersion": None,
                        "field": fld,
                        "fieldType": types.get((pk, fld)),
                        "transformationDescription": None,
                        "transformationType": None,
                        "inputFields": [],
                    },
                    "inEdges": [],
                    "outEdges": [],
                }
            return nodes[nid]

        for from_pk, to_pk, m in mappings:
            if not m.get("toColumn"):
                continue
            out_node = ensure(to_pk, field_of(to_pk, m["toColumn"]))
            trans = m.get("transformations") or []
            ttype = trans[0].get("type") if trans else None
            for col in m.get("fromColumns") or []:
                in_node = ensure(from_pk, field_of(from_pk, col))
                edge = {"origin": in_node["id"], "destination": out_node["id"]}
                if edge not in out_node["inEdges"]:
                    out_node["inEdges"].append(edge)
                    in_node["outEdges"].append(edge)
                    out_node["data"]["inputFields"].append(
                        {
                            "namespace": in_node["data"]["namespace"],
                            "dataset": in_node["data"]["dataset"],
                            "datasetVersion": None,
                            "field": in_node["data"]["field"],
                            "transformationDescription": m.get("function"),
                            "transformationType": ttype,
                            "transformations": trans,
                        }
                    )
                out_node["data"]["transformationDescription"] = m.get("function")
                out_node["data"]["transformationType"] = ttype
        graph = list(nodes.values())
        if field_filter is not None:
            graph = _reachable(graph, ids[start], field_filter, with_downstream)
        graph.sort(key=lambda n: n["id"])
        return {"graph": graph}

    # ------------------------------------------------------------------ events and usage

    def events(self, limit: int = 100, offset: int = 0, sort_desc: bool = True) -> dict[str, Any]:
        with self.store.read() as conn:
            where = s.raw_events.c.kind.like(RAW_KIND_PREFIX + "RunEvent%")
            total = conn.execute(select(func.count()).select_from(s.raw_events).where(where)).scalar_one()
            order = s.raw_events.c.seq.desc() if sort_desc else s.raw_events.c.seq
            rows = conn.execute(
                select(s.raw_events.c.payload).where(where).order_by(order).limit(limit).offset(offset)
            ).all()
        return {"events": [json.loads(r.payload) for r in rows], "totalCount": int(total)}

    def usage(self, node: str, days: int = 30) -> dict[str, Any]:
        """Per day: how many distinct runs read and wrote the dataset (the connector's "Usage")."""
        with self.store.read() as conn:
            kind, pk = self._resolve_node(conn, node)
            if kind != "dataset":
                raise ValueError("usage needs a dataset node id")
            since = int((datetime.now(tz=UTC).timestamp() - days * 86400) * 1000)
            rows = conn.execute(
                select(
                    s.run_datasets.c.run_id, s.run_datasets.c.direction, s.run_datasets.c.event_time
                ).where(s.run_datasets.c.asset_pk == pk, s.run_datasets.c.event_time >= since)
            ).all()
            fqn = conn.execute(select(s.assets.c.fqn).where(s.assets.c.pk == pk)).scalar_one()
            ns, name = self._dataset_ids(conn, [pk])[pk]
        per_day: dict[str, dict[str, set[str]]] = {}
        for r in rows:
            day = datetime.fromtimestamp(r.event_time / 1000, tz=UTC).date().isoformat()
            bucket = per_day.setdefault(day, {"input": set(), "output": set()})
            bucket[r.direction].add(r.run_id)
        return {
            "dataset": {"namespace": ns, "name": name, "fullyQualifiedName": fqn},
            "usage": [
                {
                    "date": day,
                    "readRuns": len(b["input"]),
                    "writeRuns": len(b["output"]),
                    "runs": len(b["input"] | b["output"]),
                }
                for day, b in sorted(per_day.items())
            ],
        }

    # ------------------------------------------------------------------ versions

    def _job_version_runs(self, conn: Connection, job_pk: int) -> list[tuple[Any, set[int], set[int]]]:
        """The job's finished runs with their inputs and outputs, newest first."""
        rows = conn.execute(
            select(s.runs)
            .where(s.runs.c.job_pk == job_pk, s.runs.c.state.in_(list(DONE_STATES)))
            .order_by(func.coalesce(s.runs.c.ended_at, s.runs.c.updated_at).desc(), s.runs.c.run_id)
        ).all()
        io: dict[str, tuple[set[int], set[int]]] = {r.run_id: (set(), set()) for r in rows}
        ids = list(io)
        for i in range(0, len(ids), 500):
            for d in conn.execute(
                select(s.run_datasets).where(s.run_datasets.c.run_id.in_(ids[i : i + 500]))
            ):
                io[d.run_id][0 if d.direction == "input" else 1].add(d.asset_pk)
        return [(r, *io[r.run_id]) for r in rows]

    def job_versions(self, namespace: str, name: str, limit: int = 100, offset: int = 0) -> dict[str, Any]:
        """One version per distinct (inputs, outputs) of the job's finished runs, newest first.

        Marquez makes a job version when a run finishes, keyed by the job and its I/O; the
        version id here is a UUID derived from the same things, so it is stable across reads.
        """
        with self.store.read() as conn:
            job = self._find_job(conn, namespace, name)
            runs = self._job_version_runs(conn, job.pk)
            ids = self._dataset_ids(conn, {d for _, ins, outs in runs for d in (*ins, *outs)})
        loc = ((_attrs(job.attributes).get("olJobFacets") or {}).get("sourceCodeLocation") or {}).get("url")
        versions: dict[str, dict[str, Any]] = {}
        for run, ins, outs in runs:  # newest first: the first run of a version is its latest
            inputs = sorted(ids[p] for p in ins)
            outputs = sorted(ids[p] for p in outs)
            version = job_version_id(namespace, name, inputs, outputs)
            created = run.started_at or run.updated_at
            entry = versions.get(version)
            if entry is None:
                versions[version] = {
                    "id": {"namespace": namespace, "name": name, "version": version},
                    "name": name,
                    "createdAt": iso(created),
                    "updatedAt": iso(run.ended_at or run.updated_at),
                    "location": loc,
                    "version": version,
                    "namespace": namespace,
                    "inputs": [{"namespace": n, "name": m} for n, m in inputs],
                    "outputs": [{"namespace": n, "name": m} for n, m in outputs],
                    "facets": {},
                    "latestRun": self._run_json(run, namespace, name),
                    "_created": created,
                }
            elif created is not None and created < (entry["_created"] or created + 1):
                entry["_created"] = created
                entry["createdAt"] = iso(created)
        items = [_public(v) for v in versions.values()]
        return {"versions": items[offset : offset + limit], "totalCount": len(items)}

    def job_version(self, namespace: str, name: str, version: str) -> dict[str, Any]:
        for v in self.job_versions(namespace, name, limit=1_000_000)["versions"]:
            if v["version"] == version:
                return dict(v)
        raise NotFound(f"Job {namespace}:{name} has no version {version}")

    def dataset_versions(
        self, namespace: str, name: str, limit: int = 100, offset: int = 0
    ) -> dict[str, Any]:
        """One version per run that wrote the dataset (Marquez versions a dataset on every
        write), newest first, each with the run that created it."""
        with self.store.read() as conn:
            pk = self._find_dataset_pk(conn, namespace, name)
            base = _public(self._datasets_json(conn, [pk])[0])
            rows = conn.execute(
                select(s.runs, s.run_datasets.c.event_time.label("written_at"))
                .select_from(s.run_datasets.join(s.runs, s.runs.c.run_id == s.run_datasets.c.run_id))
                .where(s.run_datasets.c.asset_pk == pk, s.run_datasets.c.direction == "output")
                .order_by(s.run_datasets.c.event_time.desc(), s.runs.c.run_id)
            ).all()
            jobs = {
                r.pk: _attrs(r.attributes).get("openlineage") or {"namespace": "", "name": r.name}
                for r in conn.execute(
                    select(s.assets.c.pk, s.assets.c.attributes, s.assets.c.name).where(
                        s.assets.c.pk.in_({r.job_pk for r in rows})
                    )
                )
            }
        ns, nm = base["namespace"], base["name"]
        versions = []
        for r in rows:
            job = jobs.get(r.job_pk, {})
            version = dataset_version_id(ns, nm, r.run_id)
            versions.append(
                {
                    **{k: base[k] for k in ("id", "type", "name", "physicalName", "namespace", "sourceName")},
                    "createdAt": iso(r.written_at),
                    "version": version,
                    "fields": base["fields"],
                    "tags": [],
                    "lastModifiedAt": iso(r.ended_at or r.written_at),
                    "description": base["description"],
                    "lifecycleState": None,
                    "createdByRun": self._run_json(r, job.get("namespace", ""), job.get("name", "")),
                    "facets": {},
                }
            )
        return {"versions": versions[offset : offset + limit], "totalCount": len(versions)}

    def dataset_version(self, namespace: str, name: str, version: str) -> dict[str, Any]:
        for v in self.dataset_versions(namespace, name, limit=1_000_000)["versions"]:
            if v["version"] == version:
                return dict(v)
        raise NotFound(f"Dataset {namespace}:{name} has no version {version}")

    # ------------------------------------------------------------------ search and stats

    def search(
        self,
        q: str,
        filter_: str | None = None,
        sort: str = "UPDATE_AT",
        limit: int = 10,
        namespace: str | None = None,
        before: str | None = None,
        after: str | None = None,
    ) -> dict[str, Any]:
        """Marquez's ``/search``: jobs and datasets whose name contains ``q`` (any case)."""
        if not q.strip():
            raise ValueError("q: must not be blank")
        kind = (filter_ or "").upper() or None
        if kind not in (None, "DATASET", "JOB"):
            raise ValueError("filter: must be DATASET or JOB")
        order = sort.upper()
        if order not in ("NAME", "UPDATE_AT"):
            raise ValueError("sort: must be NAME or UPDATE_AT")
        lo = _day_ms(after, "after") if after else None
        hi = _day_ms(before, "before") if before else None
        needle = q.lower()
        results: list[dict[str, Any]] = []
        with self.store.read() as conn:
            if kind in (None, "JOB"):
                for row in self._job_rows(conn):
                    ol = _attrs(row.attributes).get("openlineage") or {}
                    ns, nm = ol.get("namespace", ""), ol.get("name", row.name)
                    if needle in nm.lower():
                        results.append(_hit("JOB", ns, nm, row.updated_at))
            if kind in (None, "DATASET"):
                pattern = f"%{needle}%"
                for r in conn.execute(
                    select(olt.ol_datasets.c.namespace, olt.ol_datasets.c.name, s.assets.c.updated_at)
                    .select_from(olt.ol_datasets.join(s.assets, s.assets.c.pk == olt.ol_datasets.c.asset_pk))
                    .where(
                        olt.ol_datasets.c.is_primary.is_(True),
                        func.lower(olt.ol_datasets.c.name).like(pattern),
                        s.assets.c.deleted.is_(False),
                    )
                ):
                    results.append(_hit("DATASET", r.namespace, r.name, r.updated_at))
        results = [
            h
            for h in results
            if (namespace is None or h["namespace"] == namespace)
            and (lo is None or h["_t"] >= lo)
            and (hi is None or h["_t"] < hi)
        ]
        if order == "NAME":
            results.sort(key=lambda h: (h["name"], h["namespace"], h["type"]))
        else:
            results.sort(key=lambda h: (-h["_t"], h["name"], h["type"]))
        return {"totalCount": len(results), "results": [_public(h) for h in results[:limit]]}

    def stats(self, kind: str, period: str = "DAY", timezone: str = "UTC") -> list[dict[str, Any]]:
        """Marquez's ``/stats/{kind}``: per hour over the last day (``DAY``) or per day over the
        last week (``WEEK``), in ``timezone``. ``lineage-events`` counts run state events by
        type; ``jobs``, ``datasets`` and ``sources`` count those first seen in each interval."""
        buckets = _intervals(period, timezone)
        lo, hi = buckets[0][0], buckets[-1][1]
        times: list[tuple[int, str]] = []
        with self.store.read() as conn:
            if kind == "lineage-events":
                times = [
                    (r.event_time, r.state)
                    for r in conn.execute(
                        select(s.run_states.c.event_time, s.run_states.c.state).where(
                            s.run_states.c.event_time >= lo, s.run_states.c.event_time < hi
                        )
                    )
                ]
            elif kind == "jobs":
                times = [(r.created_at, "") for r in self._job_rows(conn, s.assets.c.created_at >= lo)]
            elif kind == "datasets":
                times = [
                    (r.created_at, "")
                    for r in conn.execute(
                        select(olt.ol_datasets.c.created_at).where(
                            olt.ol_datasets.c.is_primary.is_(True),
                            olt.ol_datasets.c.created_at >= lo,
                            olt.ol_datasets.c.created_at < hi,
                        )
                    )
                ]
            elif kind == "sources":  # a dataset namespace is where Marquez's sources come from
                first = func.min(olt.ol_datasets.c.created_at)
                times = [
                    (r.first_at, "")
                    for r in conn.execute(
                        select(first.label("first_at")).group_by(olt.ol_datasets.c.namespace)
                    )
                    if lo <= r.first_at < hi
                ]
            else:
                raise NotFound(f"No stats for {kind}; use lineage-events, jobs, datasets or sources")
        out: list[dict[str, Any]] = []
        for start, end in buckets:
            inside = [st for t, st in times if start <= t < end]
            item: dict[str, Any] = {
                "startInterval": _iso_tz(start, timezone),
                "endInterval": _iso_tz(end, timezone),
            }
            if kind == "lineage-events":
                item.update(
                    fail=inside.count("FAIL"),
                    start=inside.count("START"),
                    complete=inside.count("COMPLETE"),
                    abort=inside.count("ABORT"),
                )
            else:
                item["count"] = len(inside)
            out.append(item)
        return out


DONE_STATES = ("COMPLETE", "FAIL", "ABORT")


def job_version_id(
    namespace: str, name: str, inputs: Sequence[tuple[str, str]], outputs: Sequence[tuple[str, str]]
) -> str:
    """Stable version UUID of a job from its name and I/O (what Marquez versions jobs by)."""
    key = json.dumps([namespace, name, sorted(inputs), sorted(outputs)], separators=(",", ":"))
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "headwater:job-version:" + key))


def dataset_version_id(namespace: str, name: str, run_id: str) -> str:
    """Stable version UUID of the dataset written by one run."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"headwater:dataset-version:{namespace}:{name}#{run_id}"))


def _hit(kind: str, namespace: str, name: str, updated: int) -> dict[str, Any]:
    return {
        "type": kind,
        "name": name,
        "updatedAt": iso(updated),
        "namespace": namespace,
        "nodeId": node_id("job" if kind == "JOB" else "dataset", namespace, name),
        "_t": updated,
    }


def _day_ms(text: str, what: str) -> int:
    """``YYYY-MM-DD`` (UTC midnight) in epoch milliseconds, as Marquez's before/after take."""
    try:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"{what}: expected a date as YYYY-MM-DD, got {text!r}") from None
    return int(day.timestamp() * 1000)


def _zone(timezone: str) -> Any:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"timezone: unknown time zone {timezone!r}") from None


def _intervals(period: str, timezone: str) -> list[tuple[int, int]]:
    """24 hourly buckets ending with the current hour, or 7 daily ones ending today."""
    tz = _zone(timezone)
    now = datetime.now(tz=tz)
    p = period.upper()
    if p == "DAY":
        end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        starts = [end - timedelta(hours=h) for h in range(24, 0, -1)]
        step = timedelta(hours=1)
    elif p == "WEEK":
        end = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        starts = [end - timedelta(days=d) for d in range(7, 0, -1)]
        step = timedelta(days=1)
    else:
        raise ValueError("period: must be DAY or WEEK")
    return [(int(st.timestamp() * 1000), int((st + step).timestamp() * 1000)) for st in starts]


def _iso_tz(ms_value: int, timezone: str) -> str:
    return datetime.fromtimestamp(ms_value / 1000, tz=_zone(timezone)).isoformat()


def _public(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if not k.startswith("_")}


def _reachable(
    graph: list[dict[str, Any]], dataset: tuple[str, str], field_name: str, downstream: bool
) -> list[dict[str, Any]]:
    """Keep only the nodes connected (upstream, and downstream if asked) to one field."""
    by_id = {n["id"]: n for n in graph}
    start = f"datasetField:{dataset[0]}:{dataset[1]}:{field_name}"
    if start not in by_id:
        return []
    keep = {start}
    stack = [start]
    while stack:
        nid = stack.pop()
        node = by_id[nid]
        nbrs = [e["origin"] for e in node["inEdges"]]
        if downstream:
            nbrs += [e["destination"] for e in node["outEdges"]]
        for nb in nbrs:
            if nb in by_id and nb not in keep:
                keep.add(nb)
                stack.append(nb)
    return [by_id[n] for n in keep]


__all__ = ["MarquezReader", "NodeId", "NotFound"]
