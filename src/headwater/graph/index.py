"""An in-memory adjacency index of the lineage graph, kept fresh from the store's lineage log.

A recursive SQL CTE is about 10x slower than a plain in-memory BFS, so traversals run here. The
index holds the bulk of the graph in compact CSR arrays (numpy, about 16 bytes per edge for both
directions) plus small Python overlays for changes since the last rebuild. Before each read it
applies the log entries written since it last looked, so several server processes on one
PostgreSQL database all see every write.
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

log = logging.getLogger("headwater.graph")

_EDGE_KINDS = ("edge_add", "edge_remove", "asset_delete", "asset_restore", "asset_purge")
REBUILD_AFTER = 200_000  # overlay entries before the CSR arrays are rebuilt


class _Csr:
    """Compressed sparse rows: neighbours of node n are indices[indptr[n]:indptr[n+1]].

    Built with numpy, kept as `array.array`s (same bytes): reading one element or slice of those
    gives Python ints directly, a third faster per lookup than numpy scalars.
    """

    __slots__ = ("indices", "indptr", "size")

    def __init__(self, src: npt.NDArray[np.int64], dst: npt.NDArray[np.int64], size: int) -> None:
        order = np.argsort(src, kind="stable")
        self.indices = array("i", dst[order].astype(np.int32).tobytes())
        indptr = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=size), out=indptr[1:])
        self.indptr = array("q", indptr.tobytes())
        self.size = size

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

    def __init__(self, store: Store, *, freshness_check_interval: float = 0.0) -> None:
        self.store = store
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

    # -- building and refreshing ------------------------------------------------------------

    def rebuild(self) -> None:
        """Load every pair from the store into fresh CSR arrays."""
        seq = self.store.max_log_seq()
        src, dst = self.store.edge_pair_arrays()
        size = int(max(src.max(initial=0), dst.max(initial=0))) + 1
        out_csr = _Csr(src, dst, size)
        in_csr = _Csr(dst, src, size)
        deleted = self.store.deleted_pks()
        with self._lock:
            self._out, self._in = out_csr, in_csr
            self._added_out, self._added_in, self._removed = {}, {}, set()
            self._deleted = deleted
            self._overlay = 0
            self._seq = seq
            self._token = None  # the next refresh reads the log once more
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
                entries = self.store.log_since(self._seq, _EDGE_KINDS)
                if not entries:
                    # skip past non-edge entries so the next freshness check is cheap
                    self._seq = max(self._seq, head)
                    return
                for e in entries:
                    if e.kind == "edge_add" and e.to_pk is not None:
                        self._add(e.from_pk, e.to_pk)
                    elif e.kind == "edge_remove" and e.to_pk is not None:
                        self._remove(e.from_pk, e.to_pk)
                    elif e.kind == "asset_delete":
                        self._deleted.add(e.from_pk)
                    elif e.kind in ("asset_restore", "asset_purge"):
                        self._deleted.discard(e.from_pk)
                    self._seq = e.seq

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

    def stats(self) -> dict[str, int]:
        edges = len(self._out.indices) if self._out is not None else 0
        return {
            "base_edges": edges,
            "overlay": self._overlay,
            "deleted": len(self._deleted),
            "seq": self._seq,
        }


def neighbours_many(index: GraphIndex, pks: Iterable[int], *, upstream: bool) -> dict[int, list[int]]:
    return {pk: (index.upstream(pk) if upstream else index.downstream(pk)) for pk in pks}
