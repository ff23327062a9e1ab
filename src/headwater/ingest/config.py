"""Lineage workflow configuration: OpenMetadata's YAML shape, validated strictly.

A workflow file looks like OpenMetadata's lineage workflow (``source`` with ``type``,
``serviceName``, ``serviceConnection`` and ``sourceConfig.config`` of type ``DatabaseLineage``;
``sink``; ``workflowConfig``), so a team can bring its own file. Every key is checked: an unknown
key is an error that names it and suggests the closest valid one.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from headwater.sql.dialects import resolve_dialect


class ConfigError(ValueError):
    """A workflow configuration that cannot be run; the message names the problem and its place."""


# -- known keys --------------------------------------------------------------------------------

TOP_KEYS = {
    "source",
    "sink",
    "workflowConfig",
    "processor",
    "stage",
    "bulkSink",
    "ingestionPipelineFQN",
    "pipelineRunId",
}
SOURCE_KEYS = {"type", "serviceName", "serviceConnection", "sourceConfig"}
SINK_KEYS = {"type", "config"}
WORKFLOW_KEYS = {"loggerLevel", "openMetadataServerConfig", "raiseOnError", "successThreshold", "config"}
SERVER_KEYS = {
    "hostPort",
    "authProvider",
    "securityConfig",
    "verifySSL",
    "sslConfig",
    "apiVersion",
    "includeTopics",
    "includeTables",
    "includeDashboards",
    "includePipelines",
    "includeMlModels",
    "includeUsers",
    "includeTeams",
    "includeGlossaryTerms",
    "includeTags",
    "includePolicy",
    "includeMessagingServices",
    "enableVersionValidation",
    "includeDatabaseServices",
    "includePipelineServices",
    "limitRecords",
    "forceEntityOverwriting",
    "storeServiceConnection",
    "elasticsSearch",
    "supportsDataInsightExtraction",
    "supportsElasticSearchReindexingExtraction",
    "extraHeaders",
    "type",
    "clusterName",
    "secretsManagerProvider",
    "secretsManagerLoader",
}

#: sourceConfig.config keys and their defaults. OpenMetadata's names; the last group is headwater's.
LINEAGE_DEFAULTS: dict[str, Any] = {
    "type": "DatabaseLineage",
    "queryLogDuration": 1,
    "resultLimit": 1000,
    "queryLogFilePath": None,
    "parsingTimeoutLimit": 300,
    "queryParserConfig": None,
    "filterCondition": None,
    "databaseFilterPattern": None,
    "schemaFilterPattern": None,
    "tableFilterPattern": None,
    "storedProcedureFilterPattern": None,
    "processViewLineage": True,
    "processQueryLineage": True,
    "processStoredProcedureLineage": True,
    "overrideViewLineage": False,
    "threads": 1,
    "processCrossDatabaseLineage": False,
    "crossDatabaseServiceNames": [],
    "enableTempTableLineage": False,
    "incrementalLineageProcessing": True,
    # headwater additions
    "dialect": None,
    "createPartialAssets": False,
    "includeMetadata": True,
}
#: OpenMetadata options accepted so existing files load, but with no effect in headwater.
IGNORED_OPTIONS = {
    "queryParserConfig": "headwater has one SQL engine",
    "processStoredProcedureLineage": "stored procedures are not read yet",
    "storedProcedureFilterPattern": "stored procedures are not read yet",
    "processCrossDatabaseLineage": "cross-database lineage is not implemented yet",
    "crossDatabaseServiceNames": "cross-database lineage is not implemented yet",
    "enableTempTableLineage": "temporary tables are always bridged within a query",
    "incrementalLineageProcessing": "reruns are idempotent, so every run is incremental",
}
FILTER_KEYS = {"includes", "excludes"}

#: connection config keys per connection type (lower-cased type); others accept any key.
_COMMON_CONN = {
    "type",
    "scheme",
    "username",
    "password",
    "authType",
    "hostPort",
    "database",
    "databaseName",
    "databaseSchema",
    "ingestAllDatabases",
    "connectionOptions",
    "connectionArguments",
    "sslConfig",
    "sslMode",
    "supportsMetadataExtraction",
    "supportsUsageExtraction",
    "supportsLineageExtraction",
    "supportsDBTExtraction",
    "supportsProfiler",
    "supportsQueryComment",
    "supportsDatabase",
    "supportsViewLineageExtraction",
    "sampleDataStorageConfig",
}
CONNECTION_KEYS: dict[str, set[str]] = {
    "postgres": _COMMON_CONN | {"queryStatementSource", "classificationName", "timeout"},
    "mysql": _COMMON_CONN | {"useSlowLogs"},
    "mariadb": _COMMON_CONN,
}

#: OpenMetadata's ConnectionTypeDialectMapper (service type -> SQL dialect).
SERVICE_DIALECTS = {
    "athena": "athena",
    "bigquery": "bigquery",
    "clickhouse": "clickhouse",
    "databricks": "databricks",
    "unitycatalog": "databricks",
    "db2": "db2",
    "hive": "hive",
    "impala": "impala",
    "mysql": "mysql",
    "singlestore": "mysql",
    "doris": "mysql",
    "mariadb": "mariadb",
    "oracle": "oracle",
    "postgres": "postgres",
    "greenplum": "postgres",
    "redshift": "redshift",
    "snowflake": "snowflake",
    "deltalake": "sparksql",
    "sqlite": "sqlite",
    "mssql": "tsql",
    "azuresql": "tsql",
    "microsoftfabric": "tsql",
    "teradata": "teradata",
    "exasol": "exasol",
    "trino": "trino",
    "vertica": "vertica",
    "starrocks": "mysql",
}
#: source.type prefixes headwater runs, with the service type they imply.
DB_SOURCES = {"postgres": "Postgres", "mysql": "Mysql", "mariadb": "MariaDB"}


def _suggest(key: str, valid: set[str]) -> str:
    close = difflib.get_close_matches(key, sorted(valid), n=1, cutoff=0.5)
    if not close:
        lowered = {v.lower(): v for v in valid}
        if key.lower() in lowered:
            close = [lowered[key.lower()]]
    return f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(sorted(valid))}"


def check_keys(data: Any, valid: set[str], where: str) -> dict[str, Any]:
    """`data` must be a mapping whose keys are all in `valid`."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    for key in data:
        if key not in valid:
            raise ConfigError(f"{where}: unknown key {key!r}{_suggest(str(key), valid)}")
    return data


@dataclass(frozen=True)
class FilterPattern:
    """OpenMetadata's include/exclude regex lists (matched case-insensitively from the start)."""

    includes: tuple[re.Pattern[str], ...] = ()
    excludes: tuple[re.Pattern[str], ...] = ()

    def allows(self, name: str) -> bool:
        if self.includes and not any(p.match(name) for p in self.includes):
            return False
        return not any(p.match(name) for p in self.excludes)

    @classmethod
    def parse(cls, data: Any, where: str) -> FilterPattern:
        data = check_keys(data, FILTER_KEYS, where)

        def compile_all(key: str) -> tuple[re.Pattern[str], ...]:
            items = data.get(key) or []
            if isinstance(items, str):
                items = [items]
            if not isinstance(items, list):
                raise ConfigError(f"{where}.{key}: expected a list of regular expressions")
            out = []
            for item in items:
                try:
                    out.append(re.compile(str(item), re.IGNORECASE))
                except re.error as exc:
                    raise ConfigError(f"{where}.{key}: invalid regular expression {item!r}: {exc}") from None
            return tuple(out)

        return cls(compile_all("includes"), compile_all("excludes"))


@dataclass
class LineageOptions:
    query_log_duration: float = 1
    result_limit: int = 1000
    query_log_file_path: str | None = None
    parsing_timeout: float = 300
    filter_condition: str | None = None
    database_filter: FilterPattern = field(default_factory=FilterPattern)
    schema_filter: FilterPattern = field(default_factory=FilterPattern)
    table_filter: FilterPattern = field(default_factory=FilterPattern)
    process_view_lineage: bool = True
    process_query_lineage: bool = True
    override_view_lineage: bool = False
    threads: int = 1
    dialect: str | None = None
    create_partial_assets: bool = False
    include_metadata: bool = True
    ignored: list[str] = field(default_factory=list)


@dataclass
class ServerConfig:
    host_port: str | None = None
    token: str | None = None


@dataclass
class WorkflowConfig:
    """A validated lineage workflow."""

    source_type: str  # e.g. "query-log-lineage", "postgres-lineage"
    connector: str  # "query-log", "postgres", "mysql", "mariadb"
    service_name: str
    service_type: str | None
    connection: dict[str, Any]
    options: LineageOptions
    sink_type: str
    server: ServerConfig
    logger_level: str = "INFO"
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def dialect(self) -> str:
        """The sqlglot dialect: the explicit option, else the service type's, else generic."""
        if self.options.dialect:
            return self.options.dialect
        if self.service_type:
            return SERVICE_DIALECTS.get(self.service_type.lower(), "ansi")
        return "ansi"


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no"):
        return value.lower() in ("true", "yes")
    raise ConfigError(f"{where}: expected true or false, got {value!r}")


def _number(value: Any, where: str, minimum: float, integer: bool = False) -> float:
    try:
        num = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if integer and num != int(num):
        raise ConfigError(f"{where}: expected a whole number, got {value!r}")
    if num < minimum:
        raise ConfigError(f"{where}: must be at least {minimum:g}, got {value!r}")
    return num


def _parse_options(data: Any, where: str) -> LineageOptions:
    data = check_keys(data, set(LINEAGE_DEFAULTS), where)
    kind = data.get("type", "DatabaseLineage")
    if kind != "DatabaseLineage":
        raise ConfigError(
            f"{where}.type: headwater runs lineage workflows, so this must be 'DatabaseLineage' (got {kind!r})"
        )
    merged = {**LINEAGE_DEFAULTS, **{k: v for k, v in data.items() if v is not None}}
    opts = LineageOptions(
        query_log_duration=_number(merged["queryLogDuration"], f"{where}.queryLogDuration", 0),
        result_limit=int(_number(merged["resultLimit"], f"{where}.resultLimit", 1, integer=True)),
        query_log_file_path=str(merged["queryLogFilePath"]) if merged["queryLogFilePath"] else None,
        parsing_timeout=_number(merged["parsingTimeoutLimit"], f"{where}.parsingTimeoutLimit", 0.001),
        filter_condition=merged["filterCondition"],
        database_filter=FilterPattern.parse(
            merged["databaseFilterPattern"], f"{where}.databaseFilterPattern"
        ),
        schema_filter=FilterPattern.parse(merged["schemaFilterPattern"], f"{where}.schemaFilterPattern"),
        table_filter=FilterPattern.parse(merged["tableFilterPattern"], f"{where}.tableFilterPattern"),
        process_view_lineage=_bool(merged["processViewLineage"], f"{where}.processViewLineage"),
        process_query_lineage=_bool(merged["processQueryLineage"], f"{where}.processQueryLineage"),
        override_view_lineage=_bool(merged["overrideViewLineage"], f"{where}.overrideViewLineage"),
        threads=int(_number(merged["threads"], f"{where}.threads", 1, integer=True)),
        create_partial_assets=_bool(merged["createPartialAssets"], f"{where}.createPartialAssets"),
        include_metadata=_bool(merged["includeMetadata"], f"{where}.includeMetadata"),
    )
    if merged["dialect"]:
        try:
            resolve_dialect(str(merged["dialect"]))
        except ValueError as exc:
            raise ConfigError(f"{where}.dialect: {exc}") from None
        opts.dialect = str(merged["dialect"])
    for key, why in IGNORED_OPTIONS.items():
        value = data.get(key)
        if value not in (None, LINEAGE_DEFAULTS[key], [], {}):
            opts.ignored.append(f"{key}: ignored ({why})")
    return opts


def _parse_server(data: Any, where: str) -> ServerConfig:
    data = check_keys(data, SERVER_KEYS, where)
    token = None
    sec = data.get("securityConfig")
    if sec is not None:
        sec = check_keys(
            sec,
            {"jwtToken", "secretKey", "clientId", "authority", "scopes", "domain"},
            f"{where}.securityConfig",
        )
        token = sec.get("jwtToken")
    host = data.get("hostPort")
    if host is not None and not re.match(r"^https?://", str(host)):
        raise ConfigError(f"{where}.hostPort: expected a URL such as http://localhost:8585/api, got {host!r}")
    return ServerConfig(host_port=str(host) if host else None, token=str(token) if token else None)


def parse_workflow(data: Any) -> WorkflowConfig:
    """Validate a workflow mapping (as loaded from YAML or JSON)."""
    data = check_keys(data, TOP_KEYS, "workflow")
    source = data.get("source")
    if not source:
        raise ConfigError("workflow: the 'source' section is missing")
    source = check_keys(source, SOURCE_KEYS, "source")
    source_type = source.get("type")
    if not source_type or not isinstance(source_type, str):
        raise ConfigError(
            "source.type: missing; use 'query-log-lineage' or '<connector>-lineage' (e.g. postgres-lineage)"
        )
    if not source_type.endswith("-lineage"):
        raise ConfigError(
            f"source.type: {source_type!r} is not a lineage source; use 'query-log-lineage' or "
            "'<connector>-lineage' (e.g. postgres-lineage, mysql-lineage)"
        )
    connector = source_type[: -len("-lineage")].lower()
    if connector == "query":
        raise ConfigError("source.type: 'query-lineage' does not exist; did you mean 'query-log-lineage'?")
    known = {"query-log", *DB_SOURCES}
    service_name = source.get("serviceName")
    if not service_name or not isinstance(service_name, str):
        raise ConfigError("source.serviceName: missing; name the database service the lineage belongs to")
    conn_section = check_keys(source.get("serviceConnection"), {"config"}, "source.serviceConnection")
    conn = conn_section.get("config") or {}
    if not isinstance(conn, dict):
        raise ConfigError("source.serviceConnection.config: expected a mapping")
    service_type = conn.get("type")
    if connector in DB_SOURCES:
        service_type = service_type or DB_SOURCES[connector]
        keys = CONNECTION_KEYS[connector]
        check_keys(conn, keys, "source.serviceConnection.config")
    sc = check_keys(source.get("sourceConfig"), {"config"}, "source.sourceConfig")
    options = _parse_options(sc.get("config"), "source.sourceConfig.config")
    if connector not in known and not options.query_log_file_path:
        near = difflib.get_close_matches(connector, sorted(known), n=1, cutoff=0.5)
        hint = f"; did you mean '{near[0]}-lineage'?" if near else ""
        raise ConfigError(
            f"source.type: headwater has no connector {connector!r}{hint} Supported: query-log-lineage, "
            + ", ".join(f"{c}-lineage" for c in sorted(DB_SOURCES))
            + " (any other '<connector>-lineage' works with sourceConfig.config.queryLogFilePath)"
        )
    if connector == "query-log" and not options.query_log_file_path:
        raise ConfigError(
            "source.sourceConfig.config.queryLogFilePath: required for query-log-lineage (a CSV or JSON Lines "
            "file, or a directory of them)"
        )
    sink = check_keys(data.get("sink") or {"type": "metadata-rest"}, SINK_KEYS, "sink")
    sink_type = str(sink.get("type") or "metadata-rest")
    if sink_type not in ("metadata-rest", "headwater-store"):
        raise ConfigError(f"sink.type: {sink_type!r} is not supported; use 'metadata-rest'")
    wc = check_keys(data.get("workflowConfig"), WORKFLOW_KEYS, "workflowConfig")
    server = _parse_server(wc.get("openMetadataServerConfig"), "workflowConfig.openMetadataServerConfig")
    level = str(wc.get("loggerLevel") or "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARN", "WARNING", "ERROR"):
        raise ConfigError(f"workflowConfig.loggerLevel: expected DEBUG, INFO, WARN or ERROR, got {level!r}")
    return WorkflowConfig(
        source_type=source_type,
        connector=connector,
        service_name=service_name,
        service_type=str(service_type) if service_type else None,
        connection=dict(conn),
        options=options,
        sink_type=sink_type,
        server=server,
        logger_level=level,
        raw=data,
    )


def load_workflow(path: str | Path) -> WorkflowConfig:
    """Read and validate a YAML (or JSON) workflow file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read workflow file {str(p)!r}: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from None
    cfg = parse_workflow(data)
    # relative query-log paths are relative to the workflow file
    path_opt = cfg.options.query_log_file_path
    if path_opt and not Path(path_opt).is_absolute() and not Path(path_opt).exists():
        candidate = p.parent / path_opt
        if candidate.exists():
            cfg.options.query_log_file_path = str(candidate)
    return cfg
