#!/usr/bin/env bash
# Benchmark of the stream-to-parquet Lambda: init and handler time of the release binary for a
# 100-record and a 10,000-record batch, beside a straightforward Python handler (json.loads +
# pyarrow) converting the same events.
#
#   scripts/bench-lambda.sh            (SYNCLAKE_BENCH_ROUNDS, SYNCLAKE_BENCH_WARM to change the counts)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
TOOLS="${SYNCLAKE_TOOLS:-$REPO/.tools}"
scripts/services.sh setup
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cargo build --release --quiet --bin synclake
# The floor: a function that only takes the event as aws_lambda_events' KinesisEvent.
cargo build --profile bench --quiet -p synclake-bench --bin floor_handler
# Payloads of one day of traffic (a live stream's batch spans hours, not a week).
"${CARGO_TARGET_DIR:-$REPO/target}/release/synclake" gen --payloads 25000 --days 1 --seed 7 --out "$WORK/payloads.jsonl" 2>/dev/null
SYNCLAKE_BENCH_PAYLOADS="$WORK/payloads.jsonl" SYNCLAKE_BENCH_PYTHON="$TOOLS/venv/bin/python" \
  SYNCLAKE_BENCH_FLOOR="${CARGO_TARGET_DIR:-$REPO/target}/release/floor_handler" \
  cargo bench --quiet -p synclake-lambda --bench stream_to_parquet
