"""Root cause analysis with runs from OpenLineage events (failed and late upstream runs first)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.analysis.an_helpers import ok

PG = "postgres://db:5432"
LAKE = {"namespace": "s3://lake", "name": "raw/events"}
RAW = {"namespace": PG, "name": "shop.public.raw"}
STG = {"namespace": PG, "name": "shop.public.stg"}
MART = {"namespace": PG, "name": "shop.public.mart"}
_FACET = {"_producer": "https://example.com/p", "_schemaURL": "https://openlineage.io/spec/facets/x.json"}


def event(
    kind: str, run_id: str, job: str, when: datetime, inputs: list[Any], outputs: list[Any], **run_facets: Any
) -> dict[str, Any]:
    return {
        "eventType": kind,
        "eventTime": when.isoformat().replace("+00:00", "Z"),
        "producer": "https://example.com/headwater-test",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id, "facets": run_facets},
        "job": {"namespace": "etl", "name": job, "facets": {}},
        "inputs": inputs,
        "outputs": outputs,
    }


def run(
    api: httpx.Client,
    job: str,
    start: datetime,
    end: datetime | None,
    state: str,
    inputs: list[Any],
    outputs: list[Any],
    **facets: Any,
) -> str:
    rid = str(uuid.uuid4())
    ok(api.post("/api/v1/lineage", json=event("START", rid, job, start, inputs, outputs)), 201)
    if end is not None:
        ok(api.post("/api/v1/lineage", json=event(state, rid, job, end, inputs, outputs, **facets)), 201)
    return rid


def record_history(api: httpx.Client) -> dict[str, Any]:
    """feed_raw hourly but not for the last two hours (late); load_stg fine three hours ago, then
    a failure reported after the instant `before`; build_mart fine. Returns the run ids of
    load_stg's good and failed runs and `before`."""
    from tests.analysis.an_helpers import tick

    now = datetime.now(UTC)
    h = timedelta(hours=1)
    for k in (4, 3, 2):
        run(api, "feed_raw", now - k * h, now - k * h + timedelta(minutes=5), "COMPLETE", [LAKE], [RAW])
    good = run(api, "load_stg", now - 3 * h, now - 3 * h + timedelta(minutes=2), "COMPLETE", [RAW], [STG])
    ok(api.post("/api/v1/openlineage/flush"))
    before = tick()
    failed = run(
        api,
        "load_stg",
        now - timedelta(minutes=10),
        now - timedelta(minutes=9),
        "FAIL",
        [RAW],
        [STG],
        errorMessage={**_FACET, "message": "division by zero", "programmingLanguage": "python"},
    )
    run(api, "build_mart", now - timedelta(minutes=5), now - timedelta(minutes=4), "COMPLETE", [STG], [MART])
    ok(api.post("/api/v1/openlineage/flush"))
    return {"good": good, "failed": failed, "before": before}


@pytest.fixture
def runs(api: httpx.Client) -> dict[str, Any]:
    return record_history(api)


def fqn_of(api: httpx.Client, name: str) -> str:
    found = ok(api.get("/api/v1/headwater/assets", params={"q": name, "limit": 50}))
    return next(str(a["fullyQualifiedName"]) for a in found["data"] if a["fullyQualifiedName"].endswith(name))


def root_cause(api: httpx.Client, fqn: str, **params: Any) -> dict[str, Any]:
    return ok(api.get("/api/v1/analysis/rootCause", params={"fqn": fqn, **params}))


def test_failed_then_late_then_the_rest(api: httpx.Client, runs: dict[str, Any]) -> None:
    mart, stg, raw = (fqn_of(api, f"shop.public.{n}") for n in ("mart", "stg", "raw"))
    lake = fqn_of(api, "raw/events")
    res = root_cause(api, mart, changedWithinHours=0.000001)
    order = [(it["fullyQualifiedName"], it["depth"], it["suspicion"]) for it in res["items"]]
    assert order == [
        (stg, 1, "run_failed"),  # its writer load_stg failed
        (raw, 2, "run_failed"),  # the failed job reads it; feed_raw, its writer, is late too
        (lake, 3, "run_late"),  # feed_raw (lake -> raw) is late
        (mart, 0, "ok"),  # the root itself: build_mart ran fine
    ]
    stg_item = res["items"][0]
    failed = next(r for r in stg_item["reasons"] if r["kind"] == "run_failed")
    assert failed == {
        "kind": "run_failed",
        "at": failed["at"],
        "pipeline": "etl.load_stg",
        "runId": runs["failed"],
        "state": "FAIL",
        "reason": "division by zero",
    }
    assert [r["kind"] for r in res["items"][1]["reasons"]] == ["run_failed", "run_late"]
    assert res["items"][1]["path"] == [raw, stg, mart]
    assert res["items"][2]["type"] == "container"
    late = res["items"][2]["runs"][0]
    assert late["pipeline"]["fullyQualifiedName"] == "etl.feed_raw" and late["late"] is True
    assert late["state"] == "COMPLETE" and late["lateReason"].endswith("usual interval 3600000 ms")
    # every job with its latest run, failed first, then late, then fine
    assert [(p["pipeline"]["fullyQualifiedName"], p["status"]) for p in res["pipelines"]] == [
        ("etl.load_stg", "run_failed"),
        ("etl.feed_raw", "run_late"),
        ("etl.build_mart", "ok"),
    ]
    assert (
        res["pipelines"][0]["runId"] == runs["failed"]
        and res["pipelines"][0]["errorMessage"] == "division by zero"
    )
    # depth-limited
    assert [it["fullyQualifiedName"] for it in root_cause(api, mart, maxDepth=1)["items"]] == [stg, mart]
    # with the default window the edges (all just written) are recent changes too
    recent = root_cause(api, mart)
    assert "edge_changed" in [r["kind"] for r in recent["items"][2]["reasons"]]
    assert [it["fullyQualifiedName"] for it in recent["items"]] == [stg, raw, lake, mart]


def test_manual_edges_and_pipelines_without_runs(api: httpx.Client) -> None:
    from tests.analysis.an_helpers import edge, fqn, schema, table

    schema(api)
    for n in ("a", "b", "c"):
        table(api, n, ["x"])
    ok(api.put("/api/v1/services/pipelineServices", json={"name": "airflow", "serviceType": "Airflow"}), 201)
    pipe = ok(api.put("/api/v1/pipelines", json={"name": "nightly", "service": "airflow"}), 201)
    edge(api, fqn("a"), fqn("b"), pipeline={"id": pipe["id"], "type": "pipeline"})
    edge(api, fqn("b"), fqn("c"))
    res = root_cause(api, fqn("c"), changedWithinHours=0.000001)
    assert [(it["fullyQualifiedName"], it["suspicion"]) for it in res["items"]] == [
        (fqn("b"), "ok"),
        (fqn("a"), "ok"),
    ]
    a_item = res["items"][1]
    assert a_item["runs"] == [
        {
            "pipeline": {
                "id": pipe["id"],
                "type": "pipeline",
                "fullyQualifiedName": "airflow.nightly",
                "name": "nightly",
                "deleted": False,
            },
            "state": None,
        }
    ]
    assert a_item["edges"][0]["pipelines"] == ["airflow.nightly"] and a_item["edges"][0]["sources"] == [
        "Manual"
    ]
    assert res["pipelines"] == []
    fresh = root_cause(api, fqn("c"))
    assert [it["suspicion"] for it in fresh["items"]] == ["edge_changed", "edge_changed"]


def test_run_diff_between_two_openlineage_runs(api: httpx.Client) -> None:
    import time

    extra = {"namespace": PG, "name": "shop.public.extra"}
    now = datetime.now(UTC)
    first = run(
        api, "build_mart", now - timedelta(minutes=30), now - timedelta(minutes=29), "COMPLETE", [STG], [MART]
    )
    ok(api.post("/api/v1/openlineage/flush"))
    time.sleep(1.2)
    second = run(
        api,
        "build_mart",
        now - timedelta(minutes=5),
        now - timedelta(minutes=4),
        "COMPLETE",
        [STG, extra],
        [MART],
    )
    ok(api.post("/api/v1/openlineage/flush"))
    res = ok(api.get("/api/v1/analysis/diff", params={"runA": first, "runB": second}))
    assert res["runs"] == [first, second]
    assert res["pipeline"]["fullyQualifiedName"] == "etl.build_mart"
    added = [
        (e["fromEntity"]["fullyQualifiedName"], e["toEntity"]["fullyQualifiedName"])
        for e in res["edges"]["added"]
    ]
    assert added == [(fqn_of(api, "shop.public.extra"), fqn_of(api, "shop.public.mart"))]
    assert res["edges"]["removed"] == []
    # the same runs the other way round give the same window
    assert (
        ok(api.get("/api/v1/analysis/diff", params={"runA": second, "runB": first}))["edges"] == res["edges"]
    )


# -- root cause as of a past instant ----------------------------------------------------------------


def test_root_cause_as_of_before_a_failure(api: httpx.Client) -> None:
    """At an instant before the failed run was reported, root cause shows what was known then:
    the earlier successful run, no failure, the graph of that time; now it shows the failure."""
    history = record_history(api)
    good, failed, before = history["good"], history["failed"], history["before"]
    now = datetime.now(UTC)
    extra = {"namespace": PG, "name": "shop.public.extra"}
    run(api, "load_extra", now - timedelta(minutes=8), now - timedelta(minutes=7), "COMPLETE", [extra], [STG])
    ok(api.post("/api/v1/openlineage/flush"))
    stg, raw, lake, mart = (
        fqn_of(api, "shop.public.stg"),
        fqn_of(api, "shop.public.raw"),
        fqn_of(api, "raw/events"),
        fqn_of(api, "shop.public.mart"),
    )
    extra_fqn = fqn_of(api, "shop.public.extra")

    current = root_cause(api, stg, changedWithinHours=0.000001)
    assert current["asOf"] is None
    assert [(it["fullyQualifiedName"], it["depth"], it["suspicion"]) for it in current["items"]] == [
        (stg, 0, "run_failed"),  # its writer load_stg failed
        (raw, 1, "run_failed"),  # read by the failed load_stg
        (lake, 2, "run_late"),
        (extra_fqn, 1, "ok"),  # load_extra ran fine
    ]
    assert current["pipelines"][0]["runId"] == failed

    then = root_cause(api, stg, asOf=before, changedWithinHours=0.000001)
    assert then["asOf"] == before and then["evaluatedAt"] == before
    # the edge from `extra` did not exist then; the failure was not known yet
    assert [(it["fullyQualifiedName"], it["depth"], it["suspicion"]) for it in then["items"]] == [
        (raw, 1, "run_late"),  # read by load_stg, written by the late feed_raw
        (lake, 2, "run_late"),  # feed_raw: hourly, last start two hours before `before`
        (stg, 0, "ok"),  # its writer load_stg: the good run was the latest then
    ]
    load_stg = next(p for p in then["pipelines"] if p["pipeline"]["fullyQualifiedName"] == "etl.load_stg")
    assert load_stg["runId"] == good and load_stg["state"] == "COMPLETE" and load_stg["errorMessage"] is None
    assert all(p["state"] != "FAIL" for p in then["pipelines"])
    # the ISO form of the same instant answers the same
    iso = datetime.fromtimestamp(before / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert root_cause(api, stg, asOf=iso, changedWithinHours=0.000001)["items"] == then["items"]
    # mart did not exist then: 404 naming it
    r = api.get("/api/v1/analysis/rootCause", params={"fqn": mart, "asOf": before})
    assert r.status_code == 404 and mart in r.json()["message"]
    r = api.get("/api/v1/analysis/rootCause", params={"fqn": stg, "asOf": "yesterday-ish"})
    assert r.status_code == 400 and "asOf" in r.json()["message"]


def test_root_cause_as_of_reads_edge_details_then(api: httpx.Client) -> None:
    """The pipeline powering an edge is the one its details named at the instant asked for."""
    from tests.analysis.an_helpers import edge, fqn, schema, table, tick

    schema(api)
    for n in ("a", "b"):
        table(api, n, ["x"])
    ok(api.put("/api/v1/services/pipelineServices", json={"name": "airflow", "serviceType": "Airflow"}), 201)
    old = ok(api.put("/api/v1/pipelines", json={"name": "old_dag", "service": "airflow"}), 201)
    new = ok(api.put("/api/v1/pipelines", json={"name": "new_dag", "service": "airflow"}), 201)
    edge(api, fqn("a"), fqn("b"), pipeline={"id": old["id"], "type": "pipeline"})
    first = tick()
    edge(api, fqn("a"), fqn("b"), pipeline={"id": new["id"], "type": "pipeline"})
    second = tick()
    ok(api.delete(f"/api/v1/lineage/table/name/{fqn('a')}/table/name/{fqn('b')}"))

    def pipelines_at(at: int | None) -> list[list[str]]:
        res = root_cause(api, fqn("b"), **({"asOf": at} if at is not None else {}))
        return [e["pipelines"] for it in res["items"] for e in it["edges"]]

    assert pipelines_at(first) == [["airflow.old_dag"]]
    assert pipelines_at(second) == [["airflow.new_dag"]]
    assert pipelines_at(None) == []  # the edge is gone now
    res = root_cause(api, fqn("b"), asOf=first, changedWithinHours=24)
    assert res["items"][0]["suspicion"] == "edge_changed" and res["items"][0]["reasons"][0]["at"] <= first
