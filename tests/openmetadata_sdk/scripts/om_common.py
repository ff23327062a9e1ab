"""Shared by the SDK scripts (run with .venv-om's Python, not collected by pytest)."""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any

from metadata.generated.schema.entity.services.connections.metadata.openMetadataConnection import (
    AuthProvider,
    OpenMetadataConnection,
)
from metadata.generated.schema.security.client.openMetadataJWTClientConfig import (
    OpenMetadataJWTClientConfig,
)
from metadata.ingestion.ometa.ometa_api import OpenMetadata


def connect(token: str | None = None) -> OpenMetadata:
    return OpenMetadata(
        OpenMetadataConnection(
            hostPort=os.environ["HW_OM_URL"],
            authProvider=AuthProvider.openmetadata,
            securityConfig=OpenMetadataJWTClientConfig(jwtToken=token or os.environ["HW_OM_TOKEN"]),
        )
    )


class Results:
    """Collects named results; a failing step records its exception instead of stopping the run."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {"errors": {}}

    def __setitem__(self, key: str, value: Any) -> None:
        self.data[key] = value

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def step(self, name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            value = fn(*args, **kwargs)
        except Exception as exc:
            self.data["errors"][name] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc(file=sys.stderr)
            return None
        return value

    def emit(self) -> None:
        print(json.dumps(self.data, default=str))


def ids(entity: Any) -> dict[str, Any]:
    """What a test needs to know about an entity the SDK parsed."""
    if entity is None:
        return {}
    return {
        "id": str(entity.id.root),
        "name": entity.name.root if hasattr(entity.name, "root") else str(entity.name),
        "fqn": entity.fullyQualifiedName.root if entity.fullyQualifiedName else None,
        "type": type(entity).__name__,
    }
