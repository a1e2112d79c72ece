"""The baseline of the stream-to-parquet benchmark: a straightforward Python Lambda handler
doing the same work (json.loads + pyarrow): decode every Kinesis record, one row per Cognito
Sync record, Hive-partitioned by dt/hr of the dataset's lastModifiedDate, Parquet with snappy.

Usage: python_handler.py EVENT_JSON OUT_DIR ITERATIONS
Prints {"import_ms": …, "handler_ms": [...], "rows": …} on stdout.
"""

import base64
import json
import os
import sys
import time
from collections import defaultdict
from datetime import datetime, timezone

t0 = time.perf_counter()
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

IMPORT_MS = (time.perf_counter() - t0) * 1000

TS = pa.timestamp("ms", tz="UTC")
SCHEMA = pa.schema(
    [
        ("identity_pool_id", pa.string()),
        ("identity_id", pa.string()),
        ("dataset_name", pa.string()),
        ("dataset_operation", pa.string()),
        ("dataset_sync_count", pa.int64()),
        ("dataset_last_modified", TS),
        ("payload_type", pa.string()),
        ("key", pa.string()),
        ("value", pa.string()),
        ("op", pa.string()),
        ("sync_count", pa.int64()),
        ("last_modified", TS),
        ("device_last_modified", TS),
        ("source", pa.string()),
        ("sequence_number", pa.string()),
        ("sub_index", pa.int32()),
        ("arrival_time", TS),
    ]
)


def handler(event, out_dir):
    parts = defaultdict(lambda: defaultdict(list))
    rows = 0
    for rec in event["Records"]:
        k = rec["kinesis"]
        p = json.loads(base64.b64decode(k["data"]))
        lm = p.get("lastModifiedDate")
        if lm is None:
            part = "dt=__HIVE_DEFAULT_PARTITION__/hr=__HIVE_DEFAULT_PARTITION__"
        else:
            t = datetime.fromtimestamp(lm / 1000, tz=timezone.utc)
            part = f"dt={t:%Y-%m-%d}/hr={t:%H}"
        cols = parts[part]
        records = p.get("kinesisSyncRecords") or [None]
        shard = rec["eventID"].split(":")[0]
        arrival = int(round(k["approximateArrivalTimestamp"] * 1000))
        for i, r in enumerate(records):
            r = r or {}
            cols["identity_pool_id"].append(p["identityPoolId"])
            cols["identity_id"].append(p["identityId"])
            cols["dataset_name"].append(p.get("datasetName", p.get("dataSetName")))
            cols["dataset_operation"].append(p.get("operation"))
            cols["dataset_sync_count"].append(p.get("syncCount"))
            cols["dataset_last_modified"].append(lm)
            cols["payload_type"].append(p.get("payloadType", "Inline"))
            cols["key"].append(r.get("key"))
            cols["value"].append(r.get("value"))
            cols["op"].append(r.get("op"))
            cols["sync_count"].append(r.get("syncCount"))
            cols["last_modified"].append(r.get("lastModifiedDate"))
            cols["device_last_modified"].append(r.get("deviceLastModifiedDate"))
            cols["source"].append(shard)
            cols["sequence_number"].append(k["sequenceNumber"])
            cols["sub_index"].append(i if r else None)
            cols["arrival_time"].append(arrival)
            rows += 1
    first = event["Records"][0]["kinesis"]["sequenceNumber"]
    for part, cols in parts.items():
        table = pa.table({f.name: cols[f.name] for f in SCHEMA}, schema=SCHEMA)
        d = os.path.join(out_dir, part)
        os.makedirs(d, exist_ok=True)
        pq.write_table(table, os.path.join(d, f"part-{first}.parquet"), compression="snappy")
    return rows


def main():
    event_path, out_dir, iterations = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(event_path, "rb") as f:
        raw = f.read()
    times, rows = [], 0
    for _ in range(iterations):
        start = time.perf_counter()
        # The runtime hands the handler a parsed event: parsing is part of the handler's time,
        # as it is of the Rust function's.
        rows = handler(json.loads(raw), out_dir)
        times.append((time.perf_counter() - start) * 1000)
    print(json.dumps({"import_ms": IMPORT_MS, "handler_ms": times, "rows": rows}))


if __name__ == "__main__":
    main()
