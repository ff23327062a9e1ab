"""Atlan bulk API throughput (issue 6): one POST /api/meta/entity/bulk/ of many entities.

Usage::

    .venv/bin/python bench/atlan_bulk.py [--runs 3] [--assets 10000] [--processes 1000] [--db-url URL]

A real `headwater serve` process (SQLite in a temporary data directory unless --db-url is given)
on a free loopback port; requests come from httpx in this process. Measured, each `--runs` times:

- `assets`: one request upserting `--assets` new Tables (under a connection/database/schema
  created first);
- `assets (re-save)`: the same request again (every entity matched by qualifiedName, updated);
- `processes`: one request of `--processes` new Processes with 10 input and 2 output Tables each,
  referenced by guid (from a pool of 5,000 existing tables), i.e. 20 lineage edges per process;
- `processes (re-save)`: the same request again (idempotent retry).

Wall-clock seconds per request (client send to response parsed) and the server process's CPU
seconds for it (from /proc, meaningful on a shared, loaded machine); medians are printed and,
with --json, written to a file.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

VENV_BIN = Path(sys.executable).parent
CONN = "default/snowflake/1700000000"
SCHEMA = f"{CONN}/DB/BENCH"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(data_dir: Path, db_url: str | None) -> tuple[subprocess.Popen[bytes], str, str]:
    env = dict(os.environ, HEADWATER_DATA_DIR=str(data_dir))
    if db_url:
        env["HEADWATER_DB_URL"] = db_url
    token = subprocess.run(
        [str(VENV_BIN / "headwater"), "token", "create", "--role", "admin", "--name", "bench"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    port = free_port()
    proc = subprocess.Popen(
        [str(VENV_BIN / "headwater"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(url + "/api/v1/system/version", timeout=1).status_code < 500:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    return proc, url, token


SERVER_PID = 0
CPU: list[float] = []


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux), to read past a loaded machine's wall clock."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def post(http: httpx.Client, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    c0 = cpu_seconds(SERVER_PID)
    t0 = time.perf_counter()
    r = http.post("/api/meta/entity/bulk/", json=body)
    data = r.json()
    elapsed = time.perf_counter() - t0
    CPU.append(cpu_seconds(SERVER_PID) - c0)
    if r.status_code != 200:
        raise SystemExit(f"bulk request failed: {r.status_code} {str(data)[:500]}")
    return elapsed, data


def table(name: str, guid: str | None = None) -> dict[str, Any]:
    return {
        "typeName": "Table",
        "guid": guid or f"-{random.randrange(10**15)}",
        "attributes": {
            "name": name,
            "qualifiedName": f"{SCHEMA}/{name}",
            "connectionQualifiedName": CONN,
            "connectorName": "snowflake",
            "schemaQualifiedName": SCHEMA,
            "schemaName": "BENCH",
            "databaseName": "DB",
            "description": f"bench table {name}",
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--assets", type=int, default=10_000)
    ap.add_argument("--processes", type=int, default=1_000)
    ap.add_argument("--db-url", default=None, help="PostgreSQL URL (default: SQLite in a temp dir)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    random.seed(6)
    data_dir = Path(tempfile.mkdtemp(prefix="hw-atlan-bench-"))
    proc, url, token = start_server(data_dir, args.db_url)
    global SERVER_PID
    SERVER_PID = proc.pid
    results: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    try:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=600) as http:
            post(
                http,
                {
                    "entities": [
                        {
                            "typeName": "Connection",
                            "attributes": {
                                "qualifiedName": CONN,
                                "name": "bench",
                                "connectorName": "snowflake",
                                "adminRoles": ["bench"],
                            },
                        },
                        {"typeName": "Database", "attributes": {"qualifiedName": f"{CONN}/DB", "name": "DB"}},
                        {"typeName": "Schema", "attributes": {"qualifiedName": SCHEMA, "name": "BENCH"}},
                    ]
                },
            )
            pool = [str(uuid.uuid4()) for _ in range(5_000)]
            post(http, {"entities": [table(f"POOL_{i}", g) for i, g in enumerate(pool)]})
            for run in range(args.runs):
                body = {"entities": [table(f"R{run}_T{i}") for i in range(args.assets)]}
                elapsed, data = post(http, body)
                assert len(data["mutatedEntities"]["CREATE"]) == args.assets
                results.setdefault("assets", []).append(elapsed)
                cpu.setdefault("assets", []).append(CPU[-1])
                elapsed, data = post(http, body)
                assert "CREATE" not in data["mutatedEntities"]
                results.setdefault("assets (re-save)", []).append(elapsed)
                cpu.setdefault("assets (re-save)", []).append(CPU[-1])
                procs = []
                for i in range(args.processes):
                    chosen = random.sample(pool, 12)
                    procs.append(
                        {
                            "typeName": "Process",
                            "guid": f"-{i + 1}",
                            "attributes": {
                                "qualifiedName": f"{CONN}/run{run}_p{i}",
                                "name": f"run {run} process {i}",
                                "connectionQualifiedName": CONN,
                                "connectorName": "snowflake",
                                "sql": f"insert into out_{i} select * from in_{i}",
                                "inputs": [{"typeName": "Table", "guid": g} for g in chosen[:10]],
                                "outputs": [{"typeName": "Table", "guid": g} for g in chosen[10:]],
                            },
                        }
                    )
                body = {"entities": procs}
                elapsed, data = post(http, body)
                assert len(data["mutatedEntities"]["CREATE"]) == args.processes
                results.setdefault("processes", []).append(elapsed)
                cpu.setdefault("processes", []).append(CPU[-1])
                elapsed, data = post(http, body)
                assert "CREATE" not in data["mutatedEntities"]
                results.setdefault("processes (re-save)", []).append(elapsed)
                cpu.setdefault("processes (re-save)", []).append(CPU[-1])
                print(
                    f"run {run + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in results.items()),
                    flush=True,
                )
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(data_dir, ignore_errors=True)
    summary = {
        k: {
            "median_s": round(statistics.median(v), 3),
            "runs": [round(x, 3) for x in v],
            "server_cpu_median_s": round(statistics.median(cpu[k]), 3),
        }
        for k, v in results.items()
    }
    store = "PostgreSQL" if args.db_url else "SQLite"
    print(f"\n{store}: {args.assets} assets / {args.processes} processes x (10 in, 2 out) per request")
    for k, v in summary.items():
        print(
            f"  {k:22s} median {v['median_s']:.2f}s  runs {v['runs']}  server CPU median {v['server_cpu_median_s']:.2f}s"
        )
    print(f"  load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if args.json:
        args.json.write_text(json.dumps({"store": store, "results": summary}, indent=2))


if __name__ == "__main__":
    main()
