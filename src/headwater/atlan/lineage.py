"""`POST /api/meta/lineage/list`: Atlas's breadth-first lineage list, with processes as nodes.

From a dataset, downstream means: the processes that read it, then what they write, and so on;
`depth` counts dataset → process → dataset hops (a process and its outputs share a level). Edges
powered by Atlan processes go through those processes; edges from other sources go through their
pipeline when they have one, and directly dataset → dataset otherwise. A page holds `size`
matching entities from `from`; `hasMore` is true only when at least one more exists, so the
SDK's pager never spins on an empty page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from headwater.atlan.errors import AtlasError, guid_not_found
from headwater.atlan.filters import filter_values, matches
from headwater.atlan.links import processes_of_edges, stored_guids
from headwater.atlan.render import header
from headwater.atlan.types import PROCESS_TYPES
from headwater.graph import GraphIndex
from headwater.model.assets import Asset
from headwater.model.types import AssetType
from headwater.store import Store

MAX_DEPTH = 1_073_741_823
PROCESS_LIKE = frozenset({*PROCESS_TYPES, AssetType.PIPELINE})


def _invalid(message: str) -> AtlasError:
    return AtlasError(400, "ATLAS-400-00-029", message)


class LineageList:
    """One lineage-list request against the store and graph index."""

    def __init__(self, store: Store, index: GraphIndex) -> None:
        self.store = store
        self.index = index
        self._by_pk: dict[int, Asset] = {}
        self._by_id: dict[str, Asset] = {}

    # -- loading ------------------------------------------------------------------------------

    def _remember(self, assets: list[Asset]) -> None:
        for a in assets:
            self._by_pk[a.pk] = a
            self._by_id[a.id] = a

    def _pks(self, pks: list[int]) -> list[Asset]:
        missing = [p for p in pks if p not in self._by_pk]
        if missing:
            self._remember(list(self.store.get_assets_by_pks(missing).values()))
        return [self._by_pk[p] for p in pks if p in self._by_pk]

    def _ids(self, ids: list[str]) -> list[Asset]:
        missing = [i for i in ids if i not in self._by_id]
        if missing:
            self._remember(list(self.store.get_assets_by_ids(missing).values()))
        return [self._by_id[i] for i in ids if i in self._by_id]

    # -- steps --------------------------------------------------------------------------------

    def _dataset_steps(self, pks: list[int], downstream: bool) -> dict[int, list[tuple[str | None, int]]]:
        """For each dataset: (process id or None, neighbouring dataset pk) one graph edge away."""
        pairs: list[tuple[int, int]] = []
        for pk in pks:
            near = self.index.downstream(pk) if downstream else self.index.upstream(pk)
            for n in near:
                if self.index.is_deleted(n):
                    continue
                pairs.append((pk, n) if downstream else (n, pk))
        procs = processes_of_edges(self.store, pairs) if pairs else {}
        out: dict[int, list[tuple[str | None, int]]] = {pk: [] for pk in pks}
        for pair in pairs:
            here, there = (pair[0], pair[1]) if downstream else (pair[1], pair[0])
            ids = procs.get(pair) or []
            if ids:
                out[here].extend((pid, there) for pid in ids)
            elif pair in procs:
                out[here].append((None, there))
        return out

    def _process_ends(self, process: Asset, downstream: bool) -> list[Asset]:
        """A process's outputs (downstream) or inputs (upstream)."""
        if process.type in PROCESS_TYPES:
            ends = self._ids(stored_guids(process, "outputs" if downstream else "inputs"))
        else:
            pairs = self.store.edges_by_pipeline([process.pk])
            ends = self._pks(list(dict.fromkeys(t if downstream else f for f, t in pairs)))
        return [a for a in ends if not a.deleted]

    # -- traversal ----------------------------------------------------------------------------

    def walk(
        self, start: Asset, depth: int, downstream: bool, traversal_filter: Any
    ) -> Iterator[tuple[Asset, int]]:
        """(entity, level) in breadth-first order, the start excluded."""
        seen: set[int] = {start.pk}
        seen_procs: set[str] = set()
        level = 1
        frontier: list[int]
        if start.type in PROCESS_LIKE:
            seen_procs.add(start.id)
            frontier = []
            if depth < 1:
                return
            for end in self._process_ends(start, downstream):
                if end.pk in seen:
                    continue
                seen.add(end.pk)
                if not matches(traversal_filter, filter_values(end)):
                    continue
                yield end, 1
                frontier.append(end.pk)
            level = 2
        else:
            frontier = [start.pk]
        while frontier and level <= depth:
            steps = self._dataset_steps(frontier, downstream)
            ids = list(dict.fromkeys(pid for pk in frontier for pid, _ in steps[pk] if pid))
            self._ids(ids)
            self._pks(list(dict.fromkeys(n for pk in frontier for _, n in steps[pk])))
            nxt: list[int] = []
            for pk in frontier:
                for pid, n in steps[pk]:
                    targets: list[Asset] = []
                    if pid is not None:
                        if pid in seen_procs:
                            continue
                        seen_procs.add(pid)
                        proc = self._by_id.get(pid)
                        if proc is None or proc.deleted:
                            continue
                        if not matches(traversal_filter, filter_values(proc)):
                            continue
                        yield proc, level
                        targets = self._process_ends(proc, downstream)
                        if n in self._by_pk and all(t.pk != n for t in targets):
                            targets.append(self._by_pk[n])
                    elif n in self._by_pk:
                        targets = [self._by_pk[n]]
                    for t in targets:
                        if t.pk in seen or t.deleted:
                            continue
                        seen.add(t.pk)
                        if not matches(traversal_filter, filter_values(t)):
                            continue
                        yield t, level
                        nxt.append(t.pk)
            frontier = nxt
            level += 1

    # -- immediate neighbours -----------------------------------------------------------------

    @staticmethod
    def _mini(a: Asset) -> dict[str, Any]:
        return {"guid": a.id, "qualifiedName": a.fqn, "name": a.name}

    def _immediate(self, asset: Asset, downstream: bool) -> list[dict[str, Any]]:
        if asset.type in PROCESS_LIKE:
            ends = self._process_ends(asset, downstream)
            steps = self._dataset_steps([e.pk for e in ends], downstream)
            ids = list(dict.fromkeys(pid for e in ends for pid, _ in steps[e.pk] if pid and pid != asset.id))
            return [self._mini(a) for a in self._ids(ids) if not a.deleted]
        steps = self._dataset_steps([asset.pk], downstream)
        pks = list(dict.fromkeys(n for _, n in steps[asset.pk]))
        return [self._mini(a) for a in self._pks(pks) if not a.deleted]

    # -- the request --------------------------------------------------------------------------

    def run(self, req: dict[str, Any]) -> dict[str, Any]:
        guid = req.get("guid")
        if not isinstance(guid, str) or not guid:
            raise _invalid("Invalid lineage request: guid is required")
        size, offset, depth = req.get("size", 10), req.get("from", 0), req.get("depth", 1_000_000)
        for name, value, high in (("size", size, None), ("from", offset, None), ("depth", depth, MAX_DEPTH)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0 or (high and value > high):
                raise _invalid(f"Invalid lineage request: {name} must be an integer >= 0, got {value!r}")
        direction = str(req.get("direction") or "OUTPUT").upper()
        if direction not in ("INPUT", "OUTPUT"):
            raise _invalid(f"Invalid lineage request: direction must be INPUT or OUTPUT, not {direction!r}")
        downstream = direction == "OUTPUT"
        start = self.store.get_asset(guid)
        if start is None:
            raise guid_not_found(guid)
        self._remember([start])
        self.index.refresh()
        attributes = [str(a) for a in req.get("attributes") or []]
        entity_filter = req.get("entityFilters")
        traversal_filter = req.get("entityTraversalFilters")
        immediate = bool(req.get("immediateNeighbours"))
        page: list[tuple[Asset, int]] = []
        matched = 0
        has_more = False
        for asset, level in self.walk(start, depth, downstream, traversal_filter):
            if not matches(entity_filter, filter_values(asset)):
                continue
            if matched >= offset + size:
                has_more = True
                break
            if matched >= offset:
                page.append((asset, level))
            matched += 1
        entities: list[dict[str, Any]] = []
        if immediate and offset == 0:
            page.insert(0, (start, 1 if start.type in PROCESS_LIKE else 0))
        for asset, level in page:
            item = header(asset, attributes=attributes)
            item["depth"] = level
            if immediate:
                item["immediateUpstream"] = self._immediate(asset, downstream=False)
                item["immediateDownstream"] = self._immediate(asset, downstream=True)
            entities.append(item)
        params = {k: v for k, v in req.items() if k not in ("entityFilters",)}
        params.update({"guid": guid, "size": size, "from": offset, "depth": depth, "direction": direction})
        return {
            "entities": entities,
            "hasMore": has_more,
            "entityCount": len(entities),
            "searchParameters": params,
        }
