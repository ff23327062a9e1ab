"""The lineage history shared by the as-of and diff tests."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.analysis.an_helpers import col, edge, fqn, ok, schema, table, tick
from tests.helpers import LiveServer

RAW, STG, MART = fqn("raw"), fqn("stg"), fqn("mart")


@pytest.fixture
def history(server: LiveServer, api: httpx.Client) -> dict[str, Any]:
    """raw -> stg -> mart, changed step by step; `t[i]` is an instant just after step i."""
    schema(api)
    raw = table(api, "raw", ["id", "email", "amount"])
    stg = table(api, "stg", ["id", "email", "email_hash", "amount"])
    t: dict[str, int] = {"before_mart": tick()}
    mart = table(api, "mart", ["customer_id", "email_hash", "total"])
    t["t0"] = tick()
    edge(api, RAW, STG, [(["id"], "id", None), (["email"], "email", None)])
    t["t1"] = tick()
    edge(api, STG, MART, [(["id"], "customer_id", None)])
    t["t2"] = tick()
    op = {
        "op": "add",
        "path": "/columnsLineage/-",
        "value": {
            "fromColumns": [col("raw", "email")],
            "toColumn": col("stg", "email_hash"),
            "function": "sha256(email)",
        },
    }
    ok(api.patch(f"/api/v1/lineage/table/{raw['id']}/table/{stg['id']}", json=[op]))
    t["t3"] = tick()
    ok(api.delete(f"/api/v1/lineage/table/name/{STG}/table/name/{MART}"))
    t["t4"] = tick()
    ok(api.delete(f"/api/v1/tables/{raw['id']}"))
    t["t5"] = tick()
    edge(api, STG, MART, [(["amount"], "total", "sum(amount)")])
    t["t6"] = tick()
    return {"t": t, "raw": raw, "stg": stg, "mart": mart}
