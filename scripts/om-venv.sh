#!/usr/bin/env bash
# Create .venv-om/: OpenMetadata's own Python SDK and CLI (openmetadata-ingestion), used by
# tests/openmetadata_sdk/ to prove compatibility. It pins SQLAlchemy 1.4 and cannot share the main
# venv, so it lives beside it. Does nothing when .venv-om/ already imports the SDK.
#
# Pins (keep in step with the `om-test` extra in pyproject.toml):
#   openmetadata-ingestion~=1.12.14   the SDK line whose major.minor headwater reports by default
#   dbt-core<1.12                     newer dbt-core conflicts with the SDK's pins
#   cachetools                        imported by the SDK (lineage masker) but not declared by 1.12.14.2
#   psycopg2-binary                   the SDK's Postgres driver, for `metadata ingest` against PostgreSQL
#
# Usage: scripts/om-venv.sh [DIR]   (default: <repo>/.venv-om; HEADWATER_OM_PYTHON picks the interpreter)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-$repo/.venv-om}"
py="${HEADWATER_OM_PYTHON:-python3}"

check() {
    "$dir/bin/python" -c 'import metadata.ingestion.ometa.ometa_api, psycopg2' >/dev/null 2>&1
}

if [ -x "$dir/bin/python" ] && check; then
    echo "$dir: ready"
    exit 0
fi

# Serialise concurrent creators (pytest workers, two shells).
exec 9>"${TMPDIR:-/tmp}/headwater-om-venv.lock"
flock 9
if [ -x "$dir/bin/python" ] && check; then
    echo "$dir: ready"
    exit 0
fi

rm -rf "$dir"
"$py" -m venv "$dir"
"$dir/bin/python" -m pip install --quiet --upgrade pip
"$dir/bin/python" -m pip install --quiet \
    'openmetadata-ingestion~=1.12.14' 'dbt-core<1.12' 'cachetools' 'psycopg2-binary'
check || { echo "$dir: the SDK does not import after install" >&2; exit 1; }
echo "$dir: created"
