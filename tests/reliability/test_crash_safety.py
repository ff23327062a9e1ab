"""Crash safety: 10,000 OpenLineage events and lineage edits from several clients while the server is
killed with SIGKILL at random points and restarted. Every request that got a 2xx must be in the
graph exactly once, and nothing else may appear.

The kills fall at random points spread over the whole run (when a random number of requests has
been acknowledged), not only at its start. Clients are at-least-once: a request refused or cut off
by a kill is sent again until it is acknowledged. The figures (sent, acknowledged, found, kills,
duplicates) go to pytest's terminal summary. HEADWATER_CRASH_REQUESTS and HEADWATER_CRASH_KILLS
change the size.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import aliased

from headwater.model import AssetInput, AssetType
from headwater.store import Store, schema
from tests.helpers import free_port, report_figure

TOTAL = int(os.environ.get("HEADWATER_CRASH_REQUESTS", "10000"))
CLIENTS = 4
KILLS = int(os.environ.get("HEADWATER_CRASH_KILLS", "5"))
# where the kills fall: new each run; the figure names the seed, HEADWATER_CRASH_SEED replays it
SEED = int(os.environ.get("HEADWATER_CRASH_SEED") or random.randrange(1_000_000))
EDIT_EVERY = 5  # one request in five is a lineage edit, the rest OpenLineage events
CLI = [sys.executable, "-m", "headwater.cli.main"]


class Server:
    def __init__(self, data_dir: Path, db_url: str) -> None:
        self.data_dir, self.db_url = data_dir, db_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.lock = threading.Lock()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                *CLI,
                "serve",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                "--db-url",
                self.db_url,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(f"{self.url}/api/v1/system/version", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server did not come up")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _event(i: int) -> dict[str, object]:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-22T10:00:00.000Z",
        "producer": "https://example.invalid/crash-test",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.UUID(int=i + 1))},
        "job": {"namespace": "crash", "name": f"job_{i}"},
        "inputs": [{"namespace": "postgres://crashdb:5432", "name": f"crash.public.src_{i}"}],
        "outputs": [{"namespace": "postgres://crashdb:5432", "name": f"crash.public.dst_{i}"}],
    }


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_acknowledged_requests_survive_sigkill_exactly_once(tmp_path: Path, db_url: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    # tables for the lineage edits exist before the run
    seed = Store(db_url)
    edits = [i for i in range(TOTAL) if i % EDIT_EVERY == 0]
    seed.upsert_assets(
        [
            AssetInput(type=AssetType.TABLE, fqn=f"wh.db.s.e{i}_{side}", name=f"e{i}_{side}")
            for i in edits
            for side in "ab"
        ]
    )
    tables, _ = seed.list_assets(types=["table"], limit=len(edits) * 2)
    ids = {t.name: t.id for t in tables}
    seed.close()
    token = subprocess.run(
        [*CLI, "token", "create", "--role", "editor", "--data-dir", str(data), "--db-url", db_url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    server = Server(data, db_url)
    server.start()
    try:
        _run(server, token, ids, edits, db_url)
    finally:
        server.stop()


def _run(
    server: Server,
    token: str,
    ids: dict[str, str],
    edits: list[int],
    db_url: str,
) -> None:
    acked: set[int] = set()
    attempts = {"sent": 0, "failed": 0, "5xx": 0}
    pending = list(range(TOTAL))
    random.Random(7).shuffle(pending)
    queue_lock = threading.Lock()
    done = threading.Event()

    def client() -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=10) as http:
            while True:
                with queue_lock:
                    if not pending:
                        return
                    i = pending.pop()
                while True:  # an at-least-once client: retry until acknowledged
                    try:
                        with queue_lock:
                            attempts["sent"] += 1
                        if i % EDIT_EVERY == 0:
                            edge = {
                                "edge": {
                                    "fromEntity": {"id": ids[f"e{i}_a"], "type": "table"},
                                    "toEntity": {"id": ids[f"e{i}_b"], "type": "table"},
                                }
                            }
                            r = http.put(f"{server.url}/api/v1/lineage", json=edge)
                        else:
                            r = http.post(f"{server.url}/api/v1/lineage", json=_event(i))
                        if 200 <= r.status_code < 300:
                            with queue_lock:
                                acked.add(i)
                            break
                        assert r.status_code >= 500, r.text  # a 4xx would be a bug in this test
                        with queue_lock:
                            attempts["5xx"] += 1
                    except httpx.HTTPError:
                        pass
                    with queue_lock:
                        attempts["failed"] += 1
                    time.sleep(0.05)

    kills: list[int] = []  # how many requests were acknowledged when each kill fell
    rng = random.Random(SEED)
    kill_points = sorted(rng.sample(range(TOTAL // 20, TOTAL * 19 // 20), KILLS))

    def killer() -> None:
        for point in kill_points:
            while len(acked) < point:
                if done.wait(0.01):
                    return
            time.sleep(rng.uniform(0, 0.05))  # not always right after an answer
            kills.append(len(acked))
            server.kill()
            server.start()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    kill_thread = threading.Thread(target=killer)
    started = time.time()
    for t in threads:
        t.start()
    kill_thread.start()
    for t in threads:
        t.join()
    done.set()
    kill_thread.join()
    elapsed = time.time() - started
    # let translation of stored events finish, then stop cleanly
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=300) as http:
        assert http.post(f"{server.url}/api/v1/openlineage/flush", params={"timeout": 300}).status_code == 200
    server.stop()

    store = Store(db_url)
    src, dst = aliased(schema.assets), aliased(schema.assets)
    with store.read() as conn:
        rows = conn.execute(
            select(src.c.name, dst.c.name).select_from(
                schema.edges.join(src, src.c.pk == schema.edges.c.from_pk).join(
                    dst, dst.c.pk == schema.edges.c.to_pk
                )
            )
        ).all()
        runs = conn.execute(select(schema.runs.c.run_id)).all()
    store.close()
    edge_names = [(a, b) for a, b in rows]
    expected = {(f"e{i}_a", f"e{i}_b") if i % EDIT_EVERY == 0 else (f"src_{i}", f"dst_{i}") for i in acked}
    found = set(edge_names) & expected
    duplicates = len(edge_names) - len(set(edge_names))
    run_duplicates = len(runs) - len({r[0] for r in runs})
    report_figure(
        f"crash safety (HTTP) on {db_url.split(':')[0]}: {TOTAL} requests ({TOTAL - len(edits)} OpenLineage "
        f"events, {len(edits)} lineage edits) from {CLIENTS} clients; {attempts['sent']} sent, {len(acked)} "
        f"acknowledged, {attempts['failed']} refused or cut off ({attempts['5xx']} 5xx) around "
        f"{len(kills)} SIGKILLs (at {', '.join(map(str, kills))} acknowledged; seed {SEED}); {len(found)} found, "
        f"{len(set(edge_names) - expected)} extra, {duplicates + run_duplicates} duplicates; {elapsed:.0f}s"
    )
    assert len(acked) == TOTAL
    assert len(kills) == KILLS
    assert duplicates == 0, "duplicate edges"
    # OpenLineage edges run input -> output; the job is the edge's pipeline, not a node in the pair
    assert set(edge_names) == expected, (
        f"missing {len(expected - set(edge_names))}, extra {len(set(edge_names) - expected)}"
    )
    assert len(runs) == len({r[0] for r in runs}) == TOTAL - len(edits)
