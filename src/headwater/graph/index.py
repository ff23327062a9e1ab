"""An in-memory adjacency index of the lineage graph, kept fresh from the store's lineage log.

A recursive SQL CTE is about 10x slower than a plain in-memory BFS, so traversals run here. The
index holds the bulk of the graph in compact CSR arrays (numpy, about 16 bytes per edge for both
directions) plus small Python overlays for changes since the last rebuild. Before each read it
applies the log entries written since it last looked, so several server processes on one
PostgreSQL database all see every write.

**Temporal part** (for lineage as of a past instant, `headwater.analysis.asof`): the graph at T is
what the log entries with `at <= T` say, in seq order. Beside each CSR slot the index keeps the
pair's birth (`edges.created_at`, the `at` of its newest `edge_add`) and, per node and direction,
the newest birth among its slots; a pair that was never removed existed at T exactly when its birth
is <= T. The pairs removed at some time carry their whole `edge_add`/`edge_remove` history
(`_events`, read at a rebuild through the partial index of migration 0710 and then kept up from the
log), and so do the assets with delete/restore/purge entries. An as-of walk is then the same
in-memory walk with those filters: nothing to load per instant, the cost of the answer, and memory
of 16 bytes per edge plus the history of removals. For the details of the pairs found, the index
also keeps the newest time each pair's details were put or removed after its addition
(`_details_changed`, read at a rebuild through the partial index of migration 0800, then kept up
from the log; only pairs that have such a change, usually few): a pair found at T whose details
did not change after T, and whose edge history has nothing after T, has the details it has now
(`changed_after`), so an as-of read asks the log only about the others. Readers of the log here assume what the store
writes: one `edge_add` when a pair first appears (whether or not it carries the pair's first
details) and one `edge_remove` when it goes, so per pair adds and removes alternate.
"""

from __future__ import annotations

import logging
import threading
import time
from array import array
from collections.abc import Callable, Iterable

import numpy as np
import numpy.typing as npt

from headwater.store import Store
from headwater.store.schema import LOG_DETAIL_KINDS

log = logging.getLogger("headwater.graph")

_EDGE_KINDS = ("edge_add", "edge_remove", "asset_delete", "asset_restore", "asset_purge")
REBUILD_AFTER = 200_000  # overlay entries before the CSR arrays are rebuilt
_NEVER = -(2**62)
_ASSET_KINDS = ("asset_delete", "asset_restore", "asset_purge")
Pair = tuple[int, int]


class _Csr:
    """Compressed sparse rows: neighbours of node n are indices[indptr[n]:indptr[n+1]].

    Built with numpy, kept as `array.array`s (same bytes): reading one element or slice of those
    gives Python ints directly, a third faster per lookup than numpy scalars.
    """

    __slots__ = ("births", "indices", "indptr", "latest", "size")

    def __init__(
        self,
        src: npt.NDArray[np.int64],
        dst: npt.NDArray[np.int64],
        size: int,
        births: npt.NDArray[np.int64] | None = None,
    ) -> None:
        order = np.argsort(src, kind="stable")
        self.indices = array("i", dst[order].astype(np.int32).tobytes())
        counts = np.bincount(src, minlength=size)
        indptr = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        self.indptr = array("q", indptr.tobytes())
        self.size = size
        # temporal part: each slot's birth, and per node the newest birth of its slots
        self.births: array[int] | None = None
        self.latest: array[int] | None = None
        if births is not None:
            slot_births = births[order]
            latest = np.full(size, _NEVER, dtype=np.int64)
            rows = np.nonzero(counts)[0]
            if len(rows):
                latest[rows] = np.maximum.reduceat(slot_births, indptr[rows])
            self.births = array("q", slot_births.astype(np.int64).tobytes())
            self.latest = array("q", latest.tobytes())

    def neighbours_at(self, node: int, at: int) -> list[int]:
        """The neighbours whose slot was born at or before `at` (needs the temporal arrays)."""
        if node >= self.size:
            return []
        lo = self.indptr[node]
        hi = self.indptr[node + 1]
        if lo == hi:
            return []
        assert self.latest is not None and self.births is not None
        if self.latest[node] <= at:
            return self.indices[lo:hi].tolist()
        return [n for n, b in zip(self.indices[lo:hi], self.births[lo:hi], strict=True) if b <= at]

    def birth(self, node: int, other: int) -> int | None:
        if self.births is None or node >= self.size:
            return None
        lo = self.indptr[node]
        hi = self.indptr[node + 1]
        for i in range(lo, hi):
            if self.indices[i] == other:
                return self.births[i]
        return None

    def neighbours(self, node: int) -> list[int]:
        if node >= self.size:
            return []
        lo = self.indptr[node]
        hi = self.indptr[node + 1]
        if lo == hi:
            return []
        return self.indices[lo:hi].tolist()


class GraphIndex:
    """Upstream/downstream neighbours of every asset, plus which assets are deleted."""

    def __init__(self, store: Store, *, freshness_check_interval: float = 0.0, temporal: bool = True) -> None:
        self.store = store
        self.temporal = temporal  # keep the temporal part (as-of reads in memory)
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()  # one build at a time; first reads wait for it
        self._built = False
        self._seq = 0
        self._out: _Csr | None = None
        self._in: _Csr | None = None
        self._added_out: dict[int, set[int]] = {}
        self._added_in: dict[int, set[int]] = {}
        self._removed: set[tuple[int, int]] = set()
        self._deleted: set[int] = set()
        self._overlay = 0
        self._interval = freshness_check_interval
        self._checked_at = 0.0
        self._token: object = None  # the log watch's token when the log was last read
        self._builder: threading.Thread | None = None
        # temporal part (see the module docstring); ready once a rebuild made it
        self.temporal_ready = False
        self._events: dict[Pair, list[tuple[int, int, bool]]] = {}  # (seq, at, is_add) in seq order
        self._ev_out: dict[int, set[int]] = {}
        self._ev_in: dict[int, set[int]] = {}
        self._added_birth: dict[Pair, int] = {}  # pairs added since the rebuild, without events
        self._asset_events: dict[int, list[tuple[int, int, bool]]] = {}  # (seq, at, is_delete)
        # pair key (from << 32 | to) -> newest `at` of its details entries after its addition
        self._details_changed: dict[int, int] = {}

    # -- building and refreshing ------------------------------------------------------------

    def rebuild(self) -> None:
        """Load every pair from the store into fresh CSR arrays."""
        seq = self.store.max_log_seq()
        births: npt.NDArray[np.int64] | None = None
        if self.temporal:
            src, dst, births = self.store.edge_arrays_with_times()
        else:
            src, dst = self.store.edge_pair_arrays()
        size = int(max(src.max(initial=0), dst.max(initial=0))) + 1
        out_csr = _Csr(src, dst, size, births)
        in_csr = _Csr(dst, src, size, births)
        del src, dst, births
        deleted = self.store.deleted_pks()
        # read after the edges: every removal the edges reflect is in here (entries applied twice
        # by the catch-up below are told apart by their seq)
        events, asset_events = self._read_history() if self.temporal else ({}, {})
        changed = {(f << 32) | t: at for f, t, at in self.store.details_changes()} if self.temporal else {}
        with self._lock:
            self._out, self._in = out_csr, in_csr
            self._added_out, self._added_in, self._removed = {}, {}, set()
            self._deleted = deleted
            self._overlay = 0
            self._seq = seq
            self._token = None  # the next refresh reads the log once more
            self._events, self._asset_events, self._added_birth = events, asset_events, {}
            self._details_changed = changed
            self._ev_out, self._ev_in = {}, {}
            for f, t in events:
                self._ev_out.setdefault(f, set()).add(t)
                self._ev_in.setdefault(t, set()).add(f)
            self.temporal_ready = self.temporal
            self._built = True
        # catch up with anything written while we were loading
        self._apply_log()

    def build_in_background(self, then: Callable[[], None] | None = None) -> threading.Thread:
        """Start building the index on a thread (at server start), so the first lineage read does
        not pay for it; reads that come before it is done wait for it (see `refresh`). `then`
        runs after a successful build."""

        def build() -> None:
            try:
                self._ensure_built()
            except Exception:  # e.g. the store closed under us; the first read will try again
                log.warning("graph index: background build failed", exc_info=True)
                return
            if then is not None:
                then()

        thread = threading.Thread(target=build, name="headwater-index-build", daemon=True)
        self._builder = thread
        thread.start()
        return thread

    def _ensure_built(self) -> None:
        with self._build_lock:
            if not self._built:
                self.rebuild()

    def refresh(self) -> None:
        """Bring the index up to date with the store (cheap when nothing changed).

        On PostgreSQL the store's log watch says when nothing can have changed, and the log is
        not asked at all (see `headwater.store.logwatch` for exactly what that guarantees);
        otherwise one cheap query for the log head decides.
        """
        if not self._built:
            self._ensure_built()
            return
        watch = self.store.log_watch()
        token: object = None
        if watch is not None:
            token = watch.token()  # before reading the log: a later change gives another token
            if token is not None and token == self._token:
                return
        elif self._interval:
            now = time.monotonic()
            if now - self._checked_at < self._interval:
                return
            self._checked_at = now
        if self.store.max_log_seq() != self._seq:
            self._apply_log()
        self._token = token
        if self._overlay > REBUILD_AFTER:
            self.rebuild()

    def _apply_log(self) -> None:
        with self._lock:
            while True:
                # read the head first: an edge entry committed after it is found next time
                head = self.store.max_log_seq()
                kinds = _EDGE_KINDS + LOG_DETAIL_KINDS if self.temporal_ready else _EDGE_KINDS
                entries = self.store.log_since(self._seq, kinds, details=False)
                if not entries:
                    # skip past non-edge entries so the next freshness check is cheap
                    self._seq = max(self._seq, head)
                    return
                for e in entries:
                    if e.kind == "edge_add" and e.to_pk is not None:
                        self._add(e.from_pk, e.to_pk)
                        if self.temporal_ready:
                            self._event(e.seq, e.at, e.from_pk, e.to_pk, True)
                    elif e.kind == "edge_remove" and e.to_pk is not None:
                        if self.temporal_ready:  # before _remove: the birth is looked up in the base
                            self._event(e.seq, e.at, e.from_pk, e.to_pk, False)
                        self._remove(e.from_pk, e.to_pk)
                    elif e.kind == "asset_delete":
                        self._deleted.add(e.from_pk)
                    elif e.kind in ("asset_restore", "asset_purge"):
                        self._deleted.discard(e.from_pk)
                    elif e.kind in LOG_DETAIL_KINDS and e.to_pk is not None:
                        self._details_event(e.at, e.from_pk, e.to_pk)
                    if e.kind in _ASSET_KINDS and self.temporal_ready:
                        evs = self._asset_events.setdefault(e.from_pk, [])
                        if not evs or e.seq > evs[-1][0]:
                            evs.append((e.seq, e.at, e.kind == "asset_delete"))
                    self._seq = e.seq

    def _read_history(
        self,
    ) -> tuple[dict[Pair, list[tuple[int, int, bool]]], dict[int, list[tuple[int, int, bool]]]]:
        """The edge history of every pair ever removed, and the asset entries, from the log."""
        removed: set[Pair] = set()
        asset_events: dict[int, list[tuple[int, int, bool]]] = {}
        for seq, at, kind, f, t in self.store.log_changes():
            if kind == "edge_remove":
                if t is not None:
                    removed.add((f, t))
            else:
                asset_events.setdefault(f, []).append((seq, at, kind == "asset_delete"))
        events: dict[Pair, list[tuple[int, int, bool]]] = {}
        for seq, at, kind, f, t in self.store.edge_log_of_pairs(sorted(removed)):
            events.setdefault((f, t), []).append((seq, at, kind == "edge_add"))
        return events, asset_events

    def _event(self, seq: int, at: int, f: int, t: int, is_add: bool) -> None:
        """Record an edge entry in the temporal part (called before the overlay changes)."""
        pair = (f, t)
        evs = self._events.get(pair)
        if evs is None:
            if is_add:  # a pair's first appearance: its birth is all there is to know
                self._added_birth[pair] = at
                return
            # its first removal: from now on the pair's existence is its history
            birth = self._added_birth.pop(pair, None)
            if birth is None and self._out is not None:
                birth = self._out.birth(f, t)
            evs = [(0, birth, True)] if birth is not None else []
            self._events[pair] = evs
            self._ev_out.setdefault(f, set()).add(t)
            self._ev_in.setdefault(t, set()).add(f)
        if not evs or seq > evs[-1][0]:
            evs.append((seq, at, is_add))

    def _details_event(self, at: int, f: int, t: int) -> None:
        """Record a details entry's time (not when it came with the pair's addition, in one call)."""
        if self._added_birth.get((f, t)) == at:
            return
        key = (f << 32) | t
        if at > self._details_changed.get(key, _NEVER):
            self._details_changed[key] = at

    def _in_base(self, f: int, t: int) -> bool:
        assert self._out is not None
        return t in self._out.neighbours(f)

    def _add(self, f: int, t: int) -> None:
        if (f, t) in self._removed:
            self._removed.discard((f, t))
            if self._in_base(f, t):
                return
        self._added_out.setdefault(f, set()).add(t)
        self._added_in.setdefault(t, set()).add(f)
        self._overlay += 1

    def _remove(self, f: int, t: int) -> None:
        outs = self._added_out.get(f)
        if outs is not None and t in outs:
            outs.discard(t)
            self._added_in.get(t, set()).discard(f)
        if self._in_base(f, t):
            self._removed.add((f, t))
        self._overlay += 1

    # -- reading ------------------------------------------------------------------------------

    def is_deleted(self, pk: int) -> bool:
        return pk in self._deleted

    @property
    def deleted(self) -> set[int]:
        """The soft-deleted assets (the live set: test membership, do not keep or change it)."""
        return self._deleted

    def downstream(self, pk: int) -> list[int]:
        base = self._out.neighbours(pk) if self._out is not None else []
        if self._removed or self._added_out:
            return self._patch(pk, base, self._added_out, outgoing=True)
        return base

    def upstream(self, pk: int) -> list[int]:
        base = self._in.neighbours(pk) if self._in is not None else []
        if self._removed or self._added_in:
            return self._patch(pk, base, self._added_in, outgoing=False)
        return base

    def _patch(self, pk: int, base: list[int], added: dict[int, set[int]], *, outgoing: bool) -> list[int]:
        """The base neighbours with the overlay applied: removed pairs out, added pairs in."""
        if self._removed:
            if outgoing:
                base = [n for n in base if (pk, n) not in self._removed]
            else:
                base = [n for n in base if (n, pk) not in self._removed]
        extra = added.get(pk)
        if extra:
            # list() copies the set in one step, so a catch-up in another thread cannot change it
            # under the loop; a set makes the check linear for hubs with many added neighbours
            have = set(base)
            base = base + [n for n in list(extra) if n not in have]
        return base

    # -- reading as of a past instant (the temporal part) ----------------------------------------

    def downstream_at(self, pk: int, at: int) -> list[int]:
        """Downstream neighbours of `pk` as of `at` (epoch ms), in no particular order."""
        return self._neighbours_at(pk, at, outgoing=True)

    def upstream_at(self, pk: int, at: int) -> list[int]:
        return self._neighbours_at(pk, at, outgoing=False)

    def _neighbours_at(self, pk: int, at: int, *, outgoing: bool) -> list[int]:
        csr = self._out if outgoing else self._in
        res = csr.neighbours_at(pk, at) if csr is not None else []
        evs = (self._ev_out if outgoing else self._ev_in).get(pk)
        others: set[int] = set()
        if evs:
            others = set(list(evs))  # copied in one step (a catch-up may add to it)
            res = [n for n in res if n not in others]
            for n in others:
                if self._exists_at((pk, n) if outgoing else (n, pk), at):
                    res.append(n)
        extra = (self._added_out if outgoing else self._added_in).get(pk)
        if extra:
            have = set(res)
            births = self._added_birth
            for n in list(extra):
                if n in have or n in others:
                    continue
                birth = births.get((pk, n) if outgoing else (n, pk))
                if birth is not None and birth <= at:
                    res.append(n)
                    have.add(n)
        return res

    def _exists_at(self, pair: Pair, at: int) -> bool:
        """The pair's last edge entry at or before `at`, in seq order, is an add."""
        state = False
        for _, when, is_add in list(self._events.get(pair, ())):
            if when <= at:
                state = is_add
        return state

    def changed_after(self, pairs: Iterable[Pair], at: int) -> set[Pair]:
        """The pairs (found on the graph as of `at`) whose details may differ from the current ones:
        their details were put or removed after `at`, or they were removed or added after `at`
        (which only pairs with an edge history can be, having existed at `at`). The others still
        have the details they had then. Needs the temporal part."""
        changed = self._details_changed
        events = self._events
        out: set[Pair] = set()
        for pair in pairs:
            when = changed.get((pair[0] << 32) | pair[1])
            if when is not None and when > at:
                out.add(pair)
                continue
            evs = events.get(pair)
            if evs and any(w > at for _, w, _ in list(evs)):
                out.add(pair)
        return out

    def deleted_at(self, pk: int, at: int) -> bool:
        """Whether `pk` was soft-deleted at `at`: its last asset entry at or before then is a delete
        (an asset without any is taken as it is now)."""
        evs = self._asset_events.get(pk)
        if evs is None:
            return pk in self._deleted
        state = False
        for _, when, is_delete in list(evs):
            if when <= at:
                state = is_delete
        return state

    def stats(self) -> dict[str, int]:
        edges = len(self._out.indices) if self._out is not None else 0
        return {
            "base_edges": edges,
            "overlay": self._overlay,
            "deleted": len(self._deleted),
            "seq": self._seq,
            "history_pairs": len(self._events),
            "history_assets": len(self._asset_events),
            "details_changed": len(self._details_changed),
        }


def neighbours_many(index: GraphIndex, pks: Iterable[int], *, upstream: bool) -> dict[int, list[int]]:
    return {pk: (index.upstream(pk) if upstream else index.downstream(pk)) for pk in pks}
