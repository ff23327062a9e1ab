"""OpenLineage dataset naming conventions → one canonical identity per dataset.

The same table reaches us under different spellings (``postgresql://`` vs
``postgres://``, ``s3a://`` vs ``s3://``, a trailing slash, a Hive symlink next to a
file path). Everything here is pure string work so the identity layer and the
translator can agree on one key per dataset and keep the other spellings as aliases.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote

AssetKind = Literal["table", "topic", "container"]

# scheme aliases (JDBC and Spark spellings → the naming-doc scheme)
_SCHEME_ALIASES = {
    "postgresql": "postgres",
    "s3a": "s3",
    "s3n": "s3",
    "sqlserver": "mssql",
    "gcs": "gs",
    "mariadb": "mysql",
    "wasb": "wasbs",
    "abfs": "abfss",
}
# default ports filled in when a producer omits them, so `postgres://db` joins `postgres://db:5432`
_DEFAULT_PORTS = {
    "postgres": 5432,
    "mysql": 3306,
    "mssql": 1433,
    "redshift": 5439,
    "oracle": 1521,
    "hive": 9083,
    "kafka": 9092,
    "db2": 50000,
    "teradata": 1025,
    "cassandra": 9042,
    "crate": 5432,
    "trino": 8080,
}
TOPIC_SCHEMES = frozenset({"kafka", "pubsub", "kinesis", "pulsar"})
CONTAINER_SCHEMES = frozenset({"s3", "gs", "abfss", "wasbs", "hdfs", "file", "dbfs", "inmemory", "box"})
# how the dataset name splits into database / schema / table, by namespace scheme
_TWO_PART = frozenset({"mysql", "hive", "teradata", "oceanbase", "cassandra", "milvus"})
_THREE_PART = frozenset(
    {
        "postgres",
        "mssql",
        "oracle",
        "db2",
        "crate",
        "redshift",
        "snowflake",
        "bigquery",
        "trino",
        "awsathena",
        "unitycatalog",
        "spanner",
        "fabric-warehouse",
        "duckdb",
        "sqlite",
        "databricks",
    }
)
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://(.*)$")


@dataclass(frozen=True, slots=True)
class DatasetName:
    """Canonical (namespace, name) of a dataset plus what the catalog needs from it.

    ``service`` is a service-ish name derived from the namespace (used when no catalog
    service claims the namespace); ``database``/``schema``/``table`` are the parts of a
    table name; ``kind`` says whether the asset is a table, a topic or a container/file.
    """

    namespace: str
    name: str
    scheme: str
    authority: str
    kind: AssetKind
    service: str
    database: str | None = None
    schema: str | None = None
    table: str | None = None
    aliases: tuple[tuple[str, str], ...] = field(default=())

    @property
    def key(self) -> str:
        """Stable text key: ``{namespace}/{name}``-like but unambiguous."""
        return f"{self.namespace}::{self.name}"

    @property
    def qualified_parts(self) -> list[str]:
        """Non-empty hierarchy below the service, e.g. ``[db, schema, table]``."""
        if self.kind == "table":
            return [p for p in (self.database, self.schema, self.table) if p]
        return [self.name]


def _norm_authority(scheme: str, authority: str) -> str:
    authority = authority.rstrip("/")
    if scheme in CONTAINER_SCHEMES or scheme in ("bigquery", "pubsub"):
        return authority
    # host[:port]; lowercase the host, fill in a default port
    if "@" in authority or "/" in authority:
        return authority
    hosts = []
    for part in authority.split(","):
        host, sep, port = part.rpartition(":")
        if not sep or not port.isdigit():
            host, port = part, ""
        host = host.lower()
        if not port and scheme in _DEFAULT_PORTS and host:
            port = str(_DEFAULT_PORTS[scheme])
        hosts.append(f"{host}:{port}" if port else host)
    return ",".join(hosts)


def normalize_namespace(namespace: str) -> tuple[str, str, str]:
    """Return ``(canonical namespace, scheme, authority)``."""
    ns = namespace.strip()
    m = _SCHEME_RE.match(ns)
    if not m:
        # `bigquery`, `file`, `pubsub`, `arn:aws:glue:...`, or a free-form producer namespace
        if ns.lower().startswith("arn:aws:glue:"):
            return ns, "glue", ns[len("arn:aws:glue:") :]
        scheme = ns.lower() if ns.lower() in ("bigquery", "file", "pubsub", "inmemory") else ""
        return (scheme or ns.rstrip("/")), scheme, ""
    scheme = _SCHEME_ALIASES.get(m.group(1).lower(), m.group(1).lower())
    authority = _norm_authority(scheme, m.group(2))
    if scheme == "file" and not authority:
        return "file", "file", ""
    return f"{scheme}://{authority}", scheme, authority


def _service_name(scheme: str, authority: str, namespace: str) -> str:
    base = f"{scheme}_{authority}" if scheme and authority else (scheme or namespace)
    return re.sub(r"[^A-Za-z0-9_\-]+", "_", base).strip("_") or "openlineage"


def canonical(namespace: str, name: str, symlinks: Iterable[tuple[str, str]] = ()) -> DatasetName:
    """Canonical identity of one OpenLineage dataset.

    ``symlinks`` are ``(namespace, name)`` aliases (from the ``symlinks`` facet); they are
    normalised and attached as aliases, never chosen as the primary key here, because the
    spec leaves the choice open and the translator matches on any of them.
    """
    links = tuple(symlinks)
    if not links:
        return _canonical_cached(namespace, name)
    return _canonical(namespace, name, links)


@functools.lru_cache(maxsize=200_000)
def _canonical_cached(namespace: str, name: str) -> DatasetName:
    """The pure part of :func:`canonical`, cached: busy producers repeat the same datasets."""
    return _canonical(namespace, name, ())


def _canonical(namespace: str, name: str, symlinks: Iterable[tuple[str, str]]) -> DatasetName:
    ns, scheme, authority = normalize_namespace(namespace)
    nm = name.strip()
    kind: AssetKind = "table"
    database = schema = table = None
    if scheme in TOPIC_SCHEMES:
        kind = "topic"
    elif scheme in CONTAINER_SCHEMES:
        kind = "container"
        nm = nm.rstrip("/") or "/"
        if scheme in ("s3", "gs", "abfss", "wasbs"):
            nm = nm.lstrip("/") or "/"
    elif scheme == "glue":
        parts = nm.split("/")
        if len(parts) == 3 and parts[0] == "table":
            database, table = parts[1], parts[2]
    elif scheme == "azurekusto":
        database, _, table = nm.partition("/")
    elif scheme == "azurecosmos":
        m = re.search(r"/dbs/([^/]+)", authority)
        database = m.group(1) if m else None
        table = nm.split("/", 1)[1] if nm.startswith("colls/") else nm
    else:
        parts = _split_dotted(nm)
        if scheme in _TWO_PART and len(parts) == 2:
            database, table = parts
        elif len(parts) >= 3:
            database, schema, table = ".".join(parts[:-2]), parts[-2], parts[-1]
        elif len(parts) == 2:
            schema, table = parts
        else:
            table = nm
    aliases: list[tuple[str, str]] = []
    for s_ns, s_name in symlinks:
        a_ns, _, _ = normalize_namespace(s_ns)
        a_name = s_name.strip()
        if a_ns in ("s3", "gs") or a_ns.startswith(("s3://", "gs://", "abfss://", "wasbs://")):
            a_name = a_name.strip("/")
        elif a_ns == "file" or a_ns.startswith(("file://", "hdfs://", "dbfs://")):
            a_name = a_name.rstrip("/")
        if (a_ns, a_name) != (ns, nm) and (a_ns, a_name) not in aliases:
            aliases.append((a_ns, a_name))
    return DatasetName(
        namespace=ns,
        name=nm,
        scheme=scheme,
        authority=authority,
        kind=kind,
        service=_service_name(scheme, authority, ns),
        database=database or None,
        schema=schema or None,
        table=table or None,
        aliases=tuple(aliases),
    )


def _split_dotted(name: str) -> list[str]:
    """Split ``a.b.c`` honouring double quotes and backticks around dotted parts."""
    if '"' not in name and "`" not in name:
        return name.split(".")
    parts: list[str] = []
    cur: list[str] = []
    quote: str | None = None
    for ch in name:
        if quote:
            if ch == quote:
                quote = None
            else:
                cur.append(ch)
        elif ch in ('"', "`"):
            quote = ch
        elif ch == ".":
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def symlinks_of(facets: Mapping[str, Any] | None) -> list[tuple[str, str, str]]:
    """``(namespace, name, type)`` of each symlink identifier in a dataset's facets."""
    raw = (facets or {}).get("symlinks")
    if not isinstance(raw, dict) or raw.get("_deleted"):
        return []
    out = []
    for ident in raw.get("identifiers") or []:
        if isinstance(ident, dict) and ident.get("namespace") and ident.get("name"):
            out.append((str(ident["namespace"]), str(ident["name"]), str(ident.get("type") or "TABLE")))
    return out


def dataset_identity(namespace: str, name: str, facets: Mapping[str, Any] | None = None) -> DatasetName:
    """Canonical identity of a dataset with its symlink aliases attached."""
    return canonical(namespace, name, [(n, m) for n, m, _ in symlinks_of(facets)])


# --------------------------------------------------------------------------- Marquez node ids

NodeType = Literal["dataset", "job", "datasetField", "run"]
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True, slots=True)
class NodeId:
    """A parsed Marquez node id; ``version`` is the ``#uuid`` suffix if any."""

    type: NodeType
    namespace: str
    name: str
    field: str | None = None
    version: str | None = None

    def __str__(self) -> str:
        base = f"{self.type}:{self.namespace}:{self.name}"
        if self.field is not None:
            base += f":{self.field}"
        return base + (f"#{self.version}" if self.version else "")


def node_id(kind: Literal["dataset", "job"], namespace: str, name: str) -> str:
    """Format a Marquez node id."""
    return f"{kind}:{namespace}:{name}"


def _namespace_split(rest: str) -> int:
    """Index of the colon separating namespace and name in ``{ns}:{name}``.

    Like Marquez: a ``:`` followed by ``//`` (scheme) or a digit (port) belongs to the
    namespace. Glue ARNs (``arn:aws:glue:region:account``) keep their five parts.
    """
    if rest.startswith("arn:"):
        idx = -1
        for _ in range(5):
            idx = rest.find(":", idx + 1)
            if idx < 0:
                return -1
        return idx
    i = 0
    while True:
        i = rest.find(":", i)
        if i < 0:
            return -1
        after = rest[i + 1 : i + 3]
        if after.startswith("//") or (after[:1].isdigit() and _port_follows(rest, i)):
            i += 1
            continue
        return i


def _port_follows(rest: str, i: int) -> bool:
    """True if ``rest[i]`` is the colon of ``host:port`` (digits up to the next ``:``/``/``/``,``)."""
    j = i + 1
    while j < len(rest) and rest[j].isdigit():
        j += 1
    return j == len(rest) or rest[j] in ":/,"


def parse_node_id(text: str) -> NodeId:
    """Parse ``dataset:{ns}:{name}``, ``job:{ns}:{name}``, ``datasetField:{ns}:{name}:{field}``
    or ``run:{uuid}``; ``#version`` suffixes are split off when they are UUIDs.

    Raises ``ValueError`` with a readable message for anything else.
    """
    raw = unquote(text) if "%3A" in text or "%2F" in text else text
    version: str | None = None
    if "#" in raw:
        head, _, tail = raw.rpartition("#")
        if _UUID_RE.match(tail):
            raw, version = head, tail
    kind, sep, rest = raw.partition(":")
    if not sep:
        raise ValueError(f"nodeId {text!r} must look like dataset:{{namespace}}:{{name}}")
    if kind == "run":
        return NodeId("run", "", rest, version=version)
    if kind not in ("dataset", "job", "datasetField"):
        raise ValueError(f"nodeId {text!r}: unknown node type {kind!r}")
    field_name: str | None = None
    if kind == "datasetField":
        rest, sep, field_name = rest.rpartition(":")
        if not sep:
            raise ValueError(f"nodeId {text!r} must look like datasetField:{{namespace}}:{{name}}:{{field}}")
    idx = _namespace_split(rest)
    if idx <= 0 or idx == len(rest) - 1:
        raise ValueError(f"nodeId {text!r} must look like {kind}:{{namespace}}:{{name}}")
    return NodeId(kind, rest[:idx], rest[idx + 1 :], field=field_name, version=version)  # type: ignore[arg-type]


def node_id_candidates(text: str) -> list[NodeId]:
    """Every plausible split of a node id, preferred first, for lookups that can check
    which (namespace, name) actually exists (names may themselves contain colons)."""
    first = parse_node_id(text)
    out = [first]
    if first.type in ("dataset", "job"):
        rest = f"{first.namespace}:{first.name}"
        i = rest.find(":")
        while i >= 0:
            cand = NodeId(first.type, rest[:i], rest[i + 1 :], version=first.version)
            if cand.name and cand.namespace and cand not in out:
                out.append(cand)
            i = rest.find(":", i + 1)
    return out
