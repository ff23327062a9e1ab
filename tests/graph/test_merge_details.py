"""`merge_detail_dicts` (the lineage read path, on stored JSON) gives exactly what `merge_details`
(on parsed models) gives, single-source fast path included, and both what the model-based merge
gave before the dict version existed (kept here as the reference)."""

from __future__ import annotations

import random
from typing import Any

import orjson

from headwater.model.lineage import LineageDetails, merge_detail_dicts, merge_details


def _reference_merge(details: list[LineageDetails]) -> dict[str, Any]:
    """`merge_details` as it was written over pydantic models (before issue 2's second pass)."""
    if not details:
        return {"columnsLineage": [], "source": "Manual", "sources": []}
    ordered = sorted(details, key=lambda d: d.updatedAt or 0)
    merged: dict[str, Any] = ordered[-1].model_dump(mode="json", exclude_none=True)
    for key in ("sqlQuery", "pipeline", "description"):
        for d in reversed(ordered):
            value = getattr(d, key)
            if value:
                merged[key] = value
                break
    columns: dict[tuple[str | None, str | None], list[str]] = {}
    for d in ordered:
        for cl in d.columnsLineage:
            bucket = columns.setdefault((cl.toColumn, cl.function), [])
            for c in cl.fromColumns:
                if c not in bucket:
                    bucket.append(c)
    merged["columnsLineage"] = [
        {k: v for k, v in {"fromColumns": froms, "toColumn": to, "function": fn}.items() if v is not None}
        for (to, fn), froms in columns.items()
    ]
    merged["createdAt"] = min((d.createdAt or 0) for d in ordered) or None
    merged["sources"] = [d.source.value for d in ordered]
    return {k: v for k, v in merged.items() if v is not None}


def _random_detail(rng: random.Random) -> LineageDetails:
    raw: dict[str, Any] = {"source": rng.choice(["QueryLineage", "DbtLineage", "Manual", "ViewLineage"])}
    if rng.random() < 0.5:
        raw["sqlQuery"] = rng.choice(["", "select 1", "insert into b select * from a"])
    for key in ("createdAt", "updatedAt"):
        if rng.random() < 0.7:
            raw[key] = rng.choice([0, 5, 7, 1_700_000_000_000])
    if rng.random() < 0.3:
        raw["pipeline"] = {"id": rng.choice(["p1", "p2"]), "type": "pipeline"}
    if rng.random() < 0.3:
        raw["description"] = rng.choice(["", "why"])
    if rng.random() < 0.2:
        raw["customKey"] = {"x": 1}
    raw["columnsLineage"] = [
        {
            k: v
            for k, v in {
                "fromColumns": [rng.choice("abc") for _ in range(rng.randint(0, 3))],
                "toColumn": rng.choice(["x", "y", None]),
                "function": rng.choice([None, "sum"]),
            }.items()
            if v is not None
        }
        for _ in range(rng.randint(0, 3))
    ]
    return LineageDetails.model_validate(raw)


def test_dict_merge_equals_model_merge() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        details = [_random_detail(rng) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
        # as the store keeps them: dumped without None, then read back from JSON text
        stored = [orjson.loads(orjson.dumps(d.model_dump(mode="json", exclude_none=True))) for d in details]
        expected = _reference_merge(details)
        assert merge_detail_dicts(stored) == expected
        assert merge_details(details) == expected
    assert merge_detail_dicts([]) == merge_details([]) == _reference_merge([])
