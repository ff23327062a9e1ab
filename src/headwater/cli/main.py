"""The `headwater` command: serve the API, manage tokens, read lineage, and the sub-commands of
other packages (`sql`, `ingest`, `openlineage`, ...)."""

from __future__ import annotations

import importlib
import ipaddress
import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from headwater.cli.errors import err, fail
from headwater.config import Settings, SettingsError

app = typer.Typer(
    help="headwater: a self-hostable data lineage service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
token_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
db_app = typer.Typer(help="Database schema maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")


DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory (default ./data or HEADWATER_DATA_DIR)")
]
DbUrl = Annotated[
    str | None,
    typer.Option("--db-url", help="Database URL (default SQLite in the data dir; or HEADWATER_DB_URL)"),
]


def _settings(data_dir: Path | None, db_url: str | None) -> Settings:
    """The settings of a command: its options, then HEADWATER_* variables, then defaults. A
    variable the settings cannot take ends the command with a message naming it (exit 2)."""
    try:
        settings = Settings()
    except SettingsError as exc:
        fail(str(exc))
        raise
    if data_dir is not None:
        settings.data_dir = data_dir
    if db_url is not None:
        settings.db_url = db_url
    return settings


def _is_loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind; loopback by default")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8585,
    data_dir: DataDir = None,
    db_url: DbUrl = None,
    demo: Annotated[bool, typer.Option("--demo", help="Load a small demo lineage graph")] = False,
    no_auth: Annotated[bool, typer.Option("--no-auth", help="Disable auth (loopback only)")] = False,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL only)")] = 1,
) -> None:
    """Run the API server (and the web UI, schedules and consumers) until interrupted."""
    import uvicorn

    from headwater.api.app import create_app, ensure_admin_token, open_store

    settings = _settings(data_dir, db_url)
    settings.host, settings.port = host, port
    if no_auth:
        settings.auth = False
    if not settings.auth and not _is_loopback(host):
        fail(
            f"refusing to bind {host} without auth: anyone on the network could rewrite lineage. "
            "Drop --no-auth (and HEADWATER_AUTH=false) or bind 127.0.0.1."
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        store = open_store(settings)
    except Exception as exc:  # a bad URL or unreachable database
        fail(f"cannot open the store at {settings.db_url or settings.data_dir}: {exc}")
        raise
    if demo:
        from headwater.demo import load_demo

        load_demo(store)
        err.print("[green]demo lineage loaded[/green] (try table shop_pg.shop.public.orders)")
    app_ = create_app(settings, store)
    if settings.auth:
        path = ensure_admin_token(settings, app_.state.tokens)
        if path is not None:
            err.print(
                f"[bold]first start:[/bold] an admin token was written to [cyan]{path}[/cyan] (mode 600)"
            )
    err.print(f"headwater on http://{host}:{port}/  (API docs at /docs, store: {store.dialect})")
    uvicorn.run(app_, host=host, port=port, log_level="info", access_log=False)


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="viewer, editor or admin")],
    name: Annotated[str, typer.Option(help="Who or what the token is for")] = "cli",
    expires_in: Annotated[int | None, typer.Option(help="Lifetime in seconds (default: no expiry)")] = None,
    scope: Annotated[
        str | None, typer.Option(help="Restrict writes to one connection (qualifiedName)")
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(help="The user the token acts for (matched against a connection's adminUsers)"),
    ] = None,
    group: Annotated[
        list[str] | None,
        typer.Option(help="A group of that user (matched against adminGroups); repeatable"),
    ] = None,
    data_dir: DataDir = None,
    db_url: DbUrl = None,
) -> None:
    """Create a token and print only the token on stdout."""
    from headwater.api.app import open_store
    from headwater.api.auth import ROLES, TokenService

    if role not in ROLES:
        fail(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if user is not None and not user.strip():
        fail("--user must not be empty")
    if any(not g.strip() for g in group or []):
        fail("--group must not be empty")
    store = open_store(_settings(data_dir, db_url))
    token = TokenService(store).create(role, name, expires_in, scope, user=user, groups=group)
    sys.stdout.write(token + "\n")


@token_app.command("list")
def token_list(data_dir: DataDir = None, db_url: DbUrl = None) -> None:
    """List tokens (never their secret values)."""
    from headwater.api.app import open_store

    for t in open_store(_settings(data_dir, db_url)).list_tokens():
        state = "revoked" if t["revoked_at"] else "active"
        typer.echo(f"{t['jti']}  {t['role']:<7} {state:<8} {t['name']}")


@token_app.command("revoke")
def token_revoke(jti: str, data_dir: DataDir = None, db_url: DbUrl = None) -> None:
    """Revoke a token by its id (see `headwater token list`)."""
    from headwater.api.app import open_store
    from headwater.api.auth import TokenService

    if not TokenService(open_store(_settings(data_dir, db_url))).revoke(jti):
        fail(f"no active token {jti}")
    typer.echo(f"revoked {jti}")


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None, db_url: DbUrl = None) -> None:
    """Bring the database schema up to date (the server also does this at start)."""
    from headwater.api.app import open_store
    from headwater.store.engine import current_revision

    store = open_store(_settings(data_dir, db_url))
    typer.echo(f"schema at revision {current_revision(store.engine)}")


@app.command("backup")
def backup_command(
    target: Annotated[Path, typer.Argument(help="File to write the snapshot to")],
    data_dir: DataDir = None,
    db_url: DbUrl = None,
) -> None:
    """Write a consistent snapshot of the SQLite store while the server keeps running."""
    from headwater.store.backup import BackupError, backup

    try:
        size = backup(_settings(data_dir, db_url).database_url, target)
    except BackupError as exc:
        fail(str(exc))
        raise
    typer.echo(f"backup written to {target} ({size} bytes)")


@app.command("restore")
def restore_command(
    backup_file: Annotated[Path, typer.Argument(help="A file written by `headwater backup`")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing database")] = False,
    data_dir: DataDir = None,
    db_url: DbUrl = None,
) -> None:
    """Replace the SQLite store with a backup (stop the server first); migrates it to this version."""
    from headwater.store import Store
    from headwater.store.backup import BackupError, restore

    url = _settings(data_dir, db_url).database_url
    try:
        restore(backup_file, url, force=force)
    except BackupError as exc:
        fail(str(exc))
        raise
    Store(url).close()  # bring an older backup's schema up to date
    typer.echo(f"restored {backup_file}")


@app.command()
def lineage(
    fqn: Annotated[str, typer.Argument(help="FQN of the root asset")],
    type: Annotated[str, typer.Option("--type", help="Asset type of the root")] = "table",
    upstream: Annotated[int, typer.Option(help="Upstream depth")] = 1,
    downstream: Annotated[int, typer.Option(help="Downstream depth")] = 1,
    fmt: Annotated[str, typer.Option("--format", help="json or csv")] = "json",
    data_dir: DataDir = None,
    db_url: DbUrl = None,
) -> None:
    """Print the lineage of an asset straight from the store (JSON as the API returns it, or CSV)."""
    from headwater.api.app import open_store
    from headwater.api.routers.om_lineage import lineage_json
    from headwater.graph import GraphIndex
    from headwater.graph.export import csv_lines
    from headwater.graph.view import build_lineage_view
    from headwater.model.types import AssetType

    settings = _settings(data_dir, db_url)
    store = open_store(settings)
    try:
        asset_type = AssetType(type)
    except ValueError:
        fail(f"unknown asset type {type!r}")
        raise
    root = store.get_asset_by_fqn(asset_type, fqn)
    if root is None:
        fail(f"no {type} with FQN {fqn!r}")
        raise typer.Exit(2)
    view = build_lineage_view(
        store,
        GraphIndex(store),
        root,
        upstream_depth=upstream,
        downstream_depth=downstream,
        node_limit=settings.node_limit,
    )
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
        typer.echo(json.dumps(lineage_json(store, view, f"http://{settings.host}:{settings.port}"), indent=2))
    else:
        fail("--format must be json or csv")


# Sub-commands from other packages, added when present.
for _module, _attr, _name in (
    ("headwater.cli.sql_cmd", "sql_app", "sql"),
    ("headwater.cli.openlineage_cmd", "openlineage_app", "openlineage"),
    ("headwater.cli.ingest_cmd", "ingest_app", "ingest"),
    ("headwater.cli.atlan_cmd", "atlan_app", "atlan"),
    ("headwater.cli.analysis_cmd", "analysis_app", "analysis"),
):
    try:
        _mod = importlib.import_module(_module)
    except ModuleNotFoundError as _exc:
        if _exc.name != _module:
            raise
        continue
    _sub = getattr(_mod, _attr)
    if isinstance(_sub, typer.Typer):
        app.add_typer(_sub, name=_name)
    else:  # a plain command function
        app.command(_name)(_sub)


if __name__ == "__main__":
    app()
