"""The pipeline: split statements -> parse -> classify -> tables -> columns -> bridge temp tables.

``extract_lineage`` never raises on bad SQL: each failure becomes an entry in
``result.errors`` and the other statements still yield their lineage. Only an
unknown dialect name raises (a configuration error, not a data error).
"""

from __future__ import annotations

import gc
import logging
import re
import threading
from collections.abc import Mapping
from typing import Any

import sqlglot
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError, TokenError
from sqlglot.tokens import Token, TokenType

from headwater.sql.bridge import merge_statements
from headwater.sql.dialects import get_dialect, resolve_dialect
from headwater.sql.names import Namer
from headwater.sql.result import LineageError, LineageResult, StatementLineage
from headwater.sql.split import RawStatement, presplit, split_statements
from headwater.sql.statements import StatementAnalyzer
from headwater.sql.timeout import (
    ChildError,
    DeadlineExceeded,
    fork_available,
    run_in_child,
    run_with_deadline,
)

DEFAULT_TIMEOUT = 5.0
#: Statements longer than this (characters) are skipped with a "too_large" error.
DEFAULT_MAX_STATEMENT_LENGTH = 1_000_000
#: Column pairs beyond this are dropped with a "truncated" error.
DEFAULT_MAX_COLUMN_PAIRS = 100_000
#: Above this many characters per second of timeout, a statement is parsed in a child process:
#: the compiled parser cannot be interrupted in-process (measured: ~0.6 MB/s with sqlglotc).
_INPROCESS_CHARS_PER_SECOND = 40_000
_INPROCESS_MAX_CHARS = 200_000

_quiet = threading.local()


class _QuietFilter(logging.Filter):
    """Drop sqlglot's "falling back to Command" warnings while we parse: we report them ourselves."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_quiet, "on", False)


logging.getLogger("sqlglot").addFilter(_QuietFilter())


#: Tokens that can start a statement: where a script without semicolons is cut when parsing stops.
_STARTERS = frozenset(
    {
        TokenType.INSERT,
        TokenType.SELECT,
        TokenType.WITH,
        TokenType.UPDATE,
        TokenType.DELETE,
        TokenType.MERGE,
        TokenType.CREATE,
        TokenType.DROP,
        TokenType.ALTER,
        TokenType.USE,
        TokenType.DECLARE,
        TokenType.SET,
        TokenType.EXECUTE,
        TokenType.TRUNCATE,
        TokenType.COMMIT,
    }
)
#: Dialects retried, in order, when a statement does not parse in the requested one.
_FALLBACK_DIALECTS: dict[str, tuple[str, ...]] = {"athena": ("hive", "trino")}


def _strip_routine(tokens: list[Token]) -> list[Token]:
    """Body of ``CREATE PROCEDURE|FUNCTION ... [AS] BEGIN <body>``; ``[]`` for a lone END."""
    if not tokens:
        return tokens
    if len(tokens) <= 2 and tokens[0].token_type == TokenType.END:
        return []
    if tokens[0].token_type != TokenType.CREATE:
        return tokens
    head = [t.token_type for t in tokens[:6]]
    if TokenType.PROCEDURE not in head and TokenType.FUNCTION not in head:
        return tokens
    for i, tok in enumerate(tokens):
        if tok.token_type == TokenType.BEGIN or (
            tok.token_type == TokenType.COMMAND and tok.text.upper() == "BEGIN"
        ):
            body = tokens[i + 1 :]
            break
    else:
        for i, tok in enumerate(tokens):
            if (
                tok.token_type == TokenType.ALIAS
                and i + 1 < len(tokens)
                and tokens[i + 1].token_type in _STARTERS
            ):
                body = tokens[i + 1 :]
                break
        else:
            return tokens
    while body and body[-1].token_type == TokenType.SEMICOLON:
        body = body[:-1]
    if len(body) >= 2 and body[-2].token_type == TokenType.END and body[-1].token_type == TokenType.VAR:
        body = body[:-1]  # Oracle: END proc_name
    if body and body[-1].token_type == TokenType.END:
        body = body[:-1]
    return body


def _parse_tokens(tokens: list[Token], source: str, dialect: str, depth: int = 0) -> list[Any]:
    parser = get_dialect(dialect).parser(error_level=ErrorLevel.RAISE)
    try:
        return [e for e in parser.parse(tokens, source) if e is not None]
    except ParseError as exc:
        if depth > 50 or not exc.errors:
            raise
        line, col = exc.errors[0].get("line"), exc.errors[0].get("col")
        for i, tok in enumerate(tokens):
            if i and tok.line == line and tok.col == col and tok.token_type in _STARTERS:
                # two statements without a semicolon between them (T-SQL allows it)
                left = _parse_tokens(tokens[:i], source, dialect, depth + 1)
                return left + _parse_tokens(tokens[i:], source, dialect, depth + 1)
        raise


_COMPOUND = re.compile(r"[-+*/%&|^]=")
_COMPOUND_OPS = frozenset(
    {
        TokenType.PLUS,
        TokenType.DASH,
        TokenType.STAR,
        TokenType.SLASH,
        TokenType.MOD,
        TokenType.AMP,
        TokenType.PIPE,
        TokenType.CARET,
    }
)


def _drop_compound_operators(tokens: list[Token]) -> list[Token]:
    """T-SQL ``SET x += y``: keep ``x = y`` (the self-reference adds no lineage), which sqlglot parses."""
    out: list[Token] = []
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if (
            tok.token_type in _COMPOUND_OPS
            and nxt is not None
            and nxt.token_type == TokenType.EQ
            and tok.end + 1 == nxt.start
        ):
            continue
        out.append(tok)
    return out


_gc_lock = threading.Lock()
_gc_users = 0
_gc_was_enabled = False


def _pause_gc() -> None:
    """Pause the cyclic GC while a script is analysed.

    Parsing allocates tens of thousands of AST nodes (cyclic, through parent links);
    each young-generation collection during the parse rescans them, which cost ~35 %
    of run time on the benchmark corpus. With the GC paused and one generation-0
    collection afterwards (:func:`_resume_gc`) the same garbage is freed in one pass.
    Reference-counted across threads, so concurrent callers do not re-enable it early.
    """
    global _gc_users, _gc_was_enabled
    with _gc_lock:
        if _gc_users == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_users += 1


def _resume_gc() -> None:
    global _gc_users
    with _gc_lock:
        _gc_users -= 1
        if _gc_users == 0 and _gc_was_enabled:
            gc.enable()
            gc.collect(0)


def _parse(raw: RawStatement, dialect: str) -> list[Any]:
    assert raw.tokens is not None
    tokens = _strip_routine(raw.tokens)
    if not tokens:
        return []
    if dialect in ("tsql", "fabric") and _COMPOUND.search(raw.sql):
        tokens = _drop_compound_operators(tokens)
    try:
        return _parse_tokens(tokens, raw.source, dialect)
    except ParseError as exc:
        error = exc
    text = raw.source[tokens[0].start : tokens[-1].end + 1]
    for other in (*_FALLBACK_DIALECTS.get(dialect, ()), *(("",) if dialect else ())):
        try:
            return [e for e in sqlglot.parse(text, read=other or None, error_level=ErrorLevel.RAISE) if e]
        except (ParseError, TokenError):
            continue
    raise error


def _analyze(
    raw: RawStatement, index: int, analyzer: StatementAnalyzer, dialect: str
) -> list[StatementLineage]:
    return [analyzer.analyze(tree, index, raw.sql) for tree in _parse(raw, dialect)]


def _analyze_deferred(
    raw: RawStatement, index: int, analyzer: StatementAnalyzer, dialect: str
) -> list[StatementLineage]:
    """Tokenize, split and analyse a big piece of script (runs in the child process)."""
    out: list[StatementLineage] = []
    for sub in split_statements(raw.sql, dialect):
        if sub.tokens is None:
            raise ParseError(sub.error or "could not tokenize")
        out.extend(_analyze(sub, index, analyzer, dialect))
    return out


def _merge_routine(parts: list[StatementLineage]) -> StatementLineage:
    """A procedure body is one unit (like sqllineage): the union of its statements."""
    merged = StatementLineage(index=parts[0].index, sql=parts[0].sql, kind="PROCEDURE")
    for st in parts:
        merged.sources |= st.sources
        merged.targets |= st.targets
        merged.temporary |= st.temporary
        merged.dropped |= st.dropped
        for key, tr in st.column_edges.items():
            old = merged.column_edges.get(key)
            merged.column_edges[key] = tr if old is None else old.combine(tr)
    merged.temporary |= {t for t in merged.dropped if t in merged.targets}
    return merged


def _split(sql: str, dialect: str, inprocess_limit: int) -> list[RawStatement]:
    """Statements of the script; pieces too big to tokenize in-process are deferred to a child."""
    if len(sql) <= inprocess_limit:
        return split_statements(sql, dialect)
    raws: list[RawStatement] = []
    for piece in presplit(sql):
        if len(piece) <= inprocess_limit:
            raws.extend(split_statements(piece, dialect))
        else:
            raws.append(RawStatement(piece.strip(), None, None, piece, deferred=True))
    return raws


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:500]


def extract_lineage(
    sql: str,
    dialect: str | None = None,
    default_database: str | None = None,
    default_schema: str | None = None,
    schema: Mapping[str, Any] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    max_statement_length: int = DEFAULT_MAX_STATEMENT_LENGTH,
    max_column_pairs: int = DEFAULT_MAX_COLUMN_PAIRS,
) -> LineageResult:
    """Extract table and column lineage from a SQL script.

    ``dialect`` accepts sqlglot's names and common aliases (see ``headwater.sql.dialects``);
    ``default_database``/``default_schema`` qualify unqualified table names; ``schema`` maps
    known tables to their columns (``{"db.schema.table": ["col", ...]}`` or sqlglot's nested
    dict) to expand ``SELECT *`` and resolve unqualified columns; ``timeout`` bounds the time
    spent on each statement.
    """
    resolved = resolve_dialect(dialect)
    result = LineageResult(dialect=resolved)
    if not isinstance(sql, str):
        result.errors.append(LineageError("parse", f"expected SQL text, got {type(sql).__name__}", "", 0))
        return result
    if not sql.strip():
        return result
    namer = Namer(resolved, default_database, default_schema, schema)
    analyzer = StatementAnalyzer(namer)
    _quiet.on = True
    _pause_gc()
    try:
        inprocess_limit = (
            int(min(_INPROCESS_MAX_CHARS, timeout * _INPROCESS_CHARS_PER_SECOND))
            if timeout and timeout > 0 and fork_available()
            else len(sql) + 1
        )
        split_budget = None if not timeout else timeout * max(1.0, len(sql) / 1_000_000)
        try:
            raws = run_with_deadline(lambda: _split(sql, resolved, inprocess_limit), split_budget)
        except DeadlineExceeded as exc:
            result.errors.append(LineageError("timeout", f"splitting the script: {exc}", sql[:1000], 0))
            return result
        except (SqlglotError, RecursionError, ValueError, IndexError) as exc:
            result.errors.append(LineageError("parse", _first_line(exc), sql[:1000], 0))
            return result
        statements: list[StatementLineage] = []
        for index, raw in enumerate(raws):
            if index % 256 == 255:
                gc.collect(0)  # long scripts: free the finished statements' trees now and then
            statements.extend(
                _one_statement(raw, index, analyzer, resolved, result, timeout, max_statement_length)
            )
    finally:
        _quiet.on = False
        _resume_gc()
    result.statements = statements
    if not merge_statements(result, statements, max_column_pairs):
        result.errors.append(
            LineageError(
                "truncated", f"more than {max_column_pairs} column pairs; the rest were dropped", "", 0
            )
        )
    return result


def _one_statement(
    raw: RawStatement,
    index: int,
    analyzer: StatementAnalyzer,
    dialect: str,
    result: LineageResult,
    timeout: float | None,
    max_statement_length: int,
) -> list[StatementLineage]:
    """Analyse one statement, turning every failure into an error entry."""
    if raw.tokens is None and not raw.deferred:
        result.errors.append(LineageError("parse", raw.error or "could not tokenize", raw.sql, index))
        return []
    if len(raw.sql) > max_statement_length:
        result.errors.append(
            LineageError(
                "too_large",
                f"statement has {len(raw.sql)} characters, more than the limit of {max_statement_length}",
                raw.sql[:1000],
                index,
            )
        )
        return []
    try:
        if raw.deferred:
            found = run_in_child(lambda: _analyze_deferred(raw, index, analyzer, dialect), timeout)
        else:
            found = run_with_deadline(lambda: _analyze(raw, index, analyzer, dialect), timeout)
    except ChildError as exc:
        kind = "parse" if exc.name in ("ParseError", "TokenError") else "internal"
        result.errors.append(
            LineageError(
                kind, exc.message.splitlines()[0][:500] if exc.message else exc.name, raw.sql[:1000], index
            )
        )
        return []
    except DeadlineExceeded as exc:
        result.errors.append(LineageError("timeout", str(exc), raw.sql, index))
        return []
    except (ParseError, TokenError) as exc:
        result.errors.append(LineageError("parse", _first_line(exc), raw.sql, index))
        return []
    except RecursionError:
        result.errors.append(LineageError("parse", "statement is nested too deeply", raw.sql, index))
        return []
    except Exception as exc:  # a bug in the engine or sqlglot must not stop the script
        result.errors.append(
            LineageError("internal", f"{type(exc).__name__}: {_first_line(exc)}", raw.sql, index)
        )
        return []
    if raw.routine and len(found) > 1:
        found = [_merge_routine(found)]
    for st in found:
        if st.unsupported:
            result.errors.append(LineageError("unsupported", st.unsupported, raw.sql, index))
    return found
