//! Failover through `SmsSender` with real peers.

use delivery::{BrokerLabel, ErrorClass, Outcome};

use super::peers::{Peer, message, sender};
use super::ports::closed_port;
use crate::peer;

fn rest(url: &str, extra: &str) -> String {
    format!(
        r#"{{"kind": "rest", "url": "{url}", "method": "GET", "query": {{"to": "{{phone}}", "text": "{{message}}"}}{extra}}}"#
    )
}

fn config(mode: &str, primary: &str, secondary: &str) -> String {
    format!(r#"{{"primary": {primary}, "broker2": {{"mode": "{mode}", "broker": {secondary}}}}}"#)
}

fn soap_fault(peer: &Peer) -> String {
    format!(
        r#"{{"kind": "soap", "wsdl_url": "{}", "soap_type": "advanced", "call": "SendSms", "request": {{"phone": "0000", "message": "{{message}}"}}}}"#,
        peer.url("/soap11?wsdl")
    )
}

#[tokio::test]
async fn backup_delivers_when_the_primary_fails() {
    let backup = peer!("rest_peer.py");
    let broken = peer!("rest_peer.py");
    let soap = peer!("soap_peer.py");
    let secondary = rest(&backup.url("/none/ok"), "");
    let rows: Vec<(&str, String, ErrorClass, Option<u16>)> = vec![
        (
            "refused",
            rest(&format!("http://127.0.0.1:{}/sms", closed_port()), ""),
            ErrorClass::Transient,
            None,
        ),
        (
            "hanging past its timeout",
            rest(&broken.url("/none/hang"), r#", "timeout_ms": 400"#),
            ErrorClass::Timeout,
            None,
        ),
        (
            "HTTP 500",
            rest(&broken.url("/none/status-500"), ""),
            ErrorClass::Transient,
            Some(500),
        ),
        (
            "missing return keys",
            rest(
                &broken.url("/none/rejected"),
                r#", "return_keys": ["data.id"], "check_each_call": true"#,
            ),
            ErrorClass::Permanent,
            Some(200),
        ),
        (
            "SOAP fault",
            soap_fault(&soap),
            ErrorClass::Permanent,
            Some(500),
        ),
    ];
    for (row, primary, class, status) in rows {
        let delivery = sender(&config("backup", &primary, &secondary))
            .deliver(&message())
            .await;
        let attempts = delivery.attempts();
        assert_eq!(attempts.len(), 2, "row {row}: {attempts:?}");
        assert_eq!(
            (attempts[0].broker, attempts[0].outcome),
            (BrokerLabel::Primary, Outcome::Failed(class)),
            "row {row}"
        );
        assert_eq!(attempts[0].http_status, status, "row {row}");
        assert!(attempts[0].error.is_some(), "row {row}");
        assert_eq!(
            (attempts[1].broker, attempts[1].outcome),
            (BrokerLabel::Secondary, Outcome::Delivered),
            "row {row}"
        );
        assert_eq!(
            delivery.delivered_by(),
            Some(BrokerLabel::Secondary),
            "row {row}"
        );
        if row == "SOAP fault" {
            assert_eq!(
                attempts[0].fault.as_deref(),
                Some("Client: invalid destination")
            );
        }
        for attempt in attempts {
            assert!(
                !attempt.excerpt.contains("123456"),
                "row {row}: {}",
                attempt.excerpt
            );
        }
    }
    assert_eq!(backup.calls().await.len(), 5);
}

#[tokio::test]
async fn backup_does_not_call_the_secondary_after_a_success() {
    let primary = peer!("rest_peer.py");
    let secondary = peer!("rest_peer.py");
    let delivery = sender(&config(
        "backup",
        &rest(&primary.url("/none/ok"), ""),
        &rest(&secondary.url("/none/ok"), ""),
    ))
    .deliver(&message())
    .await;
    assert_eq!(delivery.attempts().len(), 1);
    assert_eq!(delivery.delivered_by(), Some(BrokerLabel::Primary));
    assert!(delivery.attempts()[0].latency.as_millis() < 5_000);
    assert!(secondary.calls().await.is_empty());
}

#[tokio::test]
async fn mode_none_makes_one_attempt_and_advises_retry() {
    let primary = peer!("rest_peer.py");
    let secondary = peer!("rest_peer.py");
    let sender = sender(&config(
        "none",
        &rest(&primary.url("/none/status-503"), ""),
        &rest(&secondary.url("/none/ok"), ""),
    ));
    let delivery = sender.deliver(&message()).await;
    assert_eq!(delivery.attempts().len(), 1);
    assert!(!delivery.delivered() && delivery.retry_advised());
    assert!(secondary.calls().await.is_empty());

    let both = super::peers::sender(&config(
        "backup",
        &rest(&primary.url("/none/status-404"), ""),
        &rest(&secondary.url("/none/status-400"), ""),
    ));
    let delivery = both.deliver(&message()).await;
    assert_eq!(delivery.attempts().len(), 2);
    assert!(
        !delivery.delivered() && !delivery.retry_advised(),
        "permanent failures only"
    );
}

#[tokio::test]
async fn balance_splits_sends_and_survives_one_broker_down() {
    let left = peer!("rest_peer.py");
    let right = peer!("rest_peer.py");
    let sender = sender(&config(
        "balance",
        &rest(&left.url("/none/ok"), ""),
        &rest(&right.url("/none/ok"), ""),
    ));
    let mut by_primary = 0;
    for _ in 0..100 {
        let delivery = sender.deliver(&message()).await;
        assert_eq!(delivery.attempts().len(), 1);
        if delivery.delivered_by() == Some(BrokerLabel::Primary) {
            by_primary += 1;
        }
    }
    let (left_calls, right_calls) = (left.calls().await.len(), right.calls().await.len());
    assert!(
        (40..=60).contains(&left_calls) && (40..=60).contains(&right_calls),
        "{left_calls} / {right_calls}"
    );
    assert_eq!(by_primary, left_calls);

    let down = super::peers::sender(&config(
        "balance",
        &rest(&left.url("/none/ok"), ""),
        &rest(&format!("http://127.0.0.1:{}/sms", closed_port()), ""),
    ));
    let mut failovers = 0;
    for _ in 0..100 {
        let delivery = down.deliver(&message()).await;
        assert_eq!(delivery.delivered_by(), Some(BrokerLabel::Primary));
        if delivery.attempts().len() == 2 {
            assert_eq!(delivery.attempts()[0].broker, BrokerLabel::Secondary);
            failovers += 1;
        }
    }
    assert!((40..=60).contains(&failovers), "{failovers}");
    assert_eq!(left.calls().await.len(), left_calls + 100);
}
