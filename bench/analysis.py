"""Analysis at scale (issue 9): impact of a hub column and lineage as of a time on a 1M-asset graph.

Usage::

    .venv/bin/python bench/analysis.py --assets 1000000 --edges 3000000 --workdir /tmp/hw-analysis
    .venv/bin/python bench/analysis.py --assets 100000 --edges 300000     # a quick run

The synthetic warehouse of `bench/traversal.py` (layers raw -> staging -> core -> marts -> reports,
power-law degrees, 20% of edges with column mappings `id -> id`, `amount -> amount`) is generated
and bulk-loaded through `Store.put_edges` (everything logged), then a history is written on top:
`--changes` edits (edges removed, edges added, column mappings changed), half of them touching the
hubs, at distinct milliseconds. `T_mid` is an instant halfway through that history.

Measured, per root (hubs: the highest-degree nodes of the middle layers; typical: random nodes with
lineage), median of `--repeat` runs, everything store-level in this process (no HTTP):

- `snapshot`: the same as-of read with the `snapshot` strategy forced (what an instant more than
  200,000 log entries back uses): *cold* = the snapshot's arrays loaded from the database and the
  log since it replayed; *warm* = repeated reads at the instant (cached). The on-demand making of
  the snapshot (a one-off per grid point, normally done in the background by the server) is timed
  once, separately (`snapshot made in`); *new instant* = a read at another instant near it, with the
  snapshot already in memory (only the replay);
- `read`: the current lineage read at depth 3 up and 3 down (`build_lineage_view` + `lineage_json`,
  what `GET /api/v1/lineage/...` does);
- `temporal`: the same read as of `T_mid` (`build_as_of_view` + `lineage_json`, what `?asOf=` does)
  with the strategy picked automatically (temporal: the graph index's history, in memory): *cold* =
  the first read at the instant with every per-instant cache emptied, *warm* = repeated reads;
- `delta`, `log`: the same read with those strategies forced, for reference (delta: the log since
  `T_mid` replayed onto the current index, cold and warm);
- `impact`: impact analysis of the hub's `id` column, 3 hops (`impact_of_column`), against the
  current downstream read at depth 3 of its table (`build_lineage_view` down only + `lineage_json`),
  the read a client would otherwise start from.

The index is built twice first, without and with its temporal part, for the build time and the
RSS each adds. With `--workdir`, the loaded SQLite database is kept there and reused by the next run (the history
is only written once). Prints a Markdown table and writes JSON with `--json`.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from headwater.analysis import asof as asof_module  # noqa: E402
from headwater.analysis import snapshots  # noqa: E402
from headwater.analysis.asof import build_as_of_view  # noqa: E402
from headwater.analysis.impact import impact_of_column  # noqa: E402
from headwater.api.routers.om_lineage import lineage_json  # noqa: E402
from headwater.graph import GraphIndex  # noqa: E402
from headwater.graph.view import build_lineage_view  # noqa: E402
from headwater.model.lineage import LineageDetails  # noqa: E402
from headwater.store import EdgeWrite, Store, now_ms  # noqa: E402
from traversal import Graph, load  # noqa: E402  (the shared generator and bulk loader)

DEPTH = 3
NODE_LIMIT = 10_000
IMPACT_LIMIT = 100_000  # impact_of_column's default node limit
BASE = "http://bench"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def temporal_bytes(index: GraphIndex) -> int:
    """Bytes of the temporal part's arrays (births per slot and newest birth per node, both ways)."""
    total = 0
    for csr in (index._out, index._in):
        if csr is not None:
            for arr in (csr.births, csr.latest):
                if arr is not None:
                    total += arr.itemsize * len(arr)
    return total


def details_changed_bytes(index: GraphIndex) -> int:
    """Bytes of the temporal part's details-change times (a dict of int keys and values)."""
    changed = index._details_changed
    return sys.getsizeof(changed) + sum(sys.getsizeof(k) + sys.getsizeof(v) for k, v in changed.items())


def median_ms(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), result


def forget() -> None:
    """Drop every per-instant cache (delta overlays, loaded snapshots)."""
    asof_module._CACHE.clear()
    snapshots._LOADED.clear()
    snapshots._CSRS.clear()


def write_history(
    store: Store, g: Graph, pks: np.ndarray, hubs: list[int], changes: int, seed: int
) -> dict[str, int]:
    """Edits after the load: removals, additions and column-mapping changes, half around the hubs."""
    rng = random.Random(seed)
    t_loaded = now_ms()
    time.sleep(0.005)
    by_src: dict[int, list[int]] = {}
    for h in hubs:
        lo, hi = np.searchsorted(g.src, h), np.searchsorted(g.src, h, side="right")
        by_src[h] = g.dst[lo:hi].tolist()
    marks: dict[str, int] = {"loaded": t_loaded}
    for i in range(changes):
        if i == changes // 2:
            time.sleep(0.005)
            marks["mid"] = now_ms()
            time.sleep(0.005)
        near_hub = i % 2 == 0
        if near_hub:
            h = hubs[i % len(hubs)]
            dsts = by_src[h]
            s_ = h
            d_ = dsts[rng.randrange(len(dsts))] if dsts else rng.randrange(g.n)
        else:
            k = rng.randrange(g.m)
            s_, d_ = int(g.src[k]), int(g.dst[k])
        kind = i % 3
        sp, dp = int(pks[s_]), int(pks[d_])
        if kind == 0:
            store.delete_edge(sp, dp)
        else:
            fn = None if kind == 1 else f"upper(id) /* change {i} */"
            details = LineageDetails.model_validate(
                {
                    "source": "Manual",
                    "columnsLineage": [
                        {"fromColumns": [f"{g.fqn(s_)}.id"], "toColumn": f"{g.fqn(d_)}.id", "function": fn},
                        {"fromColumns": [f"{g.fqn(s_)}.amount"], "toColumn": f"{g.fqn(d_)}.amount"},
                    ],
                }
            )
            store.put_edges([EdgeWrite(sp, dp, details)], "bench-history")
    time.sleep(0.005)
    marks["end"] = now_ms()
    return marks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--assets", type=int, default=1_000_000)
    ap.add_argument("--edges", type=int, default=3_000_000)
    ap.add_argument("--changes", type=int, default=2000)
    ap.add_argument("--hubs", type=int, default=3)
    ap.add_argument("--typical", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--batch", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", type=Path, default=None, help="keep and reuse the SQLite database here")
    ap.add_argument("--db-url", default=None, help="use this database instead (must be empty or loaded)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--no-reference-at-hubs",
        action="store_true",
        help="at hubs, time only the current read, the automatic as-of read and impact (skip delta, snapshot, log)",
    )
    ap.add_argument(
        "--load-only", action="store_true", help="load the graph and history into the workdir, then stop"
    )
    args = ap.parse_args()

    log(f"generating {args.assets:,} assets, {args.edges:,} edges")
    g = Graph(args.assets, args.edges, args.seed)
    workdir = args.workdir or Path("/tmp") / f"hw-analysis-{args.assets}"
    workdir.mkdir(parents=True, exist_ok=True)
    url = args.db_url or f"sqlite:///{workdir / 'bench.db'}"
    state_file = workdir / "state.json"
    store = Store(url)
    mid = (g.layer_of >= 1) & (g.layer_of <= 3)
    degree = g.out_deg + g.in_deg
    hubs = [int(x) for x in np.argsort(np.where(mid & (g.out_deg > 0), degree, -1))[::-1][: args.hubs]]
    if state_file.exists() and store.count("assets") >= args.assets:
        state = json.loads(state_file.read_text())
        log(f"reusing the loaded database in {workdir}")
    else:
        log(f"loading into {url}")
        t0 = time.perf_counter()
        pks, load_stats = load(store, g, args.batch)
        log(f"loaded in {time.perf_counter() - t0:.0f}s; writing {args.changes} history edits")
        marks = write_history(store, g, pks, hubs, args.changes, args.seed)
        state = {"pks": pks.tolist(), "marks": marks, "load": load_stats}
        state_file.write_text(json.dumps(state))
    if args.load_only:
        log(f"loaded; log entries: {store.max_log_seq():,}")
        return
    pks = np.asarray(state["pks"], dtype=np.int64)
    marks = state["marks"]
    rss0 = rss_mb()
    t0 = time.perf_counter()
    plain = GraphIndex(store, temporal=False)
    plain.rebuild()
    plain_s, plain_mb = time.perf_counter() - t0, rss_mb() - rss0
    del plain
    gc.collect()
    rss0 = rss_mb()
    t0 = time.perf_counter()
    index = GraphIndex(store)
    index.rebuild()
    index_s, index_mb = time.perf_counter() - t0, rss_mb() - rss0
    st = index.stats()
    index_note = (
        f"index built in {index_s:.1f} s, RSS +{index_mb:.0f} MB with the temporal part "
        f"({temporal_bytes(index) / 2**20:.0f} MB of birth arrays; history: {st['history_pairs']:,} pairs, "
        f"{st['history_assets']:,} assets; details changed after their addition: {st['details_changed']:,} pairs, "
        f"{details_changed_bytes(index) / 2**10:.0f} KiB); without it {plain_s:.1f} s, +{plain_mb:.0f} MB"
    )
    log(f"{index_note}; log entries: {store.max_log_seq():,}")

    forget()
    before = snapshots.list_snapshots(store)
    t0, c0 = time.perf_counter(), time.process_time()
    asof_module.AsOfGraph.open(store, index, marks["mid"], strategy="snapshot")
    snap_made_s, snap_made_cpu = time.perf_counter() - t0, time.process_time() - c0
    made = [s_ for s_ in snapshots.list_snapshots(store) if s_ not in before]
    snap_note = (
        f"snapshot made in {snap_made_s:.1f} s (CPU {snap_made_cpu:.1f} s): "
        + ", ".join(f"seq {s_.seq:,}, {s_.edges:,} edges" for s_ in made)
        if made
        else f"snapshot already there ({snap_made_s:.1f} s to load and replay)"
    )
    log(snap_note)

    rng = random.Random(args.seed)
    with_lineage = np.nonzero(mid & (g.out_deg > 0) & (g.in_deg > 0))[0]
    typical = [int(with_lineage[rng.randrange(len(with_lineage))]) for _ in range(args.typical)]
    rows: list[dict[str, Any]] = []
    for label, nodes in (("hub", hubs), ("typical", typical)):
        for node in nodes:
            root = store.get_asset_by_pk(int(pks[node]))
            assert root is not None

            def read(root: Any = root) -> Any:
                view = build_lineage_view(
                    store, index, root, upstream_depth=DEPTH, downstream_depth=DEPTH, node_limit=NODE_LIMIT
                )
                return lineage_json(store, view, BASE)

            def asof(root: Any = root, strategy: str | None = None) -> Any:
                view = build_as_of_view(
                    store,
                    index,
                    root,
                    marks["mid"],
                    upstream_depth=DEPTH,
                    downstream_depth=DEPTH,
                    node_limit=NODE_LIMIT,
                    strategy=strategy,
                )
                return lineage_json(store, view, BASE)

            def down(root: Any = root) -> Any:
                # the same scope as the impact analysis: everything downstream to depth 3
                view = build_lineage_view(
                    store, index, root, upstream_depth=0, downstream_depth=DEPTH, node_limit=IMPACT_LIMIT
                )
                return lineage_json(store, view, BASE)

            def impact(root: Any = root) -> Any:
                return impact_of_column(
                    store, index, root, f"{root.fqn}.id", max_depth=DEPTH, node_limit=IMPACT_LIMIT
                )

            def asof_delta(root: Any = root) -> Any:
                return asof(root, "delta")

            read()  # warm the caches once
            r_ms, r_res = median_ms(read, args.repeat)
            forget()  # cold: nothing of this instant in memory (the temporal part has nothing per instant)
            tc_ms, _ = median_ms(asof, 1)
            t_ms, t_res = median_ms(asof, args.repeat)
            asof_module._CACHE.clear()
            skip = label == "hub" and args.no_reference_at_hubs
            c_ms, _ = (float("nan"), None) if skip else median_ms(asof_delta, 1)  # cold: replay included
            a_ms, a_res = (float("nan"), t_res) if skip else median_ms(asof_delta, args.repeat)

            def asof_log(root: Any = root) -> Any:
                return asof(root, "log")

            nan = float("nan")
            skip = label == "hub" and args.no_reference_at_hubs
            l_ms, l_res = (nan, t_res) if skip else median_ms(asof_log, 1)

            def asof_snap(root: Any = root) -> Any:
                return asof(root, "snapshot")

            forget()
            if skip:
                sc_ms = sn_ms = s_ms = float("nan")
                s_res = t_res
            else:
                sc_ms, _ = median_ms(asof_snap, 1)  # cold: load the snapshot, replay the log since it
                asof_module._CACHE.clear()  # a new instant near it: the snapshot is in memory, replay only
                sn_ms, _ = median_ms(asof_snap, 1)
                s_ms, s_res = median_ms(asof_snap, args.repeat)
            d_ms, _ = median_ms(down, args.repeat)
            i_ms, i_res = median_ms(impact, args.repeat)
            same = (
                {(e["fromEntity"], e["toEntity"]) for e in t_res["upstreamEdges"] + t_res["downstreamEdges"]}
                == {
                    (e["fromEntity"], e["toEntity"])
                    for e in a_res["upstreamEdges"] + a_res["downstreamEdges"]
                }
                == {
                    (e["fromEntity"], e["toEntity"])
                    for e in l_res["upstreamEdges"] + l_res["downstreamEdges"]
                }
                == {
                    (e["fromEntity"], e["toEntity"])
                    for e in s_res["upstreamEdges"] + s_res["downstreamEdges"]
                }
            )
            row = {
                "root": label,
                "fqn": root.fqn,
                "nodes_now": len(r_res["nodes"]),
                "nodes_then": len(t_res["nodes"]),
                "read_ms": r_ms,
                "temporal_ms": t_ms,
                "temporal_ratio": t_ms / r_ms,
                "temporal_cold_ms": tc_ms,
                "temporal_cold_ratio": tc_ms / r_ms,
                "asof_ms": a_ms,
                "asof_ratio": a_ms / r_ms,
                "asof_cold_ms": c_ms,
                "asof_cold_ratio": c_ms / r_ms,
                "asof_log_ms": l_ms,
                "snap_cold_ms": sc_ms,
                "snap_cold_ratio": sc_ms / r_ms,
                "snap_new_instant_ms": sn_ms,
                "snap_new_instant_ratio": sn_ms / r_ms,
                "snap_ms": s_ms,
                "snap_ratio": s_ms / r_ms,
                "strategies_agree": same,
                "down_read_ms": d_ms,
                "impact_ms": i_ms,
                "impact_rows": len(i_res.rows),
                "impact_ratio": i_ms / d_ms,
            }
            rows.append(row)
            log(
                f"{label} {root.fqn}: read {r_ms:.1f} ms, temporal {t_ms:.1f} ms ({t_ms / r_ms:.2f}x; cold "
                f"{tc_ms:.1f} ms {tc_ms / r_ms:.2f}x), delta {a_ms:.1f} ms ({a_ms / r_ms:.2f}x; "
                f"cold {c_ms:.1f} ms {c_ms / r_ms:.2f}x; log {l_ms:.0f} ms; snapshot {s_ms:.1f} ms "
                f"{s_ms / r_ms:.2f}x, cold {sc_ms:.1f} ms {sc_ms / r_ms:.2f}x, new instant {sn_ms:.1f} ms "
                f"{sn_ms / r_ms:.2f}x; agree {same}), "
                f"impact {i_ms:.1f} ms vs down-read {d_ms:.1f} ms ({i_ms / d_ms:.2f}x, {len(i_res.rows)} columns)"
            )
    print(report(rows, args, store, marks))
    print(f"\n{index_note}")
    print(f"\n{snap_note}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "rows": rows,
                    "marks": marks,
                    "snapshot": snap_note,
                    "index": index_note,
                    "loadavg_end": os.getloadavg(),
                    "args": vars(args) | {"json": str(args.json)},
                },
                default=str,
                indent=2,
            )
        )


def report(rows: list[dict[str, Any]], args: argparse.Namespace, store: Store, marks: dict[str, int]) -> str:
    lines = [
        f"{args.assets:,} assets, {args.edges:,} edges, {args.changes} history edits, store {store.dialect}, "
        f"depth {DEPTH}, median of {args.repeat}",
        "",
        "| root | nodes now / then | read ms | as-of (temporal) ms | temporal / read | temporal cold ms | temporal cold / read | as-of (delta) ms | delta / read | delta cold ms | delta cold / read | as-of (log strategy) ms | snapshot ms | snapshot / read | snapshot cold ms | snapshot cold / read | snapshot new instant ms | new instant / read | down read ms | column impact ms | impact / down read | impacted columns |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['root']} {r['fqn']} | {r['nodes_now']} / {r['nodes_then']} | {r['read_ms']:.1f} | "
            f"{r['temporal_ms']:.1f} | {r['temporal_ratio']:.2f}x | {r['temporal_cold_ms']:.1f} | {r['temporal_cold_ratio']:.2f}x | "
            f"{r['asof_ms']:.1f} | "
            f"{r['asof_ratio']:.2f}x | {r['asof_cold_ms']:.1f} | {r['asof_cold_ratio']:.2f}x | {r['asof_log_ms']:.0f} | "
            f"{r['snap_ms']:.1f} | {r['snap_ratio']:.2f}x | {r['snap_cold_ms']:.1f} | {r['snap_cold_ratio']:.2f}x | "
            f"{r['snap_new_instant_ms']:.1f} | {r['snap_new_instant_ratio']:.2f}x | {r['down_read_ms']:.1f} | {r['impact_ms']:.1f} | "
            f"{r['impact_ratio']:.2f}x | {r['impact_rows']} |"
        )
    for label in ("hub", "typical"):
        sel = [r for r in rows if r["root"] == label]
        if sel:
            lines.append(
                f"| **{label} median** | | {statistics.median(r['read_ms'] for r in sel):.1f} | "
                f"{statistics.median(r['temporal_ms'] for r in sel):.1f} | {statistics.median(r['temporal_ratio'] for r in sel):.2f}x | "
                f"{statistics.median(r['temporal_cold_ms'] for r in sel):.1f} | {statistics.median(r['temporal_cold_ratio'] for r in sel):.2f}x | "
                f"{statistics.median(r['asof_ms'] for r in sel):.1f} | {statistics.median(r['asof_ratio'] for r in sel):.2f}x | "
                f"{statistics.median(r['asof_cold_ms'] for r in sel):.1f} | {statistics.median(r['asof_cold_ratio'] for r in sel):.2f}x | "
                f"{statistics.median(r['asof_log_ms'] for r in sel):.0f} | "
                f"{statistics.median(r['snap_ms'] for r in sel):.1f} | {statistics.median(r['snap_ratio'] for r in sel):.2f}x | "
                f"{statistics.median(r['snap_cold_ms'] for r in sel):.1f} | {statistics.median(r['snap_cold_ratio'] for r in sel):.2f}x | "
                f"{statistics.median(r['snap_new_instant_ms'] for r in sel):.1f} | {statistics.median(r['snap_new_instant_ratio'] for r in sel):.2f}x | "
                f"{statistics.median(r['down_read_ms'] for r in sel):.1f} | "
                f"{statistics.median(r['impact_ms'] for r in sel):.1f} | {statistics.median(r['impact_ratio'] for r in sel):.2f}x | |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
