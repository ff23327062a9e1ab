"""Impact analysis as of a past instant, and the `headwater analysis` commands on the same history."""

from __future__ import annotations

import json
from typing import Any

import httpx
from typer.testing import CliRunner

from headwater.cli.main import app
from tests.analysis.an_helpers import col, fqn, ok
from tests.helpers import LiveServer

RAW, STG, MART = fqn("raw"), fqn("stg"), fqn("mart")


def impact(api: httpx.Client, **params: Any) -> list[tuple[Any, ...]]:
    res = ok(api.get("/api/v1/analysis/impact", params=params))
    return [(r["depth"], r["fullyQualifiedName"], r.get("hop"), r.get("pathKind")) for r in res["data"]]


def test_impact_as_of(api: httpx.Client, history: dict[str, Any]) -> None:
    t = history["t"]
    assert impact(api, fqn=RAW, asOf=t["t2"]) == [(1, STG, None, None), (2, MART, None, None)]
    assert impact(api, fqn=RAW, asOf=t["t4"]) == [(1, STG, None, None)]
    assert impact(api, fqn=RAW, asOf=t["t0"]) == []
    assert api.get("/api/v1/analysis/impact", params={"fqn": RAW}).status_code == 404  # deleted now
    assert impact(api, fqn=STG) == [(1, MART, None, None)]
    email = col("raw", "email")
    assert impact(api, entityType="column", fqn=email, asOf=t["t1"]) == [
        (1, col("stg", "email"), "direct", "direct")
    ]
    assert impact(api, entityType="column", fqn=email, asOf=t["t3"]) == [
        (1, col("stg", "email"), "direct", "direct"),
        (1, col("stg", "email_hash"), "transformation", "transformation"),
    ]
    assert impact(api, fqn=RAW, column="id", asOf=t["t2"]) == [
        (1, col("stg", "id"), "direct", "direct"),
        (2, col("mart", "customer_id"), "direct", "direct"),
    ]
    assert impact(api, fqn=RAW, column="id", asOf=t["t4"]) == [(1, col("stg", "id"), "direct", "direct")]
    assert impact(api, fqn=STG, column="amount") == [
        (1, col("mart", "total"), "transformation", "transformation")
    ]
    assert impact(api, fqn=STG, column="amount", asOf=t["t3"]) == []


def test_cli_commands(server: LiveServer, history: dict[str, Any]) -> None:
    t = history["t"]
    runner = CliRunner()
    db = ["--db-url", server.store.url]

    def run(*args: str) -> str:
        res = runner.invoke(app, ["analysis", *args, *db], env={"COLUMNS": "250"})
        assert res.exit_code == 0, res.output
        return res.output

    data = json.loads(run("impact", RAW, "--column", "id", "--as-of", str(t["t2"]), "--format", "json"))
    assert [r["fullyQualifiedName"] for r in data["data"]] == [col("stg", "id"), col("mart", "customer_id")]
    table = run("impact", STG, "--column", "amount")
    assert col("mart", "total") in table and "transformation (sum(amount))" in table
    csv_out = run("impact", STG, "--format", "csv")
    assert csv_out.splitlines()[0].startswith("depth,type,fullyQualifiedName") and MART in csv_out
    lineage = json.loads(run("lineage", STG, "--as-of", str(t["t2"]), "--upstream", "3", "--downstream", "3"))
    assert (
        lineage["asOf"] == t["t2"]
        and len(lineage["upstreamEdges"]) == 1
        and len(lineage["downstreamEdges"]) == 1
    )
    rc = json.loads(run("root-cause", MART, "--format", "json"))
    assert [it["fullyQualifiedName"] for it in rc["items"]] == [STG]  # raw is deleted now
    assert "edge_changed" in run("root-cause", MART)
    then = json.loads(run("root-cause", MART, "--as-of", str(t["t2"]), "--format", "json"))
    assert then["asOf"] == t["t2"] and [it["fullyQualifiedName"] for it in then["items"]] == [STG, RAW]
    assert [it["deleted"] for it in then["items"]] == [False, False]  # raw was deleted after t2
    assert json.loads(run("root-cause", MART, "--as-of", str(t["t0"]), "--format", "json"))["items"] == []
    gone = runner.invoke(app, ["analysis", "root-cause", MART, "--as-of", str(t["before_mart"]), *db])
    assert gone.exit_code == 2 and "did not exist" in gone.output
    assert json.loads(run("propagate", "--show")) == {"rules": [], "stopAt": []}
    assert "0 assets carry propagated metadata" in run("propagate")
    bad = runner.invoke(app, ["analysis", "lineage", STG, "--as-of", "soon", *db])
    assert bad.exit_code == 2 and "--as-of" in bad.output
