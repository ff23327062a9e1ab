"""Query-log files: CSV as OpenMetadata reads it, JSON Lines with the same fields, or a directory.

Unlike OpenMetadata, a bad row (no ``query_text``, broken quoting, invalid JSON) is reported and
the rest of the file is still read. A file that cannot be opened, or a CSV without a
``query_text`` column, is a file-level problem; the source fails only if no file can be read.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from headwater.ingest.records import BadRow, QueryRecord

FIELDS = (
    "query_text",
    "database_name",
    "schema_name",
    "user_name",
    "start_time",
    "end_time",
    "duration",
    "aborted",
)
CSV_SUFFIXES = {".csv", ".tsv"}
JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class SourceError(Exception):
    """The source cannot be read at all (missing file, no readable file in a directory...)."""


@dataclass
class FileProblem:
    path: str
    reason: str


@dataclass
class QueryLogReader:
    """Reads a file or a directory of files, yielding records and bad rows in file order."""

    path: str
    problems: list[FileProblem] = field(default_factory=list)
    files_read: int = 0

    def files(self) -> list[Path]:
        p = Path(self.path)
        if not p.exists():
            raise SourceError(f"query log {self.path!r} does not exist")
        if p.is_dir():
            found = sorted(
                f for f in p.iterdir() if f.is_file() and f.suffix.lower() in CSV_SUFFIXES | JSONL_SUFFIXES
            )
            if not found:
                raise SourceError(f"query log directory {self.path!r} has no .csv, .jsonl or .json files")
            return found
        return [p]

    def size_bytes(self) -> int:
        try:
            return sum(f.stat().st_size for f in self.files())
        except (OSError, SourceError):
            return 0

    def __iter__(self) -> Iterator[QueryRecord | BadRow]:
        files = self.files()
        for f in files:
            try:
                fh = f.open("r", encoding="utf-8", errors="replace", newline="")
            except OSError as exc:
                self.problems.append(FileProblem(str(f), f"cannot open: {exc.strerror or exc}"))
                continue
            with fh:
                if f.suffix.lower() in JSONL_SUFFIXES:
                    self.files_read += 1
                    yield from _read_jsonl(fh, f.name)
                else:
                    yield from self._read_csv(fh, f)
        if self.files_read == 0:
            reasons = "; ".join(f"{p.path}: {p.reason}" for p in self.problems)
            raise SourceError(f"no query log file could be read ({reasons})")

    def _read_csv(self, fh: Any, f: Path) -> Iterator[QueryRecord | BadRow]:
        delimiter = "\t" if f.suffix.lower() == ".tsv" else ","
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            self.problems.append(FileProblem(str(f), "empty file"))
            return
        except (csv.Error, UnicodeError) as exc:
            self.problems.append(FileProblem(str(f), f"unreadable header: {exc}"))
            return
        header = [h.strip().lstrip("\ufeff").lower() for h in header]
        if "query_text" not in header:
            self.problems.append(
                FileProblem(
                    str(f), f"no 'query_text' column in the header (found: {', '.join(header) or 'nothing'})"
                )
            )
            return
        self.files_read += 1
        width = len(header)
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield BadRow(f"{f.name}:{line}", f"CSV error: {exc}", kind="CSV error")
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) > width:
                yield BadRow(
                    f"{f.name}:{line}",
                    f"{len(row)} fields but the header has {width} (quote query_text if it contains commas)",
                    ",".join(row)[:200],
                    kind="too many fields",
                )
                continue
            values = dict(zip(header, row, strict=False))
            yield _record(values, f"{f.name}:{line}")


def _read_jsonl(fh: Any, name: str) -> Iterator[QueryRecord | BadRow]:
    for n, line in enumerate(fh, start=1):
        text = line.strip()
        if not text:
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            yield BadRow(f"{name}:{n}", f"invalid JSON: {exc.msg}", text[:200], kind="invalid JSON")
            continue
        if not isinstance(obj, dict):
            yield BadRow(
                f"{name}:{n}", "expected a JSON object per line", text[:200], kind="not a JSON object"
            )
            continue
        yield _record({str(k).lower(): v for k, v in obj.items()}, f"{name}:{n}")


_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f")


def parse_time(value: Any) -> datetime | None:
    """A time as OpenMetadata writes it (``YYYY-MM-DD HH:MM:SS``), ISO 8601, or epoch seconds/ms."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, tz=UTC)
    text = str(value).strip()
    if text.replace(".", "", 1).isdigit():
        return parse_time(float(text))
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        for fmt in _TIME_FORMATS:
            try:
                dt = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        else:
            raise ValueError(f"unreadable time {text!r} (use YYYY-MM-DD HH:MM:SS)") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _opt(values: dict[str, Any], key: str) -> str | None:
    v = values.get(key)
    if v is None:
        return None
    s = str(v).strip()
    return s or None


def _record(values: dict[str, Any], origin: str) -> QueryRecord | BadRow:
    text = values.get("query_text")
    if text is None or not str(text).strip():
        return BadRow(
            origin, "missing query_text", json.dumps(values, default=str)[:200], kind="missing query_text"
        )
    try:
        start = parse_time(values.get("start_time"))
        end = parse_time(values.get("end_time"))
    except ValueError as exc:
        return BadRow(origin, str(exc), str(text)[:200], kind="bad time")
    duration = values.get("duration")
    try:
        dur = float(duration) if duration not in (None, "") else None
    except (TypeError, ValueError):
        return BadRow(origin, f"duration {duration!r} is not a number", str(text)[:200], kind="bad duration")
    aborted_raw = values.get("aborted")
    aborted = (
        str(aborted_raw).strip().lower() in ("true", "1", "yes", "t") if aborted_raw is not None else False
    )
    return QueryRecord(
        query_text=str(text),
        database_name=_opt(values, "database_name"),
        schema_name=_opt(values, "schema_name"),
        user_name=_opt(values, "user_name"),
        start_time=start,
        end_time=end,
        duration=dur,
        aborted=aborted,
        origin=origin,
    )
