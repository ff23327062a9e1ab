"""Column lineage: what each output column of a query is computed from.

One pass over the AST with a small scope model of our own (sources per SELECT,
CTEs visible by name, derived tables memoised), instead of sqlglot's
``qualify`` + ``lineage`` per column, which re-walks the tree for every column
and dominates run time on wide queries.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlglot import exp

from headwater.sql.names import Namer
from headwater.sql.result import (
    AGGREGATION,
    CONDITIONAL,
    IDENTITY,
    TRANSFORMATION,
    WINDOW,
    Transformation,
)

#: (table, column) -> how the output depends on it
Lineage = dict[tuple[str, str], Transformation]

_IDENTITY = Transformation(IDENTITY)
_QUERY_TYPES = (exp.Select, exp.SetOperation)


def merge_into(dst: Lineage, src: Lineage, via: Transformation | None = None) -> None:
    """Add ``src`` into ``dst``, composing each entry with ``via`` and keeping the strongest."""
    for key, tr in src.items():
        if via is not None:
            tr = tr.combine(via)
        old = dst.get(key)
        dst[key] = tr if old is None else old.combine(tr)


@dataclass
class Output:
    """One output column of a query."""

    name: str
    lineage: Lineage
    star: bool = False  # an unexpanded ``*`` of a table whose columns are unknown


@dataclass
class Source:
    """Something a SELECT reads from: a table, a derived query/CTE, or a table function."""

    alias: str
    table: str | None = None  # physical table's dotted name
    table_last: str = ""  # last part of the table name, for unaliased qualifiers
    query: exp.Expr | None = None  # derived table / CTE body
    query_scope: Scope | None = None  # scope the derived query is resolved in (CTE env, outer)
    udtf: exp.Expr | None = None  # UNNEST / EXPLODE / FLATTEN / table function
    alias_columns: list[str] = field(default_factory=list)
    is_target: bool = False  # the DML target itself (UPDATE/MERGE): its columns are not lineage sources


@dataclass
class Scope:
    """Sources visible to one SELECT (or UPDATE/MERGE), plus CTEs and the enclosing scope."""

    sources: list[Source]
    ctes: dict[str, tuple[exp.Expr, Scope | None]]
    outer: Scope | None = None
    aliases: dict[str, Lineage] = field(default_factory=dict)  # earlier SELECT-list aliases


class ColumnResolver:
    """Computes output columns and their lineage for queries of one statement."""

    def __init__(self, namer: Namer, lateral_alias: bool = False) -> None:
        self.namer = namer
        self.lateral_alias = lateral_alias
        self._memo: dict[int, list[Output]] = {}
        self._udtf_memo: dict[int, Lineage] = {}
        self._udtf_scope: dict[int, Scope] = {}  # where a table function's arguments resolve

    # -- scopes --------------------------------------------------------------------------------------
    def with_ctes(self, node: exp.Expr, parent: Scope | None) -> Scope | None:
        """Scope carrying the CTEs of ``node``'s WITH clause (or ``parent`` when it has none)."""
        with_ = node.args.get("with_")
        if not isinstance(with_, exp.With):
            return parent
        ctes = dict(parent.ctes) if parent else {}
        scope = Scope(sources=[], ctes=ctes, outer=parent.outer if parent else None)
        recursive = bool(with_.args.get("recursive"))
        for cte in with_.expressions:
            name = self.namer.ident(cte.args.get("alias").this if cte.args.get("alias") else None)
            body = cte.this
            if recursive:
                ctes[name] = (body, scope)
            else:
                # a non-recursive CTE sees only the CTEs before it
                ctes[name] = (body, Scope(sources=[], ctes=dict(ctes), outer=scope.outer))
            cols = cte.args.get("alias").columns if cte.args.get("alias") else None
            if cols:
                self._rename_later(body, [self.namer.column(c) for c in cols])
        return scope

    def _rename_later(self, body: exp.Expr, names: list[str]) -> None:
        # CTE column lists (WITH x(a, b) AS ...) rename the body's outputs; remember it on the node
        body.meta["headwater_columns"] = names

    def source_for(self, item: exp.Expr, scope: Scope) -> Source | None:
        """Source for one FROM/JOIN item, resolving CTE names."""
        alias_node = item.args.get("alias")
        alias = (
            self.namer.ident(alias_node.this)
            if isinstance(alias_node, exp.TableAlias) and alias_node.this
            else ""
        )
        alias_cols = (
            [self.namer.column(c) for c in alias_node.columns]
            if isinstance(alias_node, exp.TableAlias)
            else []
        )
        if isinstance(item, exp.Table):
            if not isinstance(item.this, exp.Identifier | exp.Dot):
                return Source(alias=alias, udtf=item.this, alias_columns=alias_cols)
            parts = self.namer.table_parts(item)
            cte_name = self.namer.ident(item.this) if len(parts) == 1 else ""  # CTE names fold like aliases
            if len(parts) == 1 and cte_name in scope.ctes:
                body, cte_scope = scope.ctes[cte_name]
                return Source(
                    alias=alias or cte_name, query=body, query_scope=cte_scope, alias_columns=alias_cols
                )
            return Source(
                alias=alias,
                table=self.namer.table_name(item),
                table_last=parts[-1] if parts else "",
                alias_columns=alias_cols,
            )
        if isinstance(item, exp.Subquery):
            return Source(alias=alias, query=item.this, query_scope=scope, alias_columns=alias_cols)
        if isinstance(item, exp.Lateral):
            inner = item.this
            if isinstance(inner, exp.Subquery):
                return Source(alias=alias, query=inner.this, query_scope=scope, alias_columns=alias_cols)
            return Source(alias=alias, udtf=inner, alias_columns=alias_cols)
        if isinstance(item, exp.Unnest | exp.UDTF | exp.Func):
            return Source(alias=alias, udtf=item, alias_columns=alias_cols)
        if isinstance(item, exp.Values):
            return Source(alias=alias, alias_columns=alias_cols)
        return None

    def select_scope(self, select: exp.Select, parent: Scope | None) -> Scope:
        """Scope of one SELECT: its FROM, JOINs and LATERAL VIEWs."""
        base = self.with_ctes(select, parent)
        ctes = base.ctes if base else {}
        scope = Scope(sources=[], ctes=ctes, outer=parent)
        items: list[exp.Expr] = []
        from_ = select.args.get("from_")
        if isinstance(from_, exp.From):
            items.append(from_.this)
        for join in select.args.get("joins") or []:
            items.append(join.this)
        for lateral in select.args.get("laterals") or []:
            items.append(lateral)
        for item in items:
            self.add_source(item, scope)
        return scope

    def add_source(self, item: exp.Expr, scope: Scope) -> Source | None:
        """Append the source for a FROM/JOIN item to ``scope`` (and the joins nested inside it)."""
        while isinstance(item, exp.Subquery) and isinstance(item.this, exp.Table | exp.Subquery):
            item = item.this  # FROM ((a JOIN b ON ...)): parenthesised joins, not a derived table
        src = self.source_for(item, scope)
        if src is not None:
            if src.udtf is not None:
                self._udtf_scope[id(src.udtf)] = scope
            scope.sources.append(src)
        for join in item.args.get("joins") or []:  # joins nested in a table or parenthesised FROM item
            self.add_source(join.this, scope)
        return src

    # -- outputs ---------------------------------------------------------------------------------------
    def outputs(self, query: exp.Expr, parent: Scope | None = None) -> list[Output]:
        """Output columns of a query with their lineage (memoised per node)."""
        key = id(query)
        cached = self._memo.get(key)
        if cached is not None:
            return cached
        self._memo[key] = []  # guards recursive CTEs
        result = self._outputs(query, parent)
        names = query.meta.get("headwater_columns") if query.meta else None
        if names:
            result = [Output(n, o.lineage, o.star) for n, o in zip(names, result, strict=False)] or result
        self._memo[key] = result
        return result

    def _outputs(self, query: exp.Expr, parent: Scope | None) -> list[Output]:
        while isinstance(query, exp.Subquery):
            query = query.this
        if isinstance(query, exp.SetOperation):
            scope = self.with_ctes(query, parent)
            leaves = _setop_leaves(query)
            merged: list[Output] = []
            for i, leaf in enumerate(leaves):
                outs = self.outputs(leaf, scope)
                if i == 0:
                    merged = [Output(o.name, dict(o.lineage), o.star) for o in outs]
                    continue
                for pos, out in enumerate(outs):
                    if pos < len(merged):
                        merge_into(merged[pos].lineage, out.lineage)
            return merged
        if isinstance(query, exp.Select):
            return self._select_outputs(query, parent)
        return []

    def _select_outputs(self, select: exp.Select, parent: Scope | None) -> list[Output]:
        scope = self.select_scope(select, parent)
        outs: list[Output] = []
        for proj in select.expressions:
            target = proj.this if isinstance(proj, exp.Alias) else proj
            if isinstance(target, exp.Star):
                outs.extend(self._expand_star(scope.sources))
                continue
            if isinstance(target, exp.Column) and isinstance(target.this, exp.Star):
                qual = self.namer.ident(target.args.get("table"))
                matching = [s for s in scope.sources if self._matches(s, qual, target)]
                if matching:
                    outs.extend(self._expand_star(matching))
                else:  # qualified by a table name that FROM only knows under an alias
                    outs.append(
                        Output(
                            "*",
                            {(self.namer.ident(target.args.get("table"), table=True), "*"): _IDENTITY},
                            star=True,
                        )
                    )
                continue
            lineage = self.expression_lineage(proj, scope)
            name = self.output_name(proj)
            outs.append(Output(name, lineage))
            if isinstance(proj, exp.Alias):
                scope.aliases.setdefault(name, lineage)
        return outs

    def output_name(self, proj: exp.Expr) -> str:
        """Name of an output column: alias, column name, or the expression text."""
        if isinstance(proj, exp.Alias):
            return self.namer.column(proj.args.get("alias"))
        inner = proj
        while isinstance(inner, exp.Cast | exp.TryCast | exp.Paren):
            inner = inner.this
        if isinstance(inner, exp.Column) and not isinstance(inner.this, exp.Star):
            proj = inner
        if isinstance(proj, exp.Column):
            return self.namer.column(proj.this)
        if isinstance(proj, exp.Dot):
            return self.namer.column(proj.name)
        return proj.sql(dialect=self.namer.dialect or None).lower()

    def _expand_star(self, sources: list[Source]) -> list[Output]:
        outs: list[Output] = []
        for src in sources:
            if src.is_target:
                continue
            if src.table is not None:
                cols = self.namer.known_columns(src.table)
                if cols:
                    outs.extend(Output(c, {(src.table, c): _IDENTITY}) for c in cols)
                else:
                    outs.append(Output("*", {(src.table, "*"): _IDENTITY}, star=True))
            elif src.query is not None:
                outs.extend(self._rename(src, self.outputs(src.query, src.query_scope)))
            elif src.udtf is not None:
                lin = self._udtf_lineage(src)
                names = src.alias_columns or [src.alias or "col"]
                outs.extend(Output(n, dict(lin)) for n in names)
        return outs

    def _rename(self, src: Source, outs: list[Output]) -> list[Output]:
        if not src.alias_columns:
            return outs
        renamed = [Output(n, o.lineage, o.star) for n, o in zip(src.alias_columns, outs, strict=False)]
        return renamed + outs[len(renamed) :]

    # -- expressions -------------------------------------------------------------------------------------
    def expression_lineage(self, expr: exp.Expr, scope: Scope) -> Lineage:
        """Source columns an expression is computed from, with how."""
        lineage: Lineage = {}
        for node in _columns_and_subqueries(expr):
            via = _path_transformation(node, expr)
            if isinstance(node, exp.Star):  # COUNT(*): depends on every row of every source
                for src in scope.sources:
                    if src.table is not None and not src.is_target:
                        merge_into(lineage, {(src.table, "*"): _IDENTITY}, via)
                continue
            if isinstance(node, exp.Column):
                if isinstance(node.this, exp.Star):
                    qual = self.namer.ident(node.args.get("table"))
                    for out in self._expand_star([s for s in scope.sources if self._matches(s, qual, node)]):
                        merge_into(lineage, out.lineage, via)
                    continue
                merge_into(lineage, self.resolve_column(node, scope), via)
            else:  # a scalar subquery / query in the expression
                query = node.this if isinstance(node, exp.Subquery) else node
                for out in self.outputs(query, scope):
                    merge_into(lineage, out.lineage, via)
        return lineage

    def _matches(self, src: Source, qual: str, col: exp.Column) -> bool:
        if src.alias:
            return src.alias == qual
        if src.table is None:
            return False
        if src.table_last != qual:
            return False
        db = col.args.get("db")
        if db is None:
            return True
        parts = src.table.split(".")
        return len(parts) >= 2 and parts[-2] == self.namer.ident(db, table=True)

    def _source_columns(self, src: Source) -> list[str] | None:
        """Known column names of a source, or None when unknown."""
        if src.alias_columns:
            return src.alias_columns
        if src.table is not None:
            return self.namer.known_columns(src.table)
        if src.query is not None:
            outs = self.outputs(src.query, src.query_scope)
            if any(o.star for o in outs):
                return None
            return [o.name for o in outs]
        if src.udtf is not None:
            return [src.alias] if src.alias else None
        return []

    def _from_source(self, src: Source, name: str) -> Lineage:
        if src.table is not None:
            if src.alias_columns and name in src.alias_columns:
                known = self.namer.known_columns(src.table)
                idx = src.alias_columns.index(name)
                if known and idx < len(known):
                    name = known[idx]
            return {(src.table, name): _IDENTITY}
        if src.query is not None:
            outs = self._rename(src, self.outputs(src.query, src.query_scope))
            for out in outs:
                if out.name == name:
                    return dict(out.lineage)
            star: Lineage = {}
            for out in outs:
                if out.star:
                    for (table, _col), tr in out.lineage.items():
                        star[(table, name)] = tr
            return star
        if src.udtf is not None:
            return self._udtf_lineage(src)
        return {}

    def _udtf_lineage(self, src: Source) -> Lineage:
        assert src.udtf is not None
        key = id(src.udtf)
        if key not in self._udtf_memo:
            self._udtf_memo[key] = {}
            lin: Lineage = {}
            # arguments resolve against the sources listed before this one (FROM t, UNNEST(t.arr))
            scope = self._udtf_scope.get(key)
            if scope is not None:
                merge_into(lin, self.expression_lineage(src.udtf, scope), Transformation(TRANSFORMATION))
            self._udtf_memo[key] = lin
        return self._udtf_memo[key]

    def resolve_column(self, col: exp.Column, scope: Scope) -> Lineage:
        """Lineage of one column reference, searching enclosing scopes for correlated references."""
        name = self.namer.column(col.this)
        qual_node = col.args.get("table")
        current: Scope | None = scope
        while current is not None:
            if qual_node is not None:
                qual = self.namer.ident(qual_node)
                for src in current.sources:
                    if self._matches(src, qual, col):
                        return self._from_source(src, name)
            else:
                found = self._resolve_unqualified(name, current)
                if found is not None:
                    return found
            current = current.outer
        return {}  # a qualifier naming nothing in scope (typo, or out of the statement's reach)

    def _resolve_unqualified(self, name: str, scope: Scope) -> Lineage | None:
        sources = [s for s in scope.sources if not (s.is_target and len(scope.sources) > 1)]
        definite: list[Source] = []
        unknown: list[Source] = []
        for src in sources:
            cols = self._source_columns(src)
            if cols is None:
                unknown.append(src)
            elif name in cols:
                definite.append(src)
        if definite:
            chosen = definite
        elif name in scope.aliases and (self.lateral_alias or not unknown):
            # an alias defined earlier in this SELECT list, and no source can hold the name
            return dict(scope.aliases[name])
        elif len(unknown) == 1:
            chosen = unknown
        elif unknown:
            return {("", name): _IDENTITY}  # ambiguous without a schema: report the bare column
        elif name in scope.aliases:
            return dict(scope.aliases[name])
        elif len(sources) == 1 and sources[0].udtf is not None:
            return self._from_source(sources[0], name)
        else:
            return None
        lineage: Lineage = {}
        for src in chosen:
            merge_into(lineage, self._from_source(src, name))
        return lineage


def _setop_leaves(node: exp.Expr) -> list[exp.Expr]:
    """Leaf queries of a chain of UNION/INTERSECT/EXCEPT, iteratively (chains can be thousands long)."""
    leaves: list[exp.Expr] = []
    stack = [node]
    while stack:
        cur = stack.pop()
        while isinstance(cur, exp.Subquery) and isinstance(cur.this, exp.SetOperation) and cur is not node:
            cur = cur.this
        if isinstance(cur, exp.SetOperation) and (cur is node or not cur.args.get("with_")):
            stack.append(cur.expression)
            stack.append(cur.this)
        else:
            leaves.append(cur)
    return leaves


def _columns_and_subqueries(expr: exp.Expr) -> Iterator[exp.Expr]:
    """Column references of an expression, and the nested queries in it (not descending into them)."""
    inner = expr.this if isinstance(expr, exp.Alias) else expr
    if isinstance(inner, exp.Column):  # the common case: a plain (aliased) column
        yield inner
        return
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, exp.Column | exp.Star):
            yield node
            continue
        if node is not expr and isinstance(node, exp.Subquery | exp.Select | exp.SetOperation):
            yield node
            continue
        if isinstance(node, exp.Window):
            # window spec columns shape the value only indirectly; visit the function first
            stack.extend(reversed(list(node.iter_expressions())))
            continue
        stack.extend(node.iter_expressions())


def _path_transformation(node: exp.Expr, root: exp.Expr) -> Transformation:
    """How the value at ``root`` depends on ``node``: identity, function, aggregate, window, condition."""
    parent = node.parent
    if (parent is root and isinstance(root, exp.Alias)) or node is root:
        return _IDENTITY
    result = _IDENTITY
    child = node
    while parent is not None and child is not root:
        step: Transformation | None = None
        if isinstance(parent, exp.Window):
            if child.arg_key in ("partition_by", "order", "spec"):
                step = Transformation(WINDOW, _func_name(parent.this))
        elif isinstance(parent, exp.AggFunc):
            step = Transformation(AGGREGATION, _func_name(parent))
        elif (isinstance(parent, exp.If) and child.arg_key == "this") or (
            isinstance(parent, exp.Case) and child.arg_key == "this"
        ):
            step = Transformation(CONDITIONAL, "CASE")
        elif isinstance(parent, exp.Alias | exp.Paren | exp.Subquery | exp.Select | exp.Ordered | exp.Order):
            step = None
        elif isinstance(parent, exp.Cast | exp.TryCast):
            step = Transformation(TRANSFORMATION, "CAST")
        elif isinstance(parent, exp.Func):
            step = Transformation(TRANSFORMATION, _func_name(parent))
        elif isinstance(parent, exp.Where | exp.Having | exp.Group):
            step = Transformation(CONDITIONAL, parent.key.upper())
        else:
            step = Transformation(TRANSFORMATION, parent.key.upper())
        if step is not None:
            result = result.combine(step)
        child = parent
        parent = parent.parent
    return result


def _func_name(node: exp.Expr | None) -> str | None:
    if node is None:
        return None
    if isinstance(node, exp.Anonymous):
        return str(node.name).upper()
    if isinstance(node, exp.Func):
        return node.sql_name()
    return node.key.upper()
