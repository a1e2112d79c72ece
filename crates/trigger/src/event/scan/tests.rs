//! Differential tests of the fast reader against serde_json: for generated and mutated events,
//! whenever the fast reader answers, serde_json accepts too and every piece is the same (text,
//! place in the input, borrowed or decoded); whenever serde_json accepts, the fast reader answers
//! (but for the one shape it declines on purpose, `datasetRecords` not an object).
#![allow(clippy::unwrap_used)]

use std::borrow::Cow;

use proptest::prelude::*;

use super::super::{Entries, Event, Raw, Slot, Top};
use super::{find_special, top};

/// Everything a `Top` holds, as comparable text: pieces with their place in the input, keys
/// with whether they are borrowed (that decides how the response writes them).
fn shape(input: &str, top: &Top<'_>) -> Vec<String> {
    let at = |s: &str| s.as_ptr() as usize - input.as_ptr() as usize;
    let key = |k: &Cow<'_, str>| match k {
        Cow::Borrowed(b) => format!("B@{}:{b:?}", at(b)),
        Cow::Owned(o) => format!("O:{o:?}"),
    };
    let raw = |r: Raw<'_>| format!("@{}:{:?}", at(r.get()), r.get());
    let slot = |s: Slot<'_>| match s {
        Slot::Absent => "absent".to_owned(),
        Slot::Null => "null".to_owned(),
        Slot::Str(r) => raw(r),
    };
    let mut out = vec![
        format!("records_at {:?}", top.records_at),
        format!("problem {:?}", top.problem),
    ];
    out.extend(
        top.fields
            .iter()
            .map(|(k, v)| format!("field {} = {}", key(k), raw(*v))),
    );
    for r in &top.records {
        out.push(format!(
            "record {} old {} new {} op {:?}",
            key(&r.key),
            slot(r.old),
            slot(r.new),
            r.op
        ));
        out.extend(r.fields.iter().map(|(k, v)| format!("  {} = {}", key(k), raw(*v))));
    }
    out
}

/// Whether `datasetRecords` (any of them) is something else than an object: the one input
/// serde_json accepts (with a problem noted) that the fast reader leaves to it.
fn records_not_object(input: &str) -> bool {
    serde_json::from_str::<Entries<'_>>(input).is_ok_and(|e| {
        e.0.iter()
            .any(|(k, v)| k == "datasetRecords" && !v.get().starts_with('{'))
    })
}

/// The check itself.
fn agree(input: &str) -> Result<(), TestCaseError> {
    let fast = top(input);
    let slow = Event::parse_top_serde(input);
    match (&fast, &slow) {
        (Some(f), Ok(s)) => prop_assert_eq!(shape(input, f), shape(input, s), "input {:?}", input),
        (Some(_), Err(e)) => prop_assert!(false, "fast reader accepted what serde_json rejects ({e}): {input:?}"),
        (None, Ok(s)) => prop_assert!(
            s.problem.is_some() && records_not_object(input),
            "fast reader declined what serde_json accepts: {:?}",
            input
        ),
        (None, Err(_)) => {}
    }
    // And the whole parse (fast reader or fallback) gives what serde_json alone gives.
    let whole = Event::parse(input)
        .map(|e| format!("{e:?}"))
        .map_err(|e| format!("{e:?}"));
    let alone = slow
        .and_then(|t| Event::from_top(input, t))
        .map(|e| format!("{e:?}"))
        .map_err(|e| format!("{e:?}"));
    prop_assert_eq!(whole, alone);
    Ok(())
}

fn ws() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec!["", " ", "\n", "\t", "\r", "  "]), 0..3).prop_map(|v| v.concat())
}

/// A JSON string literal, mostly valid (lone surrogate escapes included: valid raw values).
fn string() -> impl Strategy<Value = String> {
    let valid = prop::sample::select(vec![
        "a",
        "Z",
        " ",
        "é",
        "😀",
        "\u{7f}",
        "\u{a0}",
        "\\n",
        "\\\"",
        "\\\\",
        "\\/",
        "\\b",
        "\\f",
        "\\r",
        "\\t",
        "\\u0041",
        "\\u00e9",
        "\\uD83D\\uDE00",
        "\\ud800",
        "\\udc00",
        "\\ud800x",
        "\\uFFFF",
        "'",
        "0123456789abcdef0123456789abcdef0123456789",
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    ]);
    let invalid = prop::sample::select(vec![
        "\\x", "\\u12", "\\u00G0", "\\U0041", "\\", "\u{0}", "\u{1}", "\u{9}", "\u{a}", "\u{1f}", "\"",
    ]);
    let pieces = (
        prop::collection::vec(valid.clone(), 0..8),
        prop::collection::vec(valid, 0..4),
        invalid,
    );
    prop_oneof![
        60 => "[ -~é😀]{0,70}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        20 => any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap()),
        60 => prop::collection::vec(valid_piece(), 0..8).prop_map(|v| format!("\"{}\"", v.concat())),
        1 => pieces.clone().prop_map(|(a, b, x)| format!("\"{}{x}{}\"", a.concat(), b.concat())),
        1 => pieces.prop_map(|(a, _, _)| format!("\"{}", a.concat())),
    ]
}

fn valid_piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "a",
        "Z",
        " ",
        "é",
        "😀",
        "\u{7f}",
        "\\n",
        "\\\"",
        "\\\\",
        "\\/",
        "\\u0041",
        "\\uD83D\\uDE00",
        "\\ud800",
        "0123456789abcdef0123456789abcdef0123456789",
    ])
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        120 => string(),
        40 => prop::sample::select(vec![
            "null", "true", "false", "0", "-0", "12", "-1.5e3", "1E+2", "0.25", "[]", "{}", "[1, {\"a\": [null, \"x\\u0041\"]}]",
            "[[[[[[[[[[]]]]]]]]]]", "{\"k\":\"\\ud800\"}", "{ \"a\" : { \"b\" : [ ] } }",
        ])
        .prop_map(str::to_owned),
        1 => prop::sample::select(vec![
            "01", "1.", "-", ".5", "1e", "nul", "tru", "[1,]", "{\"a\"}", "{\"a\":1,}", "[", "]", "}", "\"", "NaN", "+1",
            "1 2", "[1 2]", "{\"a\" 1}", "{1:2}",
        ])
        .prop_map(str::to_owned),
    ]
}

fn entry(name: impl Strategy<Value = String>, val: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    (ws(), name, ws(), ws(), val, ws()).prop_map(|(a, n, b, c, v, d)| format!("{a}{n}{b}:{c}{v}{d}"))
}

fn object(entries: Vec<String>, trailing_comma: bool) -> String {
    format!("{{{}{}}}", entries.join(","), if trailing_comma { "," } else { "" })
}

fn record() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        12 => prop::sample::select(vec!["\"oldValue\"", "\"newValue\"", "\"op\"", "\"syncCount\"", "\"newValu\\u0065\""])
            .prop_map(str::to_owned),
        1 => string(),
    ];
    let val = prop_oneof![
        6 => string(),
        2 => prop::sample::select(vec!["\"replace\"", "\"remove\"", "null", "null"]).prop_map(str::to_owned),
        1 => prop::sample::select(vec!["\"other\"", "1"]).prop_map(str::to_owned),
        1 => value(),
    ];
    prop_oneof![
        30 => (prop::collection::vec(entry(name, val), 0..5), prop::bool::weighted(0.005))
            .prop_map(|(e, t)| object(e, t)),
        1 => value(),
    ]
}

fn records() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        6 => "[a-z]{1,3}".prop_map(|s| format!("\"{s}\"")),
        1 => string(),
    ];
    prop_oneof![
        30 => (prop::collection::vec(entry(key, record()), 0..6), prop::bool::weighted(0.005))
            .prop_map(|(e, t)| object(e, t)),
        1 => value(),
    ]
}

/// A whole event: the three fields the engine reads (each usually once) and others, in some
/// order, and sometimes something after the object.
fn event() -> impl Strategy<Value = String> {
    let usual = (
        entry(Just("\"datasetRecords\"".to_owned()), records()),
        entry(Just("\"identityPoolId\"".to_owned()), string()),
        entry(Just("\"datasetName\"".to_owned()), string()),
    );
    let other = prop_oneof![
        4 => entry(
            prop::sample::select(vec!["\"version\"", "\"region\"", "\"x\\u002dextra\"", "\"identityId\""])
                .prop_map(str::to_owned),
            value()
        ),
        1 => entry(
            prop::sample::select(vec!["\"datasetRecords\"", "\"datasetRecord\\u0073\"", "\"datasetName\""])
                .prop_map(str::to_owned),
            value()
        ),
        1 => entry(string(), value()),
    ];
    let after = prop_oneof![
        30 => prop::sample::select(vec!["", " \n\t\r"]),
        1 => prop::sample::select(vec!["x", "}", ",", "{}", "\u{0}"]),
    ];
    (
        ws(),
        usual,
        prop::collection::vec(other, 0..4),
        prop::bool::weighted(0.005),
        after,
        any::<prop::sample::Index>(),
        0..20u8,
    )
        .prop_map(|(a, (r, p, d), mut f, t, after, at, drop)| {
            for (i, e) in [r, p, d].into_iter().enumerate() {
                if drop as usize != i {
                    f.insert(at.index(f.len() + 1), e);
                }
            }
            format!("{a}{}{after}", object(f, t))
        })
}

/// A mutation: at a fraction of the text, insert, replace or delete one character.
fn mutate(text: &str, muts: &[(f64, u8, char)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for &(at, how, c) in muts {
        let i = ((chars.len() as f64) * at) as usize;
        match how % 3 {
            0 => chars.insert(i.min(chars.len()), c),
            1 if i < chars.len() => chars[i] = c,
            _ if i < chars.len() => {
                chars.remove(i);
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

fn mutation() -> impl Strategy<Value = (f64, u8, char)> {
    let c = prop::sample::select(vec![
        '"', '\\', 'u', '{', '}', '[', ']', ',', ':', ' ', '\n', '\u{0}', '\u{1f}', '\u{7f}', '0', 'a', 'F', 'x', 'é',
        '😀', 'n',
    ]);
    (0.0..1.0f64, any::<u8>(), c)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn generated_events_agree(input in event()) {
        agree(&input)?;
    }

    #[test]
    fn mutated_events_agree(input in event(), muts in prop::collection::vec(mutation(), 1..4)) {
        agree(&mutate(&input, &muts))?;
    }

    #[test]
    fn find_special_is_the_first_special_byte(b in prop::collection::vec(
        prop_oneof![8 => 0x20u8..0x80, 1 => Just(b'"'), 1 => Just(b'\\'), 1 => 0u8..0x20, 2 => 0x80u8..=0xff], 0..200),
        from in 0usize..40,
    ) {
        let from = from.min(b.len());
        let want = b[from..].iter().position(|&c| c < 0x20 || c == b'"' || c == b'\\').map_or(b.len(), |p| from + p);
        prop_assert_eq!(find_special(&b, from), want);
    }
}

#[test]
fn special_is_exactly_controls_quote_backslash() {
    for c in 0..=255u8 {
        assert_eq!(super::special(c), c < 0x20 || c == b'"' || c == b'\\', "byte {c:#x}");
    }
}

/// Every ASCII byte and some escapes, at every place of a string long enough for two blocks,
/// as a value and as a key.
#[test]
fn every_byte_everywhere() {
    let pieces: Vec<String> = (0u8..0x80)
        .map(|c| char::from(c).to_string())
        .chain(["\\u0041", "\\ud800", "\\uDBFF\\uDFFF", "\\u00", "\\a", "é", "\\"].map(str::to_owned))
        .collect();
    for p in &pieces {
        for at in 0..70 {
            let s = format!("{}{p}{}", "v".repeat(at), "w".repeat(70 - at));
            for input in [
                format!(r#"{{"identityPoolId":"p","datasetName":"d","datasetRecords":{{"k":{{"newValue":"{s}"}}}}}}"#),
                format!(r#"{{"identityPoolId":"p","datasetName":"d","datasetRecords":{{"{s}":{{"newValue":"x"}}}}}}"#),
                format!(r#"{{"x":"{s}"}}"#),
            ] {
                agree(&input).unwrap();
            }
        }
    }
}

#[test]
fn usual_events_take_the_fast_path() {
    for input in [
        r#"{"identityPoolId":"p","datasetName":"d","datasetRecords":{}}"#,
        " {\"a\" : [1, {\"b\": null}], \"datasetRecords\" : {\"k\\u0041\" : {\"op\":\"remove\",\"n\":-1.5e3}}}\r\n",
        r#"{"datasetRecords":{"k":{"oldValue":"\ud800","newValue":"\"\\\/\b\f\n\r\t\u00e9"}}}"#,
    ] {
        assert!(top(input).is_some(), "{input}");
        agree(input).unwrap();
    }
    for declined in [r#"{"datasetRecords":[1]}"#, r#"{"a":1,}"#, r#"{"\ud800":1}"#, "{} x"] {
        assert!(top(declined).is_none(), "{declined}");
        agree(declined).unwrap();
    }
}
