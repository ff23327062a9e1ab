"""Building one big lineage answer (issue 2): a hub with N downstream tables, in-process.

Usage::

    .venv/bin/python bench/lineage_answer.py [--nodes 5000] [--stores sqlite,postgres] [--reps 7]

Times what `GET /api/v1/lineage/{entity}/{id}` does after routing, without HTTP: traverse, load
edges with details and node assets, build the OpenMetadata JSON and serialise it. 40 % of the
edges carry only a source, 40 % a SQL query, 20 % two column mappings (as in bench/traversal.py).
Prints wall and CPU (time.process_time) medians. Run it from two trees (set PYTHONPATH to each
one's src/) to compare versions side by side; `--legacy` uses the pre-issue-2 calls (parsed
pydantic details, json.dumps body) where the tree still has them.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import psycopg
from fastapi.responses import JSONResponse, Response

ROOT = Path(__file__).resolve().parent.parent
if not os.environ.get("PYTHONPATH"):
    sys.path.insert(0, str(ROOT / "src"))

from headwater.api.routers.om_lineage import lineage_json  # noqa: E402
from headwater.graph import GraphIndex  # noqa: E402
from headwater.graph.view import build_lineage_view  # noqa: E402
from headwater.model.assets import AssetInput  # noqa: E402
from headwater.model.lineage import LineageDetails  # noqa: E402
from headwater.model.types import AssetType, LineageSource  # noqa: E402
from headwater.store import EdgeWrite, Store  # noqa: E402

PG_ADMIN = os.environ.get("HEADWATER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tempfile.mkdtemp(prefix='hw-answer-')}/bench.db"
        return
    name = f"hw_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def details(i: int) -> LineageDetails:
    if i % 10 < 4:
        return LineageDetails(source=LineageSource.QUERY_LINEAGE)
    if i % 10 < 8:
        return LineageDetails(
            source=LineageSource.QUERY_LINEAGE, sqlQuery=f"insert into t{i} select * from t0 where ds = 'x'"
        )
    return LineageDetails.model_validate(
        {
            "source": "DbtLineage",
            "columnsLineage": [
                {"fromColumns": ["s.d.x.t0.id"], "toColumn": f"s.d.x.t{i}.id"},
                {"fromColumns": ["s.d.x.t0.a"], "toColumn": f"s.d.x.t{i}.a"},
            ],
        }
    )


def run(kind: str, args: argparse.Namespace) -> None:
    with database(kind) as url:
        store = Store(url)
        try:
            items = [
                AssetInput(type=AssetType.TABLE, fqn=f"s.d.x.t{i}", name=f"t{i}")
                for i in range(args.nodes + 1)
            ]
            pks = [a.pk for a, _ in store.upsert_assets(items)]
            store.put_edges([EdgeWrite(pks[0], pks[i], details(i)) for i in range(1, args.nodes + 1)])
            index = GraphIndex(store)
            index.refresh()
            root = store.get_asset_by_pk(pks[0])
            assert root is not None

            def answer() -> bytes:
                kw = {} if args.legacy else {"parse_details": False}
                view = build_lineage_view(
                    store, index, root, upstream_depth=3, downstream_depth=3, node_limit=args.nodes, **kw
                )
                body = lineage_json(store, view, "http://localhost:8585")
                if args.legacy:
                    return bytes(JSONResponse(body).body)

                return bytes(Response(orjson.dumps(body), media_type="application/json").body)

            size = len(answer())
            if args.freeze:  # what the server does after its start-up index build
                gc.collect()
                gc.freeze()
            walls, cpus = measure(answer, args.reps)
            print(
                f"{kind}: {args.nodes:,} nodes and edges, {size:,} bytes: wall median {walls:.0f} ms, "
                f"CPU median {cpus:.0f} ms ({'legacy' if args.legacy else 'current'} path"
                f"{', heap frozen' if args.freeze else ''}; load average {os.getloadavg()[0]:.1f})",
                flush=True,
            )
        finally:
            store.close()


def measure(fn: Callable[[], bytes], reps: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append((time.perf_counter() - t0) * 1000)
        cpus.append((time.process_time() - c0) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--stores", default="sqlite,postgres")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--legacy", action="store_true", help="parsed details and json.dumps (older trees)")
    ap.add_argument("--no-freeze", dest="freeze", action="store_false", help="do not gc.freeze() first")
    args = ap.parse_args()
    for kind in args.stores.split(","):
        run(kind, args)


if __name__ == "__main__":
    main()
