"""Streams on the real local Kinesis server (kinesis-local, started by `scripts/services.sh start`
and so by `scripts/test.sh`), through boto3's `kinesis` client.

Its endpoint comes from SYNCLAKE_TEST_KINESIS_ENDPOINT; it accepts any credentials (test/test).
Tests create their own streams (`create`: a name unique to this run, waited on until ACTIVE)
before they enable Cognito Streams on a pool, and read what `synclake local` put with
ListShards + GetShardIterator(TRIM_HORIZON) + GetRecords (`StreamReader`). `delete_created()`
deletes every stream this run created (best effort; run.py calls it at the end).
"""

import itertools
import json
import os
import time

import boto3
import botocore.config

ENV = "SYNCLAKE_TEST_KINESIS_ENDPOINT"
KEY = SECRET = "test"
REGION = "us-east-1"
ACTIVE_TIMEOUT = 30

_counter = itertools.count(1)
_created = []
_client = None


def endpoint():
    return os.environ.get(ENV) or None


def missing_message():
    return (f"{ENV} is not set: the conformance suite needs the local Kinesis server (kinesis-local). "
            f"Run it through scripts/test.sh, or start the services first: "
            f'eval "$(scripts/services.sh start)" (after scripts/services.sh setup)')


def _make_client(attempts):
    url = endpoint()
    if not url:
        raise RuntimeError(missing_message())
    cfg = botocore.config.Config(connect_timeout=5, read_timeout=30,
                                 retries={"mode": "standard", "total_max_attempts": attempts})
    return boto3.session.Session().client(
        "kinesis", endpoint_url=url, region_name=REGION, aws_access_key_id=KEY,
        aws_secret_access_key=SECRET, config=cfg)


def client():
    """The shared kinesis client (retries throttling: reading is not what is under test)."""
    global _client
    if _client is None:
        _client = _make_client(5)
    return _client


def probe():
    """None when the Kinesis endpoint answers ListStreams, else why not."""
    try:
        _make_client(1).list_streams(Limit=1)
    except Exception as e:  # noqa: BLE001 - reported as is
        return f"the local Kinesis at {endpoint()} does not answer ListStreams: {e}"
    return None


def create(tag, shards=1):
    """A new stream `synclake-conf-<pid>-<n>-<tag>`, ACTIVE; its name."""
    name = f"synclake-conf-{os.getpid()}-{next(_counter)}-{tag}"
    c = client()
    c.create_stream(StreamName=name, ShardCount=shards)
    _created.append(name)
    deadline = time.monotonic() + ACTIVE_TIMEOUT
    while True:
        status = c.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"]
        if status == "ACTIVE":
            return name
        if time.monotonic() > deadline:
            raise AssertionError(f"Kinesis stream {name} not ACTIVE within {ACTIVE_TIMEOUT}s: {status}")
        time.sleep(0.05)


def delete_created():
    """Deletes every stream created by this run; errors are ignored."""
    while _created:
        name = _created.pop()
        try:
            client().delete_stream(StreamName=name, EnforceConsumerDeletion=True)
        except Exception:  # noqa: BLE001 - best effort
            pass


class StreamReader:
    """Every record of one stream, read from TRIM_HORIZON and kept across calls of `read`.

    Records are dicts: `partition_key`, `data` (the JSON payload decoded), `sequence`, `shard`;
    in the order of each shard (one shard: the order Kinesis accepted them)."""

    def __init__(self, name):
        self.name = name
        self.records = []
        self.iterators = {}  # shard id → next shard iterator (None: shard closed and read)

    def read(self):
        c = client()
        shards, token = [], None
        while True:
            r = c.list_shards(NextToken=token) if token else c.list_shards(StreamName=self.name)
            shards += r["Shards"]
            token = r.get("NextToken")
            if not token:
                break
        for shard in shards:
            sid = shard["ShardId"]
            if sid not in self.iterators:
                self.iterators[sid] = c.get_shard_iterator(
                    StreamName=self.name, ShardId=sid, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while self.iterators[sid]:
                r = c.get_records(ShardIterator=self.iterators[sid])
                self.iterators[sid] = r.get("NextShardIterator")
                for rec in r["Records"]:
                    raw = rec["Data"]
                    try:
                        data = json.loads(raw)
                    except ValueError:
                        data = raw  # not JSON: the test's shape checks report it
                    self.records.append({"partition_key": rec["PartitionKey"], "data": data,
                                         "sequence": rec["SequenceNumber"], "shard": sid})
                if not r["Records"] or not r.get("MillisBehindLatest"):
                    break
        return list(self.records)

    def wait(self, count, timeout=30, interval=0.2):
        """Reads until at least `count` records are there; all of them (AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.read()
            if len(got) >= count:
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"{count} record(s) on Kinesis stream {self.name} not within "
                                     f"{timeout}s; got {len(got)}: {got[:5]!r}")
            time.sleep(interval)
