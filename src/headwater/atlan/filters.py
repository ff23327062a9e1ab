"""Atlas entity filters (`{"condition": "AND", "criterion": [...]}`) evaluated on an asset."""

from __future__ import annotations

import re
from typing import Any

from headwater.atlan.render import atlan_attributes, status, type_name
from headwater.model.assets import Asset


def filter_values(asset: Asset) -> dict[str, Any]:
    values = atlan_attributes(asset)
    values.update(
        {
            "__typeName": type_name(asset),
            "__state": status(asset),
            "__guid": asset.id,
            "__hasLineage": True,
            "__createdBy": "headwater",
            "__modifiedBy": asset.updated_by or "headwater",
            "__timestamp": asset.created_at,
            "__modificationTimestamp": asset.updated_at,
        }
    )
    return values


def _as_number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _matches(op: str, actual: Any, expected: Any) -> bool:
    op = op.strip()
    if op in ("isNull", "is_null"):
        return actual in (None, "", [])
    if op in ("notNull", "not_null", "notEmpty", "not_empty"):
        return actual not in (None, "", [])
    values = actual if isinstance(actual, list) else [actual]
    text = [str(v) for v in values if v is not None]
    exp = "" if expected is None else str(expected)
    if op in ("=", "eq"):
        return exp in text
    if op in ("!=", "neq"):
        return exp not in text
    if op == "in":
        options = expected if isinstance(expected, list) else [s.strip() for s in exp.split(",")]
        return any(t in [str(o) for o in options] for t in text)
    if op in ("startsWith", "starts_with"):
        return any(t.startswith(exp) for t in text)
    if op in ("endsWith", "ends_with"):
        return any(t.endswith(exp) for t in text)
    if op == "contains":
        return any(exp in t for t in text)
    if op in ("not_contains", "notContains"):
        return not any(exp in t for t in text)
    if op == "like":
        pattern = "^" + re.escape(exp).replace("%", ".*").replace("_", ".").replace(r"\*", ".*") + "$"
        return any(re.match(pattern, t) for t in text)
    if op in ("containsAny", "containsAll"):
        options = expected if isinstance(expected, list) else [s.strip() for s in exp.split(",")]
        hits = [str(o) in text for o in options]
        return any(hits) if op == "containsAny" else all(hits)
    if op in ("<", ">", "<=", ">=", "lt", "gt", "lte", "gte"):
        a, b = _as_number(actual), _as_number(expected)
        if a is None or b is None:
            return False
        return {
            "<": a < b,
            "lt": a < b,
            ">": a > b,
            "gt": a > b,
            "<=": a <= b,
            "lte": a <= b,
            ">=": a >= b,
            "gte": a >= b,
        }[op]
    return True  # unknown operators (e.g. timerange) do not exclude


def matches(spec: Any, values: dict[str, Any]) -> bool:
    """True when `values` satisfy a FilterCriteria tree (no filter matches everything)."""
    if not isinstance(spec, dict) or not spec:
        return True
    criteria = spec.get("criterion")
    if isinstance(criteria, list) and criteria:
        results = [matches(c, values) for c in criteria]
        return all(results) if str(spec.get("condition") or "AND").upper() == "AND" else any(results)
    name = spec.get("attributeName")
    if not name:
        return True
    return _matches(str(spec.get("operator") or "="), values.get(name), spec.get("attributeValue"))
