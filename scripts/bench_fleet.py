#!/usr/bin/env python3
"""Driver of scripts/bench-fleet.sh: `synclake consume` workers sharing one stream through a
DynamoDB lease table (moto) and kinesis-local, timed through their life cycle.

  bench_fleet.py round --bin SYNCLAKE --kinesis URL --dynamodb URL --work DIR --payloads FILE
                       --result FILE [--name NAME] [--shards 6] [--rate 20] [--lease-secs 10]
                       [--steady-secs 120] [--no-proxy]
      one round, its figures as JSON in FILE:
      1. a stream of SHARDS shards, a steady load of RATE PutRecord calls a second (payloads of
         FILE in turn, random partition keys) from start to the end of the round;
      2. workers w1..w3 started together: time until the lease table shows fair shares, and
         until every worker's synclake_consume_leases_owned agrees (adopted);
      3. steady state, one lease duration later: each worker's
         synclake_consume_lease_table_calls_total scraped at the start and the end of
         STEADY_SECS: DynamoDB calls per shard per minute;
      4. fail-over: SIGKILL w2, then the time until each of its shards has another owner
         (this and the next two after a random pause of up to half a lease duration, so that
         they do not always come at the same phase of the workers' timers);
      5. rebalance: start w4, the time until the shares are fair again and adopted (from its
         start, and from its "consuming" log line);
      6. graceful: SIGTERM w1, the time until its shards are owned by the others;
      7. the load stops; once the workers caught up, SIGTERM to the rest: every exit code must
         be 0, every lease released, and every record put in the table exactly once (pyarrow).
  bench_fleet.py report RESULT...
      the table (medians over rounds) and one JSON line at the end

The lease table is scanned (boto3, consistent reads) every 100 ms while something is awaited.
Unless --no-proxy, each worker reaches moto through its own counting proxy (a thread here),
which sorts its DynamoDB requests by kind: heartbeat, scan, save (commit intent, checkpoint),
take, release, hand-off request, set-up. The proxy's total is cross-checked against the
worker's own counter. Progress goes to stderr.
"""

import argparse
import collections
import http.client
import http.server
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

import boto3
import botocore.config
import botocore.exceptions

POLL = 0.1  # seconds between two scans of the lease table while waiting
BINDING = "synclake:stream"  # the lease table's item binding it to the stream: not a lease
OWNER_TAG = re.compile(r"#[0-9a-f]+$")  # what a worker adds to its --worker-id in leaseOwner
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
KINDS = ["heartbeat", "scan", "save", "take", "release", "handoff", "setup"]


def log(msg):
    print(f"bench_fleet.py: {msg}", file=sys.stderr, flush=True)


class Failure(Exception):
    """The round cannot go on: what was awaited did not happen."""


def free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def scrape(url):
    """Sum per metric family (over labels); {} while the endpoint does not answer."""
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return {}
    sums = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        try:
            v = float(value)
        except ValueError:
            continue
        family = name.split("{", 1)[0]
        sums[family] = sums.get(family, 0.0) + v
        m = re.match(r'synclake_consume_millis_behind_latest\{shard="([^"]+)"\}', name)
        if m:
            sums.setdefault("behind", {})[m.group(1)] = v
    return sums


# --- the counting proxy -----------------------------------------------------------------------


def kind_of(target, body):
    """The lease table operation a DynamoDB request is (see crates/kinesis/src/lease/table.rs)."""
    op = target.rpartition(".")[2]
    if op == "Scan":
        return "scan"
    if op != "UpdateItem":
        return "setup"  # DescribeTable, CreateTable, GetItem/PutItem of the binding, lease creation
    try:
        expr = json.loads(body).get("UpdateExpression", "")
    except ValueError:
        return "setup"
    if expr == "SET leaseCounter = leaseCounter + :one":
        return "heartbeat"
    if "#owner = :me" in expr:
        return "take"
    if "#handoff" in expr:
        return "handoff"
    if "REMOVE #owner" in expr or "#owner = :next" in expr:
        return "release"
    return "save"  # the shard's state: where reading starts, a commit intent, a checkpoint


class CallProxy:
    """Forwards a worker's DynamoDB requests to moto, counting them by kind (and refusals:
    conditional checks that failed) on the way."""

    HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}

    def __init__(self, upstream):
        self.host, port = upstream.removeprefix("http://").rstrip("/").split(":")
        self.port = int(port)
        self.counts = collections.Counter()
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                kind = kind_of(self.headers.get("X-Amz-Target", ""), body)
                status, headers, data = proxy.forward(self.path, self.headers, body)
                with proxy.lock:
                    proxy.counts[kind] += 1
                    if status == 400 and b"ConditionalCheckFailed" in data:
                        proxy.counts["refused"] += 1
                        proxy.counts[f"refused {kind}"] += 1
                self.send_response(status)
                for k, v in headers:
                    if k.lower() not in CallProxy.HOP:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                if not isinstance(sys.exc_info()[1], ConnectionError):  # a killed worker's: expected
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.local = threading.local()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, path, headers, body):
        for attempt in range(2):  # once more on a fresh connection if moto closed the old one
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                conn.request("POST", path, body, {k: v for k, v in headers.items() if k.lower() not in self.HOP})
                r = conn.getresponse()
                return r.status, r.getheaders(), r.read()
            except (http.client.HTTPException, OSError):
                conn.close()
                self.local.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def snapshot(self):
        with self.lock:
            return collections.Counter(self.counts)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# --- workers ------------------------------------------------------------------------------------


class Worker:
    """One `synclake consume` process, a direct child (so that signals reach it)."""

    def __init__(self, a, wid, out, work, proxy):
        self.id = wid
        self.proxy = proxy
        self.log_path = os.path.join(work, f"{wid}.log")
        self.port = free_ports(1)[0]
        self.metrics = f"http://127.0.0.1:{self.port}/metrics"
        cmd = [
            a.bin, "consume", "--stream", a.name, "--endpoint-url", a.kinesis,
            "--out", out, "--state", os.path.join(work, f"state-{wid}"),
            "--lease-table", a.name, "--dynamodb-endpoint-url", proxy.url if proxy else a.dynamodb,
            "--worker-id", wid, "--metrics-addr", f"127.0.0.1:{self.port}",
        ]
        if a.lease_secs is not None:
            cmd += ["--lease-duration-secs", str(a.lease_secs)]
        self.log = open(self.log_path, "ab")
        env = dict(os.environ, **AWS_ENV)
        env.setdefault("RUST_LOG", "info")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, env=env)
        self.consuming_at = None  # when its "consuming" log line was first seen
        self.exit_code = None
        self.exited_at = None

    def poll(self):
        """True while running; notes the exit and the "consuming" line."""
        if self.exit_code is None:
            code = self.proc.poll()
            if code is not None:
                self.exit_code, self.exited_at = code, time.monotonic()
        if self.consuming_at is None and self.logged(r"\bconsuming\b"):
            self.consuming_at = time.monotonic()
        return self.exit_code is None

    def logged(self, pattern):
        with open(self.log_path, "rb") as f:
            return len(re.findall(pattern.encode(), f.read()))

    def signal(self, sig):
        if self.poll():
            self.proc.send_signal(sig)

    def wait(self, timeout):
        deadline = time.monotonic() + timeout
        while self.poll():
            if time.monotonic() > deadline:
                raise Failure(f"{self.id} still running {timeout:.0f} s after the signal; log: {self.log_path}")
            time.sleep(0.02)
        return self.exit_code

    def tail(self, n=15):
        with open(self.log_path, "rb") as f:
            return b"\n".join(f.read().splitlines()[-n:]).decode(errors="replace")


class Load(threading.Thread):
    """RATE PutRecord calls a second, paced on a schedule, until stopped or `limit` puts."""

    def __init__(self, kinesis, stream, payloads, rate, limit):
        super().__init__(daemon=True)
        self.kinesis, self.stream, self.payloads = kinesis, stream, payloads
        self.rate, self.limit = rate, limit
        self.stop = threading.Event()
        self.puts = []  # (shard, sequence number) of every acknowledged put
        self.errors = 0
        self.error = None
        self.last_put = None

    def run(self):
        t0 = time.monotonic()
        for i in range(self.limit):
            if self.stop.wait(max(0.0, t0 + i / self.rate - time.monotonic())):
                return
            try:
                r = self.kinesis.put_record(StreamName=self.stream, Data=self.payloads[i % len(self.payloads)],
                                            PartitionKey=uuid.uuid4().hex)
                self.puts.append((r["ShardId"], r["SequenceNumber"]))
                self.last_put = time.monotonic()
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                self.errors += 1
                self.error = e
        log(f"load: stopped at its limit of {self.limit} puts")


class Round:
    def __init__(self, a):
        self.a = a
        cfg = botocore.config.Config(retries={"max_attempts": 3, "mode": "standard"},
                                     connect_timeout=2, read_timeout=10)
        session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                        region_name="us-east-1")
        self.kinesis = session.client("kinesis", endpoint_url=a.kinesis, config=cfg)
        self.dynamodb = session.client("dynamodb", endpoint_url=a.dynamodb, config=cfg)
        self.out = os.path.join(a.work, "lake")
        self.workers = {}
        self.stopping = set()  # workers sent SIGTERM: their exit is expected
        self.proxies = []
        self.load = None
        self.result = {"name": a.name, "shards": a.shards, "rate": a.rate,
                       "lease_secs": a.lease_secs if a.lease_secs is not None else default_of(a.bin, "lease-duration-secs"),
                       "steady_secs_asked": a.steady_secs, "proxy": not a.no_proxy,
                       "flush": {f: default_of(a.bin, f) for f in ("flush-age-secs", "flush-records", "flush-mb",
                                                                   "buffer-mb", "poll-idle-ms", "discover-secs")}}

    # --- the table --------------------------------------------------------------------------

    def leases(self):
        """Open leases: shard → worker id (None when free); {} until the first worker made the table."""
        leases, start = {}, None
        while True:
            kw = {"TableName": self.a.name, "ConsistentRead": True}
            if start:
                kw["ExclusiveStartKey"] = start
            try:
                page = self.dynamodb.scan(**kw)
            except self.dynamodb.exceptions.ResourceNotFoundException:
                return {}
            for item in page.get("Items", []):
                key = item["leaseKey"]["S"]
                if key == BINDING or item.get("checkpoint", {}).get("S") == "SHARD_END":
                    continue
                owner = item.get("leaseOwner", {}).get("S")
                # The owner is the --worker-id with a tag of the process ("w1#1a2b3c4d"): each
                # worker id here is started once, so the id alone names the worker.
                leases[key] = OWNER_TAG.sub("", owner) if owner else None
            start = page.get("LastEvaluatedKey")
            if not start:
                return leases

    @staticmethod
    def shares(leases):
        return collections.Counter(owner for owner in leases.values())

    def fair(self, ids):
        """All shards owned, by exactly `ids`, no two differing by more than one."""
        def check(leases):
            s = self.shares(leases)
            return (len(leases) == self.a.shards and None not in s and set(s) == set(ids)
                    and max(s.values()) - min(s.values()) <= 1)
        return check

    def adopted(self, ids):
        """Fair shares in the table, and each worker's synclake_consume_leases_owned agreeing: a
        lease handed over names its new owner in the table before that worker's next scan
        adopts it (and starts reading the shard)."""
        fair = self.fair(ids)

        def check(leases):
            if not fair(leases):
                return False
            shares = self.shares(leases)
            return all(scrape(self.workers[w].metrics).get("synclake_consume_leases_owned") == shares[w] for w in ids)
        return check

    def await_table(self, what, since, limit, done, timeout_ok=False):
        """Scans every POLL s until done(leases); the seconds from `since`. Workers must live.
        Past `limit`, a failure (or, with timeout_ok, the end of the wait)."""
        seen = None
        while True:
            leases = self.leases()
            now = time.monotonic()
            shares = dict(sorted(self.shares(leases).items(), key=lambda kv: str(kv[0])))
            if shares != seen:
                log(f"  {what}: +{now - since:.1f} s: {shares}")
                seen = shares
            if done(leases):
                return now - since
            for w in self.workers.values():
                if not w.poll() and w.exit_code != -signal.SIGKILL and w.id not in self.stopping:
                    raise Failure(f"{w.id} exited ({w.exit_code}) while waiting for {what}; log:\n{w.tail()}")
            if now - since > limit:
                if timeout_ok:
                    return now - since
                calls = {w.id: dict(w.proxy.snapshot()) for w in self.workers.values() if w.proxy}
                raise Failure(f"{what}: not within {limit:.0f} s; shares {dict(self.shares(leases))}; "
                              f"DynamoDB requests by kind so far {calls}")
            time.sleep(POLL)

    # --- the round --------------------------------------------------------------------------

    def start(self, wid):
        proxy = None if self.a.no_proxy else CallProxy(self.a.dynamodb)
        if proxy:
            self.proxies.append(proxy)
        self.workers[wid] = Worker(self.a, wid, self.out, self.a.work, proxy)
        return self.workers[wid]

    def run(self):
        a, r = self.a, self.result
        lease = r["lease_secs"]
        log(f"{a.name}: stream of {a.shards} shards, {a.rate} puts/s, lease {lease} s")
        self.kinesis.create_stream(StreamName=a.name, ShardCount=a.shards)
        self.kinesis.get_waiter("stream_exists").wait(StreamName=a.name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
        with open(a.payloads, "rb") as f:
            payloads = [line.rstrip(b"\n") for line in f if line.strip()]
        # Bounded: enough for the round's own waits at their limits, then it stops by itself.
        limit_secs = 600 + a.steady_secs + 12 * lease
        self.load = Load(self.kinesis, a.name, payloads, a.rate, int(a.rate * limit_secs))
        self.load.start()

        # 1. three workers at once: fair shares
        t = time.monotonic()
        for wid in ("w1", "w2", "w3"):
            self.start(wid)
        ids = ["w1", "w2", "w3"]
        r["fair_secs"] = self.await_table("fair shares of 3", t, max(120, 12 * lease), self.fair(ids))
        r["fair_adopted_secs"] = self.await_table("fair shares of 3 adopted", t, max(120, 12 * lease) + lease,
                                                  self.adopted(ids))
        log(f"fair shares (3 workers) after {r['fair_secs']:.2f} s, adopted after {r['fair_adopted_secs']:.2f} s")

        # 2. steady state, after one lease duration to settle (the first saves, racing takes)
        live = [self.workers[w] for w in ("w1", "w2", "w3")]
        self.await_table("settling", time.monotonic(), lease, lambda _: False, timeout_ok=True)
        m0 = {w.id: scrape(w.metrics) for w in live}
        p0 = {w.id: w.proxy.snapshot() for w in live if w.proxy}
        t0 = time.monotonic()
        log(f"steady state for {a.steady_secs:.0f} s")
        while time.monotonic() - t0 < a.steady_secs:
            for w in live:
                if not w.poll():
                    raise Failure(f"{w.id} exited ({w.exit_code}) in the steady state; log:\n{w.tail()}")
            time.sleep(min(1.0, max(0.0, a.steady_secs - (time.monotonic() - t0))))
        m1 = {w.id: scrape(w.metrics) for w in live}
        p1 = {w.id: w.proxy.snapshot() for w in live if w.proxy}
        minutes = (time.monotonic() - t0) / 60
        owned = self.shares(self.leases())
        if any(not m0[w.id] or not m1[w.id] for w in live):
            raise Failure("a worker's metrics did not answer")

        def delta(wid, family):
            return m1[wid].get(family, 0) - m0[wid].get(family, 0)

        calls = {w.id: delta(w.id, "synclake_consume_lease_table_calls_total") for w in live}
        r["steady_secs"] = minutes * 60
        r["steady_calls"] = sum(calls.values())
        r["calls_per_shard_min"] = r["steady_calls"] / a.shards / minutes
        r["per_worker"] = {wid: {"shards": owned.get(wid, 0), "calls_per_min": c / minutes,
                                 "calls_per_shard_min": c / minutes / max(1, owned.get(wid, 0))}
                           for wid, c in calls.items()}
        r["steady_records"] = sum(delta(w.id, "synclake_consume_records_total") for w in live)
        r["steady_flushes"] = sum(delta(w.id, "synclake_consume_flushes_total") for w in live)
        if p0:
            kinds = collections.Counter()
            for wid in p0:
                kinds.update(p1[wid] - p0[wid])
            r["proxy_calls"] = sum(kinds[k] for k in KINDS)
            r["by_kind_per_shard_min"] = {k: kinds[k] / a.shards / minutes for k in KINDS + ["refused"]}
            r["refused_by_kind"] = {k: kinds[f"refused {k}"] for k in KINDS if kinds[f"refused {k}"]}
        log(f"steady state: {r['calls_per_shard_min']:.1f} DynamoDB calls per shard per minute")

        # 3. fail-over: SIGKILL w2
        self.pause("fail-over")
        victim = self.workers["w2"]
        theirs = [s for s, o in self.leases().items() if o == "w2"]
        t = time.monotonic()
        victim.proc.kill()
        victim.wait(10)
        others = {"w1", "w3"}
        r["failover_secs"] = self.await_table(
            "fail-over of w2's shards", t, 4 * lease + 30,
            lambda l: all(l.get(s) in others for s in theirs))
        r["failover_shards"] = len(theirs)
        log(f"fail-over: w2's {len(theirs)} shards owned again {r['failover_secs']:.2f} s after SIGKILL")

        # 4. rebalance onto a fourth worker
        self.pause("rebalance")
        new = self.start("w4")
        ids = ["w1", "w3", "w4"]
        r["rebalance_secs"] = self.await_table("rebalance onto w4", new.started, max(120, 12 * lease), self.fair(ids))
        r["rebalance_adopted_secs"] = self.await_table("rebalance onto w4 adopted", new.started,
                                                       max(120, 12 * lease) + lease, self.adopted(ids))
        new.poll()
        r["rebalance_from_consuming_secs"] = (
            r["rebalance_secs"] - (new.consuming_at - new.started) if new.consuming_at else None)
        r["rebalance_handed_over"] = new.logged("took the lease handed over")
        r["rebalance_takeovers"] = scrape(new.metrics).get("synclake_consume_lease_takeovers_total", 0)
        # Read now, not as the table showed the take-over: the taker counts once its write returned.
        r["failover_takeovers"] = self.takeovers({"w1", "w3"})
        log(f"rebalance: 2/2/2 {r['rebalance_secs']:.2f} s after w4 started, adopted after "
            f"{r['rebalance_adopted_secs']:.2f} s ({r['rebalance_handed_over']:.0f} leases handed over)")

        # 5. graceful: SIGTERM w1
        self.pause("graceful")
        leaving = self.workers["w1"]
        theirs = [s for s, o in self.leases().items() if o == "w1"]
        others = {"w3", "w4"}
        takeovers = self.takeovers(others)
        self.stopping.add("w1")
        t = time.monotonic()
        leaving.signal(signal.SIGTERM)
        r["graceful_secs"] = self.await_table(
            "w1's shards after SIGTERM", t, 2 * lease + 60,
            lambda l: all(l.get(s) in others for s in theirs))
        leaving.wait(90)
        r["graceful_exit_secs"] = leaving.exited_at - t
        log(f"graceful: w1's {len(theirs)} shards owned again {r['graceful_secs']:.2f} s after SIGTERM "
            f"(w1 exited after {r['graceful_exit_secs']:.2f} s)")

        # 6. the load stops; once the rest caught up, they stop
        self.load.stop.set()
        self.load.join()
        self.await_caught_up(["w3", "w4"])
        r["graceful_takeovers"] = self.takeovers(others) - takeovers
        for wid in ("w3", "w4"):
            self.stopping.add(wid)
            self.workers[wid].signal(signal.SIGTERM)
        for wid in ("w3", "w4"):
            self.workers[wid].wait(90)
        r["exit_codes"] = {w.id: w.exit_code for w in self.workers.values()}
        bad = {k: v for k, v in r["exit_codes"].items() if k != "w2" and v != 0}
        if bad:
            raise Failure(f"exit codes after SIGTERM: {bad}")
        left = {s: o for s, o in self.leases().items() if o is not None}
        r["leases_left_owned"] = len(left)
        if left:
            raise Failure(f"leases still owned after every worker stopped: {left}")
        r["puts"], r["put_errors"] = len(self.load.puts), self.load.errors
        r.update(exactly_once(self.out, self.load.puts))
        log(f"exactly once: {r['puts']} puts, {r['missing']} missing, {r['duplicated']} duplicated")
        if r["missing"] or r["duplicated"] or r["unexpected"]:
            raise Failure(f"not exactly once: {r['missing']} missing, {r['duplicated']} duplicated, "
                          f"{r['unexpected']} records never put")
        self.kinesis.delete_stream(StreamName=a.name)
        return r

    def pause(self, what):
        """A random pause of up to half a lease duration (the workers' scan period): the steps
        above end on a scan and last whole periods, so without it the next event would always
        come at the same phase of the workers' scan and heartbeat timers."""
        secs = random.uniform(0, self.result["lease_secs"] / 2)
        self.result.setdefault("pauses", {})[what] = secs
        self.await_table(f"pause of {secs:.2f} s before {what}", time.monotonic(), secs, lambda _: False,
                         timeout_ok=True)

    def takeovers(self, ids):
        """Leases the workers `ids` took from a worker that stopped renewing them, so far."""
        return sum(scrape(self.workers[w].metrics).get("synclake_consume_lease_takeovers_total", 0) for w in ids)

    def await_caught_up(self, ids, limit=60):
        """Every open shard read up to its tip by its owner (millis behind 0), at least 3 s
        after the last put (two idle polls)."""
        since = time.monotonic()
        quiet = (self.load.last_put or since) + 3
        while True:
            now = time.monotonic()
            leases = self.leases()
            behind = {}
            for wid in ids:
                per_shard = scrape(self.workers[wid].metrics).get("behind", {})
                behind.update({s: per_shard.get(s, -1) for s, o in leases.items() if o == wid})
            if now >= quiet and len(behind) == self.a.shards and all(v == 0 for v in behind.values()):
                return
            if now - since > limit:
                log(f"warning: not caught up after {limit} s ({behind}); stopping anyway")
                return
            time.sleep(0.25)

    def close(self):
        if self.load:
            self.load.stop.set()
        for w in self.workers.values():
            if w.poll():
                log(f"killing {w.id} (pid {w.proc.pid})")
                w.proc.kill()
                w.proc.wait()
            w.log.close()
        for p in self.proxies:
            p.close()


def exactly_once(root, puts):
    """Rows of the table per (source, sequence number, sub index) against the acknowledged puts."""
    import pyarrow.parquet as pq

    rows = collections.Counter()
    dead_files = 0
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if not x.startswith(".")]
        dead = os.path.relpath(d, root).split(os.sep)[0].startswith("_")
        for f in files:
            if not f.endswith(".parquet") or f.startswith((".", "_")):
                continue
            if dead:
                dead_files += 1
                continue
            t = pq.ParquetFile(os.path.join(d, f)).read(columns=["source", "sequence_number", "sub_index"])
            rows.update(zip(*(t.column(i).to_pylist() for i in range(3))))
    records = {(s, q) for s, q, _ in rows}
    return {
        "rows": sum(rows.values()),
        "missing": sum(1 for p in set(puts) if p not in records),
        "duplicated": sum(1 for n in rows.values() if n > 1),
        "unexpected": len(records - set(puts)),
        "dead_letter_files": dead_files,
    }


def default_of(binary, flag):
    """A `synclake consume` flag's default, from its --help."""
    text = subprocess.run([binary, "consume", "--help"], capture_output=True, text=True, check=True).stdout
    m = re.search(rf"--{re.escape(flag)} <[^>]*>\n(?:(?!\n\s*-).)*?\[default: ([^\]]+)\]", text, re.S)
    if not m:
        raise Failure(f"no default of --{flag} in `synclake consume --help`")
    value = m.group(1)
    return float(value) if re.fullmatch(r"[0-9.]+", value) else value


def cmd_round(a):
    a.work = os.path.abspath(a.work)
    rnd = Round(a)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench_fleet.py: terminated"))
    try:
        result = rnd.run()
    except Failure as e:
        sys.exit(f"bench_fleet.py: {a.name}: {e}")
    finally:
        rnd.close()
    with open(a.result, "w") as f:
        json.dump(result, f, indent=1)


# --- report ------------------------------------------------------------------------------------


def cmd_report(a):
    rounds = []
    for path in a.results:
        with open(path) as f:
            rounds.append(json.load(f))
    first = rounds[0]

    def med(key):
        values = [r[key] for r in rounds if r[key] is not None]
        return statistics.median(values) if values else None

    def row(label, key, unit="s"):
        per = " ".join(f"{r[key]:.2f}" if r[key] is not None else "-" for r in rounds)
        m = med(key)
        print(f"  {label:<46} {per:<22} {m:>8.2f} {unit}" if m is not None else f"  {label:<46} {per}")

    fl = first["flush"]
    n = len(rounds)
    lease = first["lease_secs"]
    print()
    print(f"=== synclake consume fleet benchmark ({time.strftime('%Y-%m-%d', time.gmtime())}, "
          f"{os.cpu_count()} cores, {n} round{'s' * (n > 1)}) ===")
    print(f"stream: {first['shards']} shards on kinesis-local, {first['rate']} puts/s of Inline payloads "
          f"(random partition keys) all along; lease table on moto; lease duration {lease:g} s")
    print(f"workers: --flush-age-secs {fl['flush-age-secs']:g} --flush-records {fl['flush-records']:g} "
          f"--flush-mb {fl['flush-mb']:g} --buffer-mb {fl['buffer-mb']:g} --poll-idle-ms {fl['poll-idle-ms']:g} "
          f"--discover-secs {fl['discover-secs']:g} (the defaults); lease table scanned every 100 ms")
    print(f"  {'':<46} {'per round':<22} {'median':>8}")
    row("time to fair shares (start w1-w3 -> fair)", "fair_secs")
    row("  ... and adopted by every worker", "fair_adopted_secs")
    row("fail-over (SIGKILL w2 -> its shards owned)", "failover_secs")
    row("rebalance (start w4 -> fair again)", "rebalance_secs")
    row("  the same from w4's \"consuming\" log line", "rebalance_from_consuming_secs")
    row("  ... and adopted by every worker", "rebalance_adopted_secs")
    row("graceful hand-off (SIGTERM w1 -> shards owned)", "graceful_secs")
    row("  SIGTERM w1 -> w1 exited", "graceful_exit_secs")
    row("DynamoDB calls per shard per minute (steady)", "calls_per_shard_min", "")
    worker_calls = {wid: statistics.median(r["per_worker"][wid]["calls_per_min"] for r in rounds)
                    for wid in sorted(first["per_worker"])}
    per_worker = ", ".join(f"{wid} {c:.1f}/min ({first['per_worker'][wid]['shards']} shards)"
                           for wid, c in worker_calls.items())
    print(f"    per worker: {per_worker}; steady state {first['steady_secs']:.0f} s, 3 workers, "
          f"{med('steady_records'):.0f} records read, {med('steady_flushes'):.0f} flushes")
    if all("by_kind_per_shard_min" in r for r in rounds):
        kinds = ", ".join(f"{k} {statistics.median(r['by_kind_per_shard_min'][k] for r in rounds):.2f}"
                          for k in KINDS + ["refused"])
        print(f"    by kind (proxy, per shard per minute): {kinds}")
        refused = collections.Counter()
        for r in rounds:
            refused.update(r["refused_by_kind"])
        if refused:
            print(f"    refused (condition failed), all rounds: {dict(refused)}")
        print(f"    proxy counted {med('proxy_calls'):.0f} requests, the workers' counters {med('steady_calls'):.0f}")
    print(f"  fail-over: {med('failover_shards'):.0f} shards, {med('failover_takeovers'):.0f} take-overs; "
          f"rebalance: {med('rebalance_handed_over'):.0f} leases handed over, {med('rebalance_takeovers'):.0f} take-overs; "
          f"graceful: {med('graceful_takeovers'):.0f} take-overs (medians)")
    total = collections.Counter()
    for r in rounds:
        total.update({k: r[k] for k in ("puts", "put_errors", "missing", "duplicated", "unexpected", "dead_letter_files")})
    print(f"  exactly once: {total['puts']} puts acknowledged ({total['put_errors']} failed), {total['missing']} missing, "
          f"{total['duplicated']} rows duplicated, {total['unexpected']} records not put, {total['dead_letter_files']} "
          f"dead-letter files; exit codes after SIGTERM all 0, every lease released at the end")
    summary = {
        "rounds": n,
        "shards": first["shards"],
        "rate": first["rate"],
        "lease_secs": lease,
        "flush": fl,
        "steady_secs": first["steady_secs"],
        **{k: round(med(k), 3) for k in ("fair_secs", "fair_adopted_secs", "failover_secs", "rebalance_secs",
                                         "rebalance_adopted_secs", "graceful_secs", "graceful_exit_secs",
                                         "calls_per_shard_min")},
        "rebalance_from_consuming_secs": (round(med("rebalance_from_consuming_secs"), 3)
                                          if med("rebalance_from_consuming_secs") is not None else None),
        "per_worker_calls_per_min": {wid: round(c, 2) for wid, c in worker_calls.items()},
        "by_kind_per_shard_min": ({k: round(statistics.median(r["by_kind_per_shard_min"][k] for r in rounds), 3)
                                   for k in KINDS + ["refused"]}
                                  if all("by_kind_per_shard_min" in r for r in rounds) else None),
        "puts": sum(r["puts"] for r in rounds),
        "missing": sum(r["missing"] for r in rounds),
        "duplicated": sum(r["duplicated"] for r in rounds),
        "per_round": {k: [r[k] for r in rounds] for k in ("fair_secs", "failover_secs", "rebalance_secs",
                                                          "graceful_secs", "calls_per_shard_min")},
    }
    print(json.dumps(summary, separators=(",", ":")))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("round")
    c.add_argument("--bin", required=True, help="the synclake binary")
    c.add_argument("--kinesis", required=True, help="kinesis-local's endpoint")
    c.add_argument("--dynamodb", required=True, help="moto's endpoint (DynamoDB)")
    c.add_argument("--work", required=True, help="directory of the lake, states and logs")
    c.add_argument("--payloads", required=True, help="JSON Lines: one Kinesis record each")
    c.add_argument("--result", required=True, help="JSON file of the figures")
    c.add_argument("--name", default=f"bench-fleet-{random.randrange(16**6):06x}", help="stream and lease table")
    c.add_argument("--shards", type=int, default=6)
    c.add_argument("--rate", type=float, default=20, help="PutRecord calls a second")
    c.add_argument("--lease-secs", type=float, help="--lease-duration-secs (default: the daemon's)")
    c.add_argument("--steady-secs", type=float, default=120)
    c.add_argument("--no-proxy", action="store_true", help="workers talk to moto directly (no kinds)")
    c.set_defaults(func=cmd_round)
    c = sub.add_parser("report")
    c.add_argument("results", nargs="+")
    c.set_defaults(func=cmd_report)
    a = p.parse_args()
    a.func(a)


if __name__ == "__main__":
    main()
