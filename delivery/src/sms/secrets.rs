//! Broker `secrets` (SPEC §6.1): named values a broker's templates use as `{secret.NAME}`
//! (an API key in a JSON body, a token query parameter), sealed at rest with the rest of the
//! configuration, never returned (GET lists their names with `null` values).
//!
//! - [`SecretMap`]: the document form, `{"NAME": "value" | null}` in document order.
//! - [`BrokerSecrets`]: the validated values, handed to templates when rendering.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::SecretString;
use crate::sms::config::{ConfigError, join};
use crate::sms::doc::SecretField;
use crate::template::{SECRET_NAME_MAX_CHARS, Template, is_secret_name};

/// Why a `null` secret has no value.
pub(crate) const KEPT_ONLY_SAME_ORIGIN: &str = "null keeps the stored value, but none is stored \
for this broker's address (a secret is kept only while the scheme, host and port of url, or of \
wsdl_url and options.location, stay the same): enter the value again";
/// Most secrets per broker.
const SECRETS_MAX: usize = 32;
/// Longest secret value, in bytes.
const SECRET_MAX_BYTES: usize = 4096;

/// `secrets` as written: name → value, or `null` to keep the stored value. Duplicate names are
/// refused. `Debug` shows the names only.
#[derive(Clone, Default)]
pub(crate) struct SecretMap(pub Vec<(String, SecretField)>);

impl SecretMap {
    /// Takes the stored value of every entry that was sent as `null`.
    pub fn keep_from(&mut self, stored: &SecretMap) {
        for (name, field) in &mut self.0 {
            if let Some((_, kept)) = stored.0.iter().find(|(known, _)| known == name) {
                field.keep_from(kept);
            }
        }
    }

    /// Every entry's value replaced by `mask`.
    pub fn mask(&mut self, mask: impl Fn(&mut SecretField)) {
        for (_, field) in &mut self.0 {
            mask(field);
        }
    }
}

impl fmt::Debug for SecretMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}

impl<'de> Deserialize<'de> for SecretMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecretMapVisitor;
        impl<'de> Visitor<'de> for SecretMapVisitor {
            type Value = SecretMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of secret name → string (or null to keep the stored one)")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SecretMap, A::Error> {
                let mut entries: Vec<(String, SecretField)> = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    if entries.iter().any(|(known, _)| *known == name) {
                        return Err(de::Error::custom(format_args!("duplicate key {name:?}")));
                    }
                    let value = map.next_value::<SecretField>()?;
                    entries.push((name, value));
                }
                Ok(SecretMap(entries))
            }
        }
        deserializer.deserialize_map(SecretMapVisitor)
    }
}

impl Serialize for SecretMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// A broker's validated secrets. `Debug` shows the names only.
#[derive(Clone, Default)]
pub(crate) struct BrokerSecrets(Vec<(String, SecretString)>);

impl fmt::Debug for BrokerSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}

impl BrokerSecrets {
    /// Validates `secrets` of the broker at `path`: names `[A-Za-z0-9_]{1,64}`, every value
    /// present (a `null` whose stored value was not kept is refused, naming the entry), not
    /// empty, at most 4096 bytes; at most 32 entries.
    pub fn from_doc(path: &str, secrets: Option<&SecretMap>) -> Result<Self, ConfigError> {
        let Some(map) = secrets else {
            return Ok(Self::default());
        };
        let field = join(path, "secrets");
        if map.0.len() > SECRETS_MAX {
            return Err(ConfigError::OutOfRange {
                path: field,
                value: map.0.len() as u64,
                min: 0,
                max: SECRETS_MAX as u64,
                unit: "secrets",
            });
        }
        map.0
            .iter()
            .map(|(name, value)| {
                let at = join(&field, name);
                if !is_secret_name(name) {
                    return Err(ConfigError::InvalidName {
                        path: at,
                        reason: format!(
                            "a secret name is 1 to {SECRET_NAME_MAX_CHARS} ASCII letters, digits or _"
                        ),
                    });
                }
                let value = value.value().ok_or_else(|| ConfigError::Missing {
                    path: at.clone(),
                    reason: KEPT_ONLY_SAME_ORIGIN,
                })?;
                if value.expose().is_empty() || value.expose().len() > SECRET_MAX_BYTES {
                    return Err(ConfigError::InvalidSecret {
                        path: at,
                        reason: "must be 1 to 4096 bytes",
                    });
                }
                Ok((name.clone(), value.clone()))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Refuses a template that names a secret this broker does not have.
    pub fn check(&self, path: &str, template: &Template) -> Result<(), ConfigError> {
        match template
            .secret_names()
            .find(|used| !self.0.iter().any(|(name, _)| name == used))
        {
            Some(unknown) => Err(ConfigError::UnknownSecret {
                path: path.to_owned(),
                name: unknown.to_owned(),
                known: self.names().join(", "),
            }),
            None => Ok(()),
        }
    }

    /// The names, in document order.
    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| name.as_str()).collect()
    }

    /// Name → value pairs for [`crate::template::TagValues::secrets`].
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.0
            .iter()
            .map(|(name, value)| (name.as_str(), value.expose()))
            .collect()
    }

    /// The values, to hide from answer excerpts.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(_, value)| value.expose())
    }

    /// Name → a fixed sample value, for checks whose error text might quote what they read.
    pub fn samples(&self) -> Vec<(&str, &str)> {
        self.0
            .iter()
            .map(|(name, _)| (name.as_str(), "sample-secret"))
            .collect()
    }
}
