"""A small demo lineage graph: a shop's raw tables, a dbt-style pipeline, marts and dashboards."""

from __future__ import annotations

from headwater.model.assets import AssetInput, ColumnInput
from headwater.model.lineage import ColumnLineage, LineageDetails
from headwater.model.types import AssetType, LineageSource
from headwater.store import EdgeWrite, Store

_COLUMNS = {
    "raw_orders": ["id", "customer_id", "amount", "status", "created_at"],
    "raw_customers": ["id", "name", "email", "country"],
    "raw_payments": ["id", "order_id", "method", "amount"],
    "stg_orders": ["order_id", "customer_id", "amount", "status", "order_date"],
    "stg_customers": ["customer_id", "name", "email", "country"],
    "orders": ["order_id", "customer_id", "amount", "paid_amount", "order_date"],
    "customers": ["customer_id", "name", "country", "lifetime_value"],
    "revenue_daily": ["order_date", "country", "revenue"],
}

_FLOWS: list[tuple[str, str, str, list[tuple[list[str], str, str | None]]]] = [
    (
        "raw_orders",
        "stg_orders",
        "insert into stg_orders select id as order_id, customer_id, amount, status, cast(created_at as date) from raw_orders",
        [
            (["id"], "order_id", None),
            (["customer_id"], "customer_id", None),
            (["amount"], "amount", None),
            (["status"], "status", None),
            (["created_at"], "order_date", "CAST"),
        ],
    ),
    (
        "raw_customers",
        "stg_customers",
        "insert into stg_customers select id, name, lower(email), country from raw_customers",
        [
            (["id"], "customer_id", None),
            (["name"], "name", None),
            (["email"], "email", "LOWER"),
            (["country"], "country", None),
        ],
    ),
    (
        "stg_orders",
        "orders",
        "insert into orders select o.order_id, o.customer_id, o.amount, sum(p.amount), o.order_date "
        "from stg_orders o left join raw_payments p on p.order_id = o.order_id group by 1, 2, 3, 5",
        [
            (["order_id"], "order_id", None),
            (["customer_id"], "customer_id", None),
            (["amount"], "amount", None),
            (["order_date"], "order_date", None),
        ],
    ),
    ("raw_payments", "orders", "", [(["amount"], "paid_amount", "SUM")]),
    (
        "stg_customers",
        "customers",
        "insert into customers select c.customer_id, c.name, c.country, sum(o.amount) from stg_customers c "
        "join orders o using (customer_id) group by 1, 2, 3",
        [(["customer_id"], "customer_id", None), (["name"], "name", None), (["country"], "country", None)],
    ),
    ("orders", "customers", "", [(["amount"], "lifetime_value", "SUM")]),
    (
        "orders",
        "revenue_daily",
        "insert into revenue_daily select o.order_date, c.country, sum(o.amount) from orders o join customers c "
        "using (customer_id) group by 1, 2",
        [(["order_date"], "order_date", None), (["amount"], "revenue", "SUM")],
    ),
    ("customers", "revenue_daily", "", [(["country"], "country", None)]),
]


def load_demo(store: Store, actor: str = "demo") -> int:
    """Create the demo assets and edges (idempotent); returns the number of edges."""
    base = "shop_pg.shop.public"
    items = [
        AssetInput(
            type=AssetType.DATABASE_SERVICE,
            fqn="shop_pg",
            name="shop_pg",
            attributes={"serviceType": "Postgres"},
        ),
        AssetInput(type=AssetType.DATABASE, fqn="shop_pg.shop", name="shop"),
        AssetInput(type=AssetType.DATABASE_SCHEMA, fqn=base, name="public"),
        AssetInput(
            type=AssetType.PIPELINE_SERVICE,
            fqn="airflow",
            name="airflow",
            attributes={"serviceType": "Airflow"},
        ),
        AssetInput(
            type=AssetType.PIPELINE,
            fqn="airflow.shop_daily",
            name="shop_daily",
            description="Daily build of the shop marts",
        ),
        AssetInput(
            type=AssetType.DASHBOARD_SERVICE,
            fqn="metabase",
            name="metabase",
            attributes={"serviceType": "Metabase"},
        ),
        AssetInput(type=AssetType.DASHBOARD, fqn="metabase.revenue", name="revenue", display_name="Revenue"),
        AssetInput(
            type=AssetType.MLMODEL_SERVICE, fqn="mlflow", name="mlflow", attributes={"serviceType": "Mlflow"}
        ),
        AssetInput(type=AssetType.MLMODEL, fqn="mlflow.churn", name="churn", display_name="Churn model"),
    ]
    for table, names in _COLUMNS.items():
        items.append(
            AssetInput(
                type=AssetType.TABLE,
                fqn=f"{base}.{table}",
                name=table,
                attributes={"tableType": "Regular"},
                columns=[
                    ColumnInput(
                        name=c,
                        data_type="VARCHAR"
                        if c in ("name", "email", "status", "country", "method")
                        else "NUMERIC",
                    )
                    for c in names
                ],
            )
        )
    stored = {a.fqn: a for a, _ in store.upsert_assets(items, actor)}
    pipeline = stored["airflow.shop_daily"]
    writes: list[EdgeWrite] = []
    for src, dst, sql, cols in _FLOWS:
        details = LineageDetails(
            sqlQuery=sql or None,
            source=LineageSource.QUERY_LINEAGE if sql else LineageSource.MANUAL,
            pipeline={"id": pipeline.id, "type": "pipeline"},
            columnsLineage=[
                ColumnLineage(
                    fromColumns=[f"{base}.{src}.{c}" for c in froms],
                    toColumn=f"{base}.{dst}.{to}",
                    function=fn,
                )
                for froms, to, fn in cols
            ],
        )
        writes.append(
            EdgeWrite(
                stored[f"{base}.{src}"].pk, stored[f"{base}.{dst}"].pk, details, pipeline_pk=pipeline.pk
            )
        )
    for table, target in (
        ("revenue_daily", "metabase.revenue"),
        ("customers", "metabase.revenue"),
        ("customers", "mlflow.churn"),
    ):
        writes.append(
            EdgeWrite(
                stored[f"{base}.{table}"].pk,
                stored[target].pk,
                LineageDetails(
                    source=LineageSource.DASHBOARD_LINEAGE if "metabase" in target else LineageSource.MANUAL
                ),
            )
        )
    store.put_edges(writes, actor)
    return len(writes)
