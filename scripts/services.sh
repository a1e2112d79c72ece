#!/usr/bin/env bash
# Local stand-ins for the AWS services the integration tests need (S3 and DynamoDB
# through moto), the Lambda runtime emulator (cargo-lambda's prebuilt wheel), plus the
# Python readers (duckdb, pyarrow) the output checks use.
#
#   scripts/services.sh setup   create $TOOLS/venv and install the pinned packages (idempotent)
#   scripts/services.sh start   start moto_server on a free 127.0.0.1 port, print export lines
#   scripts/services.sh stop    stop the server started by `start` (only that PID)
#   scripts/services.sh env     print the export lines for the running server
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

# Pinned: moto as checked in shared/spec/local-services.md, duckdb/pyarrow/cargo-lambda
# the current releases when this was written.
REQUIREMENTS=(
  "moto[server]==5.2.5"
  "duckdb==2.0.0"
  "pyarrow==26.0.1"
  "cargo-lambda==1.9.2"
)

die() { echo "services.sh: $*" >&2; exit 1; }

requirements_text() { printf '%s\n' "${REQUIREMENTS[@]}"; }

cmd_setup() {
  mkdir -p "$TOOLS"
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

# Prints the PID recorded by `start` if that process is still alive (and, where
# /proc shows it, still moto_server rather than a recycled PID), else nothing.
live_pid() {
  [[ -f "$PIDFILE" ]] || return 0
  local pid
  pid="$(cat "$PIDFILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  if [[ -r "/proc/$pid/cmdline" ]] && ! grep -qa moto_server "/proc/$pid/cmdline"; then
    return 0
  fi
  echo "$pid"
}

print_env() {
  echo "export SYNCLAKE_TEST_S3_ENDPOINT=$(cat "$ENDPOINTFILE")"
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

cmd_start() {
  [[ -x "$VENV/bin/moto_server" ]] || die "moto_server missing: run '$0 setup' first"
  if [[ -n "$(live_pid)" ]]; then
    echo "services.sh: moto already running (pid $(live_pid))" >&2
    print_env
    return 0
  fi
  local port
  port="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$LOGFILE" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" > "$PIDFILE"
  local endpoint="http://127.0.0.1:$port"
  echo "$endpoint" > "$ENDPOINTFILE"
  local deadline=$((SECONDS + 30))
  until answers_http "$endpoint"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PIDFILE"
      die "moto_server exited during startup; log: $LOGFILE"
    fi
    if (( SECONDS >= deadline )); then
      kill "$pid" 2>/dev/null || true
      rm -f "$PIDFILE"
      die "moto_server did not answer on $endpoint within 30 s; log: $LOGFILE"
    fi
    sleep 0.2
  done
  echo "services.sh: moto_server pid $pid on $endpoint" >&2
  print_env
}

cmd_stop() {
  local pid
  pid="$(live_pid)"
  if [[ -n "$pid" ]]; then
    kill "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$PIDFILE"
}

cmd_env() {
  [[ -n "$(live_pid)" && -f "$ENDPOINTFILE" ]] || die "moto is not running: run '$0 start'"
  print_env
}

case "${1:-}" in
  setup) cmd_setup ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  env) cmd_env ;;
  *) echo "usage: $0 {setup|start|stop|env}" >&2; exit 2 ;;
esac
