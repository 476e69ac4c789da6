//! The SMS configuration as a JSON document: serde types that keep key order, secrets that
//! can be redacted, and nothing validated yet (see `config.rs` for that).

use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::SecretString;
use crate::sms::BrokerMode;
use crate::sms::config::is_sensitive_name;
use crate::sms::rest_config::{Authorization, HttpMethod};
use crate::sms::secrets::SecretMap;
use crate::sms::soap_config::SoapType;

/// `{primary, broker2: {mode, broker?}, budgets?}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SmsConfigDoc {
    pub primary: BrokerDoc,
    #[serde(default)]
    pub broker2: Broker2Doc,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budgets: Option<BudgetsDoc>,
}

/// `{mode, broker?}`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Broker2Doc {
    #[serde(default)]
    pub mode: BrokerMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker: Option<BrokerDoc>,
}

/// `{per_destination?, per_user?}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BudgetsDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_destination: Option<BudgetDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_user: Option<BudgetDoc>,
}

/// `{count, window_s}`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BudgetDoc {
    pub count: u64,
    pub window_s: u64,
}

/// The broker kind, the document's tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum BrokerKind {
    Rest,
    Soap,
}

/// One broker, REST or SOAP, as one flat object: the fields of the other kind are refused by
/// validation with their path (a serde-tagged enum would lose the path of nested errors).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BrokerDoc {
    pub kind: BrokerKind,
    // --- REST ---
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<HttpMethod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "SecretField::is_absent")]
    pub password: SecretField,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "SecretField::is_absent")]
    pub secret: SecretField,
    #[serde(default, skip_serializing_if = "SecretField::is_absent")]
    pub token: SecretField,
    #[serde(default, skip_serializing_if = "SecretField::is_absent")]
    pub token_secret: SecretField,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<StrMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<StrMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_keys: Option<Vec<String>>,
    // --- SOAP ---
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wsdl_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soap_type: Option<SoapType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Object>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Object>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Object>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<StrMap>,
    // --- both ---
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<SecretMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_each_call: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout_ms: Option<u64>,
}

/// A secret field: absent (or `null`) in input, redacted (`null`) in GET answers, or a value.
#[derive(Clone, Default)]
pub(crate) enum SecretField {
    #[default]
    Absent,
    Redacted,
    Value(SecretString),
}

impl SecretField {
    pub fn is_absent(&self) -> bool {
        matches!(self, Self::Absent)
    }

    pub fn value(&self) -> Option<&SecretString> {
        match self {
            Self::Value(value) => Some(value),
            Self::Absent | Self::Redacted => None,
        }
    }

    /// Takes `stored`'s value when this one was omitted or null.
    pub fn keep_from(&mut self, stored: &SecretField) {
        if self.value().is_none()
            && let Some(value) = stored.value()
        {
            *self = Self::Value(value.clone());
        }
    }
}

impl fmt::Debug for SecretField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Absent => f.write_str("Absent"),
            Self::Redacted => f.write_str("Redacted"),
            Self::Value(_) => f.write_str("Value(<redacted>)"),
        }
    }
}

impl<'de> Deserialize<'de> for SecretField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Option::<String>::deserialize(deserializer)? {
            Some(value) => Self::Value(SecretString::new(value)),
            None => Self::Absent,
        })
    }
}

impl Serialize for SecretField {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.value() {
            Some(value) => serializer.serialize_str(value.expose()),
            None => serializer.serialize_none(),
        }
    }
}

/// An object of name → string (or `null`, meaning "keep the stored value"), in document order.
/// Duplicate names are refused. `Debug` hides the values of sensitive names.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct StrMap(pub Vec<(String, Option<String>)>);

impl fmt::Debug for StrMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(name, value)| {
                let shown = if is_sensitive_name(name) {
                    Some("<redacted>")
                } else {
                    value.as_deref()
                };
                (name, shown)
            }))
            .finish()
    }
}

impl<'de> Deserialize<'de> for StrMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrMapVisitor;
        impl<'de> Visitor<'de> for StrMapVisitor {
            type Value = StrMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StrMap, A::Error> {
                let mut entries: Vec<(String, Option<String>)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if entries.iter().any(|(name, _)| *name == key) {
                        return Err(de::Error::custom(format_args!("duplicate key {key:?}")));
                    }
                    let value = map.next_value::<Option<String>>()?;
                    entries.push((key, value));
                }
                Ok(StrMap(entries))
            }
        }
        deserializer.deserialize_map(StrMapVisitor)
    }
}

impl Serialize for StrMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// A JSON value whose objects keep their key order (SOAP parameters are a sequence).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Node>),
    Object(Object),
}

impl Node {
    /// The JSON type name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "a boolean",
            Self::Number(_) => "a number",
            Self::String(_) => "a string",
            Self::Array(_) => "an array",
            Self::Object(_) => "an object",
        }
    }
}

/// A JSON object in document order; duplicate keys are refused. `Debug` hides the values of
/// sensitive names (SOAP `options.password`, an `api_key` in a request).
#[derive(Clone, Default, PartialEq)]
pub(crate) struct Object(pub Vec<(String, Node)>);

impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in &self.0 {
            if is_sensitive_name(name) {
                map.entry(name, &"<redacted>");
            } else {
                map.entry(name, value);
            }
        }
        map.finish()
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = Object;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Object, A::Error> {
                match NodeVisitor.visit_map(map)? {
                    Node::Object(object) => Ok(object),
                    _ => Err(de::Error::custom("expected an object")),
                }
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        Node::deserialize(deserializer)
    }
    fn visit_bool<E>(self, value: bool) -> Result<Node, E> {
        Ok(Node::Bool(value))
    }
    fn visit_i64<E>(self, value: i64) -> Result<Node, E> {
        Ok(Node::Number(value.into()))
    }
    fn visit_u64<E>(self, value: u64) -> Result<Node, E> {
        Ok(Node::Number(value.into()))
    }
    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Node, E> {
        serde_json::Number::from_f64(value)
            .map(Node::Number)
            .ok_or_else(|| E::custom("a number must be finite"))
    }
    fn visit_str<E>(self, value: &str) -> Result<Node, E> {
        Ok(Node::String(value.to_owned()))
    }
    fn visit_string<E>(self, value: String) -> Result<Node, E> {
        Ok(Node::String(value))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries: Vec<(String, Node)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if entries.iter().any(|(name, _)| *name == key) {
                return Err(de::Error::custom(format_args!("duplicate key {key:?}")));
            }
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(Node::Object(Object(entries)))
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Null => serializer.serialize_none(),
            Self::Bool(value) => serializer.serialize_bool(*value),
            Self::Number(value) => value.serialize(serializer),
            Self::String(value) => serializer.serialize_str(value),
            Self::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Self::Object(object) => object.serialize(serializer),
        }
    }
}

impl Serialize for Object {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keeps_order_and_round_trips() {
        let text = r#"{"phone":"{phone}","message":"{message}","n":1,"f":1.5,"b":true,"z":null,"a":[1,{"y":2,"x":3}]}"#;
        let object: Object = serde_json::from_str(text).unwrap();
        let keys: Vec<&str> = object.0.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(keys, ["phone", "message", "n", "f", "b", "z", "a"]);
        assert_eq!(serde_json::to_string(&object).unwrap(), text);
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let rows = [
            (
                "object",
                serde_json::from_str::<Object>(r#"{"a":1,"a":2}"#).is_err(),
            ),
            (
                "nested",
                serde_json::from_str::<Object>(r#"{"o":{"a":1,"a":2}}"#).is_err(),
            ),
            (
                "strmap",
                serde_json::from_str::<StrMap>(r#"{"a":"1","a":"2"}"#).is_err(),
            ),
        ];
        for (row, refused) in rows {
            assert!(refused, "row {row}");
        }
    }

    #[test]
    fn secret_field_null_means_absent_and_redaction_writes_null() {
        #[derive(Deserialize, Serialize)]
        struct Holder {
            #[serde(default, skip_serializing_if = "SecretField::is_absent")]
            s: SecretField,
        }
        let rows: &[(&str, &str)] = &[
            (r#"{"s":"pw"}"#, r#"{"s":null}"#),
            (r#"{"s":null}"#, r#"{}"#),
            (r#"{}"#, r#"{}"#),
        ];
        for (input, redacted) in rows {
            let mut holder: Holder = serde_json::from_str(input).unwrap();
            crate::sms::changes::Mask::Redact.secret(&mut holder.s);
            assert_eq!(
                serde_json::to_string(&holder).unwrap(),
                *redacted,
                "row {input}"
            );
        }
        let holder: Holder = serde_json::from_str(r#"{"s":"pw"}"#).unwrap();
        assert_eq!(format!("{:?}", holder.s), "Value(<redacted>)");
    }

    #[test]
    fn keep_from_takes_the_stored_value_only_when_missing() {
        let stored = SecretField::Value("old".into());
        let rows = [
            ("absent", SecretField::Absent, Some("old")),
            ("redacted", SecretField::Redacted, Some("old")),
            ("given", SecretField::Value("new".into()), Some("new")),
        ];
        for (row, mut field, expected) in rows {
            field.keep_from(&stored);
            assert_eq!(
                field.value().map(SecretString::expose),
                expected,
                "row {row}"
            );
        }
    }
}
