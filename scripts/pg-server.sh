#!/usr/bin/env bash
# Makes the local PostgreSQL 15 server ready for the server test lane and benchmarks:
# installs pgTAP and pg_prove when missing (Debian packages, needs root), starts the
# cluster, and lets `postgres`/`postgres` log in over TCP on 127.0.0.1:5432.
# Prints nothing on success but the URL to export, e.g.
#   export TEST_DATABASE_URL=$(bash scripts/pg-server.sh)
set -euo pipefail

if ! command -v pg_prove >/dev/null || [ ! -f /usr/share/postgresql/15/extension/pgtap.control ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "pg-server: install postgresql-15-pgtap and libtap-parser-sourcehandler-pgtap-perl (needs root)" >&2
    exit 1
  fi
  { apt-get update -q && apt-get install -y -q postgresql-15 postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl; } >&2
fi

if ! pg_lsclusters -h 2>/dev/null | grep -q '^15 \+main '; then
  pg_createcluster 15 main >&2
fi
if ! pg_lsclusters -h | grep -q '^15 \+main .* online'; then
  pg_ctlcluster 15 main start >&2
fi

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; else su postgres -c "$(printf '%q ' "$@")"; fi
}
for _ in $(seq 1 50); do
  as_postgres psql -qAtc 'select 1' >/dev/null 2>&1 && break
  sleep 0.2
done
as_postgres psql -qAtc "alter role postgres password 'postgres'" >/dev/null
echo "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
