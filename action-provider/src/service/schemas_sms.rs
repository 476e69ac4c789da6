//! The JSON Schema of the SMS (and voice) broker document, `PUT /v1/delivery/sms|voice`,
//! used by [`super::schemas`]: its members, their types and words, as the delivery crate
//! reads them. The rules inside a broker (URLs, body templates and their tags, a SOAP call
//! read from its WSDL, the members of the other kind refused) are the delivery crate's, which
//! names the offending field.

use serde_json::{Value, json};

/// A string, or `null` (absent; for a secret: keep the stored one).
fn text() -> Value {
    json!({"type": ["string", "null"]})
}

/// An object of name → string, or `null` for a secret kept from the stored document.
fn string_map() -> Value {
    json!({"type": ["object", "null"], "additionalProperties": {"type": ["string", "null"]}})
}

/// A whole number of `u64`.
fn count() -> Value {
    json!({"type": "integer", "minimum": 0, "maximum": u64::MAX})
}

/// One broker, REST or SOAP, as one object.
fn broker() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["kind"],
        "properties": {
            "kind": {"type": "string", "enum": ["rest", "soap"]},
            "url": text(),
            "method": {"type": ["string", "null"], "enum": ["GET", "POST", null]},
            "authorization": {"type": ["string", "null"],
                "enum": ["none", "basic", "digest", "oauth", null]},
            "username": text(),
            "password": text(),
            "key": text(),
            "secret": text(),
            "token": text(),
            "token_secret": text(),
            "headers": string_map(),
            "query": string_map(),
            "body": text(),
            "return_keys": {"type": ["array", "null"], "items": {"type": "string"}},
            "wsdl_url": text(),
            "soap_type": {"type": ["string", "null"], "enum": ["basic", "advanced", null]},
            "call": text(),
            "options": {"type": ["object", "null"]},
            "attributes": {"type": ["object", "null"]},
            "request": {"type": ["object", "null"]},
            "response": {"type": ["array", "null"], "items": {"type": "string"}},
            "message": text(),
            "variables": string_map(),
            "secrets": string_map(),
            "check_each_call": {"type": ["boolean", "null"]},
            "timeout_ms": {"type": ["integer", "null"], "minimum": 0, "maximum": u64::MAX},
            "connect_timeout_ms": {"type": ["integer", "null"], "minimum": 0, "maximum": u64::MAX}
        }
    })
}

/// `PUT /v1/delivery/sms` and `PUT /v1/delivery/voice`.
pub fn sms_config() -> Value {
    let budget = json!({"type": ["object", "null"], "additionalProperties": false,
        "required": ["count", "window_s"],
        "properties": {"count": count(), "window_s": count()}});
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["primary"],
        "properties": {
            "primary": broker(),
            "broker2": {"type": "object", "additionalProperties": false, "properties": {
                "mode": {"type": "string", "enum": ["none", "backup", "balance"]},
                "broker": {"anyOf": [broker(), {"type": "null"}]}
            }},
            "budgets": {"type": ["object", "null"], "additionalProperties": false, "properties": {
                "per_destination": budget,
                "per_user": budget
            }}
        }
    })
}
