"""Bulk upsert and delete of Atlan assets, with the lineage their processes represent.

A save is matched on (type, qualifiedName), or on a real guid, so the SDK's retried POSTs update
what the first one created. Every reference must name an existing asset or one in the same
request (or be a partial asset, `attributes.isPartial: true`); otherwise the whole request fails
with 404 naming it. The response is Atlas's EntityMutationResponse.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from headwater.atlan.entities import EntityIn, Ref, is_placeholder
from headwater.atlan.errors import AtlasError, bad_request, reference_not_found
from headwater.atlan.links import LinkPlan, now, parent_process_guid, stored_guids
from headwater.atlan.qualified import connector_of, parent_of, process_qualified_name
from headwater.atlan.render import header
from headwater.atlan.types import ATLAN_TYPE, PROCESS_TYPES, STORED_AS, TABLE_TYPES, asset_type_for
from headwater.identity.fqn import FqnError
from headwater.model.assets import Asset, AssetInput
from headwater.model.types import AssetType
from headwater.store import Store

Key = tuple[str, str]
DELETE_TYPES = ("PURGE", "HARD", "SOFT")
_ORDER = {AssetType.CONNECTION: 0, AssetType.PROCESS: 1_000_000, AssetType.COLUMN_PROCESS: 2_000_000}


@dataclass
class _Plan:
    """What one asset of the request becomes."""

    entity: EntityIn
    key: Key
    guid: str
    existing: Asset | None
    relations_changed: bool = False
    only_relationship_delta: bool = False
    result: Asset | None = None
    created: bool = False
    ends_changed: set[str] = field(default_factory=set)
    placeholders: list[str] = field(default_factory=list)


def _key(asset_type: AssetType, qn: str) -> Key:
    return (asset_type.value, qn)


def _ref_json(asset_guid: str, type_name: str) -> dict[str, str]:
    return {"guid": asset_guid, "typeName": type_name}


class AtlanWriter:
    """Saves and deletes Atlan entities in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- save ---------------------------------------------------------------------------------

    def save(self, entities: Sequence[EntityIn], actor: str | None) -> dict[str, Any]:
        for e in entities:
            self._complete_qualified_name(e)
        restored: list[int] = []
        plans, response = self.store.retrying(lambda conn: self._save(conn, entities, actor, restored))
        for pk in restored:
            self.store.restore_asset(pk, actor)
        del plans
        return response

    @staticmethod
    def _complete_qualified_name(e: EntityIn) -> None:
        """A process sent without a qualifiedName gets the one pyatlan's creator would give it."""
        if e.qualified_name or not e.is_process:
            return
        connection = e.attributes.get("connectionQualifiedName")
        name = e.attributes.get("name")
        if not isinstance(connection, str) or not isinstance(name, str):
            raise bad_request(
                f"entities[{e.index}]: qualifiedName is required (or name and connectionQualifiedName, "
                "from which the SDK's recipe derives it)"
            )
        inputs = e.relations.get("inputs") or []
        outputs = e.relations.get("outputs") or []
        parent = e.relations.get("process")
        e.qualified_name = process_qualified_name(
            name,
            connection,
            parent_guid=parent.guid if isinstance(parent, Ref) else None,
            input_guids=[r.guid for r in inputs] if isinstance(inputs, list) else [],
            output_guids=[r.guid for r in outputs] if isinstance(outputs, list) else [],
        )

    def _save(
        self, conn: Connection, entities: Sequence[EntityIn], actor: str | None, restored: list[int]
    ) -> tuple[list[_Plan], dict[str, Any]]:
        restored.clear()
        store = self.store
        # 1. everything the request names, in two bulk reads
        ids: set[str] = set()
        keys: set[Key] = set()
        for e in entities:
            if e.guid and not is_placeholder(e.guid):
                ids.add(e.guid)
            if e.qualified_name:
                keys.add(_key(e.asset_type, e.qualified_name))
            for r in _all_refs(e):
                if r.guid and not is_placeholder(r.guid):
                    ids.add(r.guid)
                if r.qualified_name:
                    keys.add(_key(r.asset_type, r.qualified_name))
        by_id = store.get_assets_by_ids(ids) if ids else {}
        by_key = store.get_assets_by_keys(keys) if keys else {}
        # 2. the target of each entity; entities naming the same asset are merged
        plans: list[_Plan] = []
        plan_by_key: dict[Key, _Plan] = {}
        plan_by_guid: dict[str, _Plan] = {}
        for e in entities:
            existing: Asset | None = None
            if e.guid and not is_placeholder(e.guid):
                existing = by_id.get(e.guid)
                if existing is not None:
                    if e.qualified_name and e.qualified_name != existing.fqn:
                        raise bad_request(
                            f"entities[{e.index}]: guid {e.guid} is {existing.fqn!r}; changing a "
                            f"qualifiedName (to {e.qualified_name!r}) is not supported"
                        )
                    if asset_type_for(e.type_name) is not existing.type:
                        raise bad_request(
                            f"entities[{e.index}]: guid {e.guid} is a {existing.type.value}, not a {e.type_name}"
                        )
                    e.qualified_name = existing.fqn
            if not e.qualified_name:
                raise bad_request(
                    f"entities[{e.index}] ({e.type_name}): attributes.qualifiedName is required",
                    code="ATLAS-400-00-01C",
                )
            key = _key(e.asset_type, e.qualified_name)
            if existing is None:
                existing = by_key.get(key)
                if existing is not None and e.guid and not is_placeholder(e.guid) and existing.id != e.guid:
                    raise AtlasError(
                        409,
                        "ATLAS-409-00-001",
                        f"entities[{e.index}]: {e.type_name} {e.qualified_name!r} already exists with guid "
                        f"{existing.id}, not {e.guid}",
                    )
            plan = plan_by_key.get(key)
            if plan is None:
                guid = (
                    existing.id
                    if existing
                    else (e.guid if e.guid and not is_placeholder(e.guid) else str(uuid.uuid4()))
                )
                plan = _Plan(entity=e, key=key, guid=guid, existing=existing)
                plans.append(plan)
                plan_by_key[key] = plan
            else:  # the same asset twice: later attributes and relations win
                plan.entity = _merge_entities(plan.entity, e)
            if e.guid:
                plan_by_guid[e.guid] = plan
                if is_placeholder(e.guid):
                    plan.placeholders.append(e.guid)
            plan_by_guid[plan.guid] = plan

        # 3. resolve every reference to a planned or stored asset
        def resolve(r: Ref, where: str) -> tuple[str, str]:
            if r.guid:
                plan = plan_by_guid.get(r.guid)
                if plan is not None:
                    return plan.guid, plan.entity.type_name
                asset = None if is_placeholder(r.guid) else by_id.get(r.guid)
                if asset is not None:
                    return asset.id, r.type_name
            if r.qualified_name:
                k = _key(r.asset_type, r.qualified_name)
                plan = plan_by_key.get(k)
                if plan is not None:
                    return plan.guid, plan.entity.type_name
                asset = by_key.get(k)
                if asset is not None:
                    return asset.id, r.type_name
                if r.partial:  # an OpenLineage-style partial asset, created as a placeholder
                    partial = EntityIn(
                        index=-1,
                        type_name=r.type_name,
                        guid=None,
                        qualified_name=r.qualified_name,
                        attributes={"isPartial": True},
                    )
                    plan = _Plan(entity=partial, key=k, guid=str(uuid.uuid4()), existing=None)
                    plans.append(plan)
                    plan_by_key[k] = plan
                    plan_by_guid[plan.guid] = plan
                    return plan.guid, r.type_name
            raise reference_not_found(f"{r.label()} ({where})")

        # 4. the assets to write
        items: list[tuple[_Plan, AssetInput]] = []
        old_refs: set[str] = set()
        position = 0
        while position < len(plans):  # resolving may add partial assets to the plan
            plan = plans[position]
            position += 1
            e = plan.entity
            ex = plan.existing
            attrs = dict(e.attributes)
            attrs[ATLAN_TYPE] = e.type_name
            if e.type_name in TABLE_TYPES and e.type_name != "Table" and "tableType" not in attrs:
                attrs["tableType"] = TABLE_TYPES[e.type_name]
            if e.asset_type is AssetType.CONNECTION and ex is None:
                _check_connection(e)
            if e.is_process:
                self._plan_relations(plan, attrs, resolve)
                if ex is not None:
                    old_refs.update(stored_guids(ex, "inputs"))
                    old_refs.update(stored_guids(ex, "outputs"))
                connection = attrs.get("connectionQualifiedName")
                if isinstance(connection, str) and not attrs.get("connectorName"):
                    attrs["connectorName"] = connector_of(connection)
            name = attrs.get("name") if isinstance(attrs.get("name"), str) and attrs.get("name") else None
            qn = e.qualified_name or ""
            name = name or (ex.name if ex else None) or qn.rstrip("/").rsplit("/", 1)[-1] or qn
            attrs["name"] = name
            attrs.pop("qualifiedName", None)
            for atlan_key, stored_key in STORED_AS.items():
                if atlan_key in attrs:
                    attrs[stored_key] = attrs.pop(atlan_key)
            partial = attrs.get("isPartial") is True
            if not partial and ex is not None and ex.partial:
                attrs["isPartial"] = False
            desc = attrs.get("userDescription") or attrs.get("description")
            assert e.qualified_name is not None
            items.append(
                (
                    plan,
                    AssetInput(
                        type=e.asset_type,
                        fqn=e.qualified_name,
                        name=name,
                        description=desc if isinstance(desc, str) else None,
                        parent_fqn=parent_of(e.asset_type, e.qualified_name),
                        attributes=attrs,
                        partial=partial,
                        id=plan.guid,
                    ),
                )
            )
            if ex is not None and ex.deleted and e.status != "DELETED":
                restored.append(ex.pk)
        items.sort(key=lambda pi: _ORDER.get(pi[1].type, pi[1].fqn.count("/")))
        try:
            results = store.upsert_assets([i for _, i in items], actor, conn=conn)
        except FqnError as exc:
            raise bad_request(f"Invalid qualifiedName: {exc}") from None
        for (plan, _), (asset, created) in zip(items, results, strict=True):
            plan.result = asset
            plan.created = created

        # 5. the lineage the processes represent
        known: dict[str, Asset] = {p.result.id: p.result for p in plans if p.result is not None}
        wanted = set(old_refs)
        for p in plans:
            if p.result is not None and p.result.type in PROCESS_TYPES:
                wanted.update(stored_guids(p.result, "inputs"))
                wanted.update(stored_guids(p.result, "outputs"))
        missing = wanted - set(known) - set(by_id)
        more = store.get_assets_by_ids(missing) if missing else {}
        lookup = {**by_id, **more, **known}
        links = LinkPlan()
        at = now()
        for p in plans:
            saved = p.result
            if saved is None or saved.type not in PROCESS_TYPES:
                continue
            prior = p.existing
            old = (
                links.process_pairs(prior, lookup, active=not prior.deleted)
                if prior is not None
                else (set(), {})
            )
            still_deleted = prior is not None and prior.deleted and p.entity.status == "DELETED"
            new = links.process_pairs(saved, lookup, active=not still_deleted)
            if prior is not None and old == new and _same_link_entry(prior, saved):
                continue  # a re-save (or a retried POST): the edges already say this
            links.change(saved, old, new, at)
        links.apply(store, conn, actor)
        return plans, _mutation_response(plans, lookup)

    @staticmethod
    def _plan_relations(plan: _Plan, attrs: dict[str, Any], resolve: Any) -> None:
        e = plan.entity
        ex = plan.existing
        where = f"entities[{e.index}]"
        for key in ("inputs", "outputs"):
            old = list(ex.attributes.get(key) or []) if ex is not None else []
            old_guids = [str(r.get("guid")) for r in old if isinstance(r, dict)]
            if key in e.relations:
                refs = e.relations[key]
                assert isinstance(refs, list)
                new = [_ref_json(*resolve(r, f"{where}.{key}[{i}]")) for i, r in enumerate(refs)]
            elif key in e.append or key in e.remove:
                new = list(old)
                for i, r in enumerate(e.append.get(key, [])):
                    item = _ref_json(*resolve(r, f"{where}.appendRelationshipAttributes.{key}[{i}]"))
                    if item["guid"] not in [n["guid"] for n in new]:
                        new.append(item)
                drop = {
                    resolve(r, f"{where}.removeRelationshipAttributes.{key}[{i}]")[0]
                    for i, r in enumerate(e.remove.get(key, []))
                }
                new = [n for n in new if n.get("guid") not in drop]
            else:
                if ex is None:
                    attrs[key] = []
                continue
            new = list({n["guid"]: n for n in new}.values())
            attrs[key] = new
            new_guids = [n["guid"] for n in new]
            if ex is None or ex.deleted:
                plan.ends_changed.update(new_guids)
            else:
                plan.ends_changed.update(set(old_guids) ^ set(new_guids))
        if "process" in e.relations:
            parent = e.relations["process"]
            attrs["process"] = (
                _ref_json(*resolve(parent, f"{where}.process")) if isinstance(parent, Ref) else None
            )
        has_parent = bool(attrs.get("process")) or (
            ex is not None and parent_process_guid(ex) and "process" not in attrs
        )
        if e.asset_type is AssetType.COLUMN_PROCESS and not has_parent:
            raise bad_request(f"{where}: a ColumnProcess needs its parent `process` (the Process it ran in)")
        only_delta = (e.append or e.remove) and not (set(e.attributes) - {"name", "qualifiedName"})
        plan.only_relationship_delta = bool(only_delta) and ex is not None

    # -- delete -------------------------------------------------------------------------------

    def delete(self, guids: Sequence[str], delete_type: str, actor: str | None) -> dict[str, Any]:
        if not guids:
            raise bad_request("Guid(s) not specified")
        delete_type = (delete_type or "SOFT").upper()
        if delete_type not in DELETE_TYPES:
            raise bad_request(f"deleteType must be one of {', '.join(DELETE_TYPES)}, not {delete_type!r}")
        store = self.store
        found = store.get_assets_by_ids(guids)
        targets = [found[g] for g in dict.fromkeys(guids) if g in found]
        if not targets:
            return {"mutatedEntities": {}, "guidAssignments": {}}
        refs: set[str] = set()
        for a in targets:
            if a.type in PROCESS_TYPES:
                refs.update(stored_guids(a, "inputs"))
                refs.update(stored_guids(a, "outputs"))
        lookup = (
            {**store.get_assets_by_ids(refs), **{a.id: a for a in targets}}
            if refs
            else {a.id: a for a in targets}
        )
        deleted_ids = {a.id for a in targets}
        updated: dict[str, Asset] = {}

        def unlink(conn: Connection) -> None:
            links = LinkPlan()
            at = now()
            for a in targets:
                if a.type in PROCESS_TYPES and not a.deleted:
                    old = links.process_pairs(a, lookup, active=True)
                    links.change(a, old, (set(), {}), at)
                    for g in stored_guids(a, "inputs") + stored_guids(a, "outputs"):
                        if g in lookup and g not in deleted_ids:
                            updated[g] = lookup[g]
            links.apply(store, conn, actor)

        store.retrying(unlink)
        for a in targets:
            if delete_type == "SOFT":
                if not a.deleted:
                    store.soft_delete_asset(a.pk, actor)
            else:
                store.hard_delete_asset(a.pk)
        handler = delete_type
        mutated: dict[str, Any] = {
            "DELETE": [header(a, deleted=True, delete_handler=handler) for a in targets]
        }
        if updated:
            mutated["UPDATE"] = [header(a) for a in updated.values()]
        return {"mutatedEntities": mutated, "guidAssignments": {}}


def _all_refs(e: EntityIn) -> list[Ref]:
    out: list[Ref] = []
    for value in e.relations.values():
        if isinstance(value, Ref):
            out.append(value)
        elif isinstance(value, list):
            out.extend(value)
    for refs in list(e.append.values()) + list(e.remove.values()):
        out.extend(refs)
    return out


def _merge_entities(first: EntityIn, later: EntityIn) -> EntityIn:
    merged = EntityIn(
        index=later.index,
        type_name=later.type_name,
        guid=first.guid or later.guid,
        qualified_name=later.qualified_name,
        attributes={**first.attributes, **later.attributes},
        relations={**first.relations, **later.relations},
        append={**first.append, **later.append},
        remove={**first.remove, **later.remove},
        status=later.status or first.status,
    )
    return merged


def _same_link_entry(before: Asset, after: Asset) -> bool:
    """Whether the edges' record of a process (name, qualifiedName, SQL) is still right."""
    return (
        before.name == after.name
        and before.fqn == after.fqn
        and before.attributes.get("sql") == after.attributes.get("sql")
    )


def _check_connection(e: EntityIn) -> None:
    admins = [e.attributes.get(k) for k in ("adminUsers", "adminGroups", "adminRoles")]
    if not any(isinstance(v, list) and v for v in admins):
        raise bad_request(
            f"entities[{e.index}]: a Connection needs at least one of adminUsers, adminGroups or adminRoles",
            code="ATLAS-400-00-08A",
        )


def _mutation_response(plans: list[_Plan], lookup: dict[str, Asset]) -> dict[str, Any]:
    created: list[dict[str, Any]] = []
    updated: dict[str, dict[str, Any]] = {}
    partial: list[dict[str, Any]] = []
    assignments: dict[str, str] = {}
    in_request = {p.guid for p in plans}
    for p in plans:
        asset = p.result
        if asset is None:
            continue
        if p.created:
            created.append(header(asset))
        elif p.only_relationship_delta:
            partial.append(header(asset))
        else:
            updated[asset.id] = header(asset)
        for placeholder in p.placeholders:
            assignments[placeholder] = asset.id
    for p in plans:
        for g in sorted(p.ends_changed):
            if g in in_request or g in updated:
                continue
            end = lookup.get(g)
            if end is not None:
                updated[g] = header(end)
    mutated: dict[str, Any] = {}
    if created:
        mutated["CREATE"] = created
    if updated:
        mutated["UPDATE"] = list(updated.values())
    if partial:
        mutated["PARTIAL_UPDATE"] = partial
    return {"mutatedEntities": mutated, "guidAssignments": assignments}
