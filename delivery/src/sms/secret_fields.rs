//! Every secret field of a broker document in one place: which stored secrets a PUT keeps
//! (bound to the broker's origin) and how views mask them (GET answers, audit diffs).

use reqwest::Url;
use url::Origin;

use crate::sms::changes::Mask;
use crate::sms::config::is_sensitive_name;
use crate::sms::doc::{BrokerDoc, BrokerKind, Node, Object, StrMap};
use crate::sms::rest_config::Authorization;

/// The origins a broker's secrets are bound to: its `url` (REST), or its `wsdl_url` and the
/// `location` option (SOAP). `None` when an address does not parse.
fn origins(doc: &BrokerDoc) -> Option<Vec<Origin>> {
    let origin = |text: &String| Url::parse(text).ok().map(|url| url.origin());
    match doc.kind {
        BrokerKind::Rest => Some(vec![origin(doc.url.as_ref()?)?]),
        BrokerKind::Soap => {
            let mut origins = vec![origin(doc.wsdl_url.as_ref()?)?];
            let location = doc.options.as_ref().and_then(|options| {
                options.0.iter().find_map(|(name, value)| match value {
                    Node::String(text) if name == "location" => Some(text),
                    _ => None,
                })
            });
            if let Some(location) = location {
                origins.push(origin(location)?);
            }
            Some(origins)
        }
    }
}

pub(crate) fn merge_broker(input: &mut BrokerDoc, stored: &BrokerDoc) {
    let same_origins = matches!((origins(input), origins(stored)), (Some(a), Some(b)) if a == b);
    if input.kind != stored.kind || !same_origins {
        return;
    }
    // A stored credential is kept only where the input still uses it, so switching the
    // authorization off needs no "remove the password" step.
    let authorization = input.authorization.unwrap_or_default();
    if matches!(authorization, Authorization::Basic | Authorization::Digest) {
        input.password.keep_from(&stored.password);
    }
    if authorization == Authorization::Oauth {
        input.secret.keep_from(&stored.secret);
        input.token.keep_from(&stored.token);
        input.token_secret.keep_from(&stored.token_secret);
    }
    merge_map(input.headers.as_mut(), stored.headers.as_ref(), true);
    merge_map(input.query.as_mut(), stored.query.as_ref(), false);
    if let (Some(input), Some(stored)) = (input.secrets.as_mut(), stored.secrets.as_ref()) {
        input.keep_from(stored);
    }
    if let (Some(input), Some(stored)) = (input.options.as_mut(), stored.options.as_ref()) {
        keep_soap_password(input, stored);
    }
}

/// SOAP `options.password`, omitted or `null`, takes the stored one while `login` is set.
fn keep_soap_password(input: &mut Object, stored: &Object) {
    let get = |object: &Object, key: &str| {
        object
            .0
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
    };
    let Some(Node::String(kept)) = get(stored, "password") else {
        return;
    };
    if get(input, "login").is_none() {
        return;
    }
    match input.0.iter_mut().find(|(name, _)| name == "password") {
        Some((_, value @ Node::Null)) => *value = Node::String(kept),
        Some(_) => {}
        None => input.0.push(("password".into(), Node::String(kept))),
    }
}

/// Whether a header or query value may hold a credential: its name is sensitive and it does
/// not take the credential from `secrets` (a value using `{secret.NAME}` is shown as written).
pub(crate) fn holds_secret(name: &str, value: Option<&str>) -> bool {
    is_sensitive_name(name) && !value.is_some_and(|value| value.contains("{secret."))
}

/// Fills `null` values of sensitive entries from the stored map (header names compare
/// case-insensitively).
fn merge_map(input: Option<&mut StrMap>, stored: Option<&StrMap>, case_insensitive: bool) {
    let (Some(input), Some(stored)) = (input, stored) else {
        return;
    };
    for (name, value) in &mut input.0 {
        if value.is_some() || !is_sensitive_name(name) {
            continue;
        }
        *value = stored
            .0
            .iter()
            .find(|(stored_name, _)| {
                if case_insensitive {
                    stored_name.eq_ignore_ascii_case(name)
                } else {
                    stored_name == name
                }
            })
            .and_then(|(_, stored_value)| stored_value.clone());
    }
}

/// Replaces every secret value of a broker by `mask`: the named credentials, the values of
/// sensitive headers and query parameters, `secrets`, and SOAP `options.password`.
pub(crate) fn mask_broker(doc: &mut BrokerDoc, mask: &Mask) {
    for field in [
        &mut doc.password,
        &mut doc.secret,
        &mut doc.token,
        &mut doc.token_secret,
    ] {
        mask.secret(field);
    }
    for map in [doc.headers.as_mut(), doc.query.as_mut()]
        .into_iter()
        .flatten()
    {
        for (name, value) in &mut map.0 {
            if holds_secret(name, value.as_deref()) {
                mask.text(value);
            }
        }
    }
    if let Some(secrets) = doc.secrets.as_mut() {
        secrets.mask(|field| mask.secret(field));
    }
    if let Some(options) = doc.options.as_mut() {
        for (name, value) in &mut options.0 {
            if name == "password" {
                mask.node(value);
            }
        }
    }
}
