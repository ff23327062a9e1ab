"""Lineage traversal at scale (issue 2): bulk load, GraphIndex/traverse, HTTP, against baselines.

Usage::

    .venv/bin/python bench/traversal.py --assets 1000000 --edges 3000000 [--stores sqlite,postgres]
    .venv/bin/python bench/traversal.py --assets 100000 --edges 300000      # a quick run

A synthetic warehouse is generated (layers raw -> staging -> core -> marts -> reports, plus some
layer-skipping edges; node degrees drawn from a power law so a few tables have thousands of
readers or sources) and, for each store:

- loaded through the store's bulk path (assets, then edges with details, all logged);
- an in-memory GraphIndex is built (time, RSS growth of this process);
- lineage with depth 3 up and 3 down is read from typical roots (random nodes with lineage) and
  from hub roots (the highest-degree nodes): store-level (``traverse`` with its freshness check:
  on PostgreSQL the log watch's token, a log-head query only when something may have changed),
  over HTTP from a real ``headwater serve`` process on a free loopback port, with a plain
  in-memory BFS over a dict of lists computing the same node set as the baseline, and a recursive
  CTE on the same database for reference.

Medians and p95 are printed as a table and written as JSON (``--json``). The run stops by itself:
each store has a time budget (``--budget`` seconds); measurement loops stop when it is spent.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np
import numpy.typing as npt
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from headwater.api.auth import TokenService  # noqa: E402
from headwater.graph import GraphIndex, traverse  # noqa: E402
from headwater.model.assets import AssetInput  # noqa: E402
from headwater.model.lineage import LineageDetails  # noqa: E402
from headwater.model.types import AssetType, LineageSource  # noqa: E402
from headwater.store import EdgeWrite, Store  # noqa: E402

PG_ADMIN = os.environ.get("HEADWATER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DEPTH = 3
T = TypeVar("T")
LAYERS = [("raw", 0.24), ("stg", 0.22), ("core", 0.2), ("mart", 0.18), ("rpt", 0.16)]


# -- helpers -------------------------------------------------------------------------------------


def rss_mb(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "median": statistics.median(values) if values else float("nan"),
        "p95": pct(values, 0.95),
    }


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# -- the synthetic graph -------------------------------------------------------------------------


class Graph:
    """Nodes 0..n-1 in layers; edges as (src, dst) arrays without duplicates or self-loops."""

    def __init__(self, n: int, m: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.n = n
        sizes = [int(n * f) for _, f in LAYERS]
        sizes[-1] = n - sum(sizes[:-1])
        starts = np.cumsum([0, *sizes])
        self.layer_of = np.repeat(np.arange(len(sizes)), sizes)
        # independent heavy-tailed weights for reading (out) and being read from (in)
        w_out = rng.pareto(1.3, n) + 1.0
        w_in = rng.pareto(1.5, n) + 1.0
        transitions: list[tuple[int, int, float]] = []
        for layer in range(len(sizes) - 1):
            transitions.append((layer, layer + 1, 0.88))
            if layer + 2 < len(sizes):
                transitions.append((layer, layer + 2, 0.12))
        total = sum(sizes[a] * f for a, _, f in transitions)
        codes = np.zeros(0, dtype=np.int64)
        want = m
        for _round in range(10):
            parts = []
            for a, b, f in transitions:
                k = int(want * 1.08 * sizes[a] * f / total) + 1
                sa, sb = slice(starts[a], starts[a + 1]), slice(starts[b], starts[b + 1])
                pa = w_out[sa] / w_out[sa].sum()
                pb = w_in[sb] / w_in[sb].sum()
                src = rng.choice(np.arange(starts[a], starts[a + 1]), size=k, p=pa)
                dst = rng.choice(np.arange(starts[b], starts[b + 1]), size=k, p=pb)
                parts.append(src.astype(np.int64) * n + dst)
            codes = np.unique(np.concatenate([codes, *parts]))
            if codes.size >= m:
                break
            want = m - codes.size
        codes = rng.permutation(codes)[:m]
        codes.sort()
        self.src: npt.NDArray[np.int64] = codes // n
        self.dst: npt.NDArray[np.int64] = codes % n
        self.m = int(codes.size)
        self.out_deg = np.bincount(self.src, minlength=n)
        self.in_deg = np.bincount(self.dst, minlength=n)

    def fqn(self, node: int) -> str:
        layer = LAYERS[int(self.layer_of[node])][0]
        return f"wh.analytics.{layer}.t{node:07d}"

    def adjacency(self) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
        """The plain baseline: dicts of lists, keyed by node."""
        down: dict[int, list[int]] = {}
        up: dict[int, list[int]] = {}
        for s_, d_ in zip(self.src.tolist(), self.dst.tolist(), strict=True):
            down.setdefault(s_, []).append(d_)
            up.setdefault(d_, []).append(s_)
        return up, down


def plain_bfs(up: dict[int, list[int]], down: dict[int, list[int]], root: int, depth: int) -> set[int]:
    """The baseline: nodes within `depth` hops upstream and downstream of root (root excluded)."""
    seen = {root}
    for adj in (up, down):
        visited = {root}
        frontier = [root]
        for _ in range(depth):
            nxt = []
            for node in frontier:
                for other in adj.get(node, ()):
                    if other not in visited:
                        visited.add(other)
                        nxt.append(other)
            frontier = nxt
        seen |= visited
    seen.discard(root)
    return seen


_SOURCES = [LineageSource.QUERY_LINEAGE, LineageSource.VIEW_LINEAGE, LineageSource.DBT_LINEAGE]


_PLAIN = [LineageDetails(source=src) for src in _SOURCES]


def edge_writes(g: Graph, pks: npt.NDArray[np.int64], lo: int, hi: int) -> list[EdgeWrite]:
    """40% of edges carry only a source, 40% a SQL query, 20% two column mappings."""
    out = []
    for i in range(lo, hi):
        s_, d_ = int(g.src[i]), int(g.dst[i])
        kind = i % 10
        if kind < 4:
            details = _PLAIN[kind % 3]  # the store only reads them
        elif kind < 8:
            details = LineageDetails(
                source=LineageSource.QUERY_LINEAGE,
                sqlQuery=f"insert into {g.fqn(d_)} select * from {g.fqn(s_)} where ds = '2026-11-01'",
            )
        else:
            details = LineageDetails.model_validate(
                {
                    "source": "DbtLineage",
                    "columnsLineage": [
                        {"fromColumns": [f"{g.fqn(s_)}.id"], "toColumn": f"{g.fqn(d_)}.id"},
                        {"fromColumns": [f"{g.fqn(s_)}.amount"], "toColumn": f"{g.fqn(d_)}.amount"},
                    ],
                }
            )
        out.append(EdgeWrite(int(pks[s_]), int(pks[d_]), details))
    return out


# -- stores --------------------------------------------------------------------------------------


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    name = f"hw_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load(store: Store, g: Graph, batch: int) -> tuple[npt.NDArray[np.int64], dict[str, float]]:
    """Assets then edges, through the store's bulk writes (`upsert_assets`, `put_edges`: key
    lookups by join, COPY / executemany inserts, every edge logged); one transaction per batch.

    Returns node -> pk and timings of the store calls (building the input objects is timed apart).
    """
    store.upsert_assets(
        [
            AssetInput(type=AssetType.DATABASE_SERVICE, fqn="wh", name="wh"),
            AssetInput(type=AssetType.DATABASE, fqn="wh.analytics", name="analytics"),
            *(
                AssetInput(type=AssetType.DATABASE_SCHEMA, fqn=f"wh.analytics.{layer}", name=layer)
                for layer, _ in LAYERS
            ),
        ]
    )
    pks = np.zeros(g.n, dtype=np.int64)
    t_assets = 0.0
    step = 20_000
    for lo in range(0, g.n, step):
        items = [
            AssetInput(type=AssetType.TABLE, fqn=g.fqn(i), name=f"t{i:07d}")
            for i in range(lo, min(g.n, lo + step))
        ]
        t0 = time.perf_counter()
        res = store.upsert_assets(items)
        t_assets += time.perf_counter() - t0
        pks[lo : lo + len(items)] = [asset.pk for asset, _ in res]
    log(f"  assets: {g.n:,} in {t_assets:.1f}s ({g.n / t_assets:,.0f}/s)")
    t_edges = 0.0
    cpu_edges = 0.0  # CPU time of this process in the store calls (SQLite works in-process)
    t_build = 0.0
    done = 0
    for lo in range(0, g.m, batch):
        tb = time.perf_counter()
        writes = edge_writes(g, pks, lo, min(g.m, lo + batch))
        t0 = time.perf_counter()
        c0 = time.process_time()
        t_build += t0 - tb
        store.put_edges(writes, "bench")
        t_edges += time.perf_counter() - t0
        cpu_edges += time.process_time() - c0
        done += len(writes)
        if (lo // batch) % 20 == 0:
            log(f"  edges: {done:,}/{g.m:,} ({done / t_edges:,.0f}/s)")
    log(
        f"  edges: {g.m:,} in {t_edges:.1f}s ({g.m / t_edges:,.0f}/s; {g.m / cpu_edges:,.0f} per CPU-second "
        f"of this process; building inputs {t_build:.1f}s; load average {os.getloadavg()[0]:.1f})"
    )
    return pks, {
        "assets_s": t_assets,
        "assets_per_s": g.n / t_assets,
        "edges_s": t_edges,
        "edges_per_s": g.m / t_edges,
        "edges_per_cpu_s": g.m / cpu_edges,
        "input_build_s": t_build,
    }


CTE = {
    "up": """
        WITH RECURSIVE walk(pk, depth) AS (
            SELECT CAST(:root AS INTEGER), CAST(0 AS INTEGER)
            UNION
            SELECT e.from_pk, w.depth + 1 FROM edges e JOIN walk w ON e.to_pk = w.pk WHERE w.depth < :depth
        ) SELECT DISTINCT pk FROM walk""",
    "down": """
        WITH RECURSIVE walk(pk, depth) AS (
            SELECT CAST(:root AS INTEGER), CAST(0 AS INTEGER)
            UNION
            SELECT e.to_pk, w.depth + 1 FROM edges e JOIN walk w ON e.from_pk = w.pk WHERE w.depth < :depth
        ) SELECT DISTINCT pk FROM walk""",
}


def cte_nodes(store: Store, root: int) -> set[int]:
    from sqlalchemy import text

    out: set[int] = set()
    with store.read() as conn:
        for sql in CTE.values():
            out.update(r[0] for r in conn.execute(text(sql), {"root": root, "depth": DEPTH}))
    out.discard(root)
    return out


# -- the HTTP server -----------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(url: str, workdir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    # `headwater serve`, from the same source tree as this script (a copy of the tree can be run)
    cmd = [sys.executable, "-c", "from headwater.cli.main import app; app()", "serve", "--port", str(port)]
    cmd += ["--db-url", url, "--data-dir", str(workdir / "data")]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "HEADWATER_NODE_LIMIT": os.environ.get("HEADWATER_NODE_LIMIT", "5000"),
    }
    logf = open(workdir / "server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {(workdir / 'server.log').read_text()[-2000:]}")
            try:
                httpx.get(base + "/api/v1/system/version", timeout=2)
                break
            except httpx.HTTPError:
                if time.time() > deadline:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.2)
        yield base, proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        logf.close()


# -- one store -----------------------------------------------------------------------------------


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1000, out


def run_store(kind: str, g: Graph, args: argparse.Namespace, baseline: dict[str, Any]) -> dict[str, Any]:
    log(f"== {kind}")
    res: dict[str, Any] = {"store": kind, "loadavg_start": os.getloadavg()[0]}
    workdir = Path(tempfile.mkdtemp(prefix=f"hw-bench-{kind}-"))
    try:
        with database(kind, workdir) as url:
            store = Store(url)
            try:
                pks, res["load"] = load(store, g, args.batch)
                if args.load_only:
                    return res
                if kind == "postgres":
                    with store.engine.connect() as conn:
                        conn.exec_driver_sql("ANALYZE")
                        conn.commit()
                res["rows"] = {t: store.count(t) for t in ("assets", "edges", "edge_details", "lineage_log")}
                log(f"  rows: {res['rows']}")
                node_of = {int(pk): i for i, pk in enumerate(pks.tolist())}
                rss0 = rss_mb()
                index = GraphIndex(store)
                t_build, _ = timed(index.rebuild)
                budget_end = time.time() + args.budget
                res["index"] = {
                    "build_s": t_build / 1000,
                    "rss_growth_mb": rss_mb() - rss0,
                    "rss_mb": rss_mb(),
                }
                log(f"  index: {res['index']}")
                res.update(measure(store, index, g, pks, node_of, url, workdir, args, baseline, budget_end))
            finally:
                store.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    res["loadavg_end"] = os.getloadavg()[0]
    return res


def measure(
    store: Store,
    index: GraphIndex,
    g: Graph,
    pks: npt.NDArray[np.int64],
    node_of: dict[int, int],
    url: str,
    workdir: Path,
    args: argparse.Namespace,
    baseline: dict[str, Any],
    budget_end: float,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    up, down = baseline["up"], baseline["down"]
    groups = {"typical": baseline["typical"], "hub": baseline["hub"]}
    sizes: dict[str, list[int]] = {}
    # store level (three passes, each root read once per pass; medians over every read)
    for name, roots in groups.items():
        times: list[float] = []
        base_times: list[float] = []
        sz: list[int] = []
        for rep in range(args.reps):
            for node in roots:
                ms, tr = timed(
                    partial(
                        traverse,
                        index,
                        int(pks[node]),
                        upstream_depth=DEPTH,
                        downstream_depth=DEPTH,
                        node_limit=10**9,
                    )
                )
                bms, expect = timed(partial(plain_bfs, up, down, node, DEPTH))
                times.append(ms)
                base_times.append(bms)
                if rep == 0:
                    got = {node_of[p] for p in tr.nodes}
                    if got != expect:
                        raise AssertionError(f"node sets differ from the baseline at root {node}")
                    sz.append(len(expect))
        sizes[name] = sz
        out[f"store_{name}"] = summary(times)
        out[f"bfs_{name}"] = summary(base_times)
        out[f"ratio_{name}"] = out[f"store_{name}"]["median"] / out[f"bfs_{name}"]["median"]
        out[f"size_{name}"] = {
            "median": statistics.median(sz),
            "max": max(sz),
            "le500": sum(1 for v in sz if v <= 500),
        }
        log(
            f"  store {name}: {out[f'store_{name}']} bfs {out[f'bfs_{name}']} "
            f"ratio {out[f'ratio_{name}']:.2f} sizes {out[f'size_{name}']}"
        )
    # freshness check alone (a read with nothing new in the log)
    fr = [timed(index.refresh)[0] for _ in range(200)]
    out["refresh_ms"] = summary(fr)
    # recursive CTE, for reference (fewer roots: it is slow on hubs)
    for name, roots in groups.items():
        times = []
        for node in roots[: args.cte_roots]:
            if time.time() > budget_end - args.http_reserve:
                break
            ms, got = timed(partial(cte_nodes, store, int(pks[node])))
            if {node_of[p] for p in got} != plain_bfs(up, down, node, DEPTH):
                raise AssertionError(f"CTE node set differs at root {node}")
            times.append(ms)
        out[f"cte_{name}"] = summary(times)
        log(f"  cte {name}: {out[f'cte_{name}']}")
    # HTTP
    ids = store.get_assets_by_pks([int(pks[n]) for r in groups.values() for n in r])
    token = TokenService(store).create("admin", "bench")
    first = int(pks[groups["typical"][0]])
    with server(url, workdir) as (base, proc):
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            t_first, resp = timed(lambda: client.get("/api/v1/lineage/table/" + ids[first].id))
            resp.raise_for_status()
            out["http_first_request_s"] = t_first / 1000
            out["server_rss_mb"] = rss_mb(proc.pid)
            log(
                f"  http: first lineage request once the server answers (waits for the start-up index build if unfinished) {t_first / 1000:.1f}s, server RSS {out['server_rss_mb']:.0f} MB"
            )
            for name, roots in groups.items():
                times = []
                small: list[float] = []
                nodes_seen: list[int] = []
                for rep in range(args.reps):
                    for i, node in enumerate(roots):
                        if time.time() > budget_end:
                            break
                        path = f"/api/v1/lineage/table/{ids[int(pks[node])].id}"
                        params = {"upstreamDepth": DEPTH, "downstreamDepth": DEPTH}
                        ms, resp = timed(partial(client.get, path, params=params))
                        resp.raise_for_status()
                        times.append(ms)
                        n_nodes = len(resp.json()["nodes"])
                        if sizes[name][i] <= 500:
                            small.append(ms)
                        if rep == 0:
                            nodes_seen.append(n_nodes)
                out[f"http_{name}"] = summary(times)
                out[f"http_{name}_le500"] = summary(small)
                out[f"http_{name}_nodes"] = {"median": statistics.median(nodes_seen), "max": max(nodes_seen)}
                log(f"  http {name}: {out[f'http_{name}']} (<=500 nodes: {out[f'http_{name}_le500']})")
            out["server_rss_mb_end"] = rss_mb(proc.pid)
    return out


# -- main ----------------------------------------------------------------------------------------


def fmt_ms(v: float) -> str:
    return f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 1000 else f"{v:,.0f}"


def report(results: list[dict[str, Any]], args: argparse.Namespace, g: Graph) -> str:
    lines = [
        f"assets {g.n:,}, edges {g.m:,}; max out-degree {int(g.out_deg.max()):,}, max in-degree "
        f"{int(g.in_deg.max()):,}; depth {DEPTH} up + {DEPTH} down; "
        f"{len(results[0]['_typical']) if results else 0} typical roots, {args.hubs} hub roots, {args.reps} reps",
        "",
    ]
    for r in results:
        lines += [
            f"### {r['store']}",
            "",
            "| measure | typical roots | hub roots |",
            "|---|---|---|",
            f"| result size (nodes), median / max | {r['size_typical']['median']:.0f} / {r['size_typical']['max']:,} "
            f"| {r['size_hub']['median']:,.0f} / {r['size_hub']['max']:,} |",
        ]
        for label, key in (
            ("store-level `traverse` ms, median / p95", "store"),
            ("plain BFS (dict of lists) ms, median / p95", "bfs"),
            ("recursive CTE ms, median / p95", "cte"),
            ("HTTP ms, median / p95", "http"),
            ("HTTP ms for results <= 500 nodes, median / p95", "http_le500"),
        ):
            cells = []
            for grp in ("typical", "hub"):
                k = f"{key}_{grp}" if key != "http_le500" else f"http_{grp}_le500"
                s = r.get(k)
                cells.append(
                    f"{fmt_ms(s['median'])} / {fmt_ms(s['p95'])} (n={s['n']})" if s and s["n"] else "—"
                )
            lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
        ratio_cte = [
            r[f"cte_{g_}"]["median"] / r[f"bfs_{g_}"]["median"] if r[f"cte_{g_}"]["n"] else float("nan")
            for g_ in ("typical", "hub")
        ]
        lines += [
            f"| store-level / plain BFS (medians) | {r['ratio_typical']:.2f}x | {r['ratio_hub']:.2f}x |",
            f"| recursive CTE / plain BFS (medians) | {ratio_cte[0]:.0f}x | {ratio_cte[1]:.0f}x |",
            f"| HTTP response nodes, median / max (node limit 5000) | {r['http_typical_nodes']['median']:.0f} / "
            f"{r['http_typical_nodes']['max']:,} | {r['http_hub_nodes']['median']:,.0f} / {r['http_hub_nodes']['max']:,} |",
            "",
            "| load and index | |",
            "|---|---|",
            f"| assets loaded | {r['load']['assets_per_s']:,.0f}/s ({r['load']['assets_s']:.0f} s) |",
            f"| edges loaded (with details and log) | {r['load']['edges_per_s']:,.0f}/s ({r['load']['edges_s']:.0f} s); "
            f"{r['load'].get('edges_per_cpu_s', float('nan')):,.0f} per CPU-second of the loading process |",
            f"| rows after load | {', '.join(f'{k} {v:,}' for k, v in r['rows'].items())} |",
            f"| index build (`GraphIndex.rebuild`) | {r['index']['build_s']:.1f} s, +{r['index']['rss_growth_mb']:.0f} MB RSS |",
            f"| server: first lineage request after start (index built in the background since start) / RSS after | {r['http_first_request_s']:.1f} s / "
            f"{r['server_rss_mb']:.0f} MB |",
            f"| machine load average (2 cores) at start / end | {r['loadavg_start']:.1f} / {r['loadavg_end']:.1f} |",
            f"| freshness check, nothing new (median / p95) | {r['refresh_ms']['median'] * 1000:.0f} µs / "
            f"{r['refresh_ms']['p95'] * 1000:.0f} µs |",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--assets", type=int, default=100_000)
    ap.add_argument("--edges", type=int, default=300_000)
    ap.add_argument("--stores", default="sqlite,postgres")
    ap.add_argument("--roots", type=int, default=200, help="typical roots")
    ap.add_argument("--hubs", type=int, default=20, help="hub roots (highest total degree)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cte-roots", type=int, default=30)
    ap.add_argument("--batch", type=int, default=50_000, help="edges per load call")
    ap.add_argument(
        "--budget", type=float, default=480, help="seconds of measurement per store after loading"
    )
    ap.add_argument("--http-reserve", type=float, default=240, help="seconds kept for HTTP from the budget")
    ap.add_argument("--hard-limit", type=float, default=2400, help="seconds per store before the run aborts")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--load-only", action="store_true", help="measure the bulk load only")
    args = ap.parse_args()
    # on SIGTERM unwind normally, so the server is stopped and the databases dropped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    hard = args.hard_limit * len(args.stores.split(","))

    def out_of_time() -> None:
        print("watchdog: out of time, stopping", flush=True)
        os.kill(os.getpid(), signal.SIGTERM)  # unwinds: server stopped, databases dropped
        time.sleep(60)
        os._exit(3)

    watchdog = threading.Timer(hard, out_of_time)
    watchdog.daemon = True
    watchdog.start()

    t0 = time.perf_counter()
    g = Graph(args.assets, args.edges, args.seed)
    log(
        f"graph: {g.n:,} nodes, {g.m:,} edges in {time.perf_counter() - t0:.1f}s; "
        f"max out {int(g.out_deg.max())}, max in {int(g.in_deg.max())}"
    )
    up, down = ({}, {}) if args.load_only else g.adjacency()
    if not args.load_only:
        # The baseline's adjacency is millions of lists that live to the end of the run; without
        # this every full collection (triggered by the load's and the reads' allocations) walks
        # them all, charged to the store calls. Only this process's own heap is affected.
        gc.freeze()
    rng = random.Random(args.seed)
    with_lineage = np.flatnonzero((g.out_deg + g.in_deg) > 0)
    typical = [int(x) for x in rng.sample(list(with_lineage), args.roots)]
    hub = [int(x) for x in np.argsort(-(g.out_deg + g.in_deg))[: args.hubs]]
    baseline = {"up": up, "down": down, "typical": typical, "hub": hub}
    results = []
    for kind in args.stores.split(","):
        r = run_store(kind, g, args, baseline)
        r["_typical"] = typical
        results.append(r)
    if args.load_only:
        print(json.dumps([{k: v for k, v in r.items() if k != "_typical"} for r in results], indent=1))
        watchdog.cancel()
        return
    text = report(results, args, g)
    print()
    print(text)
    if args.json:
        args.json.write_text(
            json.dumps([{k: v for k, v in r.items() if k != "_typical"} for r in results], indent=1)
        )
    watchdog.cancel()


if __name__ == "__main__":
    main()
