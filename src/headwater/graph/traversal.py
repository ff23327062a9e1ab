"""Upstream and downstream traversal with a depth per direction, a node limit and cycle safety."""

from __future__ import annotations

from dataclasses import dataclass, field

from headwater.graph.index import GraphIndex


@dataclass
class Traversal:
    """What a lineage read found around a root.

    `depth` maps each node to its distance from the root: negative upstream, positive downstream
    (a node reachable both ways keeps the first found). Edges are (from_pk, to_pk) pairs.
    """

    root: int
    nodes: set[int] = field(default_factory=set)
    upstream_edges: list[tuple[int, int]] = field(default_factory=list)
    downstream_edges: list[tuple[int, int]] = field(default_factory=list)
    depth: dict[int, int] = field(default_factory=dict)
    truncated: bool = False


def traverse(
    index: GraphIndex,
    root: int,
    *,
    upstream_depth: int,
    downstream_depth: int,
    node_limit: int = 10_000,
    include_deleted: bool = False,
    refresh: bool = True,
) -> Traversal:
    """Breadth-first both ways from `root`; stops adding nodes at `node_limit` and says so."""
    if refresh:
        index.refresh()
    result = Traversal(root=root)
    seen: set[int] = {root}
    depth = result.depth
    depth[root] = 0
    found = 0  # nodes other than the root
    deleted: set[int] | tuple[()] = () if include_deleted else index.deleted
    for upstream, max_depth in ((True, upstream_depth), (False, downstream_depth)):
        edges = result.upstream_edges
        neighbours = index.upstream
        if not upstream:
            edges = result.downstream_edges
            neighbours = index.downstream
        frontier = [root]
        visited_dir: set[int] = {root}
        # every node enters the frontier once per direction and neighbour lists hold no
        # duplicates, so each edge below is met once: no need to deduplicate them
        for level in range(1, max_depth + 1):
            level_depth = -level if upstream else level
            nxt: list[int] = []
            for node in frontier:
                for other in neighbours(node):
                    if other in deleted:
                        continue
                    if other not in seen:
                        if found >= node_limit:
                            result.truncated = True
                            continue
                        seen.add(other)
                        found += 1
                        depth[other] = level_depth
                    edges.append((other, node) if upstream else (node, other))
                    if other not in visited_dir:
                        visited_dir.add(other)
                        nxt.append(other)
            frontier = nxt
            if not frontier:
                break
    seen.discard(root)
    result.nodes = seen
    return result


def reachable(
    index: GraphIndex, root: int, *, upstream: bool, max_depth: int, include_deleted: bool = False
) -> dict[int, int]:
    """Every node reachable in one direction with its depth (used by impact analysis)."""
    index.refresh()
    depth: dict[int, int] = {root: 0}
    frontier = [root]
    for level in range(1, max_depth + 1):
        nxt: list[int] = []
        for node in frontier:
            for other in index.upstream(node) if upstream else index.downstream(node):
                if other in depth or (not include_deleted and index.is_deleted(other)):
                    continue
                depth[other] = level
                nxt.append(other)
        frontier = nxt
        if not frontier:
            break
    return depth
