//! A failed fetch's dead letter names the URL without the credentials in its query string.
#![allow(clippy::unwrap_used)]

use synclake_lake::{FetchOptions, ReplayOptions};
use synclake_testkit::fixtures;
use synclake_testkit::replay::run_replay;
use synclake_testkit::table::read_dead_letters;

const SIGNATURE: &str = "5ec7e75161a7a7e5";
const TOKEN: &str = "FwoGZXIvYXdzSESSIONTOKEN";

#[test]
fn the_dead_letter_error_column_holds_no_signature() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url =
        format!("http://127.0.0.1:{port}/bucket/records.json?X-Amz-Security-Token={TOKEN}&X-Amz-Signature={SIGNATURE}");
    let tmp = tempfile::tempdir().unwrap();
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("payloads/s3url.json")).unwrap()).unwrap();
    v["kinesisSyncRecordsURL"] = url.into();
    let input = tmp.path().join("capture.jsonl");
    std::fs::write(&input, format!("{}\n", serde_json::to_string(&v).unwrap())).unwrap();
    let out = tmp.path().join("lake");
    let fetch = FetchOptions {
        attempts: 1,
        allow_hosts: vec![format!("127.0.0.1:{port}").parse().unwrap()],
        ..FetchOptions::default()
    };
    run_replay(&[input], &out, None, 1 << 30, &ReplayOptions::default(), fetch);
    let dead = read_dead_letters(&out);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].error_kind, "fetch_transport", "{}", dead[0].error);
    assert!(dead[0].error.contains("/bucket/records.json"), "{}", dead[0].error);
    assert!(!dead[0].error.contains(SIGNATURE), "{}", dead[0].error);
    assert!(!dead[0].error.contains(TOKEN), "{}", dead[0].error);
    // The raw record is the payload itself: its URL, signature included, is kept there.
    assert!(String::from_utf8_lossy(&dead[0].raw).contains(SIGNATURE));
}
