"""Schemathesis hooks: a check that every client error answers a JSON body that says what is wrong."""

from __future__ import annotations

import os
import threading
from typing import Any

import schemathesis


@schemathesis.check
def client_errors_explain_themselves(ctx: Any, response: Any, case: Any) -> None:
    if 400 <= response.status_code < 500:
        try:
            body = response.json()
        except Exception as exc:
            raise AssertionError(
                f"{response.status_code} without a JSON body: {response.text[:200]!r}"
            ) from exc
        message = None
        if isinstance(body, dict):
            message = body.get("message") or body.get("errorMessage") or body.get("error")
        if not message:
            raise AssertionError(f"{response.status_code} JSON body names no problem: {str(body)[:200]}")


_STATS = os.environ.get("HEADWATER_FUZZ_STATS")
_LOCK = threading.Lock()


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    """Record every answer's status, so the test can report requests sent and 5xx seen."""
    if _STATS:
        with _LOCK, open(_STATS, "a", encoding="utf-8") as out:
            out.write(f"{response.status_code}\n")
