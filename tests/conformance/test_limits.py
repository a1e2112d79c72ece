"""LimitExceededException: AWS's default limits (main server) and configured small ones."""

import harness
from checks import ConformanceTest, patch, records, session_token, sync


class DefaultLimitsTest(ConformanceTest):
    @classmethod
    def setUpClass(cls):
        cls.srv = harness.server("main")
        cls.dev = cls.srv.client()

    def refused(self, ident, ds, patches):
        tok = session_token(self.dev, ident, ds)
        return self.assertError(self.dev, "LimitExceededException", 400, self.dev.update_records,
                                IdentityPoolId=ident.pool, IdentityId=ident.id, DatasetName=ds,
                                SyncSessionToken=tok, RecordPatches=patches)

    def test_21st_dataset(self):
        a4 = self.srv.ident("a4")
        for i in range(20):
            sync(self.dev, a4, f"set-{i:02d}", [patch("k", "v")])
        self.refused(a4, "set-20", [patch("k", "v")])
        _, lst = records(self.dev, a4, "set-20")
        self.assertIs(lst["DatasetExists"], False)
        r = sync(self.dev, a4, "set-00", [patch("k", "v2", 1)])  # existing datasets still take updates
        self.assertEqual(r["Records"][0]["SyncCount"], 2)

    def test_1025th_record(self):
        a7, ds = self.srv.ident("a7"), "many"
        for chunk in range(8):
            sync(self.dev, a7, ds, [patch(f"k{chunk * 128 + i:04d}", "v") for i in range(128)])
        self.refused(a7, ds, [patch("one-too-many", "v")])
        recs, _ = records(self.dev, a7, ds, MaxResults=1024)
        self.assertEqual(len(recs), 1024)
        self.assertNotIn("one-too-many", recs)
        r = sync(self.dev, a7, ds, [patch("k0000", "changed", 1)])  # a replace is no new record
        self.assertEqual(r["Records"][0]["Value"], "changed")

    def test_bytes_per_dataset(self):
        a7 = self.srv.ident("a7")
        r = sync(self.dev, a7, "big", [patch("b", "v" * 1048575)])  # 1 + 1048575 = 1048576: at the limit
        self.assertEqual(r["Records"][0]["SyncCount"], 1)
        self.refused(a7, "big", [patch("c", "")])  # one more byte
        self.refused(a7, "big2", [patch("bb", "v" * 1048575)])  # 1048577 in one record


class ConfiguredLimitsTest(ConformanceTest):
    """limits: datasets_per_identity 3, records_per_dataset 5, bytes_per_dataset 100."""

    @classmethod
    def setUpClass(cls):
        cls.srv = harness.server("limits")
        cls.dev = cls.srv.client()

    refused = DefaultLimitsTest.refused

    def test_datasets_per_identity(self):
        l1 = self.srv.ident("l1")
        for i in range(3):
            sync(self.dev, l1, f"d{i}", [patch("k", "v")])
        self.refused(l1, "d3", [patch("k", "v")])
        r = self.dev.list_datasets(IdentityPoolId=l1.pool, IdentityId=l1.id)
        self.assertEqual(sorted(d["DatasetName"] for d in r["Datasets"]), ["d0", "d1", "d2"])

    def test_records_per_dataset(self):
        l2, ds = self.srv.ident("l2"), "five"
        sync(self.dev, l2, ds, [patch(f"k{i}", "v") for i in range(4)])
        self.refused(l2, ds, [patch("k4", "v"), patch("k5", "v")])  # 6 > 5: nothing applied
        recs, lst = records(self.dev, l2, ds)
        self.assertEqual(sorted(recs), [f"k{i}" for i in range(4)])
        self.assertEqual(lst["DatasetSyncCount"], 1)
        sync(self.dev, l2, ds, [patch("k4", "v")])  # the 5th fits
        self.refused(l2, ds, [patch("k5", "v")])

    def test_bytes_per_dataset_counts_utf8_bytes(self):
        l3 = self.srv.ident("l3")
        sync(self.dev, l3, "ascii", [patch("k", "v" * 99)])  # 100 bytes: at the limit
        self.refused(l3, "ascii", [patch("j", "")])  # 101
        # 51 characters, but "é" is 2 bytes in UTF-8: 1 + 100 = 101 bytes
        self.refused(l3, "utf8", [patch("k", "é" * 50)])
        r = sync(self.dev, l3, "utf8", [patch("k", "é" * 49 + "v")])  # 1 + 98 + 1 = 100
        self.assertEqual(r["Records"][0]["Value"], "é" * 49 + "v")
