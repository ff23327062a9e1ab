"""Lineage through the SDK's lineage mixin: add (plain and check_patch), read, delete.

Prints the SDK's answers and the catalog ids; the test checks them and the stored lineage.
"""

from __future__ import annotations

from typing import Any

from metadata.generated.schema.api.lineage.addLineage import AddLineageRequest
from metadata.generated.schema.entity.data.table import Table
from metadata.generated.schema.type.entityLineage import (
    ColumnLineage,
    EntitiesEdge,
    EntityLineage,
    LineageDetails,
    Source,
)
from metadata.generated.schema.type.entityReference import EntityReference
from metadata.ingestion.ometa.client import APIError
from om_common import Results, connect, ids
from sdk_catalog import build


def ref(entity: Any, type_: str) -> EntityReference:
    return EntityReference(id=entity.id, type=type_)


def col(entity: Any, name: str) -> str:
    return f"{entity.fullyQualifiedName.root}.{name}"


def edge(
    src: Any,
    src_type: str,
    dst: Any,
    dst_type: str,
    columns: list[tuple[str, str]] | None = None,
    **details: Any,
) -> AddLineageRequest:
    cl = [ColumnLineage(fromColumns=[col(src, f)], toColumn=col(dst, t)) for f, t in columns or []]
    return AddLineageRequest(
        edge=EntitiesEdge(
            fromEntity=ref(src, src_type),
            toEntity=ref(dst, dst_type),
            lineageDetails=LineageDetails(columnsLineage=cl or None, **details),
        )
    )


def raw_edge(md: Any, from_id: Any, to_id: Any) -> Any:
    """getLineageEdge without the SDK's edge cache (which add_lineage fills)."""
    try:
        return md.client.get(f"/lineage/getLineageEdge/{from_id.root}/{to_id.root}")
    except APIError as err:
        return {"status": err.status_code, "message": str(err)}


def summary(lineage: dict[str, Any] | None) -> Any:
    if lineage is None:
        return None
    if "error" in lineage:
        return {"error": lineage["error"]}
    return {
        "entity": lineage["entity"],
        "nodes": sorted(n["fullyQualifiedName"] for n in lineage.get("nodes", [])),
        "upstreamEdges": lineage.get("upstreamEdges", []),
        "downstreamEdges": lineage.get("downstreamEdges", []),
    }


def main() -> None:
    r = Results()
    md = connect()
    e = build(md, r)
    r["ids"] = {k: ids(v) for k, v in e.items()}
    raw, orders, report, dotted = e["raw_orders"], e["orders"], e["report"], e["dotted"]

    # 1. plain add: the answer is the from-entity's lineage at depth 1/1
    r["add1"] = summary(
        r.step(
            "add_lineage raw->orders",
            md.add_lineage,
            edge(
                raw,
                "table",
                orders,
                "table",
                [("id", "id")],
                sqlQuery="insert into orders select id from raw_orders",
                source=Source.QueryLineage,
            ),
        )
    )
    # 2. check_patch: getLineageEdge, then PATCH with the union of old and new column pairs
    r["add2"] = summary(
        r.step(
            "add_lineage raw->orders check_patch",
            md.add_lineage,
            edge(raw, "table", orders, "table", [("amount", "amount")], source=Source.QueryLineage),
            check_patch=True,
        )
    )
    r["edge_after_patch"] = r.step(
        "get_lineage_edge raw->orders", md.get_lineage_edge, str(raw.id.root), str(orders.id.root)
    )
    # 3. a pipeline powering an edge, as lineageDetails.pipeline
    r["add3"] = summary(
        r.step(
            "add_lineage orders->report with pipeline",
            md.add_lineage,
            edge(
                orders,
                "table",
                report,
                "table",
                [("id", "id"), ("amount", "total")],
                pipeline=ref(e["pipeline"], "pipeline"),
                source=Source.PipelineLineage,
            ),
        )
    )
    # 4. a dotted name needing FQN quoting, with column lineage
    r["add4"] = summary(
        r.step(
            "add_lineage dotted->orders",
            md.add_lineage,
            edge(dotted, "table", orders, "table", [("customer", "customer")]),
        )
    )
    # 5. other entity types as lineage ends; a stored procedure as the pipeline
    others = [
        ("topic->raw", e["topic"], "topic", raw, "table", {}),
        ("container->raw", e["container"], "container", raw, "table", {}),
        ("report->datamodel", report, "table", e["dashboardDataModel"], "dashboardDataModel", {}),
        (
            "datamodel->dashboard",
            e["dashboardDataModel"],
            "dashboardDataModel",
            e["dashboard"],
            "dashboard",
            {},
        ),
        ("orders->mlmodel", orders, "table", e["mlmodel"], "mlmodel", {}),
        ("orders->searchIndex", orders, "table", e["searchIndex"], "searchIndex", {}),
        (
            "raw->report via storedProcedure",
            raw,
            "table",
            report,
            "table",
            {"pipeline": ref(e["storedProcedure"], "storedProcedure")},
        ),
    ]
    r["others"] = {}
    for name, s, st, d, dt, extra in others:
        res = r.step(f"add_lineage {name}", md.add_lineage, edge(s, st, d, dt, **extra))
        r["others"][name] = None if res is None else ("error" if "error" in res else "ok")
    # 6. reads by id and by name, depths up to the SDK's clamp of 3
    r["by_id"] = summary(r.step("get_lineage_by_id", md.get_lineage_by_id, Table, str(orders.id.root), 3, 3))
    r["by_name"] = summary(
        r.step("get_lineage_by_name", md.get_lineage_by_name, Table, orders.fullyQualifiedName.root, 3, 3)
    )
    r["by_name_dotted"] = summary(
        r.step(
            "get_lineage_by_name dotted", md.get_lineage_by_name, Table, dotted.fullyQualifiedName.root, 1, 1
        )
    )
    r["by_name_pipeline"] = summary(
        r.step(
            "get_lineage_by_name pipeline",
            md.get_lineage_by_name,
            "pipeline",
            e["pipeline"].fullyQualifiedName.root,
            1,
            1,
        )
    )
    r["by_name_dashboard"] = summary(
        r.step(
            "get_lineage_by_name dashboard",
            md.get_lineage_by_name,
            "dashboard",
            e["dashboard"].fullyQualifiedName.root,
            3,
            0,
        )
    )
    # the typed layer parses the answer into EntityLineage, which forbids unknown keys
    r["typed"] = r.step(
        "EntityLineage.model_validate",
        lambda: len(
            EntityLineage.model_validate(md.get_lineage_by_id(Table, str(orders.id.root), 3, 3)).nodes or []
        ),
    )
    r["missing"] = md.get_lineage_by_name(Table, "pg_svc.shop.public.nope")
    r["missing_edge"] = md.get_lineage_edge(str(report.id.root), str(raw.id.root))
    # 7. delete one edge
    r.step(
        "delete_lineage_edge dotted->orders",
        md.delete_lineage_edge,
        EntitiesEdge(fromEntity=ref(dotted, "table"), toEntity=ref(orders, "table")),
    )
    r["after_delete_edge"] = raw_edge(md, dotted.id, orders.id)
    # 8. delete by source: QueryLineage edges into orders
    r.step(
        "delete_lineage_by_source", md.delete_lineage_by_source, "table", str(orders.id.root), "QueryLineage"
    )
    r["after_delete_source"] = raw_edge(md, raw.id, orders.id)
    # 9. delete by source PipelineLineage: the edges the pipeline powers
    r.step(
        "delete_lineage_by_source pipeline",
        md.delete_lineage_by_source,
        "pipeline",
        str(e["pipeline"].id.root),
        "PipelineLineage",
    )
    r["after_delete_pipeline"] = raw_edge(md, orders.id, report.id)
    r["sp_edge_kept"] = raw_edge(md, raw.id, report.id)
    r["final"] = summary(md.get_lineage_by_id(Table, str(raw.id.root), 3, 3))
    r.emit()


if __name__ == "__main__":
    main()
