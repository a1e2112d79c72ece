#!/usr/bin/env bash
# Benchmark of `synclake local`: UpdateRecords per second and latency (p50, p99) from 16
# concurrent aws-sdk-cognitosync clients, each its own identity, against the release binary run
# as its own process, for 10 s after 2 s of warm-up. Four runs, in this order:
#   off        streaming off, --data-dir (SQLite on disk: the durable mode)
#   embedded   streaming on, records kept in the embedded stream (outbox) in the same transaction
#   kinesis    streaming on, the publisher putting every record on kinesis-local meanwhile
#   memory     streaming off, --in-memory (what storage on disk costs)
#
#   scripts/bench-local.sh            (SYNCLAKE_BENCH_SECONDS, SYNCLAKE_BENCH_CLIENTS to change)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
SECONDS_RUN="${SYNCLAKE_BENCH_SECONDS:-10}"
CLIENTS="${SYNCLAKE_BENCH_CLIENTS:-16}"
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
cargo build --release --quiet --bin synclake
cargo build --release --quiet -p synclake-bench --bin local_load
scripts/services.sh setup
eval "$(scripts/services.sh start)"
trap 'scripts/services.sh stop' EXIT

run() {
  local name="$1"; shift
  echo "== $name" >&2
  "$TARGET/release/local_load" --synclake "$TARGET/release/synclake" --clients "$CLIENTS" \
    --seconds "$SECONDS_RUN" "$@" | sed "s/^/$name./"
}
run off
run embedded --streaming embedded
run kinesis --streaming kinesis --kinesis-endpoint "$SYNCLAKE_TEST_KINESIS_ENDPOINT"
run memory --in-memory
