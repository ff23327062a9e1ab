"""`add_lineage_by_query`: the SDK parses SQL, finds tables via search/fieldQuery and tables/name."""

from __future__ import annotations

from metadata.generated.schema.entity.services.databaseService import DatabaseService
from metadata.ingestion.ometa.client import APIError
from om_common import Results, connect, ids
from sdk_catalog import SERVICE, build


def main() -> None:
    r = Results()
    md = connect()
    e = build(md, r)
    r["ids"] = {k: ids(v) for k, v in e.items()}
    svc = md.get_by_name(DatabaseService, SERVICE)
    r.step(
        "add_lineage_by_query insert",
        md.add_lineage_by_query,
        svc,
        "insert into orders (id, amount) select id, amount from raw_orders",
        database_name="shop",
        schema_name="public",
    )
    # a second query onto the same edge, merged with check_patch: customer joins id and amount
    r.step(
        "add_lineage_by_query check_patch",
        md.add_lineage_by_query,
        svc,
        "insert into orders (customer) select upper(customer) from shop.public.raw_orders",
        check_patch=True,
    )
    # unknown tables: no edge, no error
    r.step(
        "add_lineage_by_query unknown",
        md.add_lineage_by_query,
        svc,
        "insert into nowhere select * from nothing",
        database_name="shop",
        schema_name="public",
    )
    for key, (a, b) in {"raw_orders->orders": ("raw_orders", "orders")}.items():
        try:
            r[key] = md.client.get(f"/lineage/getLineageEdge/{e[a].id.root}/{e[b].id.root}")
        except APIError as err:
            r[key] = {"status": err.status_code}
    r.emit()


if __name__ == "__main__":
    main()
