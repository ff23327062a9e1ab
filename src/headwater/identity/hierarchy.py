"""Where an asset hangs in the catalog, derived from its type and FQN."""

from headwater.identity.fqn import join, split
from headwater.model.types import SERVICE_TYPES, AssetType, parent_type_of


def parent_candidates(asset_type: AssetType, fqn: str) -> list[tuple[AssetType, str]]:
    """(type, FQN) pairs that may be this asset's parent, most specific first.

    Usually the parent is the FQN minus its last part; data models carry a literal `model` segment
    (`service.model.name`), and containers may nest in containers.
    """
    if asset_type in SERVICE_TYPES:
        return []
    parts = split(fqn)
    if len(parts) < 2:
        return []
    ptype = parent_type_of(asset_type)
    if asset_type is AssetType.DASHBOARD_DATA_MODEL:
        return [(AssetType.DASHBOARD_SERVICE, parts[0])]
    prefix = join(*parts[:-1])
    if asset_type is AssetType.CONTAINER:
        return [(AssetType.CONTAINER, prefix), (AssetType.STORAGE_SERVICE, prefix)]
    if asset_type is AssetType.COLUMN:
        # columns of any column-bearing asset; nested columns hang under their parent column
        return [
            (t, prefix)
            for t in (
                AssetType.TABLE,
                AssetType.COLUMN,
                AssetType.DASHBOARD_DATA_MODEL,
                AssetType.TOPIC,
                AssetType.CONTAINER,
                AssetType.SEARCH_INDEX,
                AssetType.MLMODEL,
                AssetType.API_ENDPOINT,
            )
        ]
    if ptype is None:
        return []
    return [(ptype, prefix)]


def service_fqn(fqn: str) -> str:
    """The service part of an FQN (its first part)."""
    return split(fqn)[0]
