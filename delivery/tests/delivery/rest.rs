//! REST brokers against `tests/peers/rest_peer.py` (http.server; Digest checked with
//! hashlib, OAuth 1.0a with oauthlib's SignatureOnlyEndpoint).

use std::time::{Duration, Instant};

use delivery::{Classified as _, SendError, SmsMessage};

use super::peers::{message, send};
use super::ports::closed_port;
use crate::peer;

const PASSWORD: &str = "s3cret: pass";

fn get_broker(url: &str, extra: &str) -> String {
    format!(
        r#"{{"kind": "rest", "url": "{url}", "method": "GET",
            "query": {{"to": "{{phone}}", "text": "{{message}}", "user": "{{login}}", "code": "{{otp}}"}}{extra}}}"#
    )
}

fn post_broker(url: &str, extra: &str) -> String {
    format!(
        r#"{{"kind": "rest", "url": "{url}", "method": "POST",
            "body": "{{\"to\":\"{{phone}}\",\"text\":\"{{message}}\",\"name\":\"{{name}}\"}}"{extra}}}"#
    )
}

#[tokio::test]
async fn get_sends_percent_encoded_query_parameters() {
    let peer = peer!("rest_peer.py");
    let message = message();
    let url = format!("{}?fixed=a%20b", peer.url("/none/ok"));
    let attempt = send(&get_broker(&url, ""), &message).await.unwrap();
    assert_eq!(attempt.http_status, 200);
    let calls = peer.calls().await;
    let call = &calls[0];
    assert_eq!(call["method"], "GET");
    assert_eq!(call["query"]["to"], "5511999998888");
    assert_eq!(call["query"]["text"], message.text());
    assert_eq!(call["query"]["user"], "ana.silva");
    assert_eq!(call["query"]["code"], "123456");
    assert_eq!(call["query"]["fixed"], "a b");
    let raw = call["raw_query"].as_str().unwrap();
    assert!(
        raw.contains(
            "text=Seu%20c%C3%B3digo%20%C3%A9%20123456%20%3C%26%3E%20%22ok%22%2050%25%20%2B%2F%3D%3F"
        ),
        "{raw}"
    );
    // The peer echoes the request: the excerpt must not carry the code.
    assert!(
        attempt.excerpt.contains("***") && !attempt.excerpt.contains("123456"),
        "{}",
        attempt.excerpt
    );
    assert!(
        attempt.excerpt.chars().count() <= 201,
        "{}",
        attempt.excerpt
    );
}

#[tokio::test]
async fn post_sends_a_json_body_with_escaped_values() {
    let peer = peer!("rest_peer.py");
    let message = message();
    send(&post_broker(&peer.url("/none/ok"), ""), &message)
        .await
        .unwrap();
    let calls = peer.calls().await;
    let call = &calls[0];
    assert_eq!(call["method"], "POST");
    assert_eq!(
        call["headers"]["content-type"],
        "application/json; charset=utf-8"
    );
    let body: serde_json::Value = serde_json::from_str(call["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["text"], message.text());
    assert_eq!(body["name"], "Ana \"Q\" O'Neil\\");
    assert_eq!(body["to"], "5511999998888");
}

#[tokio::test]
async fn post_form_body_is_percent_encoded_and_headers_are_sent() {
    let peer = peer!("rest_peer.py");
    let broker = format!(
        r#"{{"kind": "rest", "url": "{}", "method": "POST",
            "headers": {{"Content-Type": "application/x-www-form-urlencoded", "X-Api-Key": "k-1"}},
            "body": "to={{phone}}&text={{message}}"}}"#,
        peer.url("/none/ok")
    );
    send(&broker, &message()).await.unwrap();
    let calls = peer.calls().await;
    assert_eq!(calls[0]["headers"]["x-api-key"], "k-1");
    let body = calls[0]["body"].as_str().unwrap();
    assert!(
        body.starts_with("to=5511999998888&text=Seu%20c%C3%B3digo"),
        "{body}"
    );
}

#[tokio::test]
async fn authentication_schemes_are_accepted_by_independent_servers() {
    let peer = peer!("rest_peer.py");
    let creds = format!(r#", "username": "sae", "password": "{PASSWORD}""#);
    let oauth3 = r#", "authorization": "oauth", "key": "sae-consumer", "secret": "consumer-secret", "token": "sae-token", "token_secret": "token-secret""#;
    let oauth2 =
        r#", "authorization": "oauth", "key": "sae-consumer", "secret": "consumer-secret""#;
    let rows: Vec<(&str, String)> = vec![
        (
            "basic GET",
            get_broker(
                &peer.url("/basic/ok"),
                &format!(r#", "authorization": "basic"{creds}"#),
            ),
        ),
        (
            "digest MD5 GET",
            get_broker(
                &peer.url("/digest/ok"),
                &format!(r#", "authorization": "digest"{creds}"#),
            ),
        ),
        (
            "digest MD5 POST",
            post_broker(
                &peer.url("/digest/ok"),
                &format!(r#", "authorization": "digest"{creds}"#),
            ),
        ),
        (
            "digest SHA-256 GET",
            get_broker(
                &peer.url("/digest-sha256/ok"),
                &format!(r#", "authorization": "digest"{creds}"#),
            ),
        ),
        (
            "oauth GET with query",
            get_broker(&format!("{}?x=a%20b", peer.url("/oauth/ok")), oauth3),
        ),
        (
            "oauth POST JSON",
            post_broker(&peer.url("/oauth/ok"), oauth3),
        ),
        (
            "oauth two-legged",
            get_broker(&peer.url("/oauth/ok"), oauth2),
        ),
        (
            "oauth POST form (body signed)",
            format!(
                r#"{{"kind": "rest", "url": "{}", "method": "POST", "headers": {{"Content-Type": "application/x-www-form-urlencoded"}},
                    "body": "to={{phone}}&text={{message}}"{oauth3}}}"#,
                peer.url("/oauth/ok")
            ),
        ),
    ];
    for (row, broker) in &rows {
        let result = send(broker, &message()).await;
        assert!(result.is_ok(), "row {row}: {result:?}");
    }
    let calls = peer.calls().await;
    let accepted: Vec<&serde_json::Value> = calls
        .iter()
        .filter(|call| call["auth_ok"] == true)
        .collect();
    assert_eq!(accepted.len(), rows.len(), "{calls:#?}");
    for call in accepted {
        let detail = call["auth_detail"].as_str().unwrap();
        assert!(!detail.contains("False"), "{detail}");
    }
}

#[tokio::test]
async fn refused_credentials_are_permanent_authentication_errors() {
    let peer = peer!("rest_peer.py");
    let rows: Vec<(&str, String)> = vec![
        (
            "basic",
            get_broker(
                &peer.url("/basic/ok"),
                r#", "authorization": "basic", "username": "sae", "password": "wrong""#,
            ),
        ),
        (
            "digest",
            get_broker(
                &peer.url("/digest/ok"),
                r#", "authorization": "digest", "username": "sae", "password": "wrong""#,
            ),
        ),
        (
            "oauth",
            get_broker(
                &peer.url("/oauth/ok"),
                r#", "authorization": "oauth", "key": "sae-consumer", "secret": "wrong""#,
            ),
        ),
    ];
    for (row, broker) in rows {
        let error = send(&broker, &message()).await.unwrap_err();
        assert!(
            matches!(error, SendError::Authentication { status: 401, .. }),
            "row {row}: {error:?}"
        );
        assert!(error.is_permanent(), "row {row}");
    }
}

#[tokio::test]
async fn return_keys_are_checked_on_each_call_or_on_test_sends() {
    let peer = peer!("rest_peer.py");
    let ok = peer.url("/none/ok");
    let with_keys = |keys: &str, each: bool| {
        get_broker(
            &ok,
            &format!(r#", "return_keys": {keys}, "check_each_call": {each}"#),
        )
    };
    let test_send = SmsMessage::test("5511999998888", "test").unwrap();
    type Row = (&'static str, String, bool, Result<(), &'static str>);
    let rows: Vec<Row> = vec![
        (
            "present, dotted",
            with_keys(r#"["status", "data.id", "received.query.to"]"#, true),
            false,
            Ok(()),
        ),
        (
            "missing on each call",
            with_keys(r#"["status", "data.cost"]"#, true),
            false,
            Err("data.cost"),
        ),
        (
            "missing but not checked",
            with_keys(r#"["data.cost"]"#, false),
            false,
            Ok(()),
        ),
        (
            "missing on a test send",
            with_keys(r#"["data.cost"]"#, false),
            true,
            Err("data.cost"),
        ),
        ("empty list", with_keys("[]", true), true, Ok(())),
    ];
    for (row, broker, is_test, expected) in rows {
        let msg = if is_test {
            test_send.clone()
        } else {
            message()
        };
        match (send(&broker, &msg).await, expected) {
            (Ok(_), Ok(())) => {}
            (
                Err(SendError::MissingKeys {
                    missing,
                    status: 200,
                    ..
                }),
                Err(key),
            ) => {
                assert_eq!(missing, [key], "row {row}");
            }
            (got, _) => panic!("row {row}: {got:?}"),
        }
    }
    let text = get_broker(
        &peer.url("/none/text"),
        r#", "return_keys": ["id"], "check_each_call": true"#,
    );
    let error = send(&text, &message()).await.unwrap_err();
    assert!(
        matches!(error, SendError::UnreadableAnswer { .. }) && error.is_permanent(),
        "{error:?}"
    );
    // Without return keys any 2xx answer counts, JSON or not.
    assert!(
        send(&get_broker(&peer.url("/none/text"), ""), &message())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn http_errors_are_classified() {
    let peer = peer!("rest_peer.py");
    let rows: &[(&str, u16, bool)] = &[
        ("/none/status-500", 500, true),
        ("/none/status-503", 503, true),
        ("/none/status-429", 429, true),
        ("/none/status-400", 400, false),
        ("/none/status-404", 404, false),
        ("/none/status-302", 302, false),
    ];
    for (path, status, transient) in rows {
        let error = send(&get_broker(&peer.url(path), ""), &message())
            .await
            .unwrap_err();
        assert_eq!(error.http_status(), Some(*status), "row {path}: {error:?}");
        assert_eq!(error.is_transient(), *transient, "row {path}");
        assert!(
            error
                .excerpt()
                .is_some_and(|excerpt| excerpt.contains("error")),
            "row {path}: {error:?}"
        );
    }
}

#[tokio::test]
async fn a_hanging_broker_costs_its_timeout() {
    let peer = peer!("rest_peer.py");
    let started = Instant::now();
    let error = send(
        &get_broker(&peer.url("/none/hang"), r#", "timeout_ms": 500"#),
        &message(),
    )
    .await
    .unwrap_err();
    let elapsed = started.elapsed();
    assert!(error.is_timeout() && error.is_transient(), "{error:?}");
    assert!(
        // The peer hangs for 30 s: ending well before proves the 500 ms timeout fired
        // (a wide margin, so a loaded machine does not make this flaky).
        elapsed >= Duration::from_millis(450) && elapsed < Duration::from_secs(20),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn refused_and_unreachable_brokers_cost_at_most_the_connect_timeout() {
    let refused = get_broker(&format!("http://127.0.0.1:{}/sms", closed_port()), "");
    let started = Instant::now();
    let error = send(&refused, &message()).await.unwrap_err();
    assert!(
        matches!(error, SendError::Connect { .. }) && error.is_transient(),
        "{error:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    // A port whose accept queue is full: SYNs are dropped, as for an unreachable host.
    let blackhole = peer!("blackhole_peer.py");
    let unreachable = get_broker(
        &blackhole.url("/sms"),
        r#", "timeout_ms": 5000, "connect_timeout_ms": 300"#,
    );
    let started = Instant::now();
    let error = send(&unreachable, &message()).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        matches!(error, SendError::Timeout { after_ms: 300 }),
        "{error:?}"
    );
    assert!(
        // `after_ms: 300` above says the connect timeout fired; below the 5 s total timeout.
        elapsed >= Duration::from_millis(250) && elapsed < Duration::from_millis(4500),
        "{elapsed:?}"
    );
    assert!(
        !error.to_string().contains("5511999998888"),
        "the URL (with the message) leaked: {error}"
    );
}
