"""Small helpers shared by the analysis modules: owners, column lookups, hop kinds."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select

from headwater.model.assets import Asset
from headwater.model.types import AssetType
from headwater.store import Store
from headwater.store import schema as s

DIRECT = "direct"
TRANSFORMATION = "transformation"
HOP_KINDS = (DIRECT, TRANSFORMATION)
CHUNK = 500

# Functions that only pass a value through: a mapping with one of these is still a direct copy.
_IDENTITY_FUNCTIONS = {"", "identity", "copy", "direct", "none"}


def hop_kind(function: str | None, from_columns: Sequence[str], column: str | None = None) -> str:
    """`direct` when one source column is copied as is, `transformation` otherwise.

    A mapping is a transformation when it has a function (other than identity/copy, or the bare
    source column name itself) or combines several source columns.
    """
    if len(from_columns) > 1:
        return TRANSFORMATION
    fn = (function or "").strip()
    if fn.lower() in _IDENTITY_FUNCTIONS:
        return DIRECT
    if column is not None:
        bare = column.rsplit(".", 1)[-1].strip('"`[]').lower()
        if fn.strip('"`[]').lower() in (bare, column.lower()):
            return DIRECT
    return TRANSFORMATION


def owner_names(asset: Asset | None) -> list[str]:
    if asset is None:
        return []
    owners = asset.attributes.get("owners") or []
    out: list[str] = []
    if isinstance(owners, list):
        for o in owners:
            if isinstance(o, dict):
                name = o.get("name") or o.get("fullyQualifiedName") or o.get("displayName")
                if name:
                    out.append(str(name))
            elif isinstance(o, str):
                out.append(o)
    return out


def columns_by_fqn(store: Store, fqns: Iterable[str]) -> dict[str, Asset]:
    """Column assets by FQN (columns of any parent type)."""
    wanted = list(dict.fromkeys(fqns))
    out: dict[str, Asset] = {}
    with store.read() as conn:
        for i in range(0, len(wanted), CHUNK):
            rows = conn.execute(
                select(s.assets).where(
                    s.assets.c.type == AssetType.COLUMN.value, s.assets.c.fqn.in_(wanted[i : i + CHUNK])
                )
            ).all()
            for row in rows:
                out[row.fqn] = Store._row_to_asset(row)
    return out


def table_of_column(fqn: str, candidates: dict[int, Asset]) -> Asset | None:
    """The asset among `candidates` whose FQN prefixes a column FQN (nested columns included)."""
    best: Asset | None = None
    for asset in candidates.values():
        if fqn.startswith(asset.fqn + ".") and (best is None or len(asset.fqn) > len(best.fqn)):
            best = asset
    return best


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
