"""Property-based fuzzing of every endpoint in our OpenAPI with schemathesis, on both stores.

Passes only with zero 5xx answers and every 4xx a JSON body naming the problem. The figures are
printed and written to test-artifacts/fuzz-<store>.txt.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, LiveServer, report_figure

MAX_EXAMPLES = os.environ.get("HEADWATER_FUZZ_EXAMPLES", "6")


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_no_server_errors_and_useful_client_errors(server: LiveServer, tmp_path: Path) -> None:
    from headwater.demo import load_demo

    load_demo(server.store)  # real data, so ids and FQNs in paths can hit something
    st = Path(sys.executable).with_name("st")
    stats = tmp_path / "statuses.txt"
    pythonpath = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.reliability.st_hooks",
        "PYTHONPATH": pythonpath,
        "HEADWATER_FUZZ_STATS": str(stats),
    }
    done = subprocess.run(
        [
            str(st),
            "run",
            f"{server.url}/openapi.json",
            "--checks",
            "not_a_server_error,client_errors_explain_themselves",
            "-H",
            f"Authorization: Bearer {server.admin_token}",
            "--max-examples",
            MAX_EXAMPLES,
            "--workers",
            "2",
            "--request-timeout",
            "30",
            "--phases",
            "coverage,fuzzing",
            "--no-color",
            "--seed",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=1500,
        env=env,
        cwd=REPO,
    )
    out = done.stdout + done.stderr
    generated = re.search(r"(\d+) generated", out)
    tested = re.search(r"Tested: (\d+)", out)
    store = server.store.dialect
    statuses = [int(line) for line in stats.read_text().split()] if stats.exists() else []
    server_errors = sum(1 for s in statuses if s >= 500)
    client_errors = sum(1 for s in statuses if 400 <= s < 500)
    summary = (
        f"schemathesis on {store}: {tested.group(1) if tested else '?'} operations tested, "
        f"{generated.group(1) if generated else '?'} cases generated, {len(statuses)} requests sent, "
        f"{server_errors} 5xx seen, {client_errors} 4xx (each checked for a JSON message), "
        f"schemathesis exit {done.returncode}"
    )
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / f"fuzz-{store}.txt").write_text(out)
    report_figure(summary)
    assert server_errors == 0, out[-6000:]
    assert done.returncode == 0, out[-6000:]
