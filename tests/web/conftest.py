"""Fixtures for the lineage explorer browser tests.

They start a real ``headwater serve`` on a free loopback port, seed a small graph through the
REST API (OpenMetadata entity and lineage endpoints) and drive the system Chromium through the
Python ``playwright`` package. No browser is ever downloaded.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "web"

if not CHROMIUM.exists():
    pytest.skip(
        "web UI tests need the system Chromium at /usr/bin/chromium "
        "(apt-get install -y chromium); no browser is downloaded",
        allow_module_level=True,
    )
pytest.importorskip("playwright.sync_api", reason="the `playwright` Python package is not installed")


def headwater_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "headwater"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("headwater")
    if found:
        return [found]
    return [sys.executable, "-m", "headwater.cli.main"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    token: str
    data_dir: Path
    proc: subprocess.Popen[bytes]
    log: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)


def start_server(data_dir: Path, log: Path, extra: list[str] | None = None) -> Server:
    cmd = headwater_cmd()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    tok = subprocess.run(
        [*cmd, "token", "create", "--role", "admin", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    if tok.returncode != 0:
        raise RuntimeError(f"headwater token create failed: {tok.stderr}")
    token = tok.stdout.strip().splitlines()[-1].strip()
    port = free_port()
    fh = log.open("wb")
    proc = subprocess.Popen(
        [
            *cmd,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            *(extra or []),
        ],
        stdout=fh,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"headwater serve exited early:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{url}/api/v1/system/version", timeout=2).status_code == 200:
                return Server(url, token, data_dir, proc, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"headwater serve did not answer:\n{log.read_text(errors='replace')}")


def stop_server(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.proc.kill()


def _put(c: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = c.put(path, json=body)
    assert r.status_code in (200, 201), f"PUT {path} -> {r.status_code} {r.text}"
    return r.json() if r.content else {}


@dataclass
class Seed:
    """The seeded graph: FQN -> entity JSON as returned by the server."""

    assets: dict[str, dict[str, Any]] = field(default_factory=dict)

    def id(self, fqn: str) -> str:
        return str(self.assets[fqn]["id"])

    def ref(self, fqn: str) -> dict[str, str]:
        a = self.assets[fqn]
        return {"id": a["id"], "type": a.get("_type", "table")}


SHOP = "shop_pg.shop"


def seed_graph(c: httpx.Client) -> Seed:
    """raw.orders/raw.customers -> staging -> mart.revenue -> (revenue_daily, dashboard)."""
    s = Seed()
    _put(c, "/api/v1/services/databaseServices", {"name": "shop_pg", "serviceType": "Postgres"})
    _put(c, "/api/v1/databases", {"name": "shop", "service": "shop_pg"})
    for schema in ("raw", "staging", "mart"):
        _put(c, "/api/v1/databaseSchemas", {"name": schema, "database": SHOP})
    tables = {
        "raw.orders": ["id", "customer_id", "amount", "created_at"],
        "raw.customers": ["id", "name", "email"],
        "staging.stg_orders": ["order_id", "customer_id", "amount", "order_day"],
        "staging.stg_customers": ["customer_id", "customer_name"],
        "mart.revenue": ["customer_name", "total_amount"],
        "mart.revenue_daily": ["day", "total"],
    }
    for name, cols in tables.items():
        schema, table = name.split(".")
        body = {
            "name": table,
            "databaseSchema": f"{SHOP}.{schema}",
            "description": f"The {table} table",
            "columns": [{"name": col, "dataType": "VARCHAR"} for col in cols],
        }
        ent = _put(c, "/api/v1/tables", body)
        ent["_type"] = "table"
        s.assets[f"{SHOP}.{name}"] = ent
    _put(c, "/api/v1/services/pipelineServices", {"name": "airflow", "serviceType": "Airflow"})
    pipe = _put(c, "/api/v1/pipelines", {"name": "load_staging", "service": "airflow"})
    pipe["_type"] = "pipeline"
    s.assets["airflow.load_staging"] = pipe
    _put(c, "/api/v1/services/dashboardServices", {"name": "superset", "serviceType": "Superset"})
    dash = _put(c, "/api/v1/dashboards", {"name": "revenue_dash", "service": "superset"})
    dash["_type"] = "dashboard"
    s.assets["superset.revenue_dash"] = dash

    def t(name: str) -> str:
        return f"{SHOP}.{name}"

    def edge(
        src: str,
        dst: str,
        cols: list[tuple[list[str], str]],
        sql: str | None = None,
        pipeline: str | None = None,
        fn: str | None = None,
    ) -> None:
        details: dict[str, Any] = {
            "columnsLineage": [
                {
                    "fromColumns": [f"{src}.{f}" for f in fs],
                    "toColumn": f"{dst}.{to}",
                    **({"function": fn} if fn else {}),
                }
                for fs, to in cols
            ],
            "source": "QueryLineage" if sql else "Manual",
        }
        if sql:
            details["sqlQuery"] = sql
        if pipeline:
            details["pipeline"] = s.ref(pipeline)
        _put(
            c,
            "/api/v1/lineage",
            {"edge": {"fromEntity": s.ref(src), "toEntity": s.ref(dst), "lineageDetails": details}},
        )

    edge(
        t("raw.orders"),
        t("staging.stg_orders"),
        [
            (["id"], "order_id"),
            (["customer_id"], "customer_id"),
            (["amount"], "amount"),
            (["created_at"], "order_day"),
        ],
        "INSERT INTO staging.stg_orders SELECT id AS order_id, customer_id, amount, CAST(created_at AS DATE) "
        "AS order_day FROM raw.orders WHERE amount > 0",
        pipeline="airflow.load_staging",
    )
    edge(
        t("raw.customers"),
        t("staging.stg_customers"),
        [(["id"], "customer_id"), (["name"], "customer_name")],
        "INSERT INTO staging.stg_customers SELECT id AS customer_id, name AS customer_name "
        "FROM raw.customers",
        pipeline="airflow.load_staging",
    )
    rev_sql = (
        "INSERT INTO mart.revenue SELECT c.customer_name, SUM(o.amount) AS total_amount "
        "FROM staging.stg_orders o JOIN staging.stg_customers c ON c.customer_id = o.customer_id GROUP BY 1"
    )
    edge(t("staging.stg_orders"), t("mart.revenue"), [(["amount"], "total_amount")], rev_sql, fn="SUM")
    edge(t("staging.stg_customers"), t("mart.revenue"), [(["customer_name"], "customer_name")], rev_sql)
    edge(
        t("staging.stg_orders"),
        t("mart.revenue_daily"),
        [(["order_day"], "day"), (["amount"], "total")],
        "INSERT INTO mart.revenue_daily SELECT order_day, SUM(amount) FROM staging.stg_orders GROUP BY 1",
    )
    edge(t("mart.revenue"), "superset.revenue_dash", [])
    return s


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    d = tmp_path_factory.mktemp("hw-web")
    srv = start_server(d / "data", d / "serve.log")
    try:
        yield srv
    finally:
        stop_server(srv)


@pytest.fixture(scope="session")
def seed(server: Server) -> Seed:
    with server.client() as c:
        return seed_graph(c)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any, server: Server, seed: Seed, artifacts: Path) -> Iterator[Any]:
    """A signed-in page (token already in sessionStorage), collecting console errors."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 860}, accept_downloads=True)
    ctx.add_init_script(f"sessionStorage.setItem('headwater.token', {server.token!r});")
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    pg.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    pg.hw_errors = errors
    try:
        yield pg
    finally:
        ctx.close()
