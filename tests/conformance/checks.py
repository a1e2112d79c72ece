"""Helpers of the conformance tests: record patches, sync (ListRecords + UpdateRecords), paging,
and ConformanceTest's assertions (exact modelled exception class and HTTP status, shapes)."""

import datetime
import time
import unittest

from botocore.exceptions import ClientError


def patch(key, value=None, sync_count=0, op="replace", **extra):
    p = {"Op": op, "Key": key, "SyncCount": sync_count, **extra}
    if value is not None:
        p["Value"] = value
    return p


def session_token(client, ident, dataset):
    return client.list_records(IdentityPoolId=ident.pool, IdentityId=ident.id,
                               DatasetName=dataset)["SyncSessionToken"]


def sync(client, ident, dataset, patches, **kw):
    """ListRecords for a fresh SyncSessionToken, then UpdateRecords."""
    tok = session_token(client, ident, dataset)
    return client.update_records(IdentityPoolId=ident.pool, IdentityId=ident.id, DatasetName=dataset,
                                 RecordPatches=patches, SyncSessionToken=tok, **kw)


def records(client, ident, dataset, **kw):
    """All pages of ListRecords → (records by key, last response)."""
    out, token = {}, None
    while True:
        extra = dict(kw, **({"NextToken": token} if token else {}))
        r = client.list_records(IdentityPoolId=ident.pool, IdentityId=ident.id, DatasetName=dataset, **extra)
        for rec in r.get("Records", []):
            if rec["Key"] in out:
                raise AssertionError(f"key {rec['Key']!r} returned twice while paging")
            out[rec["Key"]] = rec
        token = r.get("NextToken")
        if not token:
            return out, r


class ConformanceTest(unittest.TestCase):
    maxDiff = 4000

    def assertError(self, client, name, status, fn, **kwargs):
        """fn(**kwargs) must fail with modelled exception `name` (its boto3 class) and `status`."""
        try:
            fn(**kwargs)
        except ClientError as e:
            err = e
        else:
            self.fail(f"{fn.__name__}({_short(kwargs)}) succeeded; expected {name} ({status})")
        got = (err.response.get("Error", {}).get("Code"), err.response["ResponseMetadata"]["HTTPStatusCode"],
               err.response.get("Error", {}).get("Message"))
        self.assertIsInstance(err, getattr(client.exceptions, name),
                              f"{fn.__name__}: expected {name} ({status}), got {got}")
        self.assertEqual(got[1], status, f"{fn.__name__}: HTTP status of {name}: {got}")
        self.assertTrue(got[2], f"{fn.__name__}: {name} without its required message: {err.response}")
        return err

    def assertAuthError(self, code, fn, **kwargs):
        """A non-modelled auth error: Error.Code and HTTP 403."""
        try:
            fn(**kwargs)
        except ClientError as e:
            err = e
        else:
            self.fail(f"{fn.__name__} succeeded; expected {code} (403)")
        got = (err.response.get("Error", {}).get("Code"), err.response["ResponseMetadata"]["HTTPStatusCode"])
        self.assertEqual(got, (code, 403), f"{fn.__name__}: {err.response.get('Error')}")
        return err

    def assertTimestamp(self, v, what="timestamp"):
        self.assertIsInstance(v, datetime.datetime, f"{what} should parse as a datetime: {v!r}")

    def assertDataset(self, d, ident, name):
        self.assertEqual(d["IdentityId"], ident.id)
        self.assertEqual(d["DatasetName"], name)
        self.assertTimestamp(d["CreationDate"], "CreationDate")
        self.assertTimestamp(d["LastModifiedDate"], "LastModifiedDate")
        self.assertLessEqual(d["CreationDate"], d["LastModifiedDate"])
        self.assertIsInstance(d["LastModifiedBy"], str)
        self.assertTrue(d["LastModifiedBy"])
        self.assertIsInstance(d["DataStorage"], int)
        self.assertIsInstance(d["NumRecords"], int)

    def assertRecord(self, rec, key, value, sync_count):
        self.assertEqual(rec["Key"], key)
        if value is None:
            self.assertNotIn("Value", rec, f"record {key!r} should have no Value: {rec}")
        else:
            self.assertEqual(rec.get("Value"), value, f"record {key!r}")
        self.assertEqual(rec["SyncCount"], sync_count, f"SyncCount of {key!r}: {rec}")
        self.assertIsInstance(rec["SyncCount"], int)
        self.assertTimestamp(rec["LastModifiedDate"], "Record.LastModifiedDate")
        self.assertIsInstance(rec["LastModifiedBy"], str)

    def poll(self, fn, done, timeout=30, interval=0.1, what="condition"):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = fn()
            if done(last):
                return last
            time.sleep(interval)
        self.fail(f"{what} not reached within {timeout}s; last: {last!r}")


def _short(kwargs):
    s = repr({k: (v if len(repr(v)) < 80 else repr(v)[:77] + "...") for k, v in kwargs.items()})
    return s[:300]
