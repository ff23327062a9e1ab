"""No secret in any API answer or log line, end to end: a real `headwater serve` process is given
connection configs holding a database password, Kafka SASL password and SSL key, and AWS keys;
the consumers and a workflow are made to run (and fail, against closed ports) so that errors are
logged; then every answer and every line the server wrote is searched for the secrets."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers import free_port, postgres_database, report_figure
from tests.reliability.test_crash_safety import CLI

DB_PASSWORD = "pg-pass-4f1c9e"
SASL_PASSWORD = "sasl-pass-8d2b7a"
SSL_KEY = (
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC-ssl-key-6a3e\n-----END PRIVATE KEY-----"
)
AWS_SECRET = "aws-secret-2c9f5d/K7MDENG"
SECRETS = (DB_PASSWORD, SASL_PASSWORD, "ssl-key-6a3e", AWS_SECRET)


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_no_secret_in_any_answer_or_log_line(tmp_path: Path, store: str) -> None:
    if store == "postgres":
        with postgres_database() as url:
            _run(tmp_path, url)
    else:
        _run(tmp_path, f"sqlite:///{tmp_path / 'hw.db'}")


def _run(tmp_path: Path, url: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    port, closed = free_port(), free_port()
    token = subprocess.run(
        [*CLI, "token", "create", "--role", "admin", "--data-dir", str(data), "--db-url", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    log = tmp_path / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--data-dir", str(data), "--db-url", url],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    answers: list[httpx.Response] = []
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as api:
            deadline = time.time() + 60
            while True:
                try:
                    if api.get("/api/v1/system/version").status_code == 200:
                        break
                except httpx.HTTPError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.1)
            _exercise(api, closed, answers)
    finally:
        proc.terminate()
        proc.wait(30)
    lines = log.read_text(errors="replace").splitlines()
    leaks = [
        (where, secret)
        for where, text in [
            *((str(a.request.url), a.text) for a in answers),
            *(("log", line) for line in lines),
        ]
        for secret in SECRETS
        if secret in text
    ]
    report_figure(
        f"secrets on {url.split(':')[0]}: {len(SECRETS)} secrets (database password, Kafka SASL password and "
        f"SSL key, AWS secret key) searched in {len(answers)} API answers and {len(lines)} server log lines: "
        f"{len(leaks)} found; {sum(a.status_code >= 500 for a in answers)} 5xx"
    )
    assert not leaks, leaks[:5]
    server_errors = [
        (str(a.request.url), a.status_code, a.text[:300]) for a in answers if a.status_code >= 500
    ]
    assert not server_errors, server_errors
    assert any(
        "ERROR" in line or "WARNING" in line or "rror" in line for line in lines
    )  # failures were logged


def _exercise(api: httpx.Client, closed: int, answers: list[httpx.Response]) -> None:
    def keep(r: httpx.Response) -> httpx.Response:
        answers.append(r)
        return r

    db = {
        "name": "warehouse",
        "serviceType": "Postgres",
        "connection": {
            "config": {
                "type": "Postgres",
                "username": "etl",
                "authType": {"password": DB_PASSWORD},
                "hostPort": f"127.0.0.1:{closed}",
                "database": "dw",
            }
        },
    }
    assert keep(api.put("/api/v1/services/databaseServices", json=db)).status_code in (200, 201)
    kafka = {
        "name": "ol-kafka",
        "serviceType": "OpenLineage",
        "connection": {
            "config": {
                "type": "OpenLineage",
                "brokerConfig": {
                    "brokersUrl": f"127.0.0.1:{closed}",
                    "topicName": "events",
                    "poolTimeout": 0.2,
                    "sessionTimeout": 1,
                    "securityProtocol": "SASL_SSL",
                    "sslConfig": {"sslKey": SSL_KEY},
                    "saslConfig": {
                        "saslMechanism": "PLAIN",
                        "saslUsername": "u",
                        "saslPassword": SASL_PASSWORD,
                    },
                },
            }
        },
    }
    kinesis = {
        "name": "ol-kinesis",
        "serviceType": "OpenLineage",
        "connection": {
            "config": {
                "type": "OpenLineage",
                "brokerConfig": {
                    "streamName": "events",
                    "poolTimeout": 0.2,
                    "sessionTimeout": 1,
                    "awsConfig": {
                        "awsRegion": "us-east-2",
                        "awsAccessKeyId": "AKIAEXAMPLE",
                        "awsSecretAccessKey": AWS_SECRET,
                        "endPointURL": f"http://127.0.0.1:{closed}",
                    },
                },
            }
        },
    }
    for body in (kafka, kinesis):
        assert keep(api.put("/api/v1/services/pipelineServices", json=body)).status_code in (200, 201)
    workflow = {
        "source": {
            "type": "postgres-lineage",
            "serviceName": "warehouse",
            "serviceConnection": db["connection"],
            "sourceConfig": {"config": {"type": "DatabaseLineage"}},
        },
        "sink": {"type": "metadata-rest", "config": {}},
        "workflowConfig": {"openMetadataServerConfig": {"hostPort": "http://127.0.0.1:1/api"}},
    }
    made = keep(
        api.put("/api/v1/services/ingestionPipelines", json={"name": "nightly", "workflow": workflow})
    )
    assert made.status_code in (200, 201), made.text
    # make everything that holds a secret run, and fail, so that errors get logged
    for name in ("ol-kafka", "ol-kinesis"):
        keep(api.post(f"/api/v1/openlineage/services/{name}/testConnection"))
        keep(api.post(f"/api/v1/openlineage/services/{name}/run", timeout=120))
    keep(api.post(f"/api/v1/services/ingestionPipelines/trigger/{made.json()['id']}"))
    keep(api.post("/api/v1/services/databaseServices/testConnection", json=db))
    time.sleep(3)  # the triggered run fails in the background
    for path in (
        "/api/v1/services/databaseServices",
        "/api/v1/services/databaseServices/name/warehouse",
        "/api/v1/services/pipelineServices",
        "/api/v1/services/pipelineServices/name/ol-kafka",
        "/api/v1/services/pipelineServices/name/ol-kinesis",
        "/api/v1/openlineage/services",
        "/api/v1/openlineage/services/ol-kafka",
        "/api/v1/openlineage/services/ol-kinesis",
        "/api/v1/services/ingestionPipelines",
        f"/api/v1/services/ingestionPipelines/{made.json()['id']}",
        "/api/v1/headwater/assets?limit=100",
        "/api/v1/search/query?q=*&index=all",
    ):
        keep(api.get(path))
