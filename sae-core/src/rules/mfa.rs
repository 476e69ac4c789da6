//! MFA "hash always present" rules (SPEC §4.5): the `authenticationHash` call presents a hash
//! that must equal a content stored in one of the user's AuthValues.
//!
//! A rule names the AuthSys, the AuthClaim, optionally the AuthValue key (otherwise the key is
//! dynamic and comes with the call, e.g. a device id) and optionally a position inside the
//! content (see [`super::position`]). The selected content is compared with the presented hash
//! in constant time, exactly (no trimming, case-sensitive); an empty selected content never
//! matches.

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::position::{self, Position, PositionError};
use super::user_authsys::{NameProblem, UserAuthsys, find_authsys, name_problem};

/// Longest `mfa_id`, in characters.
pub const MFA_ID_MAX_CHARS: usize = 64;

/// Errors of MFA rules: invalid rules, and every way a hash check can fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MfaError {
    /// A rule field (`mfa_id`, `authsys`, `authclaim`, `authvalue`) is empty or only spaces.
    #[error("{field}: must not be empty")]
    EmptyField {
        /// The offending field.
        field: &'static str,
    },
    /// A rule field is too long (`mfa_id`: 64 characters, names: 255).
    #[error("{field}: {chars} characters is too long; at most {max} are allowed")]
    FieldTooLong {
        /// The offending field.
        field: &'static str,
        /// Its length in characters.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// A rule field contains a control character.
    #[error("{field}: must not contain control characters")]
    FieldControlChar {
        /// The offending field.
        field: &'static str,
    },
    /// Two rules have the same `mfa_id`.
    #[error("mfa_id: {mfa_id:?} is used by more than one rule")]
    DuplicateMfaId {
        /// The repeated id.
        mfa_id: String,
    },
    /// No rule has this `mfa_id`.
    #[error("mfa: no MFA rule has the id {mfa_id:?}")]
    UnknownMfaId {
        /// The id asked for.
        mfa_id: String,
    },
    /// The user has no AuthSys of the rule's name.
    #[error("authsys: the user has no AuthSys {authsys:?}")]
    NoSuchAuthsys {
        /// The rule's AuthSys.
        authsys: String,
    },
    /// The AuthSys has no claim of the rule's name.
    #[error("authclaim: the user's AuthSys {authsys:?} has no claim {claim:?}")]
    NoSuchClaim {
        /// The rule's AuthSys.
        authsys: String,
        /// The rule's claim.
        claim: String,
    },
    /// The claim has no value with the key (fixed by the rule or given in the call).
    #[error("authvalue: the user's claim {claim:?} has no value with key {key:?}")]
    NoSuchValue {
        /// The rule's claim.
        claim: String,
        /// The key looked for.
        key: String,
    },
    /// The rule has no fixed AuthValue key and the call gave none.
    #[error(
        "authvalue: MFA rule {mfa_id:?} takes the AuthValue key from the call, and none was given"
    )]
    DynamicKeyMissing {
        /// The rule's id.
        mfa_id: String,
    },
    /// The rule's position could not select content (see [`PositionError`]).
    #[error(transparent)]
    Position(#[from] PositionError),
    /// The selected content is empty: an empty stored hash never matches.
    #[error("authvalue: the selected content is empty")]
    EmptyContent,
    /// The presented hash differs from the selected content.
    #[error("hash: does not match")]
    Mismatch,
}

impl MfaError {
    /// Whether the error comes from the user's data or the presented hash (an authentication
    /// failure that counts toward lockout) rather than from an invalid rule or unknown id.
    pub fn is_authentication_failure(&self) -> bool {
        matches!(
            self,
            Self::NoSuchAuthsys { .. }
                | Self::NoSuchClaim { .. }
                | Self::NoSuchValue { .. }
                | Self::Position(
                    PositionError::ContentNotJsonObject { .. }
                        | PositionError::JsonKeyMissing { .. }
                        | PositionError::JsonKeyDuplicated { .. }
                        | PositionError::JsonValueNotText { .. }
                        | PositionError::NotCsv { .. }
                        | PositionError::ColumnOutOfRange { .. }
                )
                | Self::EmptyContent
                | Self::Mismatch
        )
    }
}

fn check_field(field: &'static str, value: &str, max: usize) -> Result<(), MfaError> {
    match name_problem(value) {
        Some(NameProblem::Empty) => return Err(MfaError::EmptyField { field }),
        Some(NameProblem::ControlChar) => return Err(MfaError::FieldControlChar { field }),
        Some(NameProblem::TooLong(_)) | None => {}
    }
    let chars = value.chars().count();
    if chars > max {
        return Err(MfaError::FieldTooLong { field, chars, max });
    }
    Ok(())
}

/// One MFA rule. JSON: `{mfa_id, authsys, authclaim, authvalue?, position?}`; an empty
/// `authvalue` or `position` counts as absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "MfaRuleInput", into = "MfaRuleInput")]
pub struct MfaRule {
    mfa_id: String,
    authsys: String,
    authclaim: String,
    authvalue: Option<String>,
    position: Option<Position>,
}

/// The JSON form of an [`MfaRule`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MfaRuleInput {
    mfa_id: String,
    authsys: String,
    authclaim: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    authvalue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    position: Option<String>,
}

impl TryFrom<MfaRuleInput> for MfaRule {
    type Error = MfaError;

    fn try_from(input: MfaRuleInput) -> Result<Self, Self::Error> {
        Self::new(
            input.mfa_id,
            input.authsys,
            input.authclaim,
            input.authvalue,
            input.position,
        )
    }
}

impl From<MfaRule> for MfaRuleInput {
    fn from(rule: MfaRule) -> Self {
        Self {
            mfa_id: rule.mfa_id,
            authsys: rule.authsys,
            authclaim: rule.authclaim,
            authvalue: rule.authvalue,
            position: rule.position.map(|p| p.as_str().to_owned()),
        }
    }
}

impl MfaRule {
    /// Checks a rule: `mfa_id` 1..=64 characters, names 1..=255 characters, no control
    /// characters; `authvalue`/`position` of `None` or `""` mean dynamic key / whole content.
    pub fn new(
        mfa_id: impl Into<String>,
        authsys: impl Into<String>,
        authclaim: impl Into<String>,
        authvalue: Option<String>,
        position: Option<String>,
    ) -> Result<Self, MfaError> {
        let (mfa_id, authsys, authclaim) = (mfa_id.into(), authsys.into(), authclaim.into());
        check_field("mfa_id", &mfa_id, MFA_ID_MAX_CHARS)?;
        check_field("authsys", &authsys, super::user_authsys::NAME_MAX_CHARS)?;
        check_field("authclaim", &authclaim, super::user_authsys::NAME_MAX_CHARS)?;
        let authvalue = authvalue.filter(|key| !key.is_empty());
        if let Some(key) = &authvalue {
            check_field("authvalue", key, super::user_authsys::NAME_MAX_CHARS)?;
        }
        let position = match position {
            Some(text) => Position::new(text)?,
            None => None,
        };
        Ok(Self {
            mfa_id,
            authsys,
            authclaim,
            authvalue,
            position,
        })
    }

    /// The id the `authenticationHash` call names.
    pub fn mfa_id(&self) -> &str {
        &self.mfa_id
    }

    /// The AuthSys the rule selects.
    pub fn authsys(&self) -> &str {
        &self.authsys
    }

    /// The AuthClaim the rule selects.
    pub fn authclaim(&self) -> &str {
        &self.authclaim
    }

    /// The fixed AuthValue key, or `None` when the key comes with the call.
    pub fn authvalue(&self) -> Option<&str> {
        self.authvalue.as_deref()
    }

    /// Where in the content the hash is, or `None` for the whole content.
    pub fn position(&self) -> Option<&Position> {
        self.position.as_ref()
    }
}

/// Checks a presented hash against the user's AuthSys data with `rule`.
///
/// Selects the AuthSys, the claim, the value (the rule's fixed key, else `dynamic_key`; a
/// fixed key ignores `dynamic_key`) and the content at the rule's position, then compares it
/// with `presented` in constant time. Every way to fail has its own [`MfaError`] variant.
pub fn check_hash(
    rule: &MfaRule,
    user: &[UserAuthsys],
    dynamic_key: Option<&str>,
    presented: &str,
) -> Result<(), MfaError> {
    let key = match (rule.authvalue(), dynamic_key) {
        (Some(fixed), _) => fixed,
        (None, Some(dynamic)) if !dynamic.is_empty() => dynamic,
        (None, _) => {
            return Err(MfaError::DynamicKeyMissing {
                mfa_id: rule.mfa_id.clone(),
            });
        }
    };
    let authsys = find_authsys(user, &rule.authsys).ok_or_else(|| MfaError::NoSuchAuthsys {
        authsys: rule.authsys.clone(),
    })?;
    let claim = authsys
        .claim(&rule.authclaim)
        .ok_or_else(|| MfaError::NoSuchClaim {
            authsys: rule.authsys.clone(),
            claim: rule.authclaim.clone(),
        })?;
    let value = claim.value(key).ok_or_else(|| MfaError::NoSuchValue {
        claim: rule.authclaim.clone(),
        key: key.to_owned(),
    })?;
    let selected = position::select(value.content(), rule.position())?;
    let expected = selected.as_str().as_bytes();
    if expected.is_empty() {
        return Err(MfaError::EmptyContent);
    }
    if bool::from(expected.ct_eq(presented.as_bytes())) {
        Ok(())
    } else {
        Err(MfaError::Mismatch)
    }
}

/// The MFA rule set (the body of `PUT /v1/policies/mfa`), with `mfa_id`s unique.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "Vec<MfaRule>", into = "Vec<MfaRule>")]
pub struct MfaRules(Vec<MfaRule>);

impl TryFrom<Vec<MfaRule>> for MfaRules {
    type Error = MfaError;

    fn try_from(rules: Vec<MfaRule>) -> Result<Self, Self::Error> {
        Self::new(rules)
    }
}

impl From<MfaRules> for Vec<MfaRule> {
    fn from(rules: MfaRules) -> Self {
        rules.0
    }
}

impl MfaRules {
    /// Refuses two rules with the same `mfa_id`.
    pub fn new(rules: Vec<MfaRule>) -> Result<Self, MfaError> {
        for (i, rule) in rules.iter().enumerate() {
            if rules[..i]
                .iter()
                .any(|earlier| earlier.mfa_id == rule.mfa_id)
            {
                return Err(MfaError::DuplicateMfaId {
                    mfa_id: rule.mfa_id.clone(),
                });
            }
        }
        Ok(Self(rules))
    }

    /// The rules in order.
    pub fn rules(&self) -> &[MfaRule] {
        &self.0
    }

    /// The rule with this id.
    pub fn find(&self, mfa_id: &str) -> Option<&MfaRule> {
        self.0.iter().find(|rule| rule.mfa_id == mfa_id)
    }

    /// Finds the rule `mfa_id` and runs [`check_hash`] with it.
    pub fn check_hash(
        &self,
        mfa_id: &str,
        user: &[UserAuthsys],
        dynamic_key: Option<&str>,
        presented: &str,
    ) -> Result<(), MfaError> {
        let rule = self.find(mfa_id).ok_or_else(|| MfaError::UnknownMfaId {
            mfa_id: mfa_id.to_owned(),
        })?;
        check_hash(rule, user, dynamic_key, presented)
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use crate::rules::user_authsys::UserAuthsysList;

    fn user() -> UserAuthsysList {
        serde_json::from_value(serde_json::json!([
            {"authsys": "bank", "claims": [
                {"claim": "devices", "values": [
                    {"key": "phone-1", "content": "{\"hash\":\"H1\",\"model\":\"x\"}"},
                    {"key": "phone-2", "content": "id2,\"H,2\",2024"},
                    {"key": "plain", "content": "PLAINHASH"},
                    {"key": "empty", "content": ""}
                ]}
            ]}
        ]))
        .unwrap()
    }

    fn rule(authvalue: Option<&str>, position: Option<&str>) -> MfaRule {
        MfaRule::new(
            "7",
            "bank",
            "devices",
            authvalue.map(str::to_owned),
            position.map(str::to_owned),
        )
        .unwrap()
    }

    /// (fixed key, position, dynamic key, presented, expected)
    type Row = (
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
        &'static str,
        Result<(), MfaError>,
    );

    #[test]
    fn hash_checks() {
        let user = user();
        let user = user.as_slice();
        let err_pos = |e: PositionError| Err(MfaError::Position(e));
        let rows: [Row; 15] = [
            (Some("plain"), None, None, "PLAINHASH", Ok(())),
            (Some("plain"), None, Some("phone-1"), "PLAINHASH", Ok(())),
            (
                Some("plain"),
                None,
                None,
                "plainhash",
                Err(MfaError::Mismatch),
            ),
            (
                Some("plain"),
                None,
                None,
                "PLAINHASH ",
                Err(MfaError::Mismatch),
            ),
            (None, Some("hash"), Some("phone-1"), "H1", Ok(())),
            (None, Some("1"), Some("phone-2"), "H,2", Ok(())),
            (
                None,
                Some("hash"),
                None,
                "H1",
                Err(MfaError::DynamicKeyMissing { mfa_id: "7".into() }),
            ),
            (
                None,
                Some("hash"),
                Some(""),
                "H1",
                Err(MfaError::DynamicKeyMissing { mfa_id: "7".into() }),
            ),
            (
                None,
                None,
                Some("phone-9"),
                "H1",
                Err(MfaError::NoSuchValue {
                    claim: "devices".into(),
                    key: "phone-9".into(),
                }),
            ),
            (
                None,
                Some("serial"),
                Some("phone-1"),
                "H1",
                err_pos(PositionError::JsonKeyMissing {
                    key: "serial".into(),
                }),
            ),
            (
                None,
                Some("3"),
                Some("phone-2"),
                "2024",
                err_pos(PositionError::ColumnOutOfRange {
                    column: 3,
                    columns: 3,
                }),
            ),
            (
                None,
                Some("hash"),
                Some("phone-2"),
                "H,2",
                err_pos(PositionError::ContentNotJsonObject {
                    position: "hash".into(),
                }),
            ),
            (Some("empty"), None, None, "", Err(MfaError::EmptyContent)),
            (Some("plain"), None, None, "", Err(MfaError::Mismatch)),
            (Some("plain"), Some(""), None, "PLAINHASH", Ok(())),
        ];
        for (i, (fixed, position, dynamic, presented, expected)) in rows.into_iter().enumerate() {
            let got = check_hash(&rule(fixed, position), user, dynamic, presented);
            assert_eq!(
                got, expected,
                "row {i}: key {fixed:?}/{dynamic:?} at {position:?}"
            );
        }
    }

    #[test]
    fn missing_authsys_and_claim() {
        let user = user();
        let other_sys = MfaRule::new("1", "vpn", "devices", Some("plain".into()), None).unwrap();
        assert_eq!(
            check_hash(&other_sys, user.as_slice(), None, "PLAINHASH"),
            Err(MfaError::NoSuchAuthsys {
                authsys: "vpn".into()
            })
        );
        let other_claim = MfaRule::new("1", "bank", "cards", Some("plain".into()), None).unwrap();
        let err = check_hash(&other_claim, user.as_slice(), None, "PLAINHASH").unwrap_err();
        assert_eq!(
            err,
            MfaError::NoSuchClaim {
                authsys: "bank".into(),
                claim: "cards".into()
            }
        );
        assert!(err.is_authentication_failure());
    }

    #[test]
    fn rule_set_by_id() {
        let rules: MfaRules = serde_json::from_value(serde_json::json!([
            {"mfa_id": "7", "authsys": "bank", "authclaim": "devices", "authvalue": "plain"},
            {"mfa_id": "8", "authsys": "bank", "authclaim": "devices", "position": "hash"}
        ]))
        .unwrap();
        let user = user();
        assert_eq!(
            rules.check_hash("7", user.as_slice(), None, "PLAINHASH"),
            Ok(())
        );
        assert_eq!(
            rules.check_hash("8", user.as_slice(), Some("phone-1"), "H1"),
            Ok(())
        );
        let unknown = rules
            .check_hash("9", user.as_slice(), None, "x")
            .unwrap_err();
        assert_eq!(unknown, MfaError::UnknownMfaId { mfa_id: "9".into() });
        assert!(!unknown.is_authentication_failure());
    }

    #[test]
    fn rule_validation() {
        let long_id = "1".repeat(65);
        let rows = [
            (
                serde_json::json!([{"mfa_id": "", "authsys": "a", "authclaim": "c"}]),
                "mfa_id: must not be empty",
            ),
            (
                serde_json::json!([{"mfa_id": long_id, "authsys": "a", "authclaim": "c"}]),
                "mfa_id: 65 characters",
            ),
            (
                serde_json::json!([{"mfa_id": "1", "authsys": " ", "authclaim": "c"}]),
                "authsys: must not be empty",
            ),
            (
                serde_json::json!([{"mfa_id": "1", "authsys": "a", "authclaim": ""}]),
                "authclaim: must not be empty",
            ),
            (
                serde_json::json!([{"mfa_id": "1", "authsys": "a", "authclaim": "c", "position": "a\u{0}"}]),
                "position:",
            ),
            (
                serde_json::json!([{"mfa_id": "1", "authsys": "a", "authclaim": "c", "extra": 1}]),
                "extra",
            ),
            (
                serde_json::json!([
                    {"mfa_id": "1", "authsys": "a", "authclaim": "c"},
                    {"mfa_id": "1", "authsys": "b", "authclaim": "c"}
                ]),
                "mfa_id: \"1\" is used by more than one rule",
            ),
        ];
        for (i, (body, needle)) in rows.into_iter().enumerate() {
            let err = serde_json::from_value::<MfaRules>(body).unwrap_err();
            assert!(err.to_string().contains(needle), "row {i}: {err}");
        }
    }

    #[test]
    fn json_round_trip_drops_empty_optionals() {
        let body = serde_json::json!([
            {"mfa_id": "7", "authsys": "a", "authclaim": "c", "authvalue": "", "position": ""}
        ]);
        let rules: MfaRules = serde_json::from_value(body).unwrap();
        assert_eq!(rules.rules()[0].authvalue(), None);
        assert_eq!(rules.rules()[0].position(), None);
        assert_eq!(
            serde_json::to_value(&rules).unwrap(),
            serde_json::json!([{"mfa_id": "7", "authsys": "a", "authclaim": "c"}])
        );
    }
}
