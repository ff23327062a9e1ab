"""Turning parsed queries into catalog edges: resolve table names, build column mappings, write.

This runs next to the store: in the CLI with ``--db-url``, in the server behind the REST sink's
endpoints, and in scheduled runs. Resolution of a name found in SQL, in order:

1. split it right-aligned into ``database.schema.table`` (extra leading parts are dropped);
2. among the service's tables with that name (case-insensitively), keep those matching the parts
   written in the SQL; if several remain, narrow with the row's default database and schema;
3. exactly one left: resolved; none: unresolved; several: ambiguous (reported, never guessed).

Unresolved names can be created as partial (placeholder) tables when the database and schema are
known. Writes are idempotent: an edge whose details would not change is not written again, and
column mappings are merged with the ones already stored, never dropped.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from headwater.identity.fqn import FqnError, build, quote_name, split, unquote_name
from headwater.model.assets import Asset, AssetInput, ColumnInput
from headwater.model.lineage import ColumnLineage, LineageDetails
from headwater.model.types import AssetType, LineageSource
from headwater.store import EdgeWrite, Store

log = logging.getLogger("headwater.ingest")

#: OpenMetadata's DataType enum values a column type maps onto (the raw type goes to dataTypeDisplay).
_OM_TYPES = {
    "smallint": "SMALLINT",
    "int2": "SMALLINT",
    "integer": "INT",
    "int": "INT",
    "int4": "INT",
    "mediumint": "MEDIUMINT",
    "bigint": "BIGINT",
    "int8": "BIGINT",
    "tinyint": "TINYINT",
    "numeric": "NUMERIC",
    "decimal": "DECIMAL",
    "real": "FLOAT",
    "float4": "FLOAT",
    "float": "FLOAT",
    "double precision": "DOUBLE",
    "double": "DOUBLE",
    "float8": "DOUBLE",
    "boolean": "BOOLEAN",
    "bool": "BOOLEAN",
    "bit": "BIT",
    "character varying": "VARCHAR",
    "varchar": "VARCHAR",
    "character": "CHAR",
    "char": "CHAR",
    "bpchar": "CHAR",
    "text": "TEXT",
    "mediumtext": "MEDIUMTEXT",
    "longtext": "LONGTEXT",
    "tinytext": "TEXT",
    "date": "DATE",
    "time": "TIME",
    "datetime": "DATETIME",
    "timestamp": "TIMESTAMP",
    "timestamp without time zone": "TIMESTAMP",
    "timestamp with time zone": "TIMESTAMPZ",
    "time without time zone": "TIME",
    "time with time zone": "TIME",
    "interval": "INTERVAL",
    "json": "JSON",
    "jsonb": "JSON",
    "uuid": "UUID",
    "bytea": "BYTEA",
    "blob": "BLOB",
    "longblob": "LONGBLOB",
    "mediumblob": "MEDIUMBLOB",
    "binary": "BINARY",
    "varbinary": "VARBINARY",
    "enum": "ENUM",
    "set": "SET",
    "year": "YEAR",
    "inet": "INET",
    "cidr": "CIDR",
    "macaddr": "MACADDR",
    "xml": "XML",
    "money": "MONEY",
    "array": "ARRAY",
    "tsvector": "TSVECTOR",
    "point": "POINT",
    "geometry": "GEOMETRY",
}


def om_data_type(raw: str | None) -> str:
    if not raw:
        return "UNKNOWN"
    base = raw.strip().lower().split("(")[0].strip()
    if base.endswith("[]"):
        return "ARRAY"
    return _OM_TYPES.get(base, "UNKNOWN")


@dataclass
class ParsedQuery:
    """One distinct (query, default database, default schema) with what the SQL engine found."""

    sql: str
    sources: list[str]
    targets: list[str]
    columns: list[tuple[str, str, str | None]] = field(default_factory=list)  # (from, to, function)
    database: str | None = None
    schema: str | None = None
    source: str = LineageSource.QUERY_LINEAGE.value
    count: int = 1

    def to_json(self) -> dict[str, Any]:
        return {
            "sql": self.sql,
            "sources": self.sources,
            "targets": self.targets,
            "columns": [list(c) for c in self.columns],
            "database": self.database,
            "schema": self.schema,
            "source": self.source,
            "count": self.count,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ParsedQuery:
        return cls(
            sql=str(data["sql"]),
            sources=[str(s) for s in data.get("sources") or []],
            targets=[str(t) for t in data.get("targets") or []],
            columns=[(str(c[0]), str(c[1]), c[2] if len(c) > 2 else None) for c in data.get("columns") or []],
            database=data.get("database"),
            schema=data.get("schema"),
            source=str(data.get("source") or LineageSource.QUERY_LINEAGE.value),
            count=int(data.get("count") or 1),
        )


@dataclass
class WriteResult:
    """What one write did. Keys are "from_fqn -> to_fqn [source]" strings."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    unresolved: Counter[str] = field(default_factory=Counter)  # "name (reason)" -> occurrences
    partial_created: list[str] = field(default_factory=list)
    columns_dropped: int = 0
    filtered: int = 0
    removed: list[str] = field(default_factory=list)  # view lineage no longer in a view's definition

    def to_json(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "unresolved": dict(self.unresolved),
            "partial_created": self.partial_created,
            "columns_dropped": self.columns_dropped,
            "filtered": self.filtered,
            "removed": self.removed,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WriteResult:
        return cls(
            added=list(data.get("added") or []),
            updated=list(data.get("updated") or []),
            unchanged=int(data.get("unchanged") or 0),
            unresolved=Counter(data.get("unresolved") or {}),
            partial_created=list(data.get("partial_created") or []),
            columns_dropped=int(data.get("columns_dropped") or 0),
            filtered=int(data.get("filtered") or 0),
            removed=list(data.get("removed") or []),
        )


def split_sql_name(name: str) -> list[str]:
    """Parts of a table name as the SQL engine reports it (dotted, double-quoted where needed)."""
    try:
        parts = [unquote_name(p) for p in split(name)]
    except FqnError:
        parts = name.split(".")
    return [p.strip('"`[]') for p in parts]


@dataclass
class _Table:
    asset: Asset
    database: str
    schema: str


class TableIndex:
    """The service's tables by lower-cased name, loaded once, with columns fetched on demand."""

    def __init__(self, store: Store, service: str) -> None:
        self.store = store
        self.service = service
        self.by_name: dict[str, list[_Table]] = {}
        self._columns: dict[int, dict[str, str]] = {}
        after = 0
        prefix = quote_name(service) + "."
        while True:
            page, _ = self.store.list_assets(
                types=[AssetType.TABLE.value], fqn_prefix=prefix, limit=5000, after_pk=after, with_total=False
            )
            if not page:
                break
            for asset in page:
                self.add(asset)
            after = page[-1].pk
        self._load_columns(prefix)

    def _load_columns(self, prefix: str) -> None:
        """Every column of the service's tables, in one pass (per-table reads are far slower)."""
        from sqlalchemy import select

        from headwater.store import schema as st

        a = st.assets
        pattern = prefix.replace("%", r"\%").replace("_", r"\_") + "%"
        stmt = select(a.c.parent_pk, a.c.name, a.c.fqn).where(
            a.c.type == AssetType.COLUMN.value, a.c.fqn.like(pattern, escape="\\")
        )
        table_pks = {t.asset.pk for ts in self.by_name.values() for t in ts}
        with self.store.read() as conn:
            for parent_pk, name, fqn in conn.execute(stmt):
                if parent_pk in table_pks:
                    self._columns.setdefault(parent_pk, {})[name.lower()] = fqn
        for pk in table_pks:
            self._columns.setdefault(pk, {})

    def add(self, asset: Asset) -> None:
        try:
            parts = [unquote_name(p) for p in split(asset.fqn)]
        except FqnError:
            return
        if len(parts) != 4:
            return
        self.by_name.setdefault(parts[3].lower(), []).append(_Table(asset, parts[1], parts[2]))

    def find(self, parts: list[str], database: str | None, schema: str | None) -> tuple[list[_Table], str]:
        table = parts[-1].lower()
        cands = self.by_name.get(table, [])
        if not cands:
            return [], "not found"
        exp_schema = parts[-2].lower() if len(parts) >= 2 else None
        exp_db = parts[-3].lower() if len(parts) >= 3 else None
        if exp_db is not None:
            cands = [c for c in cands if c.database.lower() == exp_db]
        if exp_schema is not None:
            cands = [c for c in cands if c.schema.lower() == exp_schema]
        if len(cands) > 1 and database and exp_db is None:
            narrowed = [c for c in cands if c.database.lower() == database.lower()]
            cands = narrowed or cands
        if len(cands) > 1 and schema and exp_schema is None:
            narrowed = [c for c in cands if c.schema.lower() == schema.lower()]
            cands = narrowed or cands
        if not cands:
            return [], "not found"
        if len(cands) > 1:
            return cands, "ambiguous"
        return cands, "ok"

    def existing_case(self, database: str, schema: str) -> tuple[str, str]:
        """The catalog's spelling of a database and schema that match case-insensitively."""
        for tables in self.by_name.values():
            for t in tables:
                if t.database.lower() == database.lower():
                    database = t.database
                    if t.schema.lower() == schema.lower():
                        return t.database, t.schema
        return database, schema

    def columns(self, pks: Iterable[int]) -> None:
        missing = [pk for pk in pks if pk not in self._columns]
        if not missing:
            return
        found = self.store.columns_of(missing)
        for pk in missing:
            self._columns[pk] = {c.name.lower(): c.fqn for c in found.get(pk, [])}

    def column_fqn(self, table_pk: int, column: str) -> str | None:
        return self._columns.get(table_pk, {}).get(column.lower())

    def column_names(self, table_pk: int) -> dict[str, str]:
        return self._columns.get(table_pk, {})


@dataclass
class _EdgeAcc:
    sql: str
    columns: dict[tuple[str, str | None], list[str]] = field(default_factory=dict)


class LineageWriter:
    """Resolves and writes parsed queries of one service into a store."""

    def __init__(
        self,
        store: Store,
        service: str,
        *,
        service_type: str | None = None,
        create_partial: bool = False,
        table_filter: Any = None,
        schema_filter: Any = None,
        database_filter: Any = None,
        actor: str | None = "ingestion",
        index: TableIndex | None = None,
        override_view_lineage: bool = False,
    ) -> None:
        self.store = store
        self.service = service
        self.service_type = service_type
        self.create_partial = create_partial
        self.filters = (database_filter, schema_filter, table_filter)
        self.actor = actor
        self.index: TableIndex | None = index
        self.override_view_lineage = override_view_lineage
        self._cache: dict[tuple[str, str | None, str | None], tuple[Asset | None, str]] = {}
        self._edges: dict[tuple[int, int, str], _EdgeAcc] = {}
        self._fqns: dict[int, str] = {}  # pk -> FQN of the assets edges were built between
        self.result = WriteResult()

    # -- metadata --------------------------------------------------------------------------

    def ensure_service(self) -> Asset:
        existing = self.store.get_asset_by_fqn(AssetType.DATABASE_SERVICE, quote_name(self.service))
        if existing is not None:
            return existing
        attrs = {"serviceType": self.service_type} if self.service_type else {}
        asset, _ = self.store.upsert_asset(
            AssetInput(
                type=AssetType.DATABASE_SERVICE,
                fqn=quote_name(self.service),
                name=self.service,
                attributes=attrs,
            ),
            self.actor,
        )
        return asset

    def write_metadata(self, tables: Sequence[Any]) -> dict[str, int]:
        """Upsert databases, schemas and tables (with columns) of the service; `tables` are TableInfo."""
        self.ensure_service()
        items: list[AssetInput] = []
        seen: set[tuple[str, str]] = set()
        svc = quote_name(self.service)
        for t in tables:
            db_fqn = build(self.service, t.database)
            sch_fqn = build(self.service, t.database, t.schema)
            if (AssetType.DATABASE.value, db_fqn) not in seen:
                seen.add((AssetType.DATABASE.value, db_fqn))
                items.append(AssetInput(type=AssetType.DATABASE, fqn=db_fqn, name=t.database, parent_fqn=svc))
            if (AssetType.DATABASE_SCHEMA.value, sch_fqn) not in seen:
                seen.add((AssetType.DATABASE_SCHEMA.value, sch_fqn))
                items.append(
                    AssetInput(type=AssetType.DATABASE_SCHEMA, fqn=sch_fqn, name=t.schema, parent_fqn=db_fqn)
                )
        tables_in = []
        for t in tables:
            attrs: dict[str, Any] = {"tableType": _table_type(t.kind)}
            if t.view_definition:
                attrs["schemaDefinition"] = t.view_definition
            tables_in.append(
                AssetInput(
                    type=AssetType.TABLE,
                    fqn=build(self.service, t.database, t.schema, t.name),
                    name=t.name,
                    description=t.description,
                    parent_fqn=build(self.service, t.database, t.schema),
                    attributes=attrs,
                    columns=[
                        ColumnInput(
                            name=c.name,
                            data_type=om_data_type(c.data_type),
                            description=c.description,
                            attributes={"dataTypeDisplay": c.data_type} if c.data_type else {},
                        )
                        for c in t.columns
                    ],
                )
            )
        created = updated = 0
        with self.store.write() as conn:
            for _asset, was_created in self.store.upsert_assets(items, self.actor, conn=conn):
                created += was_created
            for i in range(0, len(tables_in), 200):
                for _asset, was_created in self.store.upsert_assets(
                    tables_in[i : i + 200], self.actor, conn=conn
                ):
                    created += was_created
                    updated += not was_created
        self.index = None  # reload on next resolution
        return {"tables": len(tables_in), "created": created, "existing": updated}

    # -- resolution ------------------------------------------------------------------------

    def _index(self) -> TableIndex:
        if self.index is None:
            self.index = TableIndex(self.store, self.service)
        return self.index

    def _allowed(self, t: _Table) -> bool:
        dbf, scf, tbf = self.filters
        if dbf is not None and not dbf.allows(t.database):
            return False
        if scf is not None and not scf.allows(t.schema):
            return False
        return not (tbf is not None and not tbf.allows(t.asset.name))

    def resolve(self, name: str, database: str | None, schema: str | None) -> tuple[Asset | None, str]:
        key = (name, database, schema)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        parts = split_sql_name(name)
        if len(parts) > 3:
            parts = parts[-3:]
        cands, status = self._index().find(parts, database, schema)
        if status == "ok":
            if not self._allowed(cands[0]):
                out: tuple[Asset | None, str] = (None, "filtered")
            else:
                out = (cands[0].asset, "ok")
        elif status == "ambiguous":
            names = ", ".join(sorted(c.asset.fqn for c in cands)[:3])
            out = (None, f"ambiguous: {names}")
        elif self.create_partial:
            out = self._partial(parts, database, schema)
        else:
            out = (None, "not in the catalog")
        self._cache[key] = out
        return out

    def _partial(
        self, parts: list[str], database: str | None, schema: str | None
    ) -> tuple[Asset | None, str]:
        table = parts[-1]
        sch = parts[-2] if len(parts) >= 2 else schema
        db = parts[-3] if len(parts) >= 3 else database
        if not sch or not db:
            return None, "not in the catalog (unqualified, no default database/schema to create it under)"
        db, sch = self._index().existing_case(db, sch)
        self.ensure_service()
        items = [
            AssetInput(
                type=AssetType.DATABASE,
                fqn=build(self.service, db),
                name=db,
                parent_fqn=quote_name(self.service),
                partial=True,
            ),
            AssetInput(
                type=AssetType.DATABASE_SCHEMA,
                fqn=build(self.service, db, sch),
                name=sch,
                parent_fqn=build(self.service, db),
                partial=True,
            ),
            AssetInput(
                type=AssetType.TABLE,
                fqn=build(self.service, db, sch, table),
                name=table,
                parent_fqn=build(self.service, db, sch),
                partial=True,
            ),
        ]
        # keep existing (non-partial) database/schema as they are
        keep = [it for it in items[:2] if self.store.get_asset_by_fqn(it.type, it.fqn) is None]
        results = self.store.upsert_assets([*keep, items[2]], self.actor)
        asset = results[-1][0]
        self._index().add(asset)
        self.result.partial_created.append(asset.fqn)
        return asset, "ok"

    # -- edges -----------------------------------------------------------------------------

    def add(self, queries: Iterable[ParsedQuery]) -> None:
        """Resolve the tables of each query and accumulate its edges (written by `flush`)."""
        for q in queries:
            src_assets: dict[str, Asset] = {}
            dst_assets: dict[str, Asset] = {}
            for names, into in ((q.sources, src_assets), (q.targets, dst_assets)):
                for name in names:
                    asset, why = self.resolve(name, q.database, q.schema)
                    if asset is None:
                        if why == "filtered":
                            self.result.filtered += q.count
                        else:
                            self.result.unresolved[f"{name} ({why})"] += q.count
                    else:
                        into[name] = asset
                        self._fqns[asset.pk] = asset.fqn
            if not src_assets or not dst_assets:
                continue
            idx = self._index()
            idx.columns([a.pk for a in (*src_assets.values(), *dst_assets.values())])
            for s in src_assets.values():
                for t in dst_assets.values():
                    if s.pk == t.pk:
                        continue
                    key = (s.pk, t.pk, q.source)
                    acc = self._edges.get(key)
                    if acc is None:
                        acc = self._edges[key] = _EdgeAcc(sql=q.sql)
                    else:
                        acc.sql = q.sql
            for frm, to, fn in q.columns:
                self._add_column(q, frm, to, fn, src_assets, dst_assets)

    def _add_column(
        self,
        q: ParsedQuery,
        frm: str,
        to: str,
        fn: str | None,
        src_assets: dict[str, Asset],
        dst_assets: dict[str, Asset],
    ) -> None:
        ftab, _, fcol = frm.rpartition(".")
        ttab, _, tcol = to.rpartition(".")
        s = src_assets.get(ftab)
        t = dst_assets.get(ttab)
        if s is None or t is None or s.pk == t.pk:
            return
        acc = self._edges.get((s.pk, t.pk, q.source))
        if acc is None:
            return
        idx = self._index()
        fcol, tcol = unquote_name(fcol), unquote_name(tcol)
        if fcol == "*" or tcol == "*":
            targets = idx.column_names(t.pk)
            pairs = [(fq, targets[name]) for name, fq in idx.column_names(s.pk).items() if name in targets]
            if not pairs:
                self.result.columns_dropped += 1
            for ffq, tfq in pairs:
                _merge_col(acc, tfq, None, ffq)
            return
        from_fqn = idx.column_fqn(s.pk, fcol)
        to_fqn = idx.column_fqn(t.pk, tcol)
        if from_fqn is None or to_fqn is None:
            self.result.columns_dropped += 1
            return
        _merge_col(acc, to_fqn, fn, from_fqn)

    def _remove_stale_view_lineage(self) -> None:
        """overrideViewLineage: a view's ViewLineage edges from tables its definition no longer reads go."""
        view = LineageSource.VIEW_LINEAGE.value
        fresh = {(f, t) for f, t, src in self._edges if src == view}
        targets = {t for _, t in fresh}
        if not targets:
            return
        into = [(f, t) for f, t in self.store.edge_pairs_touching(sorted(targets)) if t in targets]
        for (f, t), edge in self.store.get_edges(into).items():
            if (f, t) in fresh or not any(d.source.value == view for d in edge.details):
                continue
            self.store.delete_edge_details(f, t, [view])
            names = self.store.get_assets_by_pks([f, t])
            self.result.removed.append(f"{names[f].fqn} -> {names[t].fqn} [{view}]")

    def flush(self) -> WriteResult:
        """Write the accumulated edges (only those that change) and return what happened."""
        if self.override_view_lineage:
            self._remove_stale_view_lineage()
        if not self._edges:
            return self.result
        pairs = list({(f, t) for f, t, _ in self._edges})
        existing = self.store.get_edges(pairs)
        fqns = self._fqns
        missing = {p for pair in pairs for p in pair if p not in fqns}
        if missing:
            fqns.update({pk: a.fqn for pk, a in self.store.get_assets_by_pks(missing).items()})
        writes: list[EdgeWrite] = []
        for (f, t, source), acc in self._edges.items():
            label = f"{fqns[f]} -> {fqns[t]} [{source}]"
            old = None
            view = existing.get((f, t))
            if view is not None:
                old = next((d for d in view.details if d.source.value == source), None)
            columns = {k: list(v) for k, v in acc.columns.items()}
            if old is not None:
                for cl in old.columnsLineage:
                    bucket = columns.setdefault((cl.toColumn or "", cl.function), [])
                    for c in cl.fromColumns:
                        if c not in bucket:
                            bucket.append(c)
            new_cols = [
                ColumnLineage(fromColumns=sorted(froms), toColumn=to, function=fn)
                for (to, fn), froms in sorted(columns.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
            ]
            if (
                old is not None
                and old.sqlQuery == acc.sql
                and _col_set(old.columnsLineage) == _col_set(new_cols)
            ):
                self.result.unchanged += 1
                continue
            details = LineageDetails(sqlQuery=acc.sql, columnsLineage=new_cols, source=LineageSource(source))
            if old is not None:
                details.pipeline = old.pipeline
                details.description = old.description
            writes.append(EdgeWrite(from_pk=f, to_pk=t, details=details))
            (self.result.updated if old is not None else self.result.added).append(label)
        for i in range(0, len(writes), 2000):
            self.store.put_edges(writes[i : i + 2000], self.actor)
        self._edges.clear()
        return self.result


def _merge_col(acc: _EdgeAcc, to: str, fn: str | None, frm: str) -> None:
    bucket = acc.columns.setdefault((to, fn), [])
    if frm not in bucket:
        bucket.append(frm)


def _col_set(cols: Iterable[ColumnLineage]) -> set[tuple[str, str | None, str | None]]:
    return {(f, c.toColumn, c.function) for c in cols for f in c.fromColumns}


def _table_type(kind: str) -> str:
    return {
        "view": "View",
        "materializedView": "MaterializedView",
        "foreign": "Foreign",
        "partitioned": "Partitioned",
    }.get(kind, "Regular")
