"""`headwater ingest -c lineage.yaml`: run a lineage workflow; `headwater ingest pipelines ...`:
manage workflows stored on a server and run on a schedule.

The workflow writes through the server named in ``workflowConfig.openMetadataServerConfig``
(OpenMetadata's ``metadata-rest`` sink) unless ``--db-url`` or ``--data-dir`` is given, in which
case it writes straight into that store (no server needed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from headwater.cli.errors import err, fail

ingest_app = typer.Typer(
    help="Run a lineage workflow (query logs, PostgreSQL, MySQL/MariaDB) from a YAML file, or manage "
    "scheduled ingestion pipelines.",
    invoke_without_command=True,
    no_args_is_help=False,
)
pipelines_app = typer.Typer(help="Ingestion pipelines stored on a headwater server.", no_args_is_help=True)
ingest_app.add_typer(pipelines_app, name="pipelines")


class _RichProgress:
    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: Any = None

    def phase(self, name: str, total: int | None) -> None:
        if self.task is not None:
            self.progress.update(self.task, visible=False)
        self.task = self.progress.add_task(name, total=total)

    def advance(self, n: int = 1) -> None:
        if self.task is not None:
            self.progress.advance(self.task, n)


@ingest_app.callback()
def ingest(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("-c", "--config", help="Workflow YAML (OpenMetadata's lineage workflow shape)"),
    ] = None,
    db_url: Annotated[
        str | None, typer.Option("--db-url", help="Write into this store instead of through the server's API")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Write into the SQLite store of this data directory")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout")] = False,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar")] = False,
) -> None:
    """Run a lineage workflow: `headwater ingest -c lineage.yaml`."""
    if ctx.invoked_subcommand is not None:
        return
    if config is None:
        fail("give a workflow file: headwater ingest -c lineage.yaml (or see --help)")
        return
    from headwater.ingest.config import ConfigError, load_workflow
    from headwater.ingest.sink import RestSink, Sink, SinkError, StoreSink
    from headwater.ingest.summary import summary_text
    from headwater.ingest.workflow import run_workflow

    try:
        cfg = load_workflow(config)
    except ConfigError as exc:
        fail(f"bad workflow config: {exc}")
        return
    sink: Sink
    store = None
    try:
        if db_url or data_dir:
            from headwater.api.app import open_store
            from headwater.cli.main import _settings

            settings = _settings(data_dir, db_url)
            try:
                store = open_store(settings)
            except Exception as exc:
                fail(f"cannot open the store at {db_url or data_dir}: {exc}", 1)
                return
            sink = StoreSink(store, cfg, actor="cli")
        else:
            if cfg.sink_type == "headwater-store":
                fail("sink.type headwater-store needs --db-url or --data-dir")
            sink = RestSink(cfg)
    except SinkError as exc:
        fail(str(exc), 1)
        return
    show = not no_progress and not as_json and err.is_terminal
    try:
        if show:
            columns = (
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            with Progress(*columns, console=err, transient=True) as progress:
                summary = run_workflow(cfg, sink, _RichProgress(progress))
        else:
            summary = run_workflow(cfg, sink)
    finally:
        sink.close()
        if store is not None:
            store.close()
    if as_json:
        sys.stdout.write(json.dumps(summary.to_json(), indent=2) + "\n")
    else:
        color = {"success": "green", "partialSuccess": "yellow"}.get(summary.status, "red")
        text = summary_text(summary)
        head, _, rest = text.partition("\n")
        err.print(f"[{color}]{head}[/{color}]", highlight=False, soft_wrap=True)
        if rest:
            err.print(rest, highlight=False, markup=False, soft_wrap=True)
    if summary.status == "failed":
        raise typer.Exit(1)


# -- pipelines (through the server's API) -------------------------------------------------------

Server = Annotated[str, typer.Option("--server", envvar="HEADWATER_SERVER", help="Server URL")]
Token = Annotated[
    str | None, typer.Option("--token", envvar="HEADWATER_TOKEN", help="API token (editor or admin)")
]
BASE = "/api/v1/services/ingestionPipelines"


def _client(server: str, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server.rstrip("/").removesuffix("/api"), headers=headers, timeout=60)


def _call(server: str, token: str | None, method: str, path: str, **kwargs: Any) -> Any:
    try:
        with _client(server, token) as client:
            resp = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        fail(f"cannot reach {server}: {exc}", 1)
    if resp.status_code >= 400:
        try:
            msg = resp.json().get("message", resp.text)
        except ValueError:
            msg = resp.text
        fail(f"{resp.status_code}: {msg}", 1)
    return resp.json() if resp.content else {}


def _pid(server: str, token: str | None, ref: str) -> str:
    """The id of a pipeline given by id, FQN (service.name) or name."""
    return str(_call(server, token, "GET", f"{BASE}/{ref}")["id"])


@pipelines_app.command("deploy")
def deploy(
    config: Annotated[Path, typer.Option("-c", "--config", help="Workflow YAML")],
    name: Annotated[str | None, typer.Option(help="Pipeline name (default <service>_lineage)")] = None,
    schedule: Annotated[
        str | None, typer.Option(help="@hourly, @daily, @weekly, a cron expression; none = manual")
    ] = None,
    start_date: Annotated[str | None, typer.Option(help="ISO date (UTC) of the first run")] = None,
    end_date: Annotated[str | None, typer.Option(help="ISO date (UTC) after which it stops")] = None,
    server: Server = "http://127.0.0.1:8585",
    token: Token = None,
) -> None:
    """Store a workflow on the server as an ingestion pipeline and deploy it."""
    import yaml

    from headwater.ingest.config import ConfigError, parse_workflow

    try:
        workflow = yaml.safe_load(config.read_text(encoding="utf-8"))
        parse_workflow(workflow)
    except (OSError, yaml.YAMLError, ConfigError) as exc:
        fail(f"bad workflow config: {exc}")
    body: dict[str, Any] = {
        "workflow": workflow,
        "pipelineType": "lineage",
        "airflowConfig": {"scheduleInterval": schedule, "startDate": start_date, "endDate": end_date},
    }
    if name:
        body["name"] = name
    created = _call(server, token, "PUT", BASE, json=body)
    _call(server, token, "POST", f"{BASE}/deploy/{created['id']}")
    typer.echo(
        f"deployed {created['fullyQualifiedName']} ({created['id']}), schedule: {schedule or 'manual'}"
    )


@pipelines_app.command("list")
def list_(server: Server = "http://127.0.0.1:8585", token: Token = None) -> None:
    """List pipelines with their schedule and last run."""
    data = _call(server, token, "GET", BASE, params={"fields": "pipelineStatuses"})
    for p in data.get("data", []):
        last = p.get("pipelineStatuses") or {}
        state = "enabled" if p["enabled"] else "disabled"
        typer.echo(
            f"{p['fullyQualifiedName']:<40} {p['airflowConfig'].get('scheduleInterval') or 'manual':<16} "
            f"{state:<9} {'deployed' if p['deployed'] else 'not deployed':<13} last: {last.get('pipelineState', '-')}"
        )


@pipelines_app.command("run")
def run_now(
    pipeline: Annotated[str, typer.Argument(help="Pipeline FQN (service.name) or id")],
    wait: Annotated[bool, typer.Option(help="Wait for the run to end and print its summary")] = True,
    server: Server = "http://127.0.0.1:8585",
    token: Token = None,
) -> None:
    """Run a pipeline now."""
    import time

    pid = _pid(server, token, pipeline)
    run = _call(server, token, "POST", f"{BASE}/trigger/{pid}")
    run_id = run["runId"]
    typer.echo(f"run {run_id} started")
    if not wait:
        return
    p = _call(server, token, "GET", f"{BASE}/{pid}")
    while True:
        status = _call(server, token, "GET", f"{BASE}/{p['fullyQualifiedName']}/pipelineStatus/{run_id}")
        if status["pipelineState"] not in ("queued", "running"):
            break
        time.sleep(0.5)
    typer.echo(json.dumps(status.get("summary"), indent=2))
    if status["pipelineState"] == "failed":
        raise typer.Exit(1)


def _toggle(pipeline: str, enable: bool, server: str, token: str | None) -> None:
    pid = _pid(server, token, pipeline)
    p = _call(server, token, "GET", f"{BASE}/{pid}")
    if p["enabled"] != enable:
        p = _call(server, token, "POST", f"{BASE}/toggleIngestion/{pid}")
    typer.echo(f"{p['fullyQualifiedName']} {'enabled' if p['enabled'] else 'disabled'}")


@pipelines_app.command("enable")
def enable(pipeline: str, server: Server = "http://127.0.0.1:8585", token: Token = None) -> None:
    """Enable a pipeline's schedule."""
    _toggle(pipeline, True, server, token)


@pipelines_app.command("disable")
def disable(pipeline: str, server: Server = "http://127.0.0.1:8585", token: Token = None) -> None:
    """Pause a pipeline's schedule (manual runs still work)."""
    _toggle(pipeline, False, server, token)


@pipelines_app.command("status")
def status(
    pipeline: str, limit: int = 10, server: Server = "http://127.0.0.1:8585", token: Token = None
) -> None:
    """The last runs of a pipeline."""
    pid = _pid(server, token, pipeline)
    p = _call(server, token, "GET", f"{BASE}/{pid}")
    data = _call(
        server, token, "GET", f"{BASE}/{p['fullyQualifiedName']}/pipelineStatus", params={"limit": limit}
    )
    for r in data.get("data", []):
        s = r.get("summary") or {}
        typer.echo(
            f"{r['runId']}  {r['trigger']:<8} {r['pipelineState']:<15} rows {s.get('rows_read', '-')}  "
            f"edges +{s.get('edges_added', '-')} ~{s.get('edges_updated', '-')}"
        )


@pipelines_app.command("logs")
def logs(
    pipeline: str,
    run: Annotated[str | None, typer.Option(help="Run id (default: the last run)")] = None,
    server: Server = "http://127.0.0.1:8585",
    token: Token = None,
) -> None:
    """The log of a run."""
    pid = _pid(server, token, pipeline)
    data = _call(server, token, "GET", f"{BASE}/logs/{pid}/{run or 'last'}")
    typer.echo(data.get("ingestion_task", ""))


@pipelines_app.command("delete")
def delete(pipeline: str, server: Server = "http://127.0.0.1:8585", token: Token = None) -> None:
    """Delete a pipeline and its runs."""
    pid = _pid(server, token, pipeline)
    _call(server, token, "DELETE", f"{BASE}/{pid}")
    typer.echo(f"deleted {pid}")
