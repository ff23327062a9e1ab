"""Writers racing on the same names end with one asset and one edge, with no error surfacing."""

from __future__ import annotations

import threading

from headwater.model import AssetInput, AssetType, LineageDetails
from headwater.store import EdgeWrite, Store


def _race(n: int, work: object) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        try:
            barrier.wait()
            work(i)  # type: ignore[operator]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_racing_upserts_of_one_fqn_from_two_stores_make_one_asset(db_url: str) -> None:
    # two Store objects stand for two server processes sharing one database
    stores = [Store(db_url), Store(db_url, run_migrations=False)]
    try:

        def work(i: int) -> None:
            for round_ in range(10):
                stores[i % 2].upsert_assets(
                    [
                        AssetInput(type=AssetType.DATABASE_SERVICE, fqn="svc", name="svc"),
                        AssetInput(type=AssetType.DATABASE, fqn="svc.db", name="db"),
                        AssetInput(type=AssetType.DATABASE_SCHEMA, fqn="svc.db.s", name="s"),
                        AssetInput(type=AssetType.TABLE, fqn=f"svc.db.s.t{round_}", name=f"t{round_}"),
                    ]
                )

        assert _race(8, work) == []
        tables, total = stores[0].list_assets(types=["table"], limit=100)
        assert total == 10 and len({t.fqn for t in tables}) == 10
        assert stores[0].list_assets(types=["databaseService"])[1] == 1
    finally:
        for s in stores:
            s.close()


def test_racing_edge_writes_make_one_edge(db_url: str) -> None:
    stores = [Store(db_url), Store(db_url, run_migrations=False)]
    try:
        made = stores[0].upsert_assets(
            [AssetInput(type=AssetType.TABLE, fqn=f"x.{n}", name=n) for n in ("a", "b")]
        )
        a, b = made[0][0].pk, made[1][0].pk

        def work(i: int) -> None:
            for j in range(10):
                stores[i % 2].put_edges([EdgeWrite(a, b, LineageDetails(sqlQuery=f"q{i}-{j}"))])

        assert _race(8, work) == []
        assert stores[0].count("edges") == 1
        edge = stores[0].get_edge(a, b)
        assert edge is not None and len(edge.details) == 1
    finally:
        for s in stores:
            s.close()


def test_racing_bulk_edge_writes_make_each_edge_once(db_url: str) -> None:
    # batches big enough for PostgreSQL's COPY path, whose unique violations arrive unwrapped
    stores = [Store(db_url), Store(db_url, run_migrations=False)]
    try:
        made = stores[0].upsert_assets(
            [AssetInput(type=AssetType.TABLE, fqn=f"x.t{n}", name=f"t{n}") for n in range(101)]
        )
        pks = [asset.pk for asset, _ in made]
        writes = [
            EdgeWrite(pks[0], pk, LineageDetails(sqlQuery=f"insert into t{n} select * from t0"))
            for n, pk in enumerate(pks[1:], start=1)
        ]

        def work(i: int) -> None:
            stores[i % 2].put_edges(writes)

        assert _race(6, work) == []
        assert stores[0].count("edges") == 100
        assert stores[0].count("edge_details") == 100
    finally:
        for s in stores:
            s.close()
