//! The documented shapes of request bodies whose Rust types live in `sae-core` or the
//! `delivery` crate (which know nothing of OpenAPI), and of bodies whose rules span several
//! members (a token window of 3 or more needs `accept_risk`). Written as JSON Schema, they are
//! what `/openapi.json` publishes and what the server checks every body against before
//! parsing it (`http::body_check`), so they must say exactly what the server accepts.

use serde_json::{Value, json};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{Ref, RefOr};

use super::input::patterns;

/// Declares a documentation type: in the document it is `#/components/schemas/<name>`, whose
/// JSON Schema [`raw`] gives (written as JSON: utoipa's schema types cannot say `anyOf` next
/// to `properties`, or `const`).
macro_rules! documented {
    ($($(#[$doc:meta])* $name:ident = $json:expr;)*) => {
        $(
            $(#[$doc])*
            #[derive(Debug)]
            pub struct $name;

            impl utoipa::PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    RefOr::Ref(Ref::from_schema_name(stringify!($name)))
                }
            }

            impl utoipa::ToSchema for $name {
                fn name() -> std::borrow::Cow<'static, str> {
                    std::borrow::Cow::Borrowed(stringify!($name))
                }
            }
        )*

        /// The JSON Schema of every documentation type, by component name (inserted into
        /// the document's components by `http::docs`).
        pub fn raw() -> Vec<(&'static str, Value)> {
            vec![$((stringify!($name), $json)),*]
        }
    };
}

fn name(max: u64) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": patterns::TEXT})
}

documented! {
    /// `PUT /v1/delivery/sms` and `PUT /v1/delivery/voice`: the broker document.
    SmsConfig = super::schemas_sms::sms_config();

    /// A mail address as the mail library takes it (the local part at most 64 characters).
    MailAddress = json!({"type": "string", "maxLength": 254,
        "allOf": [{"pattern": patterns::MAIL_LOCAL}, {"pattern": patterns::MAIL_ADDRESS}]});

    /// `POST /v1/messages`: a template (`id` required), `subject` for e-mail only.
    TemplateNew = template(true);

    /// `PUT /v1/messages/{id}`: a template; `id`, when given, is the path's.
    TemplateChange = template(false);

    /// `POST /v1/users/{login}/tokens`: TOTP, HOTP, OPIE on paper (the server draws the pass
    /// phrase and answers the printed list) or client-initialised OPIE (`otp` computed by the
    /// client for `count`).
    Enrolment = json!({
        "oneOf": [
            hmac_token("totp"),
            hmac_token("hotp"),
            {
                "type": "object", "additionalProperties": false, "required": ["type"],
                "description": "OPIE on paper: the answer carries the printed list (once).",
                "properties": {
                    "type": {"const": "opie"},
                    "algorithm": {"type": ["string", "null"], "enum": ["md4", "md5", "sha1", null]},
                    "device": device(),
                    "serial": serial(),
                    "seed": {"type": ["string", "null"], "pattern": patterns::OPIE_SEED},
                    "count": {"type": ["integer", "null"], "minimum": 1, "maximum": 10000, "description": "Sequence count N (default 500); at least list_size."},
                    "list_size": {"type": ["integer", "null"], "minimum": 1, "maximum": 100, "description": "Passwords printed (default 50)."}
                }
            },
            {
                "type": "object", "additionalProperties": false, "required": ["type", "otp", "seed", "count"],
                "description": "Client-initialised OPIE: the client's OTP for `count`.",
                "properties": {
                    "type": {"const": "opie"},
                    "algorithm": {"type": ["string", "null"], "enum": ["md4", "md5", "sha1", null]},
                    "device": device(),
                    "serial": serial(),
                    "seed": {"type": "string", "pattern": patterns::OPIE_SEED},
                    "count": {"type": "integer", "minimum": 1, "maximum": 10000},
                    "otp": {"type": "string", "pattern": patterns::OPIE_HEX}
                }
            }
        ]
    });

    /// `POST /v1/oauth2/profiles` (`client_secret` required).
    ProfileNew = profile(true);

    /// `PUT /v1/oauth2/profiles/{id}` (`client_secret` omitted or null keeps the stored one).
    ProfileChange = profile(false);

    /// `POST /v1/inbound/accounts` (`password` required with `auth: password`; POP3 reads
    /// only the inbox).
    InboundNew = super::schemas_mail::inbound(true);

    /// `PUT /v1/inbound/accounts/{id}` (`password` omitted or null keeps the stored one while
    /// protocol, host, port and security stay).
    InboundChange = super::schemas_mail::inbound(false);

    /// `PUT /v1/notifications`.
    Notifications = super::schemas_mail::notifications();

    /// `POST /v1/smtp/accounts` (`password` required with `auth: password`).
    AccountNew = account(true);

    /// `PUT /v1/smtp/accounts/{id}` (`password` omitted or null keeps the stored one).
    AccountChange = account(false);

    /// `PUT /v1/config/im`: every member optional (defaults: window 1, switches off, 6 digits,
    /// 300 s); a window of 3 or more needs `accept_risk: true`.
    ImConfig = json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "token_window": {"type": "integer", "minimum": 1, "maximum": 10,
                "description": "How many of the most recent codes are accepted: 1 = only the newest (TOTP: the current time step and N-1 earlier ones)."},
            "accept_risk": {"type": "boolean", "description": "Required (true) for a token window of 3 or more."},
            "login_is_email": {"type": "boolean"},
            "unique_document": {"type": "boolean"},
            "device_secret_same_as_principal": {"type": "boolean"},
            "unique_mobile": {"type": "boolean"},
            "code_digits": {"type": "integer", "minimum": 4, "maximum": 10, "description": "Digits of SMS/e-mail codes."},
            "code_ttl_s": {"type": "integer", "minimum": 30, "maximum": 86400, "description": "Lifetime of SMS/e-mail codes in seconds."}
        },
        "anyOf": [
            {"required": ["accept_risk"], "properties": {"accept_risk": {"const": true}}},
            {"properties": {"token_window": {"maximum": 2}}}
        ]
    });
    /// `PUT /v1/config/lockout`.
    LockoutConfig = json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "enabled": {"type": "boolean", "description": "Lock accounts after `attempts` failures in a row (default off)."},
            "attempts": {"type": "integer", "minimum": 1, "maximum": 10},
            "block_type": {"type": "string", "enum": ["permanent", "temporary"]},
            "minutes": {"type": ["integer", "null"], "minimum": 1, "maximum": 525600, "description": "Length of a temporary block."},
            "throttle": throttle()
        }
    });
    /// `PUT /v1/config/admin-lockout`: administrators are only ever locked temporarily.
    AdminLockoutConfig = json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "attempts": {"type": "integer", "minimum": 1, "maximum": 10, "description": "Failures in a row that lock (default 10)."},
            "minutes": {"type": "integer", "minimum": 1, "maximum": 525600, "description": "Length of the lock (default 15)."},
            "throttle": throttle()
        }
    });
    /// `PUT /v1/policies/global`.
    PasswordPolicy = json!({
        "type": "object",
        "additionalProperties": false,
        "properties": policy_properties()
    });
    /// `PUT /v1/policies/authsys`: the ordered AuthSys rules (first match wins).
    AuthsysRules = {
        let mut rule = policy_properties();
        rule.insert("authsys_id".into(), name(255));
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["enabled", "rules"],
            "properties": {
                "enabled": {"type": "boolean"},
                "rules": {"type": "array", "maxItems": 100, "items": {
                    "type": "object", "additionalProperties": false,
                    "required": ["authsys_id"], "properties": rule
                }}
            }
        })
    };
    /// `PUT /v1/policies/mfa`: the "hash always present" rules (`mfa_id` unique).
    MfaRules = json!({
        "type": "array",
        "maxItems": 100,
        "items": {
            "type": "object",
            "additionalProperties": false,
            "required": ["mfa_id", "authsys", "authclaim"],
            "properties": {
                "mfa_id": name(64),
                "authsys": name(255),
                "authclaim": name(255),
                "authvalue": {"type": ["string", "null"], "maxLength": 255, "pattern": patterns::LINE,
                    "description": "Fixed AuthValue key; empty or absent: the key comes with each call."},
                "position": {"type": ["string", "null"], "maxLength": 255, "pattern": patterns::LINE,
                    "description": "A JSON object key, or a 0-based CSV column, of the AuthValue content."}
            }
        }
    });
    /// `PUT /v1/users/{login}/authsys`: AuthSys → claims → values (`key`, `content`).
    UserAuthsys = json!({
        "type": "array",
        "maxItems": 64,
        "items": {
            "type": "object",
            "additionalProperties": false,
            "required": ["authsys"],
            "properties": {
                "authsys": name(255),
                "claims": {"type": "array", "maxItems": 64, "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["claim"],
                    "properties": {
                        "claim": name(255),
                        "values": {"type": "array", "maxItems": 64, "items": {
                            "type": "object",
                            "additionalProperties": false,
                            "required": ["key", "content"],
                            "properties": {
                                "key": name(255),
                                "content": {"type": "string", "maxLength": 4096}
                            }
                        }}
                    }
                }}
            }
        }
    });
    /// `POST /v1/admin-groups` and `PUT /v1/admin-groups/{name}`.
    AdminGroup = json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": patterns::NAME},
            "may_modify": {"type": "boolean", "description": "May create, change and delete (within the fields it may edit)."},
            "users": access_map(&["login", "name", "email", "document", "mobile", "wallet", "status", "password", "authsys", "tokens", "devices"]),
            "wallets": access_map(&["name", "description"])
        }
    });
}

/// A template; `id` required on creation.
fn template(new: bool) -> Value {
    let common = |channel: Value, subject: Value| {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": if new { json!(["id", "channel", "text"]) } else { json!(["channel", "text"]) },
            "properties": {
                "id": {"type": if new { json!("string") } else { json!(["string", "null"]) },
                    "minLength": 1, "maxLength": 64, "pattern": patterns::TEXT},
                "channel": channel,
                "default": {"type": "boolean", "description": "The channel's default template (the others of the channel stop being default)."},
                "subject": subject,
                "text": {"type": "string", "minLength": 5, "maxLength": 4096, "pattern": patterns::TEMPLATE}
            }
        })
    };
    let mut email = common(
        json!({"const": "email"}),
        json!({"type": "string", "minLength": 1, "maxLength": 998,
               "allOf": [{"pattern": patterns::TEXT}, {"pattern": patterns::SUBJECT}]}),
    );
    if let Some(required) = email.get_mut("required").and_then(Value::as_array_mut) {
        required.push(json!("subject"));
    }
    json!({"oneOf": [
        email,
        common(json!({"type": "string", "enum": ["sms", "voice"]}), json!({"type": "null"}))
    ]})
}

/// Throttling of repeated failures (users' and administrators' lockout).
fn throttle() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "enabled": {"type": "boolean"},
            "after": {"type": "integer", "minimum": 1, "maximum": 100},
            "max_delay_s": {"type": "integer", "minimum": 1, "maximum": 86400}
        }
    })
}

fn device() -> Value {
    json!({"type": ["string", "null"], "maxLength": 128, "pattern": patterns::LINE,
           "description": "The device the token belongs to (a label)."})
}

/// TOTP or HOTP enrolment.
fn hmac_token(kind: &str) -> Value {
    let mut props = json!({
        "type": {"const": kind},
        "algorithm": {"type": ["string", "null"], "enum": ["sha1", "sha256", "sha512", null]},
        "digits": {"type": ["integer", "null"], "minimum": 6, "maximum": 10},
        "device": device()
    });
    if let Some(m) = props.as_object_mut() {
        m.insert("serial".into(), serial());
        for (name, what) in [("secret_hex", "hexadecimal"), ("secret_base32", "base32")] {
            m.insert(
                name.into(),
                json!({"type": ["string", "null"], "minLength": 1, "maxLength": 1024,
                    "description": format!("A known secret in {what} (16 to 128 bytes) instead of a generated one; give at most one of secret_hex and secret_base32. Not echoed back.")}),
            );
        }
        if kind == "totp" {
            m.insert(
                "period".into(),
                json!({"type": ["integer", "null"], "minimum": 1, "maximum": 3600, "description": "Time step in seconds (default 30)."}),
            );
        } else {
            m.insert(
                "counter".into(),
                json!({"type": ["integer", "null"], "minimum": 0, "description": "With a known secret: the counter the next code is computed from (default 0)."}),
            );
        }
    }
    json!({"type": "object", "additionalProperties": false, "required": ["type"], "properties": props})
}

/// A token's serial: given, or generated with a type prefix when absent or null.
fn serial() -> Value {
    json!({"type": ["string", "null"], "minLength": 1, "maxLength": 128, "pattern": patterns::TEXT,
        "description": "Unique serial (1 to 128 characters, no control characters); generated with a type prefix (e.g. TOTP0A1B2C3D) when absent."})
}

/// An OAuth2 profile; `client_secret` required on creation.
fn profile(new: bool) -> Value {
    let common = json!({
        "name": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": patterns::NAME},
        "token_url": {"type": "string", "maxLength": 2000, "pattern": patterns::PROVIDER_URL},
        "scope": {"type": "string", "minLength": 1, "maxLength": 1000, "pattern": patterns::SCOPE},
        "enabled": {"type": "boolean", "description": "Tokens are obtained and used only while enabled (default true)."},
        "client_secret_expires_at": super::schemas_mail::rfc3339_or_empty()
    });
    let flow = |name: &str, extra: Value| {
        let mut required = vec![
            json!("name"),
            json!("flow"),
            json!("token_url"),
            json!("client_id"),
            json!("scope"),
        ];
        if new {
            required.push(json!("client_secret"));
        }
        if name == "authorization_code" {
            required.push(json!("authorization_url"));
        }
        let mut props = json!({
            "flow": {"const": name},
            "redirect_url": {"type": ["string", "null"], "maxLength": 2000, "pattern": patterns::HTTP_URL,
                "description": "The callback registered at the provider (default: public_url + /v1/oauth2/callback)."},
            "client_id": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": patterns::NAME},
            "client_secret": {"type": if new { json!("string") } else { json!(["string", "null"]) }, "minLength": 1, "maxLength": 1024,
                "description": "Never answered; on PUT, omitted or null keeps the stored one."},
            "service_account_key": {"type": "null"},
            "subject": {"type": "null"}
        });
        super::schemas_mail::extend(&mut props, &common);
        super::schemas_mail::extend(&mut props, &extra);
        json!({"type": "object", "additionalProperties": false, "required": required, "properties": props})
    };
    json!({"oneOf": [
        flow("authorization_code", json!({"authorization_url": {"type": "string", "maxLength": 2000, "pattern": patterns::PROVIDER_URL}})),
        flow("client_credentials", json!({"authorization_url": {"type": "null"}})),
        super::schemas_mail::jwt_bearer_profile(new, &common)
    ]})
}

/// An SMTP account; the password is required with `auth: password` on creation.
fn account(new: bool) -> Value {
    let email_or_empty = json!({"type": ["string", "null"], "maxLength": 254,
        "allOf": [{"pattern": patterns::MAIL_LOCAL}, {"pattern": patterns::MAIL_ADDRESS_OR_EMPTY}]});
    let props = json!({
        "name": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": patterns::NAME},
        "active": {"type": "boolean"},
        "default": {"type": "boolean"},
        "sender": {"type": "string", "maxLength": 254,
            "allOf": [{"pattern": patterns::MAIL_LOCAL}, {"pattern": patterns::MAILBOX}]},
        "reply_to": email_or_empty,
        "return_path": email_or_empty,
        "confirmation_address": email_or_empty,
        "read_confirmation": {"type": "boolean"},
        "force_use": {"type": "boolean"},
        "footer": {"type": "boolean"},
        "footer_text": {"type": ["string", "null"], "maxLength": 1000, "pattern": patterns::MULTILINE},
        "host": {"type": "string", "maxLength": 253, "pattern": patterns::HOST},
        "port": {"type": ["integer", "null"], "minimum": 1, "maximum": 65535},
        "security": {"type": ["string", "null"], "enum": ["none", "starttls", "tls", null]},
        "auth": {"type": ["string", "null"], "enum": ["none", "password", "oauth2", null]},
        "username": {"type": ["string", "null"], "maxLength": 255, "pattern": patterns::LINE},
        "password": {"type": ["string", "null"], "maxLength": 1024},
        "oauth2_profile": {"type": ["integer", "null"], "minimum": 1, "maximum": i64::MAX},
        "ignore_cert_errors": {"type": "boolean"}
    });
    let with_username = json!({"required": ["username"], "properties": {"username": {"type": "string", "minLength": 1, "pattern": patterns::NAME}}});
    let password_auth = if new {
        json!({"required": ["auth", "username", "password"], "properties": {
            "auth": {"const": "password"},
            "username": {"type": "string", "minLength": 1, "pattern": patterns::NAME},
            "password": {"type": "string", "minLength": 1},
            "oauth2_profile": {"type": "null"}}})
    } else {
        json!({"allOf": [with_username, {"required": ["auth"], "properties": {"auth": {"const": "password"}, "oauth2_profile": {"type": "null"}}}]})
    };
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["name", "sender", "host"],
        "properties": props,
        "allOf": [
            {"anyOf": [
                password_auth,
                {"allOf": [with_username, {"required": ["auth", "oauth2_profile"], "properties": {"auth": {"const": "oauth2"}, "oauth2_profile": {"type": "integer"}}}]},
                {"properties": {"auth": {"enum": ["none", null]}, "oauth2_profile": {"type": "null"}}}
            ]},
            {"anyOf": [
                {"required": ["footer_text"], "properties": {"footer_text": {"type": "string", "pattern": patterns::MULTILINE_TEXT}}},
                {"properties": {"footer": {"const": false}}}
            ]}
        ]
    })
}

/// One password rule's members (Global, or an AuthSys rule with `authsys_id` added).
fn policy_properties() -> serde_json::Map<String, Value> {
    let props = json!({
        "hash": {"type": "string", "enum": ["argon2id", "pbkdf2-sha256", "pbkdf2-sha512"]},
        "hash_params": {
            "type": ["object", "null"],
            "additionalProperties": false,
            "description": "Cost parameters of `hash` (absent: OWASP's recommendation). argon2id takes m_kib (at least 8 × p), t and p; PBKDF2 takes rounds.",
            "properties": {
                "m_kib": {"type": ["integer", "null"], "minimum": 8, "maximum": 1_048_576, "description": "Argon2 memory in KiB."},
                "t": {"type": ["integer", "null"], "minimum": 1, "maximum": 16, "description": "Argon2 passes."},
                "p": {"type": ["integer", "null"], "minimum": 1, "maximum": 16, "description": "Argon2 lanes."},
                "rounds": {"type": ["integer", "null"], "minimum": 1000, "maximum": 10_000_000, "description": "PBKDF2 iterations."}
            }
        },
        "differ": {"type": "integer", "minimum": 0, "maximum": 24, "description": "Recent passwords that may not be reused (0: off)."},
        "reset_every": {"type": "integer", "minimum": 0, "maximum": 3650, "description": "Days after which a password expires (0: never)."},
        "strength": {"type": "string", "enum": ["off", "weak", "medium", "strong", "custom"]},
        "min_length": {"type": ["integer", "null"], "minimum": 1, "maximum": 128, "description": "Minimum length (custom strength)."},
        "patterns": {
            "type": ["array", "null"],
            "maxItems": 32,
            "description": "Custom strength: every pattern (a regular expression of the `regex` crate: no look-around, no back-references) must match; its message is shown when it does not.",
            "items": {
                "type": "object",
                "additionalProperties": false,
                "required": ["pattern", "message"],
                "properties": {
                    "pattern": {"type": "string", "minLength": 1, "maxLength": 1000, "format": "regex"},
                    "message": {"type": "string", "minLength": 1, "maxLength": 500, "pattern": patterns::TEXT}
                }
            }
        }
    });
    match props {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

/// The access of a group to the fields of users or wallets.
fn access_map(fields: &[&str]) -> Value {
    let props: serde_json::Map<String, Value> = fields
        .iter()
        .map(|f| {
            (
                (*f).to_owned(),
                json!({"type": "string", "enum": ["none", "view", "edit"]}),
            )
        })
        .collect();
    json!({"type": "object", "additionalProperties": false, "properties": props})
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::PartialSchema as _;

    #[test]
    fn every_documented_shape_is_a_schema_with_a_type() {
        let names: Vec<&str> = raw().iter().map(|(n, _)| *n).collect();
        assert_eq!(names.len(), 20, "{names:?}");
        for (name, schema) in raw() {
            assert!(
                schema.get("type").is_some() || schema.get("oneOf").is_some(),
                "{name}"
            );
            let placeholder = serde_json::to_value(ImConfig::schema()).unwrap_or_default();
            assert_eq!(placeholder["$ref"], json!("#/components/schemas/ImConfig"));
        }
    }
}
