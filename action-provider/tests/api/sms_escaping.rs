//! Escaping per content type (issue 14 item 9, SPEC §6.1), through the API against the real
//! HTTP broker (delivery/tests/peers/rest_peer.py parses each body with Python's own XML, form
//! and JSON parsers): a user's name and a broker secret arrive as the text they are, in the
//! element, pair or string they were written in; unknown content types are refused at save.

use serde_json::{Value, json};

use super::sms::wait_calls;
use crate::support::{Backend, Server, backends, python};

/// A name that closes the element / string / pair it is put in and opens another `to`.
const NAME: &str =
    r#"Bob</text><to>15550001111</to><text>"}, "to": "15550001111", "x": {"\&to=15550001111&x="#;
/// A secret every body encoding must escape (JSON: `"` `\`; form: `&` `=` `+` `%`; XML:
/// `<` `&` `"` `'`).
const NASTY: &str = r#"k&y=<v>"q'\ +%26;/"#;

/// What the peer parsed: (to, text, key) as the parser of `content_type` read them, after
/// checking that the body has exactly the structure written.
fn read_back(content_type: &str, parsed: &Value) -> (Value, Value, Value) {
    match content_type {
        "application/xml" => {
            let elements = parsed["elements"].as_array().unwrap();
            let tags: Vec<&str> = elements.iter().map(|e| e[0].as_str().unwrap()).collect();
            assert_eq!(tags, ["sms", "to", "text", "key"], "{parsed}");
            assert_eq!(elements[0][2], json!({"key": NASTY}), "the attribute");
            (
                elements[1][1].clone(),
                elements[2][1].clone(),
                elements[3][1].clone(),
            )
        }
        "application/json" => {
            let object = parsed["json"].as_object().unwrap();
            let mut keys: Vec<&String> = object.keys().collect();
            keys.sort();
            assert_eq!(keys, ["key", "text", "to"], "{parsed}");
            (
                object["to"].clone(),
                object["text"].clone(),
                object["key"].clone(),
            )
        }
        _ => {
            let pairs = parsed["pairs"].as_array().unwrap();
            let names: Vec<&str> = pairs.iter().map(|p| p[0].as_str().unwrap()).collect();
            assert_eq!(names, ["to", "text", "key"], "{parsed}");
            (
                pairs[0][1].clone(),
                pairs[1][1].clone(),
                pairs[2][1].clone(),
            )
        }
    }
}

#[test]
fn names_and_secrets_cannot_reshape_the_broker_request() {
    let Some(py) = python() else { return };
    let bodies = [
        (
            "application/xml",
            r#"<sms key="{secret.K}"><to>{phone}</to><text>{name}: {message}</text><key>{secret.K}</key></sms>"#,
        ),
        (
            "application/json",
            r#"{"to": "{phone}", "text": "{name}: {message}", "key": "{secret.K}"}"#,
        ),
        (
            "application/x-www-form-urlencoded",
            "to={phone}&text={name}%3A%20{message}&key={secret.K}",
        ),
    ];
    for backend in backends() {
        let rest = crate::support::Peer::start(&py, "rest_peer.py", &[]);
        let s = Server::start(backend);
        let r = s.admin(
            "POST",
            "/v1/users",
            Some(&json!({"login": "bob", "name": NAME, "mobile": "+5511987654321"})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        for (n, (content_type, body)) in bodies.iter().enumerate() {
            let broker = json!({"primary": {"kind": "rest",
                "url": format!("http://127.0.0.1:{}/none/ok", rest.port), "method": "POST",
                "headers": {"Content-Type": content_type}, "body": body,
                "query": {"key": "{secret.K}"}, "secrets": {"K": NASTY}}});
            let r = s.admin("PUT", "/v1/delivery/sms", Some(&broker));
            assert_eq!(r.status, 200, "{content_type}: {}", r.body);
            let r = s.admin(
                "POST",
                "/v1/otp/request",
                Some(&json!({"login": "bob", "channel": "sms"})),
            );
            assert_eq!(r.status, 202, "{}", r.body);
            let calls = wait_calls(&rest, |calls| calls.len() > n);
            let call = &calls[n];
            let (to, text, key) = read_back(content_type, &call["parsed"]);
            assert_eq!(to, json!("5511987654321"), "{backend:?} {content_type}");
            assert_eq!(key, json!(NASTY), "{backend:?} {content_type}");
            assert_eq!(call["query"], json!({"key": NASTY}), "{content_type}");
            let text = text.as_str().unwrap();
            assert!(
                text.starts_with(&format!("{NAME}: ")),
                "{content_type}: {text:?}"
            );
            // The code arrived whole: it validates.
            let code: String = text[NAME.len()..]
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            let v = s.admin(
                "POST",
                "/v1/otp/validate",
                Some(&json!({"login": "bob", "code": code})),
            );
            assert_eq!(v.json(), json!({"valid": true}), "{content_type}: {text:?}");
        }
    }
}

#[test]
fn unknown_content_types_unescapable_bodies_and_unknown_secrets_are_refused_at_save() {
    let s = Server::start(Backend::Sqlite);
    let rest = |headers: Value, body: &str| {
        json!({"kind": "rest", "url": "http://127.0.0.1:9/x", "method": "POST",
            "headers": headers, "body": body})
    };
    let rows = [
        (
            rest(json!({"Content-Type": "text/plain"}), "{message}"),
            "primary.headers.Content-Type",
        ),
        (
            rest(json!({"content-type": "multipart/form-data"}), "{message}"),
            "primary.headers.content-type",
        ),
        (
            rest(json!({"Content-Type": "application/json, text/xml"}), "{}"),
            "primary.headers.Content-Type",
        ),
        (
            json!({"kind": "rest", "url": "http://127.0.0.1:9/x", "method": "POST",
                "body": "{\"k\": \"{secret.API_KEY}\"}", "secrets": {"API_KEY_2": "v"}}),
            "primary.body",
        ),
        (
            rest(json!({"content-type": "application/xml"}), "<a>{message}"),
            "primary.body",
        ),
        (
            json!({"kind": "soap", "wsdl_url": "http://127.0.0.1:9/ws?wsdl", "soap_type": "basic",
                "variables": {"phone": "{phone}"}, "options": {"login": "sae"}}),
            "primary.options.password",
        ),
    ];
    for (broker, field) in rows {
        let r = s.admin("PUT", "/v1/delivery/sms", Some(&json!({"primary": broker})));
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.json()["field"], json!(field), "{}", r.body);
    }
    let r = s.admin(
        "PUT",
        "/v1/delivery/sms",
        Some(&json!({"primary": rest(json!({"Content-Type": "text/plain"}), "{message}")})),
    );
    let message = r.body.to_ascii_lowercase();
    assert!(
        message.contains("text/plain") && message.contains("content-type"),
        "the refusal says which type and where: {}",
        r.body
    );
    // Known types with parameters and suffixes are accepted.
    for content_type in [
        "application/json; charset=utf-8",
        "Application/Vnd.Broker+JSON",
        "text/xml; charset=utf-8",
    ] {
        let body = if content_type.to_ascii_lowercase().contains("json") {
            r#"{"text": "{message}"}"#
        } else {
            "<text>{message}</text>"
        };
        let broker = rest(json!({"Content-Type": content_type}), body);
        let r = s.admin("PUT", "/v1/delivery/sms", Some(&json!({"primary": broker})));
        assert_eq!(r.status, 200, "{content_type}: {}", r.body);
    }
    let r = s.admin(
        "POST",
        "/v1/messages",
        Some(&json!({"id": "m", "channel": "sms", "text": "{otp} {secret.API_KEY}"})),
    );
    assert_eq!(
        r.status, 400,
        "message templates know no secrets: {}",
        r.body
    );
    assert_eq!(r.json()["field"], json!("text"), "{}", r.body);
}
