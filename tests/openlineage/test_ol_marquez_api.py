"""The rest of Marquez's read API (spec openlineage.md §4.3): job and dataset versions, search and
stats, in Marquez's JSON shapes, over raw HTTP against a live server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from urllib.parse import quote

import httpx
from ol_helpers import make_event

PG = "postgres://db:5432"
ORDERS = {"namespace": PG, "name": "shop.public.orders"}
CUSTOMERS = {"namespace": PG, "name": "shop.public.customers"}
RAW = {"namespace": "s3://lake", "name": "raw/orders"}


def _enc(x: str) -> str:
    return quote(x, safe="")


def _at(minutes_ago: float) -> str:
    return (datetime.now(tz=UTC) - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")


def _run(api: httpx.Client, inputs: list[dict[str, Any]], minutes_ago: float, finish: bool = True) -> str:
    run_id = str(uuid.uuid4())
    start = make_event("START", run_id=run_id, inputs=inputs, event_time=_at(minutes_ago))
    assert api.post("/api/v1/lineage", json=start).status_code == 201
    if finish:
        done = make_event("COMPLETE", run_id=run_id, outputs=[RAW], event_time=_at(minutes_ago - 1))
        assert api.post("/api/v1/lineage", json=done).status_code == 201
    return run_id


def _seed(api: httpx.Client) -> list[str]:
    """Three finished runs of etl/orders.load (the last reads one more table) and one running."""
    runs = [_run(api, [ORDERS], 30), _run(api, [ORDERS], 20), _run(api, [ORDERS, CUSTOMERS], 10)]
    _run(api, [ORDERS], 5, finish=False)
    assert api.post("/api/v1/openlineage/flush").json()["translated"]
    return runs


def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == status and body["message"]
    return str(body["message"])


def test_job_and_dataset_versions(server: Any, api: httpx.Client) -> None:
    runs = _seed(api)
    base = "/api/v1/namespaces/etl/jobs/" + _enc("orders.load")
    versions = api.get(base + "/versions").json()
    assert versions["totalCount"] == 2  # one per distinct I/O of a finished run
    newest, older = versions["versions"]
    assert newest["inputs"] == [CUSTOMERS, ORDERS] and newest["outputs"] == [RAW]
    assert older["inputs"] == [ORDERS] and older["outputs"] == [RAW]
    assert newest["id"] == {"namespace": "etl", "name": "orders.load", "version": newest["version"]}
    assert newest["latestRun"]["id"] == runs[2] and newest["latestRun"]["state"] == "COMPLETED"
    assert older["latestRun"]["id"] == runs[1]
    assert {"name", "namespace", "createdAt", "updatedAt", "location", "facets"} <= set(newest)
    uuid.UUID(newest["version"])
    # stable across reads, and each readable on its own
    assert api.get(base + "/versions").json() == versions
    one = api.get(f"{base}/versions/{older['version']}")
    assert one.status_code == 200 and one.json() == older
    assert "version" in _error(api.get(f"{base}/versions/{uuid.uuid4()}"), 404)
    assert api.get(base + "/versions", params={"limit": 1, "offset": 1}).json()["versions"] == [older]

    # the dataset written by every finished run has one version per run, newest first
    ds = "/api/v1/namespaces/" + _enc("s3://lake") + "/datasets/" + _enc("raw/orders")
    dv = api.get(ds + "/versions").json()
    assert dv["totalCount"] == 3
    assert [v["createdByRun"]["id"] for v in dv["versions"]] == runs[::-1]
    first = dv["versions"][0]
    assert first["id"] == RAW and first["name"] == "raw/orders" and first["namespace"] == "s3://lake"
    assert {"type", "physicalName", "sourceName", "fields", "tags", "lifecycleState", "facets"} <= set(first)
    # a run names the version it wrote
    run = api.get(f"/api/v1/jobs/runs/{runs[2]}").json()
    assert run["outputDatasetVersions"][0]["datasetVersionId"] == {**RAW, "version": first["version"]}
    assert api.get(f"{ds}/versions/{first['version']}").json() == first
    _error(api.get("/api/v1/namespaces/etl/jobs/nope/versions"), 404)
    _error(api.get("/api/v1/namespaces/" + _enc("s3://lake") + "/datasets/nope/versions"), 404)

    # the job and the dataset point at their current versions, in the listings too
    assert api.get(base).json()["currentVersion"] == newest["version"]
    listed = api.get("/api/v1/namespaces/etl/jobs").json()["jobs"]
    assert [j["currentVersion"] for j in listed if j["name"] == "orders.load"] == [newest["version"]]
    assert api.get(ds).json()["currentVersion"] == first["version"]
    # an input that no run wrote has no version yet
    orders = "/api/v1/namespaces/" + _enc(PG) + "/datasets/" + _enc(ORDERS["name"])
    assert api.get(orders).json()["currentVersion"] is None


def test_search(server: Any, api: httpx.Client) -> None:
    _seed(api)
    found = api.get("/api/v1/search", params={"q": "ORDERS"}).json()
    hits = {(h["type"], h["namespace"], h["name"]) for h in found["results"]}
    assert hits == {
        ("JOB", "etl", "orders.load"),
        ("DATASET", PG, "shop.public.orders"),
        ("DATASET", "s3://lake", "raw/orders"),
    }
    assert found["totalCount"] == 3
    job = next(h for h in found["results"] if h["type"] == "JOB")
    assert job["nodeId"] == "job:etl:orders.load" and job["updatedAt"]
    jobs = api.get("/api/v1/search", params={"q": "orders", "filter": "JOB"}).json()
    assert [h["name"] for h in jobs["results"]] == ["orders.load"]
    by_name = api.get("/api/v1/search", params={"q": "o", "sort": "NAME", "limit": 2}).json()
    assert by_name["totalCount"] == 4
    assert [h["name"] for h in by_name["results"]] == ["orders.load", "raw/orders"]
    scoped = api.get("/api/v1/search", params={"q": "orders", "namespace": PG}).json()
    assert [h["name"] for h in scoped["results"]] == ["shop.public.orders"]
    future = (datetime.now(tz=UTC) + timedelta(days=2)).date().isoformat()
    assert api.get("/api/v1/search", params={"q": "orders", "after": future}).json()["totalCount"] == 0
    assert api.get("/api/v1/search", params={"q": "orders", "before": future}).json()["totalCount"] == 3
    _error(api.get("/api/v1/search"), 400)
    assert "filter" in _error(api.get("/api/v1/search", params={"q": "x", "filter": "RUN"}), 400)
    assert "sort" in _error(api.get("/api/v1/search", params={"q": "x", "sort": "SIZE"}), 400)
    assert "after" in _error(api.get("/api/v1/search", params={"q": "x", "after": "yesterday"}), 400)


def test_stats(server: Any, api: httpx.Client) -> None:
    _seed(api)
    day = api.get("/api/v1/stats/lineage-events").json()
    assert len(day) == 24
    assert set(day[0]) == {"startInterval", "endInterval", "fail", "start", "complete", "abort"}
    assert sum(b["start"] for b in day) == 4 and sum(b["complete"] for b in day) == 3
    assert all(a["endInterval"] == b["startInterval"] for a, b in pairwise(day))
    week = api.get("/api/v1/stats/lineage-events", params={"period": "WEEK", "timezone": "Europe/Paris"})
    assert week.status_code == 200 and len(week.json()) == 7
    assert week.json()[0]["startInterval"].endswith(("+01:00", "+02:00"))
    jobs = api.get("/api/v1/stats/jobs", params={"period": "WEEK"}).json()
    assert len(jobs) == 7 and set(jobs[0]) == {"startInterval", "endInterval", "count"}
    assert sum(b["count"] for b in jobs) == 1
    datasets = api.get("/api/v1/stats/datasets").json()
    assert sum(b["count"] for b in datasets) == 3
    sources = api.get("/api/v1/stats/sources").json()
    assert sum(b["count"] for b in sources) == 2  # postgres://db:5432 and s3://lake
    assert "period" in _error(api.get("/api/v1/stats/jobs", params={"period": "YEAR"}), 400)
    assert "timezone" in _error(api.get("/api/v1/stats/jobs", params={"timezone": "Mars/Base"}), 400)
    _error(api.get("/api/v1/stats/tags"), 404)
