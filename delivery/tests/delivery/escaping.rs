//! Tag values are encoded for where they go (SPEC §6.1 "Escaping"), proved with the values an
//! attacker controls (a user's name) against `tests/peers/rest_peer.py`, whose independent
//! parsers (xml.etree, urllib, json) report what the broker would read. Broker `secrets`
//! reach the body, the query and the headers.

use delivery::SmsMessage;
use serde_json::{Value, json};

use super::peers::send;
use crate::peer;

const KEY: &str = "k&<'\"=y/+ %";

fn victim(name: &str) -> SmsMessage {
    SmsMessage::new(
        "+5511999998888",
        "Your code is 123456 <&>",
        "123456",
        "bob",
        name,
    )
    .unwrap()
}

fn post(url: &str, content_type: &str, body: &str) -> String {
    json!({"kind": "rest", "url": url, "method": "POST",
        "headers": {"Content-Type": content_type}, "body": body,
        "secrets": {"API_KEY": KEY}})
    .to_string()
}

#[tokio::test]
async fn xml_values_cannot_change_the_element_structure() {
    let peer = peer!("rest_peer.py");
    let name = "Bob</text><to>15550001111</to><text>";
    let body = r#"<?xml version="1.0" encoding="UTF-8"?>
<sms key="{secret.API_KEY}"><to>{phone}</to><text>Hi {name}: {message}</text><from>{login}</from></sms>"#;
    for content_type in [
        "application/xml",
        "text/xml; charset=utf-8",
        "application/sms+xml",
    ] {
        send(
            &post(&peer.url("/none/ok"), content_type, body),
            &victim(name),
        )
        .await
        .unwrap();
    }
    let calls = peer.calls().await;
    assert_eq!(calls.len(), 3);
    for call in &calls {
        let parsed = &call["parsed"];
        assert_eq!(
            parsed["elements"],
            json!([
                ["sms", null, {"key": KEY}],
                ["to", "5511999998888", {}],
                ["text", format!("Hi {name}: Your code is 123456 <&>"), {}],
                ["from", "bob", {}],
            ]),
            "{call}"
        );
    }
}

#[tokio::test]
async fn json_values_stay_inside_their_strings() {
    let peer = peer!("rest_peer.py");
    let name = "Bob\", \"to\": \"15550001111\", \"x\": \"\\";
    let body = r#"{"api_key": "{secret.API_KEY}", "to": "{phone}", "text": "{name}: {message}"}"#;
    for content_type in [
        "application/json",
        "application/vnd.sms+json; charset=utf-8",
    ] {
        send(
            &post(&peer.url("/none/ok"), content_type, body),
            &victim(name),
        )
        .await
        .unwrap();
    }
    for call in peer.calls().await {
        assert_eq!(
            call["parsed"]["json"],
            json!({"api_key": KEY, "to": "5511999998888",
                   "text": format!("{name}: Your code is 123456 <&>")}),
            "{call}"
        );
    }
}

#[tokio::test]
async fn form_values_stay_one_parameter() {
    let peer = peer!("rest_peer.py");
    let name = "Bob&to=15550001111&text=";
    let body = "api_key={secret.API_KEY}&to={phone}&text={name}%3A%20{message}";
    send(
        &post(
            &peer.url("/none/ok"),
            "application/x-www-form-urlencoded",
            body,
        ),
        &victim(name),
    )
    .await
    .unwrap();
    let calls = peer.calls().await;
    assert_eq!(
        calls[0]["parsed"]["pairs"],
        json!([
            ["api_key", KEY],
            ["to", "5511999998888"],
            ["text", format!("{name}: Your code is 123456 <&>")],
        ]),
        "{}",
        calls[0]
    );
}

#[tokio::test]
async fn secrets_reach_query_and_headers() {
    let peer = peer!("rest_peer.py");
    let broker = json!({"kind": "rest", "url": peer.url("/none/ok"), "method": "GET",
        "headers": {"X-Api-Key": "{secret.API_KEY}", "Authorization": "Token {secret.TOKEN}"},
        "query": {"token": "{secret.API_KEY}", "to": "{phone}", "name": "{name}"},
        "secrets": {"API_KEY": "key-1", "TOKEN": KEY}});
    let name = "Bob&to=15550001111";
    send(&broker.to_string(), &victim(name)).await.unwrap();
    let calls = peer.calls().await;
    let call = &calls[0];
    assert_eq!(call["headers"]["x-api-key"], "key-1");
    assert_eq!(
        call["headers"]["authorization"],
        Value::from(format!("Token {KEY}"))
    );
    assert_eq!(
        call["query"],
        json!({"token": "key-1", "to": "5511999998888", "name": name})
    );
}
