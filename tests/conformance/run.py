#!/usr/bin/env python3
"""Conformance suite of `synclake local` against boto3's cognito-sync client.

Usage: python tests/conformance/run.py --synclake target/debug/synclake [-k PATTERN]... [--keep] [-q]

Needs the local Kinesis server (kinesis-local) that scripts/test.sh starts, at
SYNCLAKE_TEST_KINESIS_ENDPOINT; without it the suite fails at start (never skips).

Exit status: 0 when every test passed, 1 on any failure or error, 2 when the suite could not
start (no binary, no `local` command, no local Kinesis). Servers are stopped (SIGTERM, then
wait) and the Kinesis streams the run created are deleted, in every case.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import shutil
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ["NO_PROXY"] = os.environ["NO_PROXY"] + ",127.0.0.1"

import harness  # noqa: E402
import kinesis_streams  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--synclake", required=True, help="path to the synclake binary")
    ap.add_argument("-k", action="append", default=[], metavar="PATTERN",
                    help="only tests whose id matches (substring, or a glob with *); repeatable")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (configs, logs)")
    ap.add_argument("-q", action="store_true", help="less output")
    ap.add_argument("--failfast", action="store_true")
    args = ap.parse_args(argv)

    binary = os.path.abspath(args.synclake)
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        print(f"run.py: synclake binary not found or not executable: {args.synclake}", file=sys.stderr)
        return 2
    try:
        probe = subprocess.run([binary, "local", "--help"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        print(f"run.py: cannot run {binary} local --help: {e}", file=sys.stderr)
        return 2
    if probe.returncode != 0:
        print(f"run.py: `{binary} local --help` exited {probe.returncode}; this synclake has no "
              f"usable `local` command:\n{probe.stderr.decode(errors='replace')[-2000:]}", file=sys.stderr)
        return 2

    if not kinesis_streams.endpoint():
        print(f"run.py: {kinesis_streams.missing_message()}", file=sys.stderr)
        return 2
    why = kinesis_streams.probe()
    if why:
        print(f"run.py: {why}; run the suite through scripts/test.sh", file=sys.stderr)
        return 2

    workdir = tempfile.mkdtemp(prefix="synclake-conformance-")
    harness.configure(binary, workdir)
    loader = unittest.TestLoader()
    if args.k:
        loader.testNamePatterns = [p if "*" in p else f"*{p}*" for p in args.k]
    ok = False
    try:
        suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
        if suite.countTestCases() == 0:
            print("run.py: no test matches", file=sys.stderr)
            return 1
        result = unittest.TextTestRunner(verbosity=1 if args.q else 2, failfast=args.failfast,
                                         stream=sys.stdout).run(suite)
        ok = result.wasSuccessful()
    finally:
        harness.stop_all()
        kinesis_streams.delete_created()
        for s in harness.all_servers():
            if s.proc is not None:
                print(f"server {s.name}: {' '.join(s.args)} → exit {s.exit_code}")
        if ok and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"kept {workdir}: <server>/config.toml and <server>/server.log")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
