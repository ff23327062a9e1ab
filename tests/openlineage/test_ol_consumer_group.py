"""Scale-out of the Kafka consumer: two `headwater openlineage run --continuous` processes of one
service (one consumer group) on one PostgreSQL database share a four-partition topic on the real
broker. Both get partitions, and every event is stored exactly once.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ol_helpers import create_topic, make_event
from sqlalchemy import create_engine, text

from tests.helpers import postgres_database, report_figure

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]
HEADWATER = str(Path(sys.executable).parent / "headwater")
PARTITIONS = 4
EVENTS = 2000


def _wait(pred: Callable[[], Any], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _count(url: str, sql: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def test_two_consumers_in_one_group_share_partitions_and_store_each_event_once(kafka_broker: str) -> None:
    from confluent_kafka import Producer

    topic = create_topic(kafka_broker, partitions=PARTITIONS)
    with postgres_database() as url:
        subprocess.run(
            [
                HEADWATER,
                "openlineage",
                "create",
                "svc",
                "--kafka-brokers",
                kafka_broker,
                "--topic",
                topic,
                "--group",
                "hw-scale-out",
                "--session-timeout",
                "6",
                "--poll-timeout",
                "0.2",
                "--schedule",
                "manual",
                "--db-url",
                url,
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        run = [HEADWATER, "openlineage", "run", "svc", "--continuous", "--batch-size", "25", "--db-url", url]
        procs = [
            subprocess.Popen(run, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
        ]
        outs: list[tuple[str, str]] = []
        try:
            time.sleep(8)  # both join the group and the broker assigns the partitions
            producer = Producer({"bootstrap.servers": kafka_broker})
            partitions_used: set[int] = set()

            def delivered(err: Any, msg: Any) -> None:
                assert err is None, err
                partitions_used.add(msg.partition())

            # produced over several seconds, so that each consumer reads from what it was assigned
            for i in range(EVENTS):
                event = make_event(
                    "COMPLETE",
                    job=("scale", f"job{i}"),
                    inputs=[{"namespace": "postgres://db:5432", "name": f"s.public.in{i % 40}"}],
                    outputs=[{"namespace": "postgres://db:5432", "name": f"s.public.out{i % 9}"}],
                )
                producer.produce(topic, json.dumps(event).encode(), key=str(i).encode(), callback=delivered)
                if i % 100 == 99:
                    producer.flush(30)
                    time.sleep(0.2)
            assert producer.flush(30) == 0
            assert partitions_used == set(range(PARTITIONS))
            _wait(lambda: _count(url, "SELECT count(*) FROM raw_events") >= EVENTS, 180, "every event stored")
            time.sleep(2)  # anything delivered twice would show up now
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    outs.append(p.communicate(timeout=60))
                except subprocess.TimeoutExpired:
                    p.kill()
                    outs.append(p.communicate())
        assert all("{" in out for out, _ in outs), [err[-3000:] for _, err in outs]
        stats = [json.loads(out[out.index("{") :]) for out, _err in outs]
        stored = [s["stored"] for s in stats]
        raw = _count(url, "SELECT count(*) FROM raw_events")
        distinct = _count(url, "SELECT count(DISTINCT payload) FROM raw_events")
        runs = _count(url, "SELECT count(*) FROM runs")
        failed = _count(url, "SELECT count(*) FROM raw_events WHERE error IS NOT NULL")
    assert all(n > 0 for n in stored), f"a consumer got no partition: stored {stored}"
    assert raw == distinct == runs == EVENTS, (raw, distinct, runs)
    assert failed == 0, f"{failed} events failed translation (two translators racing on one database)"
    assert sum(s["messages"] for s in stats) >= EVENTS
    report_figure(
        f"Kafka consumer group: {EVENTS} events over {PARTITIONS} partitions, two consumers stored "
        f"{stored[0]} + {stored[1]} (received {stats[0]['messages']} + {stats[1]['messages']}); "
        f"{raw} stored, {runs} runs, 0 duplicates"
    )
