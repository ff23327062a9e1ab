"""OpenLineage events sent to Atlan's path, projected into Atlan assets.

The OpenLineage router owns `POST /events/openlineage/{connector}/api/v1/lineage`: it validates
each event, answers 202 once the event is in the durable `raw_events` log (transport
`http:atlan:{connector}`), and its translator derives run state and lineage from it. This module
follows the same log (its own cursor) and adds what Atlan makes of such an event:

- the job's namespace names an existing Connection (by name, preferring the path's connector);
- each dataset becomes a Table under that connection, `{connectionQN}/{DB}/{SCHEMA}/{TABLE}`,
  created as a partial asset (`isPartial`) when it does not exist yet and completed (same guid)
  when its metadata is saved later;
- the job becomes a Process `{connectionQN}/{job name}` whose inputs and outputs accumulate over
  the events of its runs;
- each output column of a `columnLineage` facet becomes a ColumnProcess
  `{processQN}/{output dataset}/{column}` from its input columns, parented by the Process;
- each dataset's OpenLineage (namespace, name) is mapped to its Table in `ol_datasets`, so the
  translator (which waits for this projector's cursor) puts runs, edges and column lineage on
  the same assets instead of creating a second copy of each dataset. A dataset already mapped
  (seen earlier on another path) keeps its mapping.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import select

from headwater.atlan.entities import parse_bulk
from headwater.atlan.errors import AtlasError
from headwater.atlan.mutate import AtlanWriter
from headwater.atlan.render import atlan_attributes
from headwater.model.types import AssetType
from headwater.openlineage import tables as olt
from headwater.openlineage.naming import canonical
from headwater.openlineage.translate import ATLAN_PROJECTION_CURSOR as CURSOR_KEY
from headwater.openlineage.translate import ATLAN_TRANSPORT_PREFIX as TRANSPORT_PREFIX
from headwater.openlineage.translate import insert_ignore
from headwater.store import Store, now_ms
from headwater.store import schema as s

log = logging.getLogger(__name__)

_SETTLE_MS = 10_000
ACTOR = "openlineage"


def _partial(type_name: str, qualified_name: str) -> dict[str, Any]:
    return {
        "typeName": type_name,
        "uniqueAttributes": {"qualifiedName": qualified_name},
        "attributes": {"isPartial": True},
    }


def dataset_qualified_name(connection_qn: str, name: str) -> str:
    """`DB.SCHEMA.TABLE` (or a path) under the connection, one segment per part."""
    parts = [p for p in name.replace("/", ".").split(".") if p]
    return "/".join([connection_qn, *parts]) if parts else f"{connection_qn}/{name}"


def dataset_asset(connection_qn: str, namespace: str, name: str) -> tuple[str, str]:
    """(typeName, qualifiedName) of a dataset under the connection.

    The OpenLineage package's naming rules tell a table (database, schema and table parts, per
    the namespace's scheme) from a topic or a file/object; tables become `Table`s one segment per
    part, topics `KafkaTopic`s and files `S3Object`s keeping their name as one segment.
    """
    from headwater.openlineage.naming import canonical

    try:
        ident = canonical(namespace, name)
    except Exception:  # a name the naming rules reject: keep the plain split
        return "Table", dataset_qualified_name(connection_qn, name)
    if ident.kind == "table" and ident.table:
        parts = [p for p in (ident.database, ident.schema, ident.table) if p]
        return "Table", "/".join([connection_qn, *parts])
    if ident.kind == "topic":
        return "KafkaTopic", f"{connection_qn}/{name}"
    if ident.kind == "table":
        return "Table", dataset_qualified_name(connection_qn, name)
    return "S3Object", f"{connection_qn}/{name.lstrip('/')}"


class ConnectionFinder:
    """Connections by name, cached per projection pass."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[tuple[str, str], str | None] = {}

    def find(self, name: str, connector: str) -> str | None:
        key = (name, connector)
        if key not in self._cache:
            found, _ = self.store.list_assets(
                types=[AssetType.CONNECTION.value], q=name, limit=1000, with_total=False
            )
            named = [a for a in found if a.name == name]
            preferred = [a for a in named if atlan_attributes(a).get("connectorName") == connector]
            candidates = preferred or named
            self._cache[key] = candidates[0].fqn if candidates else None
        return self._cache[key]


def entities_for_event(event: Any, connection_qn: str) -> list[dict[str, Any]]:
    """The Atlan entities one OpenLineage run event means (empty for dataset/job events)."""
    job = getattr(event, "job", None)
    if job is None or getattr(event, "run", None) is None:
        return []
    connector = connection_qn.split("/")[1]
    process_qn = f"{connection_qn}/{job.name}"
    common = {"connectionQualifiedName": connection_qn, "connectorName": connector}
    inputs = [_partial(*dataset_asset(connection_qn, d.namespace, d.name)) for d in event.inputs]
    outputs = [_partial(*dataset_asset(connection_qn, d.namespace, d.name)) for d in event.outputs]
    process: dict[str, Any] = {
        "typeName": "Process",
        "attributes": {
            "qualifiedName": process_qn,
            "name": job.name,
            "processDerivation": "RUNTIME",
            **common,
        },
    }
    append: dict[str, Any] = {}
    if inputs:
        append["inputs"] = inputs
    if outputs:
        append["outputs"] = outputs
    if append:
        process["appendRelationshipAttributes"] = append
    sql = job.facets.get("sql") if isinstance(job.facets, dict) else None
    query = getattr(sql, "query", None) or (sql.get("query") if isinstance(sql, dict) else None)
    if query:
        process["attributes"]["sql"] = query
    entities = [process]
    for ds in event.outputs:
        cll = ds.facets.get("columnLineage") if isinstance(ds.facets, dict) else None
        fields = getattr(cll, "fields", None) or (cll.get("fields") if isinstance(cll, dict) else None)
        if not fields:
            continue
        _, out_qn = dataset_asset(connection_qn, ds.namespace, ds.name)
        for column, spec in fields.items():
            input_fields = getattr(spec, "inputFields", None)
            if input_fields is None and isinstance(spec, dict):
                input_fields = spec.get("inputFields")
            col_inputs = []
            for f in input_fields or []:
                fname = getattr(f, "name", None) or (f.get("name") if isinstance(f, dict) else None)
                fns = getattr(f, "namespace", None) or (f.get("namespace") if isinstance(f, dict) else None)
                ffield = getattr(f, "field", None) or (f.get("field") if isinstance(f, dict) else None)
                if fname and ffield:
                    in_qn = dataset_asset(connection_qn, str(fns or ds.namespace), fname)[1]
                    col_inputs.append(_partial("Column", f"{in_qn}/{ffield}"))
            if not col_inputs:
                continue
            entities.append(
                {
                    "typeName": "ColumnProcess",
                    "attributes": {
                        "qualifiedName": f"{process_qn}/{ds.name}/{column}",
                        "name": f"{job.name}: {ds.name}.{column}",
                        "process": {"typeName": "Process", "uniqueAttributes": {"qualifiedName": process_qn}},
                        "outputs": [_partial("Column", f"{out_qn}/{column}")],
                        **common,
                    },
                    "appendRelationshipAttributes": {"inputs": col_inputs},
                }
            )
    return entities


def dataset_assets_of_event(event: Any, connection_qn: str) -> dict[tuple[str, str], str]:
    """(namespace, name) of every dataset the event names -> the qualifiedName it projects to."""
    named: dict[tuple[str, str], str] = {}
    for ds in (*event.inputs, *event.outputs):
        named[(ds.namespace, ds.name)] = dataset_asset(connection_qn, ds.namespace, ds.name)[1]
    for ds in event.outputs:
        cll = ds.facets.get("columnLineage") if isinstance(ds.facets, dict) else None
        fields = getattr(cll, "fields", None) or (cll.get("fields") if isinstance(cll, dict) else None)
        for spec in (fields or {}).values():
            input_fields = getattr(spec, "inputFields", None)
            if input_fields is None and isinstance(spec, dict):
                input_fields = spec.get("inputFields")
            for f in input_fields or []:
                fname = getattr(f, "name", None) or (f.get("name") if isinstance(f, dict) else None)
                fns = getattr(f, "namespace", None) or (f.get("namespace") if isinstance(f, dict) else None)
                if fname:
                    ns = str(fns or ds.namespace)
                    named[(ns, fname)] = dataset_asset(connection_qn, ns, fname)[1]
    return named


def map_datasets(store: Store, named: dict[tuple[str, str], str]) -> None:
    """Point the translator's dataset keys at the projected assets (first mapping wins)."""
    if not named:
        return
    ts = now_ms()
    with store.write() as conn:
        pks = {
            r.fqn: r.pk
            for r in conn.execute(
                select(s.assets.c.pk, s.assets.c.fqn).where(s.assets.c.fqn.in_(set(named.values())))
            )
        }
        rows = []
        for (namespace, name), qualified_name in named.items():
            pk = pks.get(qualified_name)
            if pk is None:
                continue
            try:
                ident = canonical(namespace, name)
            except Exception:  # a name the naming rules reject: the translator rejects it too
                continue
            rows.append(
                {
                    "namespace": ident.namespace,
                    "name": ident.name,
                    "asset_pk": pk,
                    "is_primary": True,
                    "created_at": ts,
                }
            )
        insert_ignore(conn, olt.ol_datasets, rows, ["namespace", "name"])


class AtlanProjector:
    """Follows the raw OpenLineage log for events sent to Atlan's path and saves their assets."""

    def __init__(self, store: Store, *, interval: float = 0.2) -> None:
        self.store = store
        self.interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="atlan-openlineage", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                while self.run_once() and not self._stop.is_set():
                    pass
            except Exception:
                log.exception("projecting OpenLineage events into Atlan assets failed; retrying")
            self._wake.wait(self.interval)
            self._wake.clear()

    def run_once(self, limit: int = 200) -> int:
        """Project the next events; returns how many log rows were consumed."""
        from headwater.openlineage.events import EventValidationError, parse_event
        from headwater.openlineage.translate import loads

        with self._lock:
            cursor = int(self.store.get_setting(CURSOR_KEY) or 0)
            # scan without payloads and move the cursor past other transports' rows too:
            # otherwise every poll re-reads the whole log from the last Atlan event on
            with self.store.read() as conn:
                scanned = conn.execute(
                    select(s.raw_events.c.seq, s.raw_events.c.transport, s.raw_events.c.received_at)
                    .where(s.raw_events.c.seq > cursor)
                    .order_by(s.raw_events.c.seq)
                    .limit(limit * 5)
                ).all()
                wanted = [r.seq for r in scanned if r.transport.startswith(TRANSPORT_PREFIX)][:limit]
                rows = (
                    conn.execute(
                        select(s.raw_events.c.seq, s.raw_events.c.transport, s.raw_events.c.payload)
                        .where(s.raw_events.c.seq.in_(wanted))
                        .order_by(s.raw_events.c.seq)
                    ).all()
                    if wanted
                    else []
                )
            # rows of other transports are skipped once they are old enough that no insert
            # with a lower seq can still be in flight (PostgreSQL commits out of seq order)
            settled = now_ms() - _SETTLE_MS
            new_cursor = rows[-1].seq if rows else cursor
            for r in scanned:
                if r.seq <= new_cursor:
                    continue
                if r.transport.startswith(TRANSPORT_PREFIX) or r.received_at >= settled:
                    break
                new_cursor = r.seq
            if not rows:
                if new_cursor > cursor:
                    self.store.set_setting(CURSOR_KEY, str(new_cursor))
                return sum(1 for r in scanned if r.seq <= new_cursor)
            finder = ConnectionFinder(self.store)
            writer = AtlanWriter(self.store)
            for row in rows:
                connector = row.transport[len(TRANSPORT_PREFIX) :]
                try:
                    event = parse_event(loads(row.payload))  # facets are checked here
                except (EventValidationError, ValueError):
                    continue  # the OpenLineage router keeps the error on the raw row
                job = event.job
                if job is None:
                    continue
                connection_qn = finder.find(job.namespace, connector)
                if connection_qn is None:
                    log.warning(
                        "OpenLineage event for job %s: no connection named %r; create it first",
                        job.name,
                        job.namespace,
                    )
                    continue
                entities = entities_for_event(event, connection_qn)
                if not entities:
                    continue
                try:
                    writer.save(parse_bulk({"entities": entities}), ACTOR)
                except AtlasError as exc:
                    log.warning("OpenLineage event %s not projected: %s", row.seq, exc.message)
                    continue
                map_datasets(self.store, dataset_assets_of_event(event, connection_qn))
            self.store.set_setting(CURSOR_KEY, str(new_cursor))
            return sum(1 for r in scanned if r.seq <= new_cursor)
