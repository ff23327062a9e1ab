"""A lineage read assembled for output: the root, its node assets and the edges with details."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from headwater.graph.index import GraphIndex
from headwater.graph.traversal import traverse
from headwater.model.assets import Asset
from headwater.model.lineage import EdgeView, merge_detail_dicts, merge_details
from headwater.model.types import AssetType
from headwater.store import Store

PIPELINE_TYPES = (AssetType.PIPELINE, AssetType.STORED_PROCEDURE, AssetType.PROCESS)


@dataclass
class LineageView:
    root: Asset
    nodes: dict[int, Asset] = field(default_factory=dict)
    upstream: list[EdgeView] = field(default_factory=list)
    downstream: list[EdgeView] = field(default_factory=list)
    depth: dict[int, int] = field(default_factory=dict)
    truncated: bool = False
    # with `parse_details=False` the edges carry no parsed details; these are the stored ones
    detail_dicts: dict[tuple[int, int], list[dict[str, Any]]] | None = None

    def all_assets(self) -> dict[int, Asset]:
        return {self.root.pk: self.root, **self.nodes}

    def merged_details(self, edge: EdgeView) -> dict[str, Any]:
        """The edge's OpenMetadata `lineageDetails`, all sources merged (see `merge_details`)."""
        if self.detail_dicts is not None:
            return merge_detail_dicts(self.detail_dicts.get((edge.from_pk, edge.to_pk), []))
        return merge_details(edge.details)


def build_lineage_view(
    store: Store,
    index: GraphIndex,
    root: Asset,
    *,
    upstream_depth: int,
    downstream_depth: int,
    node_limit: int,
    include_deleted: bool = False,
    parse_details: bool = True,
) -> LineageView:
    """Traverse from `root` and load what the answer shows.

    `parse_details=False` leaves each edge's `details` empty and keeps the stored details as plain
    dicts in `detail_dicts` (read them with `merged_details`): for answers of thousands of edges,
    a pydantic model per edge and source costs more than the rest of the read.

    For a pipeline (or stored procedure, or process) root, the edges it powers are part of its
    lineage too, as OpenMetadata shows them: their sources upstream, their targets downstream.
    """
    result = traverse(
        index,
        root.pk,
        upstream_depth=upstream_depth,
        downstream_depth=downstream_depth,
        node_limit=node_limit,
        include_deleted=include_deleted,
    )
    up_pairs = list(result.upstream_edges)
    down_pairs = list(result.downstream_edges)
    node_pks = set(result.nodes)
    depth = dict(result.depth)
    if root.type in PIPELINE_TYPES and (upstream_depth > 0 or downstream_depth > 0):
        powered = store.edges_by_pipeline([root.pk])
        for f, t in powered:
            if not include_deleted and (index.is_deleted(f) or index.is_deleted(t)):
                continue
            if len(node_pks) >= node_limit and (f not in node_pks or t not in node_pks):
                result.truncated = True
                continue
            if upstream_depth > 0:
                up_pairs.append((f, t))
                node_pks.add(f)
                depth.setdefault(f, -1)
            if downstream_depth > 0:
                down_pairs.append((f, t))
                node_pks.add(t)
                depth.setdefault(t, 1)
    pairs = up_pairs + down_pairs
    with store.shared_reads():  # one pooled connection for both lookups
        if parse_details:
            edges = store.get_edges(pairs)
            dicts = None
        else:
            rows = store.get_edge_rows(pairs)
            edges = {
                pair: EdgeView.model_construct(
                    from_pk=pair[0], to_pk=pair[1], details=[], edge_description=desc
                )
                for pair, (desc, _) in rows.items()
            }
            dicts = {pair: [orjson.loads(t) for t in texts] for pair, (_, texts) in rows.items()}
        assets = store.get_assets_by_pks(node_pks - {root.pk})
    view = LineageView(root=root, nodes=assets, depth=depth, truncated=result.truncated, detail_dicts=dicts)
    seen_up: set[tuple[int, int]] = set()
    for pair in up_pairs:
        if pair in edges and pair not in seen_up:
            seen_up.add(pair)
            view.upstream.append(edges[pair])
    seen_down: set[tuple[int, int]] = set()
    for pair in down_pairs:
        if pair in edges and pair not in seen_down:
            seen_down.add(pair)
            view.downstream.append(edges[pair])
    return view
