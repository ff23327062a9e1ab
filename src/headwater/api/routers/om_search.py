"""OpenMetadata's search endpoints, answered from the catalog in Elasticsearch's response shape.

OpenMetadata's SDK finds tables through `search/fieldQuery` and `search/query` before it reads them
by name; we have no search engine, so patterns and a useful subset of Elasticsearch's bool query
(`term`, `terms`, `match`, `wildcard`, `prefix`, `exists`, `bool`) are evaluated over the entity JSON.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Query, Request

from headwater.api.auth import Viewer
from headwater.api.deps import base_url, store_of
from headwater.api.errors import ApiError
from headwater.api.om_json import BY_INDEX, COLLECTIONS, entity_json
from headwater.model.assets import Asset
from headwater.store import Store

router = APIRouter(prefix="/api/v1/search", tags=["OpenMetadata search"])

_ALL_INDEXES = {"all", "dataAsset", "dataasset", "all_search_index"}
SCAN_LIMIT = 100_000

# Indexes other packages answer (e.g. the query log's processed queries): name -> provider of documents.
EXTRA_INDEXES: dict[str, Callable[[Request], list[dict[str, Any]]]] = {}


def _types_for(index: str | None) -> list[str] | None:
    if not index or index in _ALL_INDEXES:
        return None
    coll = BY_INDEX.get(index) or BY_INDEX.get(index + "_search_index")
    if coll is None:
        valid = ", ".join(
            sorted([c.search_index for c in COLLECTIONS if c.search_index] + list(EXTRA_INDEXES))
        )
        raise ApiError(400, f"Unknown search index {index!r}; valid: {valid}")
    return [coll.type.value]


def _lookup(doc: Any, dotted: str) -> list[Any]:
    """Values at an ES field path; `.keyword` suffixes are ignored, lists are flattened."""
    path = [p for p in dotted.split(".") if p != "keyword"]
    values: list[Any] = [doc]
    for key in path:
        nxt: list[Any] = []
        for v in values:
            if isinstance(v, list):
                for item in v:
                    if isinstance(item, dict) and key in item:
                        nxt.append(item[key])
            elif isinstance(v, dict) and key in v:
                nxt.append(v[key])
        values = []
        for v in nxt:
            values.extend(v if isinstance(v, list) else [v])
    return values


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return str(a).lower() == str(b).lower()
    return str(a).lower() == str(b).lower()


def _clause_value(spec: Any) -> Any:
    return spec.get("value", spec.get("query")) if isinstance(spec, dict) else spec


def matches(query: Any, doc: dict[str, Any]) -> bool:
    """Evaluate a subset of an Elasticsearch query against one document."""
    if not isinstance(query, dict) or not query:
        return True
    if "query" in query and len(query) == 1:
        return matches(query["query"], doc)
    for kind, spec in query.items():
        if kind == "bool":
            must = spec.get("must", []) + spec.get("filter", [])
            must = must if isinstance(must, list) else [must]
            if not all(matches(q, doc) for q in must):
                return False
            must_not = spec.get("must_not", [])
            must_not = must_not if isinstance(must_not, list) else [must_not]
            if any(matches(q, doc) for q in must_not):
                return False
            should = spec.get("should", [])
            should = should if isinstance(should, list) else [should]
            if should and not any(matches(q, doc) for q in should):
                return False
        elif kind in ("term", "match", "match_phrase"):
            for field, value in spec.items():
                want = _clause_value(value)
                if not any(_eq(v, want) for v in _lookup(doc, field)):
                    return False
        elif kind == "terms":
            for field, values in spec.items():
                if not isinstance(values, list):
                    continue
                if not any(_eq(v, w) for v in _lookup(doc, field) for w in values):
                    return False
        elif kind in ("wildcard", "prefix"):
            for field, value in spec.items():
                pattern = str(_clause_value(value)).lower()
                if kind == "prefix":
                    pattern += "*"
                if not any(fnmatch.fnmatchcase(str(v).lower(), pattern) for v in _lookup(doc, field)):
                    return False
        elif kind == "exists":
            if not [v for v in _lookup(doc, spec.get("field", "")) if v not in (None, "", [])]:
                return False
        elif kind == "match_all":
            continue
        else:
            raise ApiError(400, f"query_filter: unsupported clause {kind!r}")
    return True


def _hits(
    docs: list[dict[str, Any]], index: str, start: int, size: int, source_fields: list[str] | None
) -> dict[str, Any]:
    page = docs[start : start + size]
    hits = []
    for doc in page:
        src = {k: doc[k] for k in source_fields if k in doc} if source_fields else doc
        hits.append({"_index": index, "_id": doc.get("id"), "_score": 1.0, "_source": src})
    return {"hits": {"total": {"value": len(docs), "relation": "eq"}, "max_score": 1.0, "hits": hits}}


def _docs(request: Request, store: Store, assets: list[Asset]) -> list[dict[str, Any]]:
    base = base_url(request)
    out = []
    for a in assets:
        doc = entity_json(store, a, base)
        doc["entityType"] = a.type.value
        out.append(doc)
    return out


@router.get("/query", summary="Search entities (Elasticsearch-shaped answer)")
def search_query(
    request: Request,
    _: Viewer,
    q: str = "",
    index: str = "table_search_index",
    from_: int = Query(0, alias="from", ge=0),
    size: int = Query(10, ge=0, le=10000),
    deleted: bool | None = None,
    query_filter: str | None = None,
    include_source_fields: list[str] | None = Query(None),
    sort_field: str | None = None,
    sort_order: str = "desc",
) -> dict[str, Any]:
    store = store_of(request)
    if index in EXTRA_INDEXES:
        docs = EXTRA_INDEXES[index](request)
    else:
        types = _types_for(index)
        text = q.strip().strip("*") if q and q.strip() not in ("*", "") else None
        assets, _total = store.list_assets(
            types=types,
            q=text,
            include_deleted=deleted is None or deleted,
            limit=SCAN_LIMIT,
            with_total=False,
        )
        if deleted is True:
            assets = [a for a in assets if a.deleted]
        docs = _docs(request, store, [a for a in assets if a.type.value != "column"])
    if query_filter:
        try:
            parsed = json.loads(query_filter)
        except json.JSONDecodeError as exc:
            raise ApiError(400, f"query_filter is not valid JSON: {exc}") from None
        docs = [d for d in docs if matches(parsed, d)]
    if sort_field:
        key = sort_field.removesuffix(".keyword")
        docs.sort(key=lambda d: str(d.get(key, "")), reverse=sort_order.lower() == "desc")
    return _hits(docs, index, from_, size, include_source_fields)


@router.get("/fieldQuery", summary="Match one field against a value with * wildcards")
def field_query(
    request: Request,
    _: Viewer,
    fieldName: str,
    fieldValue: str,
    index: str = "table_search_index",
    from_: int = Query(0, alias="from", ge=0),
    size: int = Query(10, ge=0, le=10000),
    deleted: bool = False,
) -> dict[str, Any]:
    store = store_of(request)
    types = _types_for(index)
    pattern = fieldValue.lower()
    if fieldName in ("fullyQualifiedName", "fullyQualifiedName.keyword") and "*" not in fieldValue:
        assets = [a for a in store.find_assets_by_fqn(fieldValue) if types is None or a.type.value in types]
    else:
        literal = fieldValue.split("*")
        longest = max(literal, key=len) if literal else ""
        assets, _count = store.list_assets(
            types=types, q=longest or None, include_deleted=True, limit=SCAN_LIMIT, with_total=False
        )
    assets = [a for a in assets if a.deleted == deleted]
    docs = _docs(request, store, assets)
    field = fieldName.removesuffix(".keyword")
    docs = [d for d in docs if any(fnmatch.fnmatchcase(str(v).lower(), pattern) for v in _lookup(d, field))]
    return _hits(docs, index, from_, size, None)
