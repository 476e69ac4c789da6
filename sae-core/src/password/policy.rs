//! The password policy resource (`PUT /v1/policies/global`, AuthSys rules): validated once,
//! with its strength patterns compiled once.

use serde::{Deserialize, Serialize};

use super::expiry::{ExpiryError, ResetEvery};
use super::hash::{HashAlgorithm, HashError};
use super::hash_params::{HashParamsInput, HashPolicy};
use super::history::{Differ, HistoryError};
use super::strength::{
    DEFAULT_CUSTOM_MIN_LENGTH, PatternInput, Strength, StrengthError, StrengthLevel, Unmet,
};

/// Why a password policy was refused; [`field`](Self::field) names the JSON field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// `hash` / `hash_params` refused.
    #[error("hash_params: {0}")]
    Hash(#[source] HashError),
    /// `differ` refused.
    #[error(transparent)]
    Differ(HistoryError),
    /// `reset_every` refused.
    #[error(transparent)]
    ResetEvery(ExpiryError),
    /// `strength`, `min_length` or `patterns` refused.
    #[error(transparent)]
    Strength(StrengthError),
}

impl PolicyError {
    /// The JSON field the error is about: `hash_params.m_kib`, `differ`, `reset_every`,
    /// `min_length`, `patterns`, `patterns[2].pattern`, `patterns[0].message`, …
    #[must_use]
    pub fn field(&self) -> String {
        match self {
            Self::Hash(HashError::ParamOutOfRange { name, .. })
            | Self::Hash(HashError::ParamNotApplicable { name, .. }) => {
                format!("hash_params.{name}")
            }
            Self::Hash(_) => "hash".to_owned(),
            Self::Differ(_) => "differ".to_owned(),
            Self::ResetEvery(_) => "reset_every".to_owned(),
            Self::Strength(e) => e.field(),
        }
    }
}

/// A validated password policy: how to hash, how many old passwords to refuse, when
/// passwords expire, and how strong they must be.
///
/// JSON (through [`PasswordPolicyInput`]):
/// `{hash: "argon2id"|"pbkdf2-sha256"|"pbkdf2-sha512", hash_params?, differ, reset_every,
/// strength: "off"|"weak"|"medium"|"strong"|"custom", min_length?, patterns?: [{pattern,
/// message}]}`. Deserializing a `PasswordPolicy` directly reports errors as text only;
/// deserialize the input and call `try_from` to get [`PolicyError::field`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PasswordPolicyInput", into = "PasswordPolicyInput")]
pub struct PasswordPolicy {
    hash: HashPolicy,
    differ: Differ,
    reset_every: ResetEvery,
    strength: Strength,
}

impl PasswordPolicy {
    /// Combines validated parts.
    #[must_use]
    pub fn new(
        hash: HashPolicy,
        differ: Differ,
        reset_every: ResetEvery,
        strength: Strength,
    ) -> Self {
        Self {
            hash,
            differ,
            reset_every,
            strength,
        }
    }

    /// How new passwords are hashed.
    #[must_use]
    pub const fn hash(&self) -> &HashPolicy {
        &self.hash
    }

    /// How many recent passwords (current included) may not be reused.
    #[must_use]
    pub const fn differ(&self) -> Differ {
        self.differ
    }

    /// When passwords expire.
    #[must_use]
    pub const fn reset_every(&self) -> ResetEvery {
        self.reset_every
    }

    /// The strength rule, with its compiled patterns.
    #[must_use]
    pub const fn strength(&self) -> &Strength {
        &self.strength
    }

    /// The "password test": every strength requirement `sample` does not meet.
    #[must_use]
    pub fn test(&self, sample: &str) -> Vec<Unmet> {
        self.strength.test(sample)
    }
}

/// Unvalidated JSON form of [`PasswordPolicy`]. Missing fields take the defaults (argon2id
/// with OWASP parameters, `differ` 0, `reset_every` 0, `strength` off); unknown fields are
/// refused.
///
/// `hash_params` (`{m_kib, t, p}` for argon2id, `{rounds}` for PBKDF2) and `min_length`
/// (custom strength only, default 8) extend the API sketch and are omitted when default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordPolicyInput {
    /// Algorithm for new passwords.
    #[serde(default)]
    pub hash: HashAlgorithm,
    /// Cost parameters; absent = OWASP's recommendation for `hash`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_params: Option<HashParamsInput>,
    /// Recent passwords that may not be reused, 0..=24.
    #[serde(default)]
    pub differ: u32,
    /// Days after which a password expires, 0..=3650.
    #[serde(default)]
    pub reset_every: u32,
    /// Strength level.
    #[serde(default)]
    pub strength: StrengthLevel,
    /// Minimum length for `custom`, 1..=128.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    /// Patterns for `custom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patterns: Option<Vec<PatternInput>>,
}

impl TryFrom<PasswordPolicyInput> for PasswordPolicy {
    type Error = PolicyError;

    fn try_from(input: PasswordPolicyInput) -> Result<Self, Self::Error> {
        let hash = HashPolicy::from_input(input.hash, input.hash_params.as_ref())
            .map_err(PolicyError::Hash)?;
        let differ = Differ::new(input.differ).map_err(PolicyError::Differ)?;
        let reset_every = ResetEvery::new(input.reset_every).map_err(PolicyError::ResetEvery)?;
        let strength = strength_from(input.strength, input.min_length, input.patterns.as_deref())
            .map_err(PolicyError::Strength)?;
        Ok(Self {
            hash,
            differ,
            reset_every,
            strength,
        })
    }
}

fn strength_from(
    level: StrengthLevel,
    min_length: Option<u32>,
    patterns: Option<&[PatternInput]>,
) -> Result<Strength, StrengthError> {
    if level == StrengthLevel::Custom {
        let min = min_length.unwrap_or(DEFAULT_CUSTOM_MIN_LENGTH as u32);
        return Strength::custom(min, patterns.unwrap_or_default());
    }
    if patterns.is_some_and(|p| !p.is_empty()) {
        return Err(StrengthError::PatternsNotCustom);
    }
    if min_length.is_some() {
        return Err(StrengthError::MinLengthNotCustom);
    }
    Ok(Strength::preset(level))
}

impl From<PasswordPolicy> for PasswordPolicyInput {
    fn from(policy: PasswordPolicy) -> Self {
        let custom = policy.strength.level() == StrengthLevel::Custom;
        Self {
            hash: policy.hash.algorithm(),
            hash_params: policy.hash.to_input(),
            differ: policy.differ.get() as u32,
            reset_every: policy.reset_every.days(),
            strength: policy.strength.level(),
            min_length: custom.then(|| policy.strength.min_length() as u32),
            patterns: custom.then(|| policy.strength.custom_patterns()),
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;
    use crate::password::hash_params::Argon2Params;

    fn parse(json: &str) -> Result<PasswordPolicy, PolicyError> {
        let input: PasswordPolicyInput =
            serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"));
        PasswordPolicy::try_from(input)
    }

    #[test]
    fn defaults_match_the_seed_with_argon2id() {
        let p: PasswordPolicy = serde_json::from_str("{}").unwrap();
        assert_eq!(p, PasswordPolicy::default());
        assert_eq!(p.hash(), &HashPolicy::Argon2id(Argon2Params::OWASP));
        assert!(p.differ().is_off());
        assert_eq!(p.reset_every(), ResetEvery::OFF);
        assert_eq!(p.strength().level(), StrengthLevel::Off);
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"hash":"argon2id","differ":0,"reset_every":0,"strength":"off"}"#
        );
    }

    #[test]
    fn errors_name_the_field() {
        // (json, field)
        let rows: &[(&str, &str)] = &[
            (r#"{"differ":25}"#, "differ"),
            (r#"{"reset_every":3651}"#, "reset_every"),
            (
                r#"{"hash":"argon2id","hash_params":{"m_kib":4}}"#,
                "hash_params.m_kib",
            ),
            (
                r#"{"hash":"argon2id","hash_params":{"rounds":5000}}"#,
                "hash_params.rounds",
            ),
            (
                r#"{"hash":"pbkdf2-sha256","hash_params":{"rounds":10}}"#,
                "hash_params.rounds",
            ),
            (
                r#"{"strength":"strong","patterns":[{"pattern":"a","message":"m"}]}"#,
                "patterns",
            ),
            (r#"{"strength":"weak","min_length":3}"#, "min_length"),
            (r#"{"strength":"custom","min_length":0}"#, "min_length"),
            (
                r#"{"strength":"custom","patterns":[{"pattern":"[0-9]","message":"d"},{"pattern":"[a-z]","message":"l"},{"pattern":"(?=.*[A-Z])","message":"u"}]}"#,
                "patterns[2].pattern",
            ),
            (
                r#"{"strength":"custom","patterns":[{"pattern":"[0-9]","message":""}]}"#,
                "patterns[0].message",
            ),
        ];
        for (json, field) in rows {
            let err = parse(json).expect_err(json);
            assert_eq!(err.field(), *field, "row {json}: {err}");
        }
    }

    #[test]
    fn bad_json_is_refused_by_serde() {
        for json in [
            r#"{"hash":"sha256"}"#,
            r#"{"strength":"extreme"}"#,
            r#"{"differ":-1}"#,
            r#"{"diffr":3}"#,
            r#"{"strength":"custom","patterns":[{"pattern":"a"}]}"#,
        ] {
            let r: Result<PasswordPolicy, _> = serde_json::from_str(json);
            assert!(r.is_err(), "{json} must be refused");
        }
    }

    #[test]
    fn json_round_trip() {
        let rows = [
            r#"{"hash":"pbkdf2-sha512","differ":5,"reset_every":90,"strength":"strong"}"#,
            r#"{"hash":"argon2id","hash_params":{"m_kib":65536,"t":3,"p":2},"differ":24,"reset_every":0,"strength":"medium"}"#,
            r#"{"hash":"pbkdf2-sha256","hash_params":{"rounds":700000},"differ":0,"reset_every":3650,"strength":"custom","min_length":10,"patterns":[{"pattern":"[0-9]","message":"needs a digit"}]}"#,
        ];
        for json in rows {
            let p: PasswordPolicy = serde_json::from_str(json).unwrap();
            assert_eq!(serde_json::to_string(&p).unwrap(), json, "row {json}");
        }
    }

    #[test]
    fn password_test_uses_the_cached_rule() {
        let p = parse(
            r#"{"strength":"custom","min_length":4,"patterns":[{"pattern":"[0-9]","message":"needs a digit"},{"pattern":"[A-Z]","message":"needs an upper-case letter"}]}"#,
        )
        .unwrap();
        let unmet = p.test("ab");
        let messages: Vec<&str> = unmet.iter().map(|u| u.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "needs at least 4 characters",
                "needs a digit",
                "needs an upper-case letter"
            ]
        );
        assert!(p.test("Ab12").is_empty());
    }
}
