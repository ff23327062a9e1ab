"""Process lineage as edges: every (input, output) pair of an active Process or ColumnProcess is an
edge input → output with source `AtlanProcess` whose pipeline is the process.

Several processes may link the same pair, so the edge's details keep the set of processes that
power it (`atlanProcesses`) and, on table-level edges, the column pairs each ColumnProcess
contributes (`atlanColumnMappings`); the pipeline shown is the most recently saved process. An
edge goes when its last process goes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from headwater.model.assets import Asset
from headwater.model.lineage import ColumnLineage, LineageDetails
from headwater.model.types import AssetType, LineageSource
from headwater.store import EdgeWrite, Store, now_ms

SOURCE = LineageSource.ATLAN_PROCESS
PROCESSES_KEY = "atlanProcesses"
MAPPINGS_KEY = "atlanColumnMappings"

Pair = tuple[int, int]


def stored_guids(asset: Asset, key: str) -> list[str]:
    value = asset.attributes.get(key) or []
    if not isinstance(value, list):
        return []
    return [str(v["guid"]) for v in value if isinstance(v, dict) and v.get("guid")]


def parent_process_guid(asset: Asset) -> str | None:
    value = asset.attributes.get("process")
    if isinstance(value, dict) and value.get("guid"):
        return str(value["guid"])
    return None


@dataclass
class PairDelta:
    add: dict[str, dict[str, Any]] = field(default_factory=dict)
    remove: set[str] = field(default_factory=set)
    add_mappings: dict[str, list[list[str]]] = field(default_factory=dict)
    remove_mappings: set[str] = field(default_factory=set)


class LinkPlan:
    """Collects which processes start or stop powering which pairs, then writes the edges."""

    def __init__(self) -> None:
        self.deltas: dict[Pair, PairDelta] = {}

    def _delta(self, pair: Pair) -> PairDelta:
        delta = self.deltas.get(pair)
        if delta is None:
            delta = self.deltas[pair] = PairDelta()
        return delta

    def process_pairs(
        self, process: Asset, by_guid: Mapping[str, Asset], *, active: bool
    ) -> tuple[set[Pair], dict[Pair, list[list[str]]]]:
        """The pairs a process links, and for a ColumnProcess the column pairs per table pair."""
        if not active:
            return set(), {}
        ins = [by_guid[g] for g in stored_guids(process, "inputs") if g in by_guid]
        outs = [by_guid[g] for g in stored_guids(process, "outputs") if g in by_guid]
        pairs = {(i.pk, o.pk) for i in ins for o in outs if i.pk != o.pk}
        table_pairs: dict[Pair, list[list[str]]] = {}
        if process.type is AssetType.COLUMN_PROCESS:
            for i in ins:
                for o in outs:
                    if i.parent_pk is None or o.parent_pk is None or i.parent_pk == o.parent_pk:
                        continue
                    if i.type is not AssetType.COLUMN or o.type is not AssetType.COLUMN:
                        continue
                    table_pairs.setdefault((i.parent_pk, o.parent_pk), []).append([i.fqn, o.fqn])
        return pairs, table_pairs

    def change(
        self,
        process: Asset,
        old: tuple[set[Pair], dict[Pair, list[list[str]]]],
        new: tuple[set[Pair], dict[Pair, list[list[str]]]],
        at: int,
    ) -> None:
        """Record that `process` powered the `old` pairs and now powers the `new` ones."""
        entry = {
            "pk": process.pk,
            "type": process.type.value,
            "name": process.name,
            "fqn": process.fqn,
            "at": at,
        }
        sql = process.attributes.get("sql")
        if isinstance(sql, str) and sql:
            entry["sql"] = sql
        old_pairs, old_tables = old
        new_pairs, new_tables = new
        for pair in old_pairs - new_pairs:
            self._delta(pair).remove.add(process.id)
        for pair in new_pairs:
            self._delta(pair).add[process.id] = entry
        for pair in set(old_tables) - set(new_tables):
            self._delta(pair).remove_mappings.add(process.id)
        for pair, mappings in new_tables.items():
            self._delta(pair).add_mappings[process.id] = mappings

    def apply(self, store: Store, conn: Connection, actor: str | None) -> None:
        """Write the changed pairs (reading their current details first)."""
        if not self.deltas:
            return
        current = store.get_edges(list(self.deltas))
        writes: list[EdgeWrite] = []
        removals: list[tuple[int, int, str]] = []
        for pair, delta in self.deltas.items():
            procs: dict[str, dict[str, Any]] = {}
            maps: dict[str, list[list[str]]] = {}
            edge = current.get(pair)
            if edge is not None:
                for d in edge.details:
                    if d.source is SOURCE:
                        extra = d.model_extra or {}
                        procs = dict(extra.get(PROCESSES_KEY) or {})
                        maps = dict(extra.get(MAPPINGS_KEY) or {})
            had = bool(procs or maps)
            for pid in delta.remove:
                procs.pop(pid, None)
            for pid in delta.remove_mappings:
                maps.pop(pid, None)
            procs.update(delta.add)
            maps.update(delta.add_mappings)
            if not procs and not maps:
                if had:
                    removals.append((pair[0], pair[1], SOURCE.value))
                continue
            details, pipeline_pk = _details(procs, maps)
            writes.append(EdgeWrite(pair[0], pair[1], details, pipeline_pk=pipeline_pk))
        if removals:
            store.remove_edge_details(removals, conn=conn)
        if writes:
            store.put_edges(writes, actor, conn=conn)


def _details(
    procs: dict[str, dict[str, Any]], maps: dict[str, list[list[str]]]
) -> tuple[LineageDetails, int | None]:
    ordered = sorted(procs.items(), key=lambda kv: (kv[1].get("at") or 0, kv[0]))
    pipeline: dict[str, Any] | None = None
    pipeline_pk: int | None = None
    sql: str | None = None
    if ordered:
        pid, latest = ordered[-1]
        pipeline = {
            "id": pid,
            "type": latest.get("type", AssetType.PROCESS.value),
            "name": latest.get("name"),
            "fullyQualifiedName": latest.get("fqn"),
        }
        pipeline_pk = latest.get("pk")
        for _, entry in reversed(ordered):
            if entry.get("sql"):
                sql = entry["sql"]
                break
    columns: dict[str, list[str]] = {}
    for _, mappings in sorted(maps.items()):
        for src, dst in mappings:
            bucket = columns.setdefault(dst, [])
            if src not in bucket:
                bucket.append(src)
    # built without validation: every value is constructed here (this runs once per edge)
    details = LineageDetails.model_construct(
        sqlQuery=sql,
        pipeline=pipeline,
        columnsLineage=[
            ColumnLineage.model_construct(fromColumns=froms, toColumn=to) for to, froms in columns.items()
        ],
        source=SOURCE,
        atlanProcesses=procs,
        atlanColumnMappings=maps,
    )
    return details, pipeline_pk


def processes_of_edges(store: Store, pairs: Iterable[Pair]) -> dict[Pair, list[str]]:
    """The ids of the processes (Atlan ones, or another source's pipeline) powering each pair."""
    out: dict[Pair, list[str]] = {}
    edges = store.get_edges(list(pairs))
    for pair, edge in edges.items():
        ids: list[str] = []
        for d in edge.details:
            extra = d.model_extra or {}
            if d.source is SOURCE:
                procs = extra.get(PROCESSES_KEY) or {}
                ids.extend(pid for pid, e in procs.items() if e.get("type") != AssetType.COLUMN_PROCESS.value)
                ids.extend(pid for pid, e in procs.items() if e.get("type") == AssetType.COLUMN_PROCESS.value)
            elif d.pipeline and d.pipeline.get("id"):
                ids.append(str(d.pipeline["id"]))
        out[pair] = list(dict.fromkeys(ids))
    return out


def now() -> int:
    return now_ms()
