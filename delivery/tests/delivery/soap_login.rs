//! SOAP brokers with `options.login` / `options.password` against `tests/peers/soap_peer.py`
//! behind HTTP Basic (`/basic/…`) and Digest (`/digest/…`): the WSDL fetch and the call both
//! authenticate; broker `secrets` reach the envelope, XML-escaped.

use delivery::{Classified as _, SendError};
use serde_json::{Value, json};

use super::peers::{Peer, message, send};
use crate::peer;

const PASSWORD: &str = "s3cret: pass";

fn broker(peer: &Peer, soap_type: &str, path: &str, options: Value) -> String {
    let mut broker = json!({"kind": "soap", "wsdl_url": peer.url(&format!("{path}?wsdl")),
        "soap_type": soap_type, "call": "SendSms", "options": options,
        "secrets": {"SENDER": "SAE <&> \"ops\""}});
    if soap_type == "basic" {
        broker["variables"] =
            json!({"phone": "{phone}", "message": "{message}", "sender": "{secret.SENDER}"});
    } else {
        broker["request"] =
            json!({"phone": "{phone}", "message": "{message}", "sender": "{secret.SENDER}"});
    }
    broker.to_string()
}

fn of<'a>(calls: &'a [Value], operation: &str) -> Vec<&'a Value> {
    calls
        .iter()
        .filter(|call| call["operation"] == operation)
        .collect()
}

#[tokio::test]
async fn basic_and_advanced_brokers_authenticate_with_basic_and_digest() {
    let peer = peer!("soap_peer.py");
    let login = json!({"login": "sae", "password": PASSWORD});
    let digest_only = json!({"login": "sae", "password": PASSWORD, "authentication": "digest"});
    let rows = [
        ("basic", "/basic/soap11", &login, "Basic"),
        ("advanced", "/basic/soap12", &login, "Basic"),
        ("basic", "/digest/soap11", &login, "Digest"),
        ("advanced", "/digest/soap12", &digest_only, "Digest"),
        ("advanced", "/digest/soap11", &digest_only, "Digest"),
    ];
    let message = message();
    for (soap_type, path, options, scheme) in rows {
        let before = peer.calls().await.len();
        let attempt = send(&broker(&peer, soap_type, path, options.clone()), &message)
            .await
            .unwrap_or_else(|error| panic!("{soap_type} {path}: {error}"));
        assert_eq!(attempt.http_status, 200);
        let calls = peer.calls().await.split_off(before);
        let sent = of(&calls, "SendSms");
        assert_eq!(sent.len(), 1, "{soap_type} {path}: {calls:?}");
        assert_eq!(sent[0]["params"]["path"], Value::from(path));
        assert_eq!(sent[0]["params"]["phone"], "5511999998888");
        assert_eq!(sent[0]["params"]["sender"], "SAE <&> \"ops\"");
        let accepted: Vec<&Value> = of(&calls, "auth")
            .into_iter()
            .filter(|call| call["params"]["accepted"] == true)
            .collect();
        assert_eq!(
            accepted.len(),
            2,
            "{soap_type} {path}: the WSDL and the call: {calls:?}"
        );
        for call in accepted {
            assert_eq!(call["params"]["carried"], scheme, "{call}");
        }
        if options.get("authentication").is_some() {
            assert!(
                of(&calls, "auth")
                    .iter()
                    .all(|call| call["params"]["carried"] != "Basic"),
                "authentication digest never sends the password: {calls:?}"
            );
        }
    }
}

#[tokio::test]
async fn refused_soap_credentials_are_permanent_authentication_errors() {
    let peer = peer!("soap_peer.py");
    let rows = [
        (
            "/basic/soap11",
            json!({"login": "sae", "password": "wrong"}),
        ),
        (
            "/digest/soap11",
            json!({"login": "sae", "password": "wrong"}),
        ),
        (
            "/digest/soap12",
            json!({"login": "sae", "password": "wrong", "authentication": "digest"}),
        ),
        (
            "/basic/soap11",
            json!({"login": "sae", "password": PASSWORD, "authentication": "digest"}),
        ),
    ];
    for (path, options) in rows {
        let error = send(
            &broker(&peer, "advanced", path, options.clone()),
            &message(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(error, SendError::Authentication { status: 401, .. }),
            "{path} {options}: {error:?}"
        );
        assert!(error.class().is_permanent(), "{error:?}");
        assert!(!error.to_string().contains("wrong"), "{error}");
    }
    let calls = peer.calls().await;
    assert!(of(&calls, "SendSms").is_empty(), "{calls:?}");
}

#[tokio::test]
async fn without_credentials_the_guarded_broker_answers_401() {
    let peer = peer!("soap_peer.py");
    let mut open: Value =
        serde_json::from_str(&broker(&peer, "advanced", "/basic/soap11", json!({}))).unwrap();
    open.as_object_mut().unwrap().remove("options");
    let error = send(&open.to_string(), &message()).await.unwrap_err();
    assert!(
        matches!(error, SendError::HttpStatus { status: 401, .. }),
        "{error:?}"
    );
}
