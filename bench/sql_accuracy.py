"""Accuracy proxy: exact-match rates on cases taken, at run time, from peers' own test suites.

Usage::

    .venv/bin/python bench/sql_accuracy.py [--peers sqllineage,collate-sqllineage] [--show-failures 30]

The sdists (``sqllineage==1.5.9``, ``collate-sqllineage==2.1.8``, the latter with a corpus
of real customer statements) are downloaded into ``bench/.cache`` and their tests are run
under pytest in the peer's venv with the assertion helpers replaced by recorders; nothing
from them is copied into the repository. This is only a proxy for the held-out
corpus: each suite favours its authors' conventions (e.g. ``CREATE TABLE`` without AS
counts as a write; an unqualified column in a join is reported bare by sqllineage
but attributed to every joined table by collate), and the two disagree in places.
File paths and stages (``Path``/``Location`` objects) are left out of the expected
sets: headwater reports tables only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sql_parse import ROOT, ensure_venv, run_ours, run_peer

CACHE = ROOT / ".cache"
SDIST = "sqllineage==1.5.9"

RECORDER = r"""
import json, os
import pytest

OUT = os.environ["HW_RECORD"]

def _name(t):
    cls = type(t).__name__
    if cls == "Path":
        return None
    s = str(t)
    return s[len("<default>."):] if s.startswith("<default>.") else s

def _col(c):
    return (c.qualifier + "." if c.qualifier else "") + c.column

def _write(rec):
    with open(OUT, "a") as fh:
        fh.write(json.dumps(rec) + "\n")

def _schema(provider):
    return getattr(provider, "_hw_schema", None)

def _patch():
    import tests.helpers as h

    def table(sql, source_tables=None, target_tables=None, dialect="ansi", test_sqlfluff=True, test_sqlparse=True):
        if not test_sqlfluff:
            return
        src = [n for n in (_name(t) for t in (source_tables or [])) if n is not None]
        tgt = [n for n in (_name(t) for t in (target_tables or [])) if n is not None]
        _write({"kind": "table", "sql": sql, "dialect": dialect, "sources": src, "targets": tgt,
                "test": os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]})

    def column(sql, column_lineages=None, dialect="ansi", metadata_provider=None, test_sqlfluff=True,
               test_sqlparse=True):
        if not test_sqlfluff:
            return
        pairs = [[_col(s), _col(t)] for s, t in (column_lineages or [])]
        _write({"kind": "column", "sql": sql, "dialect": dialect, "columns": pairs,
                "schema": _schema(metadata_provider),
                "test": os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]})

    class _Provider:
        def __init__(self, schema):
            self._hw_schema = schema

    def providers(test_schemas):
        return [_Provider(test_schemas), _Provider(test_schemas)]

    h.assert_table_lineage_equal = table
    h.assert_column_lineage_equal = column
    h.generate_metadata_providers = providers


_patch()  # at import: conftest.py imports the helpers before pytest_configure would run
"""


# collate-sqllineage's sdist ships its tests (and a corpus of real customer statements) but not
# their helpers module: this recorder stands in for it.
COLLATE_HELPERS = r"""
import json, os
from collections import namedtuple

TestColumnQualifierTuple = namedtuple("TestColumnQualifierTuple", ["column", "qualifier"])
OUT = os.environ["HW_RECORD"]


def _name(t):
    if type(t).__name__ in ("Path", "Location"):
        return None
    s = str(t)
    return s[len("<default>."):] if s.startswith("<default>.") else s


def _test():
    return os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]


def _write(rec):
    with open(OUT, "a") as fh:
        fh.write(json.dumps(rec) + "\n")


def assert_table_lineage_equal(sql, source_tables=None, target_tables=None, dialect="ansi", test_sqlfluff=True,
                               test_sqlparse=True, **kwargs):
    src = [n for n in (_name(t) for t in (source_tables or [])) if n is not None]
    tgt = [n for n in (_name(t) for t in (target_tables or [])) if n is not None]
    _write({"kind": "table", "sql": sql, "dialect": dialect, "sources": src, "targets": tgt, "test": _test()})


def assert_column_lineage_equal(sql, column_lineages=None, dialect="ansi", test_sqlfluff=True, test_sqlparse=True,
                                **kwargs):
    def col(c):
        q = c.qualifier[len("<default>."):] if (c.qualifier or "").startswith("<default>.") else c.qualifier
        return (q + "." if q else "") + c.column
    pairs = [[col(s), col(t)] for s, t in (column_lineages or [])]
    _write({"kind": "column", "sql": sql, "dialect": dialect, "columns": pairs, "schema": None, "test": _test()})


def assert_column_lineage(*args, **kwargs):
    pass
"""


def unpacked_sdist(requirement: str, stem: str) -> Path:
    """The source distribution of ``requirement``, downloaded once and unpacked under CACHE as
    ``stem`` (its archive is ``stem.tar.gz``)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    tar = CACHE / f"{stem}.tar.gz"
    if not tar.exists():
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        subprocess.run([*cmd, requirement, "-d", str(CACHE)], check=True)
    src = CACHE / stem
    if not src.exists():
        with tarfile.open(tar) as tf:
            tf.extractall(CACHE, filter="data")
    return src


def extract_collate_cases() -> list[dict[str, Any]]:
    """Record collate-sqllineage's test cases (its corpus of real statements included)."""
    out = CACHE / "collate_cases.jsonl"
    if out.exists():
        return [json.loads(line) for line in out.read_text().splitlines()]
    src = unpacked_sdist("collate-sqllineage==2.1.8", "collate_sqllineage-2.1.8")
    (src / "tests" / "helpers.py").write_text(COLLATE_HELPERS)
    (src / "tests" / "__init__.py").touch()
    python = ensure_venv("collate-sqllineage")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "pytest"], check=True)
    tmp = CACHE / "collate.tmp.jsonl"
    tmp.unlink(missing_ok=True)
    proc = subprocess.run(
        [
            str(python),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(src),
            "-c",
            str(src / "setup.cfg"),
            "--continue-on-collection-errors",
            "tests",
        ],
        cwd=src,
        capture_output=True,
        text=True,
        env={"HW_RECORD": str(tmp), "PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
    )
    if not tmp.exists():
        raise RuntimeError("no collate cases recorded:\n" + proc.stdout[-3000:] + proc.stderr[-3000:])
    tmp.rename(out)
    return [json.loads(line) for line in out.read_text().splitlines()]


def extract_cases() -> list[dict[str, Any]]:
    """Download the sdist and record its test cases (cached in bench/.cache/sqllineage_cases.jsonl)."""
    out = CACHE / "sqllineage_cases.jsonl"
    if out.exists():
        return [json.loads(line) for line in out.read_text().splitlines()]
    src = unpacked_sdist(SDIST, "sqllineage-1.5.9")
    python = ensure_venv("sqllineage")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "pytest"], check=True)
    (src / "hw_recorder.py").write_text(RECORDER)
    tmp = CACHE / "cases.tmp.jsonl"
    tmp.unlink(missing_ok=True)
    proc = subprocess.run(
        [
            str(python),
            "-m",
            "pytest",
            "-q",
            "-p",
            "hw_recorder",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(src),
            "-c",
            str(src / "pyproject.toml"),
            "tests/sql",
        ],
        cwd=src,
        capture_output=True,
        text=True,
        env={"HW_RECORD": str(tmp), "PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
    )
    if not tmp.exists():
        raise RuntimeError("no cases recorded:\n" + proc.stdout[-3000:] + proc.stderr[-3000:])
    tmp.rename(out)
    return [json.loads(line) for line in out.read_text().splitlines()]


def _norm(items: list[Any]) -> set[str]:
    return {str(x).lower() for x in items}


def _norm_pairs(items: list[Any]) -> set[tuple[str, str]]:
    return {(str(a).lower(), str(b).lower()) for a, b in items}


def score(case: dict[str, Any], res: dict[str, Any] | None) -> bool:
    """Exact match of the part the case tests (tables: sources and targets; columns: pairs)."""
    if not res or (not res.get("ok", False) and "sources" not in res):
        return False
    if case["kind"] == "table":
        return _norm(res.get("sources", [])) == _norm(case["sources"]) and _norm(
            res.get("targets", [])
        ) == _norm(case["targets"])
    return _norm_pairs(res.get("columns", [])) == _norm_pairs(case["columns"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--peers", default="sqllineage,collate-sqllineage")
    ap.add_argument("--show-failures", type=int, default=0)
    ap.add_argument(
        "--suite",
        choices=["sqllineage", "collate", "all"],
        default="all",
        help="whose test suite to take cases from",
    )
    ap.add_argument("--json", help="write per-case results here")
    args = ap.parse_args()
    raw_cases = [dict(c, suite="sqllineage") for c in extract_cases()]
    if args.suite in ("all", "collate"):
        raw_cases += [dict(c, suite="collate") for c in extract_collate_cases()]
    if args.suite == "collate":
        raw_cases = [c for c in raw_cases if c["suite"] == "collate"]
    cases = []
    seen = set()
    for i, c in enumerate(raw_cases):
        key = (c["kind"], c["sql"], c["dialect"], c["suite"])
        if key in seen:
            continue
        seen.add(key)
        cases.append(
            dict(c, id=f"c{i}", dialect="" if c["dialect"] in ("ansi", "non-validating") else c["dialect"])
        )
    ours = run_ours(cases)
    for res in ours.values():
        res["ok"] = True  # errors still leave partial lineage; score on what came out
    peers = {p: run_peer(p, cases) for p in args.peers.split(",") if p}
    engines = {"headwater.sql": ours, **peers}
    totals: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for case in cases:
        part = (case["suite"], case["dialect"] or "ansi", case["kind"])
        for name, res in engines.items():
            cell = totals[part][name]
            cell[1] += 1
            cell[0] += score(case, res.get(case["id"]))
    names = list(engines)
    suites = sorted({c["suite"] for c in cases})
    print(
        f"proxy corpus: {len(cases)} cases from the test suites of {', '.join(suites)} (table and column parts)"
    )
    print(f"{'suite':11} {'dialect':12} {'part':7} {'n':>4} " + " ".join(f"{n:>20}" for n in names))
    grand: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for (suite, dialect, kind), cells in sorted(totals.items()):
        n = cells[names[0]][1]
        row = " ".join(f"{100 * cells[e][0] / cells[e][1]:19.1f}%" for e in names)
        print(f"{suite:11} {dialect:12} {kind:7} {n:4} {row}")
        for e in names:
            for key in ((suite, kind), ("ALL", kind)):
                grand[key][e][0] += cells[e][0]
                grand[key][e][1] += cells[e][1]
    for (suite, kind), cells in sorted(grand.items()):
        row = " ".join(f"{100 * cells[e][0] / cells[e][1]:19.1f}%" for e in names)
        print(f"{suite:11} {'ALL':12} {kind:7} {cells[names[0]][1]:4} {row}")
    if args.show_failures:
        shown = 0
        for case in cases:
            if score(case, ours.get(case["id"])):
                continue
            r = ours[case["id"]]
            print("-" * 80)
            print(
                f"[{case['kind']}] {case['suite']} {case['dialect'] or 'ansi'} {case.get('test', '')}\n{case['sql'].strip()[:600]}"
            )
            if case["kind"] == "table":
                print(f"  expected: {sorted(_norm(case['sources']))} -> {sorted(_norm(case['targets']))}")
                print(f"  ours    : {sorted(_norm(r['sources']))} -> {sorted(_norm(r['targets']))}")
            else:
                exp_pairs, got = _norm_pairs(case["columns"]), _norm_pairs(r["columns"])
                print(f"  missing: {sorted(exp_pairs - got)}\n  extra  : {sorted(got - exp_pairs)}")
            if r.get("error"):
                print(f"  errors: {r['error'][:200]}")
            shown += 1
            if shown >= args.show_failures:
                break
    if args.json:
        Path(args.json).write_text(json.dumps({"cases": cases, "results": engines}, default=list))


if __name__ == "__main__":
    main()
