"""Traversal of the lineage graph: in-memory index, upstream/downstream walks, exports."""

from headwater.graph.index import GraphIndex
from headwater.graph.traversal import Traversal, reachable, traverse

__all__ = ["GraphIndex", "Traversal", "reachable", "traverse"]
