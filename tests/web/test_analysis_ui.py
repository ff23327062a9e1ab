"""Issue 9 in the lineage explorer: lineage as of a time, root cause, diff ("Changes") and propagated
metadata, each against a history built through the public API of a real `headwater serve`."""

from __future__ import annotations

import csv
import io
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

Server = Any  # conftest.Server
Seed = Any  # conftest.Seed

HS = "hist_pg.h.s"  # the as-of / diff history lives in its own service
SRC, MID, DST, SIDE, OLD = (f"{HS}.{n}" for n in ("src", "mid", "dst", "side", "old"))


# -- helpers ------------------------------------------------------------------------------------


def ok(r: httpx.Response, *status: int) -> Any:
    assert r.status_code in (status or (200, 201)), (
        f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    )
    return (
        r.json() if r.content and r.headers.get("content-type", "").startswith("application/json") else None
    )


def wait_rendered(page: Any) -> None:
    page.wait_for_selector("html[data-graph-state=rendered]", state="attached", timeout=30_000)
    page.wait_for_timeout(150)


def shot(page: Any, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"))


def dom_nodes(page: Any) -> set[str]:
    return set(page.eval_on_selector_all("[data-testid=graph-node]", "els => els.map(e => e.dataset.nodeId)"))


def dom_edges(page: Any, testid: str = "graph-edge") -> dict[tuple[str, str], str]:
    """(source id, target id) -> the diff mark of the edge ('' when none)."""
    rows = page.eval_on_selector_all(
        f".react-flow__edge[data-testid={testid}]",
        "els => els.map(e => [e.dataset.source, e.dataset.target, e.dataset.diff || ''])",
    )
    return {(s, t): d for s, t, d in rows}


def no_page_errors(page: Any) -> None:
    assert not [e for e in page.hw_errors if "pageerror" in e or "Content Security Policy" in e], (
        page.hw_errors
    )


def second(ms: int) -> str:
    """The UTC instant as a datetime-local value, to the second (what a user types)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")


def pause() -> int:
    """An instant more than a second after the last change and before the next one, so a time
    typed to the second lands between them."""
    time.sleep(1.1)
    at = int(time.time() * 1000)
    time.sleep(1.1)
    return at


def table(c: httpx.Client, schema: str, name: str, columns: list[Any], **extra: Any) -> dict[str, Any]:
    cols = [x if isinstance(x, dict) else {"name": x, "dataType": "VARCHAR"} for x in columns]
    return dict(
        ok(c.put("/api/v1/tables", json={"name": name, "databaseSchema": schema, "columns": cols, **extra}))
    )


def catalog(c: httpx.Client, service: str) -> str:
    ok(c.put("/api/v1/services/databaseServices", json={"name": service, "serviceType": "Postgres"}))
    ok(c.put("/api/v1/databases", json={"name": "h", "service": service}))
    ok(c.put("/api/v1/databaseSchemas", json={"name": "s", "database": f"{service}.h"}))
    return f"{service}.h.s"


def edge(c: httpx.Client, src: str, dst: str, cols: list[tuple[str, str]]) -> None:
    details = {"columnsLineage": [{"fromColumns": [f"{src}.{f}"], "toColumn": f"{dst}.{t}"} for f, t in cols]}
    body = {
        "edge": {
            "fromEntity": {"type": "table", "fullyQualifiedName": src},
            "toEntity": {"type": "table", "fullyQualifiedName": dst},
            "lineageDetails": details,
        }
    }
    ok(c.put("/api/v1/lineage", json=body))


@pytest.fixture(scope="module")
def history(server: Server, seed: Seed) -> dict[str, Any]:
    """src, side, old -> mid -> dst at t1; by t2 src->mid gained a mapping, side->mid went,
    side->dst came and `old` was deleted."""
    with server.client() as c:
        catalog(c, "hist_pg")
        ids = {
            fqn: table(c, HS, fqn.rsplit(".", 1)[1], cols)["id"]
            for fqn, cols in (
                (SRC, ["a", "b"]),
                (MID, ["a", "b"]),
                (DST, ["a", "total"]),
                (SIDE, ["a"]),
                (OLD, ["x"]),
            )
        }
        t0 = pause()
        edge(c, SRC, MID, [("a", "a")])
        edge(c, MID, DST, [("a", "a")])
        edge(c, SIDE, MID, [("a", "b")])
        edge(c, OLD, MID, [("x", "b")])
        t1 = pause()
        edge(c, SRC, MID, [("a", "a"), ("b", "b")])
        ok(c.delete(f"/api/v1/lineage/table/name/{SIDE}/table/name/{MID}"))
        edge(c, SIDE, DST, [("a", "total")])
        ok(c.delete(f"/api/v1/tables/{ids[OLD]}"))
        t2 = pause()
    return {"ids": ids, "t0": t0, "t1": t1, "t2": t2}


def explore(page: Any, server: Server, asset_id: str, query: str) -> None:
    page.goto(f"{server.url}/explore/table/{asset_id}?{query}")
    wait_rendered(page)


# -- lineage as of a time -----------------------------------------------------------------------


def test_lineage_as_of_a_time(page: Any, server: Server, history: dict[str, Any], artifacts: Path) -> None:
    ids, t1 = history["ids"], history["t1"]
    lineage_requests: list[str] = []
    page.on("request", lambda r: lineage_requests.append(r.url) if "/api/v1/lineage/" in r.url else None)

    # now: old is gone, side feeds dst, src -> mid -> dst
    explore(page, server, ids[DST], "up=2&down=0")
    assert page.locator("[data-testid=asof-banner]").count() == 0
    assert dom_nodes(page) == {ids[DST], ids[MID], ids[SRC], ids[SIDE]}
    assert set(dom_edges(page)) == {(ids[MID], ids[DST]), (ids[SRC], ids[MID]), (ids[SIDE], ids[DST])}

    # as of t1 (from the URL, to the millisecond): old and side fed mid; old shows although deleted since
    lineage_requests.clear()
    explore(page, server, ids[DST], f"up=2&down=0&asOf={t1}")
    banner = page.inner_text("[data-testid=asof-banner]")
    assert (
        "Lineage as of" in banner
        and datetime.fromtimestamp(t1 / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S") in banner
    )
    assert dom_nodes(page) == {ids[DST], ids[MID], ids[SRC], ids[SIDE], ids[OLD]}
    assert set(dom_edges(page)) == {
        (ids[MID], ids[DST]),
        (ids[SRC], ids[MID]),
        (ids[SIDE], ids[MID]),
        (ids[OLD], ids[MID]),
    }
    shown = page.input_value("[data-testid=asof-input]")  # Chromium drops ":00" seconds
    assert (shown + ":00" if len(shown) == 16 else shown) == second(t1)
    # the asset deleted since is drawn greyed with a "deleted since" mark; the others are not
    old = page.locator(f"[data-testid=graph-node][data-node-id='{ids[OLD]}']")
    old.locator("[data-testid=node-deleted-since]").wait_for(timeout=20_000)
    assert "hw-deleted" in (old.get_attribute("class") or "")
    assert page.locator("[data-testid=node-deleted-since]").count() == 1
    # and its panel says so too
    page.locator(f"[data-testid=graph-node][data-node-id='{ids[OLD]}']").click()
    page.wait_for_selector("[data-testid=deleted-since]")
    assert page.inner_text("[data-testid=deleted-since]") == "deleted since"
    assert f"asOf={t1}" in (page.get_attribute("[data-testid=node-lineage-link]", "href") or "")
    # the edge panel shows the edge as it stood: src -> mid had one mapping then
    page.locator(f".react-flow__edge[data-id='{ids[SRC]}->{ids[MID]}']").dispatch_event("click")
    page.wait_for_selector("[data-testid=edge-details]")
    assert "As of" in page.inner_text("[data-testid=edge-asof]")
    mappings = page.inner_text("[data-testid=edge-columns]")
    assert "src.a" in mappings and "src.b" not in mappings
    # expanding a node also reads the past: side had no upstream, mid's downstream is dst only
    page.locator(f"[data-testid=graph-node][data-node-id='{ids[SIDE]}'] [data-testid=expand-up]").click()
    page.wait_for_selector(f"[data-testid=graph-node][data-node-id='{ids[SIDE]}'] [data-testid=collapse-up]")
    shot(page, artifacts, "20-as-of")
    # the CSV export is the server's as-of export
    page.click("[data-testid=export-menu]")
    with page.expect_download() as dl:
        page.click("[data-testid=export-csv]")
    ui_rows = sorted(
        tuple(r) for r in list(csv.reader(io.StringIO(Path(dl.value.path()).read_text())))[1:] if r
    )
    with server.client() as c:
        r = c.get(
            "/api/v1/lineage/export",
            params={"fqn": DST, "type": "table", "upstreamDepth": 2, "downstreamDepth": 0, "asOf": t1},
        )
        assert r.status_code == 200, r.text
    api_rows = sorted(tuple(x) for x in list(csv.reader(io.StringIO(r.text)))[1:] if x)
    assert ui_rows == api_rows and len(ui_rows) == 4
    # every lineage read carried asOf (graph, expand)
    assert len(lineage_requests) >= 2
    assert all(f"asOf={t1}" in u for u in lineage_requests), lineage_requests

    # the toolbar control: t0 typed to the second, before any edge existed
    page.fill("[data-testid=asof-input]", second(history["t0"]))
    page.click("[data-testid=asof-apply]")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and dom_nodes(page) != {ids[DST]}:
        page.wait_for_timeout(100)
    assert dom_nodes(page) == {ids[DST]}
    assert "asOf=" in page.url
    assert second(history["t0"]).replace("T", " ") in page.inner_text("[data-testid=asof-banner]")

    # back to now
    page.click("[data-testid=asof-now]")
    page.wait_for_selector("[data-testid=asof-banner]", state="detached")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(dom_nodes(page)) != 4:
        page.wait_for_timeout(100)
    assert dom_nodes(page) == {ids[DST], ids[MID], ids[SRC], ids[SIDE]}
    assert "asOf" not in page.url and page.input_value("[data-testid=asof-input]") == ""
    no_page_errors(page)


def test_as_of_before_the_asset_existed(page: Any, server: Server, history: dict[str, Any]) -> None:
    before = history["t0"] - 60_000  # the tables were made just before t0
    page.goto(f"{server.url}/explore/table/{history['ids'][DST]}?up=1&down=1&asOf={before}")
    page.wait_for_selector("[data-testid=error-banner]", timeout=20_000)
    assert "did not exist" in page.inner_text("[data-testid=error-banner]")
    assert "Lineage as of" in page.inner_text("[data-testid=asof-banner]")


# -- root cause ---------------------------------------------------------------------------------

PG = "postgres://rc:5432"
LAKE = {"namespace": "s3://rc-lake", "name": "raw/events"}
RAW = {"namespace": PG, "name": "rc.public.raw"}
STG = {"namespace": PG, "name": "rc.public.stg"}
MART = {"namespace": PG, "name": "rc.public.mart"}


def ol_event(
    kind: str, run_id: str, job: str, when: datetime, ins: list[Any], outs: list[Any], **facets: Any
) -> dict[str, Any]:
    return {
        "eventType": kind,
        "eventTime": when.isoformat().replace("+00:00", "Z"),
        "producer": "https://example.com/headwater-ui-test",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id, "facets": facets},
        "job": {"namespace": "etl_ui", "name": job, "facets": {}},
        "inputs": ins,
        "outputs": outs,
    }


def ol_run(
    c: httpx.Client,
    job: str,
    start: datetime,
    end: datetime,
    state: str,
    ins: list[Any],
    outs: list[Any],
    **facets: Any,
) -> str:
    rid = str(uuid.uuid4())
    ok(c.post("/api/v1/lineage", json=ol_event("START", rid, job, start, ins, outs)))
    ok(c.post("/api/v1/lineage", json=ol_event(state, rid, job, end, ins, outs, **facets)))
    return rid


def find(c: httpx.Client, name: str) -> dict[str, Any]:
    found = ok(c.get("/api/v1/headwater/assets", params={"q": name, "limit": 50}))["data"]
    return next(a for a in found if a["fullyQualifiedName"].endswith(name))


def test_root_cause_panel(page: Any, server: Server, seed: Seed, artifacts: Path) -> None:
    now = datetime.now(UTC)
    h = timedelta(hours=1)
    err = {
        "_producer": "https://example.com/p",
        "_schemaURL": "https://openlineage.io/spec/facets/x.json",
        "message": "division by zero",
        "programmingLanguage": "python",
    }
    with server.client() as c:
        for k in (4, 3, 2):  # hourly, but not for two hours: late
            ol_run(c, "feed_raw", now - k * h, now - k * h + timedelta(minutes=5), "COMPLETE", [LAKE], [RAW])
        ol_run(c, "load_stg", now - 3 * h, now - 3 * h + timedelta(minutes=2), "COMPLETE", [RAW], [STG])
        ok(c.post("/api/v1/openlineage/flush"))
        time.sleep(0.01)
        before_failure = int(time.time() * 1000)  # root cause as of then: no failure known yet
        time.sleep(0.01)
        ol_run(
            c,
            "load_stg",
            now - timedelta(minutes=10),
            now - timedelta(minutes=9),
            "FAIL",
            [RAW],
            [STG],
            errorMessage=err,
        )
        ol_run(
            c, "build_mart", now - timedelta(minutes=5), now - timedelta(minutes=4), "COMPLETE", [STG], [MART]
        )
        ok(c.post("/api/v1/openlineage/flush"))
        mart, stg, raw, lake = (
            find(c, n) for n in ("rc.public.mart", "rc.public.stg", "rc.public.raw", "raw/events")
        )
        api = ok(c.get("/api/v1/analysis/rootCause", params={"id": mart["id"], "entityType": mart["type"]}))
    api_order = [(it["id"], it["suspicion"]) for it in api["items"]]
    assert [s for _, s in api_order] == ["run_failed", "run_failed", "run_late", "ok"]

    page.goto(f"{server.url}/explore/{mart['type']}/{mart['id']}?up=1&down=0")
    wait_rendered(page)
    assert lake["id"] not in dom_nodes(page)
    page.click("[data-testid=rootcause-tab]")
    page.wait_for_selector("[data-testid=rootcause-row]", timeout=20_000)
    rows = page.locator("[data-testid=rootcause-row]")
    got = [
        (rows.nth(i).get_attribute("data-id"), rows.nth(i).get_attribute("data-suspicion"))
        for i in range(rows.count())
    ]
    assert got == api_order  # the API's order: likely culprits first
    assert [g[0] for g in got] == [stg["id"], raw["id"], lake["id"], mart["id"]]
    assert page.inner_text("[data-testid=rootcause-count]") == "4 upstream assets, 3 suspect"
    # failed and late runs are marked, with state, time and the error
    first = rows.nth(0)
    assert "hw-rc-failed" in (first.get_attribute("class") or "")
    assert first.locator("[data-testid=rootcause-suspicion]").inner_text() == "failed run"
    run = first.locator("[data-testid=rootcause-run][data-pipeline='etl_ui.load_stg']")
    assert run.get_attribute("data-state") == "FAIL"
    text = run.inner_text()
    assert "FAIL" in text and "division by zero" in text and " UTC" in text
    late_row = rows.nth(2)
    assert "hw-rc-late" in (late_row.get_attribute("class") or "")
    late = late_row.locator("[data-testid=rootcause-run][data-pipeline='etl_ui.feed_raw']")
    assert late.get_attribute("data-late") == "1" and late.get_attribute("data-state") == "COMPLETE"
    assert "late" in late.inner_text()
    assert "hw-rc-ok" in (rows.nth(3).get_attribute("class") or "")
    # the jobs summary, same order as the API's
    jobs = page.locator("[data-testid=rootcause-pipelines] [data-testid=rootcause-run]")
    assert [jobs.nth(i).get_attribute("data-pipeline") for i in range(jobs.count())] == [
        p["pipeline"]["fullyQualifiedName"] for p in api["pipelines"]
    ]
    shot(page, artifacts, "21-root-cause")
    # clicking a row focuses its node; one not loaded yet is loaded by deepening upstream
    rows.nth(0).click()
    page.wait_for_selector(f".react-flow__node.selected[data-id='{stg['id']}']", timeout=20_000)
    page.locator(f"[data-testid=rootcause-row][data-id='{lake['id']}']").click()
    page.wait_for_selector(f".react-flow__node.selected[data-id='{lake['id']}']", timeout=20_000)
    assert "up=3" in page.url
    assert page.locator("[data-testid=rootcause-view]").count() == 1  # the panel stays open
    # as of an instant before the failure was reported: the runs known then, no failure
    with server.client() as c:
        then = ok(
            c.get(
                "/api/v1/analysis/rootCause",
                params={"id": stg["id"], "entityType": stg["type"], "asOf": before_failure},
            )
        )
    then_order = [(it["id"], it["suspicion"]) for it in then["items"]]
    assert then_order == [(raw["id"], "run_late"), (lake["id"], "run_late"), (stg["id"], "ok")]
    page.goto(f"{server.url}/explore/{stg['type']}/{stg['id']}?up=1&down=0&asOf={before_failure}")
    wait_rendered(page)
    page.click("[data-testid=rootcause-tab]")
    page.wait_for_selector("[data-testid=rootcause-asof]", timeout=20_000)
    page.wait_for_selector("[data-testid=rootcause-row]", timeout=20_000)
    rows = page.locator("[data-testid=rootcause-row]")
    assert [
        (rows.nth(i).get_attribute("data-id"), rows.nth(i).get_attribute("data-suspicion"))
        for i in range(rows.count())
    ] == then_order
    assert page.locator("[data-testid=rootcause-run][data-state='FAIL']").count() == 0
    no_page_errors(page)


# -- lineage diff -------------------------------------------------------------------------------


def test_changes_between_two_times(
    page: Any, server: Server, history: dict[str, Any], artifacts: Path
) -> None:
    ids = history["ids"]
    explore(page, server, ids[DST], "up=2&down=0")
    page.click("[data-testid=changes-tab]")
    # default window: the last 7 days up to now
    week_ago = page.input_value("[data-testid=diff-from]")
    assert abs(
        datetime.fromisoformat(week_ago).replace(tzinfo=UTC) - (datetime.now(UTC) - timedelta(days=7))
    ) < timedelta(minutes=5)
    assert page.input_value("[data-testid=diff-to]") == ""
    page.fill("[data-testid=diff-from]", second(history["t1"]))
    page.fill("[data-testid=diff-to]", second(history["t2"]))
    page.click("[data-testid=diff-compare]")
    page.wait_for_selector("[data-testid=diff-summary]", timeout=20_000)
    summary = page.inner_text("[data-testid=diff-summary]")
    assert " ".join(summary.split()) == "edges +1 -1 ~1 · column mappings +2 -1 ~0"
    rows = page.locator("[data-testid=diff-edge-row]")
    edges = {
        (
            rows.nth(i).get_attribute("data-change"),
            rows.nth(i).get_attribute("data-from"),
            rows.nth(i).get_attribute("data-to"),
        )
        for i in range(rows.count())
    }
    assert edges == {("added", SIDE, DST), ("removed", SIDE, MID), ("changed", SRC, MID)}
    assert "columns" in page.locator("[data-testid=diff-edge-row][data-change=changed]").inner_text()
    cols = page.locator("[data-testid=diff-column-row]")
    assert {
        (
            cols.nth(i).get_attribute("data-change"),
            cols.nth(i).get_attribute("data-from"),
            cols.nth(i).get_attribute("data-to-column"),
        )
        for i in range(cols.count())
    } == {("added", SRC, f"{MID}.b"), ("removed", SIDE, f"{MID}.b"), ("added", SIDE, f"{DST}.total")}
    assert "delete" in page.locator(f"[data-testid=diff-asset-row]:has-text('{OLD}')").inner_text()
    # in the graph: added green, changed amber, removed as a red dashed ghost, the rest unmarked
    page.wait_for_selector(".react-flow__edge.hw-diff-removed", state="attached", timeout=10_000)
    marks = dom_edges(page)
    assert marks == {
        (ids[MID], ids[DST]): "",
        (ids[SRC], ids[MID]): "changed",
        (ids[SIDE], ids[DST]): "added",
    }
    assert dom_edges(page, "graph-edge-removed") == {(ids[SIDE], ids[MID]): "removed"}
    for pair, cls in (((SIDE, DST), "hw-diff-added"), ((SRC, MID), "hw-diff-changed")):
        el = page.locator(f".react-flow__edge[data-source='{ids[pair[0]]}'][data-target='{ids[pair[1]]}']")
        assert cls in (el.get_attribute("class") or "")
    removed = page.locator(".react-flow__edge.hw-diff-removed path.react-flow__edge-path")
    assert removed.evaluate("e => getComputedStyle(e).strokeDasharray") not in ("", "none")
    assert removed.evaluate("e => getComputedStyle(e).stroke") == "rgb(220, 38, 38)"
    shot(page, artifacts, "22-changes")
    # leaving the panel clears the colours
    page.click("[data-testid=impact-tab]")
    page.wait_for_selector(".react-flow__edge.hw-diff-removed", state="detached")
    assert set(dom_edges(page).values()) == {""}
    no_page_errors(page)


def test_changes_between_two_runs_of_a_pipeline(page: Any, server: Server, seed: Seed) -> None:
    now = datetime.now(UTC)
    a = {"namespace": PG, "name": "runs.public.a"}
    b = {"namespace": PG, "name": "runs.public.b"}
    out = {"namespace": PG, "name": "runs.public.out"}
    with server.client() as c:
        ol_run(
            c, "nightly_ui", now - timedelta(minutes=30), now - timedelta(minutes=29), "COMPLETE", [a], [out]
        )
        ok(c.post("/api/v1/openlineage/flush"))
        time.sleep(1.2)
        ol_run(
            c, "nightly_ui", now - timedelta(minutes=5), now - timedelta(minutes=4), "COMPLETE", [a, b], [out]
        )
        ok(c.post("/api/v1/openlineage/flush"))
        target = find(c, "runs.public.out")
    # from the edge panel (the job is folded into the edge) ...
    page.goto(f"{server.url}/explore/{target['type']}/{target['id']}?up=1&down=0")
    wait_rendered(page)
    page.locator(".react-flow__edge[data-testid=graph-edge]").first.dispatch_event("click")
    page.wait_for_selector("[data-testid=edge-details]")
    page.locator("[data-testid=edge-job-changes]").first.click()
    page.wait_for_selector("[data-testid=changes-view]")
    page.wait_for_selector("[data-testid=diff-mode-runs]", timeout=20_000)
    # ... and with pipelines drawn as nodes, by selecting the job
    page.goto(f"{server.url}/explore/{target['type']}/{target['id']}?up=1&down=0&pipelines=1")
    wait_rendered(page)
    job = page.locator(
        "[data-testid=graph-node][data-type=pipeline], [data-testid=graph-node][data-type=process]"
    ).first
    job.click()
    page.click("[data-testid=changes-tab]")
    page.wait_for_selector("[data-testid=diff-mode-runs]", timeout=20_000)
    page.check("[data-testid=diff-mode-runs]")
    assert page.locator("[data-testid=diff-run-a] option").count() == 2
    page.click("[data-testid=diff-compare]")
    page.wait_for_selector("[data-testid=diff-summary]", timeout=20_000)
    rows = page.locator("[data-testid=diff-edge-row][data-change=added]")
    assert rows.count() >= 1
    assert all("runs.public.b" in (rows.nth(i).get_attribute("data-from") or "") for i in range(rows.count()))
    assert page.locator("[data-testid=diff-edge-row][data-change=removed]").count() == 0
    no_page_errors(page)


# -- metadata propagation -----------------------------------------------------------------------

PII = {"tagFQN": "PII.Sensitive", "source": "Classification", "labelType": "Manual", "state": "Confirmed"}
TIER = {"tagFQN": "Tier.Tier1", "source": "Classification", "labelType": "Manual", "state": "Confirmed"}
ALICE = {"id": "00000000-0000-0000-0000-00000000a11c", "type": "user", "name": "alice"}
RULES = {
    "rules": [
        {
            "name": "pii",
            "metadata": "tags",
            "tags": ["PII.*"],
            "through": ["direct"],
            "maxDepth": 3,
            "toTables": True,
        },
        {"name": "docs", "metadata": "description", "through": ["direct"], "maxDepth": 3},
        {"name": "own", "metadata": "owners", "through": ["direct"], "maxDepth": 1},
    ],
    "stopAt": [],
}


def test_propagated_metadata_is_marked(page: Any, server: Server, seed: Seed, artifacts: Path) -> None:
    with server.client() as c:
        ps = catalog(c, "prop_pg")
        table(
            c,
            ps,
            "p_src",
            [{"name": "email", "dataType": "VARCHAR", "tags": [PII], "description": "Customer email"}, "id"],
            owners=[ALICE],
        )
        dst = table(
            c,
            ps,
            "p_dst",
            ["email", {"name": "id", "dataType": "VARCHAR", "description": "Written by hand"}],
            tags=[TIER],
        )
        edge(c, f"{ps}.p_src", f"{ps}.p_dst", [("email", "email"), ("id", "id")])
        try:
            res = ok(c.put("/api/v1/analysis/propagation/rules", json=RULES))
            assert res["propagation"]["changed"] > 0
            page.goto(f"{server.url}/explore/table/{dst['id']}?up=1&down=0")
            wait_rendered(page)
            details = page.locator("[data-testid=node-details]")
            details.wait_for()
            # table tags: PII reached the table (propagated, from the source column); Tier set by hand
            pii = details.locator("[data-testid=tag][data-tag='PII.Sensitive']").first
            pii.wait_for(timeout=20_000)
            assert pii.get_attribute("data-propagated") == "1"
            origin = pii.locator("[data-testid=tag-propagated]")
            origin.wait_for()
            page.wait_for_selector(
                f"[data-testid=node-details] > .hw-kv [data-testid=tag-propagated][data-origin='{ps}.p_src.email']",
                timeout=20_000,
            )
            assert "rule pii" in origin.inner_text()
            tier = details.locator("[data-testid=tag][data-tag='Tier.Tier1']")
            assert tier.get_attribute("data-propagated") is None
            assert tier.locator("[data-testid=tag-propagated]").count() == 0
            # owners: alice inherited from p_src
            owner = details.locator("[data-testid=node-owner]")
            assert owner.inner_text().startswith("alice") and owner.get_attribute("data-propagated") == "1"
            page.wait_for_selector(
                f"[data-testid=owner-propagated][data-origin='{ps}.p_src']", state="attached", timeout=20_000
            )
            # columns: email got the tag and the description, each marked with its origin; id's own
            # description is unmarked
            email = details.locator("[data-testid=node-column][data-column=email]")
            assert (
                email.locator("[data-testid=tag][data-tag='PII.Sensitive']").get_attribute("data-propagated")
                == "1"
            )
            assert "p_src.email" in email.locator("[data-testid=tag-propagated]").inner_text()
            assert email.locator("[data-testid=column-description]").inner_text() == "Customer email"
            page.wait_for_selector(
                f"[data-testid=node-column][data-column=email] [data-testid=description-propagated]"
                f"[data-origin='{ps}.p_src.email']",
                timeout=20_000,
            )
            idc = details.locator("[data-testid=node-column][data-column=id]")
            assert idc.locator("[data-testid=column-description]").inner_text() == "Written by hand"
            assert idc.locator("[data-testid=description-propagated]").count() == 0
            assert idc.locator("[data-testid=tag]").count() == 0
            shot(page, artifacts, "23-propagation")
            # the source: everything set by hand, nothing marked
            page.locator("[data-testid=graph-node]", has_text="p_src").click()
            page.wait_for_selector(
                "[data-testid=node-details] [data-testid=node-column][data-column=email] [data-testid=tag]"
            )
            src_details = page.locator("[data-testid=node-details]")
            assert src_details.locator("[data-propagated]").count() == 0
            assert src_details.locator("[data-testid$=-propagated]").count() == 0
            no_page_errors(page)
        finally:
            ok(c.put("/api/v1/analysis/propagation/rules", json={"rules": [], "stopAt": []}))
