"""Parsing the entities of a bulk request and the references they hold.

A reference names an asset by guid (a real one, or a negative placeholder of an entity in the
same request) or by `uniqueAttributes.qualifiedName`; the SDK adds `"attributes": {}` to each.
Relationship attributes may come under `attributes` (what pyatlan sends) or
`relationshipAttributes` (Atlan's raw REST examples); both are accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from headwater.atlan.errors import bad_request
from headwater.atlan.types import asset_type_for, is_process_type
from headwater.model.types import AssetType

# relationship attributes headwater resolves and stores (the rest are kept as given)
PROCESS_RELATIONS = ("inputs", "outputs", "process")
MAX_ENTITIES = 10_000
# read-only or derived attributes never stored from a request
_DERIVED = frozenset(
    {"inputToProcesses", "outputFromProcesses", "columnProcesses", "__hasLineage", "qualifiedName"}
)


def is_placeholder(guid: str | None) -> bool:
    return bool(guid) and str(guid).startswith("-")


@dataclass(frozen=True)
class Ref:
    """A reference to an asset by guid and/or qualifiedName."""

    type_name: str
    guid: str | None = None
    qualified_name: str | None = None
    partial: bool = False

    @property
    def asset_type(self) -> AssetType:
        return asset_type_for(self.type_name)

    def label(self) -> str:
        if self.guid:
            return self.guid
        return f"{self.type_name}:{{qualifiedName={self.qualified_name}}}"


@dataclass
class EntityIn:
    """One entity of a bulk save, split into plain attributes and relationship references."""

    index: int
    type_name: str
    guid: str | None
    qualified_name: str | None
    attributes: dict[str, Any]
    relations: dict[str, list[Ref] | Ref | None] = field(default_factory=dict)
    append: dict[str, list[Ref]] = field(default_factory=dict)
    remove: dict[str, list[Ref]] = field(default_factory=dict)
    status: str | None = None

    @property
    def asset_type(self) -> AssetType:
        return asset_type_for(self.type_name)

    @property
    def is_process(self) -> bool:
        return is_process_type(self.type_name)


def _is_ref(value: Any) -> bool:
    return (
        isinstance(value, dict) and "typeName" in value and ("guid" in value or "uniqueAttributes" in value)
    )


def parse_ref(value: Any, where: str) -> Ref:
    if not isinstance(value, dict):
        raise bad_request(
            f"{where}: a reference must be an object with typeName and guid or uniqueAttributes"
        )
    type_name = value.get("typeName")
    if not isinstance(type_name, str) or not type_name:
        raise bad_request(f"{where}: a reference needs a typeName")
    guid = value.get("guid")
    unique = value.get("uniqueAttributes") or {}
    attrs = value.get("attributes") or {}
    qn = (unique.get("qualifiedName") if isinstance(unique, dict) else None) or (
        attrs.get("qualifiedName") if isinstance(attrs, dict) else None
    )
    if not guid and not qn:
        raise bad_request(f"{where}: a reference needs a guid or uniqueAttributes.qualifiedName")
    partial = bool(isinstance(attrs, dict) and attrs.get("isPartial"))
    return Ref(type_name, str(guid) if guid else None, str(qn) if qn else None, partial)


def _refs(value: Any, where: str) -> list[Ref]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_request(f"{where}: expected a list of references")
    return [parse_ref(v, f"{where}[{i}]") for i, v in enumerate(value)]


def _minimal_ref(value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"typeName": value["typeName"]}
    if value.get("guid") and not is_placeholder(str(value["guid"])):
        out["guid"] = value["guid"]
    unique = value.get("uniqueAttributes") or {}
    if isinstance(unique, dict) and unique.get("qualifiedName"):
        out["uniqueAttributes"] = {"qualifiedName": unique["qualifiedName"]}
    return out


def parse_entity(raw: Any, index: int) -> EntityIn:
    where = f"entities[{index}]"
    if not isinstance(raw, dict):
        raise bad_request(f"{where}: an entity must be a JSON object")
    type_name = raw.get("typeName")
    if not isinstance(type_name, str) or not type_name:
        raise bad_request(f"{where}: typeName is required")
    attributes = raw.get("attributes") or {}
    rel_attrs = raw.get("relationshipAttributes") or {}
    if not isinstance(attributes, dict) or not isinstance(rel_attrs, dict):
        raise bad_request(f"{where}: attributes must be an object")
    merged = {**attributes, **{k: v for k, v in rel_attrs.items() if v is not None}}
    unique = raw.get("uniqueAttributes") or {}
    qn = merged.get("qualifiedName") or (unique.get("qualifiedName") if isinstance(unique, dict) else None)
    if qn is not None and not isinstance(qn, str):
        raise bad_request(f"{where}: qualifiedName must be a string")
    guid = raw.get("guid")
    entity = EntityIn(
        index=index,
        type_name=type_name,
        guid=str(guid) if guid not in (None, "") else None,
        qualified_name=qn or None,
        attributes={},
        status=raw.get("status") if isinstance(raw.get("status"), str) else None,
    )
    process = is_process_type(type_name)
    for key, value in merged.items():
        if key in _DERIVED:
            continue
        if process and key in PROCESS_RELATIONS:
            if key == "process":
                entity.relations[key] = parse_ref(value, f"{where}.process") if value else None
            else:
                entity.relations[key] = _refs(value, f"{where}.{key}")
        elif _is_ref(value):
            entity.attributes[key] = _minimal_ref(value)
        elif isinstance(value, list) and value and all(_is_ref(v) for v in value):
            entity.attributes[key] = [_minimal_ref(v) for v in value]
        else:
            entity.attributes[key] = value
    for src, dst in (
        ("appendRelationshipAttributes", entity.append),
        ("removeRelationshipAttributes", entity.remove),
    ):
        extra = raw.get(src) or {}
        if not isinstance(extra, dict):
            raise bad_request(f"{where}.{src} must be an object")
        for key, value in extra.items():
            if key in ("inputs", "outputs") and process:
                dst[key] = _refs(value, f"{where}.{src}.{key}")
    return entity


def parse_bulk(body: Any, max_entities: int = MAX_ENTITIES) -> list[EntityIn]:
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object with an `entities` array")
    raw = body.get("entities")
    if raw is None and "entity" in body:  # the single-entity form
        raw = [body["entity"]]
    if not isinstance(raw, list) or not raw:
        raise bad_request("No entities to create/update were specified: send `entities` as a non-empty array")
    if len(raw) > max_entities:
        raise bad_request(
            f"Too many entities in one request: {len(raw)} (the limit is {max_entities}); split the request, "
            "or raise the limit with the HEADWATER_MAX_BULK_ENTITIES environment variable of the server",
            code="ATLAS-400-00-212",
        )
    return [parse_entity(e, i) for i, e in enumerate(raw)]
