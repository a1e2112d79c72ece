"""Authentication (SigV4, 403 codes), who may call what, unknown pools, --no-verify and
requests_per_second (TooManyRequestsException)."""

import harness
from harness import P1, P2, UNKNOWN_POOL
from checks import ConformanceTest, patch, session_token, sync


class SignatureTest(ConformanceTest):
    @classmethod
    def setUpClass(cls):
        cls.srv = harness.server("main")
        cls.a1 = cls.srv.ident("a1")

    def test_wrong_secret(self):
        c = self.srv.client("dev", secret="not-the-dev-secret")
        self.assertAuthError("InvalidSignatureException", c.list_datasets,
                             IdentityPoolId=self.a1.pool, IdentityId=self.a1.id)
        a3 = self.srv.ident("a3")
        c = self.srv.client("a3", secret="wrong")
        self.assertAuthError("InvalidSignatureException", c.list_datasets, IdentityPoolId=a3.pool, IdentityId=a3.id)

    def test_unknown_access_key(self):
        c = self.srv.client("AKIUNKNOWN")
        self.assertAuthError("UnrecognizedClientException", c.list_datasets,
                             IdentityPoolId=self.a1.pool, IdentityId=self.a1.id)
        self.assertAuthError("UnrecognizedClientException", c.list_identity_pool_usage)

    def test_unsigned(self):
        c = self.srv.client(unsigned=True)
        self.assertAuthError("MissingAuthenticationTokenException", c.list_datasets,
                             IdentityPoolId=self.a1.pool, IdentityId=self.a1.id)
        self.assertAuthError("MissingAuthenticationTokenException", c.list_identity_pool_usage)

    def test_correct_signature(self):
        r = self.srv.client().list_identity_pool_usage()
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)


class ScopeTest(ConformanceTest):
    """Identity credentials reach their own identity only; developer-only operations."""

    @classmethod
    def setUpClass(cls):
        cls.srv = harness.server("main")
        cls.dev = cls.srv.client()
        cls.a1, cls.a3, cls.b1 = cls.srv.ident("a1"), cls.srv.ident("a3"), cls.srv.ident("b1")
        cls.c3 = cls.srv.client("a3")

    def test_identity_reaches_its_own_data(self):
        a3, c = self.a3, self.c3
        r = sync(c, a3, "mine", [patch("k", "v")])
        self.assertEqual(r["Records"][0]["Value"], "v")
        names = [d["DatasetName"] for d in c.list_datasets(IdentityPoolId=a3.pool, IdentityId=a3.id)["Datasets"]]
        self.assertIn("mine", names)
        d = c.describe_dataset(IdentityPoolId=a3.pool, IdentityId=a3.id, DatasetName="mine")["Dataset"]
        self.assertEqual(d["NumRecords"], 1)
        u = c.describe_identity_usage(IdentityPoolId=a3.pool, IdentityId=a3.id)["IdentityUsage"]
        self.assertGreaterEqual(u["DatasetCount"], 1)
        # a developer sees the identity's data too
        d = self.dev.describe_dataset(IdentityPoolId=a3.pool, IdentityId=a3.id, DatasetName="mine")["Dataset"]
        self.assertEqual(d["NumRecords"], 1)

    def test_other_identity_and_other_pool_not_authorized(self):
        a1, b1, c = self.a1, self.b1, self.c3
        sync(self.dev, a1, "private", [patch("secret", "s")])
        tok_a1 = session_token(self.dev, a1, "private")
        na = "NotAuthorizedException"
        for who in (a1, b1):
            where = dict(IdentityPoolId=who.pool, IdentityId=who.id)
            with self.subTest(target=who.name):
                self.assertError(c, na, 403, c.list_datasets, **where)
                self.assertError(c, na, 403, c.describe_identity_usage, **where)
                self.assertError(c, na, 403, c.list_records, DatasetName="private", **where)
                self.assertError(c, na, 403, c.describe_dataset, DatasetName="private", **where)
                self.assertError(c, na, 403, c.delete_dataset, DatasetName="private", **where)
        self.assertError(c, na, 403, c.update_records, IdentityPoolId=a1.pool, IdentityId=a1.id,
                         DatasetName="private", SyncSessionToken=tok_a1, RecordPatches=[patch("secret", "x", 1)])
        # nothing leaked or changed
        d = self.dev.describe_dataset(IdentityPoolId=a1.pool, IdentityId=a1.id, DatasetName="private")["Dataset"]
        self.assertEqual(d["NumRecords"], 1)
        r = self.dev.list_records(IdentityPoolId=a1.pool, IdentityId=a1.id, DatasetName="private")
        self.assertEqual([(x["Key"], x["Value"], x["SyncCount"]) for x in r["Records"]], [("secret", "s", 1)])
        # an identity's own id under another pool id
        self.assertError(c, na, 403, c.list_datasets, IdentityPoolId=P2, IdentityId=self.a3.id)

    def test_developer_only_operations(self):
        c, na = self.c3, "NotAuthorizedException"
        calls = [
            (c.bulk_publish, dict(IdentityPoolId=P1)),
            (c.get_bulk_publish_details, dict(IdentityPoolId=P1)),
            (c.describe_identity_pool_usage, dict(IdentityPoolId=P1)),
            (c.list_identity_pool_usage, {}),
            (c.get_cognito_events, dict(IdentityPoolId=P1)),
            (c.set_cognito_events, dict(IdentityPoolId=P1, Events={"SyncTrigger": ""})),
            (c.get_identity_pool_configuration, dict(IdentityPoolId=P1)),
            (c.set_identity_pool_configuration, dict(IdentityPoolId=P1,
                                                     CognitoStreams={"StreamingStatus": "DISABLED"})),
        ]
        for fn, kw in calls:
            with self.subTest(op=fn.__name__):
                self.assertError(c, na, 403, fn, **kw)

    def test_unknown_pool_with_developer_credentials(self):
        d, rnf = self.dev, "ResourceNotFoundException"
        a1 = self.a1
        calls = [
            (d.describe_identity_pool_usage, dict(IdentityPoolId=UNKNOWN_POOL)),
            (d.get_identity_pool_configuration, dict(IdentityPoolId=UNKNOWN_POOL)),
            (d.set_identity_pool_configuration, dict(IdentityPoolId=UNKNOWN_POOL,
                                                     CognitoStreams={"StreamingStatus": "DISABLED"})),
            (d.get_cognito_events, dict(IdentityPoolId=UNKNOWN_POOL)),
            (d.set_cognito_events, dict(IdentityPoolId=UNKNOWN_POOL, Events={"SyncTrigger": ""})),
            (d.bulk_publish, dict(IdentityPoolId=UNKNOWN_POOL)),
            (d.get_bulk_publish_details, dict(IdentityPoolId=UNKNOWN_POOL)),
            (d.describe_identity_usage, dict(IdentityPoolId=UNKNOWN_POOL, IdentityId=a1.id)),
            (d.describe_dataset, dict(IdentityPoolId=UNKNOWN_POOL, IdentityId=a1.id, DatasetName="x")),
            (d.delete_dataset, dict(IdentityPoolId=UNKNOWN_POOL, IdentityId=a1.id, DatasetName="x")),
        ]
        for fn, kw in calls:
            with self.subTest(op=fn.__name__):
                self.assertError(d, rnf, 404, fn, **kw)


class NoVerifyAndRateTest(ConformanceTest):
    """Server "rate": --no-verify, requests_per_second = 2 per access key."""

    @classmethod
    def setUpClass(cls):
        cls.srv = harness.server("rate")

    def test_no_verify_accepts_any_secret_but_keeps_the_principal(self):
        r = self.srv.client("dev", secret="anything").list_identity_pool_usage()
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        r1, r2 = self.srv.ident("r1"), self.srv.ident("r2")
        c = self.srv.client("r1", secret="anything")
        out = c.list_datasets(IdentityPoolId=r1.pool, IdentityId=r1.id)
        self.assertEqual(out["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertError(c, "NotAuthorizedException", 403, c.list_datasets, IdentityPoolId=r2.pool, IdentityId=r2.id)
        c2 = self.srv.client("r2", secret="anything")  # each key makes at most 2 requests here (2/s)
        self.assertError(c2, "NotAuthorizedException", 403, c2.describe_identity_pool_usage, IdentityPoolId=r2.pool)
        self.assertAuthError("UnrecognizedClientException", self.srv.client("AKIUNKNOWN").list_identity_pool_usage)

    def test_requests_per_second(self):
        c1 = self.srv.client("AKIRATE1", secret="r1")
        outcomes = []
        for _ in range(12):
            try:
                c1.list_identity_pool_usage()
                outcomes.append("ok")
            except c1.exceptions.TooManyRequestsException as e:
                outcomes.append(e.response["ResponseMetadata"]["HTTPStatusCode"])
        self.assertEqual(outcomes[0], "ok", outcomes)
        self.assertIn(429, outcomes, f"12 requests in a burst at 2/s: {outcomes}")
        self.assertTrue(set(outcomes) <= {"ok", 429}, outcomes)
        self.assertLessEqual(outcomes.count("ok"), 4, outcomes)
        # the limit is per access key: another key is not throttled
        r = self.srv.client("AKIRATE2", secret="r2").list_identity_pool_usage()
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)

        def attempt():
            self.srv.advance_clock(1)  # whichever clock the limiter reads, time passes
            try:
                c1.list_identity_pool_usage()
                return "ok"
            except c1.exceptions.TooManyRequestsException:
                return 429

        self.poll(attempt, lambda x: x == "ok", timeout=10, interval=0.5, what="the key recovering")
