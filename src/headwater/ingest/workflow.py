"""Running a lineage workflow: read the source, parse each distinct query once, resolve, write.

Order of work (as OpenMetadata's): metadata (database connectors), view lineage, query lineage.
The summary counts rows read, distinct queries, parsed and failed ones (grouped by reason, with
examples), edges added/updated/unchanged and the tables that could not be resolved.
"""

from __future__ import annotations

import gc
import logging
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from headwater.identity.fqn import quote_name
from headwater.ingest.config import DB_SOURCES, WorkflowConfig
from headwater.ingest.connectors import ConnectorError, make_connector
from headwater.ingest.connectors.base import Connector
from headwater.ingest.querylog import QueryLogReader, SourceError
from headwater.ingest.records import BadRow, QueryRecord, TableInfo
from headwater.ingest.sink import Sink, SinkError
from headwater.ingest.writer import ParsedQuery, WriteResult, split_sql_name
from headwater.model.types import LineageSource
from headwater.sql import extract_lineage

log = logging.getLogger("headwater.ingest")

#: A query with none of these words writes nothing, so it cannot carry lineage: it is counted
#: as read-only and not parsed (SELECT ... INTO contains "into" and is parsed).
_WRITE_WORDS = re.compile(
    r"\b(insert|create|merge|update|into|replace|copy|alter|unload|rename|swap|upsert|overwrite)\b",
    re.IGNORECASE,
)
MAX_EXAMPLES = 3
BATCH = 500


class Progress(Protocol):
    def phase(self, name: str, total: int | None) -> None: ...
    def advance(self, n: int = 1) -> None: ...


class _NoProgress:
    def phase(self, name: str, total: int | None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass


@dataclass
class Summary:
    """What a run did; `to_json` is the ``--json`` output and a scheduled run's record."""

    workflow: str = ""
    service: str = ""
    status: str = "success"  # success | partialSuccess | failed
    rows_read: int = 0
    bad_rows: int = 0
    aborted_rows: int = 0
    filtered_rows: int = 0
    distinct_queries: int = 0
    read_only: int = 0
    parsed: int = 0
    failed: int = 0
    no_lineage: int = 0
    failures: dict[str, list[str]] = field(default_factory=dict)  # reason -> examples
    failure_counts: Counter[str] = field(default_factory=Counter)
    views: int = 0
    metadata: dict[str, int] = field(default_factory=dict)
    result: WriteResult = field(default_factory=WriteResult)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    parse_seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # phase -> seconds

    def fail(self, reason: str, example: str, count: int = 1) -> None:
        self.failure_counts[reason] += count
        examples = self.failures.setdefault(reason, [])
        if len(examples) < MAX_EXAMPLES:
            examples.append(example if len(example) <= 300 else example[:300] + "...")

    @property
    def unresolved(self) -> Counter[str]:
        return self.result.unresolved

    def to_json(self) -> dict[str, Any]:
        r = self.result
        return {
            "workflow": self.workflow,
            "service": self.service,
            "status": self.status,
            "error": self.error,
            "rows_read": self.rows_read,
            "bad_rows": self.bad_rows,
            "aborted_rows": self.aborted_rows,
            "filtered_rows": self.filtered_rows,
            "distinct_queries": self.distinct_queries,
            "read_only_skipped": self.read_only,
            "parsed": self.parsed,
            "failed": self.failed,
            "no_lineage": self.no_lineage,
            "failures": {
                reason: {"count": self.failure_counts[reason], "examples": ex}
                for reason, ex in self.failures.items()
            },
            "views": self.views,
            "metadata": self.metadata,
            "edges_added": len(r.added),
            "edges_updated": len(r.updated),
            "edges_unchanged": r.unchanged,
            "edges_removed": r.removed,
            "unresolved_tables": dict(r.unresolved.most_common()),
            "partial_assets_created": r.partial_created,
            "column_mappings_dropped": r.columns_dropped,
            "tables_filtered": r.filtered,
            "warnings": self.warnings,
            "seconds": round(self.seconds, 3),
            "parse_seconds": round(self.parse_seconds, 3),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }


# -- parsing (picklable, so it can run in worker processes) -------------------------------------

ParseOutcome = tuple[list[str], list[str], list[tuple[str, str, str | None]], list[tuple[str, str]]]


def parse_one(args: tuple[str, str, float]) -> ParseOutcome:
    """(sql, dialect, timeout) -> (sources, targets, column pairs, errors as (kind, message))."""
    sql, dialect, timeout = args
    res = extract_lineage(sql, dialect=dialect, timeout=timeout)
    cols = [(f, t, res.column_functions.get((f, t))) for f, t in sorted(res.column_lineage)]
    errors = [(e.kind, e.message) for e in res.errors]
    return sorted(res.sources), sorted(res.targets), cols, errors


def _parse_all(
    texts: list[str], dialect: str, timeout: float, threads: int, progress: Progress
) -> Iterator[tuple[str, ParseOutcome]]:
    if threads <= 1 or len(texts) < 200:
        for text in texts:
            yield text, parse_one((text, dialect, timeout))
            progress.advance()
        return
    with ProcessPoolExecutor(max_workers=threads) as pool:
        args = [(t, dialect, timeout) for t in texts]
        for text, out in zip(texts, pool.map(parse_one, args, chunksize=64), strict=True):
            yield text, out
            progress.advance()


# -- the run ---------------------------------------------------------------------------------


class Workflow:
    def __init__(self, cfg: WorkflowConfig, sink: Sink, progress: Progress | None = None) -> None:
        self.cfg = cfg
        self.sink = sink
        self.progress = progress or _NoProgress()
        self.summary = Summary(workflow=cfg.source_type, service=cfg.service_name)
        self.summary.warnings.extend(cfg.options.ignored)

    def run(self) -> Summary:
        """Run to the end. Raises SourceError/ConnectorError/SinkError when nothing can be read or written."""
        started = time.perf_counter()
        s = self.summary
        connector: Connector | None = None
        try:
            if self.cfg.connector in DB_SOURCES:
                connector = make_connector(self.cfg.connector, self.cfg.connection, self.cfg.options)
                connector.test_connection()
            tables: list[TableInfo] | None = None
            if connector is not None and (
                self.cfg.options.include_metadata or self.cfg.options.process_view_lineage
            ):
                self.progress.phase("listing tables", None)
                tables = list(connector.list_tables())
                if self.cfg.options.include_metadata:
                    self.progress.phase("writing metadata", None)
                    s.metadata = self.sink.write_metadata(tables)
            if self.cfg.options.process_view_lineage:
                self._view_lineage(tables)
            if self.cfg.options.process_query_lineage:
                self._query_lineage(self._records(connector))
            self.progress.phase("writing lineage", None)
            t0, c0 = time.perf_counter(), time.process_time()
            s.result = self.sink.finish()
            s.timings["write"] = time.perf_counter() - t0
            s.timings["write_cpu"] = time.process_time() - c0
        finally:
            if connector is not None:
                s.warnings.extend(connector.warnings)
                connector.close()
            s.seconds = time.perf_counter() - started
        if s.failed or s.bad_rows or s.failures or s.result.unresolved:
            s.status = "partialSuccess"
        return s

    # sources

    def _records(self, connector: Connector | None) -> Iterable[QueryRecord | BadRow]:
        path = self.cfg.options.query_log_file_path
        if path:
            reader = QueryLogReader(path)
            reader.files()  # raises SourceError when the path is unusable
            self._reader = reader
            return reader
        if connector is None:
            raise SourceError("no query log file and no database connection to read queries from")
        since = datetime.now(UTC) - timedelta(days=self.cfg.options.query_log_duration)
        try:
            return list(connector.query_history(since, self.cfg.options.result_limit))
        except ConnectorError as exc:
            # metadata and views may already be in: report, do not lose them
            self.summary.warnings.append(f"query lineage skipped: {exc}")
            self.summary.status = "partialSuccess"
            return []

    def _view_lineage(self, tables: list[TableInfo] | None) -> None:
        views = (
            [t for t in tables if t.view_definition] if tables is not None else self.sink.view_definitions()
        )
        if not views:
            return
        self.progress.phase("view lineage", len(views))
        dialect = self.cfg.dialect
        out: list[ParsedQuery] = []
        for v in views:
            name = f"{quote_name(v.database)}.{quote_name(v.schema)}.{quote_name(v.name)}"
            definition = v.view_definition or ""
            body = definition.strip().rstrip(";")
            if not re.match(r"^\s*create\b", body, re.IGNORECASE):
                body = f"CREATE VIEW {_sql_ident(v.schema, dialect)}.{_sql_ident(v.name, dialect)} AS {body}"
            sources, targets, cols, errors = parse_one((body, dialect, self.cfg.options.parsing_timeout))
            self.progress.advance()
            if not targets:
                for kind, message in errors or [("parse", "no lineage found")]:
                    self.summary.fail(f"view {kind}", f"{name}: {message}")
                continue
            self.summary.views += 1
            out.append(
                ParsedQuery(
                    sql=definition,
                    sources=sources,
                    targets=targets,
                    columns=cols,
                    database=v.database,
                    schema=v.schema,
                    source=LineageSource.VIEW_LINEAGE.value,
                )
            )
        self.sink.add_lineage(out)

    def _query_lineage(self, records: Iterable[QueryRecord | BadRow]) -> None:
        s = self.summary
        opts = self.cfg.options
        self.progress.phase("reading queries", None)
        t_read, c_read = time.perf_counter(), time.process_time()
        combos: dict[tuple[str, str | None, str | None], int] = {}
        db_filter = (
            opts.database_filter if (opts.database_filter.includes or opts.database_filter.excludes) else None
        )
        schema_filter = (
            opts.schema_filter if (opts.schema_filter.includes or opts.schema_filter.excludes) else None
        )
        rows = 0
        bad_row = BadRow
        get = combos.get
        for rec in records:
            rows += 1
            if not rows & 1023:
                self.progress.advance(1024)
            if rec.__class__ is bad_row:
                assert isinstance(rec, BadRow)
                s.bad_rows += 1
                s.fail(f"unreadable row: {rec.kind}", f"{rec.origin}: {rec.reason}")
                continue
            if rec.aborted:  # type: ignore[union-attr]
                s.aborted_rows += 1
                continue
            db = rec.database_name  # type: ignore[union-attr]
            schema = rec.schema_name  # type: ignore[union-attr]
            if db_filter is not None and db and not db_filter.allows(db):
                s.filtered_rows += 1
                continue
            if schema_filter is not None and schema and not schema_filter.allows(schema):
                s.filtered_rows += 1
                continue
            key = (rec.query_text, db, schema)  # type: ignore[union-attr]
            combos[key] = get(key, 0) + 1
        s.rows_read = rows
        reader = getattr(self, "_reader", None)
        if reader is not None:
            for p in reader.problems:
                s.warnings.append(f"{p.path}: {p.reason}")
        s.timings["read"] = time.perf_counter() - t_read
        s.timings["read_cpu"] = time.process_time() - c_read
        texts = list(dict.fromkeys(k[0] for k in combos))
        s.distinct_queries = len(texts)
        to_parse = [t for t in texts if _WRITE_WORDS.search(t)]
        s.read_only = len(texts) - len(to_parse)
        self.progress.phase("parsing", len(to_parse))
        t0, c0 = time.perf_counter(), time.process_time()
        # what was read stays alive while parsing: keep the collector from rescanning it
        gc.freeze()
        parsed: dict[str, ParseOutcome] = {}
        for text, outcome in _parse_all(
            to_parse, self.cfg.dialect, opts.parsing_timeout, opts.threads, self.progress
        ):
            sources, targets, _cols, errors = outcome
            if errors and not targets:
                s.failed += 1
                kind, message = errors[0]
                s.fail(f"{kind}", f"{message}: {_one_line(text)}")
                continue
            s.parsed += 1
            for kind, message in errors:
                s.fail(f"partly parsed ({kind})", f"{message}: {_one_line(text)}")
            if not targets:
                s.no_lineage += 1
                continue
            parsed[text] = outcome
        gc.unfreeze()
        s.parse_seconds = s.timings["parse"] = time.perf_counter() - t0
        s.timings["parse_cpu"] = time.process_time() - c0
        queries: list[ParsedQuery] = []
        for (text, db, schema), count in combos.items():
            found = parsed.get(text)
            if found is None:
                continue
            sources, targets, cols, _ = found
            queries.append(ParsedQuery(text, sources, targets, cols, db, schema, count=count))
        self.progress.phase("resolving and writing", len(queries))
        t0, c0 = time.perf_counter(), time.process_time()
        for batch in _batches(queries):
            self.sink.add_lineage(batch)
            self.progress.advance(len(batch))
        s.timings["resolve"] = time.perf_counter() - t0
        s.timings["resolve_cpu"] = time.process_time() - c0


def _batches(queries: list[ParsedQuery]) -> Iterator[list[ParsedQuery]]:
    """Batches that keep every query writing the same table together, so that one target's edges
    are merged in one write (reruns then find nothing to change)."""

    def group_key(q: ParsedQuery) -> tuple[str, ...]:
        return tuple(sorted({split_sql_name(t)[-1].lower() for t in q.targets}))

    groups: dict[tuple[str, ...], list[ParsedQuery]] = {}
    for q in queries:
        groups.setdefault(group_key(q), []).append(q)
    batch: list[ParsedQuery] = []
    for items in groups.values():
        if batch and len(batch) + len(items) > BATCH:
            yield batch
            batch = []
        batch.extend(items)
    if batch:
        yield batch


def _sql_ident(name: str, dialect: str) -> str:
    if re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
        return name
    if dialect.lower() in ("mysql", "mariadb", "bigquery", "hive", "spark", "databricks"):
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


def run_workflow(cfg: WorkflowConfig, sink: Sink, progress: Progress | None = None) -> Summary:
    """Run a workflow; source and sink failures end it with status ``failed`` and an `error`."""
    wf = Workflow(cfg, sink, progress)
    try:
        return wf.run()
    except (SourceError, ConnectorError, SinkError) as exc:
        wf.summary.status = "failed"
        wf.summary.error = str(exc)
        return wf.summary


__all__ = ["Summary", "Workflow", "parse_one", "run_workflow"]
