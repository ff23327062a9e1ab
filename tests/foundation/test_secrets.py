"""Connection secrets are encrypted at rest, masked in every answer, and absent from logs."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select

from headwater.secrets import MASK, SEALED_PREFIX
from headwater.store import schema
from tests.helpers import LiveServer

SECRET = "hunter2-very-secret"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_service_secrets_sealed_masked_and_kept_on_masked_update(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = {
        "name": "warehouse",
        "serviceType": "Postgres",
        "connection": {
            "config": {
                "type": "Postgres",
                "username": "u",
                "authType": {"password": SECRET},
                "hostPort": "127.0.0.1:5432",
            }
        },
    }
    with server.client("admin") as api:
        created = api.put("/api/v1/services/databaseServices", json=body)
        assert created.status_code == 201, created.text
        assert SECRET not in created.text
        assert created.json()["connection"]["config"]["authType"]["password"] == MASK
        assert created.json()["connection"]["config"]["username"] == "u"
        # the raw row holds ciphertext, not the secret
        with server.store.read() as conn:
            raw = conn.execute(
                select(schema.assets.c.attributes).where(schema.assets.c.fqn == "warehouse")
            ).scalar_one()
        assert SECRET not in raw and SEALED_PREFIX in raw
        # a client that sends the masked value back keeps the stored secret
        echoed = json.loads(json.dumps(body))
        echoed["connection"]["config"]["authType"]["password"] = MASK
        echoed["description"] = "updated"
        assert api.put("/api/v1/services/databaseServices", json=echoed).status_code == 200
        asset = server.store.get_asset_by_fqn("databaseService", "warehouse")
        assert asset is not None
        clear = server.store.secrets.unseal(asset.attributes)
        assert clear["connection"]["config"]["authType"]["password"] == SECRET
        # every read path masks
        by_name = api.get("/api/v1/services/databaseServices/name/warehouse").text
        listing = api.get("/api/v1/services/databaseServices").text
        native = api.get(f"/api/v1/headwater/assets/{asset.id}").text
        for text in (by_name, listing, native):
            assert SECRET not in text
    assert SECRET not in caplog.text


def test_nested_aws_keys_are_sealed(server: LiveServer) -> None:
    body = {
        "name": "ol-kinesis",
        "serviceType": "OpenLineage",
        "connection": {
            "config": {
                "type": "OpenLineage",
                "brokerConfig": {
                    "streamName": "events",
                    "awsConfig": {
                        "awsRegion": "us-east-2",
                        "awsAccessKeyId": "AKIAEXAMPLE",
                        "awsSecretAccessKey": AWS_SECRET,
                    },
                },
            }
        },
    }
    with server.client("admin") as api:
        answer = api.put("/api/v1/services/pipelineServices", json=body)
        assert answer.status_code in (200, 201), answer.text
        assert AWS_SECRET not in answer.text and "AKIAEXAMPLE" not in answer.text
    with server.store.read() as conn:
        raw = conn.execute(
            select(schema.assets.c.attributes).where(schema.assets.c.fqn == "ol-kinesis")
        ).scalar_one()
    assert AWS_SECRET not in raw


def test_consumers_get_clear_secrets_answers_do_not(server: LiveServer) -> None:
    """The OpenLineage consumer needs the real AWS key; every API answer masks it."""
    from headwater.openlineage.services import broker_config, get_service

    body = {
        "name": "ol-kinesis2",
        "serviceType": "OpenLineage",
        "connection": {
            "config": {
                "type": "OpenLineage",
                "brokerConfig": {
                    "streamName": "events",
                    "awsConfig": {
                        "awsRegion": "us-east-2",
                        "awsAccessKeyId": "AKIAEXAMPLE",
                        "awsSecretAccessKey": AWS_SECRET,
                    },
                },
            }
        },
    }
    with server.client("admin") as api:
        assert api.put("/api/v1/services/pipelineServices", json=body).status_code in (200, 201)
        listed = api.get("/api/v1/openlineage/services").text
        assert AWS_SECRET not in listed and "AKIAEXAMPLE" not in listed
    cfg = broker_config(get_service(server.store, "ol-kinesis2"))
    assert cfg.awsConfig.awsSecretAccessKey.get_secret_value() == AWS_SECRET  # type: ignore[union-attr]


def test_stored_ingestion_workflows_are_sealed(server: LiveServer) -> None:
    workflow = {
        "source": {
            "type": "postgres-lineage",
            "serviceName": "pgsvc",
            "serviceConnection": {
                "config": {
                    "type": "Postgres",
                    "username": "u",
                    "hostPort": "127.0.0.1:5432",
                    "authType": {"password": SECRET},
                }
            },
            "sourceConfig": {"config": {"type": "DatabaseLineage"}},
        },
        "sink": {"type": "metadata-rest", "config": {}},
        "workflowConfig": {
            "openMetadataServerConfig": {
                "hostPort": "http://127.0.0.1:1/api",
                "authProvider": "openmetadata",
                "securityConfig": {"jwtToken": "tok-" + SECRET},
            }
        },
    }
    with server.client("admin") as api:
        made = api.put("/api/v1/services/ingestionPipelines", json={"name": "nightly", "workflow": workflow})
        assert made.status_code in (200, 201), made.text
        assert SECRET not in made.text
        assert SECRET not in api.get("/api/v1/services/ingestionPipelines").text
    with server.store.read() as conn:
        raw = conn.exec_driver_sql("SELECT workflow FROM ingestion_pipelines").scalar_one()
    assert SECRET not in raw and SEALED_PREFIX in raw
    from headwater.ingest.pipelines import PipelineStore

    stored = PipelineStore(server.store).all()[0]
    assert stored.workflow["source"]["serviceConnection"]["config"]["authType"]["password"] == SECRET
