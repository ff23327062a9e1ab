"""The small model every lineage source is translated into: assets, edges, column mappings."""

from headwater.model.assets import Asset, AssetInput, ColumnInput
from headwater.model.lineage import ColumnLineage, EdgeView, LineageDetails
from headwater.model.types import (
    COLUMN_PARENT_TYPES,
    DATA_ASSET_TYPES,
    SERVICE_TYPES,
    AssetType,
    LineageSource,
    parent_type_of,
)

__all__ = [
    "COLUMN_PARENT_TYPES",
    "DATA_ASSET_TYPES",
    "SERVICE_TYPES",
    "Asset",
    "AssetInput",
    "AssetType",
    "ColumnInput",
    "ColumnLineage",
    "EdgeView",
    "LineageDetails",
    "LineageSource",
    "parent_type_of",
]
