"""End-to-end query-log ingestion: a 100,000-row log over a 2,000-table warehouse.

Usage::

    .venv/bin/python bench/query_log.py [--rows 100000] [--tables 2000] [--repeat 3] \
        [--stores sqlite,postgres] [--pg postgresql://postgres@127.0.0.1:5432/postgres]

The log is generated here with realistic repetition: a few thousand distinct ETL statements
(INSERT ... SELECT with joins and aggregates, CTAS, MERGE, UPDATE ... FROM) and dashboard SELECTs,
drawn with a Zipf-like skew, some unqualified (resolved with the row's default schema), some naming
tables the catalog does not know. Each store gets the catalog first (not timed), then the
workflow runs end to end (read CSV -> parse distinct -> resolve -> write edges), `--repeat` times
on a fresh store; medians are reported, with the bare parse time of the distinct queries
(``headwater.sql.extract_lineage`` alone, same dialect and timeout) for the ratio.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from headwater.ingest.config import parse_workflow  # noqa: E402
from headwater.ingest.sink import StoreSink  # noqa: E402
from headwater.ingest.workflow import _WRITE_WORDS, parse_one, run_workflow  # noqa: E402
from headwater.model import AssetInput, AssetType, ColumnInput  # noqa: E402
from headwater.store import Store  # noqa: E402

SERVICE = "wh"
DATABASE = "analytics"
DIALECT = "snowflake"
COLS = [
    "id",
    "customer_id",
    "order_id",
    "product_id",
    "amount",
    "quantity",
    "status",
    "country",
    "created_at",
    "updated_at",
    "name",
    "email",
    "price",
    "discount",
    "region",
    "channel",
]


def warehouse(n_tables: int, rng: random.Random) -> dict[str, list[str]]:
    schemas = ["raw", "staging", "core", "mart", "finance", "marketing", "ops", "sales", "product", "support"]
    tables: dict[str, list[str]] = {}
    i = 0
    while len(tables) < n_tables:
        schema = schemas[i % len(schemas)]
        name = f"{schema}.t{i:04d}_{rng.choice(['orders', 'customers', 'events', 'items', 'payments', 'sessions'])}"
        cols = ["id", *rng.sample(COLS[1:], rng.randint(4, 12))]
        tables[name] = cols
        i += 1
    return tables


def make_queries(
    tables: dict[str, list[str]], n_etl: int, n_select: int, rng: random.Random
) -> list[tuple[str, str]]:
    """(sql, default schema) pairs; ETL writes downstream of its sources."""
    names = list(tables)
    out: list[tuple[str, str]] = []
    for k in range(n_etl):
        tgt = rng.choice(names)
        srcs = rng.sample(names, rng.randint(1, 3))
        tcols = tables[tgt]
        a = srcs[0]
        acols = tables[a]
        schema = a.split(".")[0]
        unqualified = rng.random() >= 0.7  # 30% name tables of the row's default schema unqualified

        def qual(t: str, schema: str = schema, unqualified: bool = unqualified) -> str:
            return t.split(".")[1] if unqualified and t.split(".")[0] == schema else t

        shared = [c for c in tcols if c in acols and c != "id"][:5] or ["id"]
        kind = k % 5
        if kind in (0, 1):
            joins = "".join(
                f" JOIN {qual(s)} s{j} ON s{j}.id = a.id" for j, s in enumerate(srcs[1:], start=1)
            )
            extra = f" WHERE a.{acols[-1]} IS NOT NULL AND a.id > {rng.randint(0, 1000)}"
            cols = ", ".join(shared)
            sel = ", ".join(f"a.{c}" for c in shared)
            out.append(
                (f"INSERT INTO {qual(tgt)} ({cols}) SELECT {sel} FROM {qual(a)} a{joins}{extra}", schema)
            )
        elif kind == 2:
            g = shared[0]
            out.append(
                (
                    f"CREATE OR REPLACE TABLE {tgt}_agg{k} AS SELECT a.{g}, COUNT(*) AS n, SUM(a.id) AS total "
                    f"FROM {qual(a)} a GROUP BY a.{g}",
                    schema,
                )
            )
        elif kind == 3:
            c = shared[0]
            out.append(
                (
                    f"MERGE INTO {qual(tgt)} t USING {qual(a)} s ON t.id = s.id WHEN MATCHED THEN UPDATE SET "
                    f"t.{c} = s.{c} WHEN NOT MATCHED THEN INSERT (id, {c}) VALUES (s.id, s.{c})",
                    schema,
                )
            )
        else:
            c = shared[0]
            out.append(
                (
                    f"UPDATE {qual(tgt)} t SET {c} = s.{c} FROM {qual(a)} s WHERE t.id = s.id AND s.id > {k}",
                    schema,
                )
            )
    for k in range(n_select):
        a, b = rng.sample(names, 2)
        ca = tables[a][1]
        out.append(
            (
                f"SELECT a.{ca}, COUNT(*) FROM {a} a LEFT JOIN {b} b ON b.id = a.id WHERE a.id > {k} GROUP BY a.{ca} "
                f"ORDER BY 2 DESC LIMIT 100",
                a.split(".")[0],
            )
        )
    # a few statements over tables the catalog does not know, and broken ones
    for k in range(max(10, n_etl // 100)):
        out.append((f"INSERT INTO scratch.tmp_{k} SELECT * FROM raw.unknown_{k}", "raw"))
        out.append((f"INSERT INTO broken_{k} SELECT FROM WHERE", "raw"))
    return out


def write_log(path: Path, queries: list[tuple[str, str]], rows: int, rng: random.Random) -> None:
    weights = [1.0 / (i + 1) ** 0.6 for i in range(len(queries))]
    picks = rng.choices(range(len(queries)), weights=weights, k=rows)
    # every distinct query at least once
    for i in range(len(queries)):
        picks[i % rows] = i
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["query_text", "database_name", "schema_name", "user_name", "start_time", "duration"])
        for n, i in enumerate(picks):
            sql, schema = queries[i]
            w.writerow(
                [
                    sql,
                    DATABASE,
                    schema,
                    f"user{n % 17}",
                    f"2026-01-{1 + n % 28:02d} 10:{n % 60:02d}:00",
                    round(rng.random() * 10, 3),
                ]
            )


def seed(store: Store, tables: dict[str, list[str]]) -> None:
    items = [
        AssetInput(
            type=AssetType.DATABASE_SERVICE,
            fqn=SERVICE,
            name=SERVICE,
            attributes={"serviceType": "Snowflake"},
        ),
        AssetInput(type=AssetType.DATABASE, fqn=f"{SERVICE}.{DATABASE}", name=DATABASE),
    ]
    for schema in sorted({t.split(".")[0] for t in tables}):
        items.append(
            AssetInput(type=AssetType.DATABASE_SCHEMA, fqn=f"{SERVICE}.{DATABASE}.{schema}", name=schema)
        )
    store.upsert_assets(items)
    batch: list[AssetInput] = []
    for name, cols in tables.items():
        schema, table = name.split(".")
        batch.append(
            AssetInput(
                type=AssetType.TABLE,
                fqn=f"{SERVICE}.{DATABASE}.{schema}.{table}",
                name=table,
                columns=[ColumnInput(name=c, data_type="VARCHAR") for c in cols],
            )
        )
        if len(batch) == 200:
            store.upsert_assets(batch)
            batch = []
    if batch:
        store.upsert_assets(batch)


def new_store(kind: str, tmp: Path, pg: str) -> tuple[Store, Any]:
    if kind == "sqlite":
        path = tmp / f"hw-{uuid.uuid4().hex[:8]}.db"
        return Store(f"sqlite:///{path}"), None
    import psycopg

    name = f"hw_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = pg.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name

    def drop() -> None:
        with psycopg.connect(pg, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return Store(url), drop


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--tables", type=int, default=2_000)
    ap.add_argument("--etl", type=int, default=3_000, help="distinct ETL statements")
    ap.add_argument("--selects", type=int, default=2_000, help="distinct dashboard SELECTs")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--stores", default="sqlite,postgres")
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1, help="the workflow's `threads` option")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    tables = warehouse(args.tables, rng)
    queries = make_queries(tables, args.etl, args.selects, rng)
    tmp = Path(tempfile.mkdtemp(prefix="hw-bench-"))
    log = tmp / "queries.csv"
    write_log(log, queries, args.rows, rng)
    distinct = list(dict.fromkeys(q for q, _ in queries))
    print(
        f"log: {args.rows} rows, {len(distinct)} distinct queries, {len(tables)} tables, {log.stat().st_size / 1e6:.1f} MB"
    )

    writers = [q for q in distinct if _WRITE_WORDS.search(q)]

    def bare(items: list[str]) -> tuple[float, float]:
        w, c = time.perf_counter(), time.process_time()
        for q in items:
            parse_one((q, DIALECT, 300.0))
        return time.perf_counter() - w, time.process_time() - c

    cfg = parse_workflow(
        {
            "source": {
                "type": "query-log-lineage",
                "serviceName": SERVICE,
                "serviceConnection": {"config": {"type": "Snowflake"}},
                "sourceConfig": {
                    "config": {
                        "type": "DatabaseLineage",
                        "queryLogFilePath": str(log),
                        "threads": args.threads,
                    }
                },
            }
        }
    )
    results: dict[str, Any] = {
        "rows": args.rows,
        "tables": len(tables),
        "distinct": len(distinct),
        "distinct_writes": len(writers),
        "threads": args.threads,
        "stores": {},
    }
    med = statistics.median
    for kind in [s for s in args.stores.split(",") if s]:
        rec: dict[str, list[float]] = {
            k: []
            for k in (
                "bare_all_w",
                "bare_all_c",
                "bare_wr_w",
                "bare_wr_c",
                "e2e_w",
                "e2e_c",
                "rerun_w",
                "ratio_all_w",
                "ratio_all_c",
                "ratio_wr_w",
                "ratio_wr_c",
            )
        }
        last: dict[str, Any] = {}
        for _ in range(args.repeat):
            # bare parse and the run are interleaved so that both see the same machine load
            aw, ac = bare(distinct)
            ww, wc = bare(writers)
            store, drop = new_store(kind, tmp, args.pg)
            try:
                seed(store, tables)
                gc.collect()
                w0, c0 = time.perf_counter(), time.process_time()
                summary = run_workflow(cfg, StoreSink(store, cfg))
                ew, ec = time.perf_counter() - w0, time.process_time() - c0
                last = summary.to_json()
                w0 = time.perf_counter()
                again = run_workflow(cfg, StoreSink(store, cfg)).to_json()
                rec["rerun_w"].append(time.perf_counter() - w0)
                assert again["edges_added"] == 0 and again["edges_updated"] == 0, again
            finally:
                store.close()
                if drop is not None:
                    drop()
            for key, val in (
                ("bare_all_w", aw),
                ("bare_all_c", ac),
                ("bare_wr_w", ww),
                ("bare_wr_c", wc),
                ("e2e_w", ew),
                ("e2e_c", ec),
                ("ratio_all_w", ew / aw),
                ("ratio_all_c", ec / ac),
                ("ratio_wr_w", ew / ww),
                ("ratio_wr_c", ec / wc),
            ):
                rec[key].append(val)
        r: dict[str, Any] = {k: round(med(v), 3) for k, v in rec.items()}
        r["e2e_runs_w"] = [round(x, 2) for x in rec["e2e_w"]]
        r["rows_per_s"] = round(args.rows / med(rec["e2e_w"]))
        r.update({k: last.get(k) for k in ("edges_added", "parsed", "failed", "read_only_skipped")})
        r["unresolved"] = len(last.get("unresolved_tables", {}))
        r["timings"] = last.get("timings")
        results["stores"][kind] = r
        print(
            f"{kind}: end to end {r['e2e_w']:.2f} s wall / {r['e2e_c']:.2f} s CPU (runs {r['e2e_runs_w']}), "
            f"{r['rows_per_s']} rows/s; bare parse of all {len(distinct)} distinct {r['bare_all_w']:.2f} s wall / "
            f"{r['bare_all_c']:.2f} s CPU -> ratio {r['ratio_all_w']:.2f} wall, {r['ratio_all_c']:.2f} CPU; "
            f"vs the {len(writers)} that may write: {r['ratio_wr_w']:.2f} wall, {r['ratio_wr_c']:.2f} CPU; "
            f"rerun {r['rerun_w']:.2f} s; edges {r['edges_added']}, unresolved {r['unresolved']}"
        )
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
