#!/usr/bin/env bash
# Benchmark: several `synclake consume` workers sharing one Kinesis stream through a DynamoDB
# lease table (--lease-table): how long fair shares, fail-over, rebalancing and graceful
# hand-off take, and what the lease table costs in DynamoDB requests in the steady state.
#
#   scripts/bench-fleet.sh
#
# One round takes about 3 minutes on a 2-core machine (2 of them the steady state), plus the
# set-up of the local services and, without SYNCLAKE_BIN, the release build.
#
# Environment:
#   BENCH_DIR        work dir (default /tmp/synclake-bench-fleet): each run's payloads, lakes,
#                    states, logs and results go to a run.* directory, removed at the end (kept,
#                    and named, when the run fails)
#   SYNCLAKE_TOOLS   tools dir of scripts/services.sh (default <repo>/.tools): the script runs
#                    `setup` there, starts its own moto and kinesis-local, and stops them on exit;
#                    it refuses a tools dir whose servers are already running (someone else's)
#   SYNCLAKE_BIN     use this synclake binary instead of building one (cargo build --release)
#   ROUNDS           rounds (default 1); with more, figures are medians
#   SHARDS           shards of the stream (default 6: two for each of three workers)
#   RATE             PutRecord calls a second, all along each round (default 20)
#   LEASE_SECS       --lease-duration-secs of the workers (default: unset, the daemon's 10 s)
#   STEADY_SECS      seconds of the steady state whose DynamoDB requests are counted (default 120)
#   CALL_PROXY       1 (default): each worker reaches moto through a counting proxy of the
#                    driver, which sorts its requests by kind (heartbeat, scan, save, ...);
#                    0: workers talk to moto directly, only their own counter is read
#
# Method (scripts/bench_fleet.py, one round): a stream of SHARDS shards on kinesis-local and a
# steady load of RATE payloads a second from `synclake gen` (Inline ones, random partition
# keys) from the start of the round to its end. Workers run with the daemon's default flags but
# for the lease table on moto (DynamoDB at the S3 endpoint), their worker ids, metrics
# addresses and states, and LEASE_SECS if set; they share one local lake. While something is
# awaited, the lease table is scanned (consistent reads) every 100 ms; times run from the
# signal or the process start to the first scan that shows the result. Steps 3 to 5 each begin
# after a random pause of up to half a lease duration: the steps before end on a worker's scan
# and last whole scan periods, so without it each event would come at the same phase of the
# workers' scan and heartbeat timers (and, for example, the graceful hand-off would always
# wait a whole scan period). With ROUNDS > 1 the medians average over the phase.
#   1. w1, w2, w3 started together: time to fair shares (each owns SHARDS / 3 shards), in the
#      table and then "adopted": each worker's synclake_consume_leases_owned agrees (a lease
#      handed over names its new owner before that worker's next scan takes it up).
#   2. Steady state, after one more lease duration to settle: synclake_consume_lease_table_calls_total
#      of each worker scraped at the start and the end of STEADY_SECS: DynamoDB calls per shard
#      per minute (and per worker; by kind through the proxy).
#   3. Fail-over: SIGKILL w2; time until each of its shards has another owner (w1 or w3). By
#      design from 3/4 of a lease duration (others wait until they have seen the counter stand
#      still for a whole duration, counting from the scan that saw the last heartbeat, which
#      can come up to a quarter duration before the kill) to about twice it (scans every half).
#   4. Rebalance: 3 shards each on w1 and w3; start w4; time until the shares are 2/2/2 (and
#      adopted), from w4's start and from its "consuming" log line (hand-offs: the busiest
#      worker is asked, flushes, checkpoints and hands over, one lease at a time).
#   5. Graceful: SIGTERM w1; time until its shards are owned by w3 and w4 (w1 flushes,
#      checkpoints and releases; the others take the leases at their next scan).
#   6. The load stops; once w3 and w4 caught up, SIGTERM. Every exit code after SIGTERM must be
#      0, every lease released, and every acknowledged put in the table exactly once.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ $# -eq 0 ]] || { echo "usage: $0 (settings through the environment: see the header)" >&2; exit 2; }
DIR="${BENCH_DIR:-/tmp/synclake-bench-fleet}"
TOOLS="${SYNCLAKE_TOOLS:-$REPO/.tools}"
ROUNDS="${ROUNDS:-1}"
SHARDS="${SHARDS:-6}"
RATE="${RATE:-20}"
LEASE_SECS="${LEASE_SECS:-}"
STEADY_SECS="${STEADY_SECS:-120}"
CALL_PROXY="${CALL_PROXY:-1}"
PAYLOADS=2000
SEED=7
HELPER="$REPO/scripts/bench_fleet.py"
SERVICES="$REPO/scripts/services.sh"

die() { echo "bench-fleet.sh: $*" >&2; exit 1; }
say() { echo "bench-fleet.sh: $*" >&2; }
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS: a positive integer, not '$ROUNDS'"
[[ "$SHARDS" =~ ^[1-9][0-9]*$ ]] || die "SHARDS: a positive integer, not '$SHARDS'"

export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export SYNCLAKE_TOOLS="$TOOLS"
START=$SECONDS

if [[ -n "${SYNCLAKE_BIN:-}" ]]; then
  BIN="$SYNCLAKE_BIN"
  [[ -x "$BIN" ]] || die "SYNCLAKE_BIN=$BIN is not executable"
else
  (cd "$REPO" && cargo build --release --bin synclake)
  BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/synclake"
fi

# --- services ---------------------------------------------------------------------------------
"$SERVICES" setup
PY="$TOOLS/venv/bin/python"
if "$SERVICES" env >/dev/null 2>&1; then
  die "servers already running in $TOOLS (someone else's?): use another SYNCLAKE_TOOLS"
fi
mkdir -p "$DIR"
WORK="$(mktemp -d "$DIR/run.XXXXXX")"
OK=""
cleanup() {
  "$SERVICES" stop || true
  if [[ -n "$OK" ]]; then
    rm -rf "$WORK"
  else
    say "failed; logs and lakes kept in $WORK"
  fi
}
trap cleanup EXIT
eval "$("$SERVICES" start)"

# Inline payloads only: S3Url ones would send the workers fetching from unreachable hosts.
"$BIN" gen --payloads "$PAYLOADS" --seed "$SEED" 2>/dev/null | grep -F '"payloadType":"Inline"' > "$WORK/payloads.jsonl" || true
[[ -s "$WORK/payloads.jsonl" ]] || die "synclake gen wrote no Inline payloads"

# --- rounds -----------------------------------------------------------------------------------
ARGS=(--bin "$BIN" --kinesis "$SYNCLAKE_TEST_KINESIS_ENDPOINT" --dynamodb "$SYNCLAKE_TEST_S3_ENDPOINT"
  --payloads "$WORK/payloads.jsonl" --shards "$SHARDS" --rate "$RATE" --steady-secs "$STEADY_SECS")
[[ -z "$LEASE_SECS" ]] || ARGS+=(--lease-secs "$LEASE_SECS")
[[ "$CALL_PROXY" == 1 ]] || ARGS+=(--no-proxy)
RESULTS=()
for ((round = 1; round <= ROUNDS; round++)); do
  say "round $round of $ROUNDS"
  mkdir -p "$WORK/round.$round"
  "$PY" "$HELPER" round "${ARGS[@]}" --name "bench-fleet-$round" --work "$WORK/round.$round" \
    --result "$WORK/round.$round.json"
  RESULTS+=("$WORK/round.$round.json")
done

# --- report -----------------------------------------------------------------------------------
"$PY" "$HELPER" report "${RESULTS[@]}"
say "took $((SECONDS - START)) s"
OK=1
