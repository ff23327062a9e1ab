"""OpenMetadata's own SDK and CLI against a live headwater server.

The SDK (`openmetadata-ingestion`) pins SQLAlchemy 1.4, so it runs in its own venv, `.venv-om/`
(made by `scripts/om-venv.sh` when missing), and each test runs a small script from `scripts/`
with that venv's Python as a subprocess. A script prints one JSON object on its last stdout line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, LiveServer

SCRIPTS = Path(__file__).resolve().parent / "scripts"
OM_VENV = Path(os.environ.get("HEADWATER_OM_VENV", str(REPO / ".venv-om")))

SdkRunner = Callable[..., dict[str, Any]]


def _venv_ready(python: Path) -> bool:
    if not python.exists():
        return False
    probe = subprocess.run(
        [str(python), "-c", "import metadata.ingestion.ometa.ometa_api, psycopg2"],
        capture_output=True,
        timeout=300,
    )
    return probe.returncode == 0


@pytest.fixture(scope="session")
def om_python() -> Path:
    """The Python of the OpenMetadata SDK venv; created with scripts/om-venv.sh when missing."""
    python = OM_VENV / "bin" / "python"
    if not _venv_ready(python):
        made = subprocess.run(
            ["bash", str(REPO / "scripts" / "om-venv.sh"), str(OM_VENV)],
            capture_output=True,
            text=True,
            timeout=1200,
        )
        if made.returncode != 0 or not _venv_ready(python):
            pytest.fail(
                f"could not create the OpenMetadata SDK venv at {OM_VENV}:\n{made.stdout}\n{made.stderr}"
            )
    return python


def run_script(
    python: Path,
    server: LiveServer,
    script: str,
    *args: str,
    role: str = "admin",
    env: dict[str, str] | None = None,
    timeout: float = 600,
    cwd: Path | None = None,
) -> dict[str, Any]:
    token = {"admin": server.admin_token, "editor": server.editor_token, "viewer": server.viewer_token}[role]
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))},
        "HW_OM_URL": f"{server.url}/api",
        "HW_OM_TOKEN": token,
        "PYTHONPATH": str(SCRIPTS),
        "PYTHONWARNINGS": "ignore",
        **(env or {}),
    }
    proc = subprocess.run(
        [str(python), str(SCRIPTS / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=str(cwd) if cwd else None,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stderr[-20000:])
        pytest.fail(f"{script} exited {proc.returncode}:\n{proc.stdout[-5000:]}\n{proc.stderr[-10000:]}")
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except json.JSONDecodeError:
        pytest.fail(f"{script} did not print JSON last:\n{proc.stdout[-5000:]}\n{proc.stderr[-5000:]}")
    result.setdefault("_stderr", proc.stderr[-20000:])
    return result


@pytest.fixture
def sdk(om_python: Path, server: LiveServer) -> SdkRunner:
    """Run a script from scripts/ with the SDK against the live server; returns its JSON result."""

    def run(script: str, *args: str, **kwargs: Any) -> dict[str, Any]:
        return run_script(om_python, server, script, *args, **kwargs)

    return run
