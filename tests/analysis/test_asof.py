"""Lineage as of a past instant: OpenMetadata GETs, export and the analysis route, both strategies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from headwater.analysis.asof import build_as_of_view, parse_instant
from tests.analysis.an_helpers import col, column_maps, fqn, graph_edges, ok
from tests.helpers import LiveServer

RAW, STG, MART = fqn("raw"), fqn("stg"), fqn("mart")


def lineage(api: httpx.Client, root: str, at: int | str | None, up: int = 3, down: int = 3) -> dict[str, Any]:
    params: dict[str, Any] = {"upstreamDepth": up, "downstreamDepth": down}
    if at is not None:
        params["asOf"] = at
    return ok(api.get(f"/api/v1/lineage/table/name/{root}", params=params))


EXPECTED_EDGES = {
    "t0": set(),
    "t1": {(RAW, STG)},
    "t2": {(RAW, STG), (STG, MART)},
    "t3": {(RAW, STG), (STG, MART)},
    "t4": {(RAW, STG)},
    "t5": set(),  # raw is deleted
    "t6": {(STG, MART)},
}
EXPECTED_COLUMNS = {
    "t0": set(),
    "t1": {(col("raw", "id"), col("stg", "id"), None), (col("raw", "email"), col("stg", "email"), None)},
    "t2": {
        (col("raw", "id"), col("stg", "id"), None),
        (col("raw", "email"), col("stg", "email"), None),
        (col("stg", "id"), col("mart", "customer_id"), None),
    },
    "t3": {
        (col("raw", "id"), col("stg", "id"), None),
        (col("raw", "email"), col("stg", "email"), None),
        (col("raw", "email"), col("stg", "email_hash"), "sha256(email)"),
        (col("stg", "id"), col("mart", "customer_id"), None),
    },
    "t4": {
        (col("raw", "id"), col("stg", "id"), None),
        (col("raw", "email"), col("stg", "email"), None),
        (col("raw", "email"), col("stg", "email_hash"), "sha256(email)"),
    },
    "t5": set(),
    "t6": {(col("stg", "amount"), col("mart", "total"), "sum(amount)")},
}


def test_om_lineage_as_of_each_instant(api: httpx.Client, history: dict[str, Any]) -> None:
    t = history["t"]
    for name, expected in EXPECTED_EDGES.items():
        got = lineage(api, STG, t[name])
        assert graph_edges(got) == expected, name
        assert column_maps(got) == EXPECTED_COLUMNS[name], name
    # now = the last instant
    now = lineage(api, STG, None)
    assert graph_edges(now) == EXPECTED_EDGES["t6"]
    assert column_maps(now) == EXPECTED_COLUMNS["t6"]


def test_as_of_deleted_assets_and_formats(api: httpx.Client, history: dict[str, Any]) -> None:
    t = history["t"]
    # raw is deleted now, but was alive at t4: readable then, shown not deleted
    at4 = lineage(api, RAW, t["t4"])
    assert at4["entity"]["deleted"] is False
    assert graph_edges(at4) == {(RAW, STG)}
    assert {n["fullyQualifiedName"]: n["deleted"] for n in at4["nodes"]} == {STG: False}
    # at t5 it was deleted
    r = api.get(f"/api/v1/lineage/table/name/{RAW}", params={"asOf": t["t5"]})
    assert r.status_code == 404, r.text
    # includeDeleted shows the deleted node then
    with_deleted = ok(
        api.get(f"/api/v1/lineage/table/name/{STG}", params={"asOf": t["t5"], "includeDeleted": True})
    )
    assert graph_edges(with_deleted) == {(RAW, STG)}
    assert [n["deleted"] for n in with_deleted["nodes"]] == [True]
    # mart did not exist before it was created
    r = api.get(f"/api/v1/lineage/table/name/{MART}", params={"asOf": t["before_mart"]})
    assert r.status_code == 404
    # ISO-8601 means the same instant
    iso = (
        datetime.fromtimestamp(t["t2"] / 1000, tz=UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )
    assert parse_instant(iso) == t["t2"]
    assert graph_edges(lineage(api, STG, iso)) == EXPECTED_EDGES["t2"]
    # malformed
    r = api.get(f"/api/v1/lineage/table/name/{STG}", params={"asOf": "yesterday"})
    assert r.status_code == 400 and "asOf" in r.json()["message"]
    # by id, depth-limited
    by_id = ok(
        api.get(
            f"/api/v1/lineage/table/{history['stg']['id']}",
            params={"asOf": t["t3"], "upstreamDepth": 0, "downstreamDepth": 1},
        )
    )
    assert graph_edges(by_id) == {(STG, MART)}
    # the analysis route says which instant it read
    native = ok(api.get("/api/v1/analysis/lineage", params={"fqn": STG, "asOf": t["t1"]}))
    assert native["asOf"] == t["t1"] and graph_edges(native) == {(RAW, STG)}


def test_export_csv_as_of(api: httpx.Client, history: dict[str, Any]) -> None:
    t = history["t"]
    r = api.get("/api/v1/lineage/export", params={"fqn": STG, "type": "table", "asOf": t["t3"]})
    assert r.status_code == 200, r.text
    lines = r.text.strip().splitlines()
    assert lines[0].startswith("fromId,")
    pairs = {(line.split(",")[2], line.split(",")[5]) for line in lines[1:]}
    assert pairs == {(RAW, STG), (STG, MART)}
    assert "sha256(email)" not in r.text  # the CSV lists column pairs only
    assert f"{col('raw', 'email')}:{col('stg', 'email_hash')}" in r.text
    now = api.get("/api/v1/lineage/export", params={"fqn": STG, "type": "table"})
    assert {(x.split(",")[2], x.split(",")[5]) for x in now.text.strip().splitlines()[1:]} == {(STG, MART)}


def test_both_strategies_agree(server: LiveServer, history: dict[str, Any]) -> None:
    store = server.store
    index = server.app.state.index  # type: ignore[attr-defined]
    root = store.get_asset_by_fqn("table", STG)
    assert root is not None
    for name, expected in EXPECTED_EDGES.items():
        seen = []
        for strategy in ("temporal", "delta", "log", "snapshot"):
            view = build_as_of_view(
                store,
                index,
                root,
                history["t"][name],
                upstream_depth=3,
                downstream_depth=3,
                node_limit=100,
                strategy=strategy,
            )
            assets = view.all_assets()
            edges = {(assets[e.from_pk].fqn, assets[e.to_pk].fqn) for e in view.upstream + view.downstream}
            seen.append(edges)
            assert edges == expected, (name, strategy)
        assert seen[0] == seen[1] == seen[2] == seen[3]
