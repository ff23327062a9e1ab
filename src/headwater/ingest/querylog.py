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
        idx = {name: header.index(name) for name in FIELDS if name in header}
        iq = idx["query_text"]
        idb, isc, ius, ist, ien, idu, iab = (
            idx.get(k, -1)
            for k in (
                "database_name",
                "schema_name",
                "user_name",
                "start_time",
                "end_time",
                "duration",
                "aborted",
            )
        )
        name = f.name
        fromiso = datetime.fromisoformat
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield BadRow(f"{name}:{reader.line_num}", f"CSV error: {exc}", kind="CSV error")
                continue
            n = len(row)
            if n != width:
                if not row or (n == 1 and not row[0].strip()):
                    continue
                if n > width:
                    yield BadRow(
                        f"{name}:{reader.line_num}",
                        f"{n} fields but the header has {width} (quote query_text if it contains commas)",
                        ",".join(row)[:200],
                        kind="too many fields",
                    )
                    continue
                row = row + [""] * (width - n)
            text = row[iq]
            if not text or text.isspace():
                yield _record({k: row[i] for k, i in idx.items()}, name, reader.line_num)
                continue
            start = end = dur = None
            try:
                if ist >= 0 and row[ist]:
                    try:
                        start = fromiso(row[ist])
                    except ValueError:
                        start = parse_time(row[ist])
                if ien >= 0 and row[ien]:
                    try:
                        end = fromiso(row[ien])
                    except ValueError:
                        end = parse_time(row[ien])
                if idu >= 0 and row[idu]:
                    dur = float(row[idu])
            except ValueError:
                # let the general path name the field that is wrong
                yield _record({k: row[i] for k, i in idx.items()}, name, reader.line_num)
                continue
            yield QueryRecord(
                text,
                (row[idb].strip() or None) if idb >= 0 else None,
                (row[isc].strip() or None) if isc >= 0 else None,
                (row[ius].strip() or None) if ius >= 0 else None,
                start,
                end,
                dur,
                iab >= 0 and row[iab].strip().lower() in _TRUE,
                name,
            )


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
        yield _record({str(k).lower(): v for k, v in obj.items()}, name, n)


_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f")


def parse_time(value: Any) -> datetime | None:
    """A time as OpenMetadata writes it (``YYYY-MM-DD HH:MM:SS``), ISO 8601, or epoch seconds/ms;
    returned naive, in UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, tz=UTC).replace(tzinfo=None)
    text = str(value).strip()
    try:
        dt = datetime.fromisoformat(text)
        return dt.astimezone(UTC).replace(tzinfo=None) if dt.tzinfo else dt
    except ValueError:
        pass
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
    return dt.astimezone(UTC).replace(tzinfo=None) if dt.tzinfo else dt


def _opt(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


_TRUE = frozenset(("true", "1", "yes", "t", "y"))


def _record(values: dict[str, Any], file: str, line: int) -> QueryRecord | BadRow:
    text = values.get("query_text")
    if text is None or (isinstance(text, str) and not text.strip()):
        return BadRow(
            f"{file}:{line}",
            "missing query_text",
            json.dumps(values, default=str)[:200],
            kind="missing query_text",
        )
    text = str(text)
    start_raw = values.get("start_time")
    end_raw = values.get("end_time")
    try:
        start = _time(start_raw) if start_raw else None
        end = _time(end_raw) if end_raw else None
    except ValueError as exc:
        return BadRow(f"{file}:{line}", str(exc), text[:200], kind="bad time")
    duration = values.get("duration")
    dur = None
    if duration is not None and duration != "":
        try:
            dur = float(duration)
        except (TypeError, ValueError):
            return BadRow(
                f"{file}:{line}", f"duration {duration!r} is not a number", text[:200], kind="bad duration"
            )
    aborted_raw = values.get("aborted")
    aborted = bool(aborted_raw) and str(aborted_raw).strip().lower() in _TRUE
    db = values.get("database_name")
    schema = values.get("schema_name")
    user = values.get("user_name")
    return QueryRecord(
        text,
        (db.strip() or None) if isinstance(db, str) else _opt(db),
        (schema.strip() or None) if isinstance(schema, str) else _opt(schema),
        (user.strip() or None) if isinstance(user, str) else _opt(user),
        start,
        end,
        dur,
        aborted,
        f"{file}:{line}",
    )


def _time(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            return parse_time(value)
        return dt.astimezone(UTC).replace(tzinfo=None) if dt.tzinfo is not None else dt
    return parse_time(value)
