#!/usr/bin/env bash
# Makes the local PostgreSQL 15 server ready for the server test lane and benchmarks:
# installs pgTAP and pg_prove when missing (Debian packages, needs root), starts the
# cluster with pg_stat_statements loaded, and lets `postgres`/`postgres` log in over TCP on
# 127.0.0.1:5432.
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
wait_for_server() {
  for _ in $(seq 1 50); do
    as_postgres psql -qAtc 'select 1' >/dev/null 2>&1 && return
    sleep 0.2
  done
}
wait_for_server

# pg_stat_statements counts only when its library is loaded at server start (README
# "Operations"): added to shared_preload_libraries once, which costs one restart.
preloaded=$(as_postgres psql -qAtc 'show shared_preload_libraries')
if [[ ",${preloaded// /}," != *",pg_stat_statements,"* ]]; then
  as_postgres psql -qAtc "alter system set shared_preload_libraries = '${preloaded:+${preloaded},}pg_stat_statements'" >/dev/null
  echo "pg-server: restarting to load pg_stat_statements" >&2
  pg_ctlcluster 15 main restart >&2
  wait_for_server
fi
# In the admin database too, so its view shows every database's statements; the migrations
# create it in each CallFlow database (schema extensions).
as_postgres psql -qAt -c 'set client_min_messages = warning' -c 'create extension if not exists pg_stat_statements' >/dev/null
as_postgres psql -qAtc "alter role postgres password 'postgres'" >/dev/null
echo "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
