"""Errors in Atlas's shape: `{"errorCode": "ATLAS-404-00-005", "errorMessage": "..."}`.

pyatlan raises a typed exception (NotFoundError, InvalidRequestError, ...) from the HTTP status
when a body carries both keys. Deterministic client errors never use 403 or 5xx, which the SDK
retries.
"""

from __future__ import annotations

from typing import Any


class AtlasError(Exception):
    """An error answered as Atlas does, with its HTTP status and Atlas error code."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"errorCode": self.code, "errorMessage": self.message, **self.extra}


def bad_request(message: str, code: str = "ATLAS-400-00-01A") -> AtlasError:
    return AtlasError(400, code, message)


def guid_not_found(guid: str) -> AtlasError:
    return AtlasError(404, "ATLAS-404-00-005", f"Given instance guid {guid} is invalid/not found")


def reference_not_found(ref: str) -> AtlasError:
    return AtlasError(404, "ATLAS-404-00-00A", f"Referenced entity {ref} is not found")


def unique_not_found(type_name: str, qualified_name: str) -> AtlasError:
    return AtlasError(
        404,
        "ATLAS-404-00-009",
        f"Instance {type_name} with unique attribute {{qualifiedName={qualified_name}}} does not exist",
    )
