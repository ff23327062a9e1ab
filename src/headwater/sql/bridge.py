"""Union a script's statements and bridge over intermediate tables.

ETL scripts stage data in tables they write and then read (``a -> tmp -> b``).
At script level the lineage reads ``a -> b``: like sqllineage, a table written
by one statement and read by another is *intermediate* (neither a source nor a
target of the script), and column paths are followed through it. Tables created
and later dropped in the script are scratch space and never reported. Declared
temporary tables (``CREATE TEMP``, ``#tmp``, Teradata volatile) are listed in
``result.temporary_tables``; when they are bridged they disappear like any
intermediate, and a lone ``CREATE TEMP TABLE ... AS`` (one query-log row) still
reports its write. The per-statement lineage in ``result.statements`` keeps every
hop for callers that want persistent intermediates as assets.
"""

from __future__ import annotations

from collections import defaultdict

from headwater.sql.result import ColumnEdge, LineageResult, StatementLineage, Transformation, column_ref

ColumnNode = tuple[str, str]


def apply_renames(statements: list[StatementLineage]) -> list[StatementLineage]:
    """``ALTER TABLE a RENAME TO b`` renames ``a`` in the statements before it; it adds no lineage."""
    out: list[StatementLineage] = []
    for st in statements:
        if st.kind != "ALTER_RENAME" or not st.sources or not st.targets:
            out.append(st)
            continue
        old, new = next(iter(st.sources)), next(iter(st.targets))

        def ren(name: str, old: str = old, new: str = new) -> str:
            return new if name == old else name

        for prev in out:
            prev.sources = {ren(t) for t in prev.sources}
            prev.targets = {ren(t) for t in prev.targets}
            prev.temporary = {ren(t) for t in prev.temporary}
            prev.column_edges = {
                ((ren(s[0]), s[1]), (ren(d[0]), d[1])): tr for (s, d), tr in prev.column_edges.items()
            }
    return out


def temporary_tables(statements: list[StatementLineage]) -> set[str]:
    """Tables declared temporary, or created and later dropped in the same script."""
    temp: set[str] = set()
    created: set[str] = set()
    for st in statements:
        temp |= st.temporary
        if st.kind.startswith("CREATE") or st.kind == "SELECT_INTO":
            created |= st.targets
        temp |= st.dropped & created
    return temp


def dropped_after_create(statements: list[StatementLineage]) -> set[str]:
    """Tables a script creates and later drops: scratch tables, neither source nor target."""
    created: set[str] = set()
    gone: set[str] = set()
    for st in statements:
        if st.kind.startswith("CREATE") or st.kind == "SELECT_INTO":
            created |= st.targets
        gone |= st.dropped & created
    return gone


def _table_sets(statements: list[StatementLineage], temp: set[str]) -> tuple[set[str], set[str], set[str]]:
    """Script-level sources, targets and intermediates from the table graph of all statements."""
    out_deg: dict[str, int] = defaultdict(int)
    in_deg: dict[str, int] = defaultdict(int)
    selfloop: set[str] = set()
    source_only: set[str] = set()
    target_only: set[str] = set()
    for st in statements:
        if st.sources and not st.targets:
            source_only |= st.sources
        elif st.targets and not st.sources:
            target_only |= st.targets
        for s in st.sources:
            for t in st.targets:
                if s == t:
                    selfloop.add(s)
                else:
                    out_deg[s] += 1
                    in_deg[t] += 1
    nodes = set(out_deg) | set(in_deg)
    sources = {n for n in nodes if in_deg[n] == 0} | selfloop | source_only
    targets = {n for n in nodes if out_deg[n] == 0} | selfloop | target_only
    intermediate = {n for n in nodes if in_deg[n] and out_deg[n]}
    gone = dropped_after_create(statements)
    return sources - gone, targets - gone, intermediate | gone


def _single(result: LineageResult, st: StatementLineage, max_column_pairs: int) -> bool:
    """One statement, no temp tables: its lineage is the script's (no graph needed)."""
    result.sources = set(st.sources)
    result.targets = set(st.targets)
    dsts = {dst for _src, dst in st.column_edges}
    if any(src in dsts for src, _dst in st.column_edges if src[1] != "*"):
        return merge_statements(
            result, [st, StatementLineage(index=1, sql="", kind="NONE")], max_column_pairs
        )
    for n, ((src, dst), tr) in enumerate(st.column_edges.items()):
        if n >= max_column_pairs:
            return False
        pair = (column_ref(*src), column_ref(*dst))
        result.column_lineage.add(pair)
        result.column_transformations[pair] = tr.subtype
        if tr.function:
            result.column_functions[pair] = tr.function
    return True


def merge_statements(
    result: LineageResult, statements: list[StatementLineage], max_column_pairs: int
) -> bool:
    """Fill ``result`` from the statements; returns False when the column-pair cap cut it short."""
    if len(statements) == 1 and not statements[0].temporary and not statements[0].kind.startswith("ALTER"):
        return _single(result, statements[0], max_column_pairs)
    statements = apply_renames(statements)
    temp = temporary_tables(statements)
    result.sources, result.targets, result.intermediate_tables = _table_sets(statements, temp)
    result.temporary_tables = temp
    edges: dict[ColumnNode, dict[ColumnNode, Transformation]] = defaultdict(dict)
    has_in: set[ColumnNode] = set()
    selfloops: dict[ColumnNode, Transformation] = {}
    for st in statements:
        for (src, dst), tr in st.column_edges.items():
            if src == dst:
                if src[0] not in temp:
                    selfloops[src] = tr
                continue
            old = edges[src].get(dst)
            edges[src][dst] = tr if old is None else old.combine(tr)
            has_in.add(dst)
    final: dict[ColumnEdge, Transformation] = {(n, n): tr for n, tr in selfloops.items()}
    complete = True
    gone = dropped_after_create(statements)
    written = {dst[0] for dst in has_in}

    def next_of(node: ColumnNode) -> dict[ColumnNode, Transformation] | None:
        nexts = edges.get(node)
        if not nexts and node[1] != "*":
            # tmp.c written here, read later only through tmp.*: follow the star with the column's name
            star = edges.get((node[0], "*"))
            if star:
                nexts = {((d[0], node[1]) if d[1] == "*" else d): t for d, t in star.items()}
        return nexts

    # column paths from columns nothing writes to columns nothing reads, through everything between
    roots = [n for n in edges if n not in has_in and not (n[1] == "*" and n[0] in written)]
    for root in roots:
        stack: list[tuple[ColumnNode, Transformation]] = [(root, Transformation())]
        seen: set[ColumnNode] = set()
        while stack:
            node, tr = stack.pop()
            nexts = next_of(node)
            if node != root and (
                not nexts or (node[0] not in temp and node[0] not in result.intermediate_tables)
            ):
                if node[0] not in gone:
                    key = (root, node)
                    old = final.get(key)
                    final[key] = tr if old is None else old.combine(tr)
                    if len(final) >= max_column_pairs:
                        complete = False
                        break
                if not nexts:
                    continue
            if node in seen:
                continue
            seen.add(node)
            for nxt, tr2 in (nexts or {}).items():
                stack.append((nxt, tr.combine(tr2) if node != root else tr2))
        if not complete:
            break
    for (src, dst), tr in final.items():
        if src[0] in gone:
            continue
        pair = (column_ref(*src), column_ref(*dst))
        result.column_lineage.add(pair)
        result.column_transformations[pair] = tr.subtype
        if tr.function:
            result.column_functions[pair] = tr.function
    return complete
