#!/usr/bin/env bash
# Benchmark: `synclake consume` from a multi-shard local Kinesis stream, against `synclake
# replay` of the same payloads in the same run, and the latency from put to visible in the table.
#
#   scripts/bench-consume.sh [PAYLOADS]     (default 200000, about 235 MB of payloads)
#
# The default takes about 40 minutes on a 2-core machine: 14 putting the payloads into
# kinesis-local, 7 per round (consume 4, the floor 3: kinesis-local serves the reads at about
# 1.4 MB/s), 2 of latency.
#
# Environment:
#   BENCH_DIR        work dir (default /tmp/synclake-bench-consume): the input is kept there
#                    (regenerated only when its stamp says it was made for another PAYLOADS);
#                    each run's lakes, state and logs go to a run.* directory, removed at the end
#                    (kept, and named, when the run fails)
#   SYNCLAKE_TOOLS   tools dir of scripts/services.sh (default <repo>/.tools): the script runs
#                    `setup` there, starts its own moto and kinesis-local, and stops them on exit;
#                    it refuses a tools dir whose servers are already running (someone else's)
#   SYNCLAKE_BIN     use this synclake binary instead of building one
#   FLOOR_BIN        use this read_floor binary (crates/bench/src/bin/read_floor.rs) instead
#                    of the one beside SYNCLAKE_BIN (read_floor) or building one
#   LOAD_BIN         use this stream_load binary (crates/bench/src/bin/stream_load.rs: creates
#                    the streams, puts the payloads) instead of the one beside SYNCLAKE_BIN or
#                    building one
#   ROUNDS           rounds of (consume, replay, floor), interleaved (default 3): figures are medians
#   SHARDS           shards of the stream (default 4)
#   FLUSH_AGE        --flush-age-secs of the throughput runs (default 60, the daemon's; the
#                    other flush flags are the daemon's defaults too): the files a flush
#                    writes (one per shard and partition) are a good part of the cost
#   PUT_THREADS      PutRecord calls in flight putting the payloads (default 8)
#   SCRAPE_SECS      seconds between two scrapes of the daemon's metrics (default 0.5): each
#                    scrape is an HTTP request the daemon serves, and counts in its CPU time
#   LATENCY_FLUSH_AGE  --flush-age-secs of the latency run (default 5; target p99 ≤ it + 2 s)
#   LATENCY_RATE     payloads put per second in the latency run (default 20)
#   LATENCY_SECS     seconds of putting in the latency run (default 60)
#
# Throughput: all PAYLOADS are put first; that takes long (kinesis-local is single-threaded
# and its PutRecords slows down with every record already in the shard, so the payloads go in
# as PutRecord calls, PUT_THREADS at a time: see crates/bench/src/bin/stream_load.rs), and is the
# server's cost, timed and printed but not counted. Then each round starts the daemon from the
# trim horizon with a fresh state and table and stops it (SIGTERM) once its checkpoints cover
# every record; its CPU time (user + sys, from wait4) per GB of payload, against the same for
# `replay` of the same JSON Lines (from /usr/bin/time -v), is the cost of the Kinesis part.
# Each round also runs the floor (crates/bench/src/bin/read_floor.rs): the consumer's own
# polling reader and SDK client reading every record and dropping it. Its CPU per GB is what
# reading through aws-sdk-kinesis costs before anything is decoded or written, so
# (floor + replay) / replay is the least consume / replay can be.
# Wall times are bounded by the server: the poller keeps each shard within Kinesis' read limit
# (2 MiB/s), and kinesis-local serves GetRecords slower than that (about 0.7 ms of its CPU per
# record); its CPU per round is printed too. "All read" is when the daemon had read every
# record, "all committed" when its checkpoints covered them (after the flush age).
#
# Latency: a second stream and a daemon on it with LATENCY_FLUSH_AGE; LATENCY_RATE PutRecord
# calls a second, one payload each (stream_load pace); the table is scanned every 100 ms for new Parquet files,
# whose (source, sequence_number) say which puts became visible. Put → visible runs from the
# moment the PutRecord call was sent to the scan that found the row.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${1:-200000}"
[[ "$N" =~ ^[0-9]+$ && "$N" -gt 0 ]] || { echo "usage: $0 [PAYLOADS]" >&2; exit 2; }
DIR="${BENCH_DIR:-/tmp/synclake-bench-consume}"
TOOLS="${SYNCLAKE_TOOLS:-$REPO/.tools}"
ROUNDS="${ROUNDS:-3}"
SHARDS="${SHARDS:-4}"
FLUSH_AGE="${FLUSH_AGE:-60}"
PUT_THREADS="${PUT_THREADS:-8}"
LATENCY_FLUSH_AGE="${LATENCY_FLUSH_AGE:-5}"
LATENCY_RATE="${LATENCY_RATE:-20}"
LATENCY_SECS="${LATENCY_SECS:-60}"
SCRAPE_SECS="${SCRAPE_SECS:-0.5}"
SEED=7
TIME=/usr/bin/time
HELPER="$REPO/scripts/bench_consume.py"
SERVICES="$REPO/scripts/services.sh"

die() { echo "bench-consume.sh: $*" >&2; exit 1; }
say() { echo "bench-consume.sh: $*" >&2; }
[[ -x "$TIME" ]] || die "$TIME missing (apt-get install time)"

export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export SYNCLAKE_TOOLS="$TOOLS"

RELEASE="${CARGO_TARGET_DIR:-$REPO/target}/release"
if [[ -n "${SYNCLAKE_BIN:-}" ]]; then
  BIN="$SYNCLAKE_BIN"
else
  # one build of all three, so that they share one set of dependency features
  (cd "$REPO" && cargo build --release --workspace --bin synclake --bin read_floor --bin stream_load)
  BIN="$RELEASE/synclake"
fi
FLOOR="${FLOOR_BIN:-$(dirname "$BIN")/read_floor}"
if [[ ! -x "$FLOOR" ]]; then
  (cd "$REPO" && cargo build --release --workspace --bin read_floor)
  FLOOR="$RELEASE/read_floor"
fi
LOAD="${LOAD_BIN:-$(dirname "$BIN")/stream_load}"
if [[ ! -x "$LOAD" ]]; then
  (cd "$REPO" && cargo build --release --workspace --bin stream_load)
  LOAD="$RELEASE/stream_load"
fi

mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
INPUT="$DIR/input.jsonl"
STAMP="$DIR/input.stamp"
WANT="payloads=$N seed=$SEED"
if [[ -f "$INPUT" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
  say "reusing $INPUT ($WANT)"
else
  say "generating $N payloads into $INPUT"
  rm -f "$STAMP"
  rm -rf "$DIR/s3"
  "$BIN" gen --payloads "$N" --seed "$SEED" --s3url-dir "$DIR/s3" > "$INPUT"
  echo "$WANT" > "$STAMP"
fi
INPUT_BYTES="$(stat -c %s "$INPUT")"
LINES="$(wc -l < "$INPUT")"
PAYLOAD_BYTES=$((INPUT_BYTES - LINES)) # JSON Lines minus the newlines: the Kinesis record data

# --- services ---------------------------------------------------------------------------------
"$SERVICES" setup
PY="$TOOLS/venv/bin/python"
if "$SERVICES" env >/dev/null 2>&1; then
  die "servers already running in $TOOLS (someone else's?): use another SYNCLAKE_TOOLS"
fi
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
ENDPOINT="$SYNCLAKE_TEST_KINESIS_ENDPOINT"
KINESIS_PID="$(cat "$TOOLS/kinesis.pid")"

# key=value output of the helper or stream_load -> value of key $1 in file $2
val() { awk -F= -v k="$1" '$1 == k { sub(/^[^=]*=/, ""); print; exit }' "$2"; }
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
rss_mb() { awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# --- the stream -------------------------------------------------------------------------------
STREAM=bench-consume
"$LOAD" create "$ENDPOINT" "$STREAM" "$SHARDS" > "$WORK/create.out"
say "putting $N payloads into $STREAM ($SHARDS shards) on $ENDPOINT"
"$LOAD" put "$ENDPOINT" "$STREAM" "$INPUT" --threads "$PUT_THREADS" > "$WORK/put.out"
PUT_SECS="$(val put_secs "$WORK/put.out")"
PUT_RECORDS="$(val put_records "$WORK/put.out")"
[[ "$PUT_RECORDS" == "$N" ]] || die "put $PUT_RECORDS records, not $N (skipped: $(val put_skipped "$WORK/put.out"))"
KINESIS_RSS_PUT="$(rss_mb "$KINESIS_PID")"
say "put $PUT_RECORDS records in $PUT_SECS s (per shard $(val put_per_shard "$WORK/put.out")); kinesis-local RSS $KINESIS_RSS_PUT MB"

# --- rounds -----------------------------------------------------------------------------------
# consume has no --allow-file-urls (records come from whoever can write to the stream): the
# generator's few S3Url payloads, whose bodies are file:// URLs, become dead letters there while
# replay reads them, so consume's rows fall short of replay's by their records.
run_consume() { # round -> helper output file
  local out="$WORK/consume.$1.out" port
  rm -rf "$WORK/lake-consume" "$WORK/state-consume"
  port="$(free_port)"
  say "round $1: synclake consume"
  "$PY" "$HELPER" consume --expect "$N" --scrape-secs "$SCRAPE_SECS" --metrics "http://127.0.0.1:$port/metrics" \
    --log "$WORK/consume.$1.log" --rss-pid "$KINESIS_PID" -- \
    "$BIN" consume --stream "$STREAM" --endpoint-url "$ENDPOINT" \
    --out "$WORK/lake-consume" --state "$WORK/state-consume" \
    --flush-age-secs "$FLUSH_AGE" --metrics-addr "127.0.0.1:$port" --report-secs 10 > "$out"
  echo "$out"
}

run_replay() { # round -> "wall cpu rss_kb"
  rm -rf "$WORK/lake-replay"
  say "round $1: synclake replay"
  "$TIME" -v -o "$WORK/replay.$1.time" \
    "$BIN" replay "$INPUT" --out "$WORK/lake-replay" --allow-file-urls --no-progress >&2
  awk -F': ' '
    /Elapsed \(wall clock\) time/ {
      n = split($2, p, ":"); s = 0
      for (i = 1; i <= n; i++) s = s * 60 + p[i]
      wall = s
    }
    /User time \(seconds\)/ { user = $2 }
    /System time \(seconds\)/ { sys = $2 }
    /Maximum resident set size/ { rss = $2 }
    END { printf "%.2f %.2f %d\n", wall, user + sys, rss }
  ' "$WORK/replay.$1.time"
}

run_floor() { # round -> "wall cpu"
  say "round $1: read floor (records read and dropped)"
  "$TIME" -f "%e %U %S" -o "$WORK/floor.$1.time" "$FLOOR" "$ENDPOINT" "$STREAM" "$N" > "$WORK/floor.$1.out"
  [[ "$(val bytes "$WORK/floor.$1.out")" == "$PAYLOAD_BYTES" ]] \
    || say "note: the floor read $(val bytes "$WORK/floor.$1.out") payload bytes, the input has $PAYLOAD_BYTES"
  awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$WORK/floor.$1.time"
}

per_gb() { awk -v c="$1" -v b="$PAYLOAD_BYTES" 'BEGIN { printf "%.2f", c / (b / 1e9) }'; }

F_CPU=(); F_CPUGB=(); F_RATIOS=(); K_CPU=(); C_READ=(); C_COMMIT=(); C_CPU=(); C_CPUGB=(); R_WALL=(); R_CPU=(); R_CPUGB=(); RATIOS=()
C_RSS=0; R_RSS=0; KINESIS_RSS_PEAK=0
for ((round = 1; round <= ROUNDS; round++)); do
  out="$(run_consume "$round")"
  cpu="$(awk -v u="$(val cpu_user "$out")" -v s="$(val cpu_sys "$out")" 'BEGIN { printf "%.2f", u + s }')"
  C_READ+=("$(val wall_read "$out")"); C_COMMIT+=("$(val wall_commit "$out")")
  C_CPU+=("$cpu"); C_CPUGB+=("$(per_gb "$cpu")")
  rss="$(val maxrss_kb "$out")"; (( rss > C_RSS )) && C_RSS=$rss
  krss="$(val kinesis_rss_kb "$out")"; (( krss > KINESIS_RSS_PEAK )) && KINESIS_RSS_PEAK=$krss
  K_CPU+=("$(val kinesis_cpu "$out")")
  [[ "$(val bytes "$out")" == "$PAYLOAD_BYTES" ]] \
    || say "note: consume read $(val bytes "$out") payload bytes, the input has $PAYLOAD_BYTES"
  say "round $round: consume all read ${C_READ[-1]} s, all committed ${C_COMMIT[-1]} s, cpu $cpu s, rows $(val rows "$out"), files $(val files "$out"), dead letters $(val dead_letters "$out")"

  read -r w c rss < <(run_replay "$round")
  R_WALL+=("$w"); R_CPU+=("$c"); R_CPUGB+=("$(per_gb "$c")")
  (( rss > R_RSS )) && R_RSS=$rss
  RATIOS+=("$(awk -v a="${C_CPUGB[-1]}" -v b="${R_CPUGB[-1]}" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')")
  say "round $round: replay wall $w s, cpu $c s; consume/replay cpu per GB ${RATIOS[-1]}"

  read -r w c < <(run_floor "$round")
  F_CPU+=("$c"); F_CPUGB+=("$(per_gb "$c")")
  F_RATIOS+=("$(awk -v f="${F_CPUGB[-1]}" -v r="${R_CPUGB[-1]}" 'BEGIN { printf "%.2f", (r > 0) ? (f + r) / r : 0 }')")
  say "round $round: floor wall $w s, cpu $c s; (floor + replay) / replay ${F_RATIOS[-1]}"
done
LAST="$WORK/consume.$ROUNDS.out"
CONSUME_ROWS="$(val rows "$LAST")"; CONSUME_FILES="$(val files "$LAST")"
REPLAY_FILES="$(find "$WORK/lake-replay" -name '*.parquet' -not -path '*/_*' -not -name '.*' | wc -l)"
REPLAY_ROWS="$("$PY" - "$WORK/lake-replay" <<'PY'
import os, sys
import pyarrow.parquet as pq
root, rows = sys.argv[1], 0
for d, dirs, files in os.walk(root):
    dirs[:] = [x for x in dirs if not x.startswith((".", "_"))]
    rows += sum(pq.ParquetFile(os.path.join(d, f)).metadata.num_rows
                for f in files if f.endswith(".parquet") and not f.startswith((".", "_")))
print(rows)
PY
)"

# --- latency ----------------------------------------------------------------------------------
LSTREAM=bench-consume-latency
"$LOAD" create "$ENDPOINT" "$LSTREAM" "$SHARDS" > "$WORK/create-latency.out"
port="$(free_port)"
"$PY" "$HELPER" latency --load "$LOAD" --endpoint "$ENDPOINT" --stream "$LSTREAM" --shards "$SHARDS" \
  --input "$INPUT" --table "$WORK/lake-latency" --metrics "http://127.0.0.1:$port/metrics" \
  --log "$WORK/latency.log" --rate "$LATENCY_RATE" --secs "$LATENCY_SECS" \
  --flush-age "$LATENCY_FLUSH_AGE" -- \
  "$BIN" consume --stream "$LSTREAM" --endpoint-url "$ENDPOINT" \
  --out "$WORK/lake-latency" --state "$WORK/state-latency" \
  --flush-age-secs "$LATENCY_FLUSH_AGE" --metrics-addr "127.0.0.1:$port" > "$WORK/latency.out"
L="$WORK/latency.out"
[[ "$(val missing "$L")" == 0 ]] || say "warning: $(val missing "$L") marker payloads never became visible"

# --- report -----------------------------------------------------------------------------------
C_COMMIT_MED="$(median "${C_COMMIT[@]}")"
C_READ_MED="$(median "${C_READ[@]}")"
R_WALL_MED="$(median "${R_WALL[@]}")"
LAT_TARGET="$(awk -v a="$LATENCY_FLUSH_AGE" 'BEGIN { print a + 2 }')"
rate() { awk -v n="$1" -v w="$2" 'BEGIN { printf "%.0f", n / w }'; }
mbps() { awk -v b="$PAYLOAD_BYTES" -v w="$1" 'BEGIN { printf "%.1f", b / 1e6 / w }'; }
echo
echo "=== synclake consume benchmark ($(date -u +%Y-%m-%d), $(nproc) cores, $ROUNDS rounds) ==="
echo "input: $INPUT ($WANT): $N payloads, $(awk -v b="$PAYLOAD_BYTES" 'BEGIN { printf "%.1f", b / 1e6 }') MB of payload"
echo "stream: $SHARDS shards on kinesis-local; put $N payloads in $PUT_SECS s ($(rate "$N" "$PUT_SECS") payloads/s; kinesis-local's cost, not counted); kinesis-local RSS $KINESIS_RSS_PUT MB after the put, $((KINESIS_RSS_PEAK / 1024)) MB peak"
echo "consume: --flush-age-secs $FLUSH_AGE, other flush flags default, metrics scraped every $SCRAPE_SECS s; all read after $C_READ_MED s, all committed after $C_COMMIT_MED s (medians)"
echo "  end-to-end: $(rate "$N" "$C_COMMIT_MED") payloads/s, $(mbps "$C_COMMIT_MED") MB/s (to all committed); $(rate "$N" "$C_READ_MED") payloads/s, $(mbps "$C_READ_MED") MB/s (to all read; Kinesis' read limit: $SHARDS × 2 MiB/s = $(awk -v s="$SHARDS" 'BEGIN { printf "%.1f", s * 2 * 1.048576 }') MB/s)"
echo "  rows $CONSUME_ROWS, files $CONSUME_FILES, peak RSS $((C_RSS / 1024)) MB; CPU s at all committed / at exit: $(val cpu_commit "$LAST") / ${C_CPU[-1]} (last round)"
echo "  kinesis-local CPU s per round: ${K_CPU[*]} (the server's, not counted)"
echo "replay: wall $R_WALL_MED s ($(rate "$N" "$R_WALL_MED") payloads/s, $(mbps "$R_WALL_MED") MB/s); rows $REPLAY_ROWS, files $REPLAY_FILES, peak RSS $((R_RSS / 1024)) MB"
printf "%-8s %-24s %-24s\n" "" "CPU s (per round)" "CPU s per GB of payload"
printf "%-8s %-24s %-24s\n" consume "${C_CPU[*]}" "${C_CPUGB[*]}"
printf "%-8s %-24s %-24s\n" replay "${R_CPU[*]}" "${R_CPUGB[*]}"
printf "%-8s %-24s %-24s\n" floor "${F_CPU[*]}" "${F_CPUGB[*]}"
echo "CPU per GB, median: consume $(median "${C_CPUGB[@]}"), replay $(median "${R_CPUGB[@]}"), floor $(median "${F_CPUGB[@]}")"
echo "floor: the SDK reading every record, nothing decoded or written (crates/bench/src/bin/read_floor.rs)"
echo "  (floor + replay) / replay per round: ${F_RATIOS[*]}; median $(median "${F_RATIOS[@]}"): the least consume / replay can be"
echo "consume / replay CPU per GB per round: ${RATIOS[*]}; median $(median "${RATIOS[@]}") (target ≤ 1.5)"
echo "latency: $(val markers "$L") puts at $LATENCY_RATE/s over $LATENCY_SECS s, --flush-age-secs $LATENCY_FLUSH_AGE, table scanned every 100 ms"
echo "  put → visible: p50 $(val lat_p50 "$L") s, p90 $(val lat_p90 "$L") s, p99 $(val lat_p99 "$L") s, max $(val lat_max "$L") s (target p99 ≤ $LAT_TARGET s)"
echo "  visible $(val visible "$L"), dead-lettered $(val dead_lettered "$L"), missing $(val missing "$L"); PutRecord ack p50 $(val ack_p50 "$L") ms, p99 $(val ack_p99 "$L") ms; $(val files "$L") files"
OK=1
