"""Per-connection admins on the OpenMetadata-style API.

An Atlan Connection that lists ``adminUsers``, ``adminGroups`` or ``adminRoles`` lets only those
(and global admin tokens) change the assets under it (see :mod:`headwater.atlan.admins`). The Atlan
API enforces it on its own writes; these helpers let the OpenMetadata-style entity and lineage
routes ask the same question about the assets they are about to change, and answer a refusal as
an OpenMetadata-style 403.
"""

from __future__ import annotations

from collections.abc import Iterable

from headwater.api.auth import Principal
from headwater.api.errors import ApiError
from headwater.atlan.admins import asset_connection, connection_admin_refusal
from headwater.atlan.qualified import connection_of
from headwater.model.assets import Asset, AssetInput
from headwater.model.types import AssetType
from headwater.store import Store


def input_connection(item: AssetInput) -> str | None:
    """The connection an asset about to be created or updated names, if any."""
    value = item.attributes.get("connectionQualifiedName")
    if isinstance(value, str) and value:
        return value
    if item.type is AssetType.CONNECTION:
        return item.fqn
    return connection_of(item.fqn) or (connection_of(item.parent_fqn) if item.parent_fqn else None)


def guard_connections(
    store: Store, principal: Principal, connections: Iterable[tuple[str, str | None]]
) -> None:
    """403 unless the principal administers every named connection that lists admins."""
    if principal.role == "admin":
        return
    refusal = connection_admin_refusal(store, principal, connections)
    if refusal is not None:
        raise ApiError(403, refusal)


def guard_assets(store: Store, principal: Principal, assets: Iterable[tuple[str, Asset | None]]) -> None:
    """403 unless the principal may change every one of these assets."""
    if principal.role == "admin":
        return
    guard_connections(
        store, principal, [(label, asset_connection(a)) for label, a in assets if a is not None]
    )
