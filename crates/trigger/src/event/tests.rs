//! Unit tests of the event reader, the response writer and the string decoders.
#![allow(clippy::unwrap_used)]

use super::*;

const EV: &str = r#"{ "version": 2, "x-extra": [1, {"a": null}],
  "identityPoolId": "p", "datasetName": "d",
  "datasetRecords": {"a": {"oldValue": "1", "newValue": "2", "op": "replace", "z": 1},
                     "b\u0041": {"newValue": "n"}, "c": {"oldValue": "o", "op": "remove"}},
  "region": "us-east-1" }"#;

#[test]
fn parses_fields_and_records() {
    let e = Event::parse(EV).expect("valid");
    assert_eq!(e.identity_pool_id, "p");
    assert_eq!(e.dataset_name, "d");
    let keys: Vec<&str> = e.records.iter().map(|r| &*r.key).collect();
    assert_eq!(keys, ["a", "bA", "c"]);
    assert!(matches!(e.records[1].old, Slot::Absent));
    assert_eq!(e.records[2].op, Op::Remove);
    assert!(e.records[2].requested().is_none());
    assert_eq!(e.records[1].requested().map(Raw::get), Some("\"n\""));
}

#[test]
fn unchanged_renders_identical_and_set_keeps_other_fields() {
    let e = Event::parse(EV).expect("valid");
    assert_eq!(e.render(&[Out::Keep, Out::Keep, Out::Keep], &[]), EV.as_bytes());
    let out = e.render(
        &[
            Out::Set(NewValue::Text("x".into())),
            Out::Omit,
            Out::Set(NewValue::Delete),
        ],
        &[("new".into(), "v".into())],
    );
    let out = String::from_utf8(out).expect("utf8");
    let want = concat!(
        r#"{"version":2,"x-extra":[1, {"a": null}],"identityPoolId":"p","datasetName":"d","#,
        r#""datasetRecords":{"a":{"oldValue":"1","newValue":"x","op":"replace","z":1},"#,
        r#""c":{"oldValue":"o","op":"remove","newValue":null},"new":{"newValue":"v","op":"replace"}},"#,
        r#""region":"us-east-1"}"#
    );
    assert_eq!(out, want);
    // Keep renders every field of a record raw, whatever the rest does.
    let out = e.render(&[Out::Omit, Out::Keep, Out::Omit], &[]);
    let out = String::from_utf8(out).expect("utf8");
    assert!(out.contains(r#""datasetRecords":{"bA":{"newValue":"n"}},"#), "{out}");
}

#[test]
fn records_first_or_last() {
    for ev in [
        r#"{"datasetRecords":{"k":{"newValue":"a"}},"identityPoolId":"p","datasetName":"d"}"#,
        r#"{"identityPoolId":"p","datasetName":"d","datasetRecords":{"k":{"newValue":"a"}}}"#,
    ] {
        let e = Event::parse(ev).expect("valid");
        let out = e.render(&[Out::Set(NewValue::Text("b".into()))], &[]);
        let want = ev.replace(r#"{"newValue":"a"}"#, r#"{"newValue":"b","op":"replace"}"#);
        assert_eq!(String::from_utf8(out).expect("utf8"), want);
    }
}

#[test]
fn decode_fast_path_and_escapes() {
    let raw = |s: &'static str| Raw(serde_json::from_str::<&RawValue>(s).expect("raw").get());
    let r = raw(r#""plain é""#);
    assert!(matches!(decode("k", r), Ok(Cow::Borrowed("plain é"))));
    assert_eq!(decode("k", raw(r#""a\"b\u0041""#)).expect("valid"), "a\"bA");
    assert!(decode("k", raw(r#""\ud800""#)).is_err());
}

#[test]
fn wtf8_is_exact_and_never_fails() {
    let raw = |s: &'static str| Raw(serde_json::from_str::<&RawValue>(s).expect("raw").get());
    let w = |s: &'static str| wtf8(raw(s)).into_owned();
    assert!(matches!(wtf8(raw(r#""plain é""#)), Cow::Borrowed(b) if b == "plain é".as_bytes()));
    // The documented serde_json behaviour this relies on: a lone surrogate as WTF-8, 3 bytes.
    assert_eq!(w(r#""\ud800""#), [0xED, 0xA0, 0x80]);
    assert_eq!(w(r#""\ud800""#).len(), "\u{FFFD}".len());
    assert_eq!(w(r#""a\ud800\u0041""#), w(r#""\u0061\uD800A""#));
    assert_ne!(w(r#""\ud800""#), w(r#""\udc00""#));
    assert_eq!(w(r#""\ud83d\ude00\n""#), "\u{1F600}\n".as_bytes());
}

#[test]
fn malformed_events() {
    let err = |s: &str| Event::parse(s).expect_err(s).to_string();
    assert!(err("[]").contains("not a valid JSON object"));
    assert!(err(r#"{"datasetName":"d","datasetRecords":{}}"#).contains("identityPoolId: missing"));
    assert!(err(r#"{"identityPoolId":1,"datasetName":"d","datasetRecords":{}}"#).contains("expected a string"));
    assert!(
        err(r#"{"identityPoolId":"p","datasetName":"d","datasetRecords":{},"datasetRecords":{}}"#)
            .contains("more than once")
    );
    assert!(
        err(r#"{"identityPoolId":"p","datasetName":"d","datasetRecords":{"k":{"newValue":5}}}"#)
            .contains("newValue must be a string or null")
    );
    assert!(
        err(r#"{"identityPoolId":"p","datasetName":"d","datasetRecords":{"k":{"op":"upsert"}}}"#)
            .contains("op must be")
    );
    assert!(err(r#"{"identityPoolId":"p","datasetName":"d","datasetRecords":[]}"#).contains("datasetRecords"));
    assert!(err(r#"{"identityPoolId":"p","datasetName":"d","datasetRecords":null}"#).contains("datasetRecords"));
    assert!(err(r#"{"identityPoolId":"p","datasetName":"d"}"#).contains("datasetRecords: missing"));
    assert!(err(r#"{"identityPoolId":"p","datasetName":"d","datasetRecords":{"k":"v"}}"#).contains("JSON"));
    assert!(
        err(r#"{"identityPoolId":"p","datasetName":"d","datasetRecords":{"k":{},"\u006b":{}}}"#)
            .contains("more than once")
    );
    assert!(err(r#"{"identityPoolId":"p","datasetName":"d","datasetRecords":{}} x"#).contains("JSON"));
}

#[test]
fn has_backslash_in_every_position() {
    for len in [0, 1, 63, 64, 65, 127, 128, 200] {
        let plain = vec![b'a'; len];
        assert!(!has_backslash(&plain), "{len}");
        for at in 0..len {
            let mut b = plain.clone();
            b[at] = b'\\';
            assert!(has_backslash(&b), "{len} {at}");
        }
    }
}
