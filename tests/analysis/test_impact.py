"""Impact analysis of assets and columns: paths, depth, types, owners, hop kinds, filters, pages, CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest

from tests.analysis.an_helpers import col, edge, fqn, ok, schema, table

RAW, STG, MART, AUDIT = fqn("raw"), fqn("stg"), fqn("mart"), fqn("audit")
DASH = "bi.sales"
ALICE = [{"id": "00000000-0000-0000-0000-00000000a11c", "type": "user", "name": "alice"}]


@pytest.fixture
def graph(api: httpx.Client) -> None:
    """raw -> stg -> mart -> dashboard bi.sales, and raw -> audit (table-level only)."""
    schema(api)
    table(api, "raw", ["id", "email", "amount"])
    table(api, "stg", ["id", "email", "email_hash", "amount"])
    table(api, "mart", ["customer_id", "email_hash", "total"], owners=ALICE)
    table(api, "audit", ["line"])
    ok(api.put("/api/v1/services/dashboardServices", json={"name": "bi", "serviceType": "Superset"}), 201)
    ok(api.put("/api/v1/dashboards", json={"name": "sales", "service": "bi"}), 201)
    edge(
        api,
        RAW,
        STG,
        [
            (["id"], "id", None),
            (["email"], "email", None),
            (["email"], "email_hash", "sha256(email)"),
            (["amount"], "amount", None),
        ],
    )
    edge(
        api,
        STG,
        MART,
        [
            (["id"], "customer_id", None),
            (["email_hash"], "email_hash", None),
            (["amount"], "total", "sum(amount)"),
        ],
    )
    edge(api, MART, DASH, dst_type="dashboard")
    edge(api, RAW, AUDIT)


def impact(api: httpx.Client, **params: Any) -> dict[str, Any]:
    return ok(api.get("/api/v1/analysis/impact", params=params))


def test_asset_impact_paths_types_owners(api: httpx.Client, graph: None) -> None:
    res = impact(api, fqn=RAW)
    assert res["total"] == 4 and not res["truncated"]
    rows = {r["fullyQualifiedName"]: r for r in res["data"]}
    assert [(r["depth"], r["fullyQualifiedName"]) for r in res["data"]] == [
        (1, AUDIT),
        (1, STG),
        (2, MART),
        (3, DASH),
    ]
    assert rows[DASH]["type"] == "dashboard"
    assert rows[DASH]["path"] == [RAW, STG, MART, DASH]
    assert rows[MART]["owners"] == ["alice"]
    assert rows[STG]["owners"] == []
    # type filter and depth
    assert [r["fullyQualifiedName"] for r in impact(api, fqn=RAW, assetTypes="dashboard")["data"]] == [DASH]
    assert [r["fullyQualifiedName"] for r in impact(api, fqn=RAW, maxDepth=1)["data"]] == [AUDIT, STG]
    # pages
    page = impact(api, fqn=RAW, limit=2, offset=1)
    assert page["total"] == 4 and [r["fullyQualifiedName"] for r in page["data"]] == [STG, MART]
    # by id, and a bad depth
    raw_id = ok(api.get(f"/api/v1/tables/name/{RAW}"))["id"]
    assert impact(api, id=raw_id)["total"] == 4
    assert api.get("/api/v1/analysis/impact", params={"fqn": RAW, "maxDepth": 0}).status_code == 400
    assert api.get("/api/v1/analysis/impact", params={"fqn": "nope.x.y.z"}).status_code == 404


def test_column_impact_direct_and_transformed(api: httpx.Client, graph: None) -> None:
    res = impact(api, entityType="column", fqn=col("raw", "email"))
    got = [
        (
            r["depth"],
            r["fullyQualifiedName"],
            r["hop"],
            r["function"],
            r["pathKind"],
            r["parentFullyQualifiedName"],
        )
        for r in res["data"]
    ]
    assert got == [
        (1, col("stg", "email"), "direct", None, "direct", STG),
        (1, col("stg", "email_hash"), "transformation", "sha256(email)", "transformation", STG),
        (2, col("mart", "email_hash"), "direct", None, "transformation", MART),
    ]
    mart_row = res["data"][2]
    assert mart_row["path"] == [col("raw", "email"), col("stg", "email_hash"), col("mart", "email_hash")]
    assert (
        mart_row["owners"] == ["alice"] and mart_row["type"] == "column" and mart_row["parentType"] == "table"
    )
    assert mart_row["id"]
    # the same through `column=` on the table, by name
    same = impact(api, fqn=RAW, column="email")
    assert [r["fullyQualifiedName"] for r in same["data"]] == [r[1] for r in got]
    # amount: copied, then summed
    amount = impact(api, fqn=RAW, column="amount")
    assert [(r["fullyQualifiedName"], r["hop"], r["pathKind"]) for r in amount["data"]] == [
        (col("stg", "amount"), "direct", "direct"),
        (col("mart", "total"), "transformation", "transformation"),
    ]
    # depth 1 only
    assert impact(api, fqn=RAW, column="email", maxDepth=1)["total"] == 2
    # a column nothing reads
    assert impact(api, fqn=AUDIT, column="line")["total"] == 0


def test_impact_csv(api: httpx.Client, graph: None) -> None:
    r = api.get("/api/v1/analysis/impact", params={"fqn": RAW, "column": "email", "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["depth"], x["fullyQualifiedName"], x["hop"], x["function"], x["owners"]) for x in rows] == [
        ("1", col("stg", "email"), "direct", "", ""),
        ("1", col("stg", "email_hash"), "transformation", "sha256(email)", ""),
        ("2", col("mart", "email_hash"), "direct", "", "alice"),
    ]
    assert rows[2]["path"] == " > ".join(
        [col("raw", "email"), col("stg", "email_hash"), col("mart", "email_hash")]
    )


def test_impact_viewer_allowed(server: Any, graph: None) -> None:
    with server.client("viewer") as viewer:
        assert viewer.get("/api/v1/analysis/impact", params={"fqn": RAW}).status_code == 200
    with httpx.Client(base_url=server.url) as anon:
        assert anon.get("/api/v1/analysis/impact", params={"fqn": RAW}).status_code == 401
