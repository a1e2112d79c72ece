"""DescribeDataset, ListDatasets, DeleteDataset, DescribeIdentityUsage."""

import harness
from checks import ConformanceTest, patch, records, sync


class DatasetsTest(ConformanceTest):
    @classmethod
    def setUpClass(cls):
        cls.srv = harness.server("main")
        cls.dev = cls.srv.client()
        cls.a1 = cls.srv.ident("a1")
        cls.a2 = cls.srv.ident("a2")

    def describe(self, ident, name):
        return self.dev.describe_dataset(IdentityPoolId=ident.pool, IdentityId=ident.id, DatasetName=name)

    def test_describe_dataset(self):
        a1 = self.a1
        sync(self.dev, a1, "described", [patch("x", "1"), patch("y", "22")])
        first = self.describe(a1, "described")
        self.assertEqual(first["ResponseMetadata"]["HTTPStatusCode"], 200)
        d = first["Dataset"]
        self.assertDataset(d, a1, "described")
        self.assertEqual(d["NumRecords"], 2)
        self.assertGreater(d["DataStorage"], 0)
        sync(self.dev, a1, "described", [patch("z", "333")])
        d2 = self.describe(a1, "described")["Dataset"]
        self.assertEqual(d2["NumRecords"], 3)
        self.assertGreater(d2["DataStorage"], d["DataStorage"], "DataStorage grows with a new record")
        self.assertEqual(d2["CreationDate"], d["CreationDate"])
        self.assertGreaterEqual(d2["LastModifiedDate"], d["LastModifiedDate"])
        self.assertError(self.dev, "ResourceNotFoundException", 404, self.dev.describe_dataset,
                         IdentityPoolId=a1.pool, IdentityId=a1.id, DatasetName="no-such-dataset")

    def test_list_datasets_and_paging(self):
        a2 = self.a2
        names = [f"ds-{i}" for i in range(5)]
        for n in names:
            sync(self.dev, a2, n, [patch("k", n)])
        r = self.dev.list_datasets(IdentityPoolId=a2.pool, IdentityId=a2.id)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        listed = {d["DatasetName"]: d for d in r["Datasets"]}
        self.assertTrue(set(names) <= set(listed), f"listed: {sorted(listed)}")
        self.assertEqual(r["Count"], len(r["Datasets"]))
        self.assertNotIn("NextToken", r)
        for n in names:
            self.assertDataset(listed[n], a2, n)
            self.assertEqual(listed[n]["NumRecords"], 1)
        seen, token, pages = [], None, 0
        while True:
            r = self.dev.list_datasets(IdentityPoolId=a2.pool, IdentityId=a2.id, MaxResults=2,
                                       **({"NextToken": token} if token else {}))
            pages += 1
            self.assertLessEqual(len(r["Datasets"]), 2)
            seen += [d["DatasetName"] for d in r["Datasets"]]
            token = r.get("NextToken")
            if not token:
                break
            self.assertLess(pages, 50, "paging does not end")
        self.assertEqual(sorted(seen), sorted(listed), "paging covers every dataset exactly once")
        self.assertEqual(len(seen), len(set(seen)))
        self.assertGreaterEqual(pages, 3)

    def test_delete_dataset(self):
        a1, ds = self.a1, "doomed"
        sync(self.dev, a1, ds, [patch("p", "1"), patch("q", "2")])
        sync(self.dev, a1, ds, [patch("p", "1b", 1)])
        sync(self.dev, a1, ds, [patch("r", "3")])  # dataset sync count 3 at deletion
        before = self.describe(a1, ds)["Dataset"]
        r = self.dev.delete_dataset(IdentityPoolId=a1.pool, IdentityId=a1.id, DatasetName=ds)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        d = r["Dataset"]
        self.assertDataset(d, a1, ds)
        self.assertEqual(d["NumRecords"], 3, "DeleteDataset returns the dataset as it was")
        self.assertEqual(d["CreationDate"], before["CreationDate"])
        self.assertEqual(d["DataStorage"], before["DataStorage"])
        self.assertError(self.dev, "ResourceNotFoundException", 404, self.dev.describe_dataset,
                         IdentityPoolId=a1.pool, IdentityId=a1.id, DatasetName=ds)
        self.assertError(self.dev, "ResourceNotFoundException", 404, self.dev.delete_dataset,
                         IdentityPoolId=a1.pool, IdentityId=a1.id, DatasetName=ds)
        names = [x["DatasetName"] for x in
                 self.dev.list_datasets(IdentityPoolId=a1.pool, IdentityId=a1.id, MaxResults=1024)["Datasets"]]
        self.assertNotIn(ds, names)
        for last in (0, 1, 2):
            with self.subTest(lastSyncCount=last):
                _, lst = records(self.dev, a1, ds, LastSyncCount=last)
                self.assertIs(lst["DatasetDeletedAfterRequestedSyncCount"], True)
                self.assertIs(lst["DatasetExists"], False)
                self.assertTrue(lst["SyncSessionToken"])

    def test_describe_identity_usage(self):
        a8 = self.srv.ident("a8")  # written only here
        sync(self.dev, a8, "u1", [patch("k", "v")])
        sync(self.dev, a8, "u2", [patch("k", "vv"), patch("j", "w")])
        r = self.dev.describe_identity_usage(IdentityPoolId=a8.pool, IdentityId=a8.id)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        u = r["IdentityUsage"]
        self.assertEqual(u["IdentityId"], a8.id)
        self.assertEqual(u["IdentityPoolId"], a8.pool)
        self.assertEqual(u["DatasetCount"], 2)
        self.assertIsInstance(u["DataStorage"], int)
        self.assertGreater(u["DataStorage"], 0)
        self.assertTimestamp(u["LastModifiedDate"], "IdentityUsage.LastModifiedDate")
        sync(self.dev, a8, "u3", [patch("big", "x" * 1000)])
        u2 = self.dev.describe_identity_usage(IdentityPoolId=a8.pool, IdentityId=a8.id)["IdentityUsage"]
        self.assertEqual(u2["DatasetCount"], 3)
        self.assertGreater(u2["DataStorage"], u["DataStorage"])
        self.dev.delete_dataset(IdentityPoolId=a8.pool, IdentityId=a8.id, DatasetName="u3")
        u3 = self.dev.describe_identity_usage(IdentityPoolId=a8.pool, IdentityId=a8.id)["IdentityUsage"]
        self.assertEqual(u3["DatasetCount"], 2)
        self.assertEqual(u3["DataStorage"], u["DataStorage"])
