//! Views of a configuration without its secret values: redacted (`null`) for GET answers, or
//! fingerprinted to find which fields a PUT changed — the audit records the names of changed
//! fields, never values (SPEC §5), and a changed secret must show as changed although both
//! redacted views say `null`.

use data_encoding::HEXLOWER;
use rand::Rng as _;
use serde_json::Value;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::SecretString;
use crate::sms::doc::{Node, SecretField};

/// What replaces a secret value in a view.
pub(crate) enum Mask {
    /// `null` (GET answers).
    Redact,
    /// A keyed SHA-256 of the value under a random key drawn for one comparison: equal values
    /// give equal fingerprints, and the fingerprints never leave the comparison.
    Fingerprint(Zeroizing<[u8; 32]>),
}

impl Mask {
    /// A fingerprint mask with a fresh random key.
    pub fn fingerprint() -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(key.as_mut());
        Self::Fingerprint(key)
    }

    fn replace(&self, value: &str) -> Option<String> {
        match self {
            Self::Redact => None,
            Self::Fingerprint(key) => {
                let digest = Sha256::new()
                    .chain_update(key.as_ref())
                    .chain_update(value.as_bytes())
                    .finalize();
                Some(HEXLOWER.encode(&digest))
            }
        }
    }

    /// Masks a named secret field.
    pub fn secret(&self, field: &mut SecretField) {
        if let Some(value) = field.value() {
            *field = match self.replace(value.expose()) {
                Some(fingerprint) => SecretField::Value(SecretString::new(fingerprint)),
                None => SecretField::Redacted,
            };
        }
    }

    /// Masks a header or query value.
    pub fn text(&self, value: &mut Option<String>) {
        if let Some(text) = value {
            *value = self.replace(text);
        }
    }

    /// Masks a string in a JSON object (SOAP `options.password`).
    pub fn node(&self, node: &mut Node) {
        if let Node::String(text) = node {
            *node = self.replace(text).map_or(Node::Null, Node::String);
        }
    }
}

/// The dotted paths of the fields that differ between two documents, sorted: objects are
/// compared key by key (a key present on one side only lists the fields under it), arrays and
/// scalars as a whole; a missing field and `null` are the same.
pub(crate) fn changed_paths(before: &Value, after: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk("", Some(before), Some(after), &mut out);
    out.sort();
    out.dedup();
    out
}

fn walk(path: &str, before: Option<&Value>, after: Option<&Value>, out: &mut Vec<String>) {
    let before = before.filter(|value| !value.is_null());
    let after = after.filter(|value| !value.is_null());
    let object = |value: Option<&Value>| match value {
        Some(Value::Object(map)) => Some(map.clone()),
        None => Some(serde_json::Map::new()),
        Some(_) => None,
    };
    match (object(before), object(after)) {
        (Some(old), Some(new)) if before.is_some() || after.is_some() => {
            let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let at = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                walk(&at, old.get(key), new.get(key), out);
            }
        }
        _ if before != after => out.push(path.to_owned()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn changed_paths_table() {
        let rows: Vec<(&str, Value, Value, Vec<&str>)> = vec![
            ("same", json!({"a": 1}), json!({"a": 1}), vec![]),
            (
                "scalar",
                json!({"a": 1, "b": 2}),
                json!({"a": 1, "b": 3}),
                vec!["b"],
            ),
            (
                "nested",
                json!({"p": {"url": "x", "kind": "rest"}}),
                json!({"p": {"url": "y", "kind": "rest"}}),
                vec!["p.url"],
            ),
            (
                "added object lists its fields",
                json!({"p": {}}),
                json!({"p": {"secrets": {"A": "1", "B": "2"}}}),
                vec!["p.secrets.A", "p.secrets.B"],
            ),
            (
                "removed field",
                json!({"p": {"a": 1, "b": 2}}),
                json!({"p": {"a": 1}}),
                vec!["p.b"],
            ),
            ("null is absent", json!({"a": null}), json!({}), vec![]),
            (
                "array as a whole",
                json!({"k": [1, 2]}),
                json!({"k": [1, 3]}),
                vec!["k"],
            ),
            (
                "object replaced by a scalar",
                json!({"o": {"a": 1}}),
                json!({"o": 2}),
                vec!["o"],
            ),
            (
                "from nothing",
                Value::Null,
                json!({"primary": {"kind": "rest"}}),
                vec!["primary.kind"],
            ),
        ];
        for (row, before, after, expected) in rows {
            assert_eq!(changed_paths(&before, &after), expected, "row {row}");
        }
    }

    #[test]
    fn fingerprints_tell_values_apart_without_showing_them() {
        let mask = Mask::fingerprint();
        let mut a = SecretField::Value("hunter2".into());
        let mut b = SecretField::Value("hunter2".into());
        let mut c = SecretField::Value("hunter3".into());
        for field in [&mut a, &mut b, &mut c] {
            mask.secret(field);
        }
        let shown = |field: &SecretField| field.value().map(|v| v.expose().to_owned());
        assert_eq!(shown(&a), shown(&b));
        assert_ne!(shown(&a), shown(&c));
        assert!(!shown(&a).unwrap_or_default().contains("hunter"));
        let other = Mask::fingerprint();
        let mut d = SecretField::Value("hunter2".into());
        other.secret(&mut d);
        assert_ne!(shown(&a), shown(&d), "a fresh key per comparison");
        let mut redacted = SecretField::Value("hunter2".into());
        Mask::Redact.secret(&mut redacted);
        assert!(matches!(redacted, SecretField::Redacted));
    }
}
