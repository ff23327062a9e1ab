"""OpenLineage events → model changes (pipelines, runs, assets, edges, column mappings).

Two steps, so a 2xx can mean "durably stored" while translation runs just after:

1. :meth:`Translator.append_raw` / :meth:`Translator.append_groups` write events to the
   store's ``raw_events`` log as received (deduplicated by a hash of those bytes), many
   requests in one transaction.
2. :meth:`Translator.process_pending` translates unprocessed rows in batches, each batch
   in the same transaction that marks its rows processed, so a crash in between only
   means the batch is translated again — and translation is idempotent.

Every rule is a commutative merge so that out-of-order and repeated delivery give the
result of one in-order delivery: run states are a set and the current state is derived
from it (terminal states win, then the latest event time); run inputs/outputs are a
union; edges carry the union of column mappings and pipelines; facets kept per key are
the ones with the latest event time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import or_, select, update
from sqlalchemy.engine import Connection

from headwater.identity.fqn import quote_name
from headwater.model.assets import AssetInput, ColumnInput
from headwater.model.lineage import LineageDetails
from headwater.model.types import AssetType, LineageSource
from headwater.openlineage import tables as olt
from headwater.openlineage.events import (
    TERMINAL_STATES,
    AcceptedEvent,
    Dataset,
    EventType,
    EventValidationError,
    Job,
    OpenLineageEvent,
    facet,
    parse_event,
)
from headwater.openlineage.naming import DatasetName, canonical, dataset_identity
from headwater.store import EdgeWrite, Store, now_ms
from headwater.store import schema as s
from headwater.store.store import _gc_paused, is_race

log = logging.getLogger(__name__)

RAW_KIND_PREFIX = "openlineage:"
# Events sent to Atlan's path (transport `http:atlan:{connector}`) are first projected into
# Atlan assets under the connection their job names (headwater.atlan.openlineage); the
# projector then maps each dataset's (namespace, name) to that asset in `ol_datasets`, so
# translation, which waits for the projector's cursor, finds the same asset instead of
# creating a second one. A row the projector has not reached after this long is translated
# anyway (no Atlan API mounted, projector stopped): lineage late is better than none.
ATLAN_TRANSPORT_PREFIX = "http:atlan:"
ATLAN_PROJECTION_CURSOR = "atlan.openlineage.seq"
ATLAN_PROJECTION_WAIT_MS = 30_000
_STATE_PRIORITY = {"OTHER": 0, "START": 1, "RUNNING": 2, "COMPLETE": 3, "ABORT": 4, "FAIL": 5}
# run facets too large or too noisy to keep on the run row (the raw event keeps them)
_SKIP_RUN_FACETS = frozenset({"spark.logicalPlan", "spark_unknown", "debug", "spark_properties"})
_KEEP_JOB_FACETS = ("jobType", "sql", "documentation", "sourceCodeLocation", "ownership", "tags")
HANDOFF_LIMIT = 4096  # payloads kept for the translator (bytes as received)


def ms(dt: Any) -> int:
    return int(dt.timestamp() * 1000)


def canonical_json(raw: Any) -> str:
    """Sorted-key compact JSON: the form compared for changes."""
    try:
        return orjson.dumps(raw, option=orjson.OPT_SORT_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):  # e.g. integers beyond 64 bits
        return json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        # the ingest fast path validates JSON with another decoder; if the two ever
        # disagree on an edge case (e.g. lone surrogates), the standard library decides
        return json.loads(text)


# raw events appended per INSERT statement (SQLite allows 32,766 bound values; a row has 5)
RAW_ROWS_PER_STATEMENT = 500
# hashlib gives up the GIL while hashing this many bytes or more (HASHLIB_GIL_MINSIZE)
_HASH_CHUNK = 2047


def dedup_key(payload: str | bytes) -> str:
    """Key of a stored payload: a retried request or a redelivered message (the same bytes)
    is stored once, so at-least-once delivery leaves one row.

    The digest is fed in chunks below hashlib's GIL threshold: the group-commit writer hashes
    every event, and each release of the GIL cost it a wait behind the event loop to take it
    back (a Spark-sized event is ~10 KB; hashing it keeping the GIL costs ~1 µs more)."""
    data = payload.encode() if isinstance(payload, str) else payload
    if len(data) <= _HASH_CHUNK:
        return hashlib.sha256(data).hexdigest()
    digest = hashlib.sha256()
    view = memoryview(data)
    for i in range(0, len(data), _HASH_CHUNK):
        digest.update(view[i : i + _HASH_CHUNK])
    return digest.hexdigest()


def raw_payload(ev: OpenLineageEvent | AcceptedEvent) -> bytes:
    """The bytes stored for an event: as received when known, else its compact JSON."""
    payload = getattr(ev, "payload", None)
    if payload is not None:
        return bytes(payload)
    raw = ev.decoded() if isinstance(ev, AcceptedEvent) else ev.raw
    try:
        return orjson.dumps(raw)
    except (TypeError, orjson.JSONEncodeError):  # e.g. integers beyond 64 bits
        return json.dumps(raw, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def _q(name: str) -> str:
    """Quote one FQN part, tolerating characters OpenMetadata forbids in names."""
    return quote_name(name.replace('"', "'") or "_")


def pipeline_fqn(namespace: str, name: str) -> str:
    """Pipelines live under a pipeline service named after the job namespace."""
    return f"{_q(namespace)}.{_q(name)}"


def insert_ignore(conn: Connection, table: Any, rows: list[dict[str, Any]], keys: Sequence[str]) -> None:
    """``INSERT … ON CONFLICT DO NOTHING`` for SQLite and PostgreSQL."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        conn.execute(pg_insert(table).on_conflict_do_nothing(index_elements=list(keys)), rows)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        conn.execute(sqlite_insert(table).on_conflict_do_nothing(index_elements=list(keys)), rows)


def _upsert_min_time(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """run_datasets rows: insert, or keep the earliest event time seen for that key."""
    if not rows:
        return
    keys = ["run_id", "asset_pk", "direction"]
    if conn.dialect.name == "postgresql":
        from sqlalchemy import func
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg = pg_insert(s.run_datasets)
        stmt: Any = pg.on_conflict_do_update(
            index_elements=keys,
            set_={"event_time": func.least(s.run_datasets.c.event_time, pg.excluded.event_time)},
        )
    else:
        from sqlalchemy import func
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite = sqlite_insert(s.run_datasets)
        stmt = lite.on_conflict_do_update(
            index_elements=keys,
            set_={"event_time": func.min(s.run_datasets.c.event_time, lite.excluded.event_time)},
        )
    conn.execute(stmt, rows)


@dataclass(slots=True)
class _Resolved:
    pk: int
    fqn: str


@dataclass(slots=True)
class _RunWork:
    """What one batch learned about one run."""

    job_pk: int
    states: set[tuple[str, int]] = field(default_factory=set)
    inputs: dict[int, int] = field(default_factory=dict)  # asset pk -> earliest event time
    outputs: dict[int, int] = field(default_factory=dict)
    facets: dict[str, tuple[int, Any]] = field(default_factory=dict)
    # (in pk, out pk) -> column mappings contributed by this batch
    columns: dict[tuple[int, int], list[dict[str, Any]]] = field(default_factory=dict)
    dataset_columns: dict[tuple[int, int], list[dict[str, Any]]] = field(default_factory=dict)
    cll_keys: dict[int, set[str]] = field(default_factory=dict)  # output pk -> hashes of its facets
    job: Job | None = None
    # the run came on Atlan's path and its lineage is the projected Process's: no edges here
    projected: bool = False


class Translator:
    """Turns OpenLineage events into catalog and lineage changes in one store.

    ``namespace_services`` maps a dataset namespace (or a prefix of it) to an existing
    database/messaging service name, as OpenMetadata's ``namespaceToServiceMapping``.
    """

    def __init__(self, store: Store, *, namespace_services: dict[str, str] | None = None) -> None:
        self.store = store
        self.namespace_services = dict(namespace_services or {})
        self._datasets: dict[tuple[str, str], _Resolved] = {}
        self._pipelines: dict[tuple[str, str], tuple[int, str, str]] = {}  # -> pk, fqn, attrs signature
        self._schemas: dict[int, str] = {}  # asset pk -> last schema signature applied
        self._applied: set[tuple[tuple[int, int], Any]] = set()  # (edge, contribution) merged
        self._cll_cache: dict[tuple[int, str], Any] = {}  # (output pk, facet digest) -> mappings
        # dedup key -> the payload of an event this process just stored: the translator takes
        # it from here instead of reading it back (the log stays the truth; rows missing here,
        # e.g. after a restart or from another process, are read). Bytes, not decoded JSON:
        # thousands of decoded events (~500 objects each) made every full garbage collection
        # of the API process walk millions of objects, a cost paid on the request path.
        self._handoff: dict[str, bytes] = {}
        self._handoff_lock = threading.Lock()

    # ------------------------------------------------------------------ raw log

    def append_raw(
        self,
        events: Sequence[OpenLineageEvent | AcceptedEvent],
        transport: str,
        conn: Connection | None = None,
    ) -> int:
        """Durably append events to ``raw_events``; duplicates are dropped. Returns rows added."""
        if conn is not None:
            return self.append_groups(conn, [(events, transport)])[0]
        with self.store.write() as c:
            return self.append_groups(c, [(events, transport)])[0]

    def append_groups(
        self, conn: Connection, groups: Sequence[tuple[Sequence[OpenLineageEvent | AcceptedEvent], str]]
    ) -> list[int]:
        """Append the events of several requests in one statement per 500 rows (group commit:
        the caller commits once). Returns, per group, how many of its events were new.

        The payload is stored as received (:class:`AcceptedEvent`); the dedup key is a hash
        of those bytes, so a retried request or a redelivered message is stored once."""
        ts = now_ms()
        rows: list[tuple[Any, ...]] = []
        owner: dict[str, int] = {}  # dedup key -> index of the group that brought it first
        payloads: dict[str, bytes] = {}
        for g, (events, transport) in enumerate(groups):
            tp = transport[:40]
            for ev in events:
                payload = raw_payload(ev)
                key = dedup_key(payload)
                if key in owner:
                    continue
                owner[key] = g
                payloads[key] = payload
                rows.append((ts, RAW_KIND_PREFIX + ev.kind, tp, key, payload.decode()))
        added_by = [0] * len(groups)
        if not rows:
            return added_by
        pg = conn.dialect.name == "postgresql"
        mark = "%s" if pg else "?"
        head = (
            "INSERT INTO" if pg else "INSERT OR IGNORE INTO"
        ) + " raw_events (received_at, kind, transport, dedup_key, payload) VALUES "
        tail = " ON CONFLICT (dedup_key) DO NOTHING RETURNING dedup_key" if pg else ""
        one = "(" + ",".join([mark] * 5) + ")"
        fresh: list[str] = []
        for i in range(0, len(rows), RAW_ROWS_PER_STATEMENT):
            chunk = rows[i : i + RAW_ROWS_PER_STATEMENT]
            # one multi-row statement, not executemany: one round trip (and, on SQLite, one
            # release of the GIL instead of one per row, each waiting to be taken back)
            sql, params = head + ",".join([one] * len(chunk)) + tail, tuple(v for r in chunk for v in r)
            if pg:  # the keys actually inserted (a duplicate of a stored event is skipped)
                fresh.extend(conn.exec_driver_sql(sql, params).scalars())
            else:
                fresh.extend(self._insert_sqlite(conn, sql, params, [r[3] for r in chunk]))
        for key in fresh:
            added_by[owner[key]] += 1
        with self._handoff_lock:
            # a rolled-back insert leaves an entry no row will claim: the oldest go first
            overflow = len(self._handoff) + len(fresh) - HANDOFF_LIMIT
            if overflow > 0:
                for key in list(self._handoff)[:overflow]:
                    del self._handoff[key]
            for key in fresh[:HANDOFF_LIMIT]:
                self._handoff[key] = payloads[key]
        return added_by

    @staticmethod
    def _pending_stmt(conn: Connection, limit: int) -> Any:
        """The oldest ``limit`` untranslated OpenLineage rows (Atlan-path rows once the Atlan
        projector has passed them, or after a while)."""
        projected = conn.execute(
            select(s.settings.c.value).where(s.settings.c.key == ATLAN_PROJECTION_CURSOR)
        ).scalar()
        return (
            select(
                s.raw_events.c.seq, s.raw_events.c.dedup_key, s.raw_events.c.kind, s.raw_events.c.transport
            )
            .where(
                s.raw_events.c.processed_at.is_(None),
                s.raw_events.c.kind.like(RAW_KIND_PREFIX + "%"),
                or_(
                    ~s.raw_events.c.transport.like(ATLAN_TRANSPORT_PREFIX + "%"),
                    s.raw_events.c.seq <= int(projected or 0),
                    s.raw_events.c.received_at < now_ms() - ATLAN_PROJECTION_WAIT_MS,
                ),
            )
            .order_by(s.raw_events.c.seq)
            .limit(limit)
        )

    @staticmethod
    def _insert_sqlite(conn: Connection, sql: str, params: tuple[Any, ...], keys: list[str]) -> list[str]:
        """Run one multi-row ``INSERT OR IGNORE`` into raw_events; return the keys inserted.

        Not with ``RETURNING``: each returned row is a step of the statement, and each step
        releases the GIL and waits to take it back behind the event loop (one wait per event
        of a group commit). The connection's change counter says how many rows went in; when
        that is all of them (the usual case) the keys are known, otherwise the new rows are
        the ones with the last ``added`` seqs up to the statement's last row id."""
        dbapi: Any = conn.connection.driver_connection
        before = dbapi.total_changes
        if conn.get_execution_options().get("headwater_autocommit"):
            # Store.write_one_statement: the statement commits itself (one call into SQLite)
            last = dbapi.execute(sql, params).lastrowid
        else:
            last = conn.exec_driver_sql(sql, params).lastrowid
        added = dbapi.total_changes - before
        if added == len(keys):
            return keys
        if added == 0:
            return []
        # one statement's rows get consecutive seqs; a later insert gets higher ones
        rows = dbapi.execute(
            "SELECT dedup_key FROM raw_events WHERE seq > ? AND seq <= ?", (last - added, last)
        ).fetchall()
        return [r[0] for r in rows]

    def process_pending(self, limit: int = 500) -> int:
        """Translate up to ``limit`` unprocessed raw events (oldest first). Returns how many."""
        # a batch decodes hundreds of events (~500 JSON objects each) that all stay alive until
        # it is written: with the cyclic collector on, they triggered collection after
        # collection of the whole growing batch (measured: 2/3 of the translator's CPU)
        with _gc_paused():
            return self._process_pending(limit)

    def _process_pending(self, limit: int) -> int:
        # On SQLite the batch is picked and decoded before the write transaction: that is a
        # process-wide lock, and every ingest request waits behind it (decoding and checking
        # a Spark-sized event is about a quarter of translating it); inside, only rows still pending
        # are kept. PostgreSQL has no such lock: rows are picked and locked in the transaction
        # (SKIP LOCKED, so several translators share the work), as before.
        picked = None
        if self.store.dialect == "sqlite":
            with self.store.read() as conn:
                rows = conn.execute(self._pending_stmt(conn, limit)).all()
                if not rows:
                    return 0
                parsed, bad = self._decode(conn, rows)
            picked = rows
        with self.store.write() as conn:
            if picked is None:
                stmt = self._pending_stmt(conn, limit)
                if conn.dialect.name == "postgresql":
                    stmt = stmt.with_for_update(skip_locked=True)
                rows = conn.execute(stmt).all()
                if not rows:
                    return 0
                parsed, bad = self._decode(conn, rows)
            else:
                seqs = [r.seq for r in picked]
                still = set(
                    conn.execute(
                        select(s.raw_events.c.seq).where(
                            s.raw_events.c.seq.in_(seqs), s.raw_events.c.processed_at.is_(None)
                        )
                    ).scalars()
                )
                rows = [r for r in picked if r.seq in still]
                if not rows:
                    return 0
                bad = {seq: err for seq, err in bad.items() if seq in still}
            events: list[OpenLineageEvent] = []
            atlan_events: list[OpenLineageEvent] = []
            for row in rows:
                ev = parsed.get(row.seq)
                if ev is None:
                    continue
                events.append(ev)
                if row.transport.startswith(ATLAN_TRANSPORT_PREFIX):
                    atlan_events.append(ev)
            projected = self._projected_runs(conn, atlan_events)
            try:
                self._translate_racing(conn, events, projected)
            except Exception:
                log.exception("OpenLineage batch translation failed; retrying event by event")
                self._reset_caches()
                payloads = self._payloads(conn, [r.seq for r in rows if r.seq not in bad])
                for row in rows:
                    if row.seq in bad:
                        continue
                    try:
                        with conn.begin_nested():
                            self.translate(conn, [parse_event(loads(payloads[row.seq]))], projected)
                    except Exception as exc:
                        self._reset_caches()
                        log.exception("OpenLineage event %s could not be translated", row.seq)
                        bad[row.seq] = f"{type(exc).__name__}: {exc}"
            ts = now_ms()
            seqs = [r.seq for r in rows]
            for i in range(0, len(seqs), 500):
                conn.execute(
                    update(s.raw_events)
                    .where(s.raw_events.c.seq.in_(seqs[i : i + 500]))
                    .values(processed_at=ts)
                )
            for seq, err in bad.items():
                conn.execute(update(s.raw_events).where(s.raw_events.c.seq == seq).values(error=err[:2000]))
        return len(rows)

    def _decode(
        self, conn: Connection, rows: Sequence[Any]
    ) -> tuple[dict[int, OpenLineageEvent], dict[int, str]]:
        """The events of ``rows`` (payloads handed over in memory, else read), and why the
        others could not be parsed. Standard facets are checked here, not when the event was
        accepted: a malformed one is dropped with a warning (logged now)."""
        with self._handoff_lock:
            known = {r.seq: self._handoff.pop(r.dedup_key, None) for r in rows}
        payloads = self._payloads(conn, [seq for seq, data in known.items() if data is None])
        parsed: dict[int, OpenLineageEvent] = {}
        bad: dict[int, str] = {}
        for row in rows:
            try:
                data = known[row.seq]
                parsed[row.seq] = parse_event(loads(data if data is not None else payloads[row.seq]))
            except (EventValidationError, ValueError, KeyError) as exc:
                bad[row.seq] = str(exc)
        return parsed, bad

    @staticmethod
    def _projected_runs(conn: Connection, events: list[OpenLineageEvent]) -> frozenset[str]:
        """Runs of Atlan-path events whose job namespace names a Connection: the Atlan projector
        made their Process (and its edges) already, so translation keeps only the run."""
        namespaces = {ev.job.namespace for ev in events if ev.job is not None and ev.run is not None}
        if not namespaces:
            return frozenset()
        connections = set(
            conn.execute(
                select(s.assets.c.name).where(
                    s.assets.c.type == AssetType.CONNECTION.value,
                    s.assets.c.name.in_(namespaces),
                    s.assets.c.deleted.is_(False),
                )
            ).scalars()
        )
        return frozenset(
            str(ev.run.run_id)
            for ev in events
            if ev.job is not None and ev.run is not None and ev.job.namespace in connections
        )

    def _translate_racing(
        self,
        conn: Connection,
        events: list[OpenLineageEvent],
        projected: frozenset[str] = frozenset(),
        attempts: int = 8,
    ) -> None:
        """Translate in a savepoint, again when a concurrent writer won a race.

        Several processes translate on one PostgreSQL (servers, Kafka consumers of one group):
        two batches naming the same new dataset or edge hit a unique violation or a deadlock.
        The loser rolls back its savepoint and retries, now seeing the winner's rows; falling
        back to event by event would fail the same way and mark good events as errors."""
        for attempt in range(attempts):
            try:
                with conn.begin_nested():
                    self.translate(conn, events, projected)
                return
            except Exception as exc:
                if attempt == attempts - 1 or not is_race(exc):
                    raise
                self._reset_caches()
                time.sleep(0.01 * (2**attempt) * (1 + random.random()))

    @staticmethod
    def _payloads(conn: Connection, seqs: list[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        for i in range(0, len(seqs), 500):
            for r in conn.execute(
                select(s.raw_events.c.seq, s.raw_events.c.payload).where(
                    s.raw_events.c.seq.in_(seqs[i : i + 500])
                )
            ):
                out[r.seq] = r.payload
        return out

    def drain(self, batch: int = 500) -> int:
        """Translate everything pending (startup recovery, tests, one-shot runs)."""
        total = 0
        while True:
            n = self.process_pending(batch)
            total += n
            if n == 0:
                return total

    def _reset_caches(self) -> None:
        """Caches may name rows of a rolled-back savepoint: forget them."""
        self._datasets.clear()
        self._pipelines.clear()
        self._schemas.clear()
        self._applied.clear()
        self._cll_cache.clear()

    # ------------------------------------------------------------------ translation

    def translate(
        self, conn: Connection, events: Sequence[OpenLineageEvent], projected: frozenset[str] = frozenset()
    ) -> None:
        """Apply a batch of validated events inside ``conn``'s transaction.

        Runs named in ``projected`` get their run record, state history and datasets, but no
        edges: their lineage is the Atlan Process projected from the same events."""
        if not events:
            return
        self._datasets_of_batch(conn, events)
        runs: dict[str, _RunWork] = {}
        facet_updates: dict[int, tuple[str, Dataset]] = {}
        for ev in events:
            t = ms(ev.event_time)
            if ev.kind == "DatasetEvent" and ev.dataset is not None:
                self._note_dataset_facets(facet_updates, ev.dataset, t)
                continue
            if ev.job is None:
                continue
            job_pk = self._pipeline(conn, ev.job, t, ev)
            for ds in (*ev.inputs, *ev.outputs):
                self._note_dataset_facets(facet_updates, ds, t)
            if ev.kind == "JobEvent" or ev.run is None:
                continue
            rid = str(ev.run.run_id)
            work = runs.get(rid)
            if work is None:
                work = runs[rid] = _RunWork(job_pk=job_pk, job=ev.job, projected=rid in projected)
            work.states.add((ev.event_type.value if ev.event_type else "OTHER", t))
            for key, value in ev.run.facets.items():
                if key in _SKIP_RUN_FACETS:
                    continue
                prev = work.facets.get(key)
                if prev is None or (t, canonical_json(value)) > (prev[0], canonical_json(prev[1])):
                    work.facets[key] = (t, value)
            sql = facet(ev.job.facets, "sql")
            if sql is not None:
                prev_sql = work.facets.get("_jobSql")
                if prev_sql is None or (t, sql.query) > (prev_sql[0], prev_sql[1]):
                    work.facets["_jobSql"] = (t, sql.query)
            for ds in ev.inputs:
                pk = self._lookup(ds).pk
                work.inputs[pk] = min(t, work.inputs.get(pk, t))
            for ds in ev.outputs:
                out = self._lookup(ds)
                work.outputs[out.pk] = min(t, work.outputs.get(out.pk, t))
                self._column_lineage(ds, out, work, t)
        self._apply_dataset_facets(conn, facet_updates)
        if runs:
            self._apply_runs(conn, runs)

    # ------------------------------------------------------------------ datasets

    def _identity(self, ds: Dataset) -> DatasetName:
        return dataset_identity(ds.namespace, ds.name, ds.facets)

    def _lookup(self, ds: Dataset | tuple[str, str]) -> _Resolved:
        ident = canonical(*ds) if isinstance(ds, tuple) else canonical(ds.namespace, ds.name)
        return self._datasets[(ident.namespace, ident.name)]

    def _datasets_of_batch(self, conn: Connection, events: Sequence[OpenLineageEvent]) -> None:
        """Resolve every dataset named in the batch (I/O, column-lineage inputs, symlinks)."""
        idents: dict[tuple[str, str], DatasetName] = {}

        def add(ident: DatasetName) -> None:
            key = (ident.namespace, ident.name)
            if key not in idents:
                idents[key] = ident

        for ev in events:
            for ds in (*ev.inputs, *ev.outputs, *([ev.dataset] if ev.dataset else [])):
                add(self._identity(ds))
                cll = _cll(ds)
                if cll is not None:
                    for f in cll["fields"].values():
                        for inp in f.get("inputFields") or []:
                            add(canonical(inp["namespace"], inp["name"]))
                    for inp in cll.get("dataset") or []:
                        add(canonical(inp["namespace"], inp["name"]))
        wanted = [k for ident in idents.values() for k in ((ident.namespace, ident.name), *ident.aliases)]
        missing = [k for k in dict.fromkeys(wanted) if k not in self._datasets]
        if missing:
            found: dict[tuple[str, str], int] = {}
            # keys joined, not a row-value IN (a full table scan on SQLite)
            for row in self.store._rows_matching(
                conn,
                "ol_datasets",
                ("namespace", "name"),
                missing,
                ("namespace", "name", "asset_pk"),
                key_types=("text", "text"),
            ):
                found[(row.namespace, row.name)] = row.asset_pk
            if found:
                fqns = {
                    r.pk: r.fqn
                    for r in conn.execute(
                        select(s.assets.c.pk, s.assets.c.fqn).where(s.assets.c.pk.in_(set(found.values())))
                    )
                }
                for key, pk in found.items():
                    if pk in fqns:
                        self._datasets[key] = _Resolved(pk, fqns[pk])
        new_rows: list[dict[str, Any]] = []
        ts = now_ms()
        named = self._catalog_candidates(
            conn,
            [
                ident
                for ident in idents.values()
                if not any(k in self._datasets for k in ((ident.namespace, ident.name), *ident.aliases))
            ],
        )
        pending: dict[tuple[str, str], tuple[str, str]] = {}  # dataset key -> leaf (type, fqn) to create
        to_create: dict[tuple[str, str], list[AssetInput]] = {}
        assign: list[tuple[list[tuple[str, str]], _Resolved | tuple[str, str]]] = []
        for ident in idents.values():
            keys = [(ident.namespace, ident.name), *ident.aliases]
            known: _Resolved | tuple[str, str] | None = next(
                (self._datasets[k] for k in keys if k in self._datasets), None
            ) or next((pending[k] for k in keys if k in pending), None)
            if known is None:
                known = self._match_catalog(conn, ident, named)
            if known is None:
                items = self._partial_items(ident)
                leaf = (items[-1].type.value, items[-1].fqn)
                to_create.setdefault(leaf, items)
                known = leaf
            if isinstance(known, tuple):
                for k in keys:
                    pending.setdefault(k, known)
            assign.append((keys, known))
        created = self._create_partials(conn, list(to_create.values())) if to_create else {}
        for keys, target in assign:
            resolved = created[target] if isinstance(target, tuple) else target
            for i, k in enumerate(keys):
                if k not in self._datasets:
                    self._datasets[k] = resolved
                    new_rows.append(
                        {
                            "namespace": k[0],
                            "name": k[1],
                            "asset_pk": resolved.pk,
                            "is_primary": i == 0,
                            "created_at": ts,
                        }
                    )
        insert_ignore(conn, olt.ol_datasets, new_rows, ["namespace", "name"])

    def _service_for(self, ident: DatasetName) -> str | None:
        best: tuple[int, str] | None = None
        for prefix, service in self.namespace_services.items():
            matches = ident.namespace == prefix or ident.namespace.startswith(prefix)
            if matches and (best is None or len(prefix) > best[0]):
                best = (len(prefix), service)
        return best[1] if best else None

    def _catalog_candidates(self, conn: Connection, idents: list[DatasetName]) -> dict[str, list[Any]]:
        """Real tables and topics named like the new datasets, in one indexed query per 400."""
        names: set[str] = set()
        for ident in idents:
            base = self._table_identity(ident)
            if base.kind == "table" and base.table:
                names.add(base.table)
            elif base.kind == "topic":
                names.add(base.name)
        out: dict[str, list[Any]] = {}
        wanted = sorted(names)
        for i in range(0, len(wanted), 400):
            for r in conn.execute(
                select(s.assets.c.pk, s.assets.c.fqn, s.assets.c.name, s.assets.c.type).where(
                    s.assets.c.name.in_(wanted[i : i + 400]),
                    s.assets.c.type.in_([AssetType.TABLE.value, AssetType.TOPIC.value]),
                    s.assets.c.partial.is_(False),
                    s.assets.c.deleted.is_(False),
                )
            ):
                out.setdefault(r.name, []).append(r)
        return out

    def _match_catalog(
        self, conn: Connection, ident: DatasetName, named_rows: dict[str, list[Any]]
    ) -> _Resolved | None:
        """An existing (non-placeholder) asset this dataset names, if exactly one fits."""
        table_ident = self._table_identity(ident)
        if table_ident.kind == "table" and table_ident.table:
            parts = [p for p in (table_ident.database, table_ident.schema, table_ident.table) if p]
            service = self._service_for(table_ident)
            if service:
                fqn = ".".join(_q(p) for p in (service, *self._db_schema_table(table_ident)))
                row = conn.execute(
                    select(s.assets.c.pk, s.assets.c.fqn).where(
                        s.assets.c.type == AssetType.TABLE.value, s.assets.c.fqn == fqn
                    )
                ).first()
                if row:
                    return _Resolved(row.pk, row.fqn)
            # candidates by the indexed name column, then the FQN suffix checked here: a
            # LIKE '%suffix' would scan the whole catalog for every new dataset
            named = [r for r in named_rows.get(parts[-1], []) if r.type == AssetType.TABLE.value]
            for n in (len(parts), 2):
                if n < 2 or n > len(parts) or not named:
                    continue
                suffix = "." + ".".join(_q(p) for p in parts[-n:])
                rows = [r for r in named if r.fqn.endswith(suffix)]
                if len(rows) == 1:
                    return _Resolved(rows[0].pk, rows[0].fqn)
                if rows:
                    return None  # ambiguous: do not guess
        elif ident.kind == "topic":
            rows = [r for r in named_rows.get(ident.name, []) if r.type == AssetType.TOPIC.value]
            if len(rows) == 1:
                return _Resolved(rows[0].pk, rows[0].fqn)
        return None

    @staticmethod
    def _table_identity(ident: DatasetName) -> DatasetName:
        """A file/object dataset with a TABLE symlink (Spark on Hive) is catalogued as the table."""
        if ident.kind != "table" and ident.aliases:
            for ns, name in ident.aliases:
                alias = canonical(ns, name)
                if alias.kind == "table":
                    return alias
        return ident

    @staticmethod
    def _db_schema_table(ident: DatasetName) -> list[str]:
        if ident.database and ident.schema:
            return [ident.database, ident.schema, ident.table or ident.name]
        if ident.database:  # two-part names (mysql db.table, hive db.table)
            return ["default", ident.database, ident.table or ident.name]
        if ident.schema:
            return ["default", ident.schema, ident.table or ident.name]
        return ["default", "default", ident.table or ident.name]

    def _partial_items(self, ident: DatasetName) -> list[AssetInput]:
        """Placeholder asset (and placeholder hierarchy, parents first) for a dataset the catalog lacks."""
        base = self._table_identity(ident)
        service = self._service_for(base) or base.service
        ol_attr = {"openlineage": {"namespace": ident.namespace, "name": ident.name}}
        items: list[AssetInput] = []
        svc_attrs = {"openlineageNamespace": base.namespace}
        if base.kind == "table":
            db, schema, table = self._db_schema_table(base)
            svc_fqn = _q(service)
            items = [
                AssetInput(
                    type=AssetType.DATABASE_SERVICE,
                    fqn=svc_fqn,
                    name=service,
                    partial=True,
                    attributes=svc_attrs,
                ),
                AssetInput(type=AssetType.DATABASE, fqn=f"{svc_fqn}.{_q(db)}", name=db, partial=True),
                AssetInput(
                    type=AssetType.DATABASE_SCHEMA,
                    fqn=f"{svc_fqn}.{_q(db)}.{_q(schema)}",
                    name=schema,
                    partial=True,
                ),
                AssetInput(
                    type=AssetType.TABLE,
                    fqn=f"{svc_fqn}.{_q(db)}.{_q(schema)}.{_q(table)}",
                    name=table,
                    partial=True,
                    attributes=ol_attr,
                ),
            ]
        elif base.kind == "topic":
            items = [
                AssetInput(
                    type=AssetType.MESSAGING_SERVICE,
                    fqn=_q(service),
                    name=service,
                    partial=True,
                    attributes=svc_attrs,
                ),
                AssetInput(
                    type=AssetType.TOPIC,
                    fqn=f"{_q(service)}.{_q(base.name)}",
                    name=base.name,
                    partial=True,
                    attributes=ol_attr,
                ),
            ]
        else:
            items = [
                AssetInput(
                    type=AssetType.STORAGE_SERVICE,
                    fqn=_q(service),
                    name=service,
                    partial=True,
                    attributes=svc_attrs,
                ),
                AssetInput(
                    type=AssetType.CONTAINER,
                    fqn=f"{_q(service)}.{_q(base.name)}",
                    name=base.name,
                    partial=True,
                    attributes=ol_attr,
                ),
            ]
        return items

    def _create_partials(
        self, conn: Connection, groups: list[list[AssetInput]]
    ) -> dict[tuple[str, str], _Resolved]:
        """Create many placeholders in one upsert; existing parents are left as they are
        (a real service is never downgraded to a placeholder)."""
        parents: dict[tuple[str, str], AssetInput] = {}
        leaves: dict[tuple[str, str], AssetInput] = {}
        for items in groups:
            for item in items[:-1]:
                parents.setdefault((item.type.value, item.fqn), item)
            leaves.setdefault((items[-1].type.value, items[-1].fqn), items[-1])
        existing = {
            (r.type, r.fqn)
            for r in self.store._rows_matching(
                conn, "assets", ("type", "fqn"), list(parents), ("type", "fqn"), key_types=("text", "text")
            )
        }
        order = {
            t: n
            for n, t in enumerate(
                (
                    AssetType.DATABASE_SERVICE,
                    AssetType.MESSAGING_SERVICE,
                    AssetType.STORAGE_SERVICE,
                    AssetType.DATABASE,
                    AssetType.DATABASE_SCHEMA,
                )
            )
        }
        todo = sorted(
            (p for k, p in parents.items() if k not in existing), key=lambda a: order.get(a.type, 9)
        )
        result = self.store.upsert_assets([*todo, *leaves.values()], "openlineage", conn=conn)
        return {
            (a.type.value, a.fqn): _Resolved(a.pk, a.fqn)
            for a, _created in result
            if (a.type.value, a.fqn) in leaves
        }

    def _note_dataset_facets(self, updates: dict[int, tuple[str, Dataset]], ds: Dataset, t: int) -> None:
        """Remember the newest schema/documentation per asset in this batch (applied once)."""
        schema = ds.facets.get("schema")
        doc = ds.facets.get("documentation")
        if not isinstance(schema, dict) and not isinstance(doc, dict):
            return
        content = canonical_json(
            [
                schema.get("fields") if isinstance(schema, dict) else None,
                doc.get("description") if isinstance(doc, dict) else None,
            ]
        )
        sig = f"{t:015d}:{hashlib.sha1(content.encode()).hexdigest()}"
        pk = self._lookup(ds).pk
        prev = updates.get(pk)
        if prev is None or sig > prev[0]:
            updates[pk] = (sig, ds)

    def _apply_dataset_facets(self, conn: Connection, updates: dict[int, tuple[str, Dataset]]) -> None:
        """Columns and description of placeholder assets from the newest schema/documentation
        facets (by event time). Real catalog assets keep theirs: the catalog owns them."""
        todo: dict[int, tuple[str, Dataset]] = {}
        for pk, (sig, ds) in updates.items():
            cached = self._schemas.get(pk)
            if cached == _REAL:
                continue
            if cached is not None:
                if sig <= cached:
                    continue
                if sig[16:] == cached[16:]:  # same content, newer time: nothing to write
                    self._schemas[pk] = sig
                    continue
            todo[pk] = (sig, ds)
        if not todo:
            return
        rows = {r.pk: r for r in conn.execute(select(s.assets).where(s.assets.c.pk.in_(list(todo))))}
        parents = {
            r.pk: r.fqn
            for r in conn.execute(
                select(s.assets.c.pk, s.assets.c.fqn).where(
                    s.assets.c.pk.in_({r.parent_pk for r in rows.values() if r.parent_pk})
                )
            )
        }
        items: list[AssetInput] = []
        for pk, (sig, ds) in todo.items():
            row = rows.get(pk)
            if row is None or not row.partial:
                self._schemas[pk] = _REAL
                continue
            stored = str(json.loads(row.attributes or "{}").get("olSchemaSignature") or "")
            if stored and (sig <= stored or sig[16:] == stored[16:]):
                self._schemas[pk] = max(sig, stored)
                continue
            schema = facet(ds.facets, "schema")
            doc = facet(ds.facets, "documentation")
            items.append(
                AssetInput(
                    type=AssetType(row.type),
                    fqn=row.fqn,
                    name=row.name,
                    description=doc.description if doc is not None else None,
                    parent_fqn=parents.get(row.parent_pk),
                    attributes={"olSchemaSignature": sig},
                    columns=[self._column(f) for f in schema.fields] if schema is not None else None,
                    partial=True,
                )
            )
            self._schemas[pk] = sig
        if items:
            self.store.upsert_assets(items, "openlineage", conn=conn)

    def _column(self, f: Any) -> ColumnInput:
        attrs: dict[str, Any] = {}
        if f.ordinal_position is not None:
            attrs["ordinalPosition"] = f.ordinal_position
        if f.fields:
            attrs["children"] = [self._child(c) for c in f.fields]
        return ColumnInput(name=f.name, data_type=f.type, description=f.description, attributes=attrs)

    def _child(self, f: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"name": f.name, "dataType": f.type, "description": f.description}
        if f.fields:
            out["children"] = [self._child(c) for c in f.fields]
        return {k: v for k, v in out.items() if v is not None}

    # ------------------------------------------------------------------ jobs → pipelines

    def _pipeline(self, conn: Connection, job: Job, t: int, ev: OpenLineageEvent) -> int:
        """The pipeline asset of a job (created once, kept up to date by the newest facets)."""
        key = (job.namespace, job.name)
        facets = {k: job.facets[k] for k in _KEEP_JOB_FACETS if k in job.facets}
        parent = facet(ev.run.facets, "parent") if ev.run is not None else None
        attrs: dict[str, Any] = {"openlineage": {"namespace": job.namespace, "name": job.name}}
        if parent is not None:
            attrs["parentJob"] = {"namespace": parent.job.namespace, "name": parent.job.name}
            self._pipeline(conn, Job(parent.job.namespace, parent.job.name), t, _NO_PARENT)
        cached = self._pipelines.get(key)
        sig = canonical_json([facets, attrs.get("parentJob")])
        if cached is not None and ((not facets and "parentJob" not in attrs) or cached[2] == sig):
            return cached[0]
        fqn = pipeline_fqn(*key)
        row = conn.execute(
            select(s.assets.c.pk, s.assets.c.attributes).where(
                s.assets.c.type == AssetType.PIPELINE.value, s.assets.c.fqn == fqn
            )
        ).first()
        if row is not None:
            stored = json.loads(row.attributes or "{}")
            times: dict[str, int] = dict(stored.get("olFacetTimes") or {})
            new_facets = dict(stored.get("olJobFacets") or {})
            changed = False
            for k, v in facets.items():
                if t >= times.get(k, -1) and new_facets.get(k) != v:
                    new_facets[k] = v
                    times[k] = t
                    changed = True
            if "parentJob" in attrs and stored.get("parentJob") != attrs["parentJob"]:
                changed = True
            if not changed:
                self._pipelines[key] = (row.pk, fqn, sig)
                return int(row.pk)
            attrs.update(olJobFacets=new_facets, olFacetTimes=times)
        else:
            attrs.update(olJobFacets=facets, olFacetTimes=dict.fromkeys(facets, t))
        doc = facet(attrs["olJobFacets"], "documentation")
        job_type = facet(attrs["olJobFacets"], "jobType")
        if job_type is not None:
            attrs["jobType"] = job_type.jobType
            attrs["processingType"] = job_type.processingType
            attrs["integration"] = job_type.integration
        svc = AssetInput(
            type=AssetType.PIPELINE_SERVICE,
            fqn=_q(job.namespace),
            name=job.namespace,
            attributes={"serviceType": "OpenLineage", "openlineageNamespace": job.namespace},
        )
        items = (
            [svc]
            if conn.execute(
                select(s.assets.c.pk).where(s.assets.c.type == svc.type.value, s.assets.c.fqn == svc.fqn)
            ).first()
            is None
            else []
        )
        items.append(
            AssetInput(
                type=AssetType.PIPELINE,
                fqn=fqn,
                name=job.name,
                description=doc.description if doc is not None else None,
                attributes=attrs,
            )
        )
        asset = self.store.upsert_assets(items, "openlineage", conn=conn)[-1][0]
        self._pipelines[key] = (asset.pk, fqn, sig)
        return asset.pk

    # ------------------------------------------------------------------ column lineage

    def _column_lineage(self, ds: Dataset, out: _Resolved, work: _RunWork, t: int) -> None:
        """Column mappings per (input, output) from the output's columnLineage facet; both the
        1-2-0 ``transformations`` and the legacy field-level type/description are kept."""
        cll = _cll(ds)
        if cll is None:
            return
        digest = hashlib.sha1(orjson.dumps(cll)).hexdigest()
        work.cll_keys.setdefault(out.pk, set()).add(digest)
        cached = self._cll_cache.get((out.pk, digest))
        if cached is None:
            cached = self._compute_column_lineage(cll, out)
            if len(self._cll_cache) > 50_000:
                self._cll_cache.clear()
            self._cll_cache[(out.pk, digest)] = cached
        columns, dataset_columns = cached
        for src_pk, mapping in columns:
            work.inputs.setdefault(src_pk, t)
            work.columns.setdefault((src_pk, out.pk), []).append(mapping)
        for src_pk, entry in dataset_columns:
            work.inputs.setdefault(src_pk, t)
            work.dataset_columns.setdefault((src_pk, out.pk), []).append(entry)

    def _compute_column_lineage(
        self, cll: dict[str, Any], out: _Resolved
    ) -> tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, dict[str, Any]]]]:
        columns: list[tuple[int, dict[str, Any]]] = []
        dataset_columns: list[tuple[int, dict[str, Any]]] = []
        for out_field, spec in cll["fields"].items():
            to_col = f"{out.fqn}.{_q(out_field)}"
            groups: dict[tuple[int, str | None], tuple[list[str], list[dict[str, Any]]]] = {}
            legacy_type = spec.get("transformationType")
            legacy_desc = spec.get("transformationDescription")
            for inp in spec.get("inputFields") or []:
                src = self._lookup((inp["namespace"], inp["name"]))
                trans = [
                    {k: v for k, v in tr.items() if v is not None} for tr in inp.get("transformations") or []
                ]
                if not trans and legacy_type:
                    trans = [{"type": legacy_type}]
                fn = legacy_desc or _signature(trans)
                bucket = groups.setdefault((src.pk, fn), ([], trans))
                col = f"{src.fqn}.{_q(inp['field'])}"
                if col not in bucket[0]:
                    bucket[0].append(col)
            for (src_pk, fn), (cols, trans) in groups.items():
                mapping: dict[str, Any] = {"fromColumns": sorted(cols), "toColumn": to_col}
                if fn:
                    mapping["function"] = fn
                if trans:
                    mapping["transformations"] = trans
                columns.append((src_pk, mapping))
        for inp in cll.get("dataset") or []:
            src = self._lookup((inp["namespace"], inp["name"]))
            trans = [
                {k: v for k, v in tr.items() if v is not None} for tr in inp.get("transformations") or []
            ]
            entry: dict[str, Any] = {"column": f"{src.fqn}.{_q(inp['field'])}"}
            if trans:
                entry["transformations"] = trans
            dataset_columns.append((src.pk, entry))
        return columns, dataset_columns

    # ------------------------------------------------------------------ runs and edges

    def _apply_runs(self, conn: Connection, runs: dict[str, _RunWork]) -> None:
        ts = now_ms()
        ids = list(runs)
        existing = {r.run_id: r for r in conn.execute(select(s.runs).where(s.runs.c.run_id.in_(ids)))}
        inserts = []
        for rid, work in runs.items():
            if rid not in existing:
                inserts.append(
                    {
                        "run_id": rid,
                        "job_pk": work.job_pk,
                        "state": "OTHER",
                        "updated_at": ts,
                        "facets": "{}",
                    }
                )
        if inserts:
            conn.execute(s.runs.insert(), inserts)
        insert_ignore(
            conn,
            s.run_states,
            [
                {"run_id": rid, "state": st, "event_time": t, "received_at": ts}
                for rid, w in runs.items()
                for st, t in w.states
            ],
            ["run_id", "state", "event_time"],
        )
        _upsert_min_time(
            conn,
            [
                {"run_id": rid, "asset_pk": pk, "direction": d, "event_time": t}
                for rid, w in runs.items()
                for d, io in (("input", w.inputs), ("output", w.outputs))
                for pk, t in io.items()
            ],
        )
        # run summaries from the full state history (order-independent)
        # a run first seen in this batch has exactly the history this batch wrote
        history: dict[str, list[tuple[str, int]]] = {
            rid: [] if rid in existing else sorted(runs[rid].states) for rid in ids
        }
        seen_before = [rid for rid in ids if rid in existing]
        for i in range(0, len(seen_before), 500):
            for r in conn.execute(
                select(s.run_states.c.run_id, s.run_states.c.state, s.run_states.c.event_time).where(
                    s.run_states.c.run_id.in_(seen_before[i : i + 500])
                )
            ):
                history[r.run_id].append((r.state, r.event_time))
        run_sql: dict[str, tuple[int, str]] = {}
        summaries: list[dict[str, Any]] = []
        for rid, work in runs.items():
            old = existing.get(rid)
            facets: dict[str, Any] = json.loads(old.facets) if old is not None and old.facets else {}
            for key, (t, value) in work.facets.items():
                prev = facets.get(key)
                if prev is None or (t, canonical_json(value)) > (prev[0], canonical_json(prev[1])):
                    facets[key] = [t, value]
            js = facets.get("_jobSql")
            if js:
                run_sql[rid] = (int(js[0]), str(js[1]))
            state, started, ended = summarize(history[rid])
            err = facets.get("errorMessage")
            error_message = err[1].get("message") if err and state in ("FAIL", "ABORT") else None
            summaries.append(
                {
                    "b_run_id": rid,
                    "state": state,
                    "started_at": started,
                    "ended_at": ended,
                    "updated_at": ts,
                    "error_message": error_message,
                    "facets": canonical_json(facets),
                }
            )
        if summaries:
            from sqlalchemy import bindparam

            cols = ("state", "started_at", "ended_at", "updated_at", "error_message", "facets")
            conn.execute(
                update(s.runs)
                .where(s.runs.c.run_id == bindparam("b_run_id"))
                .values({c: bindparam(c) for c in cols}),
                summaries,
            )
        lineage_runs = {rid: w for rid, w in runs.items() if not w.projected}
        if lineage_runs:
            self._apply_edges(conn, lineage_runs, run_sql, set(existing))

    def _apply_edges(
        self,
        conn: Connection,
        runs: dict[str, _RunWork],
        run_sql: dict[str, tuple[int, str]],
        existing: set[str],
    ) -> None:
        """Edges input → output for every run touched: the union over all its events.
        ``existing`` names the runs stored before this batch; the others have exactly the
        inputs, outputs and job this batch gave them, so they need no read-back."""
        ids = list(runs)
        io: dict[str, tuple[set[int], set[int]]] = {
            rid: (set(), set()) if rid in existing else (set(w.inputs), set(w.outputs))
            for rid, w in runs.items()
        }
        job_pks = {rid: w.job_pk for rid, w in runs.items()}
        seen_before = [rid for rid in ids if rid in existing]
        for i in range(0, len(seen_before), 500):
            run_chunk = seen_before[i : i + 500]
            for r in conn.execute(
                select(s.run_datasets.c.run_id, s.run_datasets.c.asset_pk, s.run_datasets.c.direction).where(
                    s.run_datasets.c.run_id.in_(run_chunk)
                )
            ):
                io[r.run_id][0 if r.direction == "input" else 1].add(r.asset_pk)
            for jr in conn.execute(
                select(s.runs.c.run_id, s.runs.c.job_pk).where(s.runs.c.run_id.in_(run_chunk))
            ):
                job_pks[jr.run_id] = jr.job_pk
        self._apply_single_sided(conn, io, job_pks)
        contrib: dict[tuple[int, int], dict[str, Any]] = {}
        keys: dict[tuple[int, int], set[Any]] = {}
        for rid, work in runs.items():
            ins, outs = io[rid]
            job_pk = job_pks[rid]
            sql = run_sql.get(rid)  # the SQL of the run's own job facets, whichever event had it
            for i in ins:
                for o in outs:
                    if i == o:
                        continue
                    # what this run adds to the edge is fixed by its job, SQL and CLL facets
                    keys.setdefault((i, o), set()).add((job_pk, sql, frozenset(work.cll_keys.get(o, ()))))
                    c = contrib.setdefault(
                        (i, o), {"pipelines": set(), "columns": [], "dataset": [], "sql": None}
                    )
                    c["pipelines"].add(job_pk)
                    c["columns"].extend(work.columns.get((i, o), []))
                    c["dataset"].extend(work.dataset_columns.get((i, o), []))
                    if sql is not None and (c["sql"] is None or sql >= c["sql"]):
                        c["sql"] = sql
        # a contribution this process already merged into an edge changes nothing (union)
        frozen = {pair: frozenset(k) for pair, k in keys.items()}
        contrib = {pair: c for pair, c in contrib.items() if (pair, frozen[pair]) not in self._applied}
        if not contrib:
            return
        if len(self._applied) > 500_000:
            self._applied.clear()
        pairs = list(contrib)
        current: dict[tuple[int, int], dict[str, Any]] = {}
        # keys joined, not a row-value IN (a full scan of edge_details on SQLite)
        for row in self.store._rows_matching(
            conn, "edge_details", ("from_pk", "to_pk"), pairs, ("from_pk", "to_pk", "source", "details")
        ):
            if row.source == LineageSource.OPEN_LINEAGE.value:
                current[(row.from_pk, row.to_pk)] = json.loads(row.details)
        pipe_pks = {p for c in contrib.values() for p in c["pipelines"]}
        old_ids = {str(p.get("id")) for d in current.values() for p in d.get("pipelines") or []}
        cols = (s.assets.c.pk, s.assets.c.id, s.assets.c.fqn, s.assets.c.name)
        pipes = {
            r.pk: {"id": r.id, "type": "pipeline", "fqn": r.fqn, "name": r.name}
            for r in conn.execute(
                select(*cols).where(s.assets.c.pk.in_(pipe_pks) | s.assets.c.id.in_(old_ids))
            )
        }
        writes: list[EdgeWrite] = []
        for pair, c in contrib.items():
            old = current.get(pair, {})
            merged = _merge_details(old, c, pipes)
            if merged is None:
                continue
            details, pipeline_pk = merged
            writes.append(
                EdgeWrite(
                    from_pk=pair[0],
                    to_pk=pair[1],
                    details=LineageDetails.model_validate(details),
                    pipeline_pk=pipeline_pk,
                )
            )
        if writes:
            self.store.put_edges(writes, "openlineage", conn=conn)
        self._applied.update((pair, frozen[pair]) for pair in contrib)

    def _apply_single_sided(
        self, conn: Connection, io: dict[str, tuple[set[int], set[int]]], job_pks: dict[str, int]
    ) -> None:
        """Edges dataset → pipeline for runs seen only reading, pipeline → dataset for runs seen
        only writing; once a run shows both sides its input → output edges replace them.

        Derived from the merged ``run_datasets`` of each run, so out-of-order delivery ends
        where in-order delivery does. An edge stays while any run of the job still needs it.
        """
        jobs = set(job_pks.values())
        if not jobs:
            return
        src = LineageSource.OPEN_LINEAGE.value
        existing: set[tuple[int, int]] = set()
        jl = sorted(jobs)
        for i in range(0, len(jl), 400):
            chunk = jl[i : i + 400]
            ed = s.edge_details
            for stmt in s.details_touching((ed.c.from_pk, ed.c.to_pk), chunk, ed.c.source == src):
                existing |= {(r.from_pk, r.to_pk) for r in conn.execute(stmt)}
        wanted: dict[tuple[int, int], int] = {}  # pair -> pipeline pk
        candidates: set[tuple[int, int, str]] = set()  # (pair..., direction) that may have to go
        for rid, (ins, outs) in io.items():
            job = job_pks[rid]
            if ins and not outs:
                for d in ins:
                    if d != job and (d, job) not in existing:
                        wanted[(d, job)] = job
            elif outs and not ins:
                for d in outs:
                    if d != job and (job, d) not in existing:
                        wanted[(job, d)] = job
            elif ins and outs:
                candidates |= {(d, job, "input") for d in ins if (d, job) in existing}
                candidates |= {(job, d, "output") for d in outs if (job, d) in existing}
        drop: list[tuple[int, int, str]] = []
        for f, t, direction in sorted(candidates):
            job, asset = (t, f) if direction == "input" else (f, t)
            other = "output" if direction == "input" else "input"
            rd, rd2 = s.run_datasets.alias("rd"), s.run_datasets.alias("rd2")
            still = conn.execute(
                select(rd.c.run_id)
                .select_from(rd.join(s.runs, s.runs.c.run_id == rd.c.run_id))
                .where(
                    s.runs.c.job_pk == job,
                    rd.c.asset_pk == asset,
                    rd.c.direction == direction,
                    ~select(rd2.c.run_id)
                    .where(rd2.c.run_id == rd.c.run_id, rd2.c.direction == other)
                    .exists(),
                )
                .limit(1)
            ).first()
            if still is None:
                drop.append((f, t, src))
        if drop:
            self.store.remove_edge_details(drop, conn=conn)
        if not wanted:
            return
        pipes = {
            r.pk: r
            for r in conn.execute(
                select(s.assets.c.pk, s.assets.c.id, s.assets.c.fqn, s.assets.c.name).where(
                    s.assets.c.pk.in_(set(wanted.values()))
                )
            )
        }
        writes: list[EdgeWrite] = []
        for (f, t), job in sorted(wanted.items()):
            p = pipes.get(job)
            if p is None:
                continue
            verb = "Read by" if t == job else "Written by"
            details = {
                "source": src,
                "columnsLineage": [],
                "pipelines": [{"id": p.id, "type": "pipeline", "fqn": p.fqn, "name": p.name}],
                "pipeline": {"id": p.id, "type": "pipeline", "fullyQualifiedName": p.fqn, "name": p.name},
                "description": f"{verb} OpenLineage job {p.fqn} (the run's other side was not seen)",
            }
            writes.append(
                EdgeWrite(from_pk=f, to_pk=t, details=LineageDetails.model_validate(details), pipeline_pk=job)
            )
        if writes:
            self.store.put_edges(writes, "openlineage", conn=conn)


def _cll(ds: Dataset) -> dict[str, Any] | None:
    """The (already structurally checked) columnLineage facet of a dataset, as a dict."""
    raw = ds.facets.get("columnLineage")
    if isinstance(raw, dict) and not raw.get("_deleted") and isinstance(raw.get("fields"), dict):
        return raw
    return None


_REAL = "~real"  # sorts after every signature: a real asset's columns are never replaced


class _NoParent:
    run = None


_NO_PARENT: Any = _NoParent()


def _signature(trans: list[dict[str, Any]]) -> str | None:
    """``DIRECT/AGGREGATION`` style text for the edge's column ``function``."""
    parts = []
    for tr in trans:
        text = str(tr.get("type") or "")
        if tr.get("subtype"):
            text += "/" + str(tr["subtype"])
        if tr.get("masking"):
            text += " (masked)"
        if text and text not in parts:
            parts.append(text)
    return ", ".join(parts) or None


def _mapping_key(m: dict[str, Any]) -> str:
    return canonical_json(m)


def _merge_details(
    old: dict[str, Any], c: dict[str, Any], pipes: dict[int, dict[str, Any]]
) -> tuple[dict[str, Any], int | None] | None:
    """Union of the stored OpenLineage details of an edge with this batch's contribution;
    None when nothing changes (so repeated delivery writes nothing)."""
    pipelines = {canonical_json(p): p for p in old.get("pipelines") or []}
    for pk in c["pipelines"]:
        if pk in pipes:
            pipelines.setdefault(canonical_json(pipes[pk]), pipes[pk])
    plist = sorted(pipelines.values(), key=lambda p: (p.get("fqn") or "", p.get("id") or ""))
    columns = {_mapping_key(m): m for m in old.get("columnsLineage") or []}
    for m in c["columns"]:
        columns.setdefault(_mapping_key(m), m)
    clist = sorted(columns.values(), key=lambda m: (m.get("toColumn") or "", _mapping_key(m)))
    dcols = {canonical_json(d): d for d in old.get("datasetColumns") or []}
    for d in c["dataset"]:
        dcols.setdefault(canonical_json(d), d)
    sql = old.get("sqlQuery")
    sql_time = old.get("sqlQueryTime")
    if c["sql"] is not None and (sql_time is None or (c["sql"][0], c["sql"][1]) > (sql_time, sql or "")):
        sql_time, sql = c["sql"]
    chosen = plist[0] if plist else None
    details: dict[str, Any] = {
        "source": LineageSource.OPEN_LINEAGE.value,
        "columnsLineage": clist,
        "pipelines": plist,
    }
    if chosen is not None:
        details["pipeline"] = {
            "id": chosen["id"],
            "type": "pipeline",
            "fullyQualifiedName": chosen["fqn"],
            "name": chosen["name"],
        }
        details["description"] = f"Lineage from OpenLineage job {chosen['fqn']}"
    if dcols:
        details["datasetColumns"] = sorted(dcols.values(), key=canonical_json)
    if sql is not None:
        details["sqlQuery"] = sql
        details["sqlQueryTime"] = sql_time
    compare_keys = ("columnsLineage", "pipelines", "pipeline", "datasetColumns", "sqlQuery", "sqlQueryTime")
    if old and all(canonical_json(old.get(k)) == canonical_json(details.get(k)) for k in compare_keys):
        return None
    pipeline_pk = next((pk for pk, p in pipes.items() if chosen and p["id"] == chosen["id"]), None)
    return details, pipeline_pk


def summarize(history: Iterable[tuple[str, int]]) -> tuple[str, int | None, int | None]:
    """Current state, start and end time of a run from its whole state history.

    A terminal state wins over any non-terminal one whatever the arrival order (a START
    retried after COMPLETE must not reopen the run); among equals the latest event time
    wins, then the state priority FAIL > ABORT > COMPLETE > RUNNING > START > OTHER.
    """
    items = list(history)
    if not items:
        return "OTHER", None, None
    terminal = [(t, _STATE_PRIORITY[st], st) for st, t in items if st in {e.value for e in TERMINAL_STATES}]
    if terminal:
        t_end, _, state = max(terminal)
        ended: int | None = t_end
    else:
        _, _, state = max((t, _STATE_PRIORITY.get(st, 0), st) for st, t in items)
        ended = None
    starts = [t for st, t in items if st == EventType.START.value]
    started = min(starts) if starts else min(t for _, t in items)
    return state, started, ended
