"""Connecting: the version check, and how the SDK sees 401 and 403 answers."""

from __future__ import annotations

import sys

from metadata.generated.schema.api.services.createDatabaseService import CreateDatabaseServiceRequest
from metadata.generated.schema.entity.data.table import Table
from metadata.generated.schema.entity.services.databaseService import DatabaseServiceType
from metadata.ingestion.ometa.client import APIError
from om_common import Results, connect


def main() -> None:
    r = Results()
    try:
        md = connect()
    except Exception as exc:  # VersionMismatchException and friends
        r["connected"] = False
        r["connect_error"] = f"{type(exc).__name__}: {exc}"
        r.emit()
        return
    r["connected"] = True
    r["health"] = md.health_check()
    r["server_version"] = md.get_server_version()
    if "--auth" in sys.argv:
        bad = connect(token="not-a-token")
        try:
            bad.client.get("/tables")
            r["bad_token"] = None
        except APIError as err:
            r["bad_token"] = {"status": err.status_code, "message": str(err)}
        try:
            md.create_or_update(
                CreateDatabaseServiceRequest(name="x", serviceType=DatabaseServiceType.Postgres)
            )
            r["write"] = "ok"
        except APIError as err:
            r["write"] = {"status": err.status_code, "message": str(err)}
        r["absent"] = md.get_by_name(Table, "x.y.z.t") is None
    r.emit()


if __name__ == "__main__":
    main()
