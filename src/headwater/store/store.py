"""The one interface to persistence: assets, lineage edges, the lineage log, tokens and settings.

Every write is one transaction that also appends to `lineage_log` when lineage changes, so graph
indexes in any number of processes can catch up and the graph can be replayed as of a past time.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import orjson
from sqlalchemy import Row, Table, and_, bindparam, delete, func, insert, literal_column, or_, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from headwater.identity.fqn import quote_name
from headwater.identity.hierarchy import parent_candidates
from headwater.model.assets import Asset, AssetInput, ColumnInput
from headwater.model.lineage import ColumnLineage, EdgeView, LineageDetails
from headwater.model.types import AssetType, LineageSource
from headwater.secrets import SecretBox
from headwater.store import logwatch
from headwater.store import schema as s
from headwater.store.checkpoint import SqliteTuning, WalCheckpointer
from headwater.store.engine import make_engine, migrate, sqlite_write_lock
from headwater.store.logwatch import LogWatch

CHUNK = 500


class StoreError(Exception):
    """A request the store cannot carry out; `status` is the HTTP status it maps to."""

    status = 400


class NotFoundError(StoreError):
    status = 404


class InvalidError(StoreError):
    status = 400


class ConflictError(StoreError):
    status = 409


def now_ms() -> int:
    return int(time.time() * 1000)


T = TypeVar("T")


def _like_escape(text: str) -> str:
    """Make user text literal inside a LIKE pattern (escape character: backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


#: PostgreSQL SQLSTATEs of a lost race: unique violation, serialization failure, deadlock
_RACE_SQLSTATES = frozenset(("23505", "40001", "40P01"))


def is_race(exc: Exception) -> bool:
    """Unique violations, deadlocks and serialization failures are worth one more try.

    COPY runs on the raw psycopg connection, so its errors arrive unwrapped (with a ``sqlstate``)
    rather than as SQLAlchemy's IntegrityError."""
    if isinstance(exc, IntegrityError) or getattr(exc, "sqlstate", None) in _RACE_SQLSTATES:
        return True
    text = str(exc).lower()
    return "deadlock" in text or "could not serialize" in text or "database is locked" in text


_LOG_KEYS = ("at", "kind", "from_pk", "to_pk", "source", "details")
_EDGE_COLS = ("from_pk", "to_pk", "description", "created_at")
_DETAIL_COLS = ("from_pk", "to_pk", "source", "details", "pipeline_pk", "created_at", "updated_at")


KEY_CHUNK = 10_000  # keys per lookup statement (one bind parameter per key column)
COPY_MIN = 50  # rows from which PostgreSQL inserts go through COPY
# json.dumps(..., sort_keys=True) builds a new encoder per call; one shared encoder, same text
_dumps_sorted = json.JSONEncoder(sort_keys=True).encode


def dumps_sorted(value: Any) -> str:
    """JSON text with sorted keys, through orjson (about ten times faster than json).

    The text is compact and keeps non-ASCII characters as they are; values orjson refuses (integers
    beyond 64 bits, non-string keys) go through the standard encoder instead.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError
        return _dumps_sorted(value)


def _json_keys(keys: Sequence[Any]) -> str:
    """Lookup keys as a JSON array for SQLite's `json_each` (orjson; `json` for what it refuses)."""
    try:
        return orjson.dumps(list(keys)).decode()
    except TypeError:  # orjson.JSONEncodeError: integers beyond 64 bits
        return json.dumps(list(keys))


LOG_LOCK = 727275  # PostgreSQL advisory lock key serialising lineage log appends (see _append_log)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@dataclass(frozen=True)
class EdgeWrite:
    """One edge to add or replace: the details of one source between two assets."""

    from_pk: int
    to_pk: int
    details: LineageDetails
    description: str | None = None
    pipeline_pk: int | None = None


def _dump_details(details: LineageDetails) -> dict[str, Any]:
    """`details.model_dump(mode="json", exclude_none=True)`, built directly for the usual shape.

    Details with extra fields, a pipeline reference (a free-form dict) or column mappings with
    extra fields go through pydantic; the rest (SQL, column mappings, description, stamps) are
    plain strings, lists and ints already, and building the dict here is several times faster.
    `source` is left out: the caller sets it.
    """
    if type(details) is not LineageDetails or details.__pydantic_extra__ or details.pipeline is not None:
        return details.model_dump(mode="json", exclude_none=True)
    columns = []
    for cl in details.columnsLineage:
        if type(cl) is not ColumnLineage or cl.__pydantic_extra__:
            return details.model_dump(mode="json", exclude_none=True)
        entry: dict[str, Any] = {"fromColumns": list(cl.fromColumns)}
        if cl.toColumn is not None:
            entry["toColumn"] = cl.toColumn
        if cl.function is not None:
            entry["function"] = cl.function
        columns.append(entry)
    d: dict[str, Any] = {"columnsLineage": columns}
    for name in ("sqlQuery", "description", "createdAt", "createdBy", "updatedAt", "updatedBy"):
        value = getattr(details, name)
        if value is not None:
            d[name] = value
    return d


class _DetailsText:
    """The stored JSON of edge details for one `put_edges` call.

    Bulk writers often give many edges one details object (an OpenLineage job's inputs and
    outputs, an Atlan process, plain edges of one source); every new edge of a call gets the same
    stamps, so such edges share one encoding, keyed by the object's identity (the caller's
    `writes` keep the objects alive for the whole call). Only the text is kept, not the dumped
    dict: thousands of live dicts would make the cyclic garbage collector rescan them.
    """

    def __init__(self, actor: str | None, ts: int) -> None:
        self._actor = actor
        self._ts = ts
        # id(details) -> [source value, text with createdAt == ts (None until asked for)]
        self.known: dict[int, list[Any]] = {}

    def text(self, details: LineageDetails, created_at: int) -> str:
        if created_at == self._ts:
            info = self.known.get(id(details))
            if info is None:
                info = self.known[id(details)] = [details.source.value, None]
            if info[1] is None:
                info[1] = self.encode(details, created_at, info[0])
            return str(info[1])
        return self.encode(details, created_at, details.source.value)

    def encode(self, details: LineageDetails, created_at: int, source: str) -> str:
        """The stored text, built afresh; `source` is `details.source.value` (known to callers)."""
        d = _dump_details(details)
        d["source"] = source
        d["createdAt"] = created_at
        d["createdBy"] = d.get("createdBy") or self._actor
        d["updatedAt"] = self._ts
        d["updatedBy"] = self._actor or d.get("updatedBy")
        return dumps_sorted(d)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a bulk write builds its rows.

    A batch creates a few tuples per edge that all stay alive until the insert; each of them
    counts towards a collection, so the collector would rescan the growing batch (and the rest of
    the heap) many times over for no garbage. Restored on exit unless it was already off.
    """
    was_on = gc.isenabled()
    if was_on:
        gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


class _LogHead:
    """The newest `lineage_log` seq, read cheaply on a dedicated connection (one per store).

    Graph indexes ask before every read. SQLite answers "has anyone committed since?" from its
    shared memory (`PRAGMA data_version`) without touching a table, so the table is read only after
    a commit; PostgreSQL takes one round trip on a prepared statement.
    """

    _SQL = "SELECT coalesce(max(seq), 0) FROM lineage_log"

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._raw: Any = None
        self._version: Any = None
        self._seq = 0
        self._pid = 0

    def get(self) -> int:
        with self._lock:
            try:
                return self._read()
            except Exception:
                self.close()
                raise

    def _read(self) -> int:
        if self._raw is not None and self._pid != os.getpid():
            self._raw = None  # a forked child: never share the parent's connection
        if self._raw is None:
            self._pid = os.getpid()
            pooled = self._store.engine.raw_connection()
            raw = pooled.driver_connection
            pooled.detach()  # ours for good, outside the pool
            self._raw = raw
            if self._store.dialect == "postgresql":
                raw.autocommit = True  # type: ignore[union-attr]
            self._version = None
        raw = self._raw
        if self._store.dialect == "sqlite":
            version = raw.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version:
                self._seq = int(raw.execute(self._SQL).fetchone()[0])
                self._version = version
            return self._seq
        if self._store.dialect == "postgresql":
            return int(raw.execute(self._SQL, prepare=True).fetchone()[0])
        with self._store.read() as conn:
            return int(conn.exec_driver_sql(self._SQL).scalar_one())

    def close(self) -> None:
        raw, self._raw = self._raw, None
        if raw is not None:
            with contextlib.suppress(Exception):  # already broken
                raw.close()


class _Mapped:
    """A dict posing as a Row for `_row_to_asset` (a purged asset's copy in the log)."""

    def __init__(self, mapping: dict[str, Any]) -> None:
        self._mapping = mapping


@dataclass(frozen=True)
class LogEntry:
    seq: int
    at: int
    kind: str
    from_pk: int
    to_pk: int | None
    source: str | None
    details: str | None


class Store:
    """Persistence behind one interface, for SQLite (default) and PostgreSQL."""

    def __init__(
        self, url: str, *, run_migrations: bool = True, pool_size: int = 10, secrets: SecretBox | None = None
    ) -> None:
        self.url = url
        self._sqlite_tuning = SqliteTuning()
        self.engine = make_engine(url, pool_size=pool_size, sqlite_tuning=self._sqlite_tuning)
        self._write_lock = sqlite_write_lock(url)
        self._checkpointer: WalCheckpointer | None = None
        self._log_head = _LogHead(self)
        self._log_watch: LogWatch | None = None
        self._watch_lock = threading.Lock()
        self._pinned = threading.local()
        if run_migrations:
            migrate(self.engine)
        # Secrets in attributes are sealed at rest; without a key from the server's configuration
        # (HEADWATER_SECRET_KEY or data_dir/secret.key) a key kept in the database is used.
        self.secrets = secrets or SecretBox(self.get_or_create_setting("secret_box_key", SecretBox.new_key))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.stop_wal_checkpointer()
        if self._log_watch is not None:
            self._log_watch.close()
        self._log_head.close()
        self.engine.dispose()

    def start_wal_checkpointer(self) -> bool:
        """On a SQLite file, checkpoint the WAL on a thread of its own from now on instead of
        inside commits (see :mod:`headwater.store.checkpoint`); for long-running writers such as
        the ingest service. Returns whether this call started it (False: already running, or
        not a SQLite file)."""
        if self._write_lock is None or self._checkpointer is not None:
            return False
        path = self.engine.url.database
        if not path or path == ":memory:" or "mode=memory" in self.url:
            return False
        self._checkpointer = WalCheckpointer(path, self._sqlite_tuning)
        self._checkpointer.start()
        return True

    def stop_wal_checkpointer(self) -> None:
        """Back to checkpoints inside commits (SQLite's default)."""
        checkpointer, self._checkpointer = self._checkpointer, None
        if checkpointer is not None:
            checkpointer.stop()

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (serialised per process on SQLite so clients never see a lock)."""
        if self._write_lock is not None:
            with (
                self._write_lock,
                self.engine.connect().execution_options(headwater_write=True) as conn,
                conn.begin(),
            ):
                yield conn
            checkpointer = self._checkpointer  # (read once: stop_wal_checkpointer may clear it)
            if checkpointer is not None:
                checkpointer.poke()
        else:
            with self.engine.connect() as conn, conn.begin():
                yield conn

    @contextmanager
    def write_one_statement(self) -> Iterator[Connection]:
        """On SQLite, the write lock and a connection outside any transaction, for one statement
        that is atomic on its own: no BEGIN and COMMIT calls, each of which gives up the GIL and
        then waits to take it back behind the event loop. The connection carries the execution
        option ``headwater_autocommit``; run the statement on its DBAPI connection (through
        SQLAlchemy it would open a transaction that closing the connection rolls back), as
        ``Translator._insert_sqlite`` does. A plain :meth:`write` elsewhere."""
        if self._write_lock is None:
            with self.write() as conn:
                yield conn
            return
        with self._write_lock, self.engine.connect().execution_options(headwater_autocommit=True) as conn:
            yield conn
        checkpointer = self._checkpointer
        if checkpointer is not None:
            checkpointer.poke()

    def retrying(self, work: Callable[[Connection], T], attempts: int = 8) -> T:
        """Run `work` in a write transaction, again if a concurrent writer won a race.

        Upserts read before they write; when two servers on one PostgreSQL insert the same FQN or
        edge at once, the loser hits the unique constraint and simply retries, now seeing the row.
        """
        for attempt in range(attempts):
            try:
                with self.write() as conn:
                    return work(conn)
            except Exception as exc:
                if attempt == attempts - 1 or not is_race(exc):
                    raise
                time.sleep(0.005 * (2**attempt) * (1 + random.random()))
        raise AssertionError("unreachable")

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def _quick_read(self) -> Iterator[Connection]:
        """A connection for plain lookups on the lineage read path. On PostgreSQL it runs in
        autocommit, saving the BEGIN and ROLLBACK round trips: under READ COMMITTED every
        statement takes its own snapshot anyway. (Not for server-side cursors: those need a
        transaction.) Inside `shared_reads()` the thread's one connection is reused."""
        pinned = getattr(self._pinned, "conn", None)
        if pinned is not None:
            yield pinned
            return
        with self.engine.connect() as conn:
            if self.dialect == "postgresql":
                conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn

    @contextmanager
    def shared_reads(self) -> Iterator[None]:
        """Lookups in this block (this thread) share one pooled connection: one checkout (and
        liveness ping) for all the reads that assemble an answer, instead of one per lookup."""
        if getattr(self._pinned, "conn", None) is not None:
            yield
            return
        with self._quick_read() as conn:
            self._pinned.conn = conn
            try:
                yield
            finally:
                self._pinned.conn = None

    # -- assets -------------------------------------------------------------------------------

    @staticmethod
    def _row_to_asset(row: Row[Any]) -> Asset:
        m = row._mapping
        # every field converted here from its typed column: no need for pydantic to validate again
        # (a third of the cost of reading thousands of assets for a lineage answer)
        return Asset.model_construct(
            pk=m["pk"],
            id=m["id"],
            type=AssetType(m["type"]),
            fqn=m["fqn"],
            name=m["name"],
            display_name=m["display_name"],
            description=m["description"],
            parent_pk=m["parent_pk"],
            attributes=json.loads(m["attributes"] or "{}"),
            partial=bool(m["partial"]),
            deleted=bool(m["deleted"]),
            version=float(m["version"]),
            created_at=m["created_at"],
            updated_at=m["updated_at"],
            updated_by=m["updated_by"],
        )

    def upsert_asset(self, item: AssetInput, actor: str | None = None) -> tuple[Asset, bool]:
        """Create or update one asset by (type, FQN); returns it and whether it was created."""
        return self.upsert_assets([item], actor)[0]

    def upsert_assets(
        self, items: Sequence[AssetInput], actor: str | None = None, *, conn: Connection | None = None
    ) -> list[tuple[Asset, bool]]:
        """Create or update many assets in one transaction (parents before children in `items`)."""
        if conn is None:
            return self.retrying(lambda c: self._upsert_assets(c, items, actor))
        return self._upsert_assets(conn, items, actor)

    def _upsert_assets(
        self, conn: Connection, items: Sequence[AssetInput], actor: str | None
    ) -> list[tuple[Asset, bool]]:
        ts = now_ms()
        keys = [(i.type.value, i.fqn) for i in items]
        existing = self._rows_by_keys(conn, keys)
        parents = self._resolve_parents(conn, items)
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        undeleted: set[int] = set()
        created_keys: set[tuple[str, str]] = set()
        for item, key in zip(items, keys, strict=True):
            row = existing.get(key)
            parent_pk = parents.get(key)
            if row is None:
                if key in created_keys:
                    continue  # same asset twice in one batch: the first wins
                created_keys.add(key)
                inserts.append(
                    {
                        "id": item.id or str(uuid.uuid4()),
                        "type": item.type.value,
                        "fqn": item.fqn,
                        "name": item.name,
                        "display_name": item.display_name,
                        "description": item.description,
                        "parent_pk": parent_pk,
                        "attributes": json.dumps(
                            self.secrets.seal(item.attributes), sort_keys=True, default=str
                        ),
                        "partial": item.partial,
                        "deleted": False,
                        "version": 0.1,
                        "created_at": ts,
                        "updated_at": ts,
                        "updated_by": actor,
                    }
                )
            else:
                m = row._mapping
                attrs = json.loads(m["attributes"] or "{}")
                merged = {**attrs, **self.secrets.seal(item.attributes, attrs)}
                # a placeholder stays partial only while nothing but placeholders describe it
                partial = bool(m["partial"]) and item.partial
                new = {
                    "name": item.name,
                    "display_name": item.display_name if item.display_name is not None else m["display_name"],
                    "description": item.description if item.description is not None else m["description"],
                    "parent_pk": parent_pk if parent_pk is not None else m["parent_pk"],
                    "attributes": json.dumps(merged, sort_keys=True, default=str),
                    "partial": partial,
                    "deleted": False,
                }
                changed = any(new[k] != m[k] for k in new)
                if m["deleted"]:
                    undeleted.add(m["pk"])
                if changed:
                    updates.append(
                        {
                            "b_pk": m["pk"],
                            **new,
                            "version": round(m["version"] + 0.1, 1),
                            "updated_at": ts,
                            "updated_by": actor,
                        }
                    )
        if inserts:
            self._insert_many(conn, s.assets, inserts)
        if updates:
            stmt = (
                update(s.assets)
                .where(s.assets.c.pk == bindparam("b_pk"))
                .values(
                    {
                        k: bindparam(k)
                        for k in (
                            "name",
                            "display_name",
                            "description",
                            "parent_pk",
                            "attributes",
                            "partial",
                            "deleted",
                            "version",
                            "updated_at",
                            "updated_by",
                        )
                    }
                )
            )
            conn.execute(stmt, updates)
            # re-saving a soft-deleted asset restores it: graph indexes learn that from the log
            restored = [u["b_pk"] for u in updates if u["b_pk"] in undeleted]
            if restored:
                self._append_log(conn, [{"at": ts, "kind": "asset_restore", "from_pk": p} for p in restored])
        # parents created in this same batch: link them now that they exist
        orphans = [it for it, k in zip(items, keys, strict=True) if parents.get(k) is None]
        if orphans and (inserts or updates):
            late = self._resolve_parents(conn, orphans)
            if late:
                fresh = self._rows_by_keys(conn, list(late))
                for key, ppk in late.items():
                    conn.execute(
                        update(s.assets)
                        .where(s.assets.c.pk == fresh[key]._mapping["pk"])
                        .values(parent_pk=ppk)
                    )
        rows = self._rows_by_keys(conn, keys)
        result: list[tuple[Asset, bool]] = []
        for key in keys:
            result.append((self._row_to_asset(rows[key]), key in created_keys and key not in existing))
        # columns after their parents exist
        column_items = [
            (it, rows[k]._mapping["pk"]) for it, k in zip(items, keys, strict=True) if it.columns is not None
        ]
        if column_items:
            self._sync_columns(conn, column_items, actor, ts)
        return result

    def _sync_columns(
        self,
        conn: Connection,
        parents: list[tuple[AssetInput, int]],
        actor: str | None,
        ts: int,
    ) -> None:
        """Make each parent's column children exactly the given list (upsert, drop the rest)."""
        col_inputs: list[AssetInput] = []
        keep: dict[int, set[str]] = {}
        for parent, parent_pk in parents:
            assert parent.columns is not None
            keep[parent_pk] = set()
            for pos, col in enumerate(parent.columns, start=1):
                col_inputs.extend(self._column_inputs(parent.fqn, col, pos))
                keep[parent_pk].add(parent.fqn + "." + quote_name(col.name))
        if col_inputs:
            self._upsert_assets(conn, col_inputs, actor)
        for parent_pk, fqns in keep.items():
            rows = conn.execute(
                select(s.assets.c.pk, s.assets.c.fqn).where(
                    s.assets.c.parent_pk == parent_pk, s.assets.c.type == AssetType.COLUMN.value
                )
            ).all()
            stale = [r.pk for r in rows if r.fqn not in fqns]
            if stale:
                self._purge_assets(conn, stale, ts)

    @staticmethod
    def _column_inputs(parent_fqn: str, col: ColumnInput, position: int) -> list[AssetInput]:
        fqn = parent_fqn + "." + quote_name(col.name)
        attrs = dict(col.attributes)
        if col.data_type is not None:
            attrs["dataType"] = col.data_type
        attrs.setdefault("ordinalPosition", position)
        children = attrs.pop("children", None)
        out = [
            AssetInput(
                type=AssetType.COLUMN,
                fqn=fqn,
                name=col.name,
                description=col.description,
                parent_fqn=parent_fqn,
                attributes=attrs,
            )
        ]
        if isinstance(children, list):
            for pos, child in enumerate(children, start=1):
                if isinstance(child, dict) and child.get("name"):
                    out.extend(
                        Store._column_inputs(
                            fqn,
                            ColumnInput(
                                name=str(child["name"]),
                                data_type=child.get("dataType"),
                                description=child.get("description"),
                                attributes={
                                    k: v for k, v in child.items() if k not in ("name", "description")
                                },
                            ),
                            pos,
                        )
                    )
        return out

    def _rows_by_keys(
        self, conn: Connection, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], Row[Any]]:
        found: dict[tuple[str, str], Row[Any]] = {}
        for row in self._rows_matching(conn, "assets", ("type", "fqn"), keys, key_types=("text", "text")):
            found[(row.type, row.fqn)] = row
        return found

    def _rows_matching(
        self,
        conn: Connection,
        table: str,
        key_columns: tuple[str, str],
        keys: Iterable[tuple[Any, Any]],
        columns: Sequence[str] = ("*",),
        key_types: tuple[str, str] = ("integer", "integer"),
        join: str = "",
    ) -> list[Row[Any]]:
        """Rows of `table` whose two key columns equal one of `keys`, one index lookup per key.

        SQLite reads `(a, b) IN (VALUES ...)` with a full table scan, so keys are joined instead:
        from `json_each` on SQLite, from `unnest` of two arrays on PostgreSQL; either way one bind
        parameter per key column, whatever the number of keys.
        """
        unique = list(dict.fromkeys(keys))
        if not unique:
            return []
        a, b = key_columns
        # columns of `table` (alias t) by name; columns of a `join`ed table qualified
        cols = ", ".join(c if c == "*" or "." in c else f"t.{c}" for c in columns).replace("*", "t.*")
        if self.dialect == "sqlite":
            stmt = sql_text(
                f"SELECT {cols} FROM json_each(:keys) AS j "
                f"JOIN {table} AS t ON t.{a} = j.value ->> 0 AND t.{b} = j.value ->> 1 {join}"
            )
        else:
            ta, tb = key_types
            stmt = sql_text(
                f"SELECT {cols} FROM unnest(CAST(:ka AS {ta}[]), CAST(:kb AS {tb}[])) AS j(a, b) "
                f"JOIN {table} AS t ON t.{a} = j.a AND t.{b} = j.b {join}"
            )
        out: list[Row[Any]] = []
        for chunk in _chunks(unique, KEY_CHUNK):
            if self.dialect == "sqlite":
                params: dict[str, Any] = {"keys": _json_keys(chunk)}
            else:
                params = {"ka": [k[0] for k in chunk], "kb": [k[1] for k in chunk]}
            out.extend(conn.execute(stmt, params).all())
        return out

    def _append_log(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Append entries (dicts with some of _LOG_KEYS) to the lineage log."""
        self._append_log_rows(conn, [tuple(r.get(k) for k in _LOG_KEYS) for r in rows])

    def _append_log_rows(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Append entries (tuples in _LOG_KEYS order) to the lineage log, in the caller's transaction.

        On PostgreSQL seqs come from a sequence, handed out before commit: two writers could commit
        out of seq order, and a graph index that had already read the later seq would skip the
        earlier entry for good. A transaction-scoped advisory lock, taken before the first append
        and held to commit, makes log appends commit in seq order.
        """
        if not rows:
            return
        if self.dialect == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LOG_LOCK})")
        self._insert_rows(conn, s.lineage_log, _LOG_KEYS, rows)

    def _insert_many(self, conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """Insert rows (all with the same keys) in one go: COPY on PostgreSQL, else executemany."""
        if not rows:
            return
        names = list(rows[0])
        values = itemgetter(*names)  # a tuple per row (there are always several columns)
        self._insert_rows(conn, table, names, list(map(values, rows)))

    def _insert_rows(
        self, conn: Connection, table: Table, names: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        """Insert rows given as tuples in `names` order: COPY on PostgreSQL, else executemany."""
        if not rows:
            return
        if self.dialect == "postgresql" and len(rows) >= COPY_MIN:
            raw = conn.connection.driver_connection
            assert raw is not None
            with (
                raw.cursor() as cur,
                cur.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return
        sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        if self.dialect != "sqlite":
            sql = sql.replace("?", "%s")
        conn.exec_driver_sql(sql, list(rows))

    def _resolve_parents(self, conn: Connection, items: Sequence[AssetInput]) -> dict[tuple[str, str], int]:
        wanted: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for item in items:
            if item.parent_fqn is not None:
                cands = [
                    (t.value, f) for t, f in parent_candidates(item.type, item.fqn) if f == item.parent_fqn
                ]
                if not cands:
                    cands = [(t.value, item.parent_fqn) for t in AssetType]
            else:
                cands = [(t.value, f) for t, f in parent_candidates(item.type, item.fqn)]
            wanted[(item.type.value, item.fqn)] = cands
        all_keys = [k for cands in wanted.values() for k in cands]
        # parents created earlier in this same batch are visible: the batch inserts parents first
        rows = self._rows_by_keys(conn, all_keys) if all_keys else {}
        out: dict[tuple[str, str], int] = {}
        for key, cands in wanted.items():
            for cand in cands:
                if cand in rows:
                    out[key] = rows[cand]._mapping["pk"]
                    break
        return out

    def get_asset(self, asset_id: str) -> Asset | None:
        with self._quick_read() as conn:
            row = conn.execute(select(s.assets).where(s.assets.c.id == asset_id)).first()
        return self._row_to_asset(row) if row else None

    def get_asset_by_pk(self, pk: int) -> Asset | None:
        return self.get_assets_by_pks([pk]).get(pk)

    def get_asset_by_fqn(self, asset_type: AssetType | str, fqn: str) -> Asset | None:
        with self.read() as conn:
            row = conn.execute(
                select(s.assets).where(s.assets.c.type == str(asset_type), s.assets.c.fqn == fqn)
            ).first()
        return self._row_to_asset(row) if row else None

    def find_assets_by_fqn(self, fqn: str) -> list[Asset]:
        """Assets of any type with this FQN (a service and a database may share one)."""
        with self.read() as conn:
            rows = conn.execute(select(s.assets).where(s.assets.c.fqn == fqn)).all()
        return [self._row_to_asset(r) for r in rows]

    def get_assets_by_pks(self, pks: Iterable[int]) -> dict[int, Asset]:
        out: dict[int, Asset] = {}
        ids = list(dict.fromkeys(pks))
        if not ids:
            return out
        # the keys as one array parameter, not one bind parameter each (compiling thousands of
        # those costs more than running the lookup)
        if self.dialect == "sqlite":
            stmt = sql_text("SELECT * FROM assets WHERE pk IN (SELECT value FROM json_each(:keys))")
        else:
            stmt = sql_text("SELECT * FROM assets WHERE pk = ANY(CAST(:keys AS integer[]))")
        with self._quick_read() as conn:
            for chunk in _chunks(ids, KEY_CHUNK):
                keys = json.dumps(list(chunk)) if self.dialect == "sqlite" else list(chunk)
                for row in conn.execute(stmt, {"keys": keys}):
                    out[row.pk] = self._row_to_asset(row)
        return out

    def purged_assets(self, pks: Iterable[int], after: int) -> dict[int, Asset]:
        """Assets hard-deleted after `after` (epoch ms), as they were when purged (from the copy in
        their `asset_purge` log entry): what a lineage read as of `after` shows for them."""
        log = s.lineage_log
        out: dict[int, tuple[int, Asset]] = {}
        with self._quick_read() as conn:
            for chunk in _chunks(list(pks)):
                for r in conn.execute(
                    select(log.c.seq, log.c.from_pk, log.c.details).where(
                        log.c.from_pk.in_(list(chunk)),
                        log.c.to_pk.is_(None),
                        log.c.kind == "asset_purge",
                        log.c.at > after,
                    )
                ):
                    if r.details and (r.from_pk not in out or r.seq < out[r.from_pk][0]):
                        m = json.loads(r.details)
                        out[r.from_pk] = (r.seq, self._row_to_asset(_Mapped(m)))  # type: ignore[arg-type]
        return {pk: asset for pk, (_, asset) in out.items()}

    def get_assets_by_ids(self, ids: Iterable[str]) -> dict[str, Asset]:
        out: dict[str, Asset] = {}
        wanted = list(dict.fromkeys(ids))
        with self._quick_read() as conn:
            for chunk in _chunks(wanted):
                for row in conn.execute(select(s.assets).where(s.assets.c.id.in_(list(chunk)))):
                    out[row.id] = self._row_to_asset(row)
        return out

    def get_assets_by_keys(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Asset]:
        """Assets by (type, FQN) in bulk; keys that match nothing are left out."""
        with self.read() as conn:
            rows = self._rows_by_keys(conn, list(keys))
        return {key: self._row_to_asset(row) for key, row in rows.items()}

    def list_assets(
        self,
        *,
        types: Sequence[str] | None = None,
        q: str | None = None,
        parent_pk: int | None = None,
        fqn_prefix: str | None = None,
        include_deleted: bool = False,
        deleted_only: bool = False,
        limit: int = 10,
        offset: int = 0,
        after_pk: int | None = None,
        with_total: bool = True,
    ) -> tuple[list[Asset], int]:
        """A page of assets ordered by pk, filtered by type, name/FQN substring, parent or prefix."""
        conds: list[Any] = []
        if types:
            conds.append(s.assets.c.type.in_(list(types)))
        if q:
            pattern = f"%{_like_escape(q.lower())}%"
            conds.append(
                or_(
                    func.lower(s.assets.c.name).like(pattern, escape="\\"),
                    func.lower(s.assets.c.fqn).like(pattern, escape="\\"),
                )
            )
        if parent_pk is not None:
            conds.append(s.assets.c.parent_pk == parent_pk)
        if fqn_prefix:
            conds.append(s.assets.c.fqn.like(_like_escape(fqn_prefix) + "%", escape="\\"))
        if deleted_only:
            conds.append(s.assets.c.deleted.is_(True))
        elif not include_deleted:
            conds.append(s.assets.c.deleted.is_(False))
        where = and_(*conds) if conds else None
        stmt = select(s.assets)
        if where is not None:
            stmt = stmt.where(where)
        if after_pk is not None:
            stmt = stmt.where(s.assets.c.pk > after_pk)
        stmt = stmt.order_by(s.assets.c.pk).limit(limit).offset(offset)
        with self.read() as conn:
            rows = conn.execute(stmt).all()
            total = 0
            if with_total:
                count = select(func.count()).select_from(s.assets)
                if where is not None:
                    count = count.where(where)
                total = int(conn.execute(count).scalar_one())
        return [self._row_to_asset(r) for r in rows], total

    def children_of(
        self, parent_pks: Sequence[int], types: Sequence[str] | None = None
    ) -> dict[int, list[Asset]]:
        """Children of each parent, in position order (columns keep their ordinal order)."""
        out: dict[int, list[Asset]] = {pk: [] for pk in parent_pks}
        with self.read() as conn:
            for chunk in _chunks(list(parent_pks)):
                stmt = select(s.assets).where(s.assets.c.parent_pk.in_(list(chunk)))
                if types:
                    stmt = stmt.where(s.assets.c.type.in_(list(types)))
                for row in conn.execute(stmt.order_by(s.assets.c.pk)):
                    out[row.parent_pk].append(self._row_to_asset(row))
        for kids in out.values():
            kids.sort(key=lambda a: (a.attributes.get("ordinalPosition") or 0, a.pk))
        return out

    def columns_of(self, parent_pks: Sequence[int]) -> dict[int, list[Asset]]:
        return self.children_of(parent_pks, [AssetType.COLUMN.value])

    def column_fqns_of(self, parent_pk: int) -> set[str]:
        """Every column FQN under an asset, nested columns included."""
        out: set[str] = set()
        frontier = [parent_pk]
        while frontier:
            kids = self.columns_of(frontier)
            frontier = []
            for cols in kids.values():
                for col in cols:
                    out.add(col.fqn)
                    frontier.append(col.pk)
        return out

    def update_asset_fields(self, pk: int, actor: str | None, **fields: Any) -> Asset:
        """Set plain fields (name, display_name, description, attributes dict) of one asset."""
        values: dict[str, Any] = {}
        with self.write() as conn:
            row = conn.execute(
                select(s.assets.c.version, s.assets.c.attributes).where(s.assets.c.pk == pk)
            ).first()
            if row is None:
                raise NotFoundError(f"asset {pk} not found")
            for key, value in fields.items():
                if key == "attributes":
                    sealed = self.secrets.seal(value, json.loads(row.attributes or "{}"))
                    values[key] = json.dumps(sealed, sort_keys=True, default=str)
                else:
                    values[key] = value
            values.update(version=round(row.version + 0.1, 1), updated_at=now_ms(), updated_by=actor)
            conn.execute(update(s.assets).where(s.assets.c.pk == pk).values(values))
        asset = self.get_asset_by_pk(pk)
        assert asset is not None
        return asset

    def descendants(self, conn: Connection, pk: int) -> list[int]:
        out: list[int] = []
        frontier = [pk]
        while frontier:
            kids: list[int] = []
            for chunk in _chunks(frontier):
                kids.extend(
                    r.pk
                    for r in conn.execute(select(s.assets.c.pk).where(s.assets.c.parent_pk.in_(list(chunk))))
                )
            out.extend(kids)
            frontier = kids
        return out

    def has_non_column_children(self, pk: int) -> bool:
        with self.read() as conn:
            row = conn.execute(
                select(s.assets.c.pk)
                .where(
                    s.assets.c.parent_pk == pk,
                    s.assets.c.type != AssetType.COLUMN.value,
                    s.assets.c.deleted.is_(False),
                )
                .limit(1)
            ).first()
        return row is not None

    def soft_delete_asset(self, pk: int, actor: str | None = None, *, recursive: bool = True) -> list[int]:
        """Mark an asset (and its descendants) deleted; its edges are hidden, not removed."""
        ts = now_ms()
        with self.write() as conn:
            pks = [pk, *(self.descendants(conn, pk) if recursive else [])]
            for chunk in _chunks(pks):
                conn.execute(
                    update(s.assets)
                    .where(s.assets.c.pk.in_(list(chunk)), s.assets.c.deleted.is_(False))
                    .values(deleted=True, updated_at=ts, updated_by=actor)
                )
            self._append_log(conn, [{"at": ts, "kind": "asset_delete", "from_pk": p} for p in pks])
        return pks

    def restore_asset(self, pk: int, actor: str | None = None) -> None:
        ts = now_ms()
        with self.write() as conn:
            pks = [pk, *self.descendants(conn, pk)]
            for chunk in _chunks(pks):
                conn.execute(
                    update(s.assets)
                    .where(s.assets.c.pk.in_(list(chunk)))
                    .values(deleted=False, updated_at=ts, updated_by=actor)
                )
            self._append_log(conn, [{"at": ts, "kind": "asset_restore", "from_pk": p} for p in pks])

    def hard_delete_asset(self, pk: int) -> list[int]:
        """Remove an asset, its descendants and every edge touching them, for good."""
        ts = now_ms()
        with self.write() as conn:
            pks = [pk, *self.descendants(conn, pk)]
            self._purge_assets(conn, pks, ts)
        return pks

    def _purge_assets(self, conn: Connection, pks: Sequence[int], ts: int) -> None:
        for chunk in _chunks(list(pks)):
            ids = list(chunk)
            pairs = conn.execute(
                select(s.edges.c.from_pk, s.edges.c.to_pk).where(
                    or_(s.edges.c.from_pk.in_(ids), s.edges.c.to_pk.in_(ids))
                )
            ).all()
            self._remove_pairs(conn, [(p.from_pk, p.to_pk) for p in pairs], ts)
            # edges powered by a removed pipeline lose that reference
            powered = conn.execute(select(s.edge_details).where(s.edge_details.c.pipeline_pk.in_(ids))).all()
            for row in powered:
                details = json.loads(row.details)
                details.pop("pipeline", None)
                self._write_details(
                    conn, row.from_pk, row.to_pk, row.source, details, None, row.created_at, ts
                )
            # the purge entry keeps a copy of the row, so lineage read as of earlier still shows it
            rows = {r.pk: r._mapping for r in conn.execute(select(s.assets).where(s.assets.c.pk.in_(ids)))}
            conn.execute(delete(s.assets).where(s.assets.c.pk.in_(ids)))
            self._append_log(
                conn,
                [
                    {
                        "at": ts,
                        "kind": "asset_purge",
                        "from_pk": p,
                        "details": json.dumps(dict(rows[p])) if p in rows else None,
                    }
                    for p in ids
                ],
            )

    # -- lineage edges ------------------------------------------------------------------------

    def put_edges(
        self, writes: Sequence[EdgeWrite], actor: str | None = None, *, conn: Connection | None = None
    ) -> list[bool]:
        """Add or replace edge details (per source); returns for each write whether the pair is new."""
        if conn is None:
            return self.retrying(lambda c: self._put_edges(c, writes, actor))
        return self._put_edges(conn, writes, actor)

    def _put_edges(self, conn: Connection, writes: Sequence[EdgeWrite], actor: str | None) -> list[bool]:
        ts = now_ms()
        pairs = list(dict.fromkeys([(w.from_pk, w.to_pk) for w in writes]))
        existing_pairs: dict[tuple[int, int], Any] = {}
        existing_details: dict[tuple[int, int, str], int] = {}
        for row in self._rows_matching(
            conn, "edges", ("from_pk", "to_pk"), pairs, ("from_pk", "to_pk", "description")
        ):
            existing_pairs[(row.from_pk, row.to_pk)] = row.description
        if existing_pairs:
            for drow in self._rows_matching(
                conn,
                "edge_details",
                ("from_pk", "to_pk"),
                list(existing_pairs),
                ("from_pk", "to_pk", "source", "created_at"),
            ):
                existing_details[(drow.from_pk, drow.to_pk, drow.source)] = drow.created_at
        # rows as tuples in column order (see _EDGE_COLS, _DETAIL_COLS, _LOG_KEYS)
        new_pairs: list[tuple[Any, ...]] = []
        seen_new: set[tuple[int, int]] = set()
        desc_updates: list[dict[str, Any]] = []
        detail_inserts: list[tuple[Any, ...]] = []
        detail_updates: list[dict[str, Any]] = []
        log: list[tuple[Any, ...]] = []
        result: list[bool] = []
        batch_details: set[tuple[int, int, str]] = set()
        encode = _DetailsText(actor, ts)
        known = encode.known
        with _gc_paused():  # only while rows are built: not across lock waits or SQL
            for w in writes:
                f, t = w.from_pk, w.to_pk
                pair = (f, t)
                existed = pair in existing_pairs
                result.append(not existed)
                details = w.details
                info = known.get(id(details))  # source and new-edge text, once per details object
                if info is None:
                    info = known[id(details)] = [details.source.value, None]
                source = info[0]
                key = (f, t, source)
                if existed and key in existing_details:
                    text = encode.text(details, existing_details[key] or ts)
                else:
                    text = info[1]
                    if text is None:  # first use of this details object for a new edge
                        text = info[1] = encode.encode(details, ts, source)
                if not existed and pair not in seen_new:
                    # a new pair: one row, one log entry (`edge_add` carrying its first details)
                    seen_new.add(pair)
                    new_pairs.append((f, t, w.description, ts))
                    batch_details.add(key)
                    detail_inserts.append((f, t, source, text, w.pipeline_pk, ts, ts))
                    log.append((ts, "edge_add", f, t, source, text))
                    continue
                if w.description is not None and existing_pairs.get(pair) != w.description:
                    desc_updates.append({"b_from": f, "b_to": t, "description": w.description})
                if key in existing_details or key in batch_details:
                    detail_updates.append(
                        {
                            "b_from_pk": f,
                            "b_to_pk": t,
                            "b_source": source,
                            "details": text,
                            "pipeline_pk": w.pipeline_pk,
                            "updated_at": ts,
                        }
                    )
                else:
                    batch_details.add(key)
                    detail_inserts.append((f, t, source, text, w.pipeline_pk, ts, ts))
                log.append((ts, "details_put", f, t, source, text))
        self._insert_rows(conn, s.edges, _EDGE_COLS, new_pairs)
        if desc_updates:
            conn.execute(
                update(s.edges)
                .where(s.edges.c.from_pk == bindparam("b_from"), s.edges.c.to_pk == bindparam("b_to"))
                .values(description=bindparam("description")),
                desc_updates,
            )
        # On SQLite, when every log entry is the `edge_add` of a new pair (the usual bulk load),
        # the entries are exactly the details rows inserted below, in the same order: copy them
        # inside SQLite instead of binding each details text a second time (half the log's cost).
        copy_log = self.dialect == "sqlite" and len(log) == len(detail_inserts) == len(new_pairs) > 0
        if copy_log:
            # rows inserted in this write transaction get the rowids after the current largest
            last = conn.exec_driver_sql("SELECT coalesce(max(rowid), 0) FROM edge_details").scalar()
        self._insert_rows(conn, s.edge_details, _DETAIL_COLS, detail_inserts)
        if detail_updates:
            conn.execute(
                update(s.edge_details)
                .where(
                    s.edge_details.c.from_pk == bindparam("b_from_pk"),
                    s.edge_details.c.to_pk == bindparam("b_to_pk"),
                    s.edge_details.c.source == bindparam("b_source"),
                )
                .values(
                    details=bindparam("details"),
                    pipeline_pk=bindparam("pipeline_pk"),
                    updated_at=bindparam("updated_at"),
                ),
                detail_updates,
            )
        if copy_log:
            copied = conn.exec_driver_sql(
                "INSERT INTO lineage_log (at, kind, from_pk, to_pk, source, details) "
                "SELECT ?, 'edge_add', from_pk, to_pk, source, details FROM edge_details "
                "WHERE rowid > ? ORDER BY rowid",
                (ts, last),
            ).rowcount
            if copied != len(log):  # rowids not handed out in order (never seen): roll back
                raise RuntimeError(f"copied {copied} log entries for {len(log)} new edges")
        else:
            self._append_log_rows(conn, log)
        return result

    def _write_details(
        self,
        conn: Connection,
        from_pk: int,
        to_pk: int,
        source: str,
        details: dict[str, Any],
        pipeline_pk: int | None,
        created_at: int,
        ts: int,
    ) -> None:
        text = dumps_sorted(details)
        conn.execute(
            update(s.edge_details)
            .where(
                s.edge_details.c.from_pk == from_pk,
                s.edge_details.c.to_pk == to_pk,
                s.edge_details.c.source == source,
            )
            .values(details=text, pipeline_pk=pipeline_pk, updated_at=ts)
        )
        self._append_log(
            conn,
            [
                {
                    "at": ts,
                    "kind": "details_put",
                    "from_pk": from_pk,
                    "to_pk": to_pk,
                    "source": source,
                    "details": text,
                }
            ],
        )

    def _remove_pairs(self, conn: Connection, pairs: Sequence[tuple[int, int]], ts: int) -> int:
        if not pairs:
            return 0
        log: list[dict[str, Any]] = []
        for chunk in _chunks(list(pairs)):
            rows = self._rows_matching(
                conn, "edge_details", ("from_pk", "to_pk"), chunk, ("from_pk", "to_pk", "source")
            )
            log.extend(
                {
                    "at": ts,
                    "kind": "details_remove",
                    "from_pk": r.from_pk,
                    "to_pk": r.to_pk,
                    "source": r.source,
                }
                for r in rows
            )
            # one indexed delete per pair (a row-value IN would scan the table on SQLite)
            keys = [{"b_from": f, "b_to": t} for f, t in chunk]
            for table in (s.edge_details, s.edges):
                conn.execute(
                    delete(table).where(
                        table.c.from_pk == bindparam("b_from"), table.c.to_pk == bindparam("b_to")
                    ),
                    keys,
                )
            log.extend({"at": ts, "kind": "edge_remove", "from_pk": f, "to_pk": t} for f, t in chunk)
        self._append_log(conn, log)
        return len(pairs)

    def delete_edge(self, from_pk: int, to_pk: int) -> bool:
        """Remove a pair and all its details; False when there was no such edge."""
        with self.write() as conn:
            exists = conn.execute(
                select(s.edges.c.from_pk).where(s.edges.c.from_pk == from_pk, s.edges.c.to_pk == to_pk)
            ).first()
            if exists is None:
                return False
            self._remove_pairs(conn, [(from_pk, to_pk)], now_ms())
        return True

    def delete_edge_details(self, from_pk: int, to_pk: int, sources: Sequence[str]) -> int:
        """Remove the details of some sources; the pair goes when no source is left."""
        with self.write() as conn:
            return self._delete_details(conn, [(from_pk, to_pk, src) for src in sources], now_ms())

    def remove_edge_details(
        self, keys: Sequence[tuple[int, int, str]], *, conn: Connection | None = None
    ) -> int:
        """Remove the details of many (from, to, source) keys; a pair goes when no source is left."""
        if conn is None:
            with self.write() as c:
                return self._delete_details(c, keys, now_ms())
        return self._delete_details(conn, keys, now_ms())

    def _delete_details(self, conn: Connection, keys: Sequence[tuple[int, int, str]], ts: int) -> int:
        removed = 0
        touched: set[tuple[int, int]] = set()
        log: list[dict[str, Any]] = []
        for f, t, src in keys:
            res = conn.execute(
                delete(s.edge_details).where(
                    s.edge_details.c.from_pk == f, s.edge_details.c.to_pk == t, s.edge_details.c.source == src
                )
            )
            if res.rowcount:
                removed += 1
                touched.add((f, t))
                log.append({"at": ts, "kind": "details_remove", "from_pk": f, "to_pk": t, "source": src})
        for f, t in touched:
            left = conn.execute(
                select(s.edge_details.c.source)
                .where(s.edge_details.c.from_pk == f, s.edge_details.c.to_pk == t)
                .limit(1)
            ).first()
            if left is None:
                conn.execute(delete(s.edges).where(s.edges.c.from_pk == f, s.edges.c.to_pk == t))
                log.append({"at": ts, "kind": "edge_remove", "from_pk": f, "to_pk": t})
        self._append_log(conn, log)
        return removed

    def delete_edges_into_by_source(self, to_pk: int, source: str) -> int:
        """Remove the `source` details of every edge into `to_pk` (OpenMetadata's delete-by-source)."""
        with self.write() as conn:
            from_pks = conn.execute(self._upstream_by_source(to_pk, source)).scalars().all()
            return self._delete_details(conn, [(f, to_pk, source) for f in from_pks], now_ms())

    def upstream_pks_by_source(self, to_pk: int, source: str) -> list[int]:
        """The assets with an edge into `to_pk` that has details from `source`."""
        with self.read() as conn:
            return list(conn.execute(self._upstream_by_source(to_pk, source)).scalars())

    @staticmethod
    def _upstream_by_source(to_pk: int, source: str) -> Any:
        """`from_pk` of the edges into `to_pk` with details from `source` (through `ix_edges_to_pk`)."""
        return (
            select(s.edge_details.c.from_pk)
            .select_from(s.details_by_target())
            .where(s.edges.c.to_pk == to_pk, s.edge_details.c.source == source)
        )

    def delete_edges_by_pipeline(self, pipeline_pk: int) -> int:
        """Remove the details of every edge powered by a pipeline (delete-by-source PipelineLineage)."""
        with self.write() as conn:
            rows = conn.execute(
                select(s.edge_details.c.from_pk, s.edge_details.c.to_pk, s.edge_details.c.source).where(
                    s.edge_details.c.pipeline_pk == pipeline_pk
                )
            ).all()
            return self._delete_details(conn, [(r.from_pk, r.to_pk, r.source) for r in rows], now_ms())

    def edges_by_pipeline(self, pipeline_pks: Sequence[int]) -> list[tuple[int, int]]:
        with self.read() as conn:
            rows = conn.execute(
                select(s.edge_details.c.from_pk, s.edge_details.c.to_pk)
                .where(s.edge_details.c.pipeline_pk.in_(list(pipeline_pks)))
                .distinct()
            ).all()
        return [(r.from_pk, r.to_pk) for r in rows]

    def get_edge(self, from_pk: int, to_pk: int) -> EdgeView | None:
        return self.get_edges([(from_pk, to_pk)]).get((from_pk, to_pk))

    def get_edges(self, pairs: Sequence[tuple[int, int]]) -> dict[tuple[int, int], EdgeView]:
        """The edges among the given pairs that exist, with every source's details."""
        out: dict[tuple[int, int], EdgeView] = {}
        for pair, (description, texts) in self.get_edge_rows(pairs).items():
            found = [LineageDetails.model_validate_json(t) for t in texts]
            if len(found) > 1:
                found.sort(key=lambda d: d.updatedAt or 0)
            out[pair] = EdgeView(from_pk=pair[0], to_pk=pair[1], details=found, edge_description=description)
        return out

    def get_edge_rows(
        self, pairs: Sequence[tuple[int, int]]
    ) -> dict[tuple[int, int], tuple[str | None, list[str]]]:
        """The edges among the given pairs that exist: description and each source's details as
        stored (JSON text), unparsed, for readers that want no pydantic model per detail."""
        out: dict[tuple[int, int], tuple[str | None, list[str]]] = {}
        unique = list(dict.fromkeys(pairs))
        with self._quick_read() as conn:
            # pairs and their details in one statement: one row per detail
            for row in self._rows_matching(
                conn,
                "edges",
                ("from_pk", "to_pk"),
                unique,
                ("from_pk", "to_pk", "description", "d.details"),
                join="LEFT JOIN edge_details AS d ON d.from_pk = t.from_pk AND d.to_pk = t.to_pk",
            ):
                f, t, description, details = row.from_pk, row.to_pk, row.description, row.details
                entry = out.get((f, t))
                if entry is None:
                    entry = out[(f, t)] = (description, [])
                if details is not None:
                    entry[1].append(details)
        return out

    def edge_pairs_touching(self, pks: Sequence[int]) -> list[tuple[int, int]]:
        with self.read() as conn:
            out: list[tuple[int, int]] = []
            for chunk in _chunks(list(pks)):
                ids = list(chunk)
                rows = conn.execute(
                    select(s.edges.c.from_pk, s.edges.c.to_pk).where(
                        or_(s.edges.c.from_pk.in_(ids), s.edges.c.to_pk.in_(ids))
                    )
                ).all()
                out.extend((r.from_pk, r.to_pk) for r in rows)
        return list(dict.fromkeys(out))

    # -- graph index support ------------------------------------------------------------------

    def iter_edge_pairs(self, batch: int = 200_000) -> Iterator[list[tuple[int, int]]]:
        """All connected pairs, in batches (used to build an in-memory index)."""
        with self.read() as conn:
            # the driver's own cursor (a server-side one on PostgreSQL): plain tuples, no Row
            # objects, about four times faster for the millions of rows of a rebuild
            raw = conn.connection.driver_connection
            assert raw is not None
            cur = raw.cursor(name="headwater_edge_pairs") if self.dialect == "postgresql" else raw.cursor()
            try:
                cur.execute("SELECT from_pk, to_pk FROM edges")
                while rows := cur.fetchmany(batch):
                    yield rows
            finally:
                cur.close()

    def edge_pair_arrays(self, step: int = 250_000) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Every connected pair as two arrays (from, to), fetched in bulk for the graph index."""
        src, dst, _ = self._edge_arrays(step, with_created=False)
        return src, dst

    def edge_arrays_with_times(
        self, step: int = 250_000
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Every connected pair (from, to) and its `created_at`: the `at` of the pair's newest
        `edge_add` log entry (the store writes both with one timestamp, and a removed pair's row
        goes, so a pair added again has the time of its last addition)."""
        src, dst, created = self._edge_arrays(step, with_created=True)
        assert created is not None
        return src, dst, created

    def _edge_arrays(
        self, step: int, *, with_created: bool
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64] | None]:
        """No Python object per row: per range of `from_pk`, the database concatenates the pairs into
        one value (big-endian int32/int64 bytes on PostgreSQL, comma-separated text on SQLite) that
        numpy reads in one go.
        """
        width = 3 if with_created else 2
        if self.dialect == "postgresql":
            chunks: list[bytes] = []
            value = "int4send(from_pk) || int4send(to_pk)" + (
                " || int8send(created_at)" if with_created else ""
            )
            with self.read() as conn:
                top = conn.exec_driver_sql("SELECT max(from_pk) FROM edges").scalar()
                for lo in range(0, int(top or 0) + 1, step):
                    data = conn.exec_driver_sql(
                        f"SELECT string_agg({value}, ''::bytea) FROM edges"
                        " WHERE from_pk >= %(lo)s AND from_pk < %(hi)s",
                        {"lo": lo, "hi": lo + step},
                    ).scalar()
                    if data:
                        chunks.append(bytes(data))
            fields = [("f", ">i4"), ("t", ">i4")] + ([("c", ">i8")] if with_created else [])
            rec = np.frombuffer(b"".join(chunks), dtype=np.dtype(fields))
            created = rec["c"].astype(np.int64) if with_created else None
            return rec["f"].astype(np.int64), rec["t"].astype(np.int64), created
        if self.dialect == "sqlite":
            parts: list[npt.NDArray[np.int64]] = []
            value = "from_pk || ',' || to_pk" + (" || ',' || created_at" if with_created else "")
            with self.read() as conn:
                top = conn.exec_driver_sql("SELECT max(from_pk) FROM edges").scalar()
                for lo in range(0, int(top or 0) + 1, step):
                    text = conn.exec_driver_sql(
                        f"SELECT group_concat({value}, ',') FROM edges WHERE from_pk >= ? AND from_pk < ?",
                        (lo, lo + step),
                    ).scalar()
                    if text:
                        parts.append(np.fromstring(text, dtype=np.int64, sep=","))
            flat = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
            created = flat[2::3].copy() if with_created else None
            return flat[0::width].copy(), flat[1::width].copy(), created
        cols = [s.edges.c.from_pk, s.edges.c.to_pk] + ([s.edges.c.created_at] if with_created else [])
        with self.read() as conn:
            rows = [tuple(r) for r in conn.execute(select(*cols))]
        arr = np.array(rows, dtype=np.int64).reshape(-1, width)
        return arr[:, 0].copy(), arr[:, 1].copy(), arr[:, 2].copy() if with_created else None

    def log_changes(self, after: int = 0) -> list[tuple[int, int, str, int, int | None]]:
        """(seq, at, kind, from_pk, to_pk) of every `edge_remove` and asset entry after `after`, in
        seq order, through the partial index `ix_lineage_log_changes` (not a scan of the log)."""
        sql = (
            "SELECT seq, at, kind, from_pk, to_pk FROM lineage_log"
            f" WHERE {s.LOG_CHANGES_WHERE} AND seq > :after ORDER BY seq"
        )
        with self.read() as conn:
            rows = conn.execute(sql_text(sql), {"after": int(after)}).all()
        return [(r.seq, r.at, r.kind, r.from_pk, r.to_pk) for r in rows]

    def details_changes(self) -> list[tuple[int, int, int]]:
        """(from_pk, to_pk, at) of every current pair whose details were put or removed after it was
        added, with the newest such `at`: grouped from the partial index `ix_lineage_log_details`
        alone, so pairs whose only details entry came with their addition (logs written before the
        one-entry `edge_add`) cost an index entry read, not a log row. Pairs gone since are left out
        (their removal is in the graph index's edge history)."""
        sql = (
            "SELECT d.from_pk, d.to_pk, d.changed FROM"
            " (SELECT from_pk, to_pk, max(at) AS changed FROM lineage_log"
            f" WHERE {s.LOG_DETAILS_WHERE} GROUP BY from_pk, to_pk) AS d"
            " JOIN edges AS e ON e.from_pk = d.from_pk AND e.to_pk = d.to_pk"
            " WHERE d.changed > e.created_at"
        )
        with self.read() as conn:
            rows = conn.execute(sql_text(sql)).all()
        return [(r.from_pk, r.to_pk, r.changed) for r in rows]

    def edge_log_of_pairs(self, pairs: Sequence[tuple[int, int]]) -> list[tuple[int, int, str, int, int]]:
        """(seq, at, kind, from_pk, to_pk) of every `edge_add`/`edge_remove` of the pairs, in seq order
        (one `ix_lineage_log_pair` lookup per pair)."""
        with self.read() as conn:
            rows = self._rows_matching(
                conn, "lineage_log", ("from_pk", "to_pk"), pairs, ("seq", "at", "kind", "from_pk", "to_pk")
            )
        out = [
            (r.seq, r.at, r.kind, r.from_pk, r.to_pk) for r in rows if r.kind in ("edge_add", "edge_remove")
        ]
        out.sort()
        return out

    def deleted_pks(self) -> set[int]:
        with self.read() as conn:
            return {r.pk for r in conn.execute(select(s.assets.c.pk).where(s.assets.c.deleted.is_(True)))}

    def max_asset_pk(self) -> int:
        with self.read() as conn:
            return int(conn.execute(select(func.coalesce(func.max(s.assets.c.pk), 0))).scalar_one())

    def max_log_seq(self) -> int:
        """The newest lineage log seq: cheap enough to ask before every graph read."""
        return self._log_head.get()

    def log_watch(self) -> LogWatch | None:
        """The lineage log listener (PostgreSQL; started on first use), which lets graph indexes
        skip `max_log_seq` on reads while nothing was written; None on other databases."""
        if self._log_watch is None and self.dialect == "postgresql" and logwatch.WINDOW > 0:
            with self._watch_lock:
                if self._log_watch is None:
                    self._log_watch = LogWatch(self.engine)
        return self._log_watch

    def log_since(
        self, seq: int, kinds: Sequence[str] | None = None, limit: int = 100_000, *, details: bool = True
    ) -> list[LogEntry]:
        """Log entries after `seq`, in order; `details=False` leaves out the details text (None),
        for readers that only follow the edge set (a new pair's `edge_add` carries its details)."""
        log = s.lineage_log
        columns = [log.c.seq, log.c.at, log.c.kind, log.c.from_pk, log.c.to_pk, log.c.source]
        stmt = select(*columns, log.c.details if details else literal_column("NULL").label("details"))
        stmt = stmt.where(log.c.seq > seq)
        if kinds:
            stmt = stmt.where(log.c.kind.in_(list(kinds)))
        with self.read() as conn:
            rows = conn.execute(stmt.order_by(log.c.seq).limit(limit)).all()
        return [LogEntry(r.seq, r.at, r.kind, r.from_pk, r.to_pk, r.source, r.details) for r in rows]

    def count(self, table: str) -> int:
        with self.read() as conn:
            return int(conn.execute(select(func.count()).select_from(s.metadata.tables[table])).scalar_one())

    # -- settings -----------------------------------------------------------------------------

    def get_setting(self, key: str) -> str | None:
        with self.read() as conn:
            row = conn.execute(select(s.settings.c.value).where(s.settings.c.key == key)).first()
        return row.value if row else None

    def get_or_create_setting(self, key: str, factory: Any) -> str:
        """Read a setting, creating it once (race-safe across processes) with `factory()`."""
        value = self.get_setting(key)
        if value is not None:
            return value
        try:
            with self.write() as conn:
                conn.execute(insert(s.settings).values(key=key, value=factory()))
        except Exception:  # another process won the race
            pass
        value = self.get_setting(key)
        assert value is not None
        return value

    def set_setting(self, key: str, value: str) -> None:
        with self.write() as conn:
            if conn.execute(select(s.settings.c.key).where(s.settings.c.key == key)).first():
                conn.execute(update(s.settings).where(s.settings.c.key == key).values(value=value))
            else:
                conn.execute(insert(s.settings).values(key=key, value=value))

    # -- tokens -------------------------------------------------------------------------------

    def add_token(
        self, jti: str, name: str, role: str, expires_at: int | None, scope: str | None = None
    ) -> None:
        with self.write() as conn:
            conn.execute(
                insert(s.tokens).values(
                    jti=jti, name=name, role=role, scope=scope, created_at=now_ms(), expires_at=expires_at
                )
            )

    def get_token(self, jti: str) -> dict[str, Any] | None:
        with self.read() as conn:
            row = conn.execute(select(s.tokens).where(s.tokens.c.jti == jti)).first()
        return dict(row._mapping) if row else None

    def list_tokens(self) -> list[dict[str, Any]]:
        with self.read() as conn:
            return [dict(r._mapping) for r in conn.execute(select(s.tokens).order_by(s.tokens.c.created_at))]

    def revoke_token(self, jti: str) -> bool:
        with self.write() as conn:
            res = conn.execute(
                update(s.tokens)
                .where(s.tokens.c.jti == jti, s.tokens.c.revoked_at.is_(None))
                .values(revoked_at=now_ms())
            )
        return bool(res.rowcount)


def default_source(details: LineageDetails) -> LineageSource:
    return details.source
