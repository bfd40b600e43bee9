#!/usr/bin/env bash
# Smoke test of one compiled binary, end to end, as an operator would use it:
#   scripts/smoke-arm64.sh dist/magistrala-clients-linux-arm64   (under qemu-aarch64-static on x64)
#   scripts/smoke-arm64.sh dist/magistrala-clients-linux-x64
# The binary runs from a temporary directory with nothing beside it. Each step prints PASS or
# FAIL; the last line is "smoke result: PASS|FAIL ...", and the exit code is 0 only when all passed.
# Needs bash, curl, od, base64, the repository's node_modules (the gRPC step's client); for an arm64 binary on another machine: qemu-user-static and
# libc6-arm64-cross (QEMU_LD_PREFIX defaults to /usr/aarch64-linux-gnu).
set -uo pipefail

usage() { echo "usage: $0 <binary>" >&2; exit 2; }
[ $# -eq 1 ] || usage
[ -f "$1" ] || { echo "FAIL: no binary at $1" >&2; echo "smoke result: FAIL (no binary)"; exit 1; }

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/mgc-smoke.XXXXXX")
bin="$work/$(basename "$1")"
cp "$1" "$bin" && chmod +x "$bin"
data="$work/data"
svc_pid=""
cleanup() {
  if [ -n "$svc_pid" ] && kill -0 "$svc_pid" 2>/dev/null; then kill -KILL "$svc_pid" 2>/dev/null; wait "$svc_pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
check() { # check "<step>" <command...>: PASS when the command exits 0
  local step=$1; shift
  if "$@"; then pass "$step"; else fail "$step"; fi
}

# ELF e_machine (byte 18): b7 = aarch64, 3e = x86-64.
machine=$(od -An -tx1 -j18 -N1 "$bin" | tr -d ' \n')
run=()
case "$machine" in
  b7) arch=arm64
      if [ "$(uname -m)" != "aarch64" ]; then
        if ! command -v qemu-aarch64-static >/dev/null; then
          fail "qemu-aarch64-static is not installed (apt-get install qemu-user-static libc6-arm64-cross)"
          echo "smoke result: FAIL (cannot run an arm64 binary here)"; exit 1
        fi
        export QEMU_LD_PREFIX=${QEMU_LD_PREFIX:-/usr/aarch64-linux-gnu}
        run=(qemu-aarch64-static)
      fi ;;
  3e) arch=x64 ;;
  *) fail "$1 is not a linux x64 or arm64 executable (ELF machine '$machine')"; echo "smoke result: FAIL"; exit 1 ;;
esac
echo "smoke test of $1 ($arch${run:+, under ${run[*]}})"
cd "$work" || exit 1

mgc() { timeout 120 "${run[@]}" "$bin" "$@"; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p
  for _ in $(seq 50); do
    # Below the kernel's ephemeral range (32768+ here): a port there may be the local end of an
    # outgoing connection, which the connect test below cannot see, and the listen fails.
    p=$((20000 + RANDOM % 12000))
    if ! port_in_use "$p"; then echo "$p"; return; fi
  done
  return 1
}
http_port=$(free_port)
grpc_port=$(free_port)
hooks_port=$(free_port)
token="smoke-$RANDOM$RANDOM$RANDOM"
export MG_CLIENTS_DB_PATH="$data/clients.db"
export MG_CLIENTS_HTTP_HOST=127.0.0.1 MG_CLIENTS_HTTP_PORT="$http_port"
export MG_CLIENTS_GRPC_HOST=127.0.0.1 MG_CLIENTS_GRPC_PORT="$grpc_port"
export MG_CLIENTS_HOOKS_HOST=127.0.0.1 MG_CLIENTS_HOOKS_PORT="$hooks_port"
export MG_CLIENTS_ES_URL="" MG_CLIENTS_STANDALONE_TOKEN="$token" MG_CLIENTS_LOG_LEVEL=info
base="http://127.0.0.1:$http_port"

# 1. version: stamped by the build (a binary from source would say 0.0.0 / ffffffff)
version_out=$(mgc version 2>&1)
if [[ "$version_out" =~ ^magistrala-clients\ ([0-9]+\.[0-9]+\.[0-9]+[^ ]*)\ \(commit\ ([0-9a-f]{7,40}),\ built\ ([^\)]+)\)$ ]] && [ "${BASH_REMATCH[2]}" != "ffffffff" ]; then
  version=${BASH_REMATCH[1]}
  pass "version: $version_out"
else
  version=""
  fail "version printed '$version_out'"
fi

# 2. start it on free ports with an empty data directory, wait for /health
"${run[@]}" "$bin" serve >"$work/service.log" 2>"$work/service.err" &
svc_pid=$!
health=""
for _ in $(seq 600); do
  health=$(curl -sf --max-time 2 "$base/health" 2>/dev/null) && break
  kill -0 "$svc_pid" 2>/dev/null || break
  sleep 0.1
done
if [[ "$health" == *'"status":"pass"'* ]]; then pass "started; GET /health: $health"; else fail "GET /health answered '$health'"; fi
check "/health reports the binary's version" test -n "$version" -a "${health/\"version\":\"$version\"/}" != "$health"
hc_out=$(mgc healthcheck 2>&1); hc_code=$?
if [ "$hc_code" = 0 ] && [[ "$hc_out" == "pass: "* ]]; then pass "healthcheck command exits 0 while the service runs"; else fail "healthcheck exited $hc_code: $hc_out"; fi

# 3. create a client over HTTP, read it back
auth=(-H "Authorization: Bearer $token")
created=$(curl -s --max-time 10 -w '\n%{http_code}' -X POST "$base/smoke/clients" "${auth[@]}" -H 'Content-Type: application/json' \
  -d '{"name":"smoke-device","credentials":{"identity":"smoke-1","secret":"smoke-secret-1"}}')
code=${created##*$'\n'}
client_id=$(sed -nE 's/^\{"id":"([^"]+)".*/\1/p' <<<"${created%$'\n'*}")
if [ "$code" = 201 ] && [ -n "$client_id" ]; then pass "create a client over HTTP (201, id $client_id)"; else fail "create a client answered $code: ${created%$'\n'*}"; fi
got=$(curl -sf --max-time 10 "$base/smoke/clients/$client_id" "${auth[@]}")
check "read the client back over HTTP" test "${got/\"name\":\"smoke-device\"/}" != "$got"

# The web pages are embedded in the binary: they load with nothing beside it and no internet.
embedded() { # embedded <path> <text it must contain>
  local body; body=$(curl -sf --max-time 10 --compressed "$base$1") && [ "${body/"$2"/}" != "$body" ]
}
check "/openapi and its embedded Swagger UI" embedded /openapi swagger-ui-bundle.js
check "/openapi/swagger-ui-bundle.js from the binary" embedded /openapi/swagger-ui-bundle.js SwaggerUIBundle
plain=$(curl -sf --max-time 10 "$base/openapi/swagger-ui.css") # no Accept-Encoding: unzipped from the embedded .gz
check "/openapi/swagger-ui.css for a client without gzip" test "${plain/.swagger-ui/}" != "$plain"
check "/console from the binary" embedded /console /console/app.js
check "/console/app.js, the bundled front end" embedded /console/app.js "Standalone token"

# 4. authenticate the client over gRPC (a grpc-js client built from the repository's protos)
grpc_auth() { timeout 60 "$repo/node_modules/.bin/bun" "$repo/scripts/grpc-authenticate.ts" "127.0.0.1:$grpc_port" "$1" 2>&1; }
b64() { printf '%s' "$1" | base64 -w0; }
out=$(grpc_auth "Basic$(b64 "$client_id:smoke-secret-1")")
if [ "$out" = "authenticated $client_id" ]; then pass "gRPC Authenticate (Basic form): $out"; else fail "gRPC Authenticate (Basic form): $out"; fi
out=$(grpc_auth "Domain$(b64 "smoke:smoke-secret-1")")
if [ "$out" = "authenticated $client_id" ]; then pass "gRPC Authenticate (Domain form): $out"; else fail "gRPC Authenticate (Domain form): $out"; fi
out=$(grpc_auth "Basic$(b64 "$client_id:wrong-secret")")
if [[ "$out" == "refused PERMISSION_DENIED "* ]]; then pass "gRPC Authenticate refuses a wrong secret: $out"; else fail "gRPC Authenticate with a wrong secret: $out"; fi

# 4b. the broker hooks listener answers a RabbitMQ call-out (docs/brokers.md)
hooks="http://127.0.0.1:$hooks_port"
out=$(curl -s --max-time 10 -X POST "$hooks/rabbitmq/user" --data-urlencode "username=$client_id" --data-urlencode "password=smoke-secret-1")
if [ "$out" = allow ]; then pass "hooks: RabbitMQ user check allows the client"; else fail "hooks: RabbitMQ user check answered '$out'"; fi
out=$(curl -s --max-time 10 -X POST "$hooks/rabbitmq/user" --data-urlencode "username=$client_id" --data-urlencode "password=wrong")
if [ "$out" = deny ]; then pass "hooks: RabbitMQ user check denies a wrong secret"; else fail "hooks: RabbitMQ user check with a wrong secret answered '$out'"; fi

out=$(curl -s --max-time 10 -X POST "$hooks/fluxmq.auth.v1.AuthService/Authenticate" -H 'Content-Type: application/json' \
  -d "{\"username\":\"$client_id\",\"password\":\"smoke-secret-1\"}")
if [ "$out" = "{\"authenticated\":true,\"id\":\"$client_id\"}" ]; then pass "hooks: FluxMQ Authenticate over Connect (embedded protos)"; else fail "hooks: FluxMQ Authenticate over Connect answered '$out'"; fi

# 5. back up while it runs; restore is refused while it runs
backup_out=$(mgc backup "$work/smoke-backup.db" 2>&1); backup_code=$?
if [ "$backup_code" = 0 ] && [ "$(head -c 15 "$work/smoke-backup.db" 2>/dev/null)" = "SQLite format 3" ]; then
  pass "backup while the service runs: $backup_out"
else
  fail "backup exited $backup_code: $backup_out"
fi
if out=$(mgc restore "$work/smoke-backup.db" 2>&1); then
  fail "restore was not refused while the service runs: $out"
else
  if [[ "$out" == *"in use"* ]]; then pass "restore refused while the service runs"; else fail "restore failed for another reason: $out"; fi
fi

# 6. stop: SIGTERM, exit code 0
exit_code=""
if ! kill -TERM "$svc_pid" 2>/dev/null; then wait "$svc_pid"; exit_code="already exited ($?) before SIGTERM"; fi
for _ in $(seq 300); do
  [ -n "$exit_code" ] && break
  if ! kill -0 "$svc_pid" 2>/dev/null; then wait "$svc_pid"; exit_code=$?; break; fi
  sleep 0.1
done
svc_pid_was=$svc_pid
svc_pid=""
if [ "$exit_code" = 0 ]; then pass "SIGTERM: exit 0"; else fail "SIGTERM: exit '${exit_code:-still running}'"; kill -KILL "$svc_pid_was" 2>/dev/null; fi
if mgc healthcheck >/dev/null 2>&1; then fail "healthcheck passed with nothing listening"; else pass "healthcheck command exits non-zero with nothing listening"; fi

# 7. restore the backup into a fresh data directory, check its schema
export MG_CLIENTS_DB_PATH="$work/restored/clients.db"
restore_out=$(mgc restore "$work/smoke-backup.db" 2>&1); restore_code=$?
if [ "$restore_code" = 0 ] && [ -s "$work/restored/clients.db" ] && [ -s "$work/restored/installation.key" ]; then
  pass "restore into a fresh data directory: $restore_out"
else
  fail "restore into a fresh data directory exited $restore_code: $restore_out"
fi
status_out=$(mgc migrate --status 2>&1)
check "migrate --status on the restored database: nothing pending" test "${status_out/, 0 pending/}" != "$status_out"

# 8. Postgres: export the restored data, import it into a fresh Postgres database, read it back
#    (the embedded drizzle/postgres migrations and the postgres driver inside the binary).
#    SMOKE_PG_HOST/_PORT/_USER (default 127.0.0.1:5432, postgres, trust); skipped without psql or a server.
pg_host=${SMOKE_PG_HOST:-127.0.0.1} pg_port=${SMOKE_PG_PORT:-5432} pg_user=${SMOKE_PG_USER:-postgres}
if command -v psql >/dev/null && (exec 3<>"/dev/tcp/$pg_host/$pg_port") 2>/dev/null; then
  pgdb="mgc_smoke_$$_${RANDOM}"
  psql_admin() { psql -h "$pg_host" -p "$pg_port" -U "$pg_user" -d postgres -qAtc "$1" >/dev/null 2>&1; }
  trap 'psql_admin "DROP DATABASE IF EXISTS \"$pgdb\" WITH (FORCE)"; cleanup' EXIT
  if psql_admin "CREATE DATABASE \"$pgdb\""; then
    export_out=$(mgc export "$work/smoke.jsonl" 2>&1)
    check "export the restored database: $export_out" test -s "$work/smoke.jsonl"
    import_out=$(MG_CLIENTS_DB_DRIVER=postgres MG_CLIENTS_DB_HOST=$pg_host MG_CLIENTS_DB_PORT=$pg_port MG_CLIENTS_DB_USER=$pg_user \
      MG_CLIENTS_DB_NAME=$pgdb MG_CLIENTS_DB_PATH="$work/pg/clients.db" mgc import "$work/smoke.jsonl" 2>&1)
    check "import it into Postgres: $import_out" test "${import_out/clients 1,/}" != "$import_out"
    pg_status=$(MG_CLIENTS_DB_DRIVER=postgres MG_CLIENTS_DB_HOST=$pg_host MG_CLIENTS_DB_PORT=$pg_port MG_CLIENTS_DB_USER=$pg_user \
      MG_CLIENTS_DB_NAME=$pgdb MG_CLIENTS_DB_PATH="$work/pg/clients.db" mgc migrate --status 2>&1)
    check "migrate --status on Postgres: nothing pending" test "${pg_status/, 0 pending/}" != "$pg_status"
  else
    fail "cannot create a Postgres database on $pg_host:$pg_port"
  fi
else
  echo "SKIP: Postgres steps (no psql, or nothing listens on $pg_host:$pg_port)"
fi

if [ "$failed" -gt 0 ]; then
  echo "--- service log (last 20 lines) ---"; tail -n 20 "$work/service.log"; tail -n 20 "$work/service.err"
  echo "smoke result: FAIL ($failed of $((passed + failed)) steps failed, $arch)"
  exit 1
fi
echo "smoke result: PASS ($passed steps, $arch)"
