"""ListRecords and UpdateRecords: sync counts, tombstones, lastSyncCount, paging, sync session
tokens, parameter validation, and 16 concurrent writers of one record."""

import datetime
import threading

from botocore.exceptions import ClientError

import harness
from checks import ConformanceTest, patch, records, session_token, sync


class RecordsTest(ConformanceTest):
    @classmethod
    def setUpClass(cls):
        cls.srv = harness.server("main")
        cls.dev = cls.srv.client()
        cls.a1 = cls.srv.ident("a1")
        cls.a2 = cls.srv.ident("a2")

    def list(self, dataset, ident=None, **kw):
        ident = ident or self.a1
        return self.dev.list_records(IdentityPoolId=ident.pool, IdentityId=ident.id, DatasetName=dataset, **kw)

    def test_list_records_of_missing_dataset_issues_token(self):
        r = self.list("never-written")
        self.assertIs(r["DatasetExists"], False)
        self.assertEqual(r["DatasetSyncCount"], 0)
        self.assertEqual(r.get("Records", []), [])
        self.assertIsInstance(r["SyncSessionToken"], str)
        self.assertTrue(r["SyncSessionToken"])
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)

    def test_sync_counts_tombstones_and_last_sync_count(self):
        ds, a1 = "counts", self.a1
        when = datetime.datetime(2024, 3, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
        # sync 1: two new records (patch SyncCount 0 → record SyncCount 1)
        r = sync(self.dev, a1, ds, [patch("a", "1", 0, DeviceLastModifiedDate=when), patch("b", "2", 0)])
        got = {rec["Key"]: rec for rec in r["Records"]}
        self.assertEqual(set(got), {"a", "b"})
        self.assertRecord(got["a"], "a", "1", 1)
        self.assertRecord(got["b"], "b", "2", 1)
        lst = self.list(ds)
        self.assertIs(lst["DatasetExists"], True)
        self.assertEqual(lst["DatasetSyncCount"], 1)
        self.assertEqual(lst["Count"], len(lst["Records"]))
        self.assertEqual(len(lst["Records"]), 2)
        self.assertIsInstance(lst["LastModifiedBy"], str)
        self.assertIs(lst.get("DatasetDeletedAfterRequestedSyncCount", False), False)
        a = [x for x in lst["Records"] if x["Key"] == "a"][0]
        self.assertTimestamp(a["DeviceLastModifiedDate"], "DeviceLastModifiedDate")
        self.assertEqual(a["DeviceLastModifiedDate"], when)
        # sync 2: change a (count 1 → 2)
        r = sync(self.dev, a1, ds, [patch("a", "1b", 1)])
        self.assertRecord(r["Records"][0], "a", "1b", 2)
        # a stale count refuses the whole request: b's valid patch is not applied either
        tok = session_token(self.dev, a1, ds)
        self.assertError(self.dev, "ResourceConflictException", 409, self.dev.update_records,
                         IdentityPoolId=a1.pool, IdentityId=a1.id, DatasetName=ds, SyncSessionToken=tok,
                         RecordPatches=[patch("b", "2b", 1), patch("a", "stale", 1)])
        self.assertError(self.dev, "ResourceConflictException", 409, self.dev.update_records,
                         IdentityPoolId=a1.pool, IdentityId=a1.id, DatasetName=ds, SyncSessionToken=tok,
                         RecordPatches=[patch("b", "2b", 5)])
        recs, lst = records(self.dev, a1, ds)
        self.assertEqual(lst["DatasetSyncCount"], 2, "a refused UpdateRecords must not count")
        self.assertRecord(recs["b"], "b", "2", 1)
        self.assertRecord(recs["a"], "a", "1b", 2)
        # sync 3: remove b → tombstone without Value, count 2
        r = sync(self.dev, a1, ds, [patch("b", None, 1, op="remove")])
        self.assertEqual(r["Records"][0]["Key"], "b")
        self.assertEqual(r["Records"][0]["SyncCount"], 2)
        recs, lst = records(self.dev, a1, ds)
        self.assertEqual(lst["DatasetSyncCount"], 3)
        self.assertRecord(recs["b"], "b", None, 2)
        # lastSyncCount: only records changed in dataset syncs after it
        self.assertEqual(set(records(self.dev, a1, ds, LastSyncCount=0)[0]), {"a", "b"})
        self.assertEqual(set(records(self.dev, a1, ds, LastSyncCount=1)[0]), {"a", "b"})
        self.assertEqual(set(records(self.dev, a1, ds, LastSyncCount=2)[0]), {"b"})
        self.assertEqual(set(records(self.dev, a1, ds, LastSyncCount=3)[0]), set())
        # a removed key can be written again with its tombstone's count
        r = sync(self.dev, a1, ds, [patch("b", "back", 2)])
        self.assertRecord(r["Records"][0], "b", "back", 3)

    def test_paging_covers_every_record_once(self):
        ds = "paged"
        keys = [f"k{i:02d}" for i in range(10)]
        sync(self.dev, self.a1, ds, [patch(k, "v" + k) for k in keys[:6]])
        sync(self.dev, self.a1, ds, [patch(k, "v" + k) for k in keys[6:]])
        pages, token, seen = 0, None, []
        while True:
            r = self.list(ds, MaxResults=3, **({"NextToken": token} if token else {}))
            pages += 1
            self.assertLessEqual(len(r["Records"]), 3)
            seen += [x["Key"] for x in r["Records"]]
            token = r.get("NextToken")
            if not token:
                break
            self.assertLess(pages, 20, "paging does not end")
        self.assertEqual(sorted(seen), keys)
        self.assertEqual(len(seen), len(set(seen)), "a record was returned twice")
        self.assertGreaterEqual(pages, 4)
        # with lastSyncCount: only the second sync's records, still paged exactly once
        got, _ = records(self.dev, self.a1, ds, LastSyncCount=1, MaxResults=1)
        self.assertEqual(sorted(got), keys[6:])
        r = self.list(ds, MaxResults=1024)
        self.assertEqual(len(r["Records"]), 10)
        self.assertNotIn("NextToken", r)

    def test_empty_and_unicode_values_round_trip(self):
        ds = "fidelity"
        values = {"empty": "", "unicode": "значение 値 🎉", "ключ-🔑": "x", "spaces": "  a  b  ",
                  "newline": "line1\nline2\t\"quoted\""}
        sync(self.dev, self.a1, ds, [patch(k, v) for k, v in values.items()])
        recs, _ = records(self.dev, self.a1, ds)
        self.assertEqual({k: r.get("Value") for k, r in recs.items()}, values)
        self.assertIn("Value", recs["empty"], "an empty value is a value, not a tombstone")

    def test_colon_in_dataset_name_and_client_context(self):
        r = sync(self.dev, self.a1, "with:colon.and-dash_1", [patch("k", "v")],
                 ClientContext="eyJjbGllbnQiOnt9fQ==", DeviceId="device-1")
        self.assertRecord(r["Records"][0], "k", "v", 1)

    def test_session_token_missing_garbage_foreign_expired(self):
        a1, a2, ds = self.a1, self.a2, "tokens"
        raw = self.srv.client(validate=False)
        base = dict(IdentityPoolId=a1.pool, IdentityId=a1.id, DatasetName=ds, RecordPatches=[patch("k", "v")])
        self.assertError(raw, "InvalidParameterException", 400, raw.update_records, **base)
        self.assertError(self.dev, "InvalidParameterException", 400, self.dev.update_records,
                         SyncSessionToken="not-a-token", **base)
        foreign = session_token(self.dev, a2, ds)
        self.assertError(self.dev, "InvalidParameterException", 400, self.dev.update_records,
                         SyncSessionToken=foreign, **base)
        tok = session_token(self.dev, a1, ds)
        self.srv.advance_clock(3601)  # session_ttl_secs = 3600
        self.assertError(self.dev, "InvalidParameterException", 400, self.dev.update_records,
                         SyncSessionToken=tok, **base)
        _, lst = records(self.dev, a1, ds)
        self.assertIs(lst["DatasetExists"], False, "no refused update may create the dataset")
        r = sync(self.dev, a1, ds, [patch("k", "v")])  # a fresh token works
        self.assertRecord(r["Records"][0], "k", "v", 1)

    def test_malformed_parameters(self):
        a1, dev = self.a1, self.dev
        raw = self.srv.client(validate=False)
        ip = "InvalidParameterException"
        bad_ids = ["not-a-pool", "us-east-1:XYZ", "us-east-1:" + "0" * 46]  # no colon, not hex, 56 chars
        for bad in bad_ids:
            with self.subTest(pool=bad):
                self.assertError(dev, ip, 400, dev.describe_identity_pool_usage, IdentityPoolId=bad)
                self.assertError(dev, ip, 400, dev.list_datasets, IdentityPoolId=bad, IdentityId=a1.id)
            with self.subTest(identity=bad):
                self.assertError(dev, ip, 400, dev.list_datasets, IdentityPoolId=a1.pool, IdentityId=bad)
        for bad in ["bad name!", "x" * 129, "slash/inside"]:
            with self.subTest(dataset=bad):
                self.assertError(dev, ip, 400, dev.list_records, IdentityPoolId=a1.pool, IdentityId=a1.id,
                                 DatasetName=bad)
                self.assertError(dev, ip, 400, dev.describe_dataset, IdentityPoolId=a1.pool,
                                 IdentityId=a1.id, DatasetName=bad)
        self.list("x" * 128)  # 128 characters is fine
        for mr in (0, 1025):
            for fn, kw in [(dev.list_records, dict(IdentityPoolId=a1.pool, IdentityId=a1.id, DatasetName="counts")),
                           (dev.list_datasets, dict(IdentityPoolId=a1.pool, IdentityId=a1.id)),
                           (dev.list_identity_pool_usage, {})]:
                with self.subTest(max_results=mr, op=fn.__name__):
                    self.assertError(dev, ip, 400, fn, MaxResults=mr, **kw)
        for fn, kw in [(dev.list_records, dict(IdentityPoolId=a1.pool, IdentityId=a1.id, DatasetName="counts")),
                       (dev.list_datasets, dict(IdentityPoolId=a1.pool, IdentityId=a1.id)),
                       (dev.list_identity_pool_usage, {})]:
            with self.subTest(next_token=fn.__name__):
                self.assertError(dev, ip, 400, fn, NextToken="garbage!!", **kw)
        ds = "param-checks"
        for name, patches in [("key of 1025", [patch("k" * 1025, "v")]),
                              ("empty key", [patch("", "v")]),
                              ("value of 1048576", [patch("big", "v" * 1048576)])]:
            with self.subTest(patch=name):
                tok = session_token(dev, a1, ds)
                self.assertError(raw, ip, 400, raw.update_records, IdentityPoolId=a1.pool, IdentityId=a1.id,
                                 DatasetName=ds, SyncSessionToken=tok, RecordPatches=patches)
        r = sync(dev, a1, ds, [patch("k" * 1024, "v")])  # 1024 is fine
        self.assertEqual(r["Records"][0]["Key"], "k" * 1024)

    def test_concurrent_writers_exactly_one_wins(self):
        ds, a1, n = "contended", self.a1, 16
        sync(self.dev, a1, ds, [patch("hot", "start", 0)])
        clients = [self.srv.client() for _ in range(n)]
        tokens = [session_token(c, a1, ds) for c in clients]
        barrier = threading.Barrier(n)
        results = [None] * n

        def writer(i):
            barrier.wait()
            try:
                r = clients[i].update_records(IdentityPoolId=a1.pool, IdentityId=a1.id, DatasetName=ds,
                                              SyncSessionToken=tokens[i],
                                              RecordPatches=[patch("hot", f"writer-{i}", 1)])
                results[i] = ("ok", r["Records"][0])
            except ClientError as e:
                results[i] = (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"])
            except Exception as e:  # noqa: BLE001 - report, do not hang the barrier
                results[i] = ("exception", repr(e))

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        winners = [i for i, r in enumerate(results) if r and r[0] == "ok"]
        self.assertEqual(len(winners), 1, f"results: {results}")
        losers = [r for i, r in enumerate(results) if i not in winners]
        self.assertEqual(losers, [("ResourceConflictException", 409)] * (n - 1), f"results: {results}")
        w = winners[0]
        self.assertRecord(results[w][1], "hot", f"writer-{w}", 2)
        recs, lst = records(self.dev, a1, ds)
        self.assertRecord(recs["hot"], "hot", f"writer-{w}", 2)
        self.assertEqual(lst["DatasetSyncCount"], 2)
