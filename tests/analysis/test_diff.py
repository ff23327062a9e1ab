"""Lineage diff between instants: edges and column mappings added, removed, changed; CLI table."""

from __future__ import annotations

from typing import Any

import httpx
from typer.testing import CliRunner

from headwater.cli.main import app
from tests.analysis.an_helpers import col, fqn, ok
from tests.helpers import LiveServer

RAW, STG, MART = fqn("raw"), fqn("stg"), fqn("mart")


def diff(api: httpx.Client, since: int, until: int) -> dict[str, Any]:
    return ok(api.get("/api/v1/analysis/diff", params={"from": since, "to": until}))


def pairs(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["fromEntity"]["fullyQualifiedName"], e["toEntity"]["fullyQualifiedName"]) for e in entries]


def test_diff_add_and_patch(api: httpx.Client, history: dict[str, Any]) -> None:
    t = history["t"]
    d = diff(api, t["t1"], t["t3"])
    assert pairs(d["edges"]["added"]) == [(STG, MART)]
    assert d["edges"]["removed"] == []
    assert pairs(d["edges"]["changed"]) == [(RAW, STG)]
    assert d["edges"]["changed"][0]["fields"] == ["columns"]
    added = {
        (c["toColumn"], tuple(c["after"]["fromColumns"]), c["after"]["function"])
        for c in d["columns"]["added"]
    }
    assert added == {
        (col("stg", "email_hash"), (col("raw", "email"),), "sha256(email)"),
        (col("mart", "customer_id"), (col("stg", "id"),), None),
    }
    assert d["columns"]["removed"] == [] and d["columns"]["changed"] == []
    assert d["summary"] == {
        "edgesAdded": 1,
        "edgesRemoved": 0,
        "edgesChanged": 1,
        "edgesTransient": 0,
        "columnsAdded": 2,
        "columnsRemoved": 0,
        "columnsChanged": 0,
        "assetsChanged": 0,
    }


def test_diff_remove_readd_and_delete(api: httpx.Client, history: dict[str, Any]) -> None:
    t = history["t"]
    # t3 -> t4: stg->mart removed with its mapping
    d = diff(api, t["t3"], t["t4"])
    assert pairs(d["edges"]["removed"]) == [(STG, MART)] and d["edges"]["added"] == []
    assert [c["toColumn"] for c in d["columns"]["removed"]] == [col("mart", "customer_id")]
    # t3 -> t6: stg->mart exists at both ends with other columns: changed; raw deleted meanwhile
    d = diff(api, t["t3"], t["t6"])
    assert d["edges"]["added"] == [] and d["edges"]["removed"] == []
    assert pairs(d["edges"]["changed"]) == [(STG, MART)]
    assert d["edges"]["changed"][0]["before"]["columns"] == [
        {"toColumn": col("mart", "customer_id"), "fromColumns": [col("stg", "id")], "function": None}
    ]
    assert d["edges"]["changed"][0]["after"]["columns"] == [
        {"toColumn": col("mart", "total"), "fromColumns": [col("stg", "amount")], "function": "sum(amount)"}
    ]
    assert [c["toColumn"] for c in d["columns"]["removed"]] == [col("mart", "customer_id")]
    assert [c["toColumn"] for c in d["columns"]["added"]] == [col("mart", "total")]
    deleted = {a["fullyQualifiedName"]: a["change"] for a in d["assets"]}
    assert deleted == {
        RAW: "delete",
        col("raw", "id"): "delete",
        col("raw", "email"): "delete",
        col("raw", "amount"): "delete",
    }
    # t2 -> t5: stg->mart added... no: it existed at t2 and was gone at t5
    d = diff(api, t["t2"], t["t5"])
    assert pairs(d["edges"]["removed"]) == [(STG, MART)] and pairs(d["edges"]["changed"]) == [(RAW, STG)]
    # t4 -> t4: nothing; swapped bounds are fine
    assert diff(api, t["t4"], t["t4"])["summary"]["edgesAdded"] == 0
    assert pairs(diff(api, t["t4"], t["t3"])["edges"]["removed"]) == [(STG, MART)]
    # an edge added and removed inside the window is transient
    assert diff(api, t["t1"], t["t4"])["summary"]["edgesTransient"] == 1


def test_diff_errors(api: httpx.Client, history: dict[str, Any]) -> None:
    assert api.get("/api/v1/analysis/diff").status_code == 400
    assert api.get("/api/v1/analysis/diff", params={"from": "not a time"}).status_code == 400
    assert api.get("/api/v1/analysis/diff", params={"runA": "x"}).status_code == 400
    assert api.get("/api/v1/analysis/diff", params={"runA": "x", "runB": "y"}).status_code == 404


def test_diff_cli_table(server: LiveServer, history: dict[str, Any]) -> None:
    t = history["t"]
    runner = CliRunner()
    res = runner.invoke(
        app,
        ["analysis", "diff", "--from", str(t["t3"]), "--to", str(t["t6"]), "--db-url", server.store.url],
        env={"COLUMNS": "200"},
    )
    assert res.exit_code == 0, res.output
    assert "+0 -0 ~1 edges, +1 -1 ~0 column mappings" in res.output
    assert col("mart", "total") in res.output and "sum(amount)(" in res.output
    res = runner.invoke(
        app,
        [
            "analysis",
            "diff",
            "--from",
            str(t["t1"]),
            "--to",
            str(t["t3"]),
            "--format",
            "json",
            "--db-url",
            server.store.url,
        ],
    )
    assert res.exit_code == 0, res.output
    assert '"edgesAdded": 1' in res.output
