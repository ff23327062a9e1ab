"""Stored assets as Atlan JSON: entity headers (mutation responses, lineage lists) and entities."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from headwater.atlan.qualified import connection_of, connector_of
from headwater.atlan.types import ATLAN_TYPE, LOADED_AS, type_name_for
from headwater.model.assets import Asset

ACTOR = "headwater"
# keys headwater keeps in an asset's attributes for its own use, never shown as Atlan attributes
INTERNAL_KEYS = frozenset({ATLAN_TYPE})
ATLAN_TABLE_TYPES = frozenset({"TEMPORARY", "ICEBERG", "KUDU"})


def type_name(asset: Asset) -> str:
    return type_name_for(asset.type, asset.attributes)


def is_atlan(asset: Asset) -> bool:
    return ATLAN_TYPE in asset.attributes


def status(asset: Asset) -> str:
    return "DELETED" if asset.deleted else "ACTIVE"


def atlan_attributes(asset: Asset) -> dict[str, Any]:
    """The Atlan attributes of an asset (only the basics for assets other APIs created)."""
    if is_atlan(asset):
        attrs = {LOADED_AS.get(k, k): v for k, v in asset.attributes.items() if k not in INTERNAL_KEYS}
        if attrs.get("tableType") not in ATLAN_TABLE_TYPES:
            attrs.pop("tableType", None)  # OpenMetadata's tableType, kept for the other APIs
    else:
        attrs = {}
        if asset.description:
            attrs["description"] = asset.description
        connection = connection_of(asset.fqn)
        if connection:
            attrs["connectionQualifiedName"] = connection
            attrs["connectorName"] = connector_of(asset.fqn)
    attrs["qualifiedName"] = asset.fqn
    attrs["name"] = asset.name
    if asset.partial:
        attrs["isPartial"] = True
    return attrs


def header(
    asset: Asset,
    *,
    attributes: Iterable[str] = (),
    deleted: bool = False,
    delete_handler: str | None = None,
) -> dict[str, Any]:
    """An AtlasEntityHeader: what mutation responses and lineage lists carry."""
    attrs: dict[str, Any] = {"qualifiedName": asset.fqn, "name": asset.name}
    wanted = [k for k in attributes if k not in attrs]
    if wanted:
        all_attrs = atlan_attributes(asset)
        for key in wanted:
            if key in all_attrs:
                attrs[key] = all_attrs[key]
    out: dict[str, Any] = {
        "typeName": type_name(asset),
        "guid": asset.id,
        "status": "DELETED" if deleted else status(asset),
        "displayText": asset.display_name or asset.name,
        "attributes": attrs,
        "classificationNames": [],
        "meaningNames": [],
        "meanings": [],
        "isIncomplete": False,
        "labels": [],
        "createdBy": ACTOR,
        "updatedBy": asset.updated_by or ACTOR,
        "createTime": asset.created_at,
        "updateTime": asset.updated_at,
    }
    if delete_handler:
        out["deleteHandler"] = delete_handler
    return out


def ref(asset: Asset | None, stored: Mapping[str, Any]) -> dict[str, Any]:
    """A reference to a related asset, as Atlas shows it inside an entity."""
    if asset is None:
        return {"typeName": stored.get("typeName", "Asset"), "guid": stored.get("guid")}
    return {
        "typeName": type_name(asset),
        "guid": asset.id,
        "displayText": asset.display_name or asset.name,
        "entityStatus": status(asset),
        "uniqueAttributes": {"qualifiedName": asset.fqn},
        "attributes": {"qualifiedName": asset.fqn, "name": asset.name},
    }


def entity(
    asset: Asset,
    *,
    related: Mapping[str, Asset],
    relationships: Mapping[str, list[Asset]] | None = None,
) -> dict[str, Any]:
    """A full AtlasEntity (`GET /entity/guid/...`); stored references are filled in from `related`."""
    attrs = atlan_attributes(asset)
    for key, value in list(attrs.items()):
        if isinstance(value, dict) and "typeName" in value and "guid" in value:
            attrs[key] = ref(related.get(str(value["guid"])), value)
        elif isinstance(value, list) and value and all(isinstance(v, dict) and "guid" in v for v in value):
            refs = [ref(related.get(str(v["guid"])), v) for v in value]
            # a purged related asset is no longer linked
            attrs[key] = [r for r in refs if str(r["guid"]) in related or key not in ("inputs", "outputs")]
    out: dict[str, Any] = {
        "typeName": type_name(asset),
        "guid": asset.id,
        "status": status(asset),
        "isIncomplete": False,
        "createdBy": ACTOR,
        "updatedBy": asset.updated_by or ACTOR,
        "createTime": asset.created_at,
        "updateTime": asset.updated_at,
        "labels": [],
        "classificationNames": [],
        "attributes": attrs,
        "customAttributes": {},
    }
    if relationships is not None:
        rel: dict[str, Any] = {}
        for key, assets in relationships.items():
            rel[key] = [ref(a, {}) for a in assets]
        if rel:
            attrs.update(rel)
            attrs["__hasLineage"] = any(rel.values()) or bool(attrs.get("inputs") or attrs.get("outputs"))
    return out
