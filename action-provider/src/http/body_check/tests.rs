//! Tests of the body check and of the documented patterns.

use super::*;
use serde_json::json;

fn fields(schema: Value, value: Value) -> Vec<(String, String)> {
    check(&schema, &value)
        .into_iter()
        .map(|e| (e.field, e.detail))
        .collect()
}

#[test]
fn every_problem_is_named_at_once() {
    let schema = json!({
        "type": "object",
        "required": ["name", "port"],
        "additionalProperties": false,
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 4},
            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
            "mode": {"type": ["string", "null"], "enum": ["a", "b", null]},
            "tags": {"type": "array", "maxItems": 2, "items": {"type": "string", "pattern": "^[a-z]+$"}}
        }
    });
    let got = fields(
        schema,
        json!({"name": "toolong", "mode": "c", "tags": ["ok", "NO"], "extra": 1}),
    );
    assert_eq!(
        got,
        vec![
            ("port".into(), "required".into()),
            ("extra".into(), "is not a field of this request".into()),
            ("mode".into(), "must be one of: a, b, null".into()),
            ("name".into(), "must be at most 4 characters long".into()),
            (
                "tags[1]".into(),
                "does not have the expected form (^[a-z]+$)".into()
            ),
        ]
    );
}

#[test]
fn every_documented_pattern_compiles_and_has_words() {
    let doc = crate::http::docs::document();
    for (name, p, words) in patterns::ALL {
        assert!(pattern(p).is_some(), "{p} compiles");
        assert!(!words.is_empty() && !name.is_empty());
    }
    let mut found = Vec::new();
    let value: Value = serde_json::from_str(doc).unwrap();
    collect_patterns(&value, &mut found);
    for p in found {
        assert!(
            patterns::ALL.iter().any(|(_, known, _)| *known == p),
            "the pattern {p} of the document is not in service::input::patterns"
        );
    }
}

fn collect_patterns(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(p)) = m.get("pattern") {
                out.push(p.clone());
            }
            m.values().for_each(|x| collect_patterns(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_patterns(x, out)),
        _ => {}
    }
}

/// Every string of up to five pieces over an alphabet of the template syntax: the
/// TEMPLATE and SUBJECT patterns accept exactly what the template parser accepts.
#[test]
fn template_patterns_accept_what_the_parser_accepts() {
    use sae_core::template::{Channel, MessageTemplate};
    const PIECES: [&str; 10] = ["{", "}", "otp", "secret", ".", " ", "x", "nome", "_", "\t"];
    let text = pattern(patterns::TEMPLATE).unwrap();
    let subject = pattern(patterns::SUBJECT).unwrap();
    let mut checked = 0;
    let mut stack = vec![(String::new(), 0)];
    while let Some((s, pieces)) = stack.pop() {
        let as_text = MessageTemplate::new("t", Channel::Sms, false, None, s.clone()).is_ok();
        assert_eq!(text.is_match(&s), as_text, "text {s:?}");
        let with_subject = format!("{s}{{otp}}");
        let as_subject = MessageTemplate::new(
            "t",
            Channel::Email,
            false,
            Some(with_subject.clone()),
            "{otp}",
        )
        .is_ok();
        assert_eq!(
            subject.is_match(&with_subject),
            as_subject,
            "subject {with_subject:?}"
        );
        checked += 1;
        if pieces < 5 {
            stack.extend(PIECES.iter().map(|p| (format!("{s}{p}"), pieces + 1)));
        }
    }
    assert!(checked > 100_000, "{checked} strings");
}

#[test]
fn patterns_mean_what_the_server_checks() {
    let login = pattern(patterns::LOGIN).unwrap();
    for ok in ["ana", "joão.silva@example.com", "a b", "é"] {
        assert!(login.is_match(ok), "{ok}");
        assert!(sae_core::config::check_login(ok).is_ok(), "{ok}");
    }
    for bad in ["", " ana", "ana ", "a/b", "a\tb", "a\u{85}b", "ana\u{3000}"] {
        assert!(!login.is_match(bad), "{bad:?}");
    }
    let mobile = pattern(patterns::MOBILE).unwrap();
    for ok in [
        "+55 11 91234-5678",
        "(11) 91234-5678",
        "0055 11 91234 5678",
        "011 9123 4567",
    ] {
        assert!(mobile.is_match(ok), "{ok}");
        assert!(sae_core::config::normalize_mobile(ok).is_ok(), "{ok}");
    }
    for bad in ["1234567", "00123456", "+1234567890123456", "12a45678"] {
        assert!(!mobile.is_match(bad), "{bad}");
    }
    let email = pattern(patterns::EMAIL).unwrap();
    for ok in ["ana@example.com", "a.b+c@x.y.z"] {
        assert!(email.is_match(ok), "{ok}");
        assert!(sae_core::config::normalize_email(ok).is_ok(), "{ok}");
    }
    for bad in ["ana", "ana@example", "a@b..c", "a b@c.d", "a@b@c.d"] {
        assert!(!email.is_match(bad), "{bad}");
    }
}

/// The console words a `pattern` problem from its catalogue by the pattern's name: every
/// name needs a sentence in both languages.
#[test]
fn every_pattern_has_words_in_both_console_languages() {
    for catalogue in [
        include_str!("../../../../admin-gui/assets/js/messages/en.js"),
        include_str!("../../../../admin-gui/assets/js/messages/pt-BR.js"),
    ] {
        for (name, _, _) in patterns::ALL {
            assert!(
                catalogue.contains(&format!("\"pattern.{name}\": ")),
                "pattern.{name} is missing from a console catalogue"
            );
        }
    }
}

#[test]
fn the_time_pattern_accepts_exactly_the_days_the_parser_reads() {
    let time = pattern(patterns::RFC3339_OR_EMPTY).unwrap();
    assert!(time.is_match(""));
    for year in [1900, 2000, 2026, 2027, 2028, 2100] {
        for month in 1..=12 {
            for day in 1..=31 {
                let t = format!("{year:04}-{month:02}-{day:02}T10:20:30Z");
                assert_eq!(
                    time.is_match(&t),
                    crate::timefmt::parse_rfc3339(&t).is_some(),
                    "{t}"
                );
            }
        }
    }
    for bad in [
        "2027-01-31",
        "2027-01-31T24:00:00Z",
        "2027-01-31T10:00:00+1:00",
    ] {
        assert!(!time.is_match(bad), "{bad}");
    }
}

#[test]
fn numbers_types_and_alternatives() {
    let schema = json!({"type": "object", "properties": {
        "n": {"type": "integer", "minimum": 1, "maximum": 10},
        "x": {"oneOf": [{"type": "null"}, {"type": "string", "maxLength": 2}]}
    }});
    assert_eq!(
        fields(schema.clone(), json!({"n": 0, "x": "abc"})),
        vec![
            ("n".into(), "must be between 1 and 10".into()),
            ("x".into(), "must be at most 2 characters long".into()),
        ]
    );
    assert_eq!(
        fields(schema.clone(), json!({"n": 2.5})),
        vec![("n".into(), "must be a whole number".into())]
    );
    assert!(fields(schema, json!({"n": 10, "x": null})).is_empty());
}

#[test]
fn whole_numbers_are_integers() {
    let mut v =
        json!({"a": 593.0, "b": [1e3, 2.5, -0.0], "c": {"d": 9.007_199_254_740_994e15}, "e": 7});
    whole_numbers(&mut v);
    assert_eq!(v["a"], json!(593));
    assert!(v["a"].is_i64());
    assert_eq!(v["b"], json!([1000, 2.5, 0]));
    assert!(v["c"]["d"].is_f64(), "beyond 2^53 it stays as sent");
    assert_eq!(v["e"], json!(7));
    let schema = json!({"type": "object", "properties": {"n": {"type": "integer", "maximum": 10}}});
    let mut body = json!({"n": 5.0});
    whole_numbers(&mut body);
    assert!(check(&schema, &body).is_empty());
}

/// Strings over `pieces`, all of up to `max` pieces (breadth first).
fn strings(pieces: &[&str], max: usize) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut level = vec![String::new()];
    for _ in 0..max {
        level = level
            .iter()
            .flat_map(|s| pieces.iter().map(move |p| format!("{s}{p}")))
            .collect();
        out.extend(level.iter().cloned());
    }
    out
}

/// The mail address patterns take only what the mail library takes (every string of up to
/// six pieces, and local parts and labels at their length limits).
#[test]
fn mail_address_patterns_take_what_the_mail_library_takes() {
    let local = pattern(patterns::MAIL_LOCAL).unwrap();
    let address = pattern(patterns::MAIL_ADDRESS).unwrap();
    let either = pattern(patterns::MAIL_ADDRESS_OR_EMPTY).unwrap();
    let takes = |s: &str| delivery::email::OutgoingMail::test(s, "t").is_ok();
    let mut matched = 0;
    let pieces = [
        "a", "Z9", ".", "@", "-", "+_", "\"", " ", "é", "<", "[1]", "b.c",
    ];
    let long = [
        "x".repeat(64),
        "x".repeat(65),
        "y".repeat(63),
        "y".repeat(64),
    ];
    let mut all = strings(&pieces, 5);
    for l in &long {
        all.push(format!("{l}@example.com"));
        all.push(format!("a@{l}.com"));
    }
    for s in &all {
        let ok = local.is_match(s) && address.is_match(s);
        assert_eq!(ok, local.is_match(s) && either.is_match(s) && !s.is_empty());
        if ok {
            matched += 1;
            assert!(
                takes(s),
                "{s:?} matches the patterns but the mail library refuses it"
            );
        }
    }
    assert!(matched > 300, "{matched}");
    for s in [
        "ana@example.com",
        "a.b+c@x-y.example",
        &format!("{}@e.com", "x".repeat(64)),
    ] {
        assert!(local.is_match(s) && address.is_match(s), "{s}");
    }
    assert!(!local.is_match(&format!("{}@e.com", "x".repeat(65))));
}

/// The SMS test number pattern takes exactly what the server reads as a destination.
#[test]
fn the_sms_phone_pattern_takes_exactly_what_the_server_sends_to() {
    let phone = pattern(patterns::SMS_PHONE).unwrap();
    let mobile = pattern(patterns::MOBILE).unwrap();
    let pieces = [
        "+", "0", "1", "55", "9876", "54321", " ", "(", ")", "-", ".", "a",
    ];
    let mut checked = 0;
    for s in strings(&pieces, 5) {
        let server = sae_core::config::normalize_mobile(&s)
            .ok()
            .and_then(|n| delivery::SmsMessage::test(&n, "x").ok())
            .is_some();
        assert_eq!(phone.is_match(&s), server, "{s:?}");
        if mobile.is_match(&s) {
            assert!(sae_core::config::normalize_mobile(&s).is_ok(), "{s:?}");
        }
        checked += 1;
    }
    assert!(checked > 100_000, "{checked}");
}
