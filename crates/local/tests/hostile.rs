//! Hostile and broken requests, thousands of them from a fixed seed, past the signature check
//! (`--no-verify`): every one gets an answer with a status the API uses and, when it is an
//! error, an `x-amzn-ErrorType` — never a panic, a dropped connection or a 500 — and the service
//! still serves a normal request afterwards.
#![allow(clippy::unwrap_used)]

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use synclake_local::{Clock, Config, Options};
use synclake_testkit::cognito::{IDENTITY, POOL, config_text, raw_request};

const SEGMENTS: &[&str] = &[
    "identitypools",
    "identities",
    "identity",
    "datasets",
    "records",
    "subscriptions",
    "device",
    "events",
    "configuration",
    "bulkpublish",
    "getBulkPublishDetails",
    "us-east-1%3A00000000-0000-4000-8000-000000000001",
    "us-east-1%3A00000000-0000-4000-8000-0000000000a1",
    "us-east-1%3A00000000-0000-4000-8000-0000000000b2",
    "%FF%FE",
    "..",
    "a%2Fb",
    "game",
    "x:y",
    "%00",
    "UPPER-and.dots",
    "",
];
const QUERIES: &[&str] = &[
    "",
    "?maxResults=-1",
    "?maxResults=abc",
    "?maxResults=99999999999999999999",
    "?lastSyncCount=-5",
    "?lastSyncCount=9223372036854775807",
    "?nextToken=zz",
    "?nextToken=6b.99",
    "?nextToken=%FF",
    "?syncSessionToken=x",
    "?maxResults=1&nextToken=",
    "?lastSyncCount=1e3",
];
const BODIES: &[&str] = &[
    "",
    "{",
    "null",
    "[]",
    "\"text\"",
    "{}",
    r#"{"RecordPatches":[{"Op":"replace","Key":"","SyncCount":-1}],"SyncSessionToken":"t"}"#,
    r#"{"RecordPatches":"x","SyncSessionToken":7}"#,
    r#"{"RecordPatches":[{"Op":"explode","Key":"k","SyncCount":0}],"SyncSessionToken":"t"}"#,
    r#"{"RecordPatches":[{"Op":"replace","Key":"k","Value":"v","SyncCount":1e400}],"SyncSessionToken":"t"}"#,
    r#"{"RecordPatches":[{"Op":"replace","Key":"k","Value":"v","SyncCount":0,"DeviceLastModifiedDate":-1e300}],"SyncSessionToken":"t"}"#,
    r#"{"RecordPatches":[{"Op":"replace","Key":"k","Value":"v","SyncCount":0,"DeviceLastModifiedDate":"not a date"}],"SyncSessionToken":"t"}"#,
    r#"{"Events":{"SyncTrigger":123}}"#,
    r#"{"Events":{"A":"x","B":"y"}}"#,
    r#"{"Events":null}"#,
    r#"{"Platform":"X","Token":""}"#,
    r#"{"Platform":"GCM"}"#,
    r#"{"CognitoStreams":{"StreamingStatus":"ENABLED"}}"#,
    r#"{"CognitoStreams":{"StreamName":"","RoleArn":"arn:aws:iam::1:role/r","StreamingStatus":"ENABLED"}}"#,
    r#"{"PushSync":{"ApplicationArns":["nope"],"RoleArn":"x"}}"#,
    r#"{"PushSync":{"ApplicationArns":"nope"}}"#,
];
const METHODS: &[&str] = &["GET", "POST", "DELETE", "PUT", "PATCH"];
/// The 17 operations' methods and paths, `{P}` `{I}` `{D}` `{V}` for pool, identity, dataset
/// and device.
const OPERATIONS: &[(&str, &str)] = &[
    ("POST", "/identitypools/{P}/bulkpublish"),
    ("DELETE", "/identitypools/{P}/identities/{I}/datasets/{D}"),
    ("GET", "/identitypools/{P}/identities/{I}/datasets/{D}"),
    ("GET", "/identitypools/{P}"),
    ("GET", "/identitypools/{P}/identities/{I}"),
    ("POST", "/identitypools/{P}/getBulkPublishDetails"),
    ("GET", "/identitypools/{P}/events"),
    ("GET", "/identitypools/{P}/configuration"),
    ("GET", "/identitypools/{P}/identities/{I}/datasets"),
    ("GET", "/identitypools"),
    ("GET", "/identitypools/{P}/identities/{I}/datasets/{D}/records"),
    ("POST", "/identitypools/{P}/identity/{I}/device"),
    ("POST", "/identitypools/{P}/events"),
    ("POST", "/identitypools/{P}/configuration"),
    (
        "POST",
        "/identitypools/{P}/identities/{I}/datasets/{D}/subscriptions/{V}",
    ),
    (
        "DELETE",
        "/identitypools/{P}/identities/{I}/datasets/{D}/subscriptions/{V}",
    ),
    ("POST", "/identitypools/{P}/identities/{I}/datasets/{D}"),
];
const POOLS: &[&str] = &[
    "us-east-1%3A00000000-0000-4000-8000-000000000001",
    "us-east-1%3A00000000-0000-4000-8000-000000000002",
    "us-east-1%3Affff",
    "nocolon",
    "%FF",
    "",
];
const IDENTITIES: &[&str] = &[
    "us-east-1%3A00000000-0000-4000-8000-0000000000a1",
    "us-east-1%3A00000000-0000-4000-8000-0000000000b2",
    "us-east-1%3AZZ",
    "x",
];
const DATASETS: &[&str] = &["game", "profile", "has%20space", "a%3Ab", "%00", "x"];
const KEYS: &[&str] = &["AKIDA", "AKIDB", "AKIDEV", "AKIDNOBODY"];

#[tokio::test]
async fn every_hostile_request_gets_a_modelled_answer() {
    let config = Config::parse(&config_text("")).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let options = Options {
        data_dir: None,
        verify_signatures: false,
        test_clock: false,
        sync_every_commit: false,
    };
    let running = synclake_local::start(&config, &options, listener, Clock::system())
        .await
        .unwrap();
    let addr = running.addr.to_string();
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let mut statuses = std::collections::BTreeMap::new();
    for _ in 0..1500 {
        let (mut method, mut path) = if rng.random_bool(0.1) {
            // Anything at all.
            let mut path = String::new();
            for _ in 0..rng.random_range(0..9) {
                path.push('/');
                path.push_str(SEGMENTS[rng.random_range(0..SEGMENTS.len())]);
            }
            (
                METHODS[rng.random_range(0..METHODS.len())],
                if path.is_empty() { "/".to_owned() } else { path },
            )
        } else {
            let (method, template) = OPERATIONS[rng.random_range(0..OPERATIONS.len())];
            let path = template
                .replace("{P}", POOLS[rng.random_range(0..POOLS.len())])
                .replace("{I}", IDENTITIES[rng.random_range(0..IDENTITIES.len())])
                .replace("{D}", DATASETS[rng.random_range(0..DATASETS.len())])
                .replace("{V}", SEGMENTS[rng.random_range(0..SEGMENTS.len())]);
            (method, path)
        };
        if rng.random_bool(0.05) {
            method = METHODS[rng.random_range(0..METHODS.len())];
        }
        path.push_str(QUERIES[rng.random_range(0..QUERIES.len())]);
        let body = BODIES[rng.random_range(0..BODIES.len())];
        let key = KEYS[rng.random_range(0..KEYS.len())];
        let headers = vec![
            ("host".to_owned(), addr.clone()),
            (
                "authorization".to_owned(),
                format!(
                    "AWS4-HMAC-SHA256 Credential={key}/20260101/us-east-1/cognito-sync/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"
                ),
            ),
            ("x-amz-date".to_owned(), "20260101T000000Z".to_owned()),
            ("x-amz-client-context".to_owned(), "%%%not base64".to_owned()),
        ];
        let (status, kind) = raw_request(&addr, method, &path, &headers, body.as_bytes()).await;
        assert!(
            matches!(status, 200 | 400 | 403 | 404 | 409 | 429),
            "{method} {path} {body}: status {status} {kind}"
        );
        assert!(
            status == 200 || !kind.is_empty(),
            "{method} {path} {body}: {status} without an error type"
        );
        *statuses.entry(status).or_insert(0) += 1;
    }
    // The mix reached the operations, not only the front door.
    assert!(
        statuses.get(&200).copied().unwrap_or(0) > 10 && statuses.get(&400).copied().unwrap_or(0) > 100,
        "{statuses:?}"
    );
    // And the service still works.
    let ok = raw_request(
        &addr,
        "GET",
        &format!("/identitypools/{}/identities/{}/datasets", POOL.replace(':', "%3A"), IDENTITY.replace(':', "%3A")),
        &[
            ("host".to_owned(), addr.clone()),
            ("authorization".to_owned(), "AWS4-HMAC-SHA256 Credential=AKIDA/20260101/us-east-1/cognito-sync/aws4_request, SignedHeaders=host;x-amz-date, Signature=00".to_owned()),
            ("x-amz-date".to_owned(), "20260101T000000Z".to_owned()),
        ],
        b"",
    )
    .await;
    assert_eq!(ok.0, 200);
    running.stop().await.unwrap();
}
