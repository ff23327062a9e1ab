"""Helpers shared by the OpenLineage tests (kept out of conftest so tests can import them)."""

from __future__ import annotations

import json
import socket
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
OL_EVENTS = REPO.parent / "shared" / "ol-events"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port}")


def create_topic(broker: str, partitions: int = 1) -> str:
    """Create a fresh topic and return its name."""
    from confluent_kafka.admin import AdminClient, NewTopic

    name = f"ol-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": broker})
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    futures[name].result(timeout=15)
    return name


def load_example_events() -> dict[str, dict[str, Any]]:
    """The shared conformance events by file name (empty when the folder is absent)."""
    if not OL_EVENTS.is_dir():
        return {}
    return {p.name: json.loads(p.read_text()) for p in sorted(OL_EVENTS.glob("*.json"))}


def make_event(
    event_type: str | None = "START",
    *,
    run_id: str | None = None,
    job: tuple[str, str] = ("etl", "orders.load"),
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
    event_time: str = "2025-01-01T00:00:00Z",
    run_facets: dict[str, Any] | None = None,
    job_facets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A minimal valid RunEvent, as in the spec's example."""
    ev: dict[str, Any] = {
        "eventTime": event_time,
        "producer": "https://example.com/headwater-test",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id or str(uuid.uuid4()), "facets": run_facets or {}},
        "job": {"namespace": job[0], "name": job[1], "facets": job_facets or {}},
        "inputs": inputs or [],
        "outputs": outputs or [],
    }
    if event_type is not None:
        ev["eventType"] = event_type
    return ev
