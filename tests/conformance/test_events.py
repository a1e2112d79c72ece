"""Get/SetCognitoEvents and the in-process Sync Trigger (rules in trigger_rules.toml: datasets
"trig*": `score` must be an integer, `email` is trimmed and lowercased): rejection
(InvalidLambdaFunctionOutput), transformation, not run for developer credentials, and
`reserved_concurrency = 0` → LambdaThrottled. Sync Triggers through a `[lambda]` endpoint are
tested in Rust (the real sync-trigger function under the Lambda emulator; SDK-level mocks for
Lambda's throttling), not here."""

import harness
from harness import P4, P6, THROTTLED_ARN, VALIDATE_ARN
from checks import ConformanceTest, patch, records, session_token, sync


class CognitoEventsTest(ConformanceTest):
    @classmethod
    def setUpClass(cls):
        cls.srv = harness.server("main")
        cls.dev = cls.srv.client()

    def events(self, pool):
        r = self.dev.get_cognito_events(IdentityPoolId=pool)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        return r.get("Events", {})

    def test_default_is_empty(self):
        self.assertEqual(self.events(P4), {})

    def test_set_get_remove(self):
        r = self.dev.set_cognito_events(IdentityPoolId=P6, Events={"SyncTrigger": VALIDATE_ARN})
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(set(r), {"ResponseMetadata"}, "SetCognitoEvents has no output members")
        self.assertEqual(self.events(P6), {"SyncTrigger": VALIDATE_ARN})
        self.dev.set_cognito_events(IdentityPoolId=P6, Events={"SyncTrigger": ""})
        self.assertEqual(self.events(P6), {})
        self.assertEqual(self.events(P4), {}, "another pool is untouched")

    def test_invalid_events(self):
        ip = "InvalidParameterException"
        for events in ({"NotSyncTrigger": VALIDATE_ARN},
                       {"SyncTrigger": VALIDATE_ARN, "Other": VALIDATE_ARN}):
            with self.subTest(events=events):
                self.assertError(self.dev, ip, 400, self.dev.set_cognito_events, IdentityPoolId=P6, Events=events)


class SyncTriggerTest(ConformanceTest):
    @classmethod
    def setUpClass(cls):
        cls.srv = harness.server("main")
        cls.dev = cls.srv.client()
        cls.f1 = cls.srv.ident("f1")
        cls.cf1 = cls.srv.client("f1")

    def trigger(self, arn):
        self.dev.set_cognito_events(IdentityPoolId=P6, Events={"SyncTrigger": arn})
        self.assertEqual(self.dev.get_cognito_events(IdentityPoolId=P6).get("Events"), {"SyncTrigger": arn})

    def test_rejection(self):
        self.trigger(VALIDATE_ARN)
        f1, ds = self.f1, "trig-reject"
        sync(self.cf1, f1, ds, [patch("score", "10")])
        tok = session_token(self.cf1, f1, ds)
        self.assertError(self.cf1, "InvalidLambdaFunctionOutputException", 400, self.cf1.update_records,
                         IdentityPoolId=f1.pool, IdentityId=f1.id, DatasetName=ds, SyncSessionToken=tok,
                         RecordPatches=[patch("score", "ten", 1), patch("other", "x")])
        recs, lst = records(self.cf1, f1, ds)
        self.assertEqual({k: (v.get("Value"), v["SyncCount"]) for k, v in recs.items()}, {"score": ("10", 1)},
                         "a rejected sync changes nothing")
        self.assertEqual(lst["DatasetSyncCount"], 1)

    def test_transformation_is_stored(self):
        self.trigger(VALIDATE_ARN)
        f1, ds = self.f1, "trig-transform"
        sync(self.cf1, f1, ds, [patch("email", "  Ada@Example.COM "), patch("score", "42"), patch("note", " As Is ")])
        recs, _ = records(self.cf1, f1, ds)
        self.assertEqual(recs["email"]["Value"], "ada@example.com")
        self.assertEqual(recs["score"]["Value"], "42")
        self.assertEqual(recs["note"]["Value"], " As Is ", "keys without a rule are untouched")
        # datasets the rules do not cover pass unchanged
        sync(self.cf1, f1, "untriggered", [patch("email", "  KEEP@Example.COM "), patch("score", "x")])
        recs, _ = records(self.cf1, f1, "untriggered")
        self.assertEqual(recs["email"]["Value"], "  KEEP@Example.COM ")
        self.assertEqual(recs["score"]["Value"], "x")

    def test_developer_credentials_do_not_run_the_trigger(self):
        self.trigger(VALIDATE_ARN)
        f1, ds = self.f1, "trig-dev"
        sync(self.dev, f1, ds, [patch("score", "not-a-number"), patch("email", " UP@CASE.COM ")])
        recs, _ = records(self.dev, f1, ds)
        self.assertEqual(recs["score"]["Value"], "not-a-number")
        self.assertEqual(recs["email"]["Value"], " UP@CASE.COM ")

    def test_throttled_trigger(self):
        self.trigger(THROTTLED_ARN)
        try:
            f1, ds = self.f1, "plain"  # any dataset: the function itself is throttled
            tok = session_token(self.cf1, f1, ds)
            self.assertError(self.cf1, "LambdaThrottledException", 429, self.cf1.update_records,
                             IdentityPoolId=f1.pool, IdentityId=f1.id, DatasetName=ds, SyncSessionToken=tok,
                             RecordPatches=[patch("k", "v")])
            _, lst = records(self.cf1, f1, ds)
            self.assertIs(lst["DatasetExists"], False, "a throttled sync changes nothing")
        finally:
            self.dev.set_cognito_events(IdentityPoolId=P6, Events={"SyncTrigger": ""})
        r = sync(self.cf1, self.f1, "plain", [patch("k", "v")])  # without a trigger it goes through
        self.assertEqual(r["Records"][0]["Value"], "v")
