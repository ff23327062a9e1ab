"""Benchmark: time to first render of a large lineage graph in the explorer (issue 7).

Starts ``headwater serve`` on a free loopback port with a fresh data directory, seeds a layered
graph through the REST API (OpenMetadata entity and lineage endpoints), then loads
``/explore/table/<root>?up=0&down=10&limit=N`` in headless Chromium (the system
``/usr/bin/chromium``, never a downloaded browser) several times and reports, per run, the time
from navigation start to the moment the graph is drawn (the page's ``hw:graph-rendered``
performance mark, set after layout and two animation frames). That covers the lineage
request, the ELK layout in its web worker and the React Flow render.

It can also measure panning smoothness (frame intervals while dragging the canvas).

    .venv/bin/python bench/ui_render.py                 # 500 nodes, 7 runs
    .venv/bin/python bench/ui_render.py --nodes 1000 --pan
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def headwater() -> list[str]:
    exe = Path(sys.executable).parent / "headwater"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "headwater.cli.main"]


def layer_sizes(total: int, layers: int = 10) -> list[int]:
    """Sizes of the layers below the root, growing then flat, summing to total - 1."""
    rest = total - 1
    weights = [1, 2, 3, 4] + [5] * (layers - 4)
    sizes = [max(1, rest * w // sum(weights)) for w in weights]
    sizes[-1] += rest - sum(sizes)
    return sizes


def seed(c: httpx.Client, total: int, tag: str) -> tuple[str, int, int]:
    """A DAG of `total` tables: root -> 10 layers; each node has 1-2 parents in the layer above."""

    def put(path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = c.put(path, json=body)
        r.raise_for_status()
        return r.json() if r.content else {}

    put("/api/v1/services/databaseServices", {"name": "bench", "serviceType": "Postgres"})
    put("/api/v1/databases", {"name": "db", "service": "bench"})
    put("/api/v1/databaseSchemas", {"name": tag, "database": "bench.db"})
    schema = f"bench.db.{tag}"

    def table(name: str) -> dict[str, Any]:
        cols = [{"name": "id", "dataType": "INT"}, {"name": "value", "dataType": "VARCHAR"}]
        return put("/api/v1/tables", {"name": name, "databaseSchema": schema, "columns": cols})

    root = table("root")
    layers = [[root]]
    for li, size in enumerate(layer_sizes(total), start=1):
        layers.append([table(f"l{li}_t{i}") for i in range(size)])
    edges = 0
    for li in range(1, len(layers)):
        prev, cur = layers[li - 1], layers[li]
        for i, t in enumerate(cur):
            parents = {i % len(prev)}
            if i % 3 == 0 and len(prev) > 1:
                parents.add((i * 7 + 1) % len(prev))
            for p in parents:
                src = prev[p]
                cl = [
                    {
                        "fromColumns": [f"{src['fullyQualifiedName']}.{col}"],
                        "toColumn": f"{t['fullyQualifiedName']}.{col}",
                    }
                    for col in ("id", "value")
                ]
                body = {
                    "edge": {
                        "fromEntity": {"id": src["id"], "type": "table"},
                        "toEntity": {"id": t["id"], "type": "table"},
                        "lineageDetails": {
                            "columnsLineage": cl,
                            "source": "QueryLineage",
                            "sqlQuery": f"insert into {t['name']} select id, value from {src['name']}",
                        },
                    }
                }
                put("/api/v1/lineage", body)
                edges += 1
    return str(root["id"]), sum(len(layer) for layer in layers), edges


def measure(url: str, token: str, runs: int, pan: bool) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    times: list[float] = []
    pan_stats: dict[str, float] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for run in range(runs + 1):  # run 0 warms the OS file cache, not counted
            ctx = browser.new_context(viewport={"width": 1400, "height": 900})
            ctx.add_init_script(f"sessionStorage.setItem('headwater.token', {token!r});")
            page = ctx.new_page()
            page.goto(url)
            # a selector, not wait_for_function: the server's CSP forbids eval
            page.wait_for_selector("html[data-graph-state=rendered]", state="attached", timeout=120_000)
            t = page.evaluate("performance.getEntriesByName('hw:graph-rendered')[0].startTime")
            n = page.get_attribute("[data-testid=graph]", "data-node-count")
            marks = page.evaluate(
                "performance.getEntriesByType('mark').map(m => m.name + '@' + Math.round(m.startTime)).join(' ')"
            )
            if run > 0:
                times.append(float(t))
            label = " (warm-up)" if run == 0 else ""
            print(f"run {run}{label}: {t:.0f} ms, {n} nodes drawn  [{marks}]", flush=True)
            if pan and run == runs:
                pan_stats = measure_pan(page)
            ctx.close()
        browser.close()
    return {"times_ms": times, "median_ms": statistics.median(times), "pan": pan_stats}


def measure_pan(page: Any) -> dict[str, float]:
    """Drag the canvas for ~3 s and record the intervals between animation frames."""
    page.wait_for_timeout(1500)  # let deferred work (minimap, details) settle first
    box = page.locator(".react-flow__pane").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.evaluate("""() => { window.__frames = []; let last = performance.now();
      const tick = (t) => { window.__frames.push(t - last); last = t;
        if (!window.__stop) requestAnimationFrame(tick); }; requestAnimationFrame(tick); }""")
    page.mouse.move(cx, cy)
    page.mouse.down()
    start = time.monotonic()
    i = 0
    while time.monotonic() - start < 3.0:
        i += 1
        dx = 300 * ((i % 120) / 120 - 0.5)
        page.mouse.move(cx + dx, cy + dx / 3)
    page.mouse.up()
    frames = page.evaluate("() => { window.__stop = true; return window.__frames.slice(2); }")
    frames.sort()
    return {
        "frames": len(frames),
        "median_frame_ms": statistics.median(frames),
        "p95_frame_ms": frames[int(len(frames) * 0.95) - 1],
        "mouse_moves": i,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, default=500, help="nodes in the graph, root included")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--limit", type=int, default=2000, help="nodeLimit passed by the UI")
    ap.add_argument("--pan", action="store_true", help="also measure frame times while panning")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing (apt-get install -y chromium)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="hw-bench-ui-") as d:
        data = Path(d) / "data"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        token = (
            subprocess.run(
                [*headwater(), "token", "create", "--role", "admin", "--data-dir", str(data)],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        port = free_port()
        log = open(Path(d) / "serve.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [*headwater(), "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/api/v1/system/version", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None:
                    raise SystemExit(f"headwater serve exited: {(Path(d) / 'serve.log').read_text()[-2000:]}")
                time.sleep(0.2)
            t0 = time.monotonic()
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
                root, n_nodes, n_edges = seed(c, args.nodes, f"g{args.nodes}")
                resp = c.get(
                    f"/api/v1/lineage/table/{root}",
                    params={"upstreamDepth": 0, "downstreamDepth": 10, "nodeLimit": args.limit},
                )
                if resp.status_code != 200:
                    raise SystemExit(f"lineage request failed: {resp.status_code} {resp.text[:500]}")
                check = resp.json()
            print(
                f"seeded {n_nodes} nodes, {n_edges} edges in {time.monotonic() - t0:.1f} s; "
                f"API returns {len(check['nodes']) + 1} nodes",
                flush=True,
            )
            url = f"{base}/explore/table/{root}?up=0&down=10&limit={args.limit}"
            res = measure(url, token, args.runs, args.pan)
            res.update({"nodes": n_nodes, "edges": n_edges, "chromium": CHROMIUM})
            print(
                f"time to first render, {n_nodes} nodes: median {res['median_ms']:.0f} ms "
                f"(runs: {', '.join(f'{t:.0f}' for t in res['times_ms'])})"
            )
            if res["pan"]:
                pn = res["pan"]
                print(
                    f"panning: median frame {pn['median_frame_ms']:.1f} ms, p95 {pn['p95_frame_ms']:.1f} ms "
                    f"over {pn['frames']} frames"
                )
            if args.json:
                print(json.dumps(res))
        finally:
            proc.terminate()
            proc.wait(timeout=15)
            log.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
