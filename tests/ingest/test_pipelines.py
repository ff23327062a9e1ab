"""Ingestion pipelines: stored workflows run now or on a schedule by the server's scheduler, with
status and logs from the API; several schedulers on one database never run a slot twice."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from headwater.ingest.pipelines import PipelineScheduler, PipelineStore, last_fire_time, make_trigger
from headwater.secrets import MASK
from headwater.store import Store
from tests.helpers import LiveServer
from tests.ingest.conftest import edges, write_workflow
from tests.ingest.test_querylog import SVC, seed_catalog

BASE = "/api/v1/services/ingestionPipelines"
LOG = 'query_text,database_name,schema_name\n"insert into mart.emails (email) select email from raw.customers",shop,raw\n'


def _workflow(tmp_path: Path) -> dict[str, Any]:
    log = tmp_path / "q.csv"
    log.write_text(LOG)
    path = write_workflow(
        tmp_path / "wf.yaml",
        source_type="query-log-lineage",
        service=SVC,
        config={"queryLogFilePath": str(log)},
    )
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def _wait(predicate: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


def test_scheduled_pipeline_runs_on_its_schedule(
    server: LiveServer, api: httpx.Client, tmp_path: Path
) -> None:
    seed_catalog(server.store)
    body = {
        "name": "emails_lineage",
        "pipelineType": "lineage",
        "workflow": _workflow(tmp_path),
        "airflowConfig": {"scheduleInterval": "*/2 * * * * *", "startDate": "2026-01-01T00:00:00Z"},
    }
    resp = api.post(BASE, json=body)
    assert resp.status_code == 201, resp.text
    p = resp.json()
    assert p["fullyQualifiedName"] == f"{SVC}.emails_lineage"
    assert p["airflowConfig"]["scheduleInterval"] == "*/2 * * * * *"
    assert p["deployed"] is False
    # secrets are never shown, and sending the masked value back keeps the stored one
    assert p["workflow"]["workflowConfig"]["openMetadataServerConfig"]["securityConfig"]["jwtToken"] == MASK
    assert api.put(BASE, json={**body, "workflow": p["workflow"]}).status_code == 200
    stored = PipelineStore(server.store).get(p["id"]).workflow
    assert stored["workflowConfig"]["openMetadataServerConfig"]["securityConfig"]["jwtToken"] == "none"
    assert api.post(BASE, json=body).status_code == 400  # exists

    # not deployed: nothing runs
    time.sleep(2.5)
    assert api.get(f"{BASE}/{p['fullyQualifiedName']}/pipelineStatus").json()["data"] == []

    assert api.post(f"{BASE}/deploy/{p['id']}").json()["deployed"] is True

    def two_runs() -> list[dict[str, Any]] | None:
        runs = api.get(f"{BASE}/{p['fullyQualifiedName']}/pipelineStatus").json()["data"]
        done = [r for r in runs if r["pipelineState"] == "success"]
        return runs if len(done) >= 2 else None

    runs = _wait(two_runs, 30)
    assert all(r["trigger"] == "schedule" for r in runs)
    slots = [r["scheduledFor"] for r in runs]
    assert len(slots) == len(set(slots))
    assert all(s % 2000 == 0 for s in slots)  # on the schedule's even seconds
    first = [r for r in runs if r["pipelineState"] == "success"][-1]
    assert first["summary"]["edges_added"] == 1
    assert (f"{SVC}.shop.raw.customers", f"{SVC}.shop.mart.emails") in edges(api, f"{SVC}.shop.mart.emails")

    logs = api.get(f"{BASE}/logs/{p['id']}/last").json()
    assert "query-log-lineage for service wh" in logs["ingestion_task"]
    one = api.get(f"{BASE}/{p['fullyQualifiedName']}/pipelineStatus/{first['runId']}").json()
    assert one["runId"] == first["runId"] and one["pipelineState"] == "success"

    # disable: the schedule stops
    toggled = api.post(f"{BASE}/toggleIngestion/{p['id']}").json()
    assert toggled["enabled"] is False
    time.sleep(0.5)
    count = len(api.get(f"{BASE}/{p['fullyQualifiedName']}/pipelineStatus").json()["data"])
    time.sleep(4.5)
    assert len(api.get(f"{BASE}/{p['fullyQualifiedName']}/pipelineStatus").json()["data"]) == count

    # manual run still works
    run = api.post(f"{BASE}/trigger/{p['id']}").json()
    _wait(
        lambda: (
            api.get(f"{BASE}/{p['fullyQualifiedName']}/pipelineStatus/{run['runId']}").json()["pipelineState"]
            == "success"
        )
    )
    listed = api.get(BASE, params={"fields": "pipelineStatuses", "service": SVC}).json()["data"]
    assert [x["name"] for x in listed] == ["emails_lineage"]
    assert api.delete(f"{BASE}/{p['id']}").status_code == 200
    assert api.get(f"{BASE}/{p['id']}").status_code == 404


def test_pipeline_validation(server: LiveServer, api: httpx.Client, tmp_path: Path) -> None:
    wf = _workflow(tmp_path)
    bad = api.put(
        BASE, json={"name": "x", "workflow": wf, "airflowConfig": {"scheduleInterval": "every day"}}
    )
    assert bad.status_code == 400 and "invalid schedule" in bad.json()["message"]
    wf["source"]["sourceConfig"]["config"]["resultLimt"] = 5
    bad = api.put(BASE, json={"name": "x", "workflow": wf})
    assert bad.status_code == 400 and "did you mean 'resultLimit'" in bad.json()["message"]
    viewer = server.client("viewer")
    assert viewer.put(BASE, json={"name": "x", "workflow": _workflow(tmp_path)}).status_code == 403
    # OpenMetadata's create request shape works too
    om = {
        "name": "om_shaped",
        "pipelineType": "lineage",
        "service": {"type": "databaseService", "name": SVC},
        "sourceConfig": {"config": {"type": "DatabaseLineage", "queryLogFilePath": str(tmp_path / "q.csv")}},
        "airflowConfig": {"scheduleInterval": "@daily"},
    }
    resp = api.put(BASE, json=om)
    assert resp.status_code == 200, resp.text
    assert resp.json()["airflowConfig"]["scheduleInterval"] == "0 0 * * *"
    assert resp.json()["workflow"]["source"]["type"] == "query-log-lineage"


def test_two_schedulers_run_each_slot_once(store: Store, tmp_path: Path) -> None:
    """Two servers on one database: every scheduled slot is claimed by exactly one of them."""
    seed_catalog(store)
    ps = PipelineStore(store)
    p, _ = ps.create_or_update(
        {
            "name": "shared",
            "workflow": _workflow(tmp_path),
            "airflowConfig": {"scheduleInterval": "* * * * * *"},
        },
        "test",
    )
    ps.set_flags(p.id, "test", deployed=True)
    a = PipelineScheduler(store, sync_seconds=60)
    b = PipelineScheduler(store, sync_seconds=60)
    a.start()
    b.start()
    try:
        _wait(lambda: len([r for r in ps.runs(p.id) if r.state == "success"]) >= 3, 30)
    finally:
        a.shutdown()
        b.shutdown()
    time.sleep(1.5)
    runs = ps.runs(p.id)
    slots = [r.scheduled_for for r in runs]
    assert len(slots) == len(set(slots)), "a slot ran twice"
    assert {r.owner for r in runs} <= {a.owner, b.owner}


def test_last_fire_time() -> None:
    trig = make_trigger("0 3 * * *", None, None)
    now = datetime(2026, 5, 4, 10, 30, tzinfo=UTC)
    assert last_fire_time(trig, now) == datetime(2026, 5, 4, 3, 0, tzinfo=UTC)
    weekly = make_trigger("0 0 * * 0", None, None)  # cron's Sunday
    assert last_fire_time(weekly, now) == datetime(2026, 5, 3, 0, 0, tzinfo=UTC)
    secs = make_trigger("*/5 * * * * *", None, None)
    assert last_fire_time(secs, datetime(2026, 1, 1, 0, 0, 7, 500000, tzinfo=UTC)) == datetime(
        2026, 1, 1, 0, 0, 5, tzinfo=UTC
    )


def test_pipelines_cli(server: LiveServer, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from headwater.cli.main import app

    seed_catalog(server.store)
    wf = tmp_path / "wf.yaml"
    wf.write_text(yaml.safe_dump(_workflow(tmp_path)))
    cli = CliRunner()
    common = ["--server", server.url, "--token", server.editor_token]

    def run(*args: str) -> str:
        res = cli.invoke(app, ["ingest", "pipelines", *args, *common])
        assert res.exit_code == 0, res.output
        return res.output

    out = run("deploy", "-c", str(wf), "--name", "nightly", "--schedule", "@daily")
    assert f"deployed {SVC}.nightly" in out
    assert "0 0 * * *" in run("list")
    out = run("run", f"{SVC}.nightly")
    assert '"edges_added": 1' in out
    assert "success" in run("status", f"{SVC}.nightly")
    assert "query-log-lineage for service wh: success" in run("logs", f"{SVC}.nightly")
    assert "disabled" in run("disable", f"{SVC}.nightly")
    assert "enabled" in run("enable", f"{SVC}.nightly")
    res = cli.invoke(app, ["ingest", "pipelines", "run", "wh.nope", *common])
    assert res.exit_code == 1 and "404" in res.output
    run("delete", f"{SVC}.nightly")
