"""Push sync: RegisterDevice, SubscribeToDataset, UnsubscribeFromDataset and the notifications
recorded at GET /_local/notifications."""

import harness
from harness import APP_ARN, P1, P2, PUSH_ROLE_ARN
from checks import ConformanceTest, patch, sync


class PushSyncTest(ConformanceTest):
    @classmethod
    def setUpClass(cls):
        cls.srv = harness.server("main")
        cls.dev = cls.srv.client()
        cls.a6 = cls.srv.ident("a6")
        cls.c6 = cls.srv.client("a6")
        cls.dev.set_identity_pool_configuration(
            IdentityPoolId=P1, PushSync={"ApplicationArns": [APP_ARN], "RoleArn": PUSH_ROLE_ARN})

    def register(self, platform, token):
        r = self.c6.register_device(IdentityPoolId=self.a6.pool, IdentityId=self.a6.id, Platform=platform,
                                    Token=token)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertIsInstance(r["DeviceId"], str)
        self.assertTrue(1 <= len(r["DeviceId"]) <= 256, r["DeviceId"])
        return r["DeviceId"]

    def where(self, ds, device):
        return dict(IdentityPoolId=self.a6.pool, IdentityId=self.a6.id, DatasetName=ds, DeviceId=device)

    def mine(self, ds):
        return [n for n in self.srv.notifications()
                if n["identity_id"] == self.a6.id and n["dataset_name"] == ds]

    def test_register_subscribe_notify_unsubscribe(self):
        ds = "pushed"
        d1 = self.register("GCM", "gcm-token-1")
        d2 = self.register("APNS", "apns-token-2")
        self.assertNotEqual(d1, d2)
        for d in (d1, d2):
            r = self.c6.subscribe_to_dataset(**self.where(ds, d))
            self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
            self.assertEqual(set(r), {"ResponseMetadata"})
        self.assertEqual(self.mine(ds), [])
        sync(self.c6, self.a6, ds, [patch("k", "v1")])
        got = self.mine(ds)
        self.assertEqual(len(got), 2, got)
        by_dev = {n["device_id"]: n for n in got}
        self.assertEqual(set(by_dev), {d1, d2})
        self.assertEqual((by_dev[d1]["platform"], by_dev[d1]["token"]), ("GCM", "gcm-token-1"))
        self.assertEqual((by_dev[d2]["platform"], by_dev[d2]["token"]), ("APNS", "apns-token-2"))
        for n in got:
            self.assertEqual(n["identity_pool_id"], P1)
            self.assertEqual(n["sync_count"], 1)
            self.assertIsInstance(n["at_ms"], int)
        r = self.c6.unsubscribe_from_dataset(**self.where(ds, d2))
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(set(r), {"ResponseMetadata"})
        sync(self.c6, self.a6, ds, [patch("k", "v2", 1)])
        new = self.mine(ds)[2:]
        self.assertEqual([(n["device_id"], n["sync_count"]) for n in new], [(d1, 2)])
        # a developer's update notifies too; another dataset notifies nobody
        sync(self.dev, self.a6, ds, [patch("k", "v3", 2)])
        self.assertEqual([(n["device_id"], n["sync_count"]) for n in self.mine(ds)[3:]], [(d1, 3)])
        sync(self.c6, self.a6, "not-subscribed", [patch("k", "v")])
        self.assertEqual(self.mine("not-subscribed"), [])

    def test_unknown_device(self):
        rnf = "ResourceNotFoundException"
        self.assertError(self.c6, rnf, 404, self.c6.subscribe_to_dataset, **self.where("pushed", "no-such-device"))
        self.assertError(self.c6, rnf, 404, self.c6.unsubscribe_from_dataset, **self.where("pushed", "no-such-device"))

    def test_invalid_platform(self):
        self.assertError(self.c6, "InvalidParameterException", 400, self.c6.register_device,
                         IdentityPoolId=self.a6.pool, IdentityId=self.a6.id, Platform="WINDOWS", Token="t")

    def test_pool_without_push_sync(self):
        b1 = self.srv.ident("b1")
        cb = self.srv.client("b1")
        self.assertError(cb, "InvalidConfigurationException", 400, cb.register_device, IdentityPoolId=P2,
                         IdentityId=b1.id, Platform="GCM", Token="t")

    def test_identity_only_operations(self):
        d = self.register("ADM", "adm-token")
        na = "NotAuthorizedException"
        self.assertError(self.dev, na, 403, self.dev.register_device, IdentityPoolId=self.a6.pool,
                         IdentityId=self.a6.id, Platform="GCM", Token="t")
        self.assertError(self.dev, na, 403, self.dev.subscribe_to_dataset, **self.where("pushed-x", d))
        self.c6.subscribe_to_dataset(**self.where("pushed-dev", d))
        self.assertError(self.dev, na, 403, self.dev.unsubscribe_from_dataset, **self.where("pushed-dev", d))
        # another identity's device and data
        c3 = self.srv.client("a3")
        self.assertError(c3, na, 403, c3.register_device, IdentityPoolId=self.a6.pool, IdentityId=self.a6.id,
                         Platform="GCM", Token="t")
        self.assertError(c3, na, 403, c3.subscribe_to_dataset, **self.where("pushed-x", d))
