//! The JSON Schemas of the mail bodies of issue 16 (inbound accounts, notifications, the
//! JWT bearer profile), used by [`super::schemas`]: they say exactly what
//! [`super::inbound`], [`super::notifications`] and [`super::oauth2_jwt`] accept, or less.

use serde_json::{Value, json};

use super::input::patterns;

/// Adds the members of `extra` (an object) to `props` (an object).
pub fn extend(props: &mut Value, extra: &Value) {
    if let (Some(m), Some(extra)) = (props.as_object_mut(), extra.as_object()) {
        m.extend(extra.clone());
    }
}

/// `client_secret_expires_at`: an RFC 3339 time, empty or null (none).
pub fn rfc3339_or_empty() -> Value {
    json!({"type": ["string", "null"], "maxLength": 40, "pattern": patterns::RFC3339_OR_EMPTY,
           "description": "When the client secret expires at the provider (RFC 3339); warned 30 days ahead."})
}

/// The `jwt_bearer` variant of a profile: a service account's JSON key (required on
/// creation), the mailbox it acts as; no client secret, authorization or redirect URL.
pub fn jwt_bearer_profile(new: bool, common: &Value) -> Value {
    let mut required = vec![
        json!("name"),
        json!("flow"),
        json!("token_url"),
        json!("scope"),
        json!("subject"),
    ];
    if new {
        required.push(json!("service_account_key"));
    }
    let mut props = json!({
        "flow": {"const": "jwt_bearer"},
        "client_id": {"type": "string", "maxLength": 255,
            "description": "The key's client_email (filled in when empty)."},
        "service_account_key": {"type": if new { json!("string") } else { json!(["string", "null"]) },
            "minLength": 1, "maxLength": 16384,
            "description": "The service account's JSON key file; never answered; on PUT, omitted or null keeps the stored one."},
        "subject": {"type": "string", "maxLength": 254, "pattern": patterns::EMAIL,
            "description": "The mailbox the service account acts as (the assertions' sub)."},
        "client_secret": {"type": "null"},
        "authorization_url": {"type": "null"},
        "redirect_url": {"type": "null"}
    });
    extend(&mut props, common);
    json!({"type": "object", "additionalProperties": false, "required": required, "properties": props})
}

/// An inbound account; the password is required with `auth: password` on creation.
pub fn inbound(new: bool) -> Value {
    let props = json!({
        "name": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": patterns::NAME},
        "active": {"type": "boolean", "description": "Checked automatically (default true)."},
        "protocol": {"type": "string", "enum": ["imap", "pop3"]},
        "host": {"type": "string", "maxLength": 253, "pattern": patterns::HOST},
        "port": {"type": ["integer", "null"], "minimum": 1, "maximum": 65535,
            "description": "Default 993 / 995 with tls, else 143 / 110."},
        "security": {"type": ["string", "null"], "enum": ["none", "starttls", "tls", null],
            "description": "Default tls."},
        "auth": {"type": ["string", "null"], "enum": ["password", "oauth2", null],
            "description": "Default password."},
        "username": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": patterns::NAME},
        "password": {"type": ["string", "null"], "maxLength": 1024,
            "description": "Never answered; on PUT, omitted or null keeps the stored one while the server stays."},
        "oauth2_profile": {"type": ["integer", "null"], "minimum": 1, "maximum": i64::MAX},
        "mechanism": {"type": ["string", "null"], "enum": ["xoauth2", "oauthbearer", null],
            "description": "SASL mechanism with OAuth2 (default xoauth2)."},
        "folder": {"type": ["string", "null"], "maxLength": 255, "pattern": patterns::LINE,
            "description": "IMAP folder (default INBOX)."},
        "keep_copy": {"type": "boolean", "description": "Leave processed messages on the server (default true)."},
        "check_every_s": {"type": "integer", "minimum": 0, "maximum": 86_400,
            "not": {"minimum": 1, "maximum": 9},
            "description": "Automatic check interval: 0 (manual only, default) or 10 to 86400 seconds."},
        "timeout_s": {"type": ["integer", "null"], "minimum": 1, "maximum": 600,
            "description": "Limit of each network operation (default 30)."},
        "ignore_cert_errors": {"type": "boolean"}
    });
    let password_auth = if new {
        json!({"required": ["password"], "properties": {
            "auth": {"enum": ["password", null]},
            "password": {"type": "string", "minLength": 1},
            "oauth2_profile": {"type": "null"}}})
    } else {
        json!({"properties": {"auth": {"enum": ["password", null]}, "oauth2_profile": {"type": "null"}}})
    };
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["name", "protocol", "host", "username"],
        "properties": props,
        "allOf": [
            {"anyOf": [
                password_auth,
                {"required": ["auth", "oauth2_profile"], "properties": {
                    "auth": {"const": "oauth2"}, "oauth2_profile": {"type": "integer"}}}
            ]},
            {"anyOf": [
                {"properties": {"protocol": {"const": "imap"}}},
                {"properties": {"folder": {"type": ["string", "null"], "pattern": patterns::POP3_FOLDER}},
                 "description": "POP3 reads only the inbox."}
            ]}
        ]
    })
}

/// `PUT /v1/notifications`.
pub fn notifications() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["recipients", "events", "min_interval_s"],
        "properties": {
            "recipients": {"type": "array", "maxItems": 20,
                "items": {"type": "string", "maxLength": 254,
                    "allOf": [{"pattern": patterns::MAIL_LOCAL}, {"pattern": patterns::MAIL_ADDRESS}]}},
            "events": {"type": "array", "maxItems": 50, "items": {"type": "string", "enum": [
                "user_locked", "admin_locked", "broker_failover", "brokers_down",
                "oauth2_reauthorization", "bounce_storm"]}},
            "min_interval_s": {"type": "integer", "minimum": 60, "maximum": 604_800,
                "description": "At most one mail per event kind and subject in this many seconds."},
            "bounce_storm_count": {"type": "integer", "minimum": 2, "maximum": 100_000,
                "description": "bounce_storm: this many bounced code mails (default 10) …"},
            "bounce_storm_window_s": {"type": "integer", "minimum": 60, "maximum": 86_400,
                "description": "… within this many seconds (default 600)."}
        }
    })
}
