"""DescribeIdentityPoolUsage, ListIdentityPoolUsage, Get/SetIdentityPoolConfiguration."""

import harness
from harness import APP_ARN, P1, P2, P3, P4, P5, P6, PUSH_ROLE_ARN, ROLE_ARN
from checks import ConformanceTest, patch, session_token, sync

ALL_POOLS = {P1, P2, P3, P4, P5, P6}


class PoolUsageTest(ConformanceTest):
    @classmethod
    def setUpClass(cls):
        cls.srv = harness.server("main")
        cls.dev = cls.srv.client()

    def usage(self, pool):
        r = self.dev.describe_identity_pool_usage(IdentityPoolId=pool)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        u = r["IdentityPoolUsage"]
        self.assertEqual(u["IdentityPoolId"], pool)
        self.assertIsInstance(u["SyncSessionsCount"], int)
        self.assertIsInstance(u["DataStorage"], int)
        if "LastModifiedDate" in u:
            self.assertTimestamp(u["LastModifiedDate"], "IdentityPoolUsage.LastModifiedDate")
        return u

    def test_describe_identity_pool_usage(self):
        u4 = self.usage(P4)  # never used by any test
        self.assertEqual((u4["SyncSessionsCount"], u4["DataStorage"]), (0, 0))
        a1 = self.srv.ident("a1")
        before = self.usage(P1)
        session_token(self.dev, a1, "pool-usage")
        after_session = self.usage(P1)
        self.assertGreater(after_session["SyncSessionsCount"], before["SyncSessionsCount"])
        sync(self.dev, a1, "pool-usage", [patch("grow", "x" * 500)])
        after = self.usage(P1)
        self.assertGreater(after["DataStorage"], before["DataStorage"])
        self.assertTimestamp(after.get("LastModifiedDate"), "LastModifiedDate of a written pool")

    def test_list_identity_pool_usage(self):
        r = self.dev.list_identity_pool_usage()
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        ids = [u["IdentityPoolId"] for u in r["IdentityPoolUsages"]]
        self.assertEqual(sorted(ids), sorted(ALL_POOLS), "every configured pool, once")
        self.assertEqual(r["Count"], len(ALL_POOLS))
        self.assertNotIn("NextToken", r)
        for u in r["IdentityPoolUsages"]:
            self.assertIsInstance(u["SyncSessionsCount"], int)
            self.assertIsInstance(u["DataStorage"], int)
        seen, token, pages = [], None, 0
        while True:
            r = self.dev.list_identity_pool_usage(MaxResults=2, **({"NextToken": token} if token else {}))
            pages += 1
            self.assertEqual(r["MaxResults"], 2, "MaxResults is echoed")
            self.assertIsInstance(r["Count"], int)
            self.assertLessEqual(len(r["IdentityPoolUsages"]), 2)
            seen += [u["IdentityPoolId"] for u in r["IdentityPoolUsages"]]
            token = r.get("NextToken")
            if not token:
                break
            self.assertLess(pages, 20, "paging does not end")
        self.assertEqual(sorted(seen), sorted(ALL_POOLS))
        self.assertEqual(pages, 3)


class PoolConfigurationTest(ConformanceTest):
    @classmethod
    def setUpClass(cls):
        cls.srv = harness.server("main")
        cls.dev = cls.srv.client()

    def test_defaults(self):
        r = self.dev.get_identity_pool_configuration(IdentityPoolId=P4)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(r["IdentityPoolId"], P4)
        self.assertEqual(r["CognitoStreams"]["StreamingStatus"], "DISABLED")

    def test_set_and_get(self):
        streams = {"StreamName": "conformance-config", "RoleArn": ROLE_ARN, "StreamingStatus": "ENABLED"}
        push = {"ApplicationArns": [APP_ARN], "RoleArn": PUSH_ROLE_ARN}
        r = self.dev.set_identity_pool_configuration(IdentityPoolId=P5, CognitoStreams=streams, PushSync=push)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(r["IdentityPoolId"], P5)
        self.assertEqual(r["CognitoStreams"], streams)
        self.assertEqual(r["PushSync"], push)
        g = self.dev.get_identity_pool_configuration(IdentityPoolId=P5)
        self.assertEqual(g["IdentityPoolId"], P5)
        self.assertEqual(g["CognitoStreams"], streams)
        self.assertEqual(g["PushSync"], push)
        off = {"StreamName": "conformance-config", "RoleArn": ROLE_ARN, "StreamingStatus": "DISABLED"}
        r = self.dev.set_identity_pool_configuration(IdentityPoolId=P5, CognitoStreams=off)
        self.assertEqual(r["CognitoStreams"]["StreamingStatus"], "DISABLED")
        g = self.dev.get_identity_pool_configuration(IdentityPoolId=P5)
        self.assertEqual(g["CognitoStreams"]["StreamingStatus"], "DISABLED")
        # other pools are untouched
        self.assertEqual(self.dev.get_identity_pool_configuration(IdentityPoolId=P4)["CognitoStreams"]
                         ["StreamingStatus"], "DISABLED")

    def test_invalid_configurations(self):
        ip = "InvalidParameterException"
        bad_streams = {
            "enabled without StreamName": {"RoleArn": ROLE_ARN, "StreamingStatus": "ENABLED"},
            "enabled without RoleArn": {"StreamName": "s", "StreamingStatus": "ENABLED"},
            "RoleArn not an IAM role": {"StreamName": "s", "RoleArn": "arn:aws:iam::notdigits:role/x",
                                        "StreamingStatus": "ENABLED"},
            "RoleArn of a user": {"StreamName": "s", "RoleArn": "arn:aws:iam::123456789012:user/someone",
                                  "StreamingStatus": "ENABLED"},
        }
        for what, streams in bad_streams.items():
            with self.subTest(what):
                self.assertError(self.dev, ip, 400, self.dev.set_identity_pool_configuration,
                                 IdentityPoolId=P5, CognitoStreams=streams)
        bad_push = {
            "platform not upper case": "arn:aws:sns:us-east-1:123456789012:app/gcm/app",
            "not an app": "arn:aws:sns:us-east-1:123456789012:topic/GCM/app",
            "account not digits": "arn:aws:sns:us-east-1:acct:app/GCM/app",
        }
        for what, arn in bad_push.items():
            with self.subTest(what):
                self.assertError(self.dev, ip, 400, self.dev.set_identity_pool_configuration, IdentityPoolId=P5,
                                 PushSync={"ApplicationArns": [arn], "RoleArn": PUSH_ROLE_ARN})
