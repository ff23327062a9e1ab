"""CORS is off unless configured, and the UI and API answer with security headers."""

from __future__ import annotations

from pathlib import Path

import httpx

from headwater.api.app import SECURITY_HEADERS
from headwater.store import Store
from tests.helpers import LiveServer, live_server

ORIGIN = "https://evil.example"


def _preflight(url: str, origin: str) -> httpx.Response:
    return httpx.options(
        f"{url}/api/v1/lineage",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
        timeout=60,
    )


def test_cors_is_off_by_default(server: LiveServer) -> None:
    assert not server.settings.cors_origins
    pre = _preflight(server.url, ORIGIN)
    assert "access-control-allow-origin" not in pre.headers
    with server.client("viewer") as api:
        got = api.get("/api/v1/system/version", headers={"Origin": ORIGIN})
    assert got.status_code == 200
    assert not any(h.startswith("access-control-") for h in got.headers)


def test_cors_allows_only_the_configured_origins(store: Store, tmp_path: Path) -> None:
    allowed = "https://lineage.example"
    with live_server(store, tmp_path / "data", cors_origins=[allowed]) as srv:
        ok = _preflight(srv.url, allowed)
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == allowed
        other = _preflight(srv.url, ORIGIN)
        assert other.headers.get("access-control-allow-origin") != ORIGIN
        got = httpx.get(f"{srv.url}/api/v1/system/version", headers={"Origin": ORIGIN}, timeout=60)
        assert got.headers.get("access-control-allow-origin") not in (ORIGIN, "*")


def test_ui_and_api_answers_carry_security_headers(server: LiveServer) -> None:
    ui = httpx.get(f"{server.url}/", follow_redirects=True, timeout=60)
    assert ui.status_code == 200 and "text/html" in ui.headers["content-type"]
    with server.client("viewer") as api:
        answers = [ui, api.get("/api/v1/system/version"), api.get("/api/v1/tables/no-such-id")]
    for answer in answers:
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers.get(name) == value, (answer.url, name)
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-eval" not in csp
