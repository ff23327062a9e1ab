"""``headwater sql lineage`` prints JSON and fails clearly on an unknown dialect."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from headwater.cli.sql_cmd import sql_app

runner = CliRunner()


def test_lineage_from_stdin() -> None:
    result = runner.invoke(
        sql_app,
        [
            "lineage",
            "--dialect",
            "snowflake",
            "--default-database",
            "shop",
            "--default-schema",
            "public",
            "-",
        ],
        input="INSERT INTO dst (id, name) SELECT id, UPPER(name) FROM src",
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["sources"] == ["SHOP.PUBLIC.SRC"]
    assert out["targets"] == ["SHOP.PUBLIC.DST"]
    assert out["column_lineage"] == [
        {
            "from": "SHOP.PUBLIC.SRC.ID",
            "to": "SHOP.PUBLIC.DST.ID",
            "transformation": "IDENTITY",
            "function": None,
        },
        {
            "from": "SHOP.PUBLIC.SRC.NAME",
            "to": "SHOP.PUBLIC.DST.NAME",
            "transformation": "TRANSFORMATION",
            "function": "UPPER",
        },
    ]
    assert out["errors"] == []


def test_lineage_from_file_with_schema_and_statements(tmp_path: Path) -> None:
    sql = tmp_path / "q.sql"
    sql.write_text("SELECT broken FROM; INSERT INTO t SELECT * FROM s;")
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"s": ["a", "b"]}))
    result = runner.invoke(sql_app, ["lineage", "--schema", str(schema), "--statements", str(sql)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert [(c["from"], c["to"]) for c in out["column_lineage"]] == [("s.a", "t.a"), ("s.b", "t.b")]
    assert [e["kind"] for e in out["errors"]] == ["parse"]
    assert [s["kind"] for s in out["statements"]] == ["INSERT"]


def test_unknown_dialect_exits_non_zero() -> None:
    result = runner.invoke(sql_app, ["lineage", "--dialect", "nosuchdb", "-"], input="SELECT 1")
    assert result.exit_code == 2
    assert "unknown SQL dialect 'nosuchdb'" in result.output
