"""``headwater openlineage …``: OpenLineage pipeline services (Kafka / Kinesis consumers),
loading event files, translation, and usage — working directly on the store, so they also
run where no server is up (cron, a one-shot container)."""

from __future__ import annotations

import json
import logging
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from headwater.cli.errors import fail

openlineage_app = typer.Typer(
    help="OpenLineage: pipeline services (Kafka, Kinesis), event files, translation, usage.",
    no_args_is_help=True,
)

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data directory (default ./data)")]
DbUrl = Annotated[str | None, typer.Option("--db-url", help="Database URL (default SQLite in the data dir)")]


def _store(data_dir: Path | None, db_url: str | None) -> Any:
    from headwater.api.app import open_store
    from headwater.cli.main import _settings

    return open_store(_settings(data_dir, db_url))


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


@openlineage_app.command("services")
def services_cmd(data_dir: DataDir = None, db_url: DbUrl = None) -> None:
    """List OpenLineage pipeline services (connection secrets masked)."""
    from headwater.openlineage.services import openlineage_services, options_of
    from headwater.secrets import mask

    for asset in openlineage_services(_store(data_dir, db_url)):
        conn = mask(asset.attributes.get("connection") or {})
        _print({"name": asset.name, "connection": conn, "ingestion": options_of(asset).model_dump()})


@openlineage_app.command("create")
def create_cmd(
    name: str,
    kafka_brokers: Annotated[str | None, typer.Option(help="brokersUrl, e.g. host1:9092,host2:9092")] = None,
    topic: Annotated[str | None, typer.Option(help="topicName")] = None,
    group: Annotated[str, typer.Option(help="consumerGroupName")] = "headwater-openlineage",
    security_protocol: Annotated[
        str, typer.Option(help="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
    ] = "PLAINTEXT",
    kinesis_stream: Annotated[str | None, typer.Option(help="streamName")] = None,
    region: Annotated[str | None, typer.Option(help="awsRegion (Kinesis)")] = None,
    endpoint_url: Annotated[str | None, typer.Option(help="endPointURL (Kinesis)")] = None,
    offsets: Annotated[
        str | None, typer.Option(help="earliest/latest (Kafka) or TRIM_HORIZON/LATEST (Kinesis)")
    ] = None,
    poll_timeout: Annotated[float, typer.Option(help="poolTimeout, seconds")] = 1.0,
    session_timeout: Annotated[int, typer.Option(help="sessionTimeout, seconds")] = 30,
    schedule: Annotated[
        str, typer.Option(help="continuous, manual, seconds, @hourly, @daily")
    ] = "continuous",
    data_dir: DataDir = None,
    db_url: DbUrl = None,
) -> None:
    """Create or update an OpenLineage pipeline service. AWS keys come from the default
    credential chain (environment, profile, role) rather than the command line."""
    from headwater.identity.fqn import quote_name
    from headwater.model.assets import AssetInput
    from headwater.model.types import AssetType
    from headwater.openlineage.services import IngestionOptions, broker_config, set_options

    broker: dict[str, Any]
    if kafka_brokers and topic:
        broker = {
            "brokersUrl": kafka_brokers,
            "topicName": topic,
            "consumerGroupName": group,
            "consumerOffsets": offsets or "earliest",
            "poolTimeout": poll_timeout,
            "sessionTimeout": session_timeout,
            "securityProtocol": security_protocol,
        }
    elif kinesis_stream and region:
        aws: dict[str, Any] = {"awsRegion": region}
        if endpoint_url:
            aws["endPointURL"] = endpoint_url
        broker = {
            "streamName": kinesis_stream,
            "consumerOffsets": offsets or "TRIM_HORIZON",
            "poolTimeout": poll_timeout,
            "sessionTimeout": session_timeout,
            "awsConfig": aws,
        }
    else:
        fail("give --kafka-brokers and --topic, or --kinesis-stream and --region")
        return
    store = _store(data_dir, db_url)
    attrs = {
        "serviceType": "OpenLineage",
        "connection": {"config": {"type": "OpenLineage", "brokerConfig": broker}},
    }
    item = AssetInput(type=AssetType.PIPELINE_SERVICE, fqn=quote_name(name), name=name, attributes=attrs)
    asset, _ = store.upsert_asset(item, "cli")
    try:
        broker_config(asset)
        opts = IngestionOptions(schedule=schedule)
    except ValueError as exc:
        fail(str(exc))
    set_options(store, name, opts)
    typer.echo(f"OpenLineage service {name!r} saved (schedule: {schedule})")


@openlineage_app.command("set")
def set_cmd(
    name: str,
    schedule: Annotated[str | None, typer.Option(help="continuous, manual, seconds, @hourly, @daily")] = None,
    include: Annotated[
        list[str] | None, typer.Option(help="pipeline filter include regex (repeatable)")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option(help="pipeline filter exclude regex (repeatable)")
    ] = None,
    lineage: Annotated[bool | None, typer.Option("--lineage/--no-lineage", help="include lineage")] = None,
    mark_deleted: Annotated[bool | None, typer.Option("--mark-deleted/--no-mark-deleted")] = None,
    debug: Annotated[bool | None, typer.Option("--debug/--no-debug", help="enable debug log")] = None,
    data_dir: DataDir = None,
    db_url: DbUrl = None,
) -> None:
    """Change a service's schedule and options."""
    from headwater.openlineage.services import get_service, options_of, set_options

    store = _store(data_dir, db_url)
    try:
        opts = options_of(get_service(store, name))
    except LookupError as exc:
        fail(str(exc))
        return
    if schedule is not None:
        opts.schedule = schedule
    if include is not None:
        opts.pipelineFilterPattern.includes = include
    if exclude is not None:
        opts.pipelineFilterPattern.excludes = exclude
    if lineage is not None:
        opts.includeLineage = lineage
    if mark_deleted is not None:
        opts.markDeletedPipelines = mark_deleted
    if debug is not None:
        opts.enableDebugLog = debug
    set_options(store, name, opts)
    _print(opts.model_dump())


@openlineage_app.command("test")
def test_cmd(name: str, data_dir: DataDir = None, db_url: DbUrl = None) -> None:
    """Test a service's connection; prints each check and exits 1 if a mandatory one fails."""
    from headwater.openlineage.services import get_service, test_service_connection

    try:
        result = test_service_connection(get_service(_store(data_dir, db_url), name))
    except LookupError as exc:
        fail(str(exc))
        return
    for step in result["steps"]:
        mark = "ok  " if step["passed"] else "FAIL"
        typer.echo(f"{mark} {step['name']}: {step['message'] or ''}")
    if result["status"] != "Successful":
        raise typer.Exit(1)


@openlineage_app.command("run")
def run_cmd(
    name: str,
    continuous: Annotated[bool, typer.Option(help="keep consuming until interrupted")] = False,
    max_messages: Annotated[int | None, typer.Option(help="stop after this many messages")] = None,
    batch_size: Annotated[int, typer.Option(help="messages per stored batch")] = 500,
    data_dir: DataDir = None,
    db_url: DbUrl = None,
) -> None:
    """Run a service's consumer once (until idle for sessionTimeout) or continuously."""
    from headwater.api.app import open_store
    from headwater.cli.main import _settings
    from headwater.openlineage.service import IngestService
    from headwater.openlineage.services import RunStats, get_service, make_consumer, now_ms, options_of

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = _settings(data_dir, db_url)
    store = open_store(settings)
    try:
        asset = get_service(store, name)
    except LookupError as exc:
        fail(str(exc))
        return
    opts = options_of(asset)
    if opts.enableDebugLog:
        logging.getLogger("headwater").setLevel(logging.DEBUG)
    ingest = IngestService(store, max_translate_wait=settings.translate_max_wait)
    ingest.start()
    stats = RunStats(service=name, mode="continuous" if continuous else "once")
    consumer = make_consumer(store, ingest, asset, stats, opts)
    consumer.batch_size = batch_size

    def _stop(*_: Any) -> None:
        consumer.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        consumer.run(continuous=continuous, max_messages=max_messages)
        ingest.wait_idle(300)
    finally:
        ingest.stop()
    stats.endedAt = now_ms()
    _print(stats.to_dict())


@openlineage_app.command("load")
def load_cmd(
    files: Annotated[
        list[Path], typer.Argument(help="JSON files: one event, an array, or NDJSON; '-' for stdin")
    ],
    data_dir: DataDir = None,
    db_url: DbUrl = None,
) -> None:
    """Validate, store and translate OpenLineage events from files."""
    from headwater.openlineage.events import EventValidationError, parse_event
    from headwater.openlineage.translate import Translator

    events = []
    bad = 0
    for path in files:
        text = sys.stdin.read() if str(path) == "-" else path.read_text()
        stripped = text.strip()
        if stripped.startswith("["):
            items = json.loads(stripped)
        elif stripped.startswith("{") and "\n{" not in stripped:
            items = [json.loads(stripped)]
        else:
            items = [json.loads(line) for line in stripped.splitlines() if line.strip()]
        for i, item in enumerate(items):
            try:
                events.append(parse_event(item))
            except EventValidationError as exc:
                bad += 1
                typer.echo(f"{path}[{i}]: invalid: {exc.field}: {exc.message}", err=True)
    tr = Translator(_store(data_dir, db_url))
    added = tr.append_raw(events, "file") if events else 0
    translated = tr.drain()
    typer.echo(f"{len(events)} valid event(s), {added} new, {bad} invalid; {translated} translated")
    if bad:
        raise typer.Exit(1)


@openlineage_app.command("translate")
def translate_cmd(data_dir: DataDir = None, db_url: DbUrl = None) -> None:
    """Translate every stored event that is not translated yet (recovery after a crash)."""
    from headwater.openlineage.translate import Translator

    typer.echo(f"{Translator(_store(data_dir, db_url)).drain()} event(s) translated")


@openlineage_app.command("usage")
def usage_cmd(
    node_id: Annotated[str, typer.Argument(help="dataset:{namespace}:{name}")],
    days: int = 30,
    data_dir: DataDir = None,
    db_url: DbUrl = None,
) -> None:
    """Per day: how many runs read and wrote a dataset."""
    from headwater.openlineage.marquez import MarquezReader, NotFound

    try:
        _print(MarquezReader(_store(data_dir, db_url)).usage(node_id, days))
    except (NotFound, ValueError) as exc:
        fail(str(exc))
