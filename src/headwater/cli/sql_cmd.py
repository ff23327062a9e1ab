"""``headwater sql lineage``: run the SQL lineage engine on a file or stdin and print JSON.

Lets users check what headwater will extract from their query logs before ingesting them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from headwater.sql import extract_lineage
from headwater.sql.dialects import ACCEPTED_DIALECTS, resolve_dialect

sql_app = typer.Typer(
    help="SQL lineage: extract table and column lineage from SQL text.", no_args_is_help=True
)


@sql_app.callback()
def _group() -> None:
    """SQL lineage: extract table and column lineage from SQL text."""


@sql_app.command("lineage")
def lineage(
    file: str = typer.Argument("-", help="SQL file to read, or '-' for standard input."),
    dialect: str = typer.Option("ansi", "--dialect", "-d", help="SQL dialect (sqlglot names and aliases)."),
    default_database: str | None = typer.Option(
        None, "--default-database", help="Database for unqualified names."
    ),
    default_schema: str | None = typer.Option(None, "--default-schema", help="Schema for unqualified names."),
    schema_file: Path | None = typer.Option(
        None, "--schema", help='JSON file mapping tables to columns: {"db.schema.table": ["col", ...]}.'
    ),
    timeout: float = typer.Option(5.0, "--timeout", help="Seconds allowed per statement."),
    statements: bool = typer.Option(False, "--statements", help="Also print per-statement lineage."),
) -> None:
    """Print sources, targets, column lineage and errors of the SQL as JSON."""
    try:
        resolve_dialect(dialect)
    except ValueError:
        typer.echo(
            f"error: unknown SQL dialect {dialect!r}; accepted: {', '.join(ACCEPTED_DIALECTS)}", err=True
        )
        raise typer.Exit(code=2) from None
    try:
        sql = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        typer.echo(f"error: cannot read {file}: {exc}", err=True)
        raise typer.Exit(code=2) from None
    schema = None
    if schema_file is not None:
        try:
            schema = json.loads(schema_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            typer.echo(f"error: cannot read schema {schema_file}: {exc}", err=True)
            raise typer.Exit(code=2) from None
    result = extract_lineage(
        sql,
        dialect=dialect,
        default_database=default_database,
        default_schema=default_schema,
        schema=schema,
        timeout=timeout,
    )
    out = result.to_dict()
    if statements:
        out["statements"] = [
            {
                "index": st.index,
                "kind": st.kind,
                "sources": sorted(st.sources),
                "targets": sorted(st.targets),
                "column_lineage": [{"from": a, "to": b} for a, b in sorted(st.column_lineage)],
            }
            for st in result.statements
        ]
    typer.echo(json.dumps(out, indent=2))
