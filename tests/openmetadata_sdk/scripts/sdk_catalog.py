"""Build a small catalog with the SDK's create requests; used by the other scripts too.

`build(md)` returns {key: entity}. Run directly, it builds the catalog, reads every entity back by
name and by id, lists tables with paging and prints what came back.
"""

from __future__ import annotations

from typing import Any

from metadata.generated.schema.api.data.createChart import CreateChartRequest
from metadata.generated.schema.api.data.createContainer import CreateContainerRequest
from metadata.generated.schema.api.data.createDashboard import CreateDashboardRequest
from metadata.generated.schema.api.data.createDashboardDataModel import CreateDashboardDataModelRequest
from metadata.generated.schema.api.data.createDatabase import CreateDatabaseRequest
from metadata.generated.schema.api.data.createDatabaseSchema import CreateDatabaseSchemaRequest
from metadata.generated.schema.api.data.createMlModel import CreateMlModelRequest
from metadata.generated.schema.api.data.createPipeline import CreatePipelineRequest
from metadata.generated.schema.api.data.createSearchIndex import CreateSearchIndexRequest
from metadata.generated.schema.api.data.createStoredProcedure import CreateStoredProcedureRequest
from metadata.generated.schema.api.data.createTable import CreateTableRequest
from metadata.generated.schema.api.data.createTopic import CreateTopicRequest
from metadata.generated.schema.api.services.createDashboardService import CreateDashboardServiceRequest
from metadata.generated.schema.api.services.createDatabaseService import CreateDatabaseServiceRequest
from metadata.generated.schema.api.services.createMessagingService import CreateMessagingServiceRequest
from metadata.generated.schema.api.services.createMlModelService import CreateMlModelServiceRequest
from metadata.generated.schema.api.services.createPipelineService import CreatePipelineServiceRequest
from metadata.generated.schema.api.services.createSearchService import CreateSearchServiceRequest
from metadata.generated.schema.api.services.createStorageService import CreateStorageServiceRequest
from metadata.generated.schema.entity.data.chart import Chart
from metadata.generated.schema.entity.data.container import Container, ContainerDataModel
from metadata.generated.schema.entity.data.dashboard import Dashboard
from metadata.generated.schema.entity.data.dashboardDataModel import DashboardDataModel, DataModelType
from metadata.generated.schema.entity.data.database import Database
from metadata.generated.schema.entity.data.databaseSchema import DatabaseSchema
from metadata.generated.schema.entity.data.mlmodel import FeatureType, MlFeature, MlModel
from metadata.generated.schema.entity.data.pipeline import Pipeline, Task
from metadata.generated.schema.entity.data.searchIndex import DataType as SearchDataType
from metadata.generated.schema.entity.data.searchIndex import SearchIndex, SearchIndexField
from metadata.generated.schema.entity.data.storedProcedure import StoredProcedure, StoredProcedureCode
from metadata.generated.schema.entity.data.table import Column, DataType, Table, TableType
from metadata.generated.schema.entity.data.topic import Topic
from metadata.generated.schema.entity.services.connections.database.common.basicAuth import BasicAuth
from metadata.generated.schema.entity.services.connections.database.postgresConnection import (
    PostgresConnection,
)
from metadata.generated.schema.entity.services.dashboardService import (
    DashboardService,
    DashboardServiceType,
)
from metadata.generated.schema.entity.services.databaseService import (
    DatabaseConnection,
    DatabaseService,
    DatabaseServiceType,
)
from metadata.generated.schema.entity.services.messagingService import (
    MessagingService,
    MessagingServiceType,
)
from metadata.generated.schema.entity.services.mlmodelService import MlModelService, MlModelServiceType
from metadata.generated.schema.entity.services.pipelineService import PipelineService, PipelineServiceType
from metadata.generated.schema.entity.services.searchService import SearchService, SearchServiceType
from metadata.generated.schema.entity.services.storageService import StorageService, StorageServiceType
from metadata.generated.schema.type.schema import FieldModel, SchemaType
from metadata.generated.schema.type.schema import Topic as TopicSchema
from metadata.ingestion.ometa.ometa_api import OpenMetadata
from om_common import Results, connect, ids

SERVICE = "pg_svc"
DB = "shop"
SCHEMA = "public"
DOTTED_SCHEMA = "raw.v1"  # a name part holding a dot: its FQN part is quoted


def _cols(*names: str) -> list[Column]:
    return [
        Column(name=n, dataType=DataType.INT if n == "id" else DataType.VARCHAR, dataLength=64) for n in names
    ]


def build(md: OpenMetadata, r: Results) -> dict[str, Any]:
    e: dict[str, Any] = {}
    e["databaseService"] = r.step(
        "create databaseService",
        md.create_or_update,
        CreateDatabaseServiceRequest(
            name=SERVICE,
            serviceType=DatabaseServiceType.Postgres,
            connection=DatabaseConnection(
                config=PostgresConnection(
                    username="postgres",
                    authType=BasicAuth(password="not-a-secret"),
                    hostPort="127.0.0.1:5432",
                    database="postgres",
                )
            ),
        ),
    )
    e["database"] = r.step(
        "create database", md.create_or_update, CreateDatabaseRequest(name=DB, service=SERVICE)
    )
    e["databaseSchema"] = r.step(
        "create databaseSchema",
        md.create_or_update,
        CreateDatabaseSchemaRequest(name=SCHEMA, database=f"{SERVICE}.{DB}"),
    )
    e["dottedSchema"] = r.step(
        "create dotted databaseSchema",
        md.create_or_update,
        CreateDatabaseSchemaRequest(name=DOTTED_SCHEMA, database=f"{SERVICE}.{DB}"),
    )
    schema_fqn = f"{SERVICE}.{DB}.{SCHEMA}"
    for name, cols in (
        ("raw_orders", ("id", "amount", "customer")),
        ("orders", ("id", "amount", "customer")),
        ("report", ("id", "total")),
    ):
        e[name] = r.step(
            f"create table {name}",
            md.create_or_update,
            CreateTableRequest(name=name, databaseSchema=schema_fqn, columns=_cols(*cols)),
        )
    # a view: the lineage workflow reads its schemaDefinition from the search index
    e["view"] = r.step(
        "create view",
        md.create_or_update,
        CreateTableRequest(
            name="orders_v",
            databaseSchema=schema_fqn,
            tableType=TableType.View,
            schemaDefinition="CREATE VIEW orders_v AS SELECT id, amount FROM orders",
            columns=_cols("id", "amount"),
        ),
    )
    # a dotted table name in a dotted schema: svc.db."raw.v1"."events.2024"
    e["dotted"] = r.step(
        "create dotted table",
        md.create_or_update,
        CreateTableRequest(
            name="events.2024",
            databaseSchema=f'{SERVICE}.{DB}."{DOTTED_SCHEMA}"',
            columns=_cols("id", "customer"),
        ),
    )
    e["storedProcedure"] = r.step(
        "create storedProcedure",
        md.create_or_update,
        CreateStoredProcedureRequest(
            name="load_orders",
            databaseSchema=schema_fqn,
            storedProcedureCode=StoredProcedureCode(code="insert into orders select * from raw_orders"),
        ),
    )
    r.step(
        "create dashboardService",
        md.create_or_update,
        CreateDashboardServiceRequest(name="looker", serviceType=DashboardServiceType.Looker),
    )
    e["dashboardService"] = md.get_by_name(DashboardService, "looker")
    e["chart"] = r.step(
        "create chart", md.create_or_update, CreateChartRequest(name="revenue", service="looker")
    )
    # charts and domains are FQN lists in the create request, references in the entity
    e["dashboard"] = r.step(
        "create dashboard",
        md.create_or_update,
        CreateDashboardRequest(
            name="sales", service="looker", charts=["looker.revenue"], domains=["finance"]
        ),
    )
    e["dashboardDataModel"] = r.step(
        "create dashboardDataModel",
        md.create_or_update,
        CreateDashboardDataModelRequest(
            name="orders_view",
            service="looker",
            dataModelType=DataModelType.LookMlView,
            columns=_cols("id", "amount"),
        ),
    )
    r.step(
        "create pipelineService",
        md.create_or_update,
        CreatePipelineServiceRequest(name="airflow", serviceType=PipelineServiceType.Airflow),
    )
    e["pipelineService"] = md.get_by_name(PipelineService, "airflow")
    e["pipeline"] = r.step(
        "create pipeline",
        md.create_or_update,
        CreatePipelineRequest(name="etl", service="airflow", tasks=[Task(name="load")]),
    )
    r.step(
        "create messagingService",
        md.create_or_update,
        CreateMessagingServiceRequest(name="kafka", serviceType=MessagingServiceType.Kafka),
    )
    e["messagingService"] = md.get_by_name(MessagingService, "kafka")
    e["topic"] = r.step(
        "create topic",
        md.create_or_update,
        CreateTopicRequest(
            name="orders.events",
            service="kafka",
            partitions=3,
            messageSchema=TopicSchema(
                schemaType=SchemaType.JSON,
                schemaFields=[
                    FieldModel(name="id", dataType="INT"),
                    FieldModel(name="amount", dataType="INT"),
                ],
            ),
        ),
    )
    r.step(
        "create mlmodelService",
        md.create_or_update,
        CreateMlModelServiceRequest(name="mlflow", serviceType=MlModelServiceType.Mlflow),
    )
    e["mlmodelService"] = md.get_by_name(MlModelService, "mlflow")
    e["mlmodel"] = r.step(
        "create mlmodel",
        md.create_or_update,
        CreateMlModelRequest(
            name="churn",
            service="mlflow",
            algorithm="xgboost",
            mlFeatures=[MlFeature(name="spend", dataType=FeatureType.numerical)],
        ),
    )
    r.step(
        "create storageService",
        md.create_or_update,
        CreateStorageServiceRequest(name="s3", serviceType=StorageServiceType.S3),
    )
    e["storageService"] = md.get_by_name(StorageService, "s3")
    e["container"] = r.step(
        "create container",
        md.create_or_update,
        CreateContainerRequest(
            name="landing",
            service="s3",
            dataModel=ContainerDataModel(isPartitioned=False, columns=_cols("id", "amount")),
        ),
    )
    r.step(
        "create searchService",
        md.create_or_update,
        CreateSearchServiceRequest(name="es", serviceType=SearchServiceType.ElasticSearch),
    )
    e["searchService"] = md.get_by_name(SearchService, "es")
    e["searchIndex"] = r.step(
        "create searchIndex",
        md.create_or_update,
        CreateSearchIndexRequest(
            name="orders_idx",
            service="es",
            fields=[SearchIndexField(name="id", dataType=SearchDataType.KEYWORD)],
        ),
    )
    return e


CLASSES: dict[str, type] = {
    "databaseService": DatabaseService,
    "database": Database,
    "databaseSchema": DatabaseSchema,
    "dottedSchema": DatabaseSchema,
    "raw_orders": Table,
    "orders": Table,
    "report": Table,
    "dotted": Table,
    "view": Table,
    "storedProcedure": StoredProcedure,
    "dashboardService": DashboardService,
    "chart": Chart,
    "dashboard": Dashboard,
    "dashboardDataModel": DashboardDataModel,
    "pipelineService": PipelineService,
    "pipeline": Pipeline,
    "messagingService": MessagingService,
    "topic": Topic,
    "mlmodelService": MlModelService,
    "mlmodel": MlModel,
    "storageService": StorageService,
    "container": Container,
    "searchService": SearchService,
    "searchIndex": SearchIndex,
}


def main() -> None:
    r = Results()
    md = connect()
    r["health"] = md.health_check()
    e = build(md, r)
    r["created"] = {k: ids(v) for k, v in e.items()}
    by_name: dict[str, Any] = {}
    by_id: dict[str, Any] = {}
    for key, cls in CLASSES.items():
        created = e.get(key)
        if created is None:
            continue
        fqn = created.fullyQualifiedName.root
        got = r.step(f"get_by_name {key}", md.get_by_name, cls, fqn, fields=["*"])
        by_name[key] = ids(got)
        got_id = r.step(f"get_by_id {key}", md.get_by_id, cls, created.id, fields=["*"])
        by_id[key] = ids(got_id)
    r["by_name"] = by_name
    r["by_id"] = by_id
    dotted = (
        md.get_by_name(Table, e["dotted"].fullyQualifiedName.root, fields=["columns"])
        if e.get("dotted")
        else None
    )
    r["dotted_columns"] = [c.fullyQualifiedName.root for c in dotted.columns] if dotted else None
    orders = md.get_by_name(Table, f"{SERVICE}.{DB}.{SCHEMA}.orders", fields=["columns"])
    r["orders_columns"] = [(c.name.root, c.dataType.value, c.fullyQualifiedName.root) for c in orders.columns]
    r["orders_schema"] = orders.databaseSchema.fullyQualifiedName if orders.databaseSchema else None
    r["orders_database"] = orders.database.fullyQualifiedName if orders.database else None
    r["orders_service"] = orders.service.fullyQualifiedName if orders.service else None
    r["missing"] = str(md.get_by_name(Table, f"{SERVICE}.{DB}.{SCHEMA}.nope"))
    tables = r.step("list_all_entities tables", lambda: list(md.list_all_entities(Table, limit=2)))
    r["listed_tables"] = sorted(t.fullyQualifiedName.root for t in tables or [])
    # update: a second create_or_update with a description is an upsert, same id
    again = r.step(
        "upsert table",
        md.create_or_update,
        CreateTableRequest(
            name="report",
            databaseSchema=f"{SERVICE}.{DB}.{SCHEMA}",
            columns=_cols("id", "total"),
            description="daily report",
        ),
    )
    r["upsert"] = (
        {"id": str(again.id.root), "description": again.description.root if again.description else None}
        if again
        else None
    )
    dash = md.get_by_name(Dashboard, "looker.sales", fields=["*"])
    r["dashboard_charts"] = [c.fullyQualifiedName for c in dash.charts.root] if dash and dash.charts else None
    svc = md.get_by_name(DatabaseService, SERVICE, fields=["*"])
    r["service_type"] = svc.serviceType.value if svc else None
    r.emit()


if __name__ == "__main__":
    main()
