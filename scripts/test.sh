#!/usr/bin/env bash
# `npm test`: typecheck (twice, see src/db/portable.ts), lint, unused code, import cycles, then the whole suite twice — on SQLite, and on the machine's Postgres
# (MG_TEST_DB=postgres: every service a test starts gets a fresh database of its own, dropped
# afterwards; see test/helpers/backend.ts). Arguments go to both `bun test` runs (files, -t PATTERN).
#   MG_TEST_BACKENDS=sqlite npm test          one backend only (or =postgres)
#   MG_TEST_PG_HOST/_PORT/_USER/_PASS          where Postgres is (default 127.0.0.1:5432, postgres, trust)
# Without a reachable Postgres the second run is skipped with a warning, except under CI, where it fails.
set -uo pipefail
cd "$(dirname "$0")/.."
BUN=./node_modules/.bin/bun
# bunfig's [test] timeout is not honoured by bun 1.4.5; services on Postgres start slower (a fresh database each).
TIMEOUT=60000
ci() { [ -n "${CI:-}" ] && [ "${CI}" != "false" ] && [ "${CI}" != "0" ]; }

./node_modules/.bin/tsc --noEmit -p . || exit 1
# The same code type-checked with the repositories' query builder read as Postgres's (src/db/portable.ts).
./node_modules/.bin/tsc --noEmit -p tsconfig.postgres.json || exit 1
# The console's front end (browser code: DOM types, Preact JSX).
./node_modules/.bin/tsc --noEmit -p src/console/ui || exit 1
# Format and lint (biome.json); `npm run format` fixes what it can.
./node_modules/.bin/biome ci . || exit 1
# Unused files, exports and dependencies (knip.json); import cycles in src/, between modules or
# folders, type-only imports included (.dependency-cruiser.json; run by Bun: it wants Node >= 22).
./node_modules/.bin/knip || exit 1
"$BUN" --bun ./node_modules/.bin/depcruise src --config .dependency-cruiser.json --output-type err || exit 1

status=0
for backend in ${MG_TEST_BACKENDS:-sqlite postgres}; do
  echo "=== bun test on ${backend} ==="
  case "$backend" in
    sqlite)
      MG_TEST_DB=sqlite "$BUN" test --timeout "$TIMEOUT" "$@" || status=1
      ;;
    postgres)
      host=${MG_TEST_PG_HOST:-127.0.0.1} port=${MG_TEST_PG_PORT:-5432}
      if ! (exec 3<>"/dev/tcp/${host}/${port}") 2>/dev/null; then
        if ci; then
          echo "FAIL: Postgres is not reachable on ${host}:${port} (required under CI)"
          echo " 0 pass"; echo " 1 fail"
          status=1
        else
          printf '\n%s\n!! SKIPPING the Postgres run: nothing listens on %s:%s.\n!! Start it (pg_ctlcluster <version> main start) to run it; with CI=true it fails instead.\n%s\n\n' \
            "$(printf '!%.0s' {1..78})" "$host" "$port" "$(printf '!%.0s' {1..78})"
        fi
        continue
      fi
      # One prefix per run: the databases it creates are dropped by the run itself (also when tests
      # fail), and here again in case the run was killed before it could.
      prefix="mgc_t_$(date +%s)_$$"
      MG_TEST_DB=postgres MG_TEST_PG_PREFIX="$prefix" "$BUN" test --timeout "$TIMEOUT" "$@" || status=1
      MG_TEST_PG_PREFIX="$prefix" "$BUN" test/helpers/drop-run-databases.ts || true
      ;;
    *)
      echo "unknown backend ${backend} (sqlite, postgres)"; status=1
      ;;
  esac
done
exit "$status"
