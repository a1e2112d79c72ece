#!/usr/bin/env bash
# Benchmark: `synclake replay` against an equivalent DuckDB conversion, on the same
# generated Cognito Streams capture, in the same run.
#
#   scripts/bench.sh [PAYLOADS]        (default 1000000, about 1.2 GB of JSON Lines)
#
# Environment:
#   BENCH_DIR             work dir (default /tmp/synclake-bench): input, lakes, timings
#   SYNCLAKE_TEST_PYTHON  a python with duckdb (default <repo>/.tools/venv/bin/python,
#                         made by scripts/services.sh setup); without one the DuckDB half
#                         is skipped
#   SYNCLAKE_BIN          use this synclake binary instead of building one (for testing
#                         the script itself)
#   ROUNDS                rounds of (synclake, DuckDB), interleaved (default 3): these
#                         machines are shared and noisy, so the figures reported are the
#                         median wall time per tool and the median of the per-round ratios
#
# The input is regenerated only when the stamp says it was made for another PAYLOADS.
# The DuckDB side reads the same JSON Lines, writes one row per sync record (one row
# with null record fields for payloads without inline records) with the same columns,
# snappy compression and dt/hr partitions; it does not fetch S3Url bodies, which
# synclake does (--allow-file-urls), so synclake writes slightly more rows.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${1:-1000000}"
[[ "$N" =~ ^[0-9]+$ && "$N" -gt 0 ]] || { echo "usage: $0 [PAYLOADS]" >&2; exit 2; }
DIR="${BENCH_DIR:-/tmp/synclake-bench}"
PY="${SYNCLAKE_TEST_PYTHON:-$REPO/.tools/venv/bin/python}"
SEED=7
TIME=/usr/bin/time
[[ -x "$TIME" ]] || { echo "bench.sh: $TIME missing (apt-get install time)" >&2; exit 1; }

if [[ -n "${SYNCLAKE_BIN:-}" ]]; then
  BIN="$SYNCLAKE_BIN"
else
  (cd "$REPO" && cargo build --release --bin synclake)
  BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/synclake"
fi

mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
INPUT="$DIR/input.jsonl"
STAMP="$DIR/input.stamp"
WANT="payloads=$N seed=$SEED"

if [[ -f "$INPUT" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
  echo "bench.sh: reusing $INPUT ($WANT)" >&2
else
  echo "bench.sh: generating $N payloads into $INPUT" >&2
  rm -f "$STAMP"
  rm -rf "$DIR/s3"
  "$BIN" gen --payloads "$N" --seed "$SEED" --s3url-dir "$DIR/s3" > "$INPUT"
  echo "$WANT" > "$STAMP"
fi

# time -v report -> "wall_seconds peak_rss_kb"
parse_time() {
  awk -F': ' '
    /Elapsed \(wall clock\) time/ {
      n = split($2, p, ":"); s = 0
      for (i = 1; i <= n; i++) s = s * 60 + p[i]
      wall = s
    }
    /Maximum resident set size/ { rss = $2 }
    END { printf "%.2f %d\n", wall, rss }
  ' "$1"
}

have_py_module() { [[ -x "$PY" ]] && "$PY" -c "import $1" 2>/dev/null; }

# Rows in the Parquet files of a table, from the footers; skips `.`/`_` paths
# (temporary files, _dead_letters). Prints "-" when there is no pyarrow.
count_rows() {
  if ! have_py_module pyarrow; then echo "-"; return; fi
  "$PY" - "$1" <<'PY'
import os, sys
import pyarrow.parquet as pq
root, rows = sys.argv[1], 0
for d, dirs, files in os.walk(root):
    dirs[:] = [x for x in dirs if not x.startswith((".", "_"))]
    rows += sum(pq.ParquetFile(os.path.join(d, f)).metadata.num_rows
                for f in files if f.endswith(".parquet") and not f.startswith((".", "_")))
print(rows)
PY
}

# --- synclake ---------------------------------------------------------------
RUST_OUT="$DIR/lake-rust"
run_synclake() { # -> "wall rss_kb"
  rm -rf "$RUST_OUT"
  echo "bench.sh: synclake replay" >&2
  "$TIME" -v -o "$DIR/synclake.time" \
    "$BIN" replay "$INPUT" --out "$RUST_OUT" --allow-file-urls --no-progress >&2
  parse_time "$DIR/synclake.time"
}

# --- DuckDB -----------------------------------------------------------------
DUCK_OUT="$DIR/lake-duckdb"
# read_ndjson auto-detects the columns; both spellings of the dataset name come
# out as separate columns (`dataSetName`, `datasetName_1`: DuckDB identifiers are
# case-insensitive), hence the COLUMNS regex in the coalesce.
DUCK_PY="$(cat <<'PY'
import sys, duckdb
src, out = sys.argv[1], sys.argv[2]
q = lambda s: "'" + s.replace("'", "''") + "'"
duckdb.sql("SET enable_progress_bar = false")
duckdb.sql(f"""
COPY (
SELECT
  identityPoolId AS identity_pool_id,
  identityId AS identity_id,
  coalesce(*COLUMNS('^(?i)dataset_?name(_[0-9]+)?$')) AS dataset_name,
  operation AS dataset_operation,
  syncCount AS dataset_sync_count,
  epoch_ms(lastModifiedDate) AS dataset_last_modified,
  payloadType AS payload_type,
  r."key" AS "key",
  r."value" AS "value",
  r.op AS op,
  r.syncCount AS sync_count,
  epoch_ms(r.lastModifiedDate) AS last_modified,
  epoch_ms(r.deviceLastModifiedDate) AS device_last_modified,
  strftime(epoch_ms(lastModifiedDate), '%Y-%m-%d') AS dt,
  strftime(epoch_ms(lastModifiedDate), '%H') AS hr
FROM (
  SELECT *, unnest(CASE WHEN len(coalesce(kinesisSyncRecords, [])) = 0
                        THEN [NULL] ELSE kinesisSyncRecords END) AS r
  FROM read_ndjson({q(src)})
)
) TO {q(out)} (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (dt, hr), OVERWRITE_OR_IGNORE)
""")
PY
)"
run_duckdb() { # -> "wall rss_kb"
  rm -rf "$DUCK_OUT"
  echo "bench.sh: duckdb COPY" >&2
  "$TIME" -v -o "$DIR/duckdb.time" "$PY" -c "$DUCK_PY" "$INPUT" "$DUCK_OUT" >&2
  parse_time "$DIR/duckdb.time"
}

# --- rounds -------------------------------------------------------------------
ROUNDS="${ROUNDS:-3}"
HAVE_DUCK=""
if have_py_module duckdb; then
  HAVE_DUCK=1
  echo "bench.sh: duckdb $("$PY" -c 'import duckdb; print(duckdb.__version__)'), $ROUNDS rounds" >&2
else
  echo "bench.sh: no duckdb in $PY (run scripts/services.sh setup): DuckDB half skipped" >&2
fi
RUST_WALLS=(); DUCK_WALLS=(); RATIOS=(); RUST_RSS=0; DUCK_RSS=0
for ((round = 1; round <= ROUNDS; round++)); do
  read -r w rss < <(run_synclake)
  RUST_WALLS+=("$w"); (( rss > RUST_RSS )) && RUST_RSS=$rss
  if [[ -n "$HAVE_DUCK" ]]; then
    read -r dw drss < <(run_duckdb)
    DUCK_WALLS+=("$dw"); (( drss > DUCK_RSS )) && DUCK_RSS=$drss
    RATIOS+=("$(awk -v d="$dw" -v r="$w" 'BEGIN { printf "%.2f", (r > 0) ? d / r : 0 }')")
  fi
done
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
RUST_WALL="$(median "${RUST_WALLS[@]}")"
RUST_ROWS="$(count_rows "$RUST_OUT")"
if [[ -n "$HAVE_DUCK" ]]; then
  DUCK_WALL="$(median "${DUCK_WALLS[@]}")"
  DUCK_ROWS="$(count_rows "$DUCK_OUT")"
fi

# --- report -----------------------------------------------------------------
INPUT_BYTES="$(stat -c %s "$INPUT")"
S3_FILES="$(find "$DIR/s3" -name '*.json' 2>/dev/null | wc -l)"
row() { # name wall rss_kb rows
  awk -v name="$1" -v wall="$2" -v rss="$3" -v rows="$4" -v bytes="$INPUT_BYTES" -v n="$N" 'BEGIN {
    w = (wall > 0) ? wall : 0.01
    r = (rows == "-") ? "-" : sprintf("%.0f", rows / w)
    printf "%-9s %10.1f %10d %9.2f %12.0f %12s %8.1f %12.1f\n",
      name, bytes / 1e6, n, wall, n / w, r, bytes / 1e6 / w, rss / 1024
  }'
}
echo
echo "input: $INPUT ($WANT, $S3_FILES S3Url bodies in $DIR/s3)"
printf "%-9s %10s %10s %9s %12s %12s %8s %12s\n" \
  tool "input MB" payloads "wall s" "payloads/s" "rows/s" "MB/s" "peak RSS MB"
row synclake "$RUST_WALL" "$RUST_RSS" "$RUST_ROWS"
if [[ -n "$HAVE_DUCK" ]]; then
  row duckdb "$DUCK_WALL" "$DUCK_RSS" "$DUCK_ROWS"
  echo "rows: synclake $RUST_ROWS, duckdb $DUCK_ROWS (duckdb does not fetch S3Url bodies)"
  echo "synclake walls: ${RUST_WALLS[*]}; duckdb walls: ${DUCK_WALLS[*]}"
  echo "duckdb_wall / synclake_wall per round: ${RATIOS[*]}; median $(median "${RATIOS[@]}")"
fi
