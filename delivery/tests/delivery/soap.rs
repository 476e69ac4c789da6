//! SOAP brokers against `tests/peers/soap_peer.py` (spyne 2.14, lxml schema validation,
//! SOAP 1.1 at /soap11 and SOAP 1.2 at /soap12).

use delivery::{BrokerConfig, BrokerLabel, Classified as _, SendError, SmsConfig, SmsMessage};

use super::peers::{Peer, message, send};
use super::ports::closed_port;
use crate::peer;

fn basic(peer: &Peer, version: &str, extra: &str) -> String {
    // Variables deliberately not in the schema's order (phone, message, sender).
    format!(
        r#"{{"kind": "soap", "wsdl_url": "{}", "soap_type": "basic", "call": "SendSms",
            "message": "SAE: {{message}}",
            "variables": {{"message": "{{message}}", "phone": "{{phone}}"}}{extra}}}"#,
        peer.url(&format!("/soap{version}?wsdl"))
    )
}

fn advanced(peer: &Peer, version: &str, phone: &str, extra: &str) -> String {
    format!(
        r#"{{"kind": "soap", "wsdl_url": "{}", "soap_type": "advanced", "call": "SendSms",
            "request": {{"sender": "SAE", "phone": "{phone}", "message": "{{message}}"}}{extra}}}"#,
        peer.url(&format!("/soap{version}?wsdl"))
    )
}

fn sms_calls(calls: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    calls
        .iter()
        .filter(|call| call["operation"] == "SendSms")
        .collect()
}

#[tokio::test]
async fn basic_mode_sends_through_the_wsdl_operation() {
    let peer = peer!("soap_peer.py");
    let message = message();
    let attempt = send(&basic(&peer, "11", ""), &message).await.unwrap();
    assert_eq!(attempt.http_status, 200);
    assert!(
        attempt.excerpt.starts_with("<?xml") && attempt.excerpt.contains("SendSmsResponse"),
        "{}",
        attempt.excerpt
    );
    let calls = peer.calls().await;
    let call = sms_calls(&calls)[0];
    assert_eq!(call["version"], "1.1");
    assert_eq!(call["params"]["phone"], "5511999998888");
    assert_eq!(
        call["params"]["message"],
        format!("SAE: {}", message.text())
    );
    assert_eq!(call["params"]["soap_action"], "\"SendSms\"");
    assert_eq!(call["params"]["content_type"], "text/xml; charset=utf-8");
}

#[tokio::test]
async fn basic_mode_selects_the_operation() {
    let peer = peer!("soap_peer.py");
    let wsdl = peer.url("/soap11?wsdl");
    let balance = format!(
        r#"{{"kind": "soap", "wsdl_url": "{wsdl}", "soap_type": "basic", "call": "GetBalance", "variables": {{"account": "{{login}}"}},
            "response": ["GetBalanceResult"], "check_each_call": true}}"#
    );
    send(&balance, &message()).await.unwrap();
    let calls = peer.calls().await;
    assert!(
        calls
            .iter()
            .any(|call| call["operation"] == "GetBalance"
                && call["params"]["account"] == "ana.silva"),
        "{calls:?}"
    );

    let no_call = format!(
        r#"{{"kind": "soap", "wsdl_url": "{wsdl}", "soap_type": "basic", "variables": {{"phone": "{{phone}}"}}}}"#
    );
    let error = send(&no_call, &message()).await.unwrap_err();
    assert!(
        matches!(&error, SendError::Wsdl { reason, .. } if reason.contains("SendSms, GetBalance") && reason.contains("set call")),
        "{error:?}"
    );
    assert!(error.is_permanent());

    let unknown =
        basic(&peer, "11", "").replace(r#""phone": "{phone}""#, r#""destination": "{phone}""#);
    let error = send(&unknown, &message()).await.unwrap_err();
    assert!(
        matches!(&error, SendError::Request { reason } if reason.contains("variables.destination") && reason.contains("phone, message, sender")),
        "{error:?}"
    );
}

#[tokio::test]
async fn advanced_mode_success_fault_and_response_keys() {
    let peer = peer!("soap_peer.py");
    let keys = r#", "response": ["SendSmsResult", "SendSmsResponse.SendSmsResult"], "check_each_call": true"#;
    let attempt = send(&advanced(&peer, "11", "{phone}", keys), &message())
        .await
        .unwrap();
    assert!(
        attempt.excerpt.contains("SendSmsResponse"),
        "{}",
        attempt.excerpt
    );

    let missing = r#", "response": ["SendSmsResult", "MessageId"], "check_each_call": true"#;
    let error = send(&advanced(&peer, "11", "{phone}", missing), &message())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, SendError::MissingKeys { missing, status: 200, .. } if missing == &["MessageId"]),
        "{error:?}"
    );
    assert!(error.is_permanent());

    // Not checked on ordinary sends without check_each_call, checked on test sends.
    let unchecked = r#", "response": ["MessageId"]"#;
    assert!(
        send(&advanced(&peer, "11", "{phone}", unchecked), &message())
            .await
            .is_ok()
    );
    let test_send = SmsMessage::test("5511999998888", "test").unwrap();
    assert!(matches!(
        send(&advanced(&peer, "11", "{phone}", unchecked), &test_send).await,
        Err(SendError::MissingKeys { .. })
    ));

    let client = send(&advanced(&peer, "11", "0000", ""), &message())
        .await
        .unwrap_err();
    assert!(
        matches!(&client, SendError::SoapFault { code, reason, status: 500, .. } if code == "Client" && reason == "invalid destination"),
        "{client:?}"
    );
    assert!(client.is_permanent());
    assert_eq!(
        client.fault().as_deref(),
        Some("Client: invalid destination")
    );

    let server = send(&advanced(&peer, "11", "5000", ""), &message())
        .await
        .unwrap_err();
    assert!(
        matches!(&server, SendError::SoapFault { code, .. } if code == "Server"),
        "{server:?}"
    );
    assert!(server.is_transient());

    let calls = peer.calls().await;
    let sms = sms_calls(&calls);
    assert!(
        sms.iter().all(|call| call["params"]["sender"] == "SAE"),
        "{sms:?}"
    );
    assert_eq!(sms[0]["params"]["message"], message().text());
}

#[tokio::test]
async fn soap_1_2_success_and_fault() {
    let peer = peer!("soap_peer.py");
    let keys = r#", "response": ["SendSmsResult"], "check_each_call": true, "options": {"soap_version": "SOAP_1_2"}"#;
    send(&advanced(&peer, "12", "{phone}", keys), &message())
        .await
        .unwrap();
    send(&basic(&peer, "12", ""), &message()).await.unwrap();
    let fault = send(&advanced(&peer, "12", "0000", ""), &message())
        .await
        .unwrap_err();
    assert!(
        matches!(&fault, SendError::SoapFault { code, reason, .. } if code == "Sender" && reason == "invalid destination"),
        "{fault:?}"
    );
    assert!(fault.is_permanent());
    let calls = peer.calls().await;
    let sms = sms_calls(&calls);
    assert_eq!(sms.len(), 3);
    for call in sms {
        assert_eq!(call["version"], "1.2");
        assert_eq!(
            call["params"]["content_type"],
            "application/soap+xml; charset=utf-8; action=\"SendSms\""
        );
    }
}

#[tokio::test]
async fn the_wsdl_is_fetched_once_per_broker() {
    let peer = peer!("soap_peer.py");
    let config = SmsConfig::from_stored_json(
        format!(r#"{{"primary": {}}}"#, basic(&peer, "11", "")).as_bytes(),
    )
    .unwrap();
    let sender = delivery::SmsSender::new(&config).unwrap();
    for _ in 0..3 {
        assert!(sender.deliver(&message()).await.delivered());
    }
    let calls = peer.calls().await;
    let wsdl_fetches = calls
        .iter()
        .filter(|call| call["operation"] == "wsdl")
        .count();
    assert_eq!((wsdl_fetches, sms_calls(&calls).len()), (1, 3), "{calls:?}");
    assert!(
        sender
            .send_via(BrokerLabel::Secondary, &message())
            .await
            .is_none()
    );
    let BrokerConfig::Soap(soap) = config.primary() else {
        panic!("not soap")
    };
    let broker = delivery::sms::SoapBroker::new(soap.clone()).unwrap();
    assert_eq!(
        broker.operations().await.unwrap(),
        ["SendSms", "GetBalance"]
    );
}

#[tokio::test]
async fn location_option_overrides_the_wsdl_endpoint() {
    let peer = peer!("soap_peer.py");
    let closed = format!(
        r#", "options": {{"location": "http://127.0.0.1:{}/soap11"}}"#,
        closed_port()
    );
    let error = send(&advanced(&peer, "11", "{phone}", &closed), &message())
        .await
        .unwrap_err();
    assert!(matches!(error, SendError::Connect { .. }), "{error:?}");
    let same = format!(
        r#", "options": {{"location": "{}", "uri": "urn:sae:test:sms"}}"#,
        peer.url("/soap11")
    );
    send(&advanced(&peer, "11", "{phone}", &same), &message())
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unreachable_wsdl_is_transient() {
    let broker = format!(
        r#"{{"kind": "soap", "wsdl_url": "http://127.0.0.1:{}/ws?wsdl", "soap_type": "basic", "variables": {{"phone": "{{phone}}"}}}}"#,
        closed_port()
    );
    let error = send(&broker, &message()).await.unwrap_err();
    assert!(
        matches!(error, SendError::Connect { .. }) && error.is_transient(),
        "{error:?}"
    );
}
