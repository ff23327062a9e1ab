"""OpenMetadata's JSON for entities: their collections, their create requests and their read shape.

OpenMetadata's SDK parses entities into models that forbid unknown keys, so the read shape carries
only OpenMetadata fields: what the create request said, plus the references and bookkeeping fields
every entity has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from headwater.api.errors import ApiError
from headwater.identity.fqn import FqnError, build, quote_name
from headwater.model.assets import Asset, AssetInput, ColumnInput
from headwater.model.types import SERVICE_TYPES, AssetType
from headwater.secrets import mask
from headwater.store import Store


@dataclass(frozen=True)
class Collection:
    """One OpenMetadata entity collection: its URL path, asset type and create-request layout."""

    path: str  # under /api/v1
    type: AssetType
    parent_field: str | None = None  # the create-request field naming the parent by FQN
    columns_path: tuple[str, ...] | None = None  # where column-like children live in the JSON
    search_index: str | None = None


COLLECTIONS: list[Collection] = [
    Collection(
        "services/databaseServices", AssetType.DATABASE_SERVICE, search_index="database_service_search_index"
    ),
    Collection(
        "services/messagingServices",
        AssetType.MESSAGING_SERVICE,
        search_index="messaging_service_search_index",
    ),
    Collection(
        "services/dashboardServices",
        AssetType.DASHBOARD_SERVICE,
        search_index="dashboard_service_search_index",
    ),
    Collection(
        "services/pipelineServices", AssetType.PIPELINE_SERVICE, search_index="pipeline_service_search_index"
    ),
    Collection(
        "services/storageServices", AssetType.STORAGE_SERVICE, search_index="storage_service_search_index"
    ),
    Collection(
        "services/mlmodelServices", AssetType.MLMODEL_SERVICE, search_index="mlmodel_service_search_index"
    ),
    Collection(
        "services/searchServices", AssetType.SEARCH_SERVICE, search_index="search_service_search_index"
    ),
    Collection("services/apiServices", AssetType.API_SERVICE, search_index="api_service_search_index"),
    Collection("databases", AssetType.DATABASE, "service", search_index="database_search_index"),
    Collection(
        "databaseSchemas", AssetType.DATABASE_SCHEMA, "database", search_index="database_schema_search_index"
    ),
    Collection("tables", AssetType.TABLE, "databaseSchema", ("columns",), search_index="table_search_index"),
    Collection(
        "storedProcedures",
        AssetType.STORED_PROCEDURE,
        "databaseSchema",
        search_index="stored_procedure_search_index",
    ),
    Collection("dashboards", AssetType.DASHBOARD, "service", search_index="dashboard_search_index"),
    Collection("charts", AssetType.CHART, "service", search_index="chart_search_index"),
    Collection(
        "dashboard/datamodels",
        AssetType.DASHBOARD_DATA_MODEL,
        "service",
        ("columns",),
        search_index="dashboard_data_model_search_index",
    ),
    Collection("pipelines", AssetType.PIPELINE, "service", search_index="pipeline_search_index"),
    Collection(
        "topics",
        AssetType.TOPIC,
        "service",
        ("messageSchema", "schemaFields"),
        search_index="topic_search_index",
    ),
    Collection(
        "mlmodels", AssetType.MLMODEL, "service", ("mlFeatures",), search_index="mlmodel_search_index"
    ),
    Collection(
        "containers",
        AssetType.CONTAINER,
        "service",
        ("dataModel", "columns"),
        search_index="container_search_index",
    ),
    Collection(
        "searchIndexes",
        AssetType.SEARCH_INDEX,
        "service",
        ("fields",),
        search_index="search_entity_search_index",
    ),
    Collection(
        "apiCollections", AssetType.API_COLLECTION, "service", search_index="api_collection_search_index"
    ),
    Collection(
        "apiEndpoints", AssetType.API_ENDPOINT, "apiCollection", search_index="api_endpoint_search_index"
    ),
    Collection("metrics", AssetType.METRIC, search_index="metric_search_index"),
]
BY_TYPE: dict[AssetType, Collection] = {c.type: c for c in COLLECTIONS}
BY_INDEX: dict[str, Collection] = {c.search_index: c for c in COLLECTIONS if c.search_index}

# Fields of a create request that are not stored as free attributes.
_STRUCTURAL = {
    "name",
    "displayName",
    "description",
    "fullyQualifiedName",
    "id",
    "href",
    "version",
    "updatedAt",
    "updatedBy",
    "deleted",
    "changeDescription",
    "incrementalChangeDescription",
    "service",
    "database",
    "databaseSchema",
    "apiCollection",
    "parent",
}


def type_from_path_segment(segment: str) -> AssetType:
    """`table` -> AssetType.TABLE; a clear 400 for anything else."""
    try:
        return AssetType(segment)
    except ValueError:
        valid = ", ".join(sorted(t.value for t in AssetType if t is not AssetType.COLUMN))
        raise ApiError(400, f"Unknown entity type {segment!r}; valid types: {valid}") from None


def href(base_url: str, asset: Asset) -> str:
    coll = BY_TYPE.get(asset.type)
    path = coll.path if coll else "headwater/assets"
    return f"{base_url.rstrip('/')}/api/v1/{path}/{asset.id}"


def entity_ref(asset: Asset, base_url: str) -> dict[str, Any]:
    """An OpenMetadata EntityReference (exactly its keys: the SDK forbids extra ones)."""
    ref: dict[str, Any] = {
        "id": asset.id,
        "type": asset.type.value,
        "name": asset.name,
        "fullyQualifiedName": asset.fqn,
        "deleted": asset.deleted,
        "href": href(base_url, asset),
    }
    if asset.display_name:
        ref["displayName"] = asset.display_name
    if asset.description:
        ref["description"] = asset.description
    return ref


def _get_path(doc: dict[str, Any], path: tuple[str, ...]) -> Any:
    cur: Any = doc
    for key in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(key)
    return cur


def _set_path(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    cur = doc
    for key in path[:-1]:
        nxt = cur.get(key)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[key] = nxt
        cur = nxt
    cur[path[-1]] = value


def _columns_from_json(raw: Any, where: str) -> list[ColumnInput]:
    if not isinstance(raw, list):
        raise ApiError(400, f"{where} must be a list of columns")
    cols: list[ColumnInput] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not item.get("name"):
            raise ApiError(400, f"{where}[{i}].name is required")
        attrs = {k: v for k, v in item.items() if k not in ("name", "description", "fullyQualifiedName")}
        cols.append(
            ColumnInput(
                name=str(item["name"]),
                data_type=item.get("dataType"),
                description=item.get("description"),
                attributes=attrs,
            )
        )
    return cols


def _parent_fqn(value: Any, field: str) -> str:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, dict) and (value.get("fullyQualifiedName") or value.get("name")):
        return str(value.get("fullyQualifiedName") or value.get("name"))
    raise ApiError(400, f"`{field}` must be the FQN of the parent entity")


def create_request_to_input(store: Store, coll: Collection, body: dict[str, Any]) -> AssetInput:
    """Turn an OpenMetadata CreateXRequest into an asset, checking that its parent exists."""
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise ApiError(400, "`name` is required")
    try:
        quoted = quote_name(name)
    except FqnError as exc:
        raise ApiError(400, str(exc)) from None
    parent_fqn: str | None = None
    if coll.type in SERVICE_TYPES:
        fqn = quoted
    elif coll.type is AssetType.CONTAINER and body.get("parent"):
        parent = body["parent"]
        parent_asset = None
        if isinstance(parent, dict) and parent.get("id"):
            parent_asset = store.get_asset(str(parent["id"]))
        if parent_asset is None:
            raise ApiError(404, f"parent container {parent!r} not found")
        parent_fqn = parent_asset.fqn
        fqn = f"{parent_fqn}.{quoted}"
    elif coll.parent_field is None:
        fqn = quoted
    else:
        if coll.parent_field not in body:
            raise ApiError(400, f"`{coll.parent_field}` is required: the FQN of the parent")
        parent_fqn = _parent_fqn(body[coll.parent_field], coll.parent_field)
        from headwater.identity.hierarchy import parent_candidates

        probe = f"{parent_fqn}.{quoted}"
        cand_types = [t for t, _ in parent_candidates(coll.type, probe)] or list(SERVICE_TYPES)
        fqn = f"{parent_fqn}.model.{quoted}" if coll.type is AssetType.DASHBOARD_DATA_MODEL else probe
        if not any(store.get_asset_by_fqn(t, parent_fqn) for t in cand_types):
            kind = cand_types[0].value if cand_types else coll.parent_field
            raise ApiError(404, f"{kind} instance for {parent_fqn} not found")
    attributes = {k: v for k, v in body.items() if k not in _STRUCTURAL}
    columns = None
    if coll.columns_path is not None:
        raw = _get_path(body, coll.columns_path)
        if raw is not None:
            columns = _columns_from_json(raw, ".".join(coll.columns_path))
            # the columns live as child assets; keep the rest of the container object
            if len(coll.columns_path) == 1:
                attributes.pop(coll.columns_path[0], None)
            else:
                holder = dict(attributes.get(coll.columns_path[0]) or {})
                holder.pop(coll.columns_path[-1], None)
                attributes[coll.columns_path[0]] = holder
    return AssetInput(
        type=coll.type,
        fqn=fqn,
        name=name,
        display_name=body.get("displayName"),
        description=body.get("description"),
        parent_fqn=parent_fqn,
        attributes=attributes,
        columns=columns,
    )


# The keys each kind of column-like child may carry: the SDK's models forbid any other key (the store
# adds e.g. `ordinalPosition` to every child, which only a table Column has).
_COLUMN_KEYS = frozenset(
    {
        "arrayDataType", "children", "constraint", "customMetrics", "dataLength", "dataType",
        "dataTypeDisplay", "description", "displayName", "extension", "fullyQualifiedName", "jsonSchema",
        "name", "ordinalPosition", "precision", "profile", "scale", "tags",
    }
)  # fmt: skip
_FIELD_KEYS = frozenset(
    {
        "children",
        "dataType",
        "dataTypeDisplay",
        "description",
        "displayName",
        "fullyQualifiedName",
        "name",
        "tags",
    }
)  # topic messageSchema.schemaFields, searchIndex fields
_ML_FEATURE_KEYS = frozenset(
    {"dataType", "description", "featureAlgorithm", "featureSources", "fullyQualifiedName", "name", "tags"}
)
_CHILD_KEYS: dict[AssetType, frozenset[str]] = {
    AssetType.TOPIC: _FIELD_KEYS,
    AssetType.SEARCH_INDEX: _FIELD_KEYS,
    AssetType.MLMODEL: _ML_FEATURE_KEYS,
}


def _column_json(col: Asset, children: dict[int, list[Asset]], keys: frozenset[str]) -> dict[str, Any]:
    attrs = dict(col.attributes)
    out: dict[str, Any] = {"name": col.name, **{k: v for k, v in attrs.items() if not k.startswith("_")}}
    if attrs.get("dataType") or keys is not _ML_FEATURE_KEYS:  # an ML feature's dataType is optional
        out["dataType"] = attrs.get("dataType") or "UNKNOWN"
    out["fullyQualifiedName"] = col.fqn
    if col.description:
        out["description"] = col.description
    if col.display_name:
        out["displayName"] = col.display_name
    out.setdefault("tags", [])
    kids = children.get(col.pk) or []
    if kids and "children" in keys:
        out["children"] = [_column_json(k, children, keys) for k in kids]
    else:
        out.pop("children", None)
    return {k: v for k, v in out.items() if k in keys}


def columns_json(store: Store, asset: Asset) -> list[dict[str, Any]]:
    """The columns of an asset as OpenMetadata Column objects, nested children included.

    For topics, search indexes and ML models, the children are schema fields, index fields and
    features, each with only the keys its OpenMetadata model allows.
    """
    all_children: dict[int, list[Asset]] = {}
    frontier = [asset.pk]
    while frontier:
        found = store.columns_of(frontier)
        all_children.update(found)
        frontier = [c.pk for cols in found.values() for c in cols]
    keys = _CHILD_KEYS.get(asset.type, _COLUMN_KEYS)
    return [_column_json(c, all_children, keys) for c in all_children.get(asset.pk, [])]


def ancestors(store: Store, asset: Asset) -> list[Asset]:
    out: list[Asset] = []
    cur = asset
    while cur.parent_pk is not None and len(out) < 10:
        parent = store.get_asset_by_pk(cur.parent_pk)
        if parent is None:
            break
        out.append(parent)
        cur = parent
    return out


_REF_FIELD = {
    AssetType.DATABASE: "database",
    AssetType.DATABASE_SCHEMA: "databaseSchema",
    AssetType.API_COLLECTION: "apiCollection",
}


# Create-request fields that name other entities by FQN where the entity holds references:
# field -> the type the FQNs name (None: entities headwater does not keep, such as domains).
_FQN_LIST_FIELDS: dict[str, AssetType | None] = {
    "charts": AssetType.CHART,
    "dataModels": AssetType.DASHBOARD_DATA_MODEL,
    "domains": None,
    "dataProducts": None,
}


def _references(
    store: Store, value: Any, asset_type: AssetType | None, base_url: str
) -> list[dict[str, Any]]:
    """FQN strings of a create request as the EntityReferences the entity carries (unknown ones dropped)."""
    refs: list[dict[str, Any]] = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, dict) and item.get("id") and item.get("type"):
            refs.append(item)
        elif isinstance(item, str) and asset_type is not None:
            found = store.get_asset_by_fqn(asset_type, item)
            if found is not None:
                refs.append(entity_ref(found, base_url))
    return refs


def entity_json(store: Store, asset: Asset, base_url: str) -> dict[str, Any]:
    """The full OpenMetadata entity for an asset."""
    doc: dict[str, Any] = {
        k: v for k, v in asset.attributes.items() if not k.startswith("_") and k not in ("partial",)
    }
    for field, ref_type in _FQN_LIST_FIELDS.items():
        if field in doc:
            refs = _references(store, doc[field], ref_type, base_url)
            if refs:
                doc[field] = refs
            else:
                doc.pop(field)
    doc.update(
        {
            "id": asset.id,
            "name": asset.name,
            "fullyQualifiedName": asset.fqn,
            "version": asset.version,
            "updatedAt": asset.updated_at,
            "updatedBy": asset.updated_by or "admin",
            "href": href(base_url, asset),
            "deleted": asset.deleted,
        }
    )
    if asset.display_name:
        doc["displayName"] = asset.display_name
    if asset.description:
        doc["description"] = asset.description
    if asset.type in SERVICE_TYPES:
        if "connection" in doc:
            doc["connection"] = mask(doc["connection"])
        return doc
    for parent in ancestors(store, asset):
        if parent.type in SERVICE_TYPES:
            doc["service"] = entity_ref(parent, base_url)
            if parent.attributes.get("serviceType"):
                doc["serviceType"] = parent.attributes["serviceType"]
        elif parent.type in _REF_FIELD and asset.type is not AssetType.CONTAINER:
            doc[_REF_FIELD[parent.type]] = entity_ref(parent, base_url)
        elif parent.type is AssetType.CONTAINER and "parent" not in doc:
            doc["parent"] = entity_ref(parent, base_url)
    coll = BY_TYPE.get(asset.type)
    if coll is not None and coll.columns_path is not None:
        cols = columns_json(store, asset)
        if cols or _get_path(doc, coll.columns_path) is not None or coll.type is AssetType.TABLE:
            _set_path(doc, coll.columns_path, cols)
    return doc


def build_child_fqn(parent_fqn: str, name: str) -> str:
    return f"{parent_fqn}.{build(name)}"
