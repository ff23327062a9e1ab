"""Test helpers shared by every package's tests: throwaway databases and a live server."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import uvicorn

from headwater.api.app import create_app
from headwater.api.auth import TokenService
from headwater.config import Settings
from headwater.store import Store

PG_ADMIN_DSN = os.environ.get("HEADWATER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REPO = Path(__file__).resolve().parent.parent
OL_EVENTS = REPO.parent / "shared" / "ol-events"


FIGURES: list[str] = []


def report_figure(line: str) -> None:
    """Record a figure a reliability test measured (events sent / acknowledged / found, kills,
    fuzz cases, 5xx seen). tests/conftest.py prints them all in pytest's terminal summary, so they
    show with `pytest -q` and without `-s`, and writes them to test-artifacts/figures.txt."""
    FIGURES.append(line)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database on the local server, dropped afterwards; yields its URL."""
    name = f"hw_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    try:
        yield f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class LiveServer:
    """A real headwater HTTP server on a free loopback port, with one token per role."""

    url: str
    store: Store
    settings: Settings
    admin_token: str
    editor_token: str
    viewer_token: str
    app: object

    def client(self, role: str = "admin", **kwargs: object) -> httpx.Client:
        token = {"admin": self.admin_token, "editor": self.editor_token, "viewer": self.viewer_token}[role]
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
            **kwargs,  # type: ignore[arg-type]
        )


@contextmanager
def live_server(store: Store, data_dir: Path, **overrides: object) -> Iterator[LiveServer]:
    """Run create_app() under uvicorn in a thread until the block ends."""
    settings = Settings(data_dir=data_dir, db_url=store.url)
    for key, value in overrides.items():
        setattr(settings, key, value)
    port = free_port()
    settings.port = port
    app = create_app(settings, store)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    tokens: TokenService = app.state.tokens
    try:
        yield LiveServer(
            url=f"http://127.0.0.1:{port}",
            store=store,
            settings=settings,
            admin_token=tokens.create("admin", "test-admin"),
            editor_token=tokens.create("editor", "test-editor"),
            viewer_token=tokens.create("viewer", "test-viewer"),
            app=app,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=15)
