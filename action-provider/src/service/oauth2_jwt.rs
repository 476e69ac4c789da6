//! The JWT bearer flow (RFC 7523) of an OAuth2 profile: a service account's JSON key
//! (Google Workspace, domain-wide delegation) and the mailbox it acts as (`subject`).
//!
//! The key is the profile's client credential: it is stored where a client secret is
//! (sealed, bound to the row and its token endpoint) and never answered; `client_id` is
//! the key's `client_email`.

use delivery::email::oauth2::{Flow, JwtBearerGrant, ServiceAccountKey};

use super::error::{Problems, ServiceError};
use super::oauth2::{ProfileBody, blank_to_none};
use delivery::SecretString;

/// Takes the secret a body carries for its flow — `service_account_key` for
/// `jwt_bearer`, `client_secret` for the others — refusing the other one, and `subject`
/// outside `jwt_bearer`. Returns the field's name and the secret (absent when blank).
pub fn take_secret(
    body: &mut ProfileBody,
) -> Result<(&'static str, Option<SecretString>), ServiceError> {
    let jwt = body.flow == Flow::JwtBearer.as_str();
    let (field, other) = if jwt {
        ("service_account_key", "client_secret")
    } else {
        ("client_secret", "service_account_key")
    };
    let (secret, misplaced) = if jwt {
        (body.service_account_key.take(), body.client_secret.take())
    } else {
        (body.client_secret.take(), body.service_account_key.take())
    };
    if misplaced.is_some_and(|s| !s.expose().is_empty()) {
        return Err(ServiceError::field(
            other,
            format!("{other}: not used by the {} flow; give {field}", body.flow),
        ));
    }
    if !jwt && blank_to_none(body.subject.clone()).is_some() {
        return Err(ServiceError::field(
            "subject",
            "subject: only the jwt_bearer flow acts as a mailbox it names",
        ));
    }
    Ok((field, secret.filter(|s| !s.expose().is_empty())))
}

/// Checks a `jwt_bearer` body with its key (the body's or the stored one), recording every
/// invalid field in `problems`: the key must be a service account's JSON key that signs;
/// `client_id`, when given, must be the key's `client_email`; `subject` must be an
/// address. Returns the client id (the key's `client_email`) and the subject. The token
/// URL and scope are checked with the rest of the profile.
pub fn check(
    body: &ProfileBody,
    key_json: &str,
    problems: &mut Problems,
) -> (String, Option<String>) {
    let key = match ServiceAccountKey::from_json(key_json) {
        Ok(key) => Some(key),
        Err(e) => {
            problems.add("service_account_key", format!("service_account_key: {e}"));
            None
        }
    };
    let client_id = body.client_id.trim();
    let email = key.as_ref().map(|k| k.client_email().to_owned());
    if let Some(email) = &email
        && !client_id.is_empty()
        && client_id != email
    {
        problems.add(
            "client_id",
            format!(
                "client_id: the key belongs to {email}; leave client_id empty or give that address"
            ),
        );
    }
    let subject = blank_to_none(body.subject.clone());
    match (&subject, key) {
        (None, _) => problems.add(
            "subject",
            "subject: required for jwt_bearer: the mailbox the service account acts as",
        ),
        // The subject alone decides here (the token URL and scope are checked elsewhere).
        (Some(subject), Some(key)) => {
            if let Err(e) =
                JwtBearerGrant::new(key, "https://stand-in.invalid/", "stand-in", subject)
            {
                problems.add("subject", e.to_string());
            }
        }
        (Some(_), None) => {}
    }
    (email.unwrap_or_else(|| "stand-in".to_owned()), subject)
}
