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

from tests.helpers import REPO, LiveServer

MAX_EXAMPLES = os.environ.get("HEADWATER_FUZZ_EXAMPLES", "6")


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_no_server_errors_and_useful_client_errors(
    server: LiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from headwater.demo import load_demo

    load_demo(server.store)  # real data, so ids and FQNs in paths can hit something
    st = Path(sys.executable).with_name("st")
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.reliability.st_hooks", "PYTHONPATH": str(REPO)}
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
    summary = (
        f"schemathesis on {store}: operations tested {tested.group(1) if tested else '?'}, "
        f"cases {generated.group(1) if generated else '?'}, exit {done.returncode}"
    )
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / f"fuzz-{store}.txt").write_text(out)
    with capsys.disabled():
        print(f"\n{summary}")
    assert done.returncode == 0, out[-6000:]
