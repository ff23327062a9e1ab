"""Schemathesis hooks: a check that every client error answers a JSON body that says what is wrong."""

from __future__ import annotations

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
