"""Atlan typeNames ↔ headwater AssetTypes.

Every Atlan asset is stored as one headwater asset of the closest AssetType; Atlan's own
typeName is kept in the attribute `ATLAN_TYPE` so it round-trips exactly.
"""

from __future__ import annotations

from headwater.model.types import AssetType

ATLAN_TYPE = "atlanTypeName"  # attribute key holding the Atlan typeName of an asset

# Atlan attributes that are references, not secrets, although their names look secret to the
# store (which seals such values at rest): kept under another key.
STORED_AS: dict[str, str] = {"defaultCredentialGuid": "defaultCredGuid"}
LOADED_AS: dict[str, str] = {v: k for k, v in STORED_AS.items()}

_EXACT: dict[str, AssetType] = {
    "Connection": AssetType.CONNECTION,
    "Database": AssetType.DATABASE,
    "Schema": AssetType.DATABASE_SCHEMA,
    "Table": AssetType.TABLE,
    "View": AssetType.TABLE,
    "MaterialisedView": AssetType.TABLE,
    "MaterializedView": AssetType.TABLE,
    "SnowflakeDynamicTable": AssetType.TABLE,
    "TablePartition": AssetType.TABLE,
    "Column": AssetType.COLUMN,
    "Process": AssetType.PROCESS,
    "BIProcess": AssetType.PROCESS,
    "DbtProcess": AssetType.PROCESS,
    "ColumnProcess": AssetType.COLUMN_PROCESS,
    "DbtColumnProcess": AssetType.COLUMN_PROCESS,
    "SAPColumnProcess": AssetType.COLUMN_PROCESS,
    "Procedure": AssetType.STORED_PROCEDURE,
    "SnowflakePipe": AssetType.PIPELINE,
    "AirflowDag": AssetType.PIPELINE,
    "AirflowTask": AssetType.PIPELINE,
    "SparkJob": AssetType.PIPELINE,
    "MatillionJob": AssetType.PIPELINE,
    "FivetranConnector": AssetType.PIPELINE,
    "KafkaTopic": AssetType.TOPIC,
    "AzureEventHub": AssetType.TOPIC,
    "MLModel": AssetType.MLMODEL,
    "AIModel": AssetType.MLMODEL,
    "APISpec": AssetType.API_COLLECTION,
    "APIPath": AssetType.API_ENDPOINT,
    "Metric": AssetType.METRIC,
}

# table-like typeNames and the OpenMetadata tableType each one shows as
TABLE_TYPES: dict[str, str] = {
    "Table": "Regular",
    "View": "View",
    "MaterialisedView": "MaterializedView",
    "MaterializedView": "MaterializedView",
    "SnowflakeDynamicTable": "Dynamic",
    "TablePartition": "Partitioned",
}

_SUFFIXES: tuple[tuple[str, AssetType], ...] = (
    ("ColumnProcess", AssetType.COLUMN_PROCESS),
    ("Process", AssetType.PROCESS),
    ("Column", AssetType.COLUMN),
    ("Field", AssetType.COLUMN),
    ("Dashboard", AssetType.DASHBOARD),
    ("Report", AssetType.DASHBOARD),
    ("Workbook", AssetType.DASHBOARD),
    ("Chart", AssetType.CHART),
    ("Visual", AssetType.CHART),
    ("Tile", AssetType.CHART),
    ("Dataset", AssetType.DASHBOARD_DATA_MODEL),
    ("Datasource", AssetType.DASHBOARD_DATA_MODEL),
    ("Topic", AssetType.TOPIC),
    ("Object", AssetType.CONTAINER),
    ("Bucket", AssetType.CONTAINER),
    ("Container", AssetType.CONTAINER),
    ("File", AssetType.CONTAINER),
    ("Folder", AssetType.CONTAINER),
    ("Model", AssetType.MLMODEL),
    ("Pipeline", AssetType.PIPELINE),
    ("Job", AssetType.PIPELINE),
    ("Task", AssetType.PIPELINE),
    ("Dag", AssetType.PIPELINE),
    ("Index", AssetType.SEARCH_INDEX),
    ("View", AssetType.TABLE),
    ("Table", AssetType.TABLE),
)

# the typeName shown for assets that did not come through the Atlan API
_DEFAULT_NAMES: dict[AssetType, str] = {
    AssetType.CONNECTION: "Connection",
    AssetType.DATABASE: "Database",
    AssetType.DATABASE_SCHEMA: "Schema",
    AssetType.TABLE: "Table",
    AssetType.COLUMN: "Column",
    AssetType.PROCESS: "Process",
    AssetType.COLUMN_PROCESS: "ColumnProcess",
    AssetType.STORED_PROCEDURE: "Procedure",
    AssetType.PIPELINE: "Process",
    AssetType.TOPIC: "KafkaTopic",
    AssetType.MLMODEL: "MLModel",
    AssetType.DASHBOARD: "Dashboard",
    AssetType.CHART: "Chart",
    AssetType.DASHBOARD_DATA_MODEL: "PowerBIDataset",
    AssetType.CONTAINER: "S3Object",
    AssetType.API_COLLECTION: "APISpec",
    AssetType.API_ENDPOINT: "APIPath",
    AssetType.METRIC: "Metric",
    AssetType.SEARCH_INDEX: "ElasticsearchIndex",
}

PROCESS_TYPES = frozenset({AssetType.PROCESS, AssetType.COLUMN_PROCESS})


def asset_type_for(type_name: str) -> AssetType:
    """The AssetType an Atlan typeName is stored as (unknown catalog types are table-like)."""
    exact = _EXACT.get(type_name)
    if exact is not None:
        return exact
    for suffix, asset_type in _SUFFIXES:
        if type_name.endswith(suffix):
            return asset_type
    return AssetType.TABLE


def type_name_for(asset_type: AssetType, attributes: dict[str, object]) -> str:
    """The Atlan typeName of a stored asset."""
    stored = attributes.get(ATLAN_TYPE)
    if isinstance(stored, str) and stored:
        return stored
    if asset_type is AssetType.TABLE:
        table_type = attributes.get("tableType")
        if table_type == "View":
            return "View"
        if table_type == "MaterializedView":
            return "MaterialisedView"
    if asset_type.value.endswith("Service"):
        return "Connection"
    return _DEFAULT_NAMES.get(asset_type, "Catalog")


def is_process_type(type_name: str) -> bool:
    return asset_type_for(type_name) in PROCESS_TYPES
