"""Naming: case normalisation per dialect, default qualification, known schemas.

Every table and column name leaving the engine goes through :class:`Namer`, so
``Orders`` in one statement and ``orders`` in the next are one table exactly
when the dialect says they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlglot import exp
from sqlglot.dialects.dialect import NormalizationStrategy

from headwater.sql.dialects import get_dialect

SchemaInput = Mapping[str, Any]


class Namer:
    """Turns sqlglot identifiers and tables into the engine's dotted names."""

    def __init__(
        self,
        dialect: str,
        default_database: str | None = None,
        default_schema: str | None = None,
        schema: SchemaInput | None = None,
    ) -> None:
        self.dialect = dialect
        self.strategy = get_dialect(dialect).NORMALIZATION_STRATEGY
        self.default_database = self.normalize_text(default_database) if default_database else None
        self.default_schema = self.normalize_text(default_schema) if default_schema else None
        self._schema_index: dict[str, list[str] | None] = {}
        self._cache: dict[tuple[str, bool, bool], str] = {}
        if schema:
            self._load_schema(schema)

    # -- identifiers -------------------------------------------------------------------------------
    def normalize_text(self, text: str, quoted: bool = False, table: bool = False) -> str:
        """Normalise one identifier's text the way the dialect resolves it."""
        strategy = self.strategy
        if self.dialect == "bigquery" and table:
            return text  # BigQuery dataset and table names are case-sensitive
        if strategy == NormalizationStrategy.CASE_SENSITIVE:
            return text
        if quoted and strategy in (NormalizationStrategy.UPPERCASE, NormalizationStrategy.LOWERCASE):
            return text
        if strategy == NormalizationStrategy.UPPERCASE:
            return text.upper()
        return text.lower()

    def ident(self, node: exp.Expr | str | None, table: bool = False) -> str:
        """Normalised text of an identifier node (or plain string); memoised, it is the hottest call."""
        if isinstance(node, exp.Identifier):
            args = node.args
            key = (node.this, bool(args.get("quoted")), table)
            text = self._cache.get(key)
            if text is None:
                text = self._cache[key] = self.normalize_text(key[0], key[1], table=table)
            if args.get("temporary"):  # T-SQL #local temp table
                return "#" + text
            if args.get("global_") or args.get("global"):  # T-SQL ##global temp table
                return "##" + text
            return text
        if node is None:
            return ""
        if isinstance(node, str):
            return self.normalize_text(node, table=table)
        return self.normalize_text(node.name, table=table)

    def column(self, node: exp.Expr | str | None) -> str:
        """Normalised column name."""
        return self.ident(node)

    # -- tables -------------------------------------------------------------------------------------
    def table_parts(self, table: exp.Table) -> list[str]:
        """Normalised name parts of a table reference, as written (no defaults applied)."""
        this = table.this
        if isinstance(this, exp.DynamicIdentifier) and isinstance(this.this, exp.Literal):
            # Snowflake IDENTIFIER('db.schema.t'): the string names the table
            return [self.normalize_text(p, table=True) for p in this.this.name.split(".")]
        return [self.ident(p, table=True) for p in table.parts]

    def qualify(self, parts: list[str]) -> list[str]:
        """Apply the default schema/database to a partially qualified name."""
        if len(parts) == 1 and self.default_schema:
            parts = [self.default_schema, *parts]
        if len(parts) == 2 and self.default_database:
            parts = [self.default_database, *parts]
        return parts

    def table_name(self, table: exp.Table) -> str:
        """Dotted, normalised, default-qualified name of a table reference."""
        return ".".join(self.qualify(self.table_parts(table)))

    def set_defaults(self, database: str | None, schema: str | None) -> None:
        """Change the defaults (``USE`` statements); None leaves a part unchanged."""
        if database is not None:
            self.default_database = database
        if schema is not None:
            self.default_schema = schema

    # -- known schemas ------------------------------------------------------------------------------
    def _add_table(self, dotted: str, columns: list[str] | None) -> None:
        parts = [p.strip('"`[]') for p in dotted.split(".")]
        cols = [self.normalize_text(c) for c in columns] if columns is not None else None
        for i in range(len(parts)):
            key = ".".join(parts[i:]).lower()
            if i == 0 or key not in self._schema_index:
                self._schema_index[key] = cols
            elif self._schema_index[key] != cols:
                self._schema_index[key] = None  # ambiguous suffix: only exact names resolve it

    def _load_schema(self, schema: SchemaInput, prefix: str = "") -> None:
        for key, value in schema.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, list | tuple):
                self._add_table(name, [str(c) for c in value])
            elif isinstance(value, Mapping):
                if value and all(not isinstance(v, Mapping | list | tuple) for v in value.values()):
                    self._add_table(name, [str(c) for c in value])  # {"col": "type"} leaf
                else:
                    self._load_schema(value, name)

    def known_columns(self, table_fqn: str) -> list[str] | None:
        """Columns of a table from the caller's schema, matching on the longest known suffix."""
        if not self._schema_index:
            return None
        key = table_fqn.lower()
        while True:
            if key in self._schema_index:
                return self._schema_index[key]
            if "." not in key:
                return None
            key = key.split(".", 1)[1]
