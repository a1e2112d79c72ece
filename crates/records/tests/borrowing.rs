//! `Text` borrows from the input unless unescaping had to produce new bytes.
#![allow(clippy::unwrap_used)]

mod common;

use std::borrow::Cow;

use common::fixture;
use synclake_records::{Text, decode_payload, decode_records_body};

fn borrowed(t: &Text<'_>) -> bool {
    matches!(t.0, Cow::Borrowed(_))
}

/// True when `t` borrows from (points into) `input`.
fn points_into(t: &Text<'_>, input: &[u8]) -> bool {
    let Cow::Borrowed(s) = &t.0 else { return false };
    input.as_ptr_range().contains(&s.as_ptr())
}

#[test]
fn strings_without_escapes_borrow_from_the_input() {
    let data = fixture("payloads/inline_docs_spelling.json");
    let p = decode_payload(&data).unwrap();
    for t in [&p.identity_pool_id, &p.identity_id, &p.dataset_name] {
        assert!(
            borrowed(t) && points_into(t, &data),
            "{t:?} is not a slice of the input"
        );
    }
    for r in &p.records {
        assert!(points_into(&r.key, &data), "key {:?}", r.key);
        assert!(points_into(r.value.as_ref().unwrap(), &data), "value {:?}", r.value);
    }
}

#[test]
fn strings_with_escapes_are_owned_and_unescaped() {
    let data = br#"{"identityPoolId":"us-east-1:0f6e","identityId":"us-east-1:9a8b","dataSetName":"d\u0061ta",
        "kinesisSyncRecords":[{"key":"tab\there","value":"say \"hi\" \\ \u00e9 \ud83d\ude00 \/"},
                              {"key":"plain","value":"plain value"}],
        "ext\u0072a":"x"}"#;
    let p = decode_payload(data).unwrap();
    assert_eq!(p.dataset_name.as_str(), "data");
    assert!(!borrowed(&p.dataset_name));
    let r = &p.records[0];
    assert_eq!(r.key.as_str(), "tab\there");
    assert!(!borrowed(&r.key));
    let v = r.value.as_ref().unwrap();
    assert_eq!(v.as_str(), "say \"hi\" \\ é \u{1F600} /");
    assert!(!borrowed(v));
    // The escaped record does not stop its neighbour from borrowing.
    assert!(points_into(&p.records[1].key, data));
    assert!(points_into(p.records[1].value.as_ref().unwrap(), data));
    // An escaped extra name is unescaped (owned); its value is the raw input text.
    assert_eq!(p.extra.0.len(), 1);
    assert_eq!(p.extra.0[0].0.as_str(), "extra");
    assert!(!borrowed(&p.extra.0[0].0));
    assert_eq!(p.extra.0[0].1.get(), r#""x""#);
}

#[test]
fn s3_body_values_borrow_too() {
    let data = fixture("s3url/records_array.json");
    let records = decode_records_body(&data).unwrap();
    // `active_map` = "map_003": no escapes.
    let active = records.iter().find(|r| r.key.as_str() == "active_map").unwrap();
    assert!(points_into(active.value.as_ref().unwrap(), &data));
    assert!(records.iter().all(|r| points_into(&r.key, &data)));
}

#[test]
fn text_accessors_agree() {
    let t = Text::from("abc");
    assert!(borrowed(&t));
    assert_eq!((t.as_str(), t.as_ref()), ("abc", "abc"));
    assert_eq!(format!("{t:?}"), r#""abc""#);
    assert_eq!(t, Text(Cow::Owned("abc".to_owned())), "equality ignores ownership");
}
