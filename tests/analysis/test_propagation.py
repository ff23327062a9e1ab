"""Metadata propagation: tags, descriptions and owners along column lineage, by rules."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from typing import Any

import httpx
import pytest

from headwater.analysis.locks import cluster_lock
from headwater.analysis.propagation import (
    PROPAGATION_LOCK,
    PropagationWatcher,
    Propagator,
    _shared_state,
    load_rules,
    recompute,
)
from tests.analysis.an_helpers import PII, col, edge, fqn, ok, schema, table

RAW, STG, MART, VAULT, AFTER, LOCKED = (fqn(n) for n in ("raw", "stg", "mart", "vault", "after", "locked"))
ALICE = [{"id": "00000000-0000-0000-0000-00000000a11c", "type": "user", "name": "alice"}]
PII_RULE = {
    "name": "pii",
    "metadata": "tags",
    "tags": ["PII.*"],
    "through": ["direct"],
    "maxDepth": 5,
    "toTables": True,
}
RULES = {
    "rules": [
        PII_RULE,
        {"name": "docs", "metadata": "description", "through": ["direct"], "maxDepth": 5},
        {"name": "own", "metadata": "owners", "through": ["direct", "transformation"], "maxDepth": 1},
    ],
    "stopAt": [VAULT],
}


@pytest.fixture
def catalog(api: httpx.Client) -> None:
    schema(api)
    table(
        api,
        "raw",
        [{"name": "email", "dataType": "VARCHAR", "tags": [PII], "description": "Customer email"}, "id"],
        owners=ALICE,
    )
    table(api, "stg", ["email", "email_hash", "id"])
    table(
        api,
        "mart",
        [
            {"name": "email", "dataType": "VARCHAR", "tags": [PII], "description": "Mart email by hand"},
            "email_hash",
        ],
    )
    table(api, "vault", ["email"])
    table(api, "after", ["email"])
    table(api, "locked", ["email"], propagation=False)
    edge(
        api,
        RAW,
        STG,
        [(["email"], "email", None), (["email"], "email_hash", "sha256(email)"), (["id"], "id", None)],
    )
    edge(api, STG, MART, [(["email"], "email", None), (["email_hash"], "email_hash", None)])
    edge(api, STG, VAULT, [(["email"], "email", None)])
    edge(api, VAULT, AFTER, [(["email"], "email", None)])
    edge(api, STG, LOCKED, [(["email"], "email", None)])


def entity(api: httpx.Client, name: str) -> dict[str, Any]:
    return ok(api.get(f"/api/v1/tables/name/{name}", params={"fields": "columns,tags,owners"}))


def column(api: httpx.Client, table_fqn: str, name: str) -> dict[str, Any]:
    return next(c for c in entity(api, table_fqn)["columns"] if c["name"] == name)


def labels(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((t["tagFQN"], t["labelType"]) for t in doc.get("tags") or [])


def test_rules_are_validated(api: httpx.Client) -> None:
    assert ok(api.get("/api/v1/analysis/propagation/rules")) == {"rules": [], "stopAt": []}
    for bad in (
        {"rules": [{"metadata": "tags"}]},
        {"rules": [{"metadata": "colour", "tags": ["x"]}]},
        {"rules": [{"tags": ["PII.*"], "through": ["teleport"]}]},
        {"rules": [{"tags": ["PII.*"], "maxDepth": 0}]},
        {"nope": 1},
    ):
        assert api.put("/api/v1/analysis/propagation/rules", json=bad).status_code == 400, bad


def test_propagation_follows_rules_and_stops(server: Any, api: httpx.Client, catalog: None) -> None:
    with server.client("viewer") as viewer:
        assert viewer.put("/api/v1/analysis/propagation/rules", json=RULES).status_code == 403
    res = ok(api.put("/api/v1/analysis/propagation/rules", json=RULES))
    assert res["propagation"]["changed"] > 0
    # tags: direct hops only, into tables too, never duplicating a hand-set label
    stg_email = column(api, STG, "email")
    assert stg_email["tags"] == [
        {
            "tagFQN": "PII.Sensitive",
            "source": "Classification",
            "labelType": "Propagated",
            "state": "Confirmed",
            "reason": f"Propagated from column {col('raw', 'email')} by rule pii, depth 1",
        }
    ]
    assert column(api, STG, "email_hash")["tags"] == []  # a transformation
    assert labels(entity(api, STG)) == [("PII.Sensitive", "Propagated")]
    assert labels(column(api, MART, "email")) == [("PII.Sensitive", "Manual")]
    assert labels(entity(api, MART)) == [("PII.Sensitive", "Propagated")]  # reached at depth 2
    for stopped in (VAULT, AFTER, LOCKED):  # stopAt, behind stopAt, attributes.propagation=false
        assert column(api, stopped, "email")["tags"] == [], stopped
        assert labels(entity(api, stopped)) == [], stopped
    # descriptions: only where none was set by hand
    assert stg_email["description"] == "Customer email"
    assert column(api, MART, "email")["description"] == "Mart email by hand"
    assert "description" not in column(api, STG, "email_hash")
    # owners: one hop (raw -> stg), marked inherited
    assert entity(api, STG)["owners"] == [{**ALICE[0], "inherited": True}]
    assert not entity(api, MART).get("owners")
    # structured origins
    origins = ok(
        api.get(
            "/api/v1/analysis/propagation/origins",
            params={"entityType": "column", "fqn": col("stg", "email")},
        )
    )
    raw_email_id = column(api, RAW, "email")
    assert origins["tags"]["PII.Sensitive"]["fullyQualifiedName"] == col("raw", "email")
    assert (
        origins["tags"]["PII.Sensitive"]["rule"] == "pii" and origins["tags"]["PII.Sensitive"]["depth"] == 1
    )
    assert origins["description"]["value"] == "Customer email"
    assert raw_email_id["tags"] == [PII]  # the origin keeps its own label as it was

    # through transformations, one hop deep
    narrower = {**RULES, "rules": [{**PII_RULE, "through": ["direct", "transformation"], "maxDepth": 1}]}
    ok(api.put("/api/v1/analysis/propagation/rules", json=narrower))
    assert labels(column(api, STG, "email_hash")) == [("PII.Sensitive", "Propagated")]
    assert labels(column(api, STG, "email")) == [("PII.Sensitive", "Propagated")]
    assert labels(entity(api, MART)) == []  # depth 2 no longer
    assert column(api, STG, "email").get("description") is None  # the docs rule is gone
    assert not entity(api, STG).get("owners")


def test_hand_edits_win_and_lineage_changes_recompute(api: httpx.Client, catalog: None) -> None:
    ok(api.put("/api/v1/analysis/propagation/rules", json=RULES))
    stg = entity(api, STG)
    idx = next(i for i, c in enumerate(stg["columns"]) if c["name"] == "email")
    assert stg["columns"][idx]["description"] == "Customer email"
    ok(
        api.patch(
            f"/api/v1/tables/name/{STG}",
            json=[{"op": "replace", "path": f"/columns/{idx}/description", "value": "Edited by hand"}],
        )
    )
    ok(api.post("/api/v1/analysis/propagation/run"))
    assert column(api, STG, "email")["description"] == "Edited by hand"
    # lineage changes: raw -> stg goes; the watcher recomputes by itself
    ok(api.delete(f"/api/v1/lineage/table/name/{RAW}/table/name/{STG}"))
    deadline = time.time() + 20  # a recompute writes asset by asset: wait for its last one too
    while time.time() < deadline and (column(api, STG, "email")["tags"] or labels(entity(api, MART))):
        time.sleep(0.2)
    assert column(api, STG, "email")["tags"] == []
    assert labels(entity(api, STG)) == [] and labels(entity(api, MART)) == []
    assert not entity(api, STG).get("owners")
    assert column(api, STG, "email")["description"] == "Edited by hand"  # the user's now
    assert labels(column(api, MART, "email")) == [("PII.Sensitive", "Manual")]
    # and back
    edge(api, RAW, STG, [(["email"], "email", None)])
    deadline = time.time() + 20
    while time.time() < deadline and not column(api, STG, "email")["tags"]:
        time.sleep(0.2)
    assert labels(column(api, STG, "email")) == [("PII.Sensitive", "Propagated")]
    assert labels(entity(api, MART)) == [("PII.Sensitive", "Propagated")]
    status = ok(api.get("/api/v1/analysis/propagation/status"))
    assert status["changed"] >= 1


def _propagated_state(store: Any) -> dict[str, Any]:
    """Every asset's attributes and description (what a recompute may change)."""
    return {a.fqn: (a.attributes, a.description) for a in store.list_assets(limit=10_000)[0]}


def test_incremental_recompute_gives_what_a_full_one_does(
    server: Any, api: httpx.Client, catalog: None
) -> None:
    store, index = server.store, server.app.state.index
    server.app.state.propagation.stop()  # the background watcher would race the recomputes below
    ok(api.put("/api/v1/analysis/propagation/rules", json=RULES))
    state = _shared_state(store)
    assert state is not None and state["seq"] == store.max_log_seq()
    # a new table fed by stg, and raw's email no longer copied into stg
    table(api, "late", ["email"])
    edge(api, STG, fqn("late"), [(["email"], "email", None)])
    edge(api, RAW, STG, [(["email"], "email_hash", "sha256(email)"), (["id"], "id", None)])
    result = recompute(store, index, since=state)
    raw = store.get_asset_by_fqn("table", RAW)
    assert result["scope"] != "full" and result["changed"] > 0
    # stg and everything downstream of it was looked at, not raw
    prop = Propagator(store, index)
    scope = prop.scope_since(load_rules(store), state["seq"], state["at"])
    assert scope is not None and raw is not None and raw.pk not in scope.region
    assert labels(column(api, STG, "email")) == []
    assert column(api, fqn("late"), "email")["tags"] == []  # stg.email lost its PII: nothing flows on
    # a full recompute finds nothing left to change
    before = _propagated_state(store)
    assert recompute(store, index)["changed"] == 0
    assert _propagated_state(store) == before


def test_one_recompute_at_a_time_across_servers(server: Any, db_url: str) -> None:
    """A recompute held by another process (PostgreSQL) or thread (SQLite) makes the watcher's
    background round skip; an explicit run waits for it."""
    store, index = server.store, server.app.state.index
    server.app.state.propagation.stop()
    watcher = PropagationWatcher(store, index)
    if store.dialect == "postgresql":
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys, psycopg\n"
                f"c = psycopg.connect({db_url.replace('+psycopg', '')!r}, autocommit=True)\n"
                f"c.execute('SELECT pg_advisory_lock({PROPAGATION_LOCK})')\n"
                "print('held', flush=True)\n"
                "sys.stdin.readline()\n",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert watcher._run(full=False, wait=False) is None
        assert holder.stdin is not None
        holder.stdin.close()  # the other process ends: its lock goes with its session
        holder.wait(timeout=30)
    else:
        held, release = threading.Event(), threading.Event()

        def hold() -> None:
            with cluster_lock(store, PROPAGATION_LOCK):
                held.set()
                release.wait(30)

        thread = threading.Thread(target=hold)
        thread.start()
        held.wait(30)
        assert watcher._run(full=False, wait=False) is None
        release.set()
        thread.join()
    assert watcher.run_now()["seq"] == store.max_log_seq()
