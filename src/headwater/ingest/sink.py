"""Where a workflow writes: the server's REST API (OpenMetadata's ``metadata-rest`` sink, the
default) or a store opened directly (``headwater ingest --db-url/--data-dir``, and scheduled runs
inside the server). Both resolve and write with the same :class:`LineageWriter`; the REST sink
sends parsed queries in batches and the server resolves them against its catalog.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import httpx

from headwater.ingest.config import FilterPattern, WorkflowConfig
from headwater.ingest.records import ColumnInfo, TableInfo
from headwater.ingest.writer import LineageWriter, ParsedQuery, TableIndex, WriteResult
from headwater.model.types import AssetType
from headwater.store import Store

BATCH = 2000


class SinkError(Exception):
    """The sink cannot be written to (server unreachable, token refused...)."""


def merge_results(total: WriteResult, part: WriteResult) -> None:
    seen_added = set(total.added)
    for key in part.added:
        if key not in seen_added:
            total.added.append(key)
            seen_added.add(key)
    seen_updated = set(total.updated)
    for key in part.updated:
        if key not in seen_added and key not in seen_updated:
            total.updated.append(key)
            seen_updated.add(key)
    total.unchanged += part.unchanged
    total.unresolved.update(part.unresolved)
    total.partial_created.extend(part.partial_created)
    total.columns_dropped += part.columns_dropped
    total.filtered += part.filtered
    total.removed.extend(part.removed)


def _patterns(fp: FilterPattern) -> dict[str, list[str]]:
    return {"includes": [p.pattern for p in fp.includes], "excludes": [p.pattern for p in fp.excludes]}


def writer_options(cfg: WorkflowConfig) -> dict[str, Any]:
    o = cfg.options
    return {
        "service": cfg.service_name,
        "serviceType": cfg.service_type,
        "createPartialAssets": o.create_partial_assets,
        "overrideViewLineage": o.override_view_lineage,
        "databaseFilterPattern": _patterns(o.database_filter),
        "schemaFilterPattern": _patterns(o.schema_filter),
        "tableFilterPattern": _patterns(o.table_filter),
    }


def writer_from_options(
    store: Store, opts: dict[str, Any], actor: str | None = "ingestion", index: TableIndex | None = None
) -> LineageWriter:
    def fp(key: str) -> FilterPattern | None:
        data = opts.get(key)
        if not data or not (data.get("includes") or data.get("excludes")):
            return None
        return FilterPattern.parse(data, key)

    return LineageWriter(
        store,
        str(opts["service"]),
        service_type=opts.get("serviceType"),
        create_partial=bool(opts.get("createPartialAssets")),
        database_filter=fp("databaseFilterPattern"),
        schema_filter=fp("schemaFilterPattern"),
        table_filter=fp("tableFilterPattern"),
        actor=actor,
        index=index,
        override_view_lineage=bool(opts.get("overrideViewLineage")),
    )


def views_of(store: Store, service: str) -> list[TableInfo]:
    """Views of a service that carry a definition (for view lineage of query-log workflows)."""
    from headwater.identity.fqn import quote_name, split, unquote_name

    out: list[TableInfo] = []
    after = 0
    while True:
        page, _ = store.list_assets(
            types=[AssetType.TABLE.value],
            fqn_prefix=quote_name(service) + ".",
            limit=5000,
            after_pk=after,
            with_total=False,
        )
        if not page:
            return out
        after = page[-1].pk
        for a in page:
            definition = a.attributes.get("schemaDefinition")
            if not definition:
                continue
            parts = [unquote_name(p) for p in split(a.fqn)]
            if len(parts) == 4:
                out.append(
                    TableInfo(parts[1], parts[2], parts[3], kind="view", view_definition=str(definition))
                )


class Sink:
    """The operations a workflow needs from its destination."""

    def write_metadata(self, tables: Sequence[TableInfo]) -> dict[str, int]:
        raise NotImplementedError

    def view_definitions(self) -> list[TableInfo]:
        raise NotImplementedError

    def add_lineage(self, queries: Sequence[ParsedQuery]) -> None:
        raise NotImplementedError

    def finish(self) -> WriteResult:
        raise NotImplementedError

    def close(self) -> None:
        pass


class StoreSink(Sink):
    def __init__(self, store: Store, cfg: WorkflowConfig, actor: str | None = "ingestion") -> None:
        self.store = store
        self.cfg = cfg
        self.writer = writer_from_options(store, writer_options(cfg), actor)

    def write_metadata(self, tables: Sequence[TableInfo]) -> dict[str, int]:
        return self.writer.write_metadata(tables)

    def view_definitions(self) -> list[TableInfo]:
        return views_of(self.store, self.cfg.service_name)

    def add_lineage(self, queries: Sequence[ParsedQuery]) -> None:
        self.writer.add(queries)

    def finish(self) -> WriteResult:
        self.writer.ensure_service()
        return self.writer.flush()


def api_base(host_port: str) -> str:
    """``http://host:8585/api`` (OpenMetadata's form) or ``http://host:8585`` -> ``http://host:8585/api``."""
    base = host_port.rstrip("/")
    if base.endswith("/api/v1"):
        base = base[: -len("/v1")]
    if not base.endswith("/api"):
        base += "/api"
    return base


class RestSink(Sink):
    def __init__(self, cfg: WorkflowConfig, timeout: float = 300.0) -> None:
        if not cfg.server.host_port:
            raise SinkError(
                "workflowConfig.openMetadataServerConfig.hostPort is missing: name the headwater server "
                "(e.g. http://localhost:8585/api), or write to a store with --db-url/--data-dir"
            )
        self.cfg = cfg
        self.base = api_base(cfg.server.host_port)
        headers = {"Authorization": f"Bearer {cfg.server.token}"} if cfg.server.token else {}
        self.client = httpx.Client(base_url=self.base, headers=headers, timeout=timeout)
        self.options = writer_options(cfg)
        self.total = WriteResult()
        self._pending: list[ParsedQuery] = []
        self._check()

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        try:
            resp = self.client.post(path, json=body)
        except httpx.HTTPError as exc:
            raise SinkError(f"cannot reach the headwater server at {self.base}: {exc}") from None
        if resp.status_code >= 400:
            try:
                message = resp.json().get("message", resp.text)
            except ValueError:
                message = resp.text
            raise SinkError(f"server refused {path} ({resp.status_code}): {message}")
        return resp.json()

    def _check(self) -> None:
        try:
            resp = self.client.get("/v1/system/version")
        except httpx.HTTPError as exc:
            raise SinkError(f"cannot reach the headwater server at {self.base}: {exc}") from None
        if resp.status_code >= 400:
            raise SinkError(f"the server at {self.base} answered {resp.status_code} to /v1/system/version")

    def write_metadata(self, tables: Sequence[TableInfo]) -> dict[str, int]:
        out: dict[str, int] = {}
        for i in range(0, max(len(tables), 1), 1000):
            chunk = tables[i : i + 1000]
            res = self._post("/v1/ingestion/metadata", {**self.options, "tables": [asdict(t) for t in chunk]})
            for k, v in res.items():
                out[k] = out.get(k, 0) + int(v)
        return out

    def view_definitions(self) -> list[TableInfo]:
        try:
            resp = self.client.get("/v1/ingestion/views", params={"service": self.cfg.service_name})
        except httpx.HTTPError as exc:
            raise SinkError(f"cannot reach the headwater server at {self.base}: {exc}") from None
        if resp.status_code >= 400:
            raise SinkError(f"server refused /v1/ingestion/views ({resp.status_code}): {resp.text[:200]}")
        return [table_from_json(t) for t in resp.json().get("data", [])]

    def add_lineage(self, queries: Sequence[ParsedQuery]) -> None:
        self._pending.extend(queries)
        while len(self._pending) >= BATCH:
            self._send(self._pending[:BATCH])
            del self._pending[:BATCH]

    def _send(self, batch: Sequence[ParsedQuery]) -> None:
        res = self._post("/v1/ingestion/lineage", {**self.options, "queries": [q.to_json() for q in batch]})
        merge_results(self.total, WriteResult.from_json(res))

    def finish(self) -> WriteResult:
        # always one call, even when empty: it makes sure the service exists
        self._send(self._pending)
        self._pending = []
        return self.total

    def close(self) -> None:
        self.client.close()


def table_from_json(data: dict[str, Any]) -> TableInfo:
    return TableInfo(
        database=str(data["database"]),
        schema=str(data["schema"]),
        name=str(data["name"]),
        kind=str(data.get("kind") or "table"),
        columns=[
            ColumnInfo(str(c["name"]), c.get("data_type"), c.get("description"))
            for c in data.get("columns") or []
        ],
        view_definition=data.get("view_definition"),
        description=data.get("description"),
    )
