"""Assets of the catalog, as callers hand them in and as the store returns them."""

from typing import Any

from pydantic import BaseModel, Field

from headwater.model.types import AssetType


class ColumnInput(BaseModel):
    """A column (or field) of a table-like asset; its FQN is the parent's FQN plus its quoted name."""

    name: str = Field(min_length=1)
    data_type: str | None = None
    description: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class AssetInput(BaseModel):
    """What a caller gives to create or update (upsert by type + FQN) an asset."""

    type: AssetType
    fqn: str = Field(min_length=1)
    name: str = Field(min_length=1)
    display_name: str | None = None
    description: str | None = None
    parent_fqn: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    columns: list[ColumnInput] | None = None
    partial: bool = False
    id: str | None = None  # keep a caller's id (e.g. Atlan guid) when creating


class Asset(BaseModel):
    """A stored asset. `pk` is the store's compact integer key used by the graph index."""

    pk: int
    id: str
    type: AssetType
    fqn: str
    name: str
    display_name: str | None = None
    description: str | None = None
    parent_pk: int | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    partial: bool = False
    deleted: bool = False
    version: float = 0.1
    created_at: int  # epoch ms
    updated_at: int  # epoch ms
    updated_by: str | None = None
