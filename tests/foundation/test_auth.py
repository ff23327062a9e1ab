"""Roles, expiry and revocation of tokens over real HTTP, on both stores."""

from __future__ import annotations

import time

import httpx

from headwater.api.auth import TokenService
from tests.helpers import LiveServer


def _tokens(server: LiveServer) -> TokenService:
    return server.app.state.tokens  # type: ignore[attr-defined, no-any-return]


def test_roles_gate_reads_writes_and_admin(server: LiveServer) -> None:
    body = {"name": "svc", "serviceType": "Postgres"}
    with server.client("viewer") as viewer:
        assert viewer.get("/api/v1/services/databaseServices").status_code == 200
        denied = viewer.put("/api/v1/services/databaseServices", json=body)
        assert denied.status_code == 403 and "editor" in denied.json()["message"]
    with server.client("editor") as editor:
        assert editor.put("/api/v1/services/databaseServices", json=body).status_code == 201
        assert editor.get("/api/v1/headwater/tokens").status_code == 403
    with server.client("admin") as admin:
        assert admin.get("/api/v1/headwater/tokens").status_code == 200


def test_missing_and_garbage_tokens_are_401_json(server: LiveServer) -> None:
    plain = httpx.get(f"{server.url}/api/v1/tables")
    assert plain.status_code == 401 and plain.json()["code"] == 401
    bad = httpx.get(f"{server.url}/api/v1/tables", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401 and "Invalid token" in bad.json()["message"]


def test_revoked_token_is_refused(server: LiveServer) -> None:
    with server.client("admin") as admin:
        created = admin.post("/api/v1/headwater/tokens", json={"role": "viewer", "name": "temp"}).json()
        token = created["token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{server.url}/api/v1/tables", headers=headers).status_code == 200
        jti = next(
            t["jti"] for t in admin.get("/api/v1/headwater/tokens").json()["data"] if t["name"] == "temp"
        )
        assert admin.delete(f"/api/v1/headwater/tokens/{jti}").status_code == 200
    _tokens(server)._cache.clear()
    refused = httpx.get(f"{server.url}/api/v1/tables", headers=headers)
    assert refused.status_code == 401 and "revoked" in refused.json()["message"]


def test_expired_token_is_refused(server: LiveServer) -> None:
    token = _tokens(server).create("viewer", "short", expires_in_seconds=3)
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{server.url}/api/v1/tables", headers=headers).status_code == 200
    time.sleep(4.2)
    refused = httpx.get(f"{server.url}/api/v1/tables", headers=headers)
    assert refused.status_code == 401 and "expired" in refused.json()["message"]


def test_version_needs_no_token_and_is_configurable(server: LiveServer) -> None:
    answer = httpx.get(f"{server.url}/api/v1/system/version").json()
    assert answer["version"] == server.settings.om_version
