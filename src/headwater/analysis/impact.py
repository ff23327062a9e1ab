"""Impact analysis: everything downstream of an asset or a column, with how it is reached.

For an asset the walk follows the asset graph (the in-memory `GraphIndex`). For a column it follows
the column mappings (`columnsLineage`) of the edges leaving the column's asset, hop by hop, and tells
for each hop whether the value is copied as is (`direct`) or transformed (`transformation`, from the
mapping's `function`, or several source columns combined). Edges joining column assets directly
(Atlan-style column processes) are followed as well.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from headwater.analysis.asof import AsOfGraph
from headwater.analysis.common import DIRECT, TRANSFORMATION, columns_by_fqn, hop_kind, owner_names
from headwater.graph.index import GraphIndex
from headwater.model.assets import Asset
from headwater.model.lineage import EdgeView, merge_details
from headwater.model.types import AssetType
from headwater.store import Store

CSV_HEADER = [
    "depth",
    "type",
    "fullyQualifiedName",
    "id",
    "parentType",
    "parentFullyQualifiedName",
    "owners",
    "hop",
    "function",
    "pathKind",
    "path",
]


class Reader:
    """The graph an analysis walks: the live one, or (`at` given) the one as of a past instant."""

    def __init__(self, store: Store, index: GraphIndex, at: int | None = None) -> None:
        self.store = store
        self.index = index
        self.at = at
        self._then: AsOfGraph | None = AsOfGraph.open(store, index, at) if at is not None else None
        if self._then is None:
            index.refresh()

    def downstream_many(self, pks: Sequence[int]) -> dict[int, list[int]]:
        if self._then is not None:
            found = self._then.neighbours_many(list(pks), upstream=False)
            self._then.prefetch_deleted({n for ns in found.values() for n in ns})
            return found
        return {pk: self.index.downstream(pk) for pk in pks}

    def is_deleted(self, pk: int) -> bool:
        return self._then.is_deleted(pk) if self._then is not None else self.index.is_deleted(pk)

    def edges(self, pairs: Sequence[tuple[int, int]]) -> dict[tuple[int, int], EdgeView]:
        return self._then.edges(pairs) if self._then is not None else self.store.get_edges(pairs)


@dataclass(frozen=True)
class ColumnHop:
    """One column mapping followed downstream: `from_column` feeds `to_column` of `to_pk`."""

    from_column: str
    to_column: str
    from_pk: int  # the asset holding from_column
    to_pk: int  # the asset holding to_column
    function: str | None
    kind: str


def column_hops(
    reader: Reader, sources: dict[int, set[str]], *, include_deleted: bool = False
) -> list[ColumnHop]:
    """The mappings out of the given columns, grouped by the asset that holds them.

    `sources` maps an asset pk to the column FQNs of interest in it.
    """
    pairs: list[tuple[int, int]] = []
    for pk, dsts in reader.downstream_many(list(sources)).items():
        for dst in dsts:
            if include_deleted or not reader.is_deleted(dst):
                pairs.append((pk, dst))
    hops: list[ColumnHop] = []
    if not pairs:
        return hops
    edges = reader.edges(pairs)
    for pair in pairs:
        edge = edges.get(pair)
        if edge is None:
            continue
        wanted = sources[pair[0]]
        # the mappings of every source of the edge (what merge_details unions), read directly
        seen: set[tuple[str, str, str | None]] = set()
        for details in edge.details:
            for cl in details.columnsLineage:
                to = cl.toColumn
                if not to:
                    continue
                for col in cl.fromColumns:
                    if col in wanted and (col, to, cl.function) not in seen:
                        seen.add((col, to, cl.function))
                        kind = hop_kind(cl.function, cl.fromColumns, col)
                        hops.append(ColumnHop(col, to, pair[0], pair[1], cl.function, kind))
    return hops


@dataclass
class ImpactResult:
    root: Asset
    column: str | None
    rows: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False

    def page(self, offset: int, limit: int) -> list[dict[str, Any]]:
        return self.rows[offset : offset + limit]


def _asset_row(asset: Asset, depth: int, path: list[str], parent: Asset | None = None) -> dict[str, Any]:
    return {
        "id": asset.id,
        "type": asset.type.value,
        "fullyQualifiedName": asset.fqn,
        "name": asset.name,
        "depth": depth,
        "path": path,
        "owners": owner_names(parent if asset.type is AssetType.COLUMN and parent else asset),
        "parentType": parent.type.value if parent else None,
        "parentFullyQualifiedName": parent.fqn if parent else None,
        "deleted": asset.deleted,
    }


def impact_of_asset(
    store: Store,
    index: GraphIndex,
    root: Asset,
    *,
    max_depth: int,
    types: Sequence[str] | None = None,
    node_limit: int = 100_000,
    include_deleted: bool = False,
    at: int | None = None,
) -> ImpactResult:
    """Every asset downstream of `root` up to `max_depth`, each with its shortest path.

    With `at` (epoch ms), on the graph as it stood then (`deleted` as it was then too).
    """
    reader = Reader(store, index, at)
    parent: dict[int, int] = {}
    depth: dict[int, int] = {root.pk: 0}
    frontier = [root.pk]
    truncated = False
    for level in range(1, max_depth + 1):
        nxt: list[int] = []
        neigh = reader.downstream_many(frontier)
        for node in frontier:
            for other in neigh[node]:
                if other in depth or (not include_deleted and reader.is_deleted(other)):
                    continue
                if len(depth) - 1 >= node_limit:
                    truncated = True
                    break
                depth[other] = level
                parent[other] = node
                nxt.append(other)
        frontier = nxt
        if not frontier:
            break
    assets = store.get_assets_by_pks(depth)
    result = ImpactResult(root=root, column=None, truncated=truncated)

    def path_of(pk: int) -> list[str]:
        out = []
        cur: int | None = pk
        while cur is not None:
            a = assets.get(cur)
            out.append(a.fqn if a else str(cur))
            cur = parent.get(cur)
        return out[::-1]

    wanted = set(types or [])
    for pk, d in depth.items():
        if pk == root.pk or pk not in assets:
            continue
        asset = assets[pk]
        if wanted and asset.type.value not in wanted:
            continue
        if at is not None:
            asset = asset.model_copy(update={"deleted": reader.is_deleted(pk)})
        row = _asset_row(asset, d, path_of(pk))
        row["via"] = assets[parent[pk]].fqn if parent[pk] in assets else None
        result.rows.append(row)
    result.rows.sort(key=lambda r: (r["depth"], r["fullyQualifiedName"], r["type"]))
    return result


def impact_of_column(
    store: Store,
    index: GraphIndex,
    table: Asset,
    column: str,
    *,
    max_depth: int,
    types: Sequence[str] | None = None,
    node_limit: int = 100_000,
    include_deleted: bool = False,
    at: int | None = None,
) -> ImpactResult:
    """Every column downstream of `column` (an FQN in `table`), hop by hop through column mappings.

    Each row tells the kind of its last hop (`hop`: direct or transformation, with `function`) and
    of the whole path (`pathKind`: direct only when every hop is a copy). `types` filters on the
    type of the asset holding the column (table, dashboardDataModel, ...). With `at` (epoch ms), on
    the graph and column mappings as they stood then.
    """
    reader = Reader(store, index, at)
    # state per reached column: (depth, parent column, hop kind, function, holder pk, path kind)
    reached: dict[str, tuple[int, str | None, str | None, str | None, int, str]] = {
        column: (0, None, None, None, table.pk, DIRECT)
    }
    frontier: dict[int, set[str]] = {table.pk: {column}}
    col_assets = columns_by_fqn(store, [column])
    frontier_cols = [c.pk for c in col_assets.values()]
    truncated = False
    for level in range(1, max_depth + 1):
        hops = column_hops(reader, frontier, include_deleted=include_deleted)
        # edges between column assets themselves (column-level processes)
        direct_pairs = [
            (pk, dst) for pk, dsts in reader.downstream_many(frontier_cols).items() for dst in dsts
        ]
        if direct_pairs:
            by_pk = store.get_assets_by_pks({p for pair in direct_pairs for p in pair})
            edges = reader.edges(direct_pairs)
            for f, t in direct_pairs:
                src, dst = by_pk.get(f), by_pk.get(t)
                if src is None or dst is None or dst.type is not AssetType.COLUMN or dst.parent_pk is None:
                    continue
                if not include_deleted and reader.is_deleted(t):
                    continue
                fn = None
                edge = edges.get((f, t))
                if edge is not None:
                    for cl in merge_details(edge.details).get("columnsLineage", []):
                        fn = fn or cl.get("function")
                hops.append(
                    ColumnHop(
                        src.fqn,
                        dst.fqn,
                        src.parent_pk or f,
                        dst.parent_pk,
                        fn,
                        hop_kind(fn, [src.fqn], src.fqn),
                    )
                )
        nxt: dict[int, set[str]] = {}
        for hop in hops:
            if hop.to_column in reached:
                continue
            if len(reached) - 1 >= node_limit:
                truncated = True
                break
            path_kind = reached[hop.from_column][5]
            if hop.kind == TRANSFORMATION:
                path_kind = TRANSFORMATION
            reached[hop.to_column] = (level, hop.from_column, hop.kind, hop.function, hop.to_pk, path_kind)
            nxt.setdefault(hop.to_pk, set()).add(hop.to_column)
        if not nxt:
            break
        frontier = nxt
        found = columns_by_fqn(store, [c for cols in nxt.values() for c in cols])
        col_assets.update(found)
        frontier_cols = [c.pk for c in found.values()]
    holders = store.get_assets_by_pks({v[4] for v in reached.values()})
    result = ImpactResult(root=table, column=column, truncated=truncated)
    wanted = set(types or [])

    def path_of(col: str) -> list[str]:
        out = []
        cur: str | None = col
        while cur is not None:
            out.append(cur)
            cur = reached[cur][1]
        return out[::-1]

    for col, (d, _prev, kind, fn, holder_pk, path_kind) in reached.items():
        if d == 0:
            continue
        holder = holders.get(holder_pk)
        if holder is None:
            continue
        if at is not None:
            holder = holder.model_copy(update={"deleted": reader.is_deleted(holder_pk)})
        if not include_deleted and holder.deleted:
            continue
        if wanted and holder.type.value not in wanted and AssetType.COLUMN.value not in wanted:
            continue
        asset = col_assets.get(col)
        row: dict[str, Any] = {
            "id": asset.id if asset else None,
            "type": AssetType.COLUMN.value,
            "fullyQualifiedName": col,
            "name": asset.name if asset else col[len(holder.fqn) + 1 :],
            "depth": d,
            "path": path_of(col),
            "owners": owner_names(holder),
            "parentType": holder.type.value,
            "parentFullyQualifiedName": holder.fqn,
            "parentId": holder.id,
            "hop": kind,
            "function": fn,
            "pathKind": path_kind,
            "deleted": holder.deleted,
        }
        result.rows.append(row)
    result.rows.sort(key=lambda r: (r["depth"], r["fullyQualifiedName"]))
    return result


def impact_csv(rows: list[dict[str, Any]]) -> Iterator[str]:
    """CSV lines (header first) of impact rows."""

    def line(values: list[Any]) -> str:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(["" if v is None else v for v in values])
        return buf.getvalue()

    yield line(CSV_HEADER)
    for r in rows:
        yield line(
            [
                r["depth"],
                r["type"],
                r["fullyQualifiedName"],
                r.get("id"),
                r.get("parentType"),
                r.get("parentFullyQualifiedName"),
                ";".join(r.get("owners") or []),
                r.get("hop"),
                r.get("function"),
                r.get("pathKind"),
                " > ".join(r["path"]),
            ]
        )
