"""Union a script's statements and bridge over temporary tables.

ETL scripts stage data in temp tables (``a -> #tmp -> b``); the catalog never
holds ``#tmp``, so lineage must read ``a -> b``, columns included.
"""

from __future__ import annotations

from collections import defaultdict

from headwater.sql.result import ColumnEdge, LineageResult, StatementLineage, Transformation, column_ref

ColumnNode = tuple[str, str]


def intermediate_tables(statements: list[StatementLineage]) -> set[str]:
    """Tables to bridge over: declared temporary, or created and dropped in the same script."""
    temp: set[str] = set()
    created: set[str] = set()
    dropped: set[str] = set()
    for st in statements:
        temp |= st.temporary
        if st.kind.startswith("CREATE") or st.kind == "SELECT_INTO":
            created |= st.targets
        dropped |= st.dropped
    return temp | (created & dropped)


def _walk(
    start: ColumnNode,
    first: ColumnNode,
    tr: Transformation,
    edges: dict[ColumnNode, dict[ColumnNode, Transformation]],
    star_edges: dict[str, dict[ColumnNode, dict[ColumnNode, Transformation]]],
    temp: set[str],
    out: dict[ColumnEdge, Transformation],
    limit: int,
) -> None:
    """Follow column edges from ``first`` through temp tables until non-temp columns."""
    stack: list[tuple[ColumnNode, ColumnNode, Transformation]] = [(start, first, tr)]
    seen: set[tuple[ColumnNode, ColumnNode]] = set()
    while stack and len(out) < limit:
        src, node, cur = stack.pop()
        if (src, node) in seen:
            continue
        seen.add((src, node))
        if node[0] not in temp:
            key = (src, node)
            old = out.get(key)
            out[key] = cur if old is None else old.combine(cur)
            continue
        nexts = edges.get(node)
        if nexts:
            for nxt, tr2 in nexts.items():
                stack.append((src, nxt, cur.combine(tr2)))
        if node[1] == "*":
            # tmp.* reached: any column of tmp carries the matching column of the source
            for (tbl, col), targets in star_edges.get(node[0], {}).items():
                del tbl
                new_src = (src[0], col) if src[1] == "*" else src
                for nxt, tr2 in targets.items():
                    stack.append((new_src, nxt, cur.combine(tr2)))
        elif not nexts:
            star = edges.get((node[0], "*"))
            for nxt, tr2 in (star or {}).items():
                dst = (nxt[0], node[1]) if nxt[1] == "*" else nxt
                stack.append((src, dst, cur.combine(tr2)))


def merge_statements(
    result: LineageResult, statements: list[StatementLineage], max_column_pairs: int
) -> bool:
    """Fill ``result`` from the statements; returns False when the column-pair cap cut it short."""
    temp = intermediate_tables(statements)
    result.intermediate_tables = temp
    all_edges: dict[ColumnEdge, Transformation] = {}
    for st in statements:
        result.sources |= st.sources - temp
        result.targets |= st.targets - temp
        for key, tr in st.column_edges.items():
            old = all_edges.get(key)
            all_edges[key] = tr if old is None else old.combine(tr)
    final: dict[ColumnEdge, Transformation]
    if temp and any(src[0] in temp or dst[0] in temp for src, dst in all_edges):
        edges: dict[ColumnNode, dict[ColumnNode, Transformation]] = defaultdict(dict)
        star_edges: dict[str, dict[ColumnNode, dict[ColumnNode, Transformation]]] = defaultdict(dict)
        for (src, dst), tr in all_edges.items():
            edges[src][dst] = tr
            if src[0] in temp and src[1] != "*":
                star_edges[src[0]].setdefault(src, {})[dst] = tr
        final = {}
        for (src, dst), tr in all_edges.items():
            if src[0] in temp:
                continue
            _walk(src, dst, tr, edges, star_edges, temp, final, max_column_pairs)
    else:
        final = all_edges
    complete = True
    for n, ((src, dst), tr) in enumerate(final.items()):
        if n >= max_column_pairs:
            complete = False
            break
        if src[0] in temp or dst[0] in temp:
            continue
        pair = (column_ref(*src), column_ref(*dst))
        result.column_lineage.add(pair)
        result.column_transformations[pair] = tr.subtype
        if tr.function:
            result.column_functions[pair] = tr.function
    return complete
