"""Lineage as of a past instant, replayed from the append-only `lineage_log`.

The state at time T is what the entries with `at <= T` say, in `seq` order:

- a pair (from, to) existed at T when its last `edge_add`/`edge_remove` at or before T is an add;
- the details of each (pair, source) are those of its last `details_put` at or before T, unless a
  `details_remove` came after it; an `edge_add` with a `source` is also the `details_put` of that
  source (the store writes a new pair's first details in its `edge_add` entry; logs written before
  that have `edge_add` without a source, followed by a `details_put`);
- an asset was deleted at T when its last `asset_delete`/`asset_restore`/`asset_purge` at or before
  T is a delete.

Four ways to answer, picked per read:

* **temporal** (the usual case, whenever the graph index has its temporal part, which it builds
  by default): the graph index keeps each pair's birth and the history of the pairs removed and
  the assets deleted at some time (`headwater.graph.index`), so the walk as of T is the same
  in-memory walk with a filter: nothing to load or replay per instant, the cost of the answer.
* **delta** (T not too far back, without the temporal part) (the usual case, T not too far back): start from the live in-memory `GraphIndex` and
  undo only what changed after T. The entries after T are read once (the `ix_lineage_log_at` index
  finds them); since the store writes `edge_add` only for new pairs and `edge_remove` only for
  existing ones, the first entry after T of a pair tells its state at T. Cost: the changes since T.
* **snapshot** (T far back, more than `DELTA_LIMIT` entries since): start from the nearest
  checkpoint of the edge set at or before T (`headwater.analysis.snapshots`, made in the background
  or by the first read that far back) and replay the at most `SNAPSHOT_EVERY` entries between it
  and T. Cost: loading the snapshot once (kept in an in-memory LRU) plus that replay.
* **log** (only when asked for; the pre-snapshot way, kept as a reference): each BFS level asks
  the log for the pairs ever touching the frontier (`ix_lineage_log_pair` for downstream,
  `ix_lineage_log_to`, added by migration 0200, for upstream) and keeps those whose last entry at
  or before T is an add. Cost: the history of the nodes visited.

Details of the pairs found come from the log when they changed after T (temporal: the graph index
keeps each pair's last details change in memory; delta: seen in the replay; snapshot: one index
lookup per pair for entries after T) or always (log), with the current `edge_details` as the fallback for pairs the log has no details
for (bulk loads). Assets hard-deleted after T are shown from the copy kept in their `asset_purge`
log entry; only those purged before that copy was kept are left out (counted in `unresolved`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, select

from headwater.analysis import snapshots
from headwater.graph.index import GraphIndex
from headwater.graph.view import PIPELINE_TYPES, LineageView
from headwater.model.assets import Asset
from headwater.model.lineage import EdgeView, LineageDetails
from headwater.store import Store
from headwater.store import schema as s

EDGE_KINDS = ("edge_add", "edge_remove")
DETAIL_KINDS = ("details_put", "details_remove")
# entries that put details: `details_put`, and `edge_add` when it carries a source (see above)
PUT_KINDS = ("details_put", "edge_add")
ASSET_KINDS = ("asset_delete", "asset_restore", "asset_purge")
DELTA_LIMIT = 200_000  # entries after T up to which the delta strategy is used
CHUNK = 500
CACHE_SIZE = 32
_CACHE: OrderedDict[tuple[int, int, int, str], AsOfGraph] = OrderedDict()
_CACHE_LOCK = threading.Lock()

Pair = tuple[int, int]


class AsOfError(ValueError):
    """A malformed instant."""


class NotThenError(AsOfError):
    """The root did not exist (or was deleted) at the instant asked for."""


def parse_instant(value: str | int | float | None) -> int | None:
    """Epoch milliseconds from an int, a digit string (ms, as OpenMetadata writes times) or ISO-8601.

    ISO-8601 without an offset is taken as UTC. Returns None for None or an empty string.
    """
    if value is None:
        return None
    if isinstance(value, int | float):
        return int(value)
    text = value.strip()
    if not text:
        return None
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise AsOfError(
            f"invalid instant {value!r}: use epoch milliseconds or ISO-8601 (e.g. 2026-11-22T09:00:00Z)"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def _unindexed(column: Any) -> Any:
    """`column + 0`: keeps the planner off `ix_lineage_log_at` for `at <= T`, which matches nearly
    the whole log; the pair and target indexes are the selective ones (SQLite otherwise picks the
    time index and scans the log)."""
    return column + 0


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _pair_history(store: Store, pairs: Sequence[Pair], columns: Sequence[str]) -> list[Any]:
    """Every log entry of each pair, one `ix_lineage_log_pair` lookup per pair (SQLite reads a
    `(from_pk, to_pk) IN (...)` list with a scan of the whole log; the store joins keys instead)."""
    with store._quick_read() as conn:  # the read's shared connection, inside `shared_reads()`
        return store._rows_matching(conn, "lineage_log", ("from_pk", "to_pk"), pairs, columns)


def _first_seq_after(store: Store, at: int) -> int | None:
    """The seq of the earliest entry after `at` (found through `ix_lineage_log_at`)."""
    with store._quick_read() as conn:
        first = conn.execute(
            select(s.lineage_log.c.seq).where(s.lineage_log.c.at > at).order_by(s.lineage_log.c.at).limit(1)
        ).scalar()
    return None if first is None else int(first)


def _touched_after(store: Store, pairs: Sequence[Pair], at: int) -> set[Pair]:
    """The pairs with a log entry after `at`: only their details may differ from the current ones
    (a pair found on the graph as of `at` with no entry since still has the details it had).

    On SQLite writers are serialised, so time order is seq order: the entries after `at` are those
    from the first one's seq on, and the lookups read only `ix_lineage_log_to` (the rowid is the
    seq), not the log's rows, which a cold read would fetch from all over the file."""
    if store.dialect == "sqlite":
        first = _first_seq_after(store, at)
        if first is None:
            return set()
        join = f"AND t.seq >= {first}"
    else:
        join = f"AND t.at > {int(at)}"
    with store._quick_read() as conn:
        rows = store._rows_matching(
            conn, "lineage_log", ("from_pk", "to_pk"), pairs, ("from_pk", "to_pk"), join=join
        )
    return {(r.from_pk, r.to_pk) for r in rows}


def details_at(store: Store, pairs: Sequence[Pair], at: int) -> dict[Pair, list[LineageDetails]]:
    """Details per source of each pair as of `at`, from the log (pairs the log never mentions are absent)."""
    last: dict[tuple[int, int, str], tuple[int, str, str | None]] = {}
    for r in _pair_history(store, pairs, ("seq", "from_pk", "to_pk", "source", "kind", "details", "at")):
        if r.at <= at and (r.kind in DETAIL_KINDS or (r.kind == "edge_add" and r.source is not None)):
            key = (r.from_pk, r.to_pk, r.source or "")
            prev = last.get(key)
            if prev is None or r.seq > prev[0]:
                last[key] = (r.seq, r.kind, r.details)
    out: dict[Pair, list[LineageDetails]] = {}
    for (f, t, _src), (_, kind, text) in last.items():
        bucket = out.setdefault((f, t), [])
        if kind in PUT_KINDS and text:
            bucket.append(LineageDetails.model_validate_json(text))
    for bucket in out.values():
        bucket.sort(key=lambda d: d.updatedAt or 0)
    return out


def pairs_exist_at(store: Store, pairs: Sequence[Pair], at: int) -> dict[Pair, bool]:
    """Whether each pair existed at `at` (its last edge_add/edge_remove at or before `at` is an add)."""
    last: dict[Pair, tuple[int, str]] = {}
    for r in _pair_history(store, pairs, ("seq", "from_pk", "to_pk", "kind", "at")):
        if r.kind in EDGE_KINDS and r.at <= at:
            pair = (r.from_pk, r.to_pk)
            prev = last.get(pair)
            if prev is None or r.seq > prev[0]:
                last[pair] = (r.seq, r.kind)
    return {p: last.get(p, (0, "edge_remove"))[1] == "edge_add" for p in pairs}


@dataclass
class AsOfGraph:
    """Neighbours and deleted state of the lineage graph as of `at` (epoch ms)."""

    store: Store
    index: GraphIndex
    at: int
    strategy: str = "delta"
    # delta strategy: overlay on the live index
    _extra_out: dict[int, set[int]] = field(default_factory=dict)
    _extra_in: dict[int, set[int]] = field(default_factory=dict)
    _missing: set[Pair] = field(default_factory=set)
    _deleted_override: dict[int, bool] = field(default_factory=dict)
    touched_details: set[Pair] = field(default_factory=set)
    # log strategy: caches per node
    _out_cache: dict[int, list[int]] = field(default_factory=dict)
    _in_cache: dict[int, list[int]] = field(default_factory=dict)
    _deleted_cache: dict[int, bool] = field(default_factory=dict)
    _purged: set[int] = field(default_factory=set)
    # snapshot strategy: a snapshot plus the log replayed up to T
    _view: snapshots.SnapshotIndex | None = None

    @classmethod
    def open(cls, store: Store, index: GraphIndex, at: int, *, strategy: str | None = None) -> AsOfGraph:
        """The graph as of `at`. Delta overlays are cached per (index, instant, log position): a
        client browsing the graph at one past instant pays for the replay once."""
        index.refresh()
        if strategy == "temporal" or (strategy is None and index.temporal_ready):
            if index.temporal_ready:
                return cls(store=store, index=index, at=at, strategy="temporal")
            strategy = None  # asked for, but this index keeps no history: pick another
        upto = index.stats()["seq"]
        # a delta overlay depends on the log head; a snapshot replay only on the entries up to T
        keys = [(id(index), at, upto, strategy or "auto"), (id(index), at, -1, strategy or "auto")]
        with _CACHE_LOCK:
            for key in keys:
                cached = _CACHE.get(key)
                if cached is not None:
                    _CACHE.move_to_end(key)
                    return cached
        graph = cls(store=store, index=index, at=at)
        first = graph._first_after()
        if strategy is None:
            after = 0 if first is None else max(0, upto - first + 1)
            strategy = "delta" if after <= DELTA_LIMIT else "snapshot"
        graph.strategy = strategy
        if strategy == "delta" and first is not None:
            graph._load_delta(first, upto)
        if strategy == "snapshot":
            graph._view = snapshots.index_as_of(store, at, first)
        if strategy != "log":
            key = keys[1] if strategy == "snapshot" else keys[0]
            with _CACHE_LOCK:
                _CACHE[key] = graph
                while len(_CACHE) > CACHE_SIZE:
                    _CACHE.popitem(last=False)
        return graph

    # -- strategy selection and the delta overlay -------------------------------------------

    def _first_after(self) -> int | None:
        """The seq of the earliest entry after `at` (found through `ix_lineage_log_at`)."""
        with self.store.read() as conn:
            first = conn.execute(
                select(s.lineage_log.c.seq)
                .where(s.lineage_log.c.at > self.at)
                .order_by(s.lineage_log.c.at)
                .limit(1)
            ).scalar()
        return None if first is None else int(first)

    def _load_delta(self, first: int, upto: int) -> None:
        first_edge: dict[Pair, str] = {}
        assets: set[int] = set()
        log = s.lineage_log
        stmt = select(log.c.seq, log.c.kind, log.c.from_pk, log.c.to_pk).where(
            log.c.at > self.at, log.c.seq <= upto
        )
        if self.store.dialect == "sqlite":
            # writers are serialised, so time order is seq order: a primary-key range read
            stmt = stmt.where(log.c.seq >= first)
        with self.store.read() as conn:
            rows = sorted(conn.execute(stmt).all(), key=lambda r: r.seq)
        for r in rows:
            if r.kind in EDGE_KINDS and r.to_pk is not None:
                first_edge.setdefault((r.from_pk, r.to_pk), r.kind)
            elif r.kind in DETAIL_KINDS and r.to_pk is not None:
                self.touched_details.add((r.from_pk, r.to_pk))
            elif r.kind in ASSET_KINDS:
                assets.add(r.from_pk)
        for (f, t), kind in first_edge.items():
            if kind == "edge_remove":  # existed at T, removed since (maybe re-added)
                self._extra_out.setdefault(f, set()).add(t)
                self._extra_in.setdefault(t, set()).add(f)
            else:  # added after T: it did not exist then
                self._missing.add((f, t))
        self.touched_details.update(first_edge)
        if assets:
            self._deleted_override.update(self._deleted_at(sorted(assets)))

    # -- reading ------------------------------------------------------------------------------

    def _deleted_at(self, pks: Sequence[int]) -> dict[int, bool]:
        """Deleted-at-T flag of each asset from its last asset entry at or before T."""
        log = s.lineage_log
        last: dict[int, tuple[int, str]] = {}
        with self.store.read() as conn:
            for chunk in _chunks(list(pks)):
                for r in conn.execute(
                    select(log.c.seq, log.c.from_pk, log.c.kind).where(
                        log.c.from_pk.in_(list(chunk)),
                        log.c.to_pk.is_(None),
                        log.c.kind.in_(ASSET_KINDS),
                        _unindexed(log.c.at) <= self.at,
                    )
                ):
                    prev = last.get(r.from_pk)
                    if prev is None or r.seq > prev[0]:
                        last[r.from_pk] = (r.seq, r.kind)
        out = {pk: False for pk in pks}
        for pk, (_, kind) in last.items():
            out[pk] = kind == "asset_delete"
            if kind == "asset_purge":
                self._purged.add(pk)
        return out

    def is_deleted(self, pk: int) -> bool:
        if self.strategy == "temporal":
            return self.index.deleted_at(pk, self.at)
        if self._view is not None:
            return self._view.is_deleted(pk)
        if self.strategy == "delta":
            if pk in self._deleted_override:
                return self._deleted_override[pk]
            return self.index.is_deleted(pk)
        if pk not in self._deleted_cache:
            self._deleted_cache.update(self._deleted_at([pk]))
        return self._deleted_cache[pk]

    def prefetch_deleted(self, pks: Iterable[int]) -> None:
        if self.strategy == "log":
            todo = [p for p in pks if p not in self._deleted_cache]
            if todo:
                self._deleted_cache.update(self._deleted_at(todo))

    def neighbours_many(self, pks: Sequence[int], *, upstream: bool) -> dict[int, list[int]]:
        """Neighbours as of T of every node in `pks` (one query per chunk in the log strategy)."""
        if self.strategy == "temporal":
            at, index = self.at, self.index
            if upstream:
                return {pk: sorted(index.upstream_at(pk, at)) for pk in pks}
            return {pk: sorted(index.downstream_at(pk, at)) for pk in pks}
        if self.strategy != "log":
            return {pk: self._delta_neighbours(pk, upstream) for pk in pks}
        cache = self._in_cache if upstream else self._out_cache
        todo = [pk for pk in dict.fromkeys(pks) if pk not in cache]
        if todo:
            log = s.lineage_log
            key = log.c.to_pk if upstream else log.c.from_pk
            last: dict[Pair, tuple[int, str]] = {}
            with self.store.read() as conn:
                for chunk in _chunks(todo):
                    for r in conn.execute(
                        select(log.c.seq, log.c.from_pk, log.c.to_pk, log.c.kind).where(
                            key.in_(list(chunk)), log.c.kind.in_(EDGE_KINDS), _unindexed(log.c.at) <= self.at
                        )
                    ):
                        pair = (r.from_pk, r.to_pk)
                        prev = last.get(pair)
                        if prev is None or r.seq > prev[0]:
                            last[pair] = (r.seq, r.kind)
            for pk in todo:
                cache[pk] = []
            for (f, t), (_, kind) in last.items():
                if kind == "edge_add":
                    cache[t if upstream else f].append(f if upstream else t)
            for pk in todo:
                cache[pk].sort()  # pk order, as the delta strategy
        return {pk: cache[pk] for pk in pks}

    def _delta_neighbours(self, pk: int, upstream: bool) -> list[int]:
        if self._view is not None:
            found = self._view.upstream(pk) if upstream else self._view.downstream(pk)
            return sorted(found)
        if upstream:
            base = [n for n in self.index.upstream(pk) if (n, pk) not in self._missing]
            extra = self._extra_in.get(pk)
        else:
            base = [n for n in self.index.downstream(pk) if (pk, n) not in self._missing]
            extra = self._extra_out.get(pk)
        if extra:
            base = base + [n for n in extra if n not in base]
        return sorted(base)  # pk order in both strategies: a node limit cuts the same nodes

    def exists(self, f: int, t: int) -> bool:
        return t in self.neighbours_many([f], upstream=False)[f]

    # -- details ------------------------------------------------------------------------------

    def edges(self, pairs: Sequence[Pair]) -> dict[Pair, EdgeView]:
        """The details as of T of pairs that existed then (callers pass pairs found by traversal)."""
        unique = list(dict.fromkeys(pairs))
        if self.strategy != "log":
            if self.strategy == "delta":
                touched = self.touched_details
            elif self.strategy == "temporal":
                # in memory: the index knows each pair's last details change (see its docstring);
                # caught up first, so a change written during the walk is not taken for current
                self.index.refresh()
                touched = self.index.changed_after(unique, self.at)
            else:
                touched = _touched_after(self.store, unique, self.at)
            from_log = [p for p in unique if p in touched]
            current = [p for p in unique if p not in touched]
        else:
            from_log, current = unique, []
        out: dict[Pair, EdgeView] = {}
        fallback: list[Pair] = []
        if from_log:
            logged = self._details_from_log(from_log)
            for pair in from_log:
                if pair in logged:
                    out[pair] = EdgeView(from_pk=pair[0], to_pk=pair[1], details=logged[pair])
                else:
                    fallback.append(pair)
        live = self.store.get_edges(current + fallback + [p for p in out])
        for pair in current + fallback:
            if pair in live:
                out[pair] = live[pair]
            else:
                out[pair] = EdgeView(from_pk=pair[0], to_pk=pair[1], details=[])
        for pair, view in out.items():
            if pair in live and view.edge_description is None:
                view.edge_description = live[pair].edge_description
        return out

    def _details_from_log(self, pairs: Sequence[Pair]) -> dict[Pair, list[LineageDetails]]:
        return details_at(self.store, pairs, self.at)

    def pipeline_pairs(self, pipeline: Asset) -> list[Pair]:
        """Pairs powered by `pipeline` at T (its reference is in the details as of T)."""
        candidates = set(self.store.edges_by_pipeline([pipeline.pk]))
        if self.strategy == "delta":
            candidates |= self.touched_details
        else:
            log = s.lineage_log
            with self.store.read() as conn:
                for r in conn.execute(
                    select(log.c.from_pk, log.c.to_pk).where(
                        and_(
                            log.c.kind.in_(PUT_KINDS),
                            _unindexed(log.c.at) <= self.at,
                            log.c.details.like(f"%{pipeline.id}%"),
                        )
                    )
                ):
                    candidates.add((r.from_pk, r.to_pk))
        ordered = sorted(candidates)
        found = [p for p in ordered if self.exists(*p)]
        views = self.edges(found)
        out: list[Pair] = []
        for pair in found:
            for d in views[pair].details:
                if d.pipeline and str(d.pipeline.get("id")) == pipeline.id:
                    out.append(pair)
                    break
        return out


@dataclass
class AsOfTraversal:
    depth: dict[int, int]
    upstream_edges: list[Pair]
    downstream_edges: list[Pair]
    truncated: bool
    strategy: str
    unresolved: int = 0


def traverse_as_of(
    graph: AsOfGraph,
    root: int,
    *,
    upstream_depth: int,
    downstream_depth: int,
    node_limit: int,
    include_deleted: bool = False,
) -> AsOfTraversal:
    """Breadth-first both ways from `root` on the graph as of T, one batch per level."""
    seen: set[int] = {root}
    depth: dict[int, int] = {root: 0}
    ups: list[Pair] = []
    downs: list[Pair] = []
    truncated = False
    for upstream, max_depth in ((True, upstream_depth), (False, downstream_depth)):
        edges = ups if upstream else downs
        edge_seen: set[Pair] = set()
        frontier = [root]
        visited: set[int] = {root}
        for level in range(1, max_depth + 1):
            neigh = graph.neighbours_many(frontier, upstream=upstream)
            graph.prefetch_deleted({o for ns in neigh.values() for o in ns})
            nxt: list[int] = []
            for node in frontier:
                for other in neigh[node]:
                    if not include_deleted and graph.is_deleted(other):
                        continue
                    if other not in seen:
                        if len(seen) - 1 >= node_limit:
                            truncated = True
                            continue
                        seen.add(other)
                        depth[other] = -level if upstream else level
                    edge = (other, node) if upstream else (node, other)
                    if edge not in edge_seen:
                        edge_seen.add(edge)
                        edges.append(edge)
                    if other not in visited:
                        visited.add(other)
                        nxt.append(other)
            frontier = nxt
            if not frontier:
                break
    return AsOfTraversal(depth, ups, downs, truncated, graph.strategy)


def _as_then(asset: Asset, deleted: bool) -> Asset:
    return asset if asset.deleted == deleted else asset.model_copy(update={"deleted": deleted})


def build_as_of_view(
    store: Store,
    index: GraphIndex,
    root: Asset,
    at: int,
    *,
    upstream_depth: int,
    downstream_depth: int,
    node_limit: int,
    include_deleted: bool = False,
    strategy: str | None = None,
) -> LineageView:
    """The same `LineageView` that `build_lineage_view` makes, for the graph as it stood at `at`.

    Raises AsOfError when the root did not exist at `at` (created later, or deleted then and
    `include_deleted` is false).
    """
    if root.created_at > at:
        raise NotThenError(
            f"{root.type.value} {root.fqn} did not exist at {at} (created at {root.created_at})"
        )
    graph = AsOfGraph.open(store, index, at, strategy=strategy)
    root_deleted = graph.is_deleted(root.pk)
    if root_deleted and not include_deleted:
        raise NotThenError(f"{root.type.value} {root.fqn} was deleted at {at}")
    result = traverse_as_of(
        graph,
        root.pk,
        upstream_depth=upstream_depth,
        downstream_depth=downstream_depth,
        node_limit=node_limit,
        include_deleted=include_deleted,
    )
    up_pairs = list(result.upstream_edges)
    down_pairs = list(result.downstream_edges)
    depth = dict(result.depth)
    node_pks = set(depth)
    truncated = result.truncated
    if root.type in PIPELINE_TYPES and (upstream_depth > 0 or downstream_depth > 0):
        for f, t in graph.pipeline_pairs(root):
            if not include_deleted and (graph.is_deleted(f) or graph.is_deleted(t)):
                continue
            if len(node_pks) - 1 >= node_limit and (f not in node_pks or t not in node_pks):
                truncated = True
                continue
            if upstream_depth > 0:
                up_pairs.append((f, t))
                node_pks.add(f)
                depth.setdefault(f, -1)
            if downstream_depth > 0:
                down_pairs.append((f, t))
                node_pks.add(t)
                depth.setdefault(t, 1)
    with store.shared_reads():  # one pooled connection for the lookups, as the current read
        edges = graph.edges(up_pairs + down_pairs)
        found = store.get_assets_by_pks(node_pks - {root.pk})
        gone = node_pks - {root.pk} - set(found)
        if gone:  # hard-deleted since T: shown as they were when purged
            found.update(store.purged_assets(gone, at))
        graph.prefetch_deleted(found)
    assets = {pk: _as_then(a, graph.is_deleted(pk)) for pk, a in found.items()}
    view = LineageView(root=_as_then(root, root_deleted), nodes=assets, depth=depth, truncated=truncated)
    known = {root.pk, *assets}
    for pairs, target in ((up_pairs, view.upstream), (down_pairs, view.downstream)):
        seen: set[Pair] = set()
        for pair in pairs:
            if pair in seen or pair not in edges:
                continue
            seen.add(pair)
            if pair[0] in known and pair[1] in known:
                target.append(edges[pair])
    view.depth = {pk: d for pk, d in depth.items() if pk in known}
    return view
