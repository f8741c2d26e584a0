#!/usr/bin/env bash
# The pgTAP lane against a PostgreSQL 15 server: a fresh database `callflow_pgtap`,
# migrated by the project's migrator, then pg_prove over supabase/tests/database.
# Server: $TEST_DATABASE_URL (a URL of a database to administer from, e.g.
# postgresql://postgres:postgres@127.0.0.1:5432/postgres) or the local one that
# scripts/pg-server.sh prepares. Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

database=callflow_pgtap
admin_url=${TEST_DATABASE_URL:-$(bash scripts/pg-server.sh)}

# Same server and credentials, other database: swap the URL's path, keep its query.
without_query=${admin_url%%\?*}
query=${admin_url:${#without_query}}
authority=${without_query#*://}
if [[ $authority == */* ]]; then
  test_url="${without_query%/*}/${database}${query}"
else
  test_url="${without_query}/${database}${query}"
fi

command -v pg_prove >/dev/null || { echo "test-db-server: pg_prove not found (run scripts/pg-server.sh as root)" >&2; exit 1; }

echo "test-db-server: recreating database ${database}"
psql "$admin_url" -X -q -v ON_ERROR_STOP=1 \
  -c "set client_min_messages = warning" \
  -c "drop database if exists ${database} with (force)" \
  -c "create database ${database}"

echo "test-db-server: migrating ${database}"
(cd packages/db && DATABASE_URL="$test_url" npx tsx src/cli/migrate.ts)

echo "test-db-server: running pgTAP tests"
# pg_prove cannot pass a URL with '=' in it (sslmode=...) through its own options, so its
# psql is a wrapper that connects with the URL as given.
work_dir=$(mktemp -d)
trap 'rm -rf "$work_dir"' EXIT
printf '#!/bin/sh\nexec psql "$PGTAP_DATABASE_URL" "$@"\n' > "$work_dir/psql"
chmod +x "$work_dir/psql"
PGTAP_DATABASE_URL=$test_url pg_prove --psql-bin "$work_dir/psql" --ext .sql supabase/tests/database/*.test.sql
