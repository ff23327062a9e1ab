"""The CLI contract scripts rely on: `serve`, `token create`, first-start admin token, refusals."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.helpers import free_port

HEADWATER = [sys.executable, "-m", "headwater.cli.main"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HEADWATER, *args], capture_output=True, text=True, timeout=120, env=env)


def test_token_create_prints_only_the_token(tmp_path: Path, db_url: str) -> None:
    done = run("token", "create", "--role", "viewer", "--data-dir", str(tmp_path), "--db-url", db_url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and lines[0].count(".") == 2  # a JWT and nothing else


def test_token_create_rejects_unknown_role(tmp_path: Path) -> None:
    done = run("token", "create", "--role", "owner", "--data-dir", str(tmp_path))
    assert done.returncode != 0
    assert "unknown role" in done.stderr and done.stdout == ""


def test_bad_setting_in_the_environment_is_named(tmp_path: Path) -> None:
    """A malformed HEADWATER_* number ends any command with one line naming the variable and
    exit 2, not a traceback (server, token, OpenLineage and ingest commands alike)."""
    commands = [
        ("serve", "--data-dir", str(tmp_path)),
        ("token", "list", "--data-dir", str(tmp_path)),
        ("openlineage", "services", "--data-dir", str(tmp_path)),
    ]
    for variable, value in (
        ("HEADWATER_MAX_DEPTH", "ten"),
        ("HEADWATER_TRANSLATE_MAX_WAIT", "soon"),
        ("HEADWATER_PORT", "[red]8585"),  # shown as given, not taken for terminal markup
        ("HEADWATER_AUTH", "flase"),  # a typo is not silently "auth on"
    ):
        env = {**os.environ, variable: value}
        for args in commands:
            done = run(*args, env=env)
            assert done.returncode == 2, (variable, args, done.stderr)
            # one line names the variable and the value (scripts grep it; it is not wrapped)
            assert any(variable in line and repr(value) in line for line in done.stderr.splitlines()), (
                done.stderr
            )
            assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    # a valid value is taken
    env = {**os.environ, "HEADWATER_TRANSLATE_MAX_WAIT": "2.5"}
    assert run("token", "list", "--data-dir", str(tmp_path), env=env).returncode == 0


def test_serve_refuses_public_bind_without_auth(tmp_path: Path) -> None:
    done = run("serve", "--host", "0.0.0.0", "--no-auth", "--data-dir", str(tmp_path))
    assert done.returncode != 0
    assert "refusing to bind" in done.stderr


def test_serve_demo_first_start_admin_token(tmp_path: Path) -> None:
    """A newcomer's first run: demo lineage, admin token on disk, version without auth."""
    port = free_port()
    data = tmp_path / "data"
    env = {**os.environ, "HEADWATER_AUTH": "true"}
    proc = subprocess.Popen(
        [*HEADWATER, "serve", "--port", str(port), "--data-dir", str(data), "--demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/v1/system/version", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.time() < deadline, "server did not start"
            time.sleep(0.2)
        token_file = data / "admin-token"
        assert token_file.exists() and (token_file.stat().st_mode & 0o777) == 0o600
        token = token_file.read_text().strip()
        assert httpx.get(f"{base}/api/v1/tables").status_code == 401
        lineage = httpx.get(
            f"{base}/api/v1/lineage/table/name/shop_pg.shop.public.orders",
            params={"upstreamDepth": 2, "downstreamDepth": 2},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        names = {n["name"] for n in lineage["nodes"]}
        assert {"stg_orders", "raw_orders", "raw_payments", "customers", "revenue_daily"} <= names
        assert lineage["entity"]["fullyQualifiedName"] == "shop_pg.shop.public.orders"
        assert httpx.get(f"{base}/docs").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    # the token is never printed, only where it is
    err = proc.stderr.read() if proc.stderr else ""
    assert token not in err and "admin-token" in err


def test_cli_lineage_prints_csv(tmp_path: Path) -> None:
    data = tmp_path / "d"
    data.mkdir()
    from headwater.config import Settings
    from headwater.demo import load_demo
    from headwater.store import Store

    store = Store(Settings(data_dir=data).database_url)
    load_demo(store)
    store.close()
    done = run("lineage", "shop_pg.shop.public.stg_orders", "--format", "csv", "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()
    assert rows[0].startswith("fromId,fromEntityType,fromFullyQualifiedName")
    assert len(rows) == 3  # raw_orders -> stg_orders, stg_orders -> orders
    missing = run("lineage", "nope.nope", "--data-dir", str(data))
    assert missing.returncode != 0 and "no table" in missing.stderr
