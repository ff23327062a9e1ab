"""Fixtures for the whole suite. Every store-backed test runs on SQLite and on PostgreSQL.

PostgreSQL is the server at 127.0.0.1:5432 (trust auth); each test gets a fresh database. Set
HEADWATER_TEST_STORES=sqlite to run only the SQLite half (never in CI).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from headwater.store import Store
from tests.helpers import FIGURES, REPO, LiveServer, live_server, postgres_database

STORES = [s for s in os.environ.get("HEADWATER_TEST_STORES", "sqlite,postgres").split(",") if s]


@pytest.fixture(params=STORES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'headwater.db'}"
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    st = Store(db_url)
    try:
        yield st
    finally:
        st.close()


@pytest.fixture
def server(store: Store, tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(store, tmp_path / "data") as srv:
        yield srv


@pytest.fixture
def api(server: LiveServer) -> Iterator[httpx.Client]:
    """An HTTP client with an admin token against a live server."""
    with server.client("admin") as client:
        yield client


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The figures the reliability tests measured, whatever the capture mode or verbosity."""
    if not FIGURES:
        return
    terminalreporter.section("headwater reliability figures")
    for line in FIGURES:
        terminalreporter.write_line(line)
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "figures.txt").write_text("\n".join(FIGURES) + "\n")
