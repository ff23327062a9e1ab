"""Split a script into statements, keeping each statement's tokens.

sqlglot's own ``parse`` stops at the first bad statement; splitting first lets
the rest of a script still yield lineage. The tokens are kept so each statement
is tokenized once, not twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from headwater.sql.dialects import get_dialect

# T-SQL batch separator: a line holding only GO (optionally a count).
_GO_LINE = re.compile(r"^[ \t]*GO(?:[ \t]+\d+)?[ \t]*;?[ \t]*$", re.IGNORECASE | re.MULTILINE)


@dataclass
class RawStatement:
    """One statement's text and, when the tokenizer could read it, its tokens."""

    sql: str
    tokens: list[Token] | None
    error: str | None = None
    source: str = ""  # the text the token offsets point into (the whole batch)
    routine: bool = False  # a CREATE PROCEDURE/FUNCTION with a BEGIN ... END body (kept whole)
    deferred: bool = False  # too large to tokenize in-process: split and parse it in a child process


def _naive_split(sql: str) -> list[str]:
    """Quote- and comment-aware split on ';' for text the tokenizer rejects."""
    parts: list[str] = []
    buf: list[str] = []
    i, n = 0, len(sql)
    quote: str | None = None
    while i < n:
        ch = sql[i]
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"', "`"):
            quote = ch
            buf.append(ch)
        elif ch == "-" and sql.startswith("--", i):
            j = sql.find("\n", i)
            j = n if j < 0 else j
            buf.append(sql[i:j])
            i = j
            continue
        elif ch == "/" and sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            j = n if j < 0 else j + 2
            buf.append(sql[i:j])
            i = j
            continue
        elif ch == ";":
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    parts.append("".join(buf))
    return [p for p in (s.strip() for s in parts) if p]


_SPLIT_SCAN = re.compile(
    r"'(?:[^'\\]|''|\\.)*'|\"(?:[^\"]|\"\")*\"|`[^`]*`|\[[^\]\n]*\]|--[^\n]*|/\*.*?(?:\*/|$)|;",
    re.DOTALL,
)


def presplit(sql: str) -> list[str]:
    """Fast regex split on ';' outside quotes and comments, for scripts too big to tokenize in one go.

    The tokenizer runs in compiled code that cannot be interrupted; cutting a huge
    script into statements first keeps each uninterruptible step small.
    """
    pieces: list[str] = []
    start = 0
    for m in _SPLIT_SCAN.finditer(sql):
        if m.group() == ";":
            pieces.append(sql[start : m.start()])
            start = m.end()
    pieces.append(sql[start:])
    return [p for p in pieces if p.strip()]


_ROUTINE = re.compile(r"\b(?:PROCEDURE|FUNCTION)\b", re.IGNORECASE)
_BLOCK_END_SUFFIX = frozenset({"IF", "LOOP", "WHILE", "REPEAT", "FOR"})
_NOT_A_BLOCK = frozenset({"TRAN", "TRANSACTION", "DISTRIBUTED", "WORK"})


def _is_begin(tok: Token, nxt: Token | None) -> bool:
    if not (
        tok.token_type == TokenType.BEGIN
        or (tok.token_type == TokenType.COMMAND and tok.text.upper() == "BEGIN")
    ):
        return False
    return nxt is None or nxt.text.upper() not in _NOT_A_BLOCK


def _split_tokens(text: str, tokens: list[Token]) -> list[RawStatement]:
    """Cut at semicolons, except inside the BEGIN ... END body of a CREATE PROCEDURE/FUNCTION."""
    out: list[RawStatement] = []
    chunk: list[Token] = []
    routine = False
    depth = 0

    def flush() -> None:
        if chunk:
            raw = RawStatement(text[chunk[0].start : chunk[-1].end + 1], list(chunk), None, text)
            raw.routine = routine
            out.append(raw)

    if not _ROUTINE.search(text):
        # no routine: plain cut at semicolons (one chunk when the text has none, the common case)
        if ";" not in text:
            chunk = tokens
            flush()
            return out
        start = 0
        for i, tok in enumerate(tokens):
            if tok.token_type == TokenType.SEMICOLON:
                chunk = tokens[start:i]
                flush()
                start = i + 1
        chunk = tokens[start:]
        flush()
        return out
    for i, tok in enumerate(tokens):
        tt = tok.token_type
        if tt == TokenType.SEMICOLON and depth <= 0:
            flush()
            chunk, routine, depth = [], False, 0
            continue
        chunk.append(tok)
        if (
            len(chunk) <= 6
            and tt in (TokenType.PROCEDURE, TokenType.FUNCTION)
            and chunk[0].token_type == TokenType.CREATE
        ):
            routine = True
        if routine:
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if _is_begin(tok, nxt) or (tt == TokenType.CASE and depth > 0):
                depth += 1
            elif tt == TokenType.END and (nxt is None or nxt.text.upper() not in _BLOCK_END_SUFFIX):
                depth -= 1
    flush()
    return out


_SLASH_COMMENT = re.compile(r"^([ \t]*)//[^\n]*", re.MULTILINE)


def _blank_slash_comments(sql: str) -> str:
    """Blank out ``//`` line comments (Snowflake, and query-log headers) keeping every offset."""
    if "//" not in sql:
        return sql
    return _SLASH_COMMENT.sub(lambda m: m.group(1) + " " * (len(m.group(0)) - len(m.group(1))), sql)


def split_statements(sql: str, dialect: str) -> list[RawStatement]:
    """Return the statements of ``sql`` in order; never raises on bad input."""
    sql = _blank_slash_comments(sql)
    batches = _GO_LINE.split(sql) if dialect in ("tsql", "fabric") else [sql]
    tokenizer_dialect = get_dialect(dialect)
    out: list[RawStatement] = []
    for batch in batches:
        if not batch.strip():
            continue
        try:
            out.extend(_split_tokens(batch, tokenizer_dialect.tokenize(batch)))
            continue
        except (TokenError, ValueError, IndexError) as exc:  # tokenizer rejected part of the batch
            batch_error = str(exc) or type(exc).__name__
        for piece in _naive_split(batch):
            try:
                toks = tokenizer_dialect.tokenize(piece)
            except (TokenError, ValueError, IndexError) as exc:
                out.append(RawStatement(piece, None, str(exc) or batch_error))
                continue
            out.extend(_split_tokens(piece, toks))
    return out
