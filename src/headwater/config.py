"""Server settings: command-line options first, then HEADWATER_* environment variables, then defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PORT = 8585
# OpenMetadata's SDK refuses a server whose major.minor differs from its own: report the line we
# test against, and let users change it with HEADWATER_OM_VERSION.
DEFAULT_OM_VERSION = "1.12.14"


def _env(name: str, default: str) -> str:
    return os.environ.get(f"HEADWATER_{name}", default)


class SettingsError(ValueError):
    """A HEADWATER_* environment variable holds a value its setting cannot take."""


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(f"HEADWATER_{name}")
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw.strip())
    except ValueError:
        raise SettingsError(
            f"HEADWATER_{name}={raw!r} is not a whole number; unset it (default {default}) or give one like {default}"
        ) from None


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(f"HEADWATER_{name}")
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    raise SettingsError(
        f"HEADWATER_{name}={raw!r} is neither true nor false; give one of {', '.join(_TRUE + _FALSE)} "
        f"or unset it (default {str(default).lower()})"
    )


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(f"HEADWATER_{name}")
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        value = float("nan")
    if value != value or value in (float("inf"), float("-inf")):  # NaN or infinite
        raise SettingsError(
            f"HEADWATER_{name}={raw!r} is not a number; unset it (default {default:g}) or give one like {default:g}"
        )
    return value


@dataclass
class Settings:
    data_dir: Path = field(default_factory=lambda: Path(_env("DATA_DIR", "./data")))
    db_url: str | None = field(default_factory=lambda: os.environ.get("HEADWATER_DB_URL") or None)
    host: str = field(default_factory=lambda: _env("HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: _env_int("PORT", DEFAULT_PORT))
    auth: bool = field(default_factory=lambda: _env_bool("AUTH", True))
    om_version: str = field(default_factory=lambda: _env("OM_VERSION", DEFAULT_OM_VERSION))
    max_depth: int = field(default_factory=lambda: _env_int("MAX_DEPTH", 10))
    node_limit: int = field(default_factory=lambda: _env_int("NODE_LIMIT", 5000))
    max_body_bytes: int = field(default_factory=lambda: _env_int("MAX_BODY_BYTES", 32 * 1024 * 1024))
    # events in one OpenLineage batch request; entities in one Atlan bulk request; rows of one CSV
    # export (lineage export and impact CSV): bigger requests get a 4xx naming the setting
    max_batch_events: int = field(default_factory=lambda: _env_int("MAX_BATCH_EVENTS", 10000))
    max_bulk_entities: int = field(default_factory=lambda: _env_int("MAX_BULK_ENTITIES", 10000))
    max_export_rows: int = field(default_factory=lambda: _env_int("MAX_EXPORT_ROWS", 100000))
    # OpenLineage: how long translation may wait behind a continuous flow of stored events
    # before it takes its share (seconds); requests are acknowledged faster while it waits
    translate_max_wait: float = field(default_factory=lambda: _env_float("TRANSLATE_MAX_WAIT", 10.0))
    cors_origins: list[str] = field(
        default_factory=lambda: [o for o in _env("CORS_ORIGINS", "").split(",") if o.strip()]
    )

    @property
    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.data_dir / 'headwater.db').resolve()}"

    def ensure_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
