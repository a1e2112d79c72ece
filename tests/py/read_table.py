#!/usr/bin/env python3
"""Read a Hive-partitioned Parquet table two independent ways and report what each sees.

Usage: read_table.py <table_dir> <comma-separated partition columns>

Prints one JSON object:
  {"duckdb":  {"rows": N, "per_partition": {"dt=2024-03-01/hr=05": n, ...}, "columns": [...]},
   "pyarrow": {same},
   "sample":  [up to 50 rows from DuckDB ordered by (source, sequence_number, sub_index)]}

Both readers must skip what is not table data: `<dir>/_dead_letters/...` and hidden
(`.`-prefixed) temporary files and folders. Partition values are kept as (decoded)
strings, so `identity_pool_id=us-east-1%3Aabc` is reported as `identity_pool_id=us-east-1:abc`.
"""

import base64
import datetime
import decimal
import glob
import json
import os
import sys

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

SAMPLE_COLUMNS = [
    "identity_pool_id",
    "identity_id",
    "dataset_name",
    "key",
    "value",
    "op",
    "sync_count",
    "source",
    "sequence_number",
    "sub_index",
]
SAMPLE_ORDER = ["source", "sequence_number", "sub_index"]
SAMPLE_LIMIT = 50
# How Hive-style writers spell a null partition value.
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"


def jsonable(v):
    """A JSON-safe rendering of one value from either reader (None stays null)."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if v == v and v not in (float("inf"), float("-inf")) else str(v)
    if isinstance(v, (datetime.datetime, datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, datetime.timedelta):
        return v.total_seconds()
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        b = bytes(v)
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(b).decode("ascii")}
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return str(v)


def partition_key(cols, values):
    return "/".join(f"{c}={HIVE_NULL if v is None else v}" for c, v in zip(cols, values))


def sql_string(s):
    return "'" + s.replace("'", "''") + "'"


def quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def data_glob(table_dir, cols):
    """One `*=*` level per partition column, then the data files.

    `_dead_letters` (no `=`) never matches a partition level. DuckDB's `*`, unlike a
    shell's, also matches names starting with `.`, so every level excludes a leading
    `.` or `_` with `[!._]` (which DuckDB and Python's glob both understand): hidden
    temporary files and folders are skipped as pyarrow skips them.
    """
    return os.path.join(table_dir, *(["[!._]*=*"] * len(cols)), "[!._]*.parquet")


def has_data_files(pattern):
    # Python's glob skips dot-files for `*`, as the readers should.
    return bool(glob.glob(pattern))


def read_duckdb(table_dir, cols):
    pattern = data_glob(table_dir, cols)
    empty = {"rows": 0, "per_partition": {}, "columns": []}
    if not has_data_files(pattern):
        return empty, []
    con = duckdb.connect()

    def source(extra=""):
        return (
            f"read_parquet({sql_string(pattern)}, hive_partitioning=true, "
            f"hive_types_autocast=false{extra})"
        )

    con.execute(f"CREATE TEMP VIEW t AS SELECT * FROM {source()}")
    # Check the files DuckDB actually read, so a glob that picks up a hidden or
    # dead-letter file fails loudly instead of adding rows.
    for (f,) in con.execute(f"SELECT DISTINCT filename FROM {source(', filename=true')}").fetchall():
        rel = os.path.relpath(f, table_dir)
        if any(p.startswith((".", "_")) for p in rel.split(os.sep)):
            raise SystemExit(f"duckdb read a file it should have skipped: {f}")
    columns = [r[0] for r in con.execute("DESCRIBE t").fetchall()]
    rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
    per_partition = {}
    if cols:
        sel = ", ".join(f"CAST({quote_ident(c)} AS VARCHAR)" for c in cols)
        for r in con.execute(f"SELECT {sel}, count(*) FROM t GROUP BY ALL").fetchall():
            per_partition[partition_key(cols, r[:-1])] = r[-1]
    else:
        per_partition[""] = rows
    present = [c for c in SAMPLE_COLUMNS if c in columns]
    order = [c for c in SAMPLE_ORDER if c in columns]
    query = f"SELECT {', '.join(quote_ident(c) for c in present)} FROM t"
    if order:
        query += " ORDER BY " + ", ".join(quote_ident(c) for c in order)
    query += f" LIMIT {SAMPLE_LIMIT}"
    cur = con.execute(query)
    names = [d[0] for d in cur.description]
    sample = [{n: jsonable(v) for n, v in zip(names, r)} for r in cur.fetchall()]
    con.close()
    return {"rows": rows, "per_partition": dict(sorted(per_partition.items())), "columns": columns}, sample


def read_pyarrow(table_dir, cols):
    partitioning = ds.partitioning(pa.schema([(c, pa.string()) for c in cols]), flavor="hive") if cols else None
    # ignore_prefixes defaults to [".", "_"]: spelled out because the check depends on it.
    dataset = ds.dataset(table_dir, format="parquet", partitioning=partitioning, ignore_prefixes=[".", "_"])
    for f in dataset.files:
        rel = os.path.relpath(f, table_dir)
        if any(p.startswith((".", "_")) for p in rel.split(os.sep)):
            raise SystemExit(f"pyarrow read a file it should have skipped: {f}")
    if not dataset.files:
        return {"rows": 0, "per_partition": {}, "columns": []}
    columns = list(dataset.schema.names)
    table = dataset.to_table(columns=cols) if cols else None
    if cols:
        counts = table.group_by(cols).aggregate([([], "count_all")]).to_pylist()
        per_partition = {partition_key(cols, [r[c] for c in cols]): r["count_all"] for r in counts}
        rows = table.num_rows
    else:
        rows = dataset.count_rows()
        per_partition = {"": rows}
    return {"rows": rows, "per_partition": dict(sorted(per_partition.items())), "columns": columns}


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    table_dir = os.path.abspath(argv[1])
    cols = [c.strip() for c in argv[2].split(",") if c.strip()]
    if not os.path.isdir(table_dir):
        print(f"not a directory: {table_dir}", file=sys.stderr)
        return 2
    duck, sample = read_duckdb(table_dir, cols)
    arrow = read_pyarrow(table_dir, cols)
    json.dump({"duckdb": duck, "pyarrow": arrow, "sample": sample}, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
