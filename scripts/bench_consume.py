#!/usr/bin/env python3
"""Helpers of scripts/bench-consume.sh: the timing of `synclake consume`, and the table watched
for the latency run. The streams are created and filled by stream_load
(crates/bench/src/bin/stream_load.rs), on the test kit's Kinesis helpers.

  bench_consume.py consume --expect N --metrics URL --log FILE -- SYNCLAKE consume ...
      run the daemon until its checkpoints cover N records, SIGTERM it, report wall and CPU
  bench_consume.py latency --load STREAM_LOAD --endpoint URL --stream S --input FILE --table DIR
                           --metrics URL --log FILE [--rate R] [--secs S] -- SYNCLAKE consume ...
      run the daemon, have `STREAM_LOAD pace` put R payloads/s for S seconds, watch the table
      (pyarrow, independent of synclake's readers) for each of them

Results go to stdout as `key=value` lines (for the shell script), progress to stderr. Needs
pyarrow for `latency`: the python of scripts/services.sh setup.
"""

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

TICK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(f"bench_consume.py: {msg}", file=sys.stderr, flush=True)


def emit(**kv):
    for k, v in kv.items():
        print(f"{k}={v}")
    sys.stdout.flush()


# --- the daemon -----------------------------------------------------------------------------


def scrape(url):
    """Sums per metric family over shards; {} while the endpoint does not answer."""
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            text = r.read().decode()
    except Exception:
        return {}
    sums = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        family = name.split("{", 1)[0]
        try:
            v = float(value)
        except ValueError:
            continue
        sums[family] = sums.get(family, 0) + v
        if family == "synclake_consume_millis_behind_latest":
            sums["read_shards"] = sums.get("read_shards", 0) + (v >= 0)
    return sums


def cpu_ticks(pid):
    """utime + stime of a live process, seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Daemon:
    """`synclake consume` as a direct child (so SIGTERM reaches it), reaped with wait4."""

    def __init__(self, cmd, logfile):
        self.log = open(logfile, "ab")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        self.pid = self.proc.pid
        self.status = None
        self.rusage = None

    def exited(self):
        if self.status is None:
            pid, status, rusage = os.wait4(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.status, self.rusage = status, rusage
        return self.status is not None

    def stop(self, timeout=120):
        """SIGTERM, wait for the exit; the exit code (or -signal)."""
        if not self.exited():
            os.kill(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while not self.exited():
                if time.monotonic() > deadline:
                    log(f"daemon {self.pid} still running {timeout} s after SIGTERM: SIGKILL")
                    os.kill(self.pid, signal.SIGKILL)
                    _, self.status, self.rusage = os.wait4(self.pid, 0)
                    break
                time.sleep(0.02)
        self.proc.returncode = 0  # reaped here, not by Popen
        self.log.close()
        return os.waitstatus_to_exitcode(self.status)


def cmd_consume(a):
    server_cpu0 = cpu_ticks(a.rss_pid) if a.rss_pid else 0.0
    d = Daemon(a.cmd, a.log)
    t_read = t_commit = None
    cpu_commit = 0.0
    kinesis_rss = 0
    last = {}
    deadline = d.t0 + a.timeout
    progress, progress_at = None, d.t0
    next_report = d.t0 + 10
    try:
        while True:
            if d.exited():
                sys.exit(f"consume exited early ({os.waitstatus_to_exitcode(d.status)}); log: {a.log}")
            m = scrape(a.metrics)
            now = time.monotonic()
            if a.rss_pid:
                kinesis_rss = max(kinesis_rss, rss_kb(a.rss_pid))
            if m:
                last = m
                if t_read is None and m.get("synclake_consume_records_total", 0) >= a.expect:
                    t_read = now
                if m.get("synclake_consume_committed_records_total", 0) >= a.expect:
                    t_commit = now
                    cpu_commit = cpu_ticks(d.pid)
                    break
            if now >= next_report:
                log(f"consume: {last.get('synclake_consume_records_total', 0):.0f} read, "
                    f"{last.get('synclake_consume_committed_records_total', 0):.0f} committed "
                    f"after {now - d.t0:.0f} s")
                next_report = now + 10
            if now > deadline:
                sys.exit(f"consume: not all {a.expect} records committed after {a.timeout} s; log: {a.log}")
            seen = (last.get("synclake_consume_records_total"), last.get("synclake_consume_committed_records_total"))
            if seen != progress:
                progress, progress_at = seen, now
            elif now - progress_at > a.stall:
                sys.exit(f"consume: no progress for {a.stall:.0f} s ({seen[0]} read, {seen[1]} committed); log: {a.log}")
            time.sleep(a.scrape_secs)
    finally:
        code = d.stop()
    t_exit = time.monotonic()
    server_cpu = cpu_ticks(a.rss_pid) - server_cpu0 if a.rss_pid else 0.0
    ru = d.rusage
    emit(
        exit_code=code,
        wall_read=f"{t_read - d.t0:.3f}",
        wall_commit=f"{t_commit - d.t0:.3f}",
        wall_exit=f"{t_exit - d.t0:.3f}",
        cpu_commit=f"{cpu_commit:.2f}",
        cpu_user=f"{ru.ru_utime:.2f}",
        cpu_sys=f"{ru.ru_stime:.2f}",
        maxrss_kb=ru.ru_maxrss,
        records=f"{last.get('synclake_consume_records_total', 0):.0f}",
        bytes=f"{last.get('synclake_consume_bytes_total', 0):.0f}",
        rows=f"{last.get('synclake_consume_rows_total', 0):.0f}",
        files=f"{last.get('synclake_consume_files_total', 0):.0f}",
        flushes=f"{last.get('synclake_consume_flushes_total', 0):.0f}",
        dead_letters=f"{last.get('synclake_consume_dead_letters_total', 0):.0f}",
        kinesis_rss_kb=kinesis_rss,
        kinesis_cpu=f"{server_cpu:.2f}",
    )
    if code != 0:
        sys.exit(f"consume exited with {code} after SIGTERM; log: {a.log}")


# --- latency --------------------------------------------------------------------------------


def percentile(sorted_values, p):
    """Nearest rank."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


class Table:
    """Finds the Parquet files that appeared since the last scan and the (shard, sequence) they hold."""

    def __init__(self, root):
        self.root = root
        self.seen = set()

    def scan(self):
        import pyarrow.parquet as pq

        found = []  # (key, dead letter?, [(source, sequence_number)])
        for d, dirs, files in os.walk(self.root):
            dirs[:] = [x for x in dirs if not x.startswith(".")]
            dead = os.path.relpath(d, self.root).split(os.sep)[0].startswith("_")
            for f in files:
                if not f.endswith(".parquet") or f.startswith((".", "_")):
                    continue
                path = os.path.join(d, f)
                if path in self.seen:
                    continue
                self.seen.add(path)
                t = pq.ParquetFile(path).read(columns=["source", "sequence_number"])
                found.append((dead, list(zip(t.column(0).to_pylist(), t.column(1).to_pylist()))))
        return found


def cmd_latency(a):
    table = Table(a.table)
    d = Daemon(a.cmd, a.log)
    puts = {}  # (shard, seq) -> (sent, acked), monotonic
    lock = threading.Lock()
    put_errors = []

    def producer():
        """`stream_load pace`: one line per stored record, SHARD SEQUENCE ACK_MICROS, flushed as
        the answer comes; its arrival is the ack, and the ack less ACK_MICROS the send."""
        try:
            cmd = [a.load, "pace", a.endpoint, a.stream, a.input,
                   "--rate", str(a.rate), "--count", str(a.rate * a.secs)]
            with subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE) as p:
                for line in p.stdout:
                    acked = time.monotonic()
                    shard, seq, ack_us = line.decode().split()
                    with lock:
                        puts[(shard, seq)] = (acked - int(ack_us) / 1e6, acked)
            if p.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} exited with {p.returncode}")
        except Exception as e:
            put_errors.append(e)

    try:
        # Ready: every shard's reader has made its first GetRecords call.
        deadline = time.monotonic() + 60
        while True:
            if d.exited():
                sys.exit(f"consume exited early; log: {a.log}")
            m = scrape(a.metrics)
            if m.get("read_shards", 0) >= a.shards:
                break
            if time.monotonic() > deadline:
                sys.exit(f"consume: shards not all read after 60 s; log: {a.log}")
            time.sleep(0.1)
        thread = threading.Thread(target=producer, daemon=True)
        t_start = time.monotonic()
        thread.start()
        visible, dead = {}, set()
        give_up = None
        while True:
            for is_dead, pairs in table.scan():
                now = time.monotonic()
                for key in pairs:
                    if is_dead:
                        dead.add(key)
                    else:
                        visible.setdefault(key, now)
            if not thread.is_alive():
                if put_errors:
                    sys.exit(f"put failed: {put_errors[0]}")
                if give_up is None:
                    give_up = time.monotonic() + a.flush_age + 30
                with lock:
                    if all(k in visible or k in dead for k in puts):
                        break
                if time.monotonic() > give_up:
                    break
            time.sleep(a.poll_ms / 1000)
        t_put = time.monotonic() - t_start
    finally:
        code = d.stop()
    with lock:
        lat = sorted(visible[k] - sent for k, (sent, _) in puts.items() if k in visible)
        ack = sorted(acked - sent for sent, acked in puts.values())
        missing = sum(1 for k in puts if k not in visible and k not in dead)
        in_dead = sum(1 for k in puts if k in dead)
    emit(
        exit_code=code,
        markers=len(puts),
        visible=len(lat),
        dead_lettered=in_dead,
        missing=missing,
        run_secs=f"{t_put:.1f}",
        lat_p50=f"{percentile(lat, 50):.3f}",
        lat_p90=f"{percentile(lat, 90):.3f}",
        lat_p99=f"{percentile(lat, 99):.3f}",
        lat_max=f"{(lat[-1] if lat else float('nan')):.3f}",
        lat_min=f"{(lat[0] if lat else float('nan')):.3f}",
        ack_p50=f"{percentile(ack, 50) * 1000:.1f}",
        ack_p99=f"{percentile(ack, 99) * 1000:.1f}",
        files=len(table.seen),
    )


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd_name", required=True)

    c = sub.add_parser("consume")
    c.add_argument("--expect", type=int, required=True)
    c.add_argument("--metrics", required=True, help="http://127.0.0.1:PORT/metrics")
    c.add_argument("--log", required=True)
    c.add_argument("--timeout", type=float, default=1800)
    c.add_argument("--rss-pid", type=int, help="also record this process's peak RSS and CPU time (kinesis-local)")
    c.add_argument("--stall", type=float, default=180, help="give up after this long without progress, seconds")
    c.add_argument("--scrape-secs", type=float, default=0.5, help="seconds between two scrapes of the daemon's metrics")
    c.add_argument("cmd", nargs=argparse.REMAINDER)
    c.set_defaults(func=cmd_consume)

    c = sub.add_parser("latency")
    c.add_argument("--load", required=True, help="the stream_load binary, whose `pace` puts the payloads")
    c.add_argument("--endpoint", required=True)
    c.add_argument("--stream", required=True)
    c.add_argument("--shards", type=int, required=True)
    c.add_argument("--input", required=True)
    c.add_argument("--table", required=True)
    c.add_argument("--metrics", required=True)
    c.add_argument("--log", required=True)
    c.add_argument("--rate", type=int, default=20)
    c.add_argument("--secs", type=int, default=60)
    c.add_argument("--flush-age", type=float, required=True)
    c.add_argument("--poll-ms", type=float, default=100)
    c.add_argument("cmd", nargs=argparse.REMAINDER)
    c.set_defaults(func=cmd_latency)

    a = p.parse_args()
    if hasattr(a, "cmd") and a.cmd and a.cmd[0] == "--":
        a.cmd = a.cmd[1:]
    a.func(a)


if __name__ == "__main__":
    main()
