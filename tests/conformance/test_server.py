"""The process itself: the first stdout line, SIGTERM/SIGINT → exit 0, --data-dir durability, the
test clock only with --test-clock."""

import os
import re
import signal

import harness
from harness import DUR_IDS, DUR_POOL
from checks import ConformanceTest, patch, records, sync


class ProcessTest(ConformanceTest):
    def test_listening_line_and_clock(self):
        srv = harness.server("main")
        self.assertRegex(srv.first_line, r"^listening on http://127\.0\.0\.1:[1-9][0-9]*$")
        self.assertNotEqual(srv.port, 0)
        status, body = srv.local("POST", "/_local/clock", {"advance_secs": 0})
        self.assertEqual(status, 200, body)
        t0 = body["now_ms"]
        t1 = srv.advance_clock(120)
        self.assertGreaterEqual(t1 - t0, 120_000)

    def test_data_dir_survives_restart_and_sigterm_exits_0(self):
        data = os.path.join(harness._STATE["workdir"], "durable-data")
        os.makedirs(data, exist_ok=True)
        cfg = harness.base_config(DUR_IDS, [DUR_POOL])
        args = ("--data-dir", data)  # no --test-clock
        d1 = DUR_IDS["d1"]
        first = harness.extra_server("durable-1", cfg, DUR_IDS, args)
        try:
            dev = first.client()
            sync(dev, d1, "kept", [patch("k", "v"), patch("gone", "x")])
            sync(dev, d1, "kept", [patch("gone", None, 1, op="remove")])
            status, _ = first.local("POST", "/_local/clock", {"advance_secs": 10})
            self.assertNotEqual(status, 200, "/_local/clock answers only with --test-clock")
        finally:
            code = first.stop()
        self.assertEqual(code, 0, "SIGTERM → exit 0")
        second = harness.extra_server("durable-2", cfg, DUR_IDS, args)
        try:
            dev = second.client()
            recs, lst = records(dev, d1, "kept")
            self.assertIs(lst["DatasetExists"], True)
            self.assertEqual(lst["DatasetSyncCount"], 2)
            self.assertEqual({k: (r.get("Value"), r["SyncCount"]) for k, r in recs.items()},
                             {"k": ("v", 1), "gone": (None, 2)})
            r = sync(dev, d1, "kept", [patch("k", "v2", 1)])
            self.assertEqual(r["Records"][0]["SyncCount"], 2)
        finally:
            code = second.stop(sig=signal.SIGINT)
        self.assertEqual(code, 0, "SIGINT → exit 0")
        self.assertTrue(re.match(r"^listening on ", second.first_line))
