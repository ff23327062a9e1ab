"""`headwater analysis ...`: impact, root cause, lineage as of a time, diff and propagation, read
straight from the store (the same answers as `/api/v1/analysis/...`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from headwater.analysis.asof import AsOfError, NotThenError, build_as_of_view, parse_instant
from headwater.analysis.diff import DiffError, lineage_diff, run_diff
from headwater.analysis.impact import impact_csv, impact_of_asset, impact_of_column
from headwater.analysis.propagation import RulesError, load_rules, recompute, save_rules
from headwater.analysis.root_cause import root_cause
from headwater.cli.errors import fail
from headwater.graph import GraphIndex
from headwater.model.assets import Asset
from headwater.model.types import AssetType
from headwater.store import Store, now_ms

analysis_app = typer.Typer(
    help="Impact and root cause analysis, metadata propagation, lineage as of a time and diffs.",
    no_args_is_help=True,
)
out = Console()

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data directory (default ./data)")]
DbUrl = Annotated[str | None, typer.Option("--db-url", help="Database URL (default SQLite in the data dir)")]
TypeOpt = Annotated[str, typer.Option("--type", help="Asset type of the root")]
FormatOpt = Annotated[str, typer.Option("--format", help="table, json or csv")]


def _open(data_dir: Path | None, db_url: str | None) -> tuple[Store, Any]:
    from headwater.api.app import open_store
    from headwater.cli.main import _settings

    settings = _settings(data_dir, db_url)
    return open_store(settings), settings


def _root(store: Store, type_: str, fqn: str, deleted_ok: bool = False) -> Asset:
    try:
        asset_type = AssetType(type_)
    except ValueError:
        fail(f"unknown asset type {type_!r}")
        raise
    asset = store.get_asset_by_fqn(asset_type, fqn)
    if asset is None or (asset.deleted and not deleted_ok):
        fail(f"no {type_} with FQN {fqn!r}")
        raise typer.Exit(2)
    return asset


def _instant(value: str | None, name: str) -> int | None:
    try:
        return parse_instant(value)
    except AsOfError as exc:
        fail(f"{name}: {exc}")
        raise


def _when(ms: int | None) -> str:
    if not ms:
        return ""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


@analysis_app.command("impact")
def impact_cmd(
    fqn: Annotated[str, typer.Argument(help="FQN of the asset, or of a column with --type column")],
    type_: TypeOpt = "table",
    column: Annotated[str | None, typer.Option(help="Analyse this column of the asset (name or FQN)")] = None,
    depth: Annotated[int, typer.Option(help="Hops downstream")] = 10,
    asset_type: Annotated[
        list[str] | None, typer.Option("--asset-type", help="Keep only these types")
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="On the graph as of this instant")] = None,
    fmt: FormatOpt = "table",
    data_dir: DataDir = None,
    db_url: DbUrl = None,
) -> None:
    """What breaks if this asset or column is dropped or changed."""
    store, _ = _open(data_dir, db_url)
    at = _instant(as_of, "--as-of")
    index = GraphIndex(store)
    if type_ == AssetType.COLUMN.value or column:
        if column and type_ != AssetType.COLUMN.value:
            holder = _root(store, type_, fqn, deleted_ok=at is not None)
            col_fqn = column if column.startswith(holder.fqn + ".") else f"{holder.fqn}.{column}"
        else:
            col = _root(store, AssetType.COLUMN.value, fqn, deleted_ok=at is not None)
            holder = col
            while holder.type is AssetType.COLUMN and holder.parent_pk is not None:
                parent = store.get_asset_by_pk(holder.parent_pk)
                if parent is None:
                    break
                holder = parent
            col_fqn = col.fqn
        result = impact_of_column(store, index, holder, col_fqn, max_depth=depth, types=asset_type, at=at)
    else:
        root = _root(store, type_, fqn, deleted_ok=at is not None)
        result = impact_of_asset(store, index, root, max_depth=depth, types=asset_type, at=at)
    if fmt == "json":
        sys.stdout.write(json.dumps({"total": len(result.rows), "data": result.rows}, indent=2) + "\n")
    elif fmt == "csv":
        for line in impact_csv(result.rows):
            sys.stdout.write(line)
    elif fmt == "table":
        table = Table(title=f"Impact of {result.column or result.root.fqn} ({len(result.rows)} downstream)")
        for name in ("depth", "type", "asset", "owners", "hop", "via"):
            table.add_column(name)
        for r in result.rows:
            hop = r.get("hop") or ""
            if r.get("function"):
                hop += f" ({r['function']})"
            table.add_row(
                str(r["depth"]),
                r["type"] if r["type"] != "column" else f"column of {r['parentType']}",
                r["fullyQualifiedName"],
                ", ".join(r["owners"]),
                hop,
                r["path"][-2] if len(r["path"]) > 1 else "",
            )
        out.print(table)
    else:
        fail("--format must be table, json or csv")


@analysis_app.command("root-cause")
def root_cause_cmd(
    fqn: Annotated[str, typer.Argument(help="FQN of the asset")],
    type_: TypeOpt = "table",
    depth: Annotated[int, typer.Option(help="Hops upstream")] = 10,
    changed_within_hours: Annotated[
        float, typer.Option(help="Edges changed this recently are suspect")
    ] = 168,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="As headwater knew things at this instant")
    ] = None,
    fmt: FormatOpt = "table",
    data_dir: DataDir = None,
    db_url: DbUrl = None,
) -> None:
    """Everything upstream, with the latest runs; most likely culprits first."""
    store, _ = _open(data_dir, db_url)
    at = _instant(as_of, "--as-of")
    try:
        result = root_cause(
            store,
            GraphIndex(store),
            _root(store, type_, fqn, deleted_ok=at is not None),
            max_depth=depth,
            changed_within_ms=int(changed_within_hours * 3600 * 1000),
            at=at,
        )
    except NotThenError as exc:
        fail(str(exc))
        raise
    if fmt == "json":
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    table = Table(title=f"Upstream of {fqn}, most suspicious first")
    for name in ("suspicion", "depth", "asset", "latest runs", "why"):
        table.add_column(name)
    for it in result["items"]:
        runs = "; ".join(
            f"{(r['pipeline'] or {}).get('fullyQualifiedName', '?')}: {r['state'] or 'no runs'} {_when(r.get('endedAt') or r.get('startedAt'))}"
            for r in it["runs"]
        )
        why = "; ".join(
            f"{r['kind']} {r.get('pipeline') or ' -> '.join(r.get('edge') or [])} {r.get('reason') or ''}".strip()
            for r in it["reasons"]
        )
        style = {"run_failed": "red", "run_late": "yellow", "edge_changed": "cyan"}.get(it["suspicion"], "")
        table.add_row(
            f"[{style}]{it['suspicion']}[/{style}]" if style else it["suspicion"],
            str(it["depth"]),
            it["fullyQualifiedName"],
            runs,
            why,
        )
    out.print(table)


@analysis_app.command("lineage")
def lineage_cmd(
    fqn: Annotated[str, typer.Argument(help="FQN of the root asset")],
    as_of: Annotated[str, typer.Option("--as-of", help="Instant: epoch ms or ISO-8601")],
    type_: TypeOpt = "table",
    upstream: Annotated[int, typer.Option(help="Upstream depth")] = 1,
    downstream: Annotated[int, typer.Option(help="Downstream depth")] = 1,
    include_deleted: Annotated[bool, typer.Option("--include-deleted")] = False,
    fmt: Annotated[str, typer.Option("--format", help="json or csv")] = "json",
    data_dir: DataDir = None,
    db_url: DbUrl = None,
) -> None:
    """The lineage of an asset as it stood at a past instant (JSON as the API returns it, or CSV)."""
    from headwater.api.routers.om_lineage import lineage_json
    from headwater.graph.export import csv_lines

    store, settings = _open(data_dir, db_url)
    at = _instant(as_of, "--as-of")
    assert at is not None
    root = _root(store, type_, fqn, deleted_ok=True)
    try:
        view = build_as_of_view(
            store,
            GraphIndex(store),
            root,
            at,
            upstream_depth=upstream,
            downstream_depth=downstream,
            node_limit=settings.node_limit,
            include_deleted=include_deleted,
        )
    except NotThenError as exc:
        fail(str(exc))
        raise
    if fmt == "csv":
        pipe_ids = {
            str(p["id"])
            for e in [*view.upstream, *view.downstream]
            for d in e.details
            if (p := d.pipeline) and p.get("id")
        }
        for line in csv_lines(view, store.get_assets_by_ids(pipe_ids)):
            sys.stdout.write(line)
    elif fmt == "json":
        body = lineage_json(store, view, f"http://{settings.host}:{settings.port}")
        sys.stdout.write(json.dumps({**body, "asOf": at}, indent=2) + "\n")
    else:
        fail("--format must be json or csv")


@analysis_app.command("diff")
def diff_cmd(
    since: Annotated[str | None, typer.Option("--from", help="Start instant: epoch ms or ISO-8601")] = None,
    until: Annotated[str | None, typer.Option("--to", help="End instant (default: now)")] = None,
    pipeline: Annotated[str | None, typer.Option(help="Only edges this pipeline (FQN) powers")] = None,
    pipeline_type: Annotated[str, typer.Option(help="Type of that asset")] = "pipeline",
    run_a: Annotated[str | None, typer.Option("--run-a", help="Diff between two runs: the first")] = None,
    run_b: Annotated[str | None, typer.Option("--run-b", help="...and the second")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    data_dir: DataDir = None,
    db_url: DbUrl = None,
) -> None:
    """Edges and column mappings added, removed and changed between two instants or two runs."""
    store, _ = _open(data_dir, db_url)
    pipe = _root(store, pipeline_type, pipeline, deleted_ok=True) if pipeline else None
    try:
        if run_a or run_b:
            if not (run_a and run_b):
                fail("give both --run-a and --run-b")
            assert run_a and run_b
            result = run_diff(store, run_a, run_b, pipeline=pipe)
        else:
            start = _instant(since, "--from")
            if start is None:
                fail("give --from (or --run-a and --run-b)")
                raise typer.Exit(2)
            end = _instant(until, "--to")
            result = lineage_diff(store, start, end if end is not None else now_ms(), pipeline=pipe)
    except DiffError as exc:
        fail(str(exc))
        raise
    if fmt == "json":
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    render_diff(result, out)


def render_diff(result: dict[str, Any], console: Console) -> None:
    """The diff as Rich tables: edges, then column mappings, then assets."""
    sm = result["summary"]
    console.print(
        f"Lineage diff {_when(result['from'])} -> {_when(result['to'])}: "
        f"[green]+{sm['edgesAdded']}[/green] [red]-{sm['edgesRemoved']}[/red] "
        f"[yellow]~{sm['edgesChanged']}[/yellow] edges, "
        f"[green]+{sm['columnsAdded']}[/green] [red]-{sm['columnsRemoved']}[/red] "
        f"[yellow]~{sm['columnsChanged']}[/yellow] column mappings"
    )
    edges = Table(title="Edges")
    for name in ("", "from", "to", "what changed"):
        edges.add_column(name)
    for sign, key, style in (("+", "added", "green"), ("-", "removed", "red"), ("~", "changed", "yellow")):
        for e in result["edges"][key]:
            what = ", ".join(e.get("fields", [])) if key == "changed" else ""
            edges.add_row(
                f"[{style}]{sign}[/{style}]",
                e["fromEntity"].get("fullyQualifiedName") or "?",
                e["toEntity"].get("fullyQualifiedName") or "?",
                what,
            )
    console.print(edges)
    cols = Table(title="Column mappings")
    for name in ("", "to column", "before", "after"):
        cols.add_column(name)

    def show(m: dict[str, Any] | None) -> str:
        if not m:
            return ""
        text = ", ".join(m.get("fromColumns", []))
        return f"{m['function']}({text})" if m.get("function") else text

    for sign, key, style in (("+", "added", "green"), ("-", "removed", "red"), ("~", "changed", "yellow")):
        for c in result["columns"][key]:
            cols.add_row(
                f"[{style}]{sign}[/{style}]", c["toColumn"], show(c.get("before")), show(c.get("after"))
            )
    console.print(cols)
    if result.get("assets"):
        assets = Table(title="Assets")
        assets.add_column("change")
        assets.add_column("asset")
        for a in result["assets"]:
            assets.add_row(a["change"], a.get("fullyQualifiedName") or str(a.get("pk")))
        console.print(assets)


@analysis_app.command("propagate")
def propagate_cmd(
    rules: Annotated[
        Path | None, typer.Option(help="JSON file with the rules to store first (see the API docs)")
    ] = None,
    show: Annotated[bool, typer.Option("--show", help="Print the rules and stop")] = False,
    data_dir: DataDir = None,
    db_url: DbUrl = None,
) -> None:
    """Recompute propagated tags, descriptions and owners (optionally storing new rules first)."""
    store, _ = _open(data_dir, db_url)
    if rules is not None:
        try:
            save_rules(store, json.loads(rules.read_text()))
        except (RulesError, ValueError) as exc:
            fail(f"{rules}: {exc}")
    if show:
        sys.stdout.write(json.dumps(load_rules(store).json(), indent=2) + "\n")
        return
    result = recompute(store, GraphIndex(store))
    out.print(
        f"propagation: {result['assets']} assets carry propagated metadata, {result['changed']} changed"
    )
