use serde_json::json;

use super::*;
use crate::sms::soap_config::{Param, SoapVersion};

fn parse(value: serde_json::Value) -> Result<SmsConfig, ConfigError> {
    SmsConfigInput::from_json_slice(value.to_string().as_bytes())?.validate()
}

fn rest_get() -> serde_json::Value {
    json!({"kind": "rest", "url": "https://sms.example.com/send", "method": "GET",
           "query": {"to": "{phone}", "text": "{message}"}})
}

fn soap_advanced() -> serde_json::Value {
    json!({"kind": "soap", "wsdl_url": "http://soap.example.com/ws?wsdl", "soap_type": "advanced",
           "call": "SendSms", "request": {"phone": "{phone}", "message": "{message}"}})
}

fn with(mut base: serde_json::Value, field: &str, value: serde_json::Value) -> serde_json::Value {
    if let Some(object) = base.as_object_mut() {
        if value.is_null() {
            object.remove(field);
        } else {
            object.insert(field.to_owned(), value);
        }
    }
    base
}

fn primary(broker: serde_json::Value) -> serde_json::Value {
    json!({ "primary": broker })
}

#[test]
fn valid_configurations() {
    let rows: Vec<(&str, serde_json::Value)> = vec![
        ("rest GET", primary(rest_get())),
        (
            "rest POST JSON with basic",
            primary(
                json!({"kind": "rest", "url": "http://127.0.0.1:9000/sms", "method": "POST",
                "authorization": "basic", "username": "u", "password": "p",
                "body": "{\"to\":\"{phone}\",\"text\":\"{message}\",\"login\":\"{login}\"}",
                "return_keys": ["status", "data.id"], "check_each_call": true, "timeout_ms": 2000}),
            ),
        ),
        (
            "rest POST form with oauth two-legged",
            primary(
                json!({"kind": "rest", "url": "http://h/sms", "method": "POST", "authorization": "oauth",
                "key": "k", "secret": "s", "headers": {"Content-Type": "application/x-www-form-urlencoded"},
                "body": "to={phone}&text={message}"}),
            ),
        ),
        (
            "soap basic",
            primary(
                json!({"kind": "soap", "wsdl_url": "http://h/ws?wsdl", "soap_type": "basic",
                "message": "Code {otp}", "variables": {"phone": "{phone}", "message": "{message}"}}),
            ),
        ),
        (
            "soap advanced with options",
            primary(with(
                soap_advanced(),
                "options",
                json!({"soap_version": "SOAP_1_2", "connection_timeout": 2, "location": "http://h/ep",
                       "uri": "urn:x", "trace": 1, "exceptions": true, "cache_wsdl": 0}),
            )),
        ),
        (
            "backup with a soap secondary",
            json!({"primary": rest_get(), "broker2": {"mode": "backup", "broker": soap_advanced()},
                   "budgets": {"per_destination": {"count": 5, "window_s": 3600}, "per_user": {"count": 10, "window_s": 86400}}}),
        ),
        (
            "mode none keeps a broker",
            json!({"primary": rest_get(), "broker2": {"mode": "none", "broker": rest_get()}}),
        ),
    ];
    for (row, value) in rows {
        if let Err(error) = parse(value) {
            panic!("row {row}: {error}");
        }
    }
}

#[test]
fn errors_name_the_json_path() {
    let rows: Vec<(&str, serde_json::Value, &str, &str)> = vec![
        (
            "not http",
            primary(with(rest_get(), "url", json!("ftp://h/x"))),
            "primary.url",
            "scheme",
        ),
        (
            "credentials in url",
            primary(with(rest_get(), "url", json!("https://u:p@h/x"))),
            "primary.url",
            "credentials",
        ),
        (
            "not a url",
            primary(with(rest_get(), "url", json!("sms.example.com"))),
            "primary.url",
            "not a URL",
        ),
        (
            "url missing",
            primary(with(rest_get(), "url", json!(null))),
            "primary.url",
            "required",
        ),
        (
            "method missing",
            primary(with(rest_get(), "method", json!(null))),
            "primary.method",
            "GET or POST",
        ),
        (
            "method lowercase",
            primary(with(rest_get(), "method", json!("get"))),
            "primary.method",
            "unknown variant",
        ),
        (
            "return key not a string",
            primary(with(rest_get(), "return_keys", json!(["ok", 1]))),
            "primary.return_keys[1]",
            "invalid type",
        ),
        (
            "return keys as a string",
            primary(with(rest_get(), "return_keys", json!("[\"a\"]"))),
            "primary.return_keys",
            "invalid type",
        ),
        (
            "return key empty name",
            primary(with(rest_get(), "return_keys", json!(["ok", "a..b"]))),
            "primary.return_keys[1]",
            "empty names",
        ),
        (
            "return key blank",
            primary(with(rest_get(), "return_keys", json!([""]))),
            "primary.return_keys[0]",
            "empty",
        ),
        (
            "unknown field",
            primary(with(rest_get(), "colour", json!("red"))),
            "primary.colour",
            "unknown field",
        ),
        (
            "unknown kind",
            primary(with(rest_get(), "kind", json!("smpp"))),
            "primary.kind",
            "unknown variant",
        ),
        (
            "unknown tag",
            primary(with(
                rest_get(),
                "query",
                json!({"to": "{phone}", "text": "{mesage}"}),
            )),
            "primary.query.text",
            "mesage",
        ),
        (
            "expires_in in broker template",
            primary(with(rest_get(), "query", json!({"t": "{expires_in}"}))),
            "primary.query.t",
            "not available",
        ),
        (
            "body on GET",
            primary(with(rest_get(), "body", json!("x"))),
            "primary.body",
            "no body",
        ),
        (
            "POST without body",
            primary(with(rest_get(), "method", json!("POST"))),
            "primary.body",
            "required for POST",
        ),
        (
            "JSON body that is not JSON",
            primary(
                json!({"kind": "rest", "url": "http://h/", "method": "POST", "body": "{\"text\": {message}}"}),
            ),
            "primary.body",
            "valid JSON",
        ),
        (
            "timeout too small",
            primary(with(rest_get(), "timeout_ms", json!(50))),
            "primary.timeout_ms",
            "100..=60000",
        ),
        (
            "timeout too large",
            primary(with(rest_get(), "timeout_ms", json!(60_001))),
            "primary.timeout_ms",
            "out of range",
        ),
        (
            "timeout negative",
            primary(with(rest_get(), "timeout_ms", json!(-1))),
            "primary.timeout_ms",
            "invalid value",
        ),
        (
            "connect above total",
            primary(with(
                with(rest_get(), "timeout_ms", json!(1000)),
                "connect_timeout_ms",
                json!(2000),
            )),
            "primary.connect_timeout_ms",
            "out of range",
        ),
        (
            "basic without password",
            primary(with(
                with(rest_get(), "authorization", json!("basic")),
                "username",
                json!("u"),
            )),
            "primary.password",
            "required",
        ),
        (
            "basic without username",
            primary(with(
                with(rest_get(), "authorization", json!("basic")),
                "password",
                json!("p"),
            )),
            "primary.username",
            "required",
        ),
        (
            "password without auth",
            primary(with(rest_get(), "password", json!("p"))),
            "primary.password",
            "only used",
        ),
        (
            "token_secret without token",
            primary(
                json!({"kind": "rest", "url": "http://h/", "method": "GET", "authorization": "oauth", "key": "k", "secret": "s", "token_secret": "t"}),
            ),
            "primary.token",
            "token_secret",
        ),
        (
            "oauth without key",
            primary(
                json!({"kind": "rest", "url": "http://h/", "method": "GET", "authorization": "oauth", "secret": "s"}),
            ),
            "primary.key",
            "required",
        ),
        (
            "soap field on rest",
            primary(with(rest_get(), "wsdl_url", json!("http://h/"))),
            "primary.wsdl_url",
            "rest broker",
        ),
        (
            "rest field on soap",
            primary(with(soap_advanced(), "body", json!("x"))),
            "primary.body",
            "soap broker",
        ),
        (
            "header with line break",
            primary(with(rest_get(), "headers", json!({"X-A": "a\r\nb"}))),
            "primary.headers.X-A",
            "not allowed",
        ),
        (
            "bad header name",
            primary(with(rest_get(), "headers", json!({"X A": "a"}))),
            "primary.headers.X A",
            "header name",
        ),
        (
            "same header twice",
            primary(with(rest_get(), "headers", json!({"X-A": "a", "x-a": "b"}))),
            "primary.headers.x-a",
            "twice",
        ),
        (
            "authorization header with basic",
            primary(
                json!({"kind": "rest", "url": "http://h/", "method": "GET", "authorization": "basic", "username": "u", "password": "p", "headers": {"Authorization": "x"}}),
            ),
            "primary.headers.Authorization",
            "authorization field",
        ),
        (
            "null header without stored value",
            primary(with(rest_get(), "headers", json!({"X-Api-Key": null}))),
            "primary.headers.X-Api-Key",
            "stored",
        ),
        (
            "backup without broker",
            json!({"primary": rest_get(), "broker2": {"mode": "backup"}}),
            "broker2.broker",
            "backup or balance",
        ),
        (
            "secondary errors are prefixed",
            json!({"primary": rest_get(), "broker2": {"mode": "balance", "broker": with(rest_get(), "query", json!({"x": "{nope}"}))}}),
            "broker2.broker.query.x",
            "nope",
        ),
        (
            "unknown mode",
            json!({"primary": rest_get(), "broker2": {"mode": "roundrobin"}}),
            "broker2.mode",
            "unknown variant",
        ),
        (
            "budget count 0",
            json!({"primary": rest_get(), "budgets": {"per_user": {"count": 0, "window_s": 60}}}),
            "budgets.per_user.count",
            "out of range",
        ),
        (
            "budget window missing",
            json!({"primary": rest_get(), "budgets": {"per_destination": {"count": 1}}}),
            "budgets.per_destination",
            "window_s",
        ),
        (
            "primary missing",
            json!({"broker2": {"mode": "none"}}),
            ".",
            "primary",
        ),
        (
            "soap type missing",
            primary(with(soap_advanced(), "soap_type", json!(null))),
            "primary.soap_type",
            "basic or advanced",
        ),
        (
            "advanced without call",
            primary(with(soap_advanced(), "call", json!(null))),
            "primary.call",
            "required",
        ),
        (
            "call not an XML name",
            primary(with(soap_advanced(), "call", json!("Send Sms"))),
            "primary.call",
            "XML name",
        ),
        (
            "unknown option",
            primary(with(soap_advanced(), "options", json!({"proxy_host": "u"}))),
            "primary.options.proxy_host",
            "supported",
        ),
        (
            "bad soap_version",
            primary(with(
                soap_advanced(),
                "options",
                json!({"soap_version": "1.3"}),
            )),
            "primary.options.soap_version",
            "1.1 or 1.2",
        ),
        (
            "connection_timeout not integer",
            primary(with(
                soap_advanced(),
                "options",
                json!({"connection_timeout": "5"}),
            )),
            "primary.options.connection_timeout",
            "integer",
        ),
        (
            "timeout twice",
            primary(with(
                with(soap_advanced(), "options", json!({"timeout_ms": 1000})),
                "timeout_ms",
                json!(2000),
            )),
            "primary.options.timeout_ms",
            "set one",
        ),
        (
            "options timeout bounded",
            primary(with(soap_advanced(), "options", json!({"timeout_ms": 10}))),
            "primary.options.timeout_ms",
            "out of range",
        ),
        (
            "encoding",
            primary(with(
                soap_advanced(),
                "options",
                json!({"encoding": "ISO-8859-1"}),
            )),
            "primary.options.encoding",
            "UTF-8",
        ),
        (
            "location not http",
            primary(with(
                soap_advanced(),
                "options",
                json!({"location": "file:///x"}),
            )),
            "primary.options.location",
            "scheme",
        ),
        (
            "options not an object",
            primary(with(soap_advanced(), "options", json!([1]))),
            "primary.options",
            "object",
        ),
        (
            "request name",
            primary(with(soap_advanced(), "request", json!({"1abc": "x"}))),
            "primary.request.1abc",
            "XML name",
        ),
        (
            "request nested arrays",
            primary(with(soap_advanced(), "request", json!({"a": [[1]]}))),
            "primary.request.a[0]",
            "array",
        ),
        (
            "request nested tag",
            primary(with(
                soap_advanced(),
                "request",
                json!({"o": {"i": "{bad}"}}),
            )),
            "primary.request.o.i",
            "bad",
        ),
        (
            "attribute object",
            primary(with(soap_advanced(), "attributes", json!({"x": {}}))),
            "primary.attributes.x",
            "string, number or boolean",
        ),
        (
            "message on advanced",
            primary(with(soap_advanced(), "message", json!("x"))),
            "primary.message",
            "basic",
        ),
        (
            "options on basic",
            primary(
                json!({"kind": "soap", "wsdl_url": "http://h/", "soap_type": "basic", "variables": {"a": "{otp}"}, "options": {"soap_version": 2}}),
            ),
            "primary.options.soap_version",
            "advanced",
        ),
        (
            "basic without variables",
            primary(json!({"kind": "soap", "wsdl_url": "http://h/", "soap_type": "basic"})),
            "primary.variables",
            "required",
        ),
        (
            "response key",
            primary(with(soap_advanced(), "response", json!(["ok", "a."]))),
            "primary.response[1]",
            "empty names",
        ),
    ];
    for (row, value, path, part) in rows {
        match parse(value) {
            Ok(_) => panic!("row {row}: accepted"),
            Err(error) => {
                assert_eq!(error.path(), path, "row {row}: {error}");
                assert!(error.to_string().contains(part), "row {row}: {error}");
                assert!(error.to_string().starts_with(path), "row {row}: {error}");
            }
        }
    }
}

#[test]
fn duplicate_keys_and_trailing_data_are_refused() {
    let rows: &[(&str, &str, &str)] = &[
        (
            "duplicate request key",
            r#"{"primary":{"kind":"soap","wsdl_url":"http://h/","soap_type":"advanced","call":"A","request":{"a":1,"a":2}}}"#,
            "primary.request",
        ),
        (
            "duplicate query key",
            r#"{"primary":{"kind":"rest","url":"http://h/","method":"GET","query":{"a":"1","a":"2"}}}"#,
            "primary.query",
        ),
        (
            "trailing data",
            r#"{"primary":{"kind":"rest","url":"http://h/","method":"GET"}} x"#,
            ".",
        ),
        ("not JSON", r#"{"primary":"#, "primary"),
    ];
    for (row, text, path) in rows {
        let error = SmsConfigInput::from_json_slice(text.as_bytes()).unwrap_err();
        assert!(
            matches!(error, ConfigError::Malformed { .. }),
            "row {row}: {error}"
        );
        assert!(error.path().starts_with(path), "row {row}: {error}");
    }
}

#[test]
fn timeouts_defaults_and_options() {
    let rows: Vec<(&str, serde_json::Value, u64, u64)> = vec![
        ("defaults", rest_get(), 10_000, 5_000),
        (
            "short total caps connect",
            with(rest_get(), "timeout_ms", json!(1_000)),
            1_000,
            1_000,
        ),
        (
            "explicit connect",
            with(rest_get(), "connect_timeout_ms", json!(250)),
            10_000,
            250,
        ),
        (
            "php connection_timeout seconds",
            with(soap_advanced(), "options", json!({"connection_timeout": 2})),
            10_000,
            2_000,
        ),
        (
            "options timeout_ms",
            with(soap_advanced(), "options", json!({"timeout_ms": 3_000})),
            3_000,
            3_000,
        ),
    ];
    for (row, broker, total, connect) in rows {
        let config = parse(primary(broker)).unwrap();
        let (got_total, got_connect) = match config.primary() {
            BrokerConfig::Rest(rest) => (rest.timeout(), rest.connect_timeout()),
            BrokerConfig::Soap(soap) => (soap.timeout(), soap.connect_timeout()),
        };
        assert_eq!(got_total, Duration::from_millis(total), "row {row}");
        assert_eq!(got_connect, Duration::from_millis(connect), "row {row}");
    }
}

#[test]
fn soap_version_option_spellings() {
    let rows: Vec<(serde_json::Value, SoapVersion)> = vec![
        (json!(1.1), SoapVersion::V1_1),
        (json!("1.1"), SoapVersion::V1_1),
        (json!("SOAP_1_1"), SoapVersion::V1_1),
        (json!(1), SoapVersion::V1_1),
        (json!(1.2), SoapVersion::V1_2),
        (json!("1.2"), SoapVersion::V1_2),
        (json!("SOAP_1_2"), SoapVersion::V1_2),
        (json!(2), SoapVersion::V1_2),
    ];
    for (value, expected) in rows {
        let config = parse(primary(with(
            soap_advanced(),
            "options",
            json!({"soap_version": value.clone()}),
        )))
        .unwrap();
        let BrokerConfig::Soap(soap) = config.primary() else {
            panic!("not soap")
        };
        assert_eq!(soap.version, Some(expected), "row {value}");
    }
}

#[test]
fn request_keeps_document_order_and_nesting() {
    let text = r#"{"primary":{"kind":"soap","wsdl_url":"http://h/","soap_type":"advanced","call":"Send",
        "request":{"z":"{phone}","a":{"y":1,"b":[true,null]},"m":"x"}}}"#;
    let config = SmsConfig::from_stored_json(text.as_bytes()).unwrap();
    let BrokerConfig::Soap(soap) = config.primary() else {
        panic!("not soap")
    };
    let names: Vec<&str> = soap.params.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["z", "a", "m"]);
    let Some((_, Param::Element(children))) = soap.params.get(1) else {
        panic!("a is not an element")
    };
    assert!(
        matches!(children.as_slice(), [(y, Param::Literal(one)), (b, Param::Repeated(items))]
        if y == "y" && one == "1" && b == "b" && items.len() == 2)
    );
    assert!(
        config
            .redacted_json()
            .contains(r#""request":{"z":"{phone}","a":{"y":1,"b":[true,null]},"m":"x"}"#)
    );
}

fn secret_config() -> serde_json::Value {
    json!({
        "primary": {"kind": "rest", "url": "https://sms.example.com/send", "method": "GET",
            "authorization": "oauth", "key": "ck", "secret": "consumer-SECRET", "token": "TOKEN-value", "token_secret": "token-SECRET",
            "headers": {"X-Api-Key": "header-SECRET", "Accept": "application/json"},
            "query": {"to": "{phone}", "password": "query-SECRET"}},
        "broker2": {"mode": "backup", "broker": {"kind": "rest", "url": "http://backup.example.com/", "method": "GET",
            "authorization": "digest", "username": "d", "password": "digest-SECRET"}}
    })
}

const SECRETS: [&str; 6] = [
    "consumer-SECRET",
    "TOKEN-value",
    "token-SECRET",
    "header-SECRET",
    "query-SECRET",
    "digest-SECRET",
];

#[test]
fn redacted_answers_hide_every_secret() {
    let config = parse(secret_config()).unwrap();
    let redacted = config.redacted_json();
    let value = config.redacted();
    let debug = format!("{config:?}");
    for secret in SECRETS {
        assert!(!redacted.contains(secret), "{secret} in {redacted}");
        assert!(!value.to_string().contains(secret), "{secret} in value");
        assert!(!debug.contains(secret), "{secret} in Debug");
    }
    for (pointer, expected) in [
        ("/primary/secret", json!(null)),
        ("/primary/token", json!(null)),
        ("/primary/token_secret", json!(null)),
        ("/primary/headers/X-Api-Key", json!(null)),
        ("/primary/query/password", json!(null)),
        ("/primary/query/to", json!("{phone}")),
        ("/primary/headers/Accept", json!("application/json")),
        ("/primary/key", json!("ck")),
        ("/broker2/broker/password", json!(null)),
        ("/broker2/broker/username", json!("d")),
    ] {
        assert_eq!(value.pointer(pointer), Some(&expected), "{pointer}");
    }
    let stored = config.to_stored_json();
    for secret in SECRETS {
        assert!(stored.contains(secret), "{secret} not stored");
    }
}

#[test]
fn put_of_a_redacted_answer_keeps_the_stored_secrets() {
    let stored = parse(secret_config()).unwrap();
    let mut input = SmsConfigInput::from_json_slice(stored.redacted_json().as_bytes()).unwrap();
    input.merge_secrets_from(&stored);
    let merged = input.validate().unwrap();
    assert_eq!(*merged.to_stored_json(), *stored.to_stored_json());
}

#[test]
fn a_new_secret_replaces_the_stored_one() {
    let stored = parse(secret_config()).unwrap();
    let mut changed = secret_config();
    changed["broker2"]["broker"]["password"] = json!("new-SECRET");
    changed["primary"]["secret"] = json!(null);
    let mut input = SmsConfigInput::from_json_slice(changed.to_string().as_bytes()).unwrap();
    input.merge_secrets_from(&stored);
    let merged = input.validate().unwrap();
    let json = merged.to_stored_json();
    assert!(
        json.contains("new-SECRET") && !json.contains("digest-SECRET"),
        "{}",
        *json
    );
    assert!(json.contains("consumer-SECRET"), "{}", *json);
}

#[test]
fn secrets_are_not_kept_for_another_host_or_kind() {
    let stored = parse(secret_config()).unwrap();
    let rows: Vec<(&str, serde_json::Value, &str)> = vec![
        (
            "other host",
            json!("https://evil.example.net/send"),
            "primary.secret",
        ),
        (
            "other scheme",
            json!("http://sms.example.com/send"),
            "primary.secret",
        ),
        (
            "other port",
            json!("https://sms.example.com:8443/send"),
            "primary.secret",
        ),
    ];
    for (row, url, path) in rows {
        let mut redacted = stored.redacted();
        redacted["primary"]["url"] = url;
        let mut input = SmsConfigInput::from_value(redacted).unwrap();
        input.merge_secrets_from(&stored);
        let error = input.validate().unwrap_err();
        assert_eq!(error.path(), path, "row {row}: {error}");
        assert!(error.to_string().contains("host"), "row {row}: {error}");
    }
    let mut same_host_new_path = stored.redacted();
    same_host_new_path["primary"]["url"] = json!("https://sms.example.com/v2/send");
    let mut input = SmsConfigInput::from_value(same_host_new_path).unwrap();
    input.merge_secrets_from(&stored);
    assert!(input.validate().is_ok(), "same origin keeps secrets");
}

#[test]
fn stored_json_round_trips() {
    let config = parse(secret_config()).unwrap();
    let again = SmsConfig::from_stored_json(config.to_stored_json().as_bytes()).unwrap();
    assert_eq!(*again.to_stored_json(), *config.to_stored_json());
    assert_eq!(again.mode(), BrokerMode::Backup);
    assert!(again.secondary().is_some());
    assert!(again.broker(BrokerLabel::Secondary).is_some());
}

#[test]
fn budgets_are_exposed() {
    let config = parse(json!({"primary": rest_get(),
        "budgets": {"per_destination": {"count": 5, "window_s": 3600}}}))
    .unwrap();
    let budget = config.budgets().per_destination().unwrap();
    assert_eq!(
        (budget.count(), budget.window()),
        (5, Duration::from_secs(3600))
    );
    assert_eq!(config.budgets().per_user(), None);
}

#[test]
fn sensitive_names() {
    let rows = [
        ("Authorization", true),
        ("X-Api-Key", true),
        ("apikey", true),
        ("access_token", true),
        ("password", true),
        ("pwd", true),
        ("Cookie", true),
        ("client_secret", true),
        ("to", false),
        ("text", false),
        ("Accept", false),
        ("Content-Type", false),
        ("sender", false),
    ];
    for (name, expected) in rows {
        assert_eq!(is_sensitive_name(name), expected, "row {name}");
    }
}

#[test]
fn template_errors_read_well() {
    let error = parse(primary(with(
        rest_get(),
        "query",
        json!({"text": "Code {otp} {mesage}"}),
    )))
    .unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with("primary.query.text: unknown tag {mesage} at character 11"),
        "{text}"
    );
    assert!(matches!(error, ConfigError::Template { .. }), "{error:?}");
}
