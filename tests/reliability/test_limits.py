"""Configurable limits: events per OpenLineage batch, entities per Atlan bulk request and rows of a
CSV export. Over a limit the answer is a 4xx naming the limit and the setting that raises it, and
nothing of the refused request is stored."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from headwater.config import Settings
from headwater.model import AssetInput, AssetType, LineageDetails
from headwater.store import EdgeWrite, Store
from tests.helpers import live_server


def _event(i: int) -> dict[str, Any]:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-01-01T00:00:00Z",
        "producer": "https://example.invalid/limits",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "limits", "name": f"job{i}"},
        "inputs": [{"namespace": "postgres://db:5432", "name": f"db.public.in{i}"}],
        "outputs": [{"namespace": "postgres://db:5432", "name": f"db.public.out{i}"}],
    }


def _table(i: int) -> dict[str, Any]:
    qn = f"default/snowflake/1700000200/DB/SCH/T{i}"
    return {
        "typeName": "Table",
        "attributes": {"name": f"T{i}", "qualifiedName": qn, "connectionQualifiedName": qn.rsplit("/", 3)[0]},
    }


def test_limits_are_settings_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings()
    assert (defaults.max_batch_events, defaults.max_bulk_entities, defaults.max_export_rows) == (
        10_000,
        10_000,
        100_000,
    )
    monkeypatch.setenv("HEADWATER_MAX_BATCH_EVENTS", "7")
    monkeypatch.setenv("HEADWATER_MAX_BULK_ENTITIES", "8")
    monkeypatch.setenv("HEADWATER_MAX_EXPORT_ROWS", "9")
    s = Settings()
    assert (s.max_batch_events, s.max_bulk_entities, s.max_export_rows) == (7, 8, 9)


def test_over_a_limit_is_a_clear_4xx_and_stores_nothing(store: Store, tmp_path: Path) -> None:
    # a small lineage graph for the exports: a -> b, a -> c
    made = store.upsert_assets(
        [AssetInput(type=AssetType.TABLE, fqn=f"lim.db.s.{n}", name=n) for n in ("a", "b", "c")]
    )
    a, b, c = (asset.pk for asset, _ in made)
    store.put_edges([EdgeWrite(a, b, LineageDetails()), EdgeWrite(a, c, LineageDetails())])
    with (
        live_server(
            store, tmp_path / "data", max_batch_events=3, max_bulk_entities=2, max_export_rows=1
        ) as srv,
        srv.client("admin") as api,
    ):
        for path, body in (
            ("/api/v1/lineage/batch", [_event(i) for i in range(4)]),
            ("/api/v1/lineage", [_event(i) for i in range(4)]),  # a batch sent to the single-event path
            ("/api/v1/openlineage/lineage/batch", {"events": [_event(i) for i in range(4)]}),
        ):
            r = api.post(path, json=body)
            assert r.status_code == 413, (path, r.text)
            assert r.json()["code"] == 413
            message = r.json()["message"]
            assert "4" in message and "limit is 3" in message and "HEADWATER_MAX_BATCH_EVENTS" in message
        assert store.count("raw_events") == 0
        ok = api.post("/api/v1/lineage/batch", json=[_event(i) for i in range(3)])
        assert ok.status_code == 200 and ok.json()["summary"]["successful"] == 3

        r = api.post("/api/meta/entity/bulk/", json={"entities": [_table(i) for i in range(3)]})
        assert r.status_code == 400, r.text
        assert (
            "limit is 2" in r.json()["errorMessage"]
            and "HEADWATER_MAX_BULK_ENTITIES" in r.json()["errorMessage"]
        )
        assert (
            api.post("/api/meta/entity/bulk/", json={"entities": [_table(i) for i in range(2)]}).status_code
            == 200
        )

        export = {"fqn": "lim.db.s.a", "upstreamDepth": 0, "downstreamDepth": 1}
        r = api.get("/api/v1/lineage/export", params=export)
        assert r.status_code == 413 and "HEADWATER_MAX_EXPORT_ROWS" in r.json()["message"]
        assert "2" in r.json()["message"] and "limit is 1" in r.json()["message"]
        r = api.get(
            "/api/v1/lineage/export", params={"fqn": "lim.db.s.b", "upstreamDepth": 1, "downstreamDepth": 0}
        )
        assert r.status_code == 200 and len(r.text.strip().splitlines()) == 2  # header and one edge
        r = api.get("/api/v1/analysis/impact", params={"fqn": "lim.db.s.a", "format": "csv"})
        assert r.status_code == 413 and "HEADWATER_MAX_EXPORT_ROWS" in r.json()["message"]
        r = api.get("/api/v1/analysis/impact", params={"fqn": "lim.db.s.b", "format": "csv"})
        assert r.status_code == 200
