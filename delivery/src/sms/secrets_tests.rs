//! Broker `secrets`, SOAP `options.login` / `options.password`, body content types and the
//! changed-field list of the audit: table tests on the configuration.

use serde_json::json;

use super::*;
use crate::sms::rest_config::BodyEncoding;

const KEY: &str = "sk-LIVE-7f3a9";
const SOAP_PASSWORD: &str = "soap-PASS-41";

fn parse(value: &serde_json::Value) -> Result<SmsConfig, ConfigError> {
    SmsConfigInput::from_json_slice(value.to_string().as_bytes())?.validate()
}

/// `value` PUT over `stored`: merged, then validated.
fn put_over(stored: &SmsConfig, value: &serde_json::Value) -> Result<SmsConfig, ConfigError> {
    let mut input = SmsConfigInput::from_json_slice(value.to_string().as_bytes())?;
    input.merge_secrets_from(stored);
    input.validate()
}

fn rest_with_secrets() -> serde_json::Value {
    json!({"primary": {"kind": "rest", "url": "https://sms.example.com/v1/send", "method": "POST",
        "headers": {"X-Account": "{secret.ACCOUNT}"},
        "query": {"token": "{secret.API_KEY}"},
        "body": "{\"api_key\": \"{secret.API_KEY}\", \"to\": \"{phone}\", \"text\": \"{message}\"}",
        "secrets": {"API_KEY": KEY, "ACCOUNT": "acct-SECRET-2"}}})
}

fn soap_with_login() -> serde_json::Value {
    json!({"primary": {"kind": "soap", "wsdl_url": "https://soap.example.com/ws?wsdl",
        "soap_type": "advanced", "call": "SendSms",
        "options": {"login": "sae", "password": SOAP_PASSWORD, "location": "https://soap.example.com/ep"},
        "request": {"auth": {"key": "{secret.API_KEY}"}, "phone": "{phone}"},
        "secrets": {"API_KEY": KEY}}})
}

#[test]
fn secrets_are_never_shown() {
    for config in [
        parse(&rest_with_secrets()).unwrap(),
        parse(&soap_with_login()).unwrap(),
    ] {
        let shown = config.redacted_json();
        let debug = format!("{config:?} {:?}", config.primary());
        for secret in [KEY, "acct-SECRET-2", SOAP_PASSWORD] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
            assert!(!debug.contains(secret), "{secret} in Debug");
        }
        assert_eq!(
            config.redacted().pointer("/primary/secrets/API_KEY"),
            Some(&json!(null)),
            "{shown}"
        );
        assert!(config.to_stored_json().contains(KEY), "stored for sealing");
    }
    let soap = parse(&soap_with_login()).unwrap().redacted();
    assert_eq!(
        soap.pointer("/primary/options/password"),
        Some(&json!(null))
    );
    assert_eq!(soap.pointer("/primary/options/login"), Some(&json!("sae")));
}

#[test]
fn a_put_of_the_get_answer_keeps_every_secret() {
    for value in [rest_with_secrets(), soap_with_login()] {
        let stored = parse(&value).unwrap();
        let again = put_over(&stored, &stored.redacted()).unwrap();
        assert_eq!(*again.to_stored_json(), *stored.to_stored_json());
        assert!(again.changed_fields(Some(&stored)).is_empty());
    }
    // The SOAP password may also be omitted while the login stays.
    let stored = parse(&soap_with_login()).unwrap();
    let mut omitted = stored.redacted();
    omitted["primary"]["options"]
        .as_object_mut()
        .unwrap()
        .remove("password");
    let again = put_over(&stored, &omitted).unwrap();
    assert!(again.to_stored_json().contains(SOAP_PASSWORD));
}

#[test]
fn a_new_origin_needs_the_secrets_again() {
    // (row, pointer of the address, the value for it, every refused field in turn with the
    // value that is then entered again)
    type Row = (
        &'static str,
        serde_json::Value,
        &'static str,
        &'static str,
        Vec<(&'static str, &'static str)>,
    );
    let rows: Vec<Row> = vec![
        (
            "rest url",
            rest_with_secrets(),
            "/primary/url",
            "https://evil.example.net/x",
            vec![("primary.secrets.API_KEY", "/primary/secrets/API_KEY")],
        ),
        (
            "soap wsdl_url",
            soap_with_login(),
            "/primary/wsdl_url",
            "https://evil.example.net/ws?wsdl",
            vec![
                ("primary.secrets.API_KEY", "/primary/secrets/API_KEY"),
                ("primary.options.password", "/primary/options/password"),
            ],
        ),
        (
            "soap location",
            soap_with_login(),
            "/primary/options/location",
            "http://soap.example.com/ep",
            vec![
                ("primary.secrets.API_KEY", "/primary/secrets/API_KEY"),
                ("primary.options.password", "/primary/options/password"),
            ],
        ),
    ];
    for (row, value, pointer, address, refusals) in rows {
        let stored = parse(&value).unwrap();
        let mut moved = stored.redacted();
        *moved.pointer_mut(pointer).unwrap() = json!(address);
        if let Some(account) = moved.pointer_mut("/primary/secrets/ACCOUNT") {
            *account = json!("acct-again");
        }
        for (path, entered) in refusals {
            let error = put_over(&stored, &moved).unwrap_err();
            assert_eq!(error.path(), path, "row {row}: {error}");
            assert!(error.to_string().contains("host"), "row {row}: {error}");
            *moved.pointer_mut(entered).unwrap() = json!("entered-again");
        }
        let config = put_over(&stored, &moved).unwrap_or_else(|error| panic!("row {row}: {error}"));
        let stored_json = config.to_stored_json();
        assert!(
            !stored_json.contains(KEY) && !stored_json.contains(SOAP_PASSWORD),
            "row {row}: nothing of the old origin is kept"
        );
        // The same origin with another path keeps everything.
        let mut same = stored.redacted();
        let url = url::Url::parse(value.pointer(pointer).unwrap().as_str().unwrap()).unwrap();
        *same.pointer_mut(pointer).unwrap() = json!(url.join("/elsewhere?x=1").unwrap().as_str());
        assert!(put_over(&stored, &same).is_ok(), "row {row}");
    }
}

#[test]
fn an_omitted_secret_is_removed_and_its_uses_refused() {
    let stored = parse(&rest_with_secrets()).unwrap();
    let mut without = stored.redacted();
    without["primary"]["secrets"]
        .as_object_mut()
        .unwrap()
        .remove("API_KEY");
    let error = put_over(&stored, &without).unwrap_err();
    assert_eq!(error.path(), "primary.query.token", "{error}");
    assert!(
        error.to_string().contains("{secret.API_KEY}") && error.to_string().contains("ACCOUNT"),
        "{error}"
    );
}

#[test]
fn templates_may_name_only_the_brokers_secrets() {
    let soap = |field: &str, value: serde_json::Value| {
        let mut broker = soap_with_login()["primary"].clone();
        broker[field] = value;
        json!({ "primary": broker })
    };
    let rows: Vec<(&str, serde_json::Value, &str)> = vec![
        (
            "rest body",
            json!({"primary": {"kind": "rest", "url": "http://h/", "method": "POST",
                "body": "{\"k\": \"{secret.NOPE}\"}", "secrets": {"A": "1"}}}),
            "primary.body",
        ),
        (
            "rest query",
            json!({"primary": {"kind": "rest", "url": "http://h/", "method": "GET",
                "query": {"k": "{secret.NOPE}"}}}),
            "primary.query.k",
        ),
        (
            "rest header",
            json!({"primary": {"kind": "rest", "url": "http://h/", "method": "GET",
                "headers": {"X-Key": "{secret.NOPE}"}, "secrets": {"A": "1"}}}),
            "primary.headers.X-Key",
        ),
        (
            "soap request",
            soap("request", json!({"a": {"b": "{secret.NOPE}"}})),
            "primary.request.a.b",
        ),
        (
            "soap attributes",
            soap("attributes", json!({"key": "{secret.NOPE}"})),
            "primary.attributes.key",
        ),
        (
            "soap basic message",
            json!({"primary": {"kind": "soap", "wsdl_url": "http://h/", "soap_type": "basic",
                "message": "{secret.NOPE}", "variables": {"m": "{message}"}}}),
            "primary.message",
        ),
        (
            "soap basic variables",
            json!({"primary": {"kind": "soap", "wsdl_url": "http://h/", "soap_type": "basic",
                "variables": {"m": "{secret.NOPE}"}}}),
            "primary.variables.m",
        ),
        (
            "broker 2",
            json!({"primary": {"kind": "rest", "url": "http://h/", "method": "GET"},
                "broker2": {"mode": "backup", "broker": {"kind": "rest", "url": "http://h2/",
                    "method": "GET", "query": {"k": "{secret.A}"}}}}),
            "broker2.broker.query.k",
        ),
    ];
    for (row, value, path) in rows {
        let error = parse(&value).unwrap_err();
        assert_eq!(error.path(), path, "row {row}: {error}");
        assert!(
            matches!(error, ConfigError::UnknownSecret { .. }),
            "row {row}: {error:?}"
        );
    }
}

#[test]
fn secret_names_and_values_are_checked() {
    let with_secrets = |secrets: serde_json::Value| json!({"primary": {"kind": "rest", "url": "http://h/", "method": "GET", "secrets": secrets}});
    let many: serde_json::Map<String, serde_json::Value> =
        (0..33).map(|n| (format!("S{n}"), json!("v"))).collect();
    let rows: Vec<(&str, serde_json::Value, &str)> = vec![
        (
            "dash",
            with_secrets(json!({"API-KEY": "v"})),
            "primary.secrets.API-KEY",
        ),
        (
            "empty name",
            with_secrets(json!({"": "v"})),
            "primary.secrets.",
        ),
        (
            "65 characters",
            with_secrets(json!({"A".repeat(65): "v"})),
            &*Box::leak(format!("primary.secrets.{}", "A".repeat(65)).into_boxed_str()),
        ),
        (
            "empty value",
            with_secrets(json!({"K": ""})),
            "primary.secrets.K",
        ),
        (
            "long value",
            with_secrets(json!({"K": "x".repeat(4097)})),
            "primary.secrets.K",
        ),
        (
            "null without a stored value",
            with_secrets(json!({"K": null})),
            "primary.secrets.K",
        ),
        (
            "not a string",
            with_secrets(json!({"K": 1})),
            "primary.secrets.K",
        ),
        (
            "too many",
            with_secrets(serde_json::Value::Object(many)),
            "primary.secrets",
        ),
    ];
    for (row, value, path) in rows {
        let error = parse(&value).unwrap_err();
        assert_eq!(error.path(), path, "row {row}: {error}");
        assert!(!error.to_string().contains("xxxx"), "row {row}: {error}");
    }
    assert!(parse(&with_secrets(json!({"A_b_9": "v", "B": "x".repeat(4096)}))).is_ok());
}

#[test]
fn headers_take_secret_tags_only() {
    let header = |value: &str, secret: &str| {
        json!({"primary": {"kind": "rest", "url": "http://h/", "method": "GET",
            "headers": {"X-Api-Key": value}, "secrets": {"K": secret}}})
    };
    let error = parse(&header("{phone}", "v")).unwrap_err();
    assert!(
        matches!(&error, ConfigError::TagNotInHeader { tag: "phone", .. }),
        "{error:?}"
    );
    let error = parse(&header("Bearer {secret.K}", "line\r\nInjected: 1")).unwrap_err();
    assert_eq!(error.path(), "primary.headers.X-Api-Key");
    assert!(!error.to_string().contains("Injected"), "{error}");
    let config = parse(&header("Bearer {secret.K}", "tok-SECRET")).unwrap();
    let BrokerConfig::Rest(rest) = config.primary() else {
        panic!("not rest")
    };
    let (_, value) = &rest.headers[0];
    assert_eq!(value.as_bytes(), b"Bearer tok-SECRET");
    assert!(value.is_sensitive());
    assert!(!format!("{rest:?}").contains("tok-SECRET"));
}

#[test]
fn body_content_types() {
    let rows: &[(&str, Option<BodyEncoding>)] = &[
        ("application/json", Some(BodyEncoding::Json)),
        ("application/json; charset=utf-8", Some(BodyEncoding::Json)),
        ("Application/JSON", Some(BodyEncoding::Json)),
        ("application/vnd.api+json", Some(BodyEncoding::Json)),
        (
            "application/x-www-form-urlencoded",
            Some(BodyEncoding::Form),
        ),
        ("application/xml", Some(BodyEncoding::Xml)),
        ("text/xml; charset=UTF-8", Some(BodyEncoding::Xml)),
        ("application/soap+xml", Some(BodyEncoding::Xml)),
        ("text/plain", None),
        ("text/html", None),
        ("multipart/form-data; boundary=x", None),
        ("application/jsonp", None),
        ("text/json", None),
        ("json", None),
        ("application/", None),
        ("", None),
    ];
    for (content_type, expected) in rows {
        assert_eq!(
            BodyEncoding::of(content_type),
            *expected,
            "row {content_type:?}"
        );
    }
    let post = |headers: serde_json::Value, body: &str| {
        json!({"primary": {"kind": "rest", "url": "http://h/", "method": "POST",
            "headers": headers, "body": body}})
    };
    let error = parse(&post(json!({"content-type": "text/plain"}), "{message}")).unwrap_err();
    assert_eq!(error.path(), "primary.headers.content-type", "{error}");
    assert!(
        matches!(error, ConfigError::UnsupportedContentType { .. }),
        "{error:?}"
    );
    let xml = json!({"Content-Type": "application/xml"});
    for (body, ok) in [
        ("<sms><to>{phone}</to><text>{message}</text></sms>", true),
        ("<sms to=\"{phone}\" name='{name}'>{secret.K}</sms>", false),
        ("<sms><to>{phone}</to>", false),
        ("<{name}/>", false),
        ("{message}", false),
    ] {
        let result = parse(&post(xml.clone(), body));
        assert_eq!(result.is_ok(), ok, "{body}: {result:?}");
        if let Err(error) = result {
            assert_eq!(error.path(), "primary.body", "{body}: {error}");
        }
    }
}

#[test]
fn soap_login_options() {
    let soap = |soap_type: &str, options: serde_json::Value| {
        let mut broker = json!({"kind": "soap", "wsdl_url": "http://h/ws?wsdl", "soap_type": soap_type,
            "call": "SendSms", "options": options});
        if soap_type == "basic" {
            broker["variables"] = json!({"phone": "{phone}"});
        } else {
            broker["request"] = json!({"phone": "{phone}"});
        }
        json!({ "primary": broker })
    };
    let ok = [
        ("basic", json!({"login": "u", "password": "p"})),
        (
            "basic",
            json!({"login": "u:x", "password": "p", "authentication": "digest"}),
        ),
        (
            "advanced",
            json!({"login": "u", "password": "", "authentication": "SOAP_AUTHENTICATION_BASIC"}),
        ),
        (
            "advanced",
            json!({"login": "u", "password": "p", "authentication": 1, "soap_version": 2}),
        ),
    ];
    for (soap_type, options) in ok {
        let config = parse(&soap(soap_type, options.clone()))
            .unwrap_or_else(|error| panic!("{options}: {error}"));
        let BrokerConfig::Soap(soap) = config.primary() else {
            panic!("not soap")
        };
        assert!(soap.login.is_some(), "{options}");
    }
    let refused: Vec<(&str, serde_json::Value, &str)> = vec![
        ("basic", json!({"login": "u"}), "primary.options.password"),
        ("basic", json!({"password": "p"}), "primary.options.login"),
        (
            "basic",
            json!({"authentication": "digest"}),
            "primary.options.authentication",
        ),
        (
            "basic",
            json!({"login": "u", "password": "p", "soap_version": 2}),
            "primary.options.soap_version",
        ),
        (
            "advanced",
            json!({"login": "", "password": "p"}),
            "primary.options.login",
        ),
        (
            "advanced",
            json!({"login": "a:b", "password": "p"}),
            "primary.options.login",
        ),
        (
            "advanced",
            json!({"login": "u", "password": 5}),
            "primary.options.password",
        ),
        (
            "advanced",
            json!({"login": "u", "password": "p", "authentication": "ntlm"}),
            "primary.options.authentication",
        ),
    ];
    for (soap_type, options, path) in refused {
        let error = parse(&soap(soap_type, options.clone())).unwrap_err();
        assert_eq!(error.path(), path, "{soap_type} {options}: {error}");
    }
}

#[test]
fn changed_fields_name_fields_never_values() {
    let stored = parse(&rest_with_secrets()).unwrap();
    let mut rows: Vec<(&str, serde_json::Value, Vec<&str>)> = Vec::new();
    let mut secret_changed = stored.redacted();
    secret_changed["primary"]["secrets"]["API_KEY"] = json!("sk-LIVE-NEW");
    rows.push((
        "secret value",
        secret_changed,
        vec!["primary.secrets.API_KEY"],
    ));
    let mut url_and_secret = stored.redacted();
    url_and_secret["primary"]["url"] = json!("https://other.example.com/");
    url_and_secret["primary"]["secrets"] = json!({"API_KEY": KEY, "ACCOUNT": "acct-SECRET-2"});
    rows.push((
        "new origin, same values",
        url_and_secret,
        vec!["primary.url"],
    ));
    let mut added = stored.redacted();
    added["primary"]["secrets"]["EXTRA"] = json!("extra-SECRET");
    added["primary"]["timeout_ms"] = json!(2000);
    rows.push((
        "added",
        added,
        vec!["primary.secrets.EXTRA", "primary.timeout_ms"],
    ));
    for (row, value, expected) in rows {
        let config = put_over(&stored, &value).unwrap();
        let changed = config.changed_fields(Some(&stored));
        assert_eq!(changed, expected, "row {row}");
    }
    let first = stored.changed_fields(None);
    assert!(
        first.contains(&"primary.secrets.API_KEY".to_owned())
            && first.contains(&"primary.url".to_owned()),
        "{first:?}"
    );
    let listed = first.join(" ");
    for secret in [KEY, "acct-SECRET-2"] {
        assert!(!listed.contains(secret), "{listed}");
    }
    let soap = parse(&soap_with_login()).unwrap();
    let mut new_password = soap.redacted();
    new_password["primary"]["options"]["password"] = json!("changed");
    let changed = put_over(&soap, &new_password)
        .unwrap()
        .changed_fields(Some(&soap));
    assert_eq!(changed, ["primary.options.password"]);
}

#[test]
fn switching_authorization_off_drops_the_stored_password() {
    let stored = parse(
        &json!({"primary": {"kind": "rest", "url": "http://h/", "method": "GET",
        "authorization": "basic", "username": "u", "password": "pw-SECRET"}}),
    )
    .unwrap();
    let mut off = stored.redacted();
    off["primary"]["authorization"] = json!("none");
    off["primary"].as_object_mut().unwrap().remove("username");
    let config = put_over(&stored, &off).unwrap();
    assert!(!config.to_stored_json().contains("pw-SECRET"));
    assert_eq!(
        config.changed_fields(Some(&stored)),
        [
            "primary.authorization",
            "primary.password",
            "primary.username"
        ]
    );
}
