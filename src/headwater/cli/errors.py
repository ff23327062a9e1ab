"""How a command reports failure: one line on stderr, then a non-zero exit (2 unless given).

The message is printed as text, not Rich markup, and is never wrapped: it often quotes user
input (a bad setting, an FQN), and scripts grep it."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

err = Console(stderr=True)


def fail(message: str, code: int = 2) -> None:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)
