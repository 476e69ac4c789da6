//! Table and property tests of template parsing and rendering.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use super::*;
use proptest::prelude::*;

fn values() -> TagValues<'static> {
    TagValues {
        otp: "123456",
        login: "ana",
        name: "Ana \"A\" Silva\n",
        expires_in: "5 minutes",
        app: "Bank",
        phone: "5511912345678",
        message: "Code 123456",
        secrets: &[("API_KEY", "k-\"1\"<&>"), ("token_2", "t2")],
    }
}

#[test]
fn literal_braces_stay_text() {
    let rows = [
        ("{ }", "{ }"),
        ("{A}", "{A}"),
        ("{{otp}}", "{123456}"),
        ("}", "}"),
        ("{", "{"),
        ("{otp", "{otp"),
        ("{}", "{}"),
        ("{otp }", "{otp }"),
        ("{o-tp}", "{o-tp}"),
        ("{Otp}", "{Otp}"),
        ("a}{otp}{", "a}123456{"),
        ("ü{otp}é", "ü123456é"),
        (
            "Your {app} code is {otp}, valid {expires_in}.",
            "Your Bank code is 123456, valid 5 minutes.",
        ),
    ];
    for (text, expected) in rows {
        let template = Template::parse("text", text, TagSet::Message).unwrap();
        assert_eq!(
            template.render(&values()).as_str(),
            expected,
            "row {text:?}"
        );
    }
}

#[test]
fn unknown_and_disallowed_tags_are_refused() {
    let err = Template::parse("text", "Olá {nome}, {otp}", TagSet::Message).unwrap_err();
    assert_eq!(
        err,
        TemplateError::UnknownTag {
            field: "text",
            tag: "nome".into(),
            offset: 4,
            known: TagSet::Message.describe(),
        }
    );
    assert!(err.to_string().contains("{nome} at character 4"), "{err}");
    let err = Template::parse("text", "{otp} to {phone}", TagSet::Message).unwrap_err();
    assert!(
        matches!(
            err,
            TemplateError::TagNotAllowed {
                tag: "phone",
                offset: 9,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(Template::parse("body", "{otp} to {phone}", TagSet::Broker).is_ok());
    let long = format!("{{{}}}", "a".repeat(500));
    let TemplateError::UnknownTag { tag, .. } =
        Template::parse("text", long, TagSet::Broker).unwrap_err()
    else {
        panic!("expected UnknownTag");
    };
    assert_eq!(tag.len(), 64);
}

#[test]
fn json_rendering_escapes_values_only() {
    let template = Template::parse(
        "body",
        r#"{"to":"{phone}","text":"{message} {name}"}"#,
        TagSet::Broker,
    )
    .unwrap();
    let rendered = template.render_json(&values());
    assert_eq!(
        rendered.as_str(),
        r#"{"to":"5511912345678","text":"Code 123456 Ana \"A\" Silva\n"}"#
    );
    let parsed: serde_json::Value = serde_json::from_str(&rendered).unwrap();
    assert_eq!(parsed["text"], "Code 123456 Ana \"A\" Silva\n");
}

#[test]
fn json_escape_table() {
    let rows = [
        ("plain", "plain"),
        ("a\"b", "a\\\"b"),
        ("back\\slash", "back\\\\slash"),
        ("\t\r\n\u{8}\u{c}", "\\t\\r\\n\\b\\f"),
        ("\u{1}\u{1f}", "\\u0001\\u001f"),
        ("é€😀/", "é€😀/"),
    ];
    for (input, expected) in rows {
        let mut out = String::new();
        push_json_escaped(input, &mut out);
        assert_eq!(out, expected, "row {input:?}");
    }
}

#[test]
fn secret_tags_render_in_broker_templates() {
    let rows = [
        ("{secret.API_KEY}", "k-\"1\"<&>"),
        ("a{secret.token_2}b{secret.API_KEY}", "at2bk-\"1\"<&>"),
        ("{secret.UNKNOWN_BUT_VALID}", ""),
        ("{{secret.token_2}}", "{t2}"),
        ("{secret.token_2 }", "{secret.token_2 }"),
        ("{secret.a b}", "{secret.a b}"),
        ("{secret.{otp}}", "{secret.123456}"),
        ("{secret.", "{secret."),
        ("{secret.abc", "{secret.abc"),
        ("{Secret.API_KEY}", "{Secret.API_KEY}"),
        ("{secretAPI_KEY}", "{secretAPI_KEY}"),
        ("{secret.token_2}{phone}", "t25511912345678"),
    ];
    for (text, expected) in rows {
        let template = Template::parse("body", text, TagSet::Broker).unwrap();
        assert_eq!(
            template.render(&values()).as_str(),
            expected,
            "row {text:?}"
        );
    }
    assert!(
        matches!(
            Template::parse("body", "{secret}", TagSet::Broker),
            Err(TemplateError::UnknownTag { .. })
        ),
        "{{secret}} is a tag name like any other"
    );
    let template = Template::parse(
        "body",
        "{secret.token_2}-{otp}-{secret.API_KEY}-{secret.token_2}",
        TagSet::Broker,
    )
    .unwrap();
    let names: Vec<&str> = template.secret_names().collect();
    assert_eq!(names, ["token_2", "API_KEY", "token_2"]);
    assert_eq!(
        template.render_json(&values()).as_str(),
        "t2-123456-k-\\\"1\\\"<&>-t2",
        "secret values are escaped like any tag value"
    );
}

#[test]
fn bad_secret_tags_are_refused() {
    let name_65 = format!("{{secret.{}}}", "A".repeat(65));
    let rows: Vec<(&str, &str, TagSet, TemplateError)> = vec![
        (
            "empty name",
            "x {secret.}",
            TagSet::Broker,
            TemplateError::InvalidSecretName {
                field: "body",
                offset: 2,
            },
        ),
        (
            "dash",
            "{secret.API-KEY}",
            TagSet::Broker,
            TemplateError::InvalidSecretName {
                field: "body",
                offset: 0,
            },
        ),
        (
            "dot",
            "é{secret.a.b}",
            TagSet::Broker,
            TemplateError::InvalidSecretName {
                field: "body",
                offset: 1,
            },
        ),
        (
            "non-ASCII",
            "{secret.chavé}",
            TagSet::Broker,
            TemplateError::InvalidSecretName {
                field: "body",
                offset: 0,
            },
        ),
        (
            "65 characters",
            &name_65,
            TagSet::Broker,
            TemplateError::InvalidSecretName {
                field: "body",
                offset: 0,
            },
        ),
        (
            "message template",
            "{otp} {secret.API_KEY}",
            TagSet::Message,
            TemplateError::SecretNotAllowed {
                field: "body",
                offset: 6,
                known: TagSet::Message.describe(),
            },
        ),
        (
            "message template, bad name",
            "{secret.}",
            TagSet::Message,
            TemplateError::SecretNotAllowed {
                field: "body",
                offset: 0,
                known: TagSet::Message.describe(),
            },
        ),
    ];
    for (row, text, set, expected) in rows {
        let error = Template::parse("body", text, set).unwrap_err();
        assert_eq!(error, expected, "row {row}");
        assert_eq!(error.field(), "body", "row {row}");
    }
    let message = Template::parse("text", "{otp} {secret.K}", TagSet::Message)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("only available in broker templates"),
        "{message}"
    );
    let long = format!("{{secret.{}}}", "A".repeat(64));
    assert!(Template::parse("body", long, TagSet::Broker).is_ok());
}

#[test]
fn debug_lists_secret_names_only() {
    let debug = format!("{:?}", values());
    assert!(
        debug.contains("API_KEY") && debug.contains("token_2"),
        "{debug}"
    );
    assert!(!debug.contains("k-") && !debug.contains("t2\""), "{debug}");
}

#[test]
fn too_long_text_is_refused() {
    let err = Template::parse("text", "x".repeat(TEXT_MAX_BYTES + 1), TagSet::Message).unwrap_err();
    assert_eq!(
        err,
        TemplateError::TextTooLong {
            field: "text",
            bytes: TEXT_MAX_BYTES + 1
        }
    );
}

#[test]
fn debug_hides_the_code() {
    let values = TagValues {
        otp: "271828",
        message: "Code 271828",
        ..values()
    };
    let debug = format!("{values:?}");
    assert!(!debug.contains("271828"), "{debug}");
    assert!(debug.contains("Bank"), "{debug}");
}

proptest! {
    #[test]
    fn parse_never_panics(text in any::<String>()) {
        let _ = Template::parse("text", text.clone(), TagSet::Broker);
        let _ = Template::parse("text", text, TagSet::Message);
    }

    #[test]
    fn secret_tags_split_exactly(names in proptest::collection::vec("[A-Za-z0-9_]{1,64}", 1..4), glue in "[^{]{0,8}") {
        let text: String = names.iter().map(|name| format!("{{secret.{name}}}{glue}")).collect();
        let template = Template::parse("body", text.clone(), TagSet::Broker).unwrap();
        let found: Vec<&str> = template.secret_names().collect();
        prop_assert_eq!(&found, &names);
        prop_assert!(Template::parse("text", text, TagSet::Message).is_err());
    }

    #[test]
    fn text_without_tags_renders_unchanged(text in "[^{]*") {
        let template = Template::parse("text", text.clone(), TagSet::Message).unwrap();
        let rendered = template.render(&values());
        prop_assert_eq!(rendered.as_str(), text.as_str());
    }

    #[test]
    fn json_escaped_values_parse_back(value in any::<String>()) {
        let template = Template::parse("body", r#"{"m":"{message}"}"#, TagSet::Broker).unwrap();
        let values = TagValues { message: &value, ..TagValues::default() };
        let parsed: serde_json::Value = serde_json::from_str(&template.render_json(&values)).unwrap();
        prop_assert_eq!(parsed["m"].as_str(), Some(value.as_str()));
    }
}
