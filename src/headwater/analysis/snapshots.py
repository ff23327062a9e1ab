"""Checkpoints of the lineage edge set, so an as-of read far back replays only a little of the log.

A snapshot at log position `seq` is the set of connected pairs and of soft-deleted assets after
applying every `lineage_log` entry up to `seq`, stored in `lineage_snapshots` as sorted int64 pair
keys (`from_pk << 32 | to_pk`) and a pk array, compressed (about 3-4 bytes per edge). `max_at` is
the newest `at` among those entries: the snapshot is the right start for any instant >= max_at.

Snapshots are made

* in the background by the server (`SnapshotKeeper`): at the log head, once `every` entries were
  written since the newest one (built from that one plus the log since, not from scratch);
* on demand by the first read further back than any suitable one, on a grid of `every` entries
  (so instants near each other share one), built from the nearest earlier snapshot.

A read at T then loads the snapshot (its CSR arrays are kept in a small in-memory LRU) and replays
the at most `every` log entries between it and T onto an overlay (`SnapshotIndex`).
"""

from __future__ import annotations

import io
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from headwater.analysis.locks import cluster_lock
from headwater.store import Store, now_ms
from headwater.store import schema as s

log = logging.getLogger("headwater.snapshots")

SNAPSHOT_EVERY = 100_000  # log entries between snapshots (and the most a read replays from one)
PG_SLACK = 10_000  # PostgreSQL: entries past T's position still checked for `at <= T` (see below)
LRU_SIZE = 3  # loaded snapshots kept in memory (a 3M-edge graph takes about 70 MB)
SNAPSHOT_LOCK = 727_276  # advisory lock key: one snapshot builder at a time per database

_ADD, _REMOVE, _DELETE, _RESTORE, _PURGE = 1, 2, 3, 4, 5
_KIND_SQL = (
    "CASE kind WHEN 'edge_add' THEN 1 WHEN 'edge_remove' THEN 2 WHEN 'asset_delete' THEN 3 "
    "WHEN 'asset_restore' THEN 4 WHEN 'asset_purge' THEN 5 ELSE 0 END"
)
_KINDS_IN = "('edge_add','edge_remove','asset_delete','asset_restore','asset_purge')"
Int64s = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SnapshotInfo:
    id: int
    seq: int
    max_at: int
    edges: int


@dataclass
class Snapshot:
    """A loaded snapshot: sorted pair keys and the deleted assets."""

    info: SnapshotInfo
    keys: Int64s
    deleted: frozenset[int]


EMPTY = Snapshot(SnapshotInfo(0, 0, -(2**62), 0), np.zeros(0, dtype=np.int64), frozenset())


def _pack(keys: Int64s, deleted: frozenset[int]) -> bytes:
    """Sorted keys stored as gaps (small numbers compress well), deleted pks as an array."""
    buf = io.BytesIO()
    gaps = np.diff(keys, prepend=np.int64(0)) if len(keys) else keys
    np.savez_compressed(buf, gaps=gaps, deleted=np.array(sorted(deleted), dtype=np.int64))
    return buf.getvalue()


def _unpack(data: bytes) -> tuple[Int64s, frozenset[int]]:
    with np.load(io.BytesIO(data)) as npz:
        keys = np.cumsum(npz["gaps"], dtype=np.int64)
        deleted = frozenset(int(x) for x in npz["deleted"])
    return keys, deleted


def list_snapshots(store: Store) -> list[SnapshotInfo]:
    t = s.lineage_snapshots
    with store.read() as conn:
        rows = conn.execute(select(t.c.id, t.c.seq, t.c.max_at, t.c.edges).order_by(t.c.seq)).all()
    return [SnapshotInfo(r.id, r.seq, r.max_at, r.edges) for r in rows]


def _best(snaps: Sequence[SnapshotInfo], seq: int, at: int | None) -> SnapshotInfo | None:
    """The newest snapshot at or before `seq` (and, given `at`, made only of entries up to `at`)."""
    best = None
    for info in snaps:
        if info.seq <= seq and (at is None or info.max_at <= at):
            best = info
    return best


_LOADED: OrderedDict[tuple[str, int], Snapshot] = OrderedDict()
_LOADED_LOCK = threading.Lock()


def load(store: Store, info: SnapshotInfo) -> Snapshot:
    """A snapshot's arrays, from the in-memory LRU or the database."""
    if info.id == 0:
        return EMPTY
    key = (store.url, info.id)
    with _LOADED_LOCK:
        hit = _LOADED.get(key)
        if hit is not None:
            _LOADED.move_to_end(key)
            return hit
    with store.read() as conn:
        data = conn.execute(
            select(s.lineage_snapshots.c.data).where(s.lineage_snapshots.c.id == info.id)
        ).scalar_one()
    keys, deleted = _unpack(bytes(data))
    snap = Snapshot(info, keys, deleted)
    _remember(store, snap)
    return snap


def _remember(store: Store, snap: Snapshot) -> None:
    with _LOADED_LOCK:
        _LOADED[(store.url, snap.info.id)] = snap
        while len(_LOADED) > LRU_SIZE:
            _LOADED.popitem(last=False)


def read_entries(
    store: Store, after: int, upto: int, at: int | None = None, batch: int = 200_000
) -> tuple[Int64s, npt.NDArray[np.int8], dict[int, int], int]:
    """Edge and asset entries with seq in (after, upto] (and `at <= at`), in seq order.

    Returns pair keys and codes (add/remove) of the edge entries, the last asset code per pk, and
    the newest `at` seen. Read on the driver's cursor as plain tuples: replays run to millions.
    """
    where = f"seq > {int(after)} AND seq <= {int(upto)} AND kind IN {_KINDS_IN}"
    if at is not None:
        where += f" AND at <= {int(at)}"
    sql = f"SELECT {_KIND_SQL}, from_pk, coalesce(to_pk, 0), at FROM lineage_log WHERE {where} ORDER BY seq"
    keys: list[Int64s] = []
    codes: list[npt.NDArray[np.int8]] = []
    assets: dict[int, int] = {}
    max_at = -(2**62)
    with store.read() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        cur = raw.cursor(name="headwater_replay") if store.dialect == "postgresql" else raw.cursor()
        try:
            cur.execute(sql)
            while rows := cur.fetchmany(batch):
                arr = np.array(rows, dtype=np.int64)
                max_at = max(max_at, int(arr[:, 3].max()))
                code = arr[:, 0]
                edge = (code == _ADD) | (code == _REMOVE)
                keys.append((arr[edge, 1] << 32) | arr[edge, 2])
                codes.append(code[edge].astype(np.int8))
                for c, pk in arr[~edge, :2].tolist():
                    assets[pk] = c
        finally:
            cur.close()
    k = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
    c = np.concatenate(codes) if codes else np.zeros(0, dtype=np.int8)
    return k, c, assets, max_at


def last_per_key(keys: Int64s, codes: npt.NDArray[np.int8]) -> tuple[Int64s, Int64s]:
    """(added, removed): the keys whose last entry is an add, and those whose last is a remove."""
    if not len(keys):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    uniq, first_in_reversed = np.unique(keys[::-1], return_index=True)
    last = codes[::-1][first_in_reversed]
    return uniq[last == _ADD], uniq[last == _REMOVE]


def _apply_assets(deleted: frozenset[int], assets: dict[int, int]) -> frozenset[int]:
    if not assets:
        return deleted
    out = set(deleted)
    for pk, code in assets.items():
        if code == _DELETE:
            out.add(pk)
        else:
            out.discard(pk)
    return frozenset(out)


def build(store: Store, base: Snapshot, upto: int) -> Snapshot:
    """`base` with the log entries (base.seq, upto] applied, saved as a new snapshot."""
    keys, codes, assets, max_at = read_entries(store, base.info.seq, upto)
    added, removed = last_per_key(keys, codes)
    merged = np.union1d(np.setdiff1d(base.keys, removed, assume_unique=True), added)
    deleted = _apply_assets(base.deleted, assets)
    max_at = max(max_at, base.info.max_at, 0)
    data = _pack(merged, deleted)
    t = s.lineage_snapshots
    try:
        with store.write() as conn:
            new_id = conn.execute(
                t.insert()
                .values(seq=upto, max_at=max_at, created_at=now_ms(), edges=len(merged), data=data)
                .returning(t.c.id)
            ).scalar_one()
    except IntegrityError:  # another process made the same one
        with store.read() as conn:
            new_id = conn.execute(select(t.c.id).where(t.c.seq == upto)).scalar_one()
    snap = Snapshot(SnapshotInfo(int(new_id), upto, max_at, len(merged)), merged, deleted)
    _remember(store, snap)
    return snap


def snapshot_for(store: Store, target: int, at: int, every: int | None = None) -> Snapshot:
    """A snapshot to replay from for an instant `at` whose last entry is about `target`: an
    existing one at most `every` entries back, else one made now on the `every` grid."""
    every = every or SNAPSHOT_EVERY
    snaps = list_snapshots(store)
    best = _best(snaps, target, at)
    if best is not None and target - best.seq <= every:
        return load(store, best)
    grid = (target // every) * every
    base_info = _best(snaps, grid, None)
    base = load(store, base_info) if base_info is not None else EMPTY
    if grid <= base.info.seq or grid == 0:
        return load(store, best) if best is not None else EMPTY
    made = build(store, base, grid)
    if made.info.max_at > at:  # entries up to the grid point are newer than T (clock skew)
        return load(store, best) if best is not None else EMPTY
    return made


def snapshot_head(store: Store, every: int | None = None) -> SnapshotInfo | None:
    """Make a snapshot at the log head if `every` entries were written since the newest one."""
    every = every or SNAPSHOT_EVERY
    head = store.max_log_seq()
    snaps = list_snapshots(store)
    newest = snaps[-1] if snaps else None
    if head - (newest.seq if newest else 0) < every:
        return None
    base = load(store, newest) if newest is not None else EMPTY
    return build(store, base, head).info


class SnapshotIndex:
    """Neighbours and deleted state as of T: a snapshot's CSR arrays plus the replayed overlay.

    Offers what `AsOfGraph` asks of a graph index (`downstream`, `upstream`, `is_deleted`)."""

    def __init__(self, base: _SnapshotCsr, keys: Int64s, codes: npt.NDArray[np.int8], assets: dict[int, int]):
        self.base = base
        added, removed = last_per_key(keys, codes)
        have = base.contains(added)
        self._added_out: dict[int, list[int]] = {}
        self._added_in: dict[int, list[int]] = {}
        for k in added[~have].tolist():
            f, t = k >> 32, k & 0xFFFFFFFF
            self._added_out.setdefault(f, []).append(t)
            self._added_in.setdefault(t, []).append(f)
        self._removed = {(k >> 32, k & 0xFFFFFFFF) for k in removed[base.contains(removed)].tolist()}
        self._deleted = _apply_assets(base.deleted, assets)

    def is_deleted(self, pk: int) -> bool:
        return pk in self._deleted

    def downstream(self, pk: int) -> list[int]:
        out = self.base.out_neighbours(pk)
        if self._removed:
            out = [n for n in out if (pk, n) not in self._removed]
        return out + self._added_out.get(pk, [])

    def upstream(self, pk: int) -> list[int]:
        out = self.base.in_neighbours(pk)
        if self._removed:
            out = [n for n in out if (n, pk) not in self._removed]
        return out + self._added_in.get(pk, [])


class _SnapshotCsr:
    """Both-direction CSR arrays of a snapshot (kept, with the snapshot, in the LRU)."""

    def __init__(self, snap: Snapshot) -> None:
        self.keys = snap.keys
        self.deleted = snap.deleted
        src = (snap.keys >> 32).astype(np.int64)
        dst = (snap.keys & 0xFFFFFFFF).astype(np.int64)
        size = int(max(src.max(initial=0), dst.max(initial=0))) + 1
        self.size = size
        self.out_ptr, self.out_idx = _csr(src, dst, size)  # keys are sorted by src already
        self.in_ptr, self.in_idx = _csr(dst, src, size)

    def contains(self, keys: Int64s) -> npt.NDArray[np.bool_]:
        if not len(self.keys) or not len(keys):
            return np.zeros(len(keys), dtype=bool)
        pos = np.searchsorted(self.keys, keys)
        pos[pos >= len(self.keys)] = 0
        return np.asarray(self.keys[pos] == keys)

    def out_neighbours(self, pk: int) -> list[int]:
        if pk >= self.size:
            return []
        return self.out_idx[self.out_ptr[pk] : self.out_ptr[pk + 1]].tolist()

    def in_neighbours(self, pk: int) -> list[int]:
        if pk >= self.size:
            return []
        return self.in_idx[self.in_ptr[pk] : self.in_ptr[pk + 1]].tolist()


def _csr(src: Int64s, dst: Int64s, size: int) -> tuple[Any, Any]:
    from array import array

    order = np.argsort(src, kind="stable")
    indptr = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=size), out=indptr[1:])
    return array("q", indptr.tobytes()), array("i", dst[order].astype(np.int32).tobytes())


_CSRS: OrderedDict[tuple[str, int], _SnapshotCsr] = OrderedDict()


def csr_of(store: Store, snap: Snapshot) -> _SnapshotCsr:
    key = (store.url, snap.info.id)
    with _LOADED_LOCK:
        hit = _CSRS.get(key)
        if hit is not None:
            _CSRS.move_to_end(key)
            return hit
    csr = _SnapshotCsr(snap)
    with _LOADED_LOCK:
        _CSRS[key] = csr
        while len(_CSRS) > LRU_SIZE:
            _CSRS.popitem(last=False)
    return csr


def index_as_of(store: Store, at: int, first_after: int | None, every: int | None = None) -> SnapshotIndex:
    """The graph as of `at` from the nearest snapshot and the log since it.

    `first_after` is the seq of the earliest entry after `at` (None: none). On SQLite writers are
    serialised, so time order is seq order and the entries to replay end right before it. On
    PostgreSQL a writer takes its timestamp before it queues for the log, so entries up to
    `PG_SLACK` positions further are checked for `at <= T` too.
    """
    head = store.max_log_seq()
    target = head if first_after is None else first_after - 1
    snap = snapshot_for(store, target, at, every)
    upto = target if store.dialect == "sqlite" else min(head, target + PG_SLACK)
    keys, codes, assets, _ = read_entries(store, snap.info.seq, upto, at)
    return SnapshotIndex(csr_of(store, snap), keys, codes, assets)


class SnapshotKeeper:
    """Background thread of a server: a snapshot at the log head every `every` entries.

    With several servers on one PostgreSQL an advisory lock lets one build at a time."""

    def __init__(self, store: Store, interval: float = 30.0, every: int | None = None) -> None:
        self.store = store
        self.interval = interval
        self.every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="headwater-snapshots", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def run_once(self) -> SnapshotInfo | None:
        with cluster_lock(self.store, SNAPSHOT_LOCK, wait=False) as got:
            if not got:
                return None
            return snapshot_head(self.store, self.every)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                made = self.run_once()
                if made is not None:
                    log.info("lineage snapshot at log seq %d (%d edges)", made.seq, made.edges)
            except Exception:  # keep the server up; the next round retries
                log.exception("lineage snapshot failed")
