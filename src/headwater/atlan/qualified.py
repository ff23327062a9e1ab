"""Atlan qualifiedName recipes: connections, the SQL hierarchy and processes.

The process recipe is the one pyatlan's `Process.creator` uses, so a process saved without a
qualifiedName (raw REST) gets the name the SDK would have given it, and a re-save updates it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable

from headwater.model.types import AssetType


def connection_qualified_name(connector: str, epoch: int | None = None) -> str:
    """`default/{connector}/{epoch seconds}`, as the SDK's Connection.creator builds it."""
    return f"default/{connector}/{int(time.time()) if epoch is None else epoch}"


def connection_of(qualified_name: str) -> str | None:
    """The connection prefix `default/{connector}/{epoch}` of any qualifiedName, if it has one."""
    parts = qualified_name.split("/")
    if len(parts) >= 3 and parts[0] == "default" and parts[1] and parts[2]:
        return "/".join(parts[:3])
    return None


def connector_of(qualified_name: str) -> str | None:
    parts = qualified_name.split("/")
    if len(parts) >= 2 and parts[0] == "default" and parts[1]:
        return parts[1]
    return None


def parent_of(asset_type: AssetType, qualified_name: str) -> str | None:
    """The qualifiedName of the asset this one hangs under (columns under tables, and so on)."""
    if asset_type in (AssetType.CONNECTION, AssetType.PROCESS, AssetType.COLUMN_PROCESS):
        return None
    connection = connection_of(qualified_name)
    if connection is None or connection == qualified_name:
        return None
    head, _, _ = qualified_name.rpartition("/")
    return head or None


def process_qualified_name(
    name: str,
    connection_qualified_name: str,
    *,
    process_id: str | None = None,
    parent_guid: str | None = None,
    input_guids: Iterable[str | None] = (),
    output_guids: Iterable[str | None] = (),
    extra_hash_params: Iterable[str] = (),
) -> str:
    """`{connectionQN}/{process_id}`, or the SDK's MD5 of name, connection, parent, inputs, outputs."""
    if process_id and process_id.strip():
        return f"{connection_qualified_name}/{process_id}"
    parts = [name, connection_qualified_name]
    if parent_guid:
        parts.append(parent_guid)
    parts.extend(g for g in input_guids if g)
    parts.extend(g for g in output_guids if g)
    parts.extend(extra_hash_params)
    digest = hashlib.md5("".join(parts).encode("utf-8"), usedforsecurity=False).hexdigest()
    return f"{connection_qualified_name}/{digest}"
