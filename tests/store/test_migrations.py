"""Opening a store runs the migrations once; reopening is a no-op that keeps the data."""

from __future__ import annotations

from headwater.model import AssetInput, AssetType
from headwater.store import Store
from headwater.store.engine import ScriptDirectory, alembic_config, current_revision


def test_reopen_keeps_data_and_is_at_head(db_url: str) -> None:
    first = Store(db_url)
    first.upsert_asset(AssetInput(type=AssetType.DATABASE_SERVICE, fqn="svc", name="svc"))
    first.close()
    again = Store(db_url)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert current_revision(again.engine) == head
    assert again.get_asset_by_fqn(AssetType.DATABASE_SERVICE, "svc") is not None
    again.close()
