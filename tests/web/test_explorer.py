"""The lineage explorer in headless Chromium against a real `headwater serve`."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

Seed = Any  # conftest.Seed
Server = Any  # conftest.Server
SHOP = "shop_pg.shop"
# The OpenLineage spec repo's simple COMPLETE event (fluentd test fixture).
OL_EVENT = {
    "eventType": "COMPLETE",
    "eventTime": "2020-12-28T19:52:00.001+10:00",
    "run": {"runId": "41fb5137-f0fd-4ee5-ba5c-56f8571d1bd7"},
    "job": {"namespace": "my-scheduler-namespace", "name": "myjob"},
    "inputs": [
        {"namespace": "my-datasource-namespace", "name": "instance.schema.input-1"},
        {"namespace": "my-datasource-namespace", "name": "instance.schema.input-2"},
    ],
    "outputs": [{"namespace": "my-datasource-namespace", "name": "instance.schema.output-1"}],
    "producer": "https://github.com/OpenLineage/OpenLineage/blob/v1-0-0/client",
    "schemaURL": "https://openlineage.io/spec/1-0-1/OpenLineage.json#/definitions/RunEvent",
}

ORDERS = f"{SHOP}.raw.orders"
STG_ORDERS = f"{SHOP}.staging.stg_orders"
STG_CUSTOMERS = f"{SHOP}.staging.stg_customers"
REVENUE = f"{SHOP}.mart.revenue"
DAILY = f"{SHOP}.mart.revenue_daily"
DASH = "superset.revenue_dash"


def wait_rendered(page: Any) -> None:
    # (a selector, not wait_for_function: the server's CSP forbids the eval that needs)
    page.wait_for_selector("html[data-graph-state=rendered]", state="attached", timeout=30_000)
    page.wait_for_timeout(150)


def open_lineage(
    page: Any, server: Server, seed: Seed, fqn: str, up: int = 1, down: int = 1, extra: str = ""
) -> None:
    a = seed.assets[fqn]
    page.goto(f"{server.url}/explore/{a['_type']}/{a['id']}?up={up}&down={down}{extra}")
    wait_rendered(page)


def dom_nodes(page: Any) -> set[str]:
    return set(page.eval_on_selector_all("[data-testid=graph-node]", "els => els.map(e => e.dataset.nodeId)"))


def dom_edges(page: Any) -> set[tuple[str, str]]:
    pairs = page.eval_on_selector_all(
        ".react-flow__edge[data-testid=graph-edge]",
        "els => els.map(e => [e.dataset.source, e.dataset.target])",
    )
    return {(s, t) for s, t in pairs}


def hot_column_edges(page: Any) -> set[tuple[str, str]]:
    pairs = page.eval_on_selector_all(
        "[data-testid=graph-column-edge].hw-hot",
        "els => els.map(e => [e.dataset.fromColumn, e.dataset.toColumn])",
    )
    return {(s, t) for s, t in pairs}


def wait_for_hot_column_edges(
    page: Any, expected: set[tuple[str, str]], timeout_s: float = 20.0
) -> set[tuple[str, str]]:
    """Poll until the highlighted column edges are exactly `expected`; return the last set seen.

    (Polled from here: the server's CSP forbids the eval that wait_for_function needs.)
    """
    deadline = time.monotonic() + timeout_s
    seen = hot_column_edges(page)
    while seen != expected and time.monotonic() < deadline:
        page.wait_for_timeout(100)
        seen = hot_column_edges(page)
    return seen


def api_lineage(server: Server, seed: Seed, fqn: str, up: int, down: int) -> dict[str, Any]:
    a = seed.assets[fqn]
    with server.client() as c:
        r = c.get(
            f"/api/v1/lineage/{a['_type']}/{a['id']}", params={"upstreamDepth": up, "downstreamDepth": down}
        )
        assert r.status_code == 200, r.text
        return dict(r.json())


def shot(page: Any, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"))


def node(page: Any, seed: Seed, fqn: str) -> Any:
    return page.locator(f"[data-testid=graph-node][data-node-id='{seed.id(fqn)}']")


def no_page_errors(page: Any) -> None:
    assert not [e for e in page.hw_errors if "pageerror" in e or "Content Security Policy" in e], (
        page.hw_errors
    )


# ---------------------------------------------------------------------------


def test_sign_in_search_and_open(browser: Any, server: Server, seed: Seed, artifacts: Path) -> None:
    ctx = browser.new_context(viewport={"width": 1400, "height": 860})
    page = ctx.new_page()
    try:
        page.goto(server.url + "/")
        # Without a token the API answers 401 and the explorer asks for one.
        page.wait_for_selector("[data-testid=signin]", timeout=20_000)
        shot(page, artifacts, "01-sign-in")
        page.fill("[data-testid=signin-token]", "not-a-token")
        page.click("[data-testid=signin-submit]")
        page.wait_for_selector("[data-testid=signin] .hw-error")
        page.fill("[data-testid=signin-token]", server.token)
        page.click("[data-testid=signin-submit]")
        page.wait_for_selector("[data-testid=signin]", state="detached")
        assert page.evaluate("sessionStorage.getItem('headwater.token')") == server.token

        page.select_option("[data-testid=search-type]", "table")
        page.fill("[data-testid=search-input]", "stg_ord")
        result = page.locator(f"[data-testid=search-result][data-fqn='{STG_ORDERS}']")
        result.wait_for(timeout=20_000)
        assert page.locator("[data-testid=search-result]").count() == 1
        shot(page, artifacts, "02-search")
        result.click()
        wait_rendered(page)
        assert f"/explore/table/{seed.id(STG_ORDERS)}" in page.url
        assert seed.id(STG_ORDERS) in dom_nodes(page)
        page.wait_for_selector("[data-testid=node-details]")
        assert STG_ORDERS in page.inner_text("[data-testid=node-details]")

        # The token survives a reload of the tab (sessionStorage) ...
        page.reload()
        wait_rendered(page)
        assert page.locator("[data-testid=signin]").count() == 0
        # ... and the type filter excludes other types.
        page.select_option("[data-testid=search-type]", "dashboard")
        page.fill("[data-testid=search-input]", "stg_ord")
        page.wait_for_selector("[data-testid=search-results] .hw-search-empty")
        assert page.locator("[data-testid=search-result]").count() == 0
    finally:
        ctx.close()


def test_graph_matches_api_lineage(page: Any, server: Server, seed: Seed, artifacts: Path) -> None:
    open_lineage(page, server, seed, STG_ORDERS, up=2, down=2)
    lin = api_lineage(server, seed, STG_ORDERS, 2, 2)
    want_nodes = {lin["entity"]["id"]} | {n["id"] for n in lin["nodes"]}
    want_edges = {(e["fromEntity"], e["toEntity"]) for e in lin["upstreamEdges"] + lin["downstreamEdges"]}
    # pipelines are folded into edges by default, and this graph has no process nodes
    assert dom_nodes(page) == want_nodes
    assert dom_edges(page) == want_edges
    assert {seed.id(ORDERS), seed.id(REVENUE), seed.id(DAILY), seed.id(DASH)} <= want_nodes
    # upstream is drawn left of the root, downstream right of it
    x = {fqn: node(page, seed, fqn).bounding_box()["x"] for fqn in (ORDERS, STG_ORDERS, REVENUE, DASH)}
    assert x[ORDERS] < x[STG_ORDERS] < x[REVENUE] < x[DASH]
    assert page.locator(f"[data-node-id='{seed.id(STG_ORDERS)}'].hw-root").count() == 1
    shot(page, artifacts, "03-graph")
    no_page_errors(page)


def test_depth_controls_and_pipeline_nodes(page: Any, server: Server, seed: Seed, artifacts: Path) -> None:
    open_lineage(page, server, seed, STG_ORDERS, up=1, down=1)
    assert seed.id(DASH) not in dom_nodes(page)
    page.select_option("[data-testid=downstream-depth]", "2")
    page.wait_for_selector(f"[data-node-id='{seed.id(DASH)}']", timeout=20_000)
    assert "down=2" in page.url
    # Pipelines as nodes: the edge raw.orders -> stg_orders goes through airflow.load_staging.
    page.check("[data-testid=show-pipelines]")
    pipe_id = seed.id("airflow.load_staging")
    page.wait_for_selector(f"[data-testid=graph-node][data-node-id='{pipe_id}']", timeout=20_000)
    # React Flow draws edges a frame after their nodes: wait for the pipeline's edge to appear
    page.wait_for_selector(
        f".react-flow__edge[data-testid=graph-edge][data-source='{pipe_id}']",
        state="attached",
        timeout=20_000,
    )
    edges = dom_edges(page)
    assert (seed.id(ORDERS), pipe_id) in edges and (pipe_id, seed.id(STG_ORDERS)) in edges
    assert (seed.id(ORDERS), seed.id(STG_ORDERS)) not in edges
    shot(page, artifacts, "04-pipelines-as-nodes")
    page.uncheck("[data-testid=show-pipelines]")
    page.wait_for_selector(f"[data-testid=graph-node][data-node-id='{pipe_id}']", state="detached")


def test_expand_and_collapse_a_node(page: Any, server: Server, seed: Seed, artifacts: Path) -> None:
    open_lineage(page, server, seed, STG_ORDERS, up=0, down=1)
    before = dom_nodes(page)
    assert seed.id(DASH) not in before and seed.id(ORDERS) not in before
    # one more hop downstream of mart.revenue, without reloading the page
    page.evaluate("window.__hwMarker = 1")
    node(page, seed, REVENUE).locator("[data-testid=expand-down]").click()
    page.wait_for_selector(f"[data-node-id='{seed.id(DASH)}']", timeout=20_000)
    wait_rendered(page)
    lin = api_lineage(server, seed, REVENUE, 0, 1)
    assert {n["id"] for n in lin["nodes"]} <= dom_nodes(page)
    assert (seed.id(REVENUE), seed.id(DASH)) in dom_edges(page)
    # one hop upstream of the root
    node(page, seed, STG_ORDERS).locator("[data-testid=expand-up]").click()
    page.wait_for_selector(f"[data-node-id='{seed.id(ORDERS)}']", timeout=20_000)
    assert page.evaluate("window.__hwMarker") == 1  # no reload happened
    shot(page, artifacts, "05-expanded")
    # collapse again
    node(page, seed, REVENUE).locator("[data-testid=collapse-down]").click()
    page.wait_for_selector(f"[data-node-id='{seed.id(DASH)}']", state="detached")
    node(page, seed, STG_ORDERS).locator("[data-testid=collapse-up]").click()
    page.wait_for_selector(f"[data-node-id='{seed.id(ORDERS)}']", state="detached")
    assert dom_nodes(page) == before
    no_page_errors(page)


def test_column_path_highlight(page: Any, server: Server, seed: Seed, artifacts: Path) -> None:
    open_lineage(page, server, seed, REVENUE, up=2, down=1)
    assert seed.id(DAILY) not in dom_nodes(page)
    node(page, seed, STG_ORDERS).locator("[data-testid=toggle-columns]").click()
    col = page.locator(f"[data-testid=graph-column][data-column-fqn='{STG_ORDERS}.amount']")
    col.wait_for()
    col.click()
    # the tables on the path open their columns; the path is highlighted, the rest dimmed
    for fqn in (f"{ORDERS}.amount", f"{REVENUE}.total_amount"):
        page.wait_for_selector(f"[data-column-fqn='{fqn}'].hw-col-hot", timeout=20_000)
    assert page.locator(f"[data-column-fqn='{STG_ORDERS}.amount'].hw-col-sel").count() == 1
    for fqn in (f"{ORDERS}.id", f"{STG_ORDERS}.customer_id", f"{REVENUE}.customer_name"):
        assert page.locator(f"[data-column-fqn='{fqn}'].hw-col-dim").count() == 1, fqn
    # raw.customers, stg_customers and the dashboard carry no part of the path: dimmed
    for fqn in (f"{SHOP}.raw.customers", STG_CUSTOMERS, DASH):
        assert "hw-dim" in node(page, seed, fqn).get_attribute("class"), fqn
    for fqn in (ORDERS, STG_ORDERS, REVENUE):
        assert "hw-dim" not in node(page, seed, fqn).get_attribute("class"), fqn
    assert "2 related columns" in page.inner_text("[data-testid=column-details]")
    # expanding stg_orders downstream extends the highlighted path to revenue_daily.total
    node(page, seed, STG_ORDERS).locator("[data-testid=expand-down]").click()
    page.wait_for_selector(f"[data-column-fqn='{DAILY}.total'].hw-col-hot", timeout=20_000)
    # exactly the three column edges of the path are drawn highlighted (waited for as one set:
    # the new node's columns open and the graph is laid out again meanwhile)
    expected_hot = {
        (f"{ORDERS}.amount", f"{STG_ORDERS}.amount"),
        (f"{STG_ORDERS}.amount", f"{REVENUE}.total_amount"),
        (f"{STG_ORDERS}.amount", f"{DAILY}.total"),
    }
    assert wait_for_hot_column_edges(page, expected_hot) == expected_hot
    assert "3 related columns" in page.inner_text("[data-testid=column-details]")
    assert "orders.amount" in page.inner_text("[data-testid=column-upstream]")
    downstream = page.inner_text("[data-testid=column-downstream]")
    assert "revenue.total_amount" in downstream and "revenue_daily.total" in downstream
    wait_rendered(page)
    shot(page, artifacts, "06-column-highlight")
    # column impact: downstream columns with depth
    page.click("[data-testid=impact-column]")
    page.wait_for_selector("[data-testid=impact-row]")
    rows = page.locator("[data-testid=impact-row]").all_inner_texts()
    assert len(rows) == 2 and all("column" in r for r in rows)
    no_page_errors(page)


def test_edge_details_show_sql(page: Any, server: Server, seed: Seed, artifacts: Path) -> None:
    open_lineage(page, server, seed, STG_ORDERS, up=1, down=1)
    eid = f"{seed.id(ORDERS)}->{seed.id(STG_ORDERS)}"
    page.locator(f".react-flow__edge[data-id='{eid}']").dispatch_event("click")
    page.wait_for_selector("[data-testid=edge-details]")
    sql = page.locator("[data-testid=edge-sql]")
    assert "INSERT INTO staging.stg_orders" in sql.inner_text()
    assert sql.locator(".hljs-keyword").count() >= 3  # highlighted
    assert "load_staging" in page.inner_text("[data-testid=edge-pipeline]")
    assert page.inner_text("[data-testid=edge-source]") == "QueryLineage"
    mappings = page.inner_text("[data-testid=edge-columns]")
    assert "orders.created_at" in mappings and "stg_orders.order_day" in mappings
    shot(page, artifacts, "07-edge-sql")
    # clicking a node shows its details with its API URL
    node(page, seed, REVENUE).click()
    page.wait_for_selector("[data-testid=node-details]")
    link = page.get_attribute("[data-testid=node-api-link]", "href")
    assert link == f"/api/v1/headwater/assets/{seed.id(REVENUE)}"
    with server.client() as c:
        assert c.get(link).json()["fullyQualifiedName"] == REVENUE


def _csv_rows(text: str) -> tuple[list[str], list[tuple[str, ...]]]:
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], sorted(tuple(r) for r in rows[1:] if r)


def test_export_csv_matches_api(page: Any, server: Server, seed: Seed, artifacts: Path) -> None:
    open_lineage(page, server, seed, STG_ORDERS, up=1, down=2)
    page.click("[data-testid=export-menu]")
    with page.expect_download() as dl:
        page.click("[data-testid=export-csv]")
    ui_text = Path(dl.value.path()).read_text(encoding="utf-8")
    (artifacts / "graph-export.csv").write_text(ui_text, encoding="utf-8")
    with server.client() as c:
        r = c.get(
            "/api/v1/lineage/export",
            params={"fqn": STG_ORDERS, "type": "table", "upstreamDepth": 1, "downstreamDepth": 2},
        )
        assert r.status_code == 200, r.text
    api_header, api_rows = _csv_rows(r.text)
    ui_header, ui_rows = _csv_rows(ui_text)
    assert ui_header == api_header
    assert ui_header[:3] == ["fromId", "fromEntityType", "fromFullyQualifiedName"] and len(ui_header) == 13
    assert ui_rows == api_rows
    assert len(ui_rows) == 4  # orders->stg_orders, stg_orders->revenue, stg_orders->daily, revenue->dash


def test_image_exports(page: Any, server: Server, seed: Seed, artifacts: Path) -> None:
    open_lineage(page, server, seed, STG_ORDERS, up=1, down=1)
    for kind, magic in (("png", b"\x89PNG"), ("svg", b"<svg")):
        page.click("[data-testid=export-menu]")
        with page.expect_download() as dl:
            page.click(f"[data-testid=export-{kind}]")
        data = Path(dl.value.path()).read_bytes()
        assert data.startswith(magic), data[:40]
        assert len(data) > 2000
        (artifacts / f"graph-export.{kind}").write_bytes(data)
    no_page_errors(page)


def test_impact_view_and_csv(page: Any, server: Server, seed: Seed, artifacts: Path) -> None:
    open_lineage(page, server, seed, ORDERS, up=0, down=1)
    page.click("[data-testid=impact-tab]")
    page.wait_for_selector("[data-testid=impact-row]")
    rows = page.locator("[data-testid=impact-row]").all_inner_texts()
    depth = {r.split()[0]: r for r in rows}
    assert len(rows) == 4  # stg_orders, revenue, revenue_daily, dashboard
    text = "\n".join(rows)
    for fqn in (STG_ORDERS, REVENUE, DAILY, DASH):
        assert fqn in text
    assert set(depth) == {"1", "2", "3"}
    shot(page, artifacts, "08-impact")
    with page.expect_download() as dl:
        page.click("[data-testid=impact-csv]")
    ui_text = Path(dl.value.path()).read_text(encoding="utf-8")
    out = list(csv.DictReader(io.StringIO(ui_text)))
    assert {r["fullyQualifiedName"]: int(r["depth"]) for r in out} == {
        STG_ORDERS: 1,
        REVENUE: 2,
        DAILY: 2,
        DASH: 3,
    }
    # the same rows and columns as the server's impact export
    with server.client() as c:
        r = c.get("/api/v1/analysis/impact", params={"fqn": ORDERS, "entityType": "table", "format": "csv"})
        assert r.status_code == 200, r.text
    api_header, api_rows = _csv_rows(r.text)
    ui_header, ui_rows = _csv_rows(ui_text)
    assert ui_header == api_header and "owners" in ui_header
    assert ui_rows == api_rows


def test_edge_shows_last_run_of_openlineage_job(page: Any, server: Server, seed: Seed) -> None:
    with server.client() as c:
        assert c.post("/api/v1/lineage", json=OL_EVENT).status_code in (200, 201)
        out: dict[str, Any] = {}
        for _ in range(50):  # ingestion may finish after the answer
            found = c.get("/api/v1/headwater/assets", params={"q": "instance.schema.output-1"}).json()["data"]
            if found:
                out = found[0]
                break
            time.sleep(0.1)
    assert out, "the OpenLineage output dataset was not created"
    page.goto(f"{server.url}/explore/{out['type']}/{out['id']}?up=1&down=0")
    wait_rendered(page)
    edges = page.locator(".react-flow__edge[data-testid=graph-edge]")
    assert edges.count() == 2
    edges.first.dispatch_event("click")
    page.wait_for_selector("[data-testid=edge-details]")
    assert "myjob" in page.inner_text("[data-testid=edge-pipeline]")
    page.wait_for_selector("[data-testid=edge-last-run]", timeout=20_000)
    assert "COMPLETED" in page.inner_text("[data-testid=edge-last-run]")


def test_impact_without_the_analysis_endpoint(page: Any, server: Server, seed: Seed) -> None:
    """Against a server without /api/v1/analysis/impact the view walks the lineage endpoint."""
    page.route(
        "**/api/v1/analysis/impact**",
        lambda route: route.fulfill(
            status=404, content_type="application/json", body='{"code": 404, "message": "Not Found"}'
        ),
    )
    open_lineage(page, server, seed, ORDERS, up=0, down=1)
    page.click("[data-testid=impact-tab]")
    page.wait_for_selector("[data-testid=impact-row]")
    rows = page.locator("[data-testid=impact-row]").all_inner_texts()
    assert len(rows) == 4
    assert sorted(r.split()[0] for r in rows) == ["1", "2", "2", "3"]


def test_node_limit_cut_is_reported(page: Any, server: Server, seed: Seed, artifacts: Path) -> None:
    a = seed.assets[ORDERS]
    with server.client() as c:
        lin = c.get(
            f"/api/v1/lineage/table/{a['id']}",
            params={"upstreamDepth": 0, "downstreamDepth": 3, "nodeLimit": 2},
        ).json()
    assert lin.get("truncated") is True, json.dumps(lin)[:300]
    open_lineage(page, server, seed, ORDERS, up=0, down=3, extra="&limit=2")
    page.wait_for_selector("[data-testid=truncated-banner]")
    assert "cut" in page.inner_text("[data-testid=truncated-banner]")
    assert len(dom_nodes(page)) <= 3
    assert page.input_value("[data-testid=node-limit]") == "2"
    # raising the limit from the toolbar loads the whole graph and the banner goes away
    page.select_option("[data-testid=node-limit]", "100")
    page.wait_for_selector("[data-testid=truncated-banner]", state="detached", timeout=20_000)
    page.wait_for_selector(f"[data-node-id='{seed.id(DASH)}']", timeout=20_000)
    shot(page, artifacts, "09-truncated")


def test_static_files_and_api_paths_untouched(server: Server) -> None:
    r = httpx.get(server.url + "/")
    assert r.status_code == 200 and '<div id="root">' in r.text
    assert "<script>" not in r.text  # no inline script: works with script-src 'self'
    assert httpx.get(server.url + "/explore/table/x").status_code == 200
    src = r.text.split('src="')[1].split('"')[0]
    assert src.startswith("/assets/") and httpx.get(server.url + src).status_code == 200
    assert httpx.get(server.url + "/api/v1/system/version").json()["version"]
    assert httpx.get(server.url + "/api/v1/lineage/table/" + quote("nope")).status_code in (401, 403)


@pytest.mark.slow
def test_large_graph_renders_every_node_without_overlap(
    page: Any, server: Server, seed: Seed, artifacts: Path
) -> None:
    """Above 300 nodes the built-in layered layout, virtualisation and low-detail nodes take over."""
    with server.client() as c:
        c.put("/api/v1/databaseSchemas", json={"name": "big", "database": SHOP}).raise_for_status()

        def table(name: str) -> dict[str, Any]:
            body = {
                "name": name,
                "databaseSchema": f"{SHOP}.big",
                "columns": [{"name": "id", "dataType": "INT"}],
            }
            r = c.put("/api/v1/tables", json=body)
            r.raise_for_status()
            return dict(r.json())

        root = table("root")
        layers = [[root]]
        for li, size in enumerate((8, 40, 80, 100, 100), start=1):
            layers.append([table(f"l{li}_{i}") for i in range(size)])
        for li in range(1, len(layers)):
            for i, t in enumerate(layers[li]):
                parents = {i % len(layers[li - 1]), (i * 7 + 3) % len(layers[li - 1])}
                for p in parents:
                    edge = {
                        "fromEntity": {"id": layers[li - 1][p]["id"], "type": "table"},
                        "toEntity": {"id": t["id"], "type": "table"},
                    }
                    c.put("/api/v1/lineage", json={"edge": edge}).raise_for_status()
        lin = c.get(
            f"/api/v1/lineage/table/{root['id']}", params={"upstreamDepth": 0, "downstreamDepth": 6}
        ).json()
    want = {lin["entity"]["id"]} | {n["id"] for n in lin["nodes"]}
    assert len(want) == 329
    page.goto(f"{server.url}/explore/table/{root['id']}?up=0&down=6")
    wait_rendered(page)
    assert dom_nodes(page) == want  # the whole graph is in view after the fit
    assert len(dom_edges(page)) == len(lin["downstreamEdges"])
    assert page.locator(".hw-lod").count() == len(want)  # zoomed out: low-detail nodes
    overlaps = page.evaluate(
        """() => {
          const r = [...document.querySelectorAll('.react-flow__node')].map(e => e.getBoundingClientRect());
          let n = 0;
          for (let i = 0; i < r.length; i++) for (let j = i + 1; j < r.length; j++)
            if (r[i].left < r[j].right - 0.5 && r[j].left < r[i].right - 0.5 &&
                r[i].top < r[j].bottom - 0.5 && r[j].top < r[i].bottom - 0.5) n++;
          return n;
        }"""
    )
    assert overlaps == 0
    # upstream-to-downstream order: every edge points right
    x = page.evaluate(
        "Object.fromEntries([...document.querySelectorAll('[data-testid=graph-node]')]"
        ".map(e => [e.dataset.nodeId, e.getBoundingClientRect().left]))"
    )
    assert all(x[e["fromEntity"]] < x[e["toEntity"]] for e in lin["downstreamEdges"])
    shot(page, artifacts, "10-large-graph")
    # zooming in brings back full-detail nodes with their expand buttons
    node_id = lin["entity"]["id"]
    box = page.locator(f"[data-testid=graph-node][data-node-id='{node_id}']").bounding_box()
    for _ in range(12):
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.wheel(0, -300)
        page.wait_for_timeout(50)
    page.wait_for_selector(
        f"[data-testid=graph-node][data-node-id='{node_id}'] [data-testid=expand-up]", timeout=20_000
    )
    no_page_errors(page)
