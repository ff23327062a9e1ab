"""Per-connection admins of Atlan-style connections, enforced on writes to their assets.

An Atlan Connection names who administers it: ``adminUsers`` (user names), ``adminGroups`` (group
names) and ``adminRoles`` (workspace roles, by name such as ``$admin`` or by role id). When a stored
connection lists any of them, a non-admin token may create, change or delete assets under it (the
connection itself included) only if its user is in ``adminUsers``, one of its groups is in
``adminGroups`` or its role is in ``adminRoles``. Tokens with the global admin role always may: they
are how a connection's admins are set in the first place. A connection not stored yet has no admins.

The rule holds on every API that writes assets: the Atlan API (bulk save and delete) and the
OpenMetadata-style API (entity create, update, patch, delete and restore; lineage edges added,
patched or deleted, which touch both their ends). The service paths that record what pipelines
report (OpenLineage events, the ingestion sinks, Kafka and Kinesis consumers) are not asked: they
need an editor token, a token scoped to a connection is refused on them, and they add runs, lineage
and partial assets rather than edit an asset's saved metadata.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from headwater.atlan.directory import group_name, role_name_for, stable_id
from headwater.atlan.errors import AtlasError
from headwater.atlan.qualified import connection_of
from headwater.model.assets import Asset
from headwater.model.types import AssetType
from headwater.store import Store

if TYPE_CHECKING:
    from headwater.api.auth import Principal

ADMIN_KEYS = ("adminUsers", "adminGroups", "adminRoles")


def _names(value: object) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, list | tuple | set):
        return {str(v) for v in value if v}
    return set()


def role_names(role: str) -> set[str]:
    """Every way a connection may name a headwater role: ``editor``, ``$member`` or its role id."""
    atlan = role_name_for(role)
    return {role, atlan, stable_id("role", atlan)}


def is_connection_admin(principal: Principal, attributes: dict[str, object]) -> bool:
    """Whether the principal may change assets of a connection with these attributes."""
    users, groups, roles = (_names(attributes.get(k)) for k in ADMIN_KEYS)
    if not (users or groups or roles):
        return True
    if principal.role == "admin" or principal.username in users:
        return True
    wanted = {group_name(g) for g in groups}
    if any(group_name(g) in wanted for g in principal.groups):
        return True
    return bool(role_names(principal.role) & roles)


def asset_connection(asset: Asset) -> str | None:
    """The qualifiedName of the Atlan connection an asset is under, if any."""
    value = asset.attributes.get("connectionQualifiedName")
    if isinstance(value, str) and value:
        return value
    if asset.type is AssetType.CONNECTION:
        return asset.fqn
    return connection_of(asset.fqn)


def connection_admin_refusal(
    store: Store, principal: Principal, connections: Iterable[tuple[str, str | None]]
) -> str | None:
    """Why the principal may not change the first (label, connection) it does not administer;
    None when it may change them all."""
    if principal.role == "admin":
        return None
    seen: dict[str, bool] = {}
    for label, qn in connections:
        if not qn:
            continue
        if qn not in seen:
            conn = store.get_asset_by_fqn(AssetType.CONNECTION, qn)
            seen[qn] = conn is None or conn.deleted or is_connection_admin(principal, conn.attributes)
        if not seen[qn]:
            groups = f" (groups {', '.join(principal.groups)})" if principal.groups else ""
            return (
                f"{label}: only the admins of connection {qn} (its adminUsers, adminGroups or adminRoles) "
                f"may change its assets; user {principal.username!r}{groups} with role {principal.role!r} "
                "is not one of them"
            )
    return None


def check_connection_admins(
    store: Store, principal: Principal, connections: Iterable[tuple[str, str | None]]
) -> None:
    """Raise 403 (Atlas's shape) naming the first (label, connection) the principal does not administer."""
    refusal = connection_admin_refusal(store, principal, connections)
    if refusal is not None:
        raise AtlasError(403, "ATLAS-403-00-001", refusal)
