"""Asset types, lineage sources and the parent hierarchy that fully qualified names follow.

Type strings are OpenMetadata's camelCase entity types, so they can be used in URLs as they are.
"""

from enum import StrEnum


class AssetType(StrEnum):
    """Every kind of asset the catalog keeps."""

    # services: the roots of every FQN
    DATABASE_SERVICE = "databaseService"
    MESSAGING_SERVICE = "messagingService"
    DASHBOARD_SERVICE = "dashboardService"
    PIPELINE_SERVICE = "pipelineService"
    STORAGE_SERVICE = "storageService"
    MLMODEL_SERVICE = "mlmodelService"
    SEARCH_SERVICE = "searchService"
    API_SERVICE = "apiService"
    # database hierarchy
    DATABASE = "database"
    DATABASE_SCHEMA = "databaseSchema"
    TABLE = "table"
    COLUMN = "column"
    STORED_PROCEDURE = "storedProcedure"
    # other data assets
    DASHBOARD = "dashboard"
    CHART = "chart"
    DASHBOARD_DATA_MODEL = "dashboardDataModel"
    PIPELINE = "pipeline"
    TOPIC = "topic"
    MLMODEL = "mlmodel"
    CONTAINER = "container"
    SEARCH_INDEX = "searchIndex"
    API_COLLECTION = "apiCollection"
    API_ENDPOINT = "apiEndpoint"
    METRIC = "metric"
    # Atlan-style lineage processes and their connections
    PROCESS = "process"
    COLUMN_PROCESS = "columnProcess"
    CONNECTION = "connection"


SERVICE_TYPES: frozenset[AssetType] = frozenset(t for t in AssetType if t.value.endswith("Service"))

# Parent type of each non-service type; the FQN of a child is the parent's FQN plus its own quoted name.
_PARENTS: dict[AssetType, AssetType | None] = {
    AssetType.DATABASE: AssetType.DATABASE_SERVICE,
    AssetType.DATABASE_SCHEMA: AssetType.DATABASE,
    AssetType.TABLE: AssetType.DATABASE_SCHEMA,
    AssetType.STORED_PROCEDURE: AssetType.DATABASE_SCHEMA,
    AssetType.COLUMN: AssetType.TABLE,
    AssetType.DASHBOARD: AssetType.DASHBOARD_SERVICE,
    AssetType.CHART: AssetType.DASHBOARD_SERVICE,
    AssetType.DASHBOARD_DATA_MODEL: AssetType.DASHBOARD_SERVICE,
    AssetType.PIPELINE: AssetType.PIPELINE_SERVICE,
    AssetType.TOPIC: AssetType.MESSAGING_SERVICE,
    AssetType.MLMODEL: AssetType.MLMODEL_SERVICE,
    AssetType.CONTAINER: AssetType.STORAGE_SERVICE,
    AssetType.SEARCH_INDEX: AssetType.SEARCH_SERVICE,
    AssetType.API_COLLECTION: AssetType.API_SERVICE,
    AssetType.API_ENDPOINT: AssetType.API_COLLECTION,
    AssetType.METRIC: None,
    AssetType.PROCESS: None,
    AssetType.COLUMN_PROCESS: None,
    AssetType.CONNECTION: None,
}


def parent_type_of(asset_type: AssetType) -> AssetType | None:
    """The type an asset of this type hangs under (None for roots such as services)."""
    if asset_type in SERVICE_TYPES:
        return None
    return _PARENTS.get(asset_type)


# Data assets: the types that appear as nodes in lineage graphs.
DATA_ASSET_TYPES: frozenset[AssetType] = frozenset(
    {
        AssetType.TABLE,
        AssetType.STORED_PROCEDURE,
        AssetType.DASHBOARD,
        AssetType.CHART,
        AssetType.DASHBOARD_DATA_MODEL,
        AssetType.PIPELINE,
        AssetType.TOPIC,
        AssetType.MLMODEL,
        AssetType.CONTAINER,
        AssetType.SEARCH_INDEX,
        AssetType.API_COLLECTION,
        AssetType.API_ENDPOINT,
        AssetType.METRIC,
        AssetType.PROCESS,
        AssetType.COLUMN,
    }
)

# Types whose children (columns or fields) may be named in column-level lineage.
COLUMN_PARENT_TYPES: frozenset[AssetType] = frozenset(
    {
        AssetType.TABLE,
        AssetType.DASHBOARD_DATA_MODEL,
        AssetType.TOPIC,
        AssetType.CONTAINER,
        AssetType.SEARCH_INDEX,
        AssetType.MLMODEL,
        AssetType.DASHBOARD,
        AssetType.API_ENDPOINT,
    }
)


class LineageSource(StrEnum):
    """Where an edge's details came from (OpenMetadata's enum; the default is Manual)."""

    MANUAL = "Manual"
    VIEW_LINEAGE = "ViewLineage"
    QUERY_LINEAGE = "QueryLineage"
    PIPELINE_LINEAGE = "PipelineLineage"
    DASHBOARD_LINEAGE = "DashboardLineage"
    DBT_LINEAGE = "DbtLineage"
    SPARK_LINEAGE = "SparkLineage"
    OPEN_LINEAGE = "OpenLineage"
    EXTERNAL_TABLE_LINEAGE = "ExternalTableLineage"
    CROSS_DATABASE_LINEAGE = "CrossDatabaseLineage"
    CHILD_ASSETS = "ChildAssets"
    # headwater addition: edges created by Atlan-style Process assets
    ATLAN_PROCESS = "AtlanProcess"
