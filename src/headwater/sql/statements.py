"""Classify one parsed statement and extract its tables and column mappings.

Each statement kind says which table it writes and which part of it is the
query that feeds the write; table-level sources are every physical table read
anywhere in the statement (subqueries in WHERE included), CTE names excluded.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp

from headwater.sql.columns import ColumnResolver, Lineage, Output, Scope, Source
from headwater.sql.dialects import supports_lateral_alias, use_selects_database
from headwater.sql.names import Namer
from headwater.sql.result import StatementLineage, Transformation

_SKIP_SUBTREES = (exp.ColumnDef, exp.Reference, exp.ForeignKey)
_LINEAGE_COMMANDS = frozenset(
    {"INSERT", "MERGE", "UPDATE", "DELETE", "CREATE", "COPY", "WITH", "SELECT", "REPLACE"}
)
_UNLOAD = re.compile(r"^\s*UNLOAD\s*\(\s*'((?:[^']|'')*)'\s*\)", re.IGNORECASE | re.DOTALL)
_EXCHANGE = re.compile(
    r"^\s*ALTER\s+TABLE\s+(\S+)\s+EXCHANGE\s+PARTITION\s*\(.*?\)\s*WITH\s+TABLE\s+(\S+)", re.I | re.S
)
_BUILTIN_TABLE_FUNCTIONS = frozenset(
    {
        "generator",
        "result_scan",
        "split_to_table",
        "flatten",
        "unnest",
        "range",
        "generate_series",
        "json_table",
        "openjson",
        "string_split",
        "openrowset",
        "opendatasource",
        "openquery",
        "values",
        "sequence",
        "numbers",
        "external_query",
        "read_csv",
        "read_parquet",
        "read_json",
        "read_csv_auto",
        "glob",
        "s3",
        "url",
        "file",
    }
)
_STREAM = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?STREAM\s+(?:IF\s+NOT\s+EXISTS\s+)?(\S+)\s+"
    r"(?:COPY\s+GRANTS\s+)?ON\s+(?:EXTERNAL\s+TABLE|TABLE|VIEW|DYNAMIC\s+TABLE|STAGE)\s+([^\s;(]+)",
    re.IGNORECASE,
)
_COPY_INTO = re.compile(r"^\s*COPY\s+INTO\s+([^@'\s(][^\s(]*)", re.IGNORECASE)
_PSEUDO_TABLES = frozenset({"dual", "DUAL"})


def _is_named_table(node: exp.Table) -> bool:
    """A reference to a stored table (not a table function, stage or file path)."""
    this = node.this
    if isinstance(this, exp.DynamicIdentifier):  # Snowflake IDENTIFIER('name')
        return isinstance(this.this, exp.Literal)
    if not isinstance(this, exp.Identifier | exp.Dot):
        return False
    name = node.name
    if name.startswith("@") and not isinstance(this, exp.Identifier):
        return False
    # file paths (spark's parquet.`/path`, stages) are not tables
    return "://" not in name and "/" not in name


class StatementAnalyzer:
    """Extracts lineage from one statement; holds the per-script naming state (``USE``)."""

    def __init__(self, namer: Namer) -> None:
        self.namer = namer
        self.dialect = namer.dialect
        self._static_partitions: set[str] = set()

    # -- tables ----------------------------------------------------------------------------------------
    def read_tables(
        self, root: exp.Expr, exclude: set[int], filter_only: dict[str, bool] | None = None
    ) -> set[str]:
        """Physical tables read anywhere under ``root``, CTE references excluded.

        sqlglot's compiled ``find_all`` visits the nodes; only the (few) tables then walk
        up their ancestors to see whether a visible CTE shadows their name.
        """
        found: set[str] = set()
        cte_names: dict[int, list[str]] = {}
        for node in root.find_all(exp.Table, exp.TableFromRows):
            if id(node) in exclude:
                continue
            if not isinstance(node, exp.Table) or not _is_named_table(node):
                func = self._function_source(node)
                if func and not self._hidden(node, None, cte_names):
                    found.add(func)
                continue
            parts = self.namer.table_parts(node)
            if len(parts) == 1 and parts[0] in _PSEUDO_TABLES:
                continue
            if self._hidden(node, self.namer.ident(node.this) if len(parts) == 1 else None, cte_names):
                continue
            name = ".".join(self.namer.qualify(parts))
            found.add(name)
            if filter_only is not None and (name not in filter_only or filter_only[name]):
                filter_only[name] = _in_filter(node)
        return found

    def _function_source(self, node: exp.Expr) -> str | None:
        """Name of a user-defined table function read in FROM (``FROM my_schema.fn(...)``, ``TABLE(fn())``);
        built-in generators are not data sources. ``IDENTIFIER('t')`` names a table."""
        this = node.this
        if isinstance(this, exp.DynamicIdentifier) and isinstance(this.this, exp.Literal):
            return ".".join(
                self.namer.qualify([self.namer.ident(p, table=True) for p in this.this.name.split(".")])
            )
        prefix: list[str] = []
        if isinstance(node, exp.Table):
            prefix = [
                self.namer.ident(p, table=True) for p in (node.args.get("catalog"), node.args.get("db")) if p
            ]
        while isinstance(this, exp.Dot):
            head = this.this
            prefix.extend(
                self.namer.ident(p, table=True)
                for p in ([head] if not isinstance(head, exp.Dot) else [head.this, head.expression])
            )
            this = this.expression
        if isinstance(this, exp.Anonymous) and str(this.name).lower() == "table" and this.expressions:
            return self._function_source(exp.TableFromRows(this=this.expressions[0].copy()))  # TABLE(fn(...))
        if not isinstance(this, exp.Anonymous):
            return None
        name = self.namer.ident(
            this.this if isinstance(this.this, exp.Identifier) else str(this.this), table=True
        )
        if name.lower() in _BUILTIN_TABLE_FUNCTIONS or any(p.lower() == "information_schema" for p in prefix):
            return None
        return ".".join([*prefix, name])

    def _names_of(self, with_: exp.With, cache: dict[int, list[str]]) -> list[str]:
        names = cache.get(id(with_))
        if names is None:
            names = [
                self.namer.ident(c.args["alias"].this) if c.args.get("alias") else ""
                for c in with_.expressions
            ]
            cache[id(with_)] = names
        return names

    def _hidden(self, table: exp.Expr, name: str | None, cache: dict[int, list[str]]) -> bool:
        """Whether ``table`` is a CTE reference, a foreign key or a column definition, not a read."""
        node: exp.Expr = table
        while node.parent is not None:
            parent = node.parent
            if isinstance(parent, _SKIP_SUBTREES):
                return True
            if isinstance(parent, exp.With):
                if name is not None:
                    names = self._names_of(parent, cache)
                    if parent.args.get("recursive"):
                        visible = names
                    else:  # a CTE body sees the CTEs before it: WITH t AS (SELECT * FROM t) reads table t
                        idx = next((i for i, c in enumerate(parent.expressions) if c is node), len(names))
                        visible = names[:idx]
                    if name in visible:
                        return True
                owner = parent.parent
                if owner is None:
                    return False
                node = owner  # the owner's WITH is handled: continue above it
                continue
            with_ = parent.args.get("with_")
            if (
                name is not None
                and isinstance(with_, exp.With)
                and node is not with_
                and name in self._names_of(with_, cache)
            ):
                return True
            node = parent
        return False

    def _target(self, node: exp.Expr | None) -> tuple[exp.Table | None, list[str]]:
        """Target table node and explicit column list of an INSERT/CREATE target."""
        cols: list[str] = []
        if isinstance(node, exp.Schema):
            for c in node.expressions:
                if isinstance(c, exp.ColumnDef):
                    cols.append(self.namer.column(c.this))
                elif isinstance(c, exp.Identifier | exp.Column):
                    cols.append(self.namer.column(c.this if isinstance(c, exp.Column) else c))
            node = node.this
        if isinstance(node, exp.Table) and _is_named_table(node):
            return node, cols
        return None, cols

    # -- statements ------------------------------------------------------------------------------------
    def analyze(self, stmt: exp.Expr, index: int, sql: str) -> StatementLineage:
        """Lineage of one parsed statement."""
        st = StatementLineage(index=index, sql=sql, kind=stmt.key.upper())
        resolver = ColumnResolver(self.namer, supports_lateral_alias(self.dialect))
        exclude: set[int] = set()
        self._static_partitions = set()
        if isinstance(stmt, exp.Insert):
            self._insert(stmt, st, resolver, exclude)
        elif isinstance(stmt, exp.Create):
            if not self._create(stmt, st, resolver, exclude):
                return st
        elif isinstance(stmt, exp.Query) and isinstance(_leftmost(stmt).args.get("into"), exp.Into):
            self._select_into(stmt, st, resolver, exclude)
        elif isinstance(stmt, exp.Merge):
            self._merge(stmt, st, resolver, exclude)
        elif isinstance(stmt, exp.Update):
            self._update(stmt, st, resolver, exclude)
        elif isinstance(stmt, exp.Delete):
            self._delete(stmt, st, exclude)
        elif isinstance(stmt, exp.Copy):
            self._copy(stmt, st, resolver, exclude)
        elif isinstance(stmt, exp.Query | exp.Subquery):
            st.kind = "SELECT" if not isinstance(stmt, exp.SetOperation) else stmt.key.upper()
        elif isinstance(stmt, exp.Use):
            self._use(stmt)
            return st
        elif isinstance(stmt, exp.Drop):
            st.kind = "DROP"
            kind = str(stmt.args.get("kind") or "").upper()
            if kind in ("TABLE", "VIEW", ""):
                tables = stmt.args.get("tables") or ([stmt.this] if stmt.this else [])
                st.dropped = {self.namer.table_name(t) for t in tables if isinstance(t, exp.Table)}
            return st
        elif isinstance(stmt, exp.Alter):
            self._alter(stmt, st)
            return st
        elif isinstance(stmt, exp.Command):
            return self._command(stmt, st)
        else:
            return st
        filter_only: dict[str, bool] = {}
        st.sources |= self.read_tables(stmt, exclude, filter_only)
        # INSERT INTO t ... WHERE k NOT IN (SELECT k FROM t): reading the target only to filter is no lineage
        st.sources -= {t for t in st.targets if filter_only.get(t)}
        self._mark_temporary(st)
        return st

    def _mark_temporary(self, st: StatementLineage) -> None:
        for name in st.sources | st.targets:
            last = name.rsplit(".", 1)[-1]
            if last.startswith("#") or (last.startswith("@") and self.dialect in ("tsql", "fabric")):
                st.temporary.add(name)

    def _write_columns(self, st: StatementLineage, target: str, outs: list[Output], cols: list[str]) -> None:
        """Map a query's outputs onto target columns (by position when a column list is given)."""
        if not cols and outs and not any(o.star for o in outs):
            known = self.namer.known_columns(target)
            if known:
                known = [c for c in known if c not in self._static_partitions]
                if len(known) == len(outs):
                    cols = known  # INSERT without a column list fills the table's columns in order
        if cols and not (len(outs) == 1 and outs[0].star and len(cols) > 1):
            pairs = zip(cols, outs, strict=False)
        else:
            pairs = zip([o.name for o in outs], outs, strict=False)
        for col, out in pairs:
            for (table, src_col), tr in out.lineage.items():
                dst_col = "*" if out.star else col
                st.column_edges[((table, src_col), (target, dst_col))] = tr

    def _insert(
        self, stmt: exp.Insert, st: StatementLineage, resolver: ColumnResolver, exclude: set[int]
    ) -> None:
        table, cols = self._target(stmt.this)
        if table is None:
            return
        exclude.add(id(table))
        target = self.namer.table_name(table)
        st.targets.add(target)
        query = stmt.expression
        if query is None:
            return
        partition = table.args.get("partition")
        self._static_partitions = {
            self.namer.column(eq.this.this)
            for eq in (partition.expressions if isinstance(partition, exp.Partition) else [])
            if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column)
        }
        scope = resolver.with_ctes(stmt, None)
        self._write_columns(st, target, resolver.outputs(query, scope), cols)

    def _create(
        self, stmt: exp.Create, st: StatementLineage, resolver: ColumnResolver, exclude: set[int]
    ) -> bool:
        kind = str(stmt.args.get("kind") or "").upper()
        if kind not in ("TABLE", "VIEW", "DYNAMIC TABLE", "MATERIALIZED VIEW", "EXTERNAL TABLE"):
            st.kind = f"CREATE_{kind or 'OTHER'}".replace(" ", "_")
            return False
        table, cols = self._target(stmt.this)
        if table is None:
            return False
        exclude.add(id(table))
        target = self.namer.table_name(table)
        st.targets.add(target)
        props = stmt.args.get("properties")
        prop_list = props.expressions if isinstance(props, exp.Properties) else []
        materialized = any(isinstance(p, exp.MaterializedProperty) for p in prop_list)
        if any(isinstance(p, exp.TemporaryProperty | exp.VolatileProperty) for p in prop_list):
            st.temporary.add(target)
        query = stmt.expression
        if kind == "VIEW":
            st.kind = "CREATE_MATERIALIZED_VIEW" if materialized else "CREATE_VIEW"
        else:
            st.kind = "CREATE_TABLE_AS" if query is not None else "CREATE_TABLE"
        if isinstance(query, exp.Query | exp.Subquery):
            scope = resolver.with_ctes(stmt, None)
            self._write_columns(st, target, resolver.outputs(query, scope), cols)
        for p in prop_list:
            if isinstance(p, exp.LikeProperty) and isinstance(p.this, exp.Table):
                like = self.namer.table_name(p.this)
                st.kind = "CREATE_TABLE_LIKE"
                if cols == []:
                    st.column_edges[((like, "*"), (target, "*"))] = _identity()
        clone = stmt.args.get("clone")
        if isinstance(clone, exp.Clone) and isinstance(clone.this, exp.Table):
            st.kind = "CREATE_TABLE_CLONE"
            st.column_edges[((self.namer.table_name(clone.this), "*"), (target, "*"))] = _identity()
        return True

    def _select_into(
        self, stmt: exp.Query, st: StatementLineage, resolver: ColumnResolver, exclude: set[int]
    ) -> None:
        into = _leftmost(stmt).args["into"]
        st.kind = "SELECT_INTO"
        table = into.this
        if not isinstance(table, exp.Table):
            return
        exclude.add(id(table))
        target = self.namer.table_name(table)
        st.targets.add(target)
        if into.args.get("temporary") or (into.args.get("unlogged") is None and target.startswith("#")):
            st.temporary.add(target)
        self._write_columns(st, target, resolver.outputs(stmt, None), [])

    def _dml_scope(
        self,
        resolver: ColumnResolver,
        target_node: exp.Table,
        target: str,
        items: list[exp.Expr],
        stmt: exp.Expr,
    ) -> Scope:
        scope = resolver.with_ctes(stmt, None)
        dml = Scope(sources=[], ctes=scope.ctes if scope else {}, outer=None)
        alias_node = target_node.args.get("alias")
        alias = (
            self.namer.ident(alias_node.this)
            if isinstance(alias_node, exp.TableAlias) and alias_node.this
            else ""
        )
        parts = self.namer.table_parts(target_node)
        dml.sources.append(
            Source(alias=alias, table=target, table_last=parts[-1] if parts else "", is_target=True)
        )
        for item in items:
            resolver.add_source(item, dml)
        return dml

    def _set_items(
        self,
        st: StatementLineage,
        resolver: ColumnResolver,
        scope: Scope,
        target: str,
        items: list[exp.Expr],
    ) -> None:
        for eq in items:
            if not isinstance(eq, exp.EQ) or not isinstance(eq.this, exp.Column):
                continue
            col = self.namer.column(eq.this.this)
            lineage: Lineage = resolver.expression_lineage(eq.expression, scope)
            lineage.pop((target, col), None)  # SET x = x + 1 reads the row it writes: no lineage
            for (table, src_col), tr in lineage.items():
                st.column_edges[((table, src_col), (target, col))] = tr

    def _merge(
        self, stmt: exp.Merge, st: StatementLineage, resolver: ColumnResolver, exclude: set[int]
    ) -> None:
        table = stmt.this
        if not isinstance(table, exp.Table):
            return
        exclude.add(id(table))
        target = self.namer.table_name(table)
        st.targets.add(target)
        using = stmt.args.get("using")
        scope = self._dml_scope(resolver, table, target, [using] if using is not None else [], stmt)
        whens = stmt.args.get("whens")
        for when in whens.expressions if isinstance(whens, exp.Whens) else []:
            then = when.args.get("then")
            if isinstance(then, exp.Update):
                self._set_items(st, resolver, scope, target, then.expressions)
            elif isinstance(then, exp.Insert):
                cols = then.this.expressions if isinstance(then.this, exp.Tuple) else []
                vals = then.expression.expressions if isinstance(then.expression, exp.Tuple) else []
                for c, v in zip(cols, vals, strict=False):
                    if not isinstance(c, exp.Column | exp.Identifier):
                        continue  # INSERT (1, 2) VALUES ...: not column names
                    name = self.namer.column(c.this if isinstance(c, exp.Column) else c)
                    for (t, src_col), tr in resolver.expression_lineage(v, scope).items():
                        st.column_edges[((t, src_col), (target, name))] = tr

    def _update(
        self, stmt: exp.Update, st: StatementLineage, resolver: ColumnResolver, exclude: set[int]
    ) -> None:
        table = stmt.this
        if not isinstance(table, exp.Table):
            return
        exclude.add(id(table))
        items: list[exp.Expr] = [j.this for j in table.args.get("joins") or []]
        from_ = stmt.args.get("from_")
        if isinstance(from_, exp.From):
            items.append(from_.this)
        for join in (from_.args.get("joins") if isinstance(from_, exp.From) else None) or []:
            items.append(join.this)
        for join in stmt.args.get("joins") or []:
            items.append(join.this)
        target_node = table
        if not table.args.get("db") and not table.args.get("alias"):
            # T-SQL: UPDATE alias SET ... FROM real_table AS alias
            wanted = self.namer.ident(table.this)
            for node in _flatten_items(items):
                alias = node.args.get("alias")
                if (
                    isinstance(node, exp.Table)
                    and isinstance(alias, exp.TableAlias)
                    and alias.this is not None
                    and self.namer.ident(alias.this) == wanted
                ):
                    target_node = node
                    exclude.add(id(node))
                    break
        target = self.namer.table_name(target_node)
        st.targets.add(target)
        dml_target = table
        if target_node is not table:
            items = [i for i in items if i is not target_node] + [
                j.this for j in target_node.args.get("joins") or []
            ]
            dml_target = exp.Table(this=target_node.this.copy(), alias=target_node.args["alias"].copy())
        scope = self._dml_scope(resolver, dml_target, target, items, stmt)
        self._set_items(st, resolver, scope, target, stmt.expressions)

    def _delete(self, stmt: exp.Delete, st: StatementLineage, exclude: set[int]) -> None:
        tables = stmt.args.get("tables") or [stmt.this]
        for table in tables:
            if isinstance(table, exp.Table) and _is_named_table(table):
                exclude.add(id(table))
                st.targets.add(self.namer.table_name(table))
        # DELETE t1 FROM t1 JOIN t2: the FROM names the target again
        if (
            stmt.args.get("tables")
            and isinstance(stmt.this, exp.Table)
            and self.namer.table_name(stmt.this) in st.targets
        ):
            exclude.add(id(stmt.this))

    def _copy(
        self, stmt: exp.Copy, st: StatementLineage, resolver: ColumnResolver, exclude: set[int]
    ) -> None:
        table, _cols = self._target(stmt.this)
        if table is not None and not table.name.startswith("@"):
            exclude.add(id(table))
            st.targets.add(self.namer.table_name(table))

    def _use(self, stmt: exp.Use) -> None:
        table = stmt.this
        if not isinstance(table, exp.Table):
            return
        kind = str(stmt.args["kind"].name).upper() if stmt.args.get("kind") else ""
        parts = [self.namer.ident(p) for p in table.parts]
        if not parts or kind in ("WAREHOUSE", "ROLE", "SECONDARY ROLES", "SECONDARY"):
            return
        if kind == "SCHEMA":
            self.namer.set_defaults(parts[-2] if len(parts) > 1 else None, parts[-1])
        elif kind in ("DATABASE", "CATALOG"):
            self.namer.set_defaults(parts[-1], None)
        elif len(parts) >= 2:
            self.namer.set_defaults(parts[-2], parts[-1])
        elif use_selects_database(self.dialect):
            self.namer.set_defaults(parts[0], None)
        else:
            self.namer.set_defaults(None, parts[0])

    def _alter(self, stmt: exp.Alter, st: StatementLineage) -> None:
        st.kind = "ALTER"
        if not isinstance(stmt.this, exp.Table):
            return
        for action in stmt.args.get("actions") or []:
            if isinstance(action, exp.SwapTable) and isinstance(action.this, exp.Table):
                # Snowflake ALTER TABLE a SWAP WITH b
                st.kind = "ALTER_SWAP"
                st.sources.add(self.namer.table_name(action.this))
                st.targets.add(self.namer.table_name(stmt.this))
            if isinstance(action, exp.AlterRename) and isinstance(action.this, exp.Table):
                old = self.namer.table_name(stmt.this)
                new_table = action.this
                if not new_table.db and stmt.this.db:  # RENAME TO keeps the schema
                    new = ".".join([*old.split(".")[:-1], self.namer.ident(new_table.this, table=True)])
                else:
                    new = self.namer.table_name(new_table)
                st.kind = "ALTER_RENAME"
                st.sources.add(old)
                st.targets.add(new)
                st.column_edges[((old, "*"), (new, "*"))] = _identity()

    def _command(self, stmt: exp.Command, st: StatementLineage) -> StatementLineage:
        keyword = str(stmt.this).upper()
        st.kind = keyword or "COMMAND"
        stream = _STREAM.match(st.sql)
        if keyword == "CREATE" and stream:  # Snowflake CREATE STREAM s ON TABLE t: s carries t's changes
            parse = lambda text: sqlglot.parse_one(text, into=exp.Table, read=self.dialect or None)  # noqa: E731
            st.kind = "CREATE_STREAM"
            st.targets.add(self.namer.table_name(parse(stream.group(1))))
            st.sources.add(self.namer.table_name(parse(stream.group(2))))
            return st
        copy_into = _COPY_INTO.match(st.sql)
        if keyword == "COPY" and copy_into:  # COPY INTO t FROM (SELECT ... FROM @stage/path): target only
            parse = lambda text: sqlglot.parse_one(text, into=exp.Table, read=self.dialect or None)  # noqa: E731
            st.kind = "COPY"
            st.targets.add(self.namer.table_name(parse(copy_into.group(1))))
            return st
        if keyword == "UNLOAD":
            match = _UNLOAD.match(st.sql)
            if match:
                inner_sql = match.group(1).replace("''", "'")
                inner = sqlglot.parse_one(inner_sql, read=self.dialect or None)
                st.sources |= self.read_tables(inner, set())
            return st
        exchange = _EXCHANGE.match(st.sql)
        if keyword == "ALTER" and exchange:
            parse = lambda text: sqlglot.parse_one(text, into=exp.Table, read=self.dialect or None)  # noqa: E731
            st.kind = "ALTER_EXCHANGE_PARTITION"
            st.targets.add(self.namer.table_name(parse(exchange.group(1))))
            st.sources.add(self.namer.table_name(parse(exchange.group(2))))
            return st
        if keyword in _LINEAGE_COMMANDS:
            st.unsupported = (
                f"{keyword} statement uses syntax the {self.dialect or 'ansi'} parser does not support"
            )
        return st


def _flatten_items(items: list[exp.Expr]) -> list[exp.Expr]:
    """FROM items with the joins nested inside tables spread out."""
    out: list[exp.Expr] = []
    stack = list(reversed(items))
    while stack:
        item = stack.pop()
        out.append(item)
        if isinstance(item, exp.Table):
            stack.extend(reversed([j.this for j in item.args.get("joins") or []]))
    return out


def _in_filter(node: exp.Expr) -> bool:
    """Whether a table reference sits in a subquery of a WHERE/HAVING clause."""
    parent = node.parent
    while parent is not None:
        if isinstance(parent, exp.Where | exp.Having):
            return True
        parent = parent.parent
    return False


def _leftmost(node: exp.Expr) -> exp.Expr:
    """First SELECT of a set operation (where SELECT ... INTO puts its INTO)."""
    while isinstance(node, exp.SetOperation | exp.Subquery):
        node = node.this
    return node


def _identity() -> Transformation:
    return Transformation()
