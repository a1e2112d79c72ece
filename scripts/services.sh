#!/usr/bin/env bash
# Local stand-ins for the AWS services the integration tests need: S3 and DynamoDB through
# moto, Kinesis through kinesis-local (kinesis-mock built for Node; resharding and enhanced
# fan-out work there, unlike in moto), the Lambda runtime emulator (cargo-lambda's prebuilt
# wheel), plus the Python readers (duckdb, pyarrow) the output checks use. Every server
# listens on 127.0.0.1 only.
#
#   scripts/services.sh setup   create $TOOLS/venv and install the pinned Python packages, and
#                               kinesis-local into $TOOLS/npm (each idempotent)
#   scripts/services.sh start   start moto_server and kinesis-local on free 127.0.0.1 ports,
#                               wait until both answer HTTP, print export lines
#   scripts/services.sh stop    stop the servers started by `start` (only the PIDs it recorded)
#   scripts/services.sh env     print the export lines for the running servers
#
# TOOLS defaults to <repo>/.tools; override with SYNCLAKE_TOOLS.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${SYNCLAKE_TOOLS:-$REPO/.tools}"
VENV="$TOOLS/venv"
PY="$VENV/bin/python"
PIDFILE="$TOOLS/moto.pid"
ENDPOINTFILE="$TOOLS/moto.endpoint"
LOGFILE="$TOOLS/moto.log"
STAMP="$VENV/.synclake-requirements"

NPM_DIR="$TOOLS/npm"
KINESIS_DIR="$NPM_DIR/node_modules/kinesis-local"
KINESIS_MAIN="$KINESIS_DIR/main.js"
KINESIS_PIDFILE="$TOOLS/kinesis.pid"
KINESIS_ENDPOINTFILE="$TOOLS/kinesis.endpoint"
KINESIS_LOGFILE="$TOOLS/kinesis.log"
NPM_STAMP="$NPM_DIR/.synclake-packages"

# Pinned: moto and kinesis-local as checked to work for these tests,
# duckdb/pyarrow/cargo-lambda/cfn-lint/aws-sam-translator the current releases when this was
# written (cfn-lint expands infra/template.yaml's SAM transform with aws-sam-translator).
REQUIREMENTS=(
  "moto[server]==5.2.5"
  "duckdb==2.0.0"
  "pyarrow==26.0.1"
  "cargo-lambda==1.9.2"
  "boto3==1.44.18"
  "cfn-lint==1.58.0"
  "aws-sam-translator==1.115.0"
)
NPM_PACKAGES=(
  "kinesis-local@0.6.2"
)

# kinesis-local's control-plane operations (create, delete, reshard, register a consumer)
# take 500 ms each by default; the tests wait for every one of them.
KINESIS_DURATIONS=(
  CREATE_STREAM_DURATION
  DELETE_STREAM_DURATION
  SPLIT_SHARD_DURATION
  MERGE_SHARDS_DURATION
  UPDATE_SHARD_COUNT_DURATION
  REGISTER_STREAM_CONSUMER_DURATION
  DEREGISTER_STREAM_CONSUMER_DURATION
)

die() { echo "services.sh: $*" >&2; exit 1; }

requirements_text() { printf '%s\n' "${REQUIREMENTS[@]}"; }
npm_packages_text() { printf '%s\n' "${NPM_PACKAGES[@]}"; }

setup_venv() {
  if [[ -x "$PY" && -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$(requirements_text)" ]]; then
    return 0
  fi
  local base_python="${PYTHON:-python3}"
  command -v "$base_python" >/dev/null || die "no $base_python on PATH"
  if [[ ! -x "$PY" ]]; then
    echo "services.sh: creating venv at $VENV" >&2
    "$base_python" -m venv "$VENV"
  fi
  echo "services.sh: installing $(requirements_text | tr '\n' ' ')" >&2
  "$PY" -m pip install --disable-pip-version-check --quiet "${REQUIREMENTS[@]}"
  requirements_text > "$STAMP"
}

# kinesis-local hard-codes its listen address to 0.0.0.0: bind it to loopback like the rest.
# Exit status 0 once main.js holds the loopback address and no wildcard one.
kinesis_bound_to_loopback() {
  [[ -f "$KINESIS_MAIN" ]] && ! grep -q '"0\.0\.0\.0"' "$KINESIS_MAIN" && grep -q '"127\.0\.0\.1"' "$KINESIS_MAIN"
}

setup_npm() {
  if [[ -f "$NPM_STAMP" ]] && [[ "$(cat "$NPM_STAMP")" == "$(npm_packages_text)" ]] && kinesis_bound_to_loopback; then
    return 0
  fi
  command -v npm >/dev/null || die "no npm on PATH"
  command -v node >/dev/null || die "no node on PATH"
  mkdir -p "$NPM_DIR"
  echo "services.sh: installing $(npm_packages_text | tr '\n' ' ')into $NPM_DIR" >&2
  npm install --prefix "$NPM_DIR" --no-audit --no-fund --loglevel=error "${NPM_PACKAGES[@]}" >&2
  [[ -f "$KINESIS_MAIN" ]] || die "npm install left no $KINESIS_MAIN"
  sed -i 's/"0\.0\.0\.0"/"127.0.0.1"/g' "$KINESIS_MAIN"
  kinesis_bound_to_loopback \
    || die "could not rewrite kinesis-local's listen address to 127.0.0.1 in $KINESIS_MAIN (did its code change?)"
  npm_packages_text > "$NPM_STAMP"
}

cmd_setup() {
  mkdir -p "$TOOLS"
  setup_venv
  setup_npm
}

# Prints the PID recorded in pidfile $1 if that process is still alive (and, where /proc
# shows it, its command line still contains $2 rather than belonging to a recycled PID),
# else nothing.
live_pid() {
  local pidfile="$1" pattern="$2"
  [[ -f "$pidfile" ]] || return 0
  local pid
  pid="$(cat "$pidfile")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  if [[ -r "/proc/$pid/cmdline" ]] && ! grep -qaF -- "$pattern" "/proc/$pid/cmdline"; then
    return 0
  fi
  echo "$pid"
}

moto_pid() { live_pid "$PIDFILE" moto_server; }
kinesis_pid() { live_pid "$KINESIS_PIDFILE" kinesis-local/main.js; }

print_env() {
  echo "export SYNCLAKE_TEST_S3_ENDPOINT=$(cat "$ENDPOINTFILE")"
  echo "export SYNCLAKE_TEST_KINESIS_ENDPOINT=$(cat "$KINESIS_ENDPOINTFILE")"
  echo "export SYNCLAKE_TEST_PYTHON=$PY"
  echo "export SYNCLAKE_TEST_CARGO_LAMBDA=$VENV/bin/cargo-lambda"
}

# Exit status 0 once the endpoint answers HTTP at all (any status code).
answers_http() {
  "$PY" - "$1" <<'PY' 2>/dev/null
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1] + "/", timeout=1)
except urllib.error.HTTPError:
    pass  # an HTTP error status is still an answer
except Exception:
    sys.exit(1)
PY
}

# Prints $1 distinct free 127.0.0.1 ports, one a line (all bound at once, so none repeats).
free_ports() {
  "$PY" - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
for s in socks:
    s.close()
PY
}

# PIDs started by this `start` and their pidfiles: stopped again if it fails half-way.
STARTED=()
STARTED_PIDFILES=()

abort_start() {
  local pid
  for pid in "${STARTED[@]}"; do
    stop_pid "$pid"
  done
  rm -f "${STARTED_PIDFILES[@]}"
}

# Stops PID $1: SIGTERM, then SIGKILL if it is still there after 10 s.
stop_pid() {
  local pid="$1"
  kill "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 10))
  while kill -0 "$pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
}

# Waits until the server $1 (pid $2, log $4) answers HTTP on $3, for at most 30 s.
await_http() {
  local name="$1" pid="$2" endpoint="$3" log="$4"
  local deadline=$((SECONDS + 30))
  until answers_http "$endpoint"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      die "$name exited during startup; log: $log"
    fi
    if (( SECONDS >= deadline )); then
      die "$name did not answer on $endpoint within 30 s; log: $log"
    fi
    sleep 0.2
  done
  echo "services.sh: $name pid $pid on $endpoint" >&2
}

start_moto() {
  [[ -x "$VENV/bin/moto_server" ]] || die "moto_server missing: run '$0 setup' first"
  if [[ -n "$(moto_pid)" ]]; then
    echo "services.sh: moto already running (pid $(moto_pid))" >&2
    return 0
  fi
  local port
  port="$(free_ports 1)"
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$LOGFILE" 2>&1 </dev/null &
  local pid=$!
  STARTED+=("$pid")
  STARTED_PIDFILES+=("$PIDFILE")
  echo "$pid" > "$PIDFILE"
  local endpoint="http://127.0.0.1:$port"
  echo "$endpoint" > "$ENDPOINTFILE"
  await_http moto_server "$pid" "$endpoint" "$LOGFILE"
}

start_kinesis() {
  kinesis_bound_to_loopback || die "kinesis-local missing (or not bound to 127.0.0.1): run '$0 setup' first"
  command -v node >/dev/null || die "no node on PATH"
  if [[ -n "$(kinesis_pid)" ]]; then
    echo "services.sh: kinesis-local already running (pid $(kinesis_pid))" >&2
    return 0
  fi
  local ports plain tls
  ports="$(free_ports 2)"
  plain="$(sed -n 1p <<<"$ports")"
  tls="$(sed -n 2p <<<"$ports")"
  local durations=() var
  for var in "${KINESIS_DURATIONS[@]}"; do durations+=("$var=10ms"); done
  # node itself, not npx: stopping an npx PID leaves the server running. It always opens a
  # TLS port too (self-signed certificate); the tests use the plain one, enhanced fan-out
  # included (SubscribeToShard streams its events over HTTP/1.1 there). The shard limit (50 by
  # default, per server) is raised: every test makes its own stream on the one server.
  env KINESIS_MOCK_CERT_PATH="$KINESIS_DIR/server.json" \
    KINESIS_MOCK_PLAIN_PORT="$plain" \
    KINESIS_MOCK_TLS_PORT="$tls" \
    LOG_LEVEL=WARN \
    SHARD_LIMIT=100000 ON_DEMAND_STREAM_COUNT_LIMIT=10000 \
    "${durations[@]}" \
    node "$KINESIS_MAIN" >"$KINESIS_LOGFILE" 2>&1 </dev/null &
  local pid=$!
  STARTED+=("$pid")
  STARTED_PIDFILES+=("$KINESIS_PIDFILE")
  echo "$pid" > "$KINESIS_PIDFILE"
  local endpoint="http://127.0.0.1:$plain"
  echo "$endpoint" > "$KINESIS_ENDPOINTFILE"
  await_http kinesis-local "$pid" "$endpoint" "$KINESIS_LOGFILE"
}

cmd_start() {
  mkdir -p "$TOOLS"
  trap abort_start EXIT
  start_moto
  start_kinesis
  trap - EXIT
  print_env
}

# Stops the process pidfile $1 records if it is still the server (pattern $2).
stop_server() {
  local pid
  pid="$(live_pid "$1" "$2")"
  [[ -z "$pid" ]] || stop_pid "$pid"
  rm -f "$1"
}

cmd_stop() {
  stop_server "$PIDFILE" moto_server
  stop_server "$KINESIS_PIDFILE" kinesis-local/main.js
}

cmd_env() {
  [[ -n "$(moto_pid)" && -f "$ENDPOINTFILE" ]] || die "moto is not running: run '$0 start'"
  [[ -n "$(kinesis_pid)" && -f "$KINESIS_ENDPOINTFILE" ]] || die "kinesis-local is not running: run '$0 start'"
  print_env
}

case "${1:-}" in
  setup) cmd_setup ;;
  # The Python tools only (cargo-lambda, for scripts/package-lambda.sh): no node needed.
  setup-python) mkdir -p "$TOOLS"; setup_venv ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  env) cmd_env ;;
  *) echo "usage: $0 {setup|setup-python|start|stop|env}" >&2; exit 2 ;;
esac
