//! A user's AuthSys → AuthClaim → AuthValue data (SPEC §3), as set with
//! `PUT /v1/users/{login}/authsys [{authsys, claims: [{claim, values: [{key, content}]}]}]`.
//!
//! Names are unique at each level (an AuthSys once per user, a claim once per AuthSys, a key
//! once per claim), so a rule selects at most one content. Contents are credentials: held in
//! zeroized memory, redacted from `Debug`; `Serialize` does write them, for the administrator
//! view (filter it with the ACL first).

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Longest AuthSys, claim or key name, in characters.
pub const NAME_MAX_CHARS: usize = 255;
/// Longest AuthValue content, in bytes.
pub const CONTENT_MAX_BYTES: usize = 16 * 1024;

/// Errors of the user's AuthSys data. `path` is the offending field, e.g.
/// `authsys[0].claims[1].values[2].key`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UserAuthsysError {
    /// A name is empty or only spaces.
    #[error("{path}: must not be empty")]
    EmptyName {
        /// The offending field.
        path: String,
    },
    /// A name is longer than [`NAME_MAX_CHARS`].
    #[error("{path}: {chars} characters is too long; at most 255 are allowed")]
    NameTooLong {
        /// The offending field.
        path: String,
        /// Its length in characters.
        chars: usize,
    },
    /// A name contains a control character.
    #[error("{path}: must not contain control characters")]
    NameControlChar {
        /// The offending field.
        path: String,
    },
    /// A name appears twice at the same level.
    #[error("{path}: {name:?} appears more than once")]
    DuplicateName {
        /// The offending field (the second occurrence).
        path: String,
        /// The repeated name.
        name: String,
    },
    /// A content is longer than [`CONTENT_MAX_BYTES`].
    #[error("{path}: {bytes} bytes is too long; at most 16384 are allowed")]
    ContentTooLong {
        /// The offending field.
        path: String,
        /// Its length in bytes.
        bytes: usize,
    },
}

/// Why a name is refused (shared with the MFA rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameProblem {
    Empty,
    TooLong(usize),
    ControlChar,
}

pub(crate) fn name_problem(name: &str) -> Option<NameProblem> {
    if name.trim().is_empty() {
        return Some(NameProblem::Empty);
    }
    if name.chars().any(char::is_control) {
        return Some(NameProblem::ControlChar);
    }
    let chars = name.chars().count();
    if chars > NAME_MAX_CHARS {
        return Some(NameProblem::TooLong(chars));
    }
    None
}

fn check_name(name: &str, path: impl FnOnce() -> String) -> Result<(), UserAuthsysError> {
    match name_problem(name) {
        None => Ok(()),
        Some(NameProblem::Empty) => Err(UserAuthsysError::EmptyName { path: path() }),
        Some(NameProblem::TooLong(chars)) => Err(UserAuthsysError::NameTooLong {
            path: path(),
            chars,
        }),
        Some(NameProblem::ControlChar) => Err(UserAuthsysError::NameControlChar { path: path() }),
    }
}

fn check_unique<'a>(
    names: impl Iterator<Item = &'a str>,
    path: impl Fn(usize) -> String,
) -> Result<(), UserAuthsysError> {
    let names: Vec<&str> = names.collect();
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            return Err(UserAuthsysError::DuplicateName {
                path: path(i),
                name: (*name).to_owned(),
            });
        }
    }
    Ok(())
}

/// One value of a claim: a key and its content (plain text, a JSON object or a CSV line).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "AuthValueInput")]
pub struct AuthValue {
    key: String,
    #[serde(serialize_with = "serialize_content")]
    content: Zeroizing<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthValueInput {
    key: String,
    content: String,
}

impl TryFrom<AuthValueInput> for AuthValue {
    type Error = UserAuthsysError;

    fn try_from(input: AuthValueInput) -> Result<Self, Self::Error> {
        Self::new(input.key, Zeroizing::new(input.content))
    }
}

fn serialize_content<S: serde::Serializer>(
    content: &Zeroizing<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(content)
}

impl AuthValue {
    /// Checks the key and the content length. Errors name `key` or `content`.
    pub fn new(
        key: impl Into<String>,
        content: impl Into<Zeroizing<String>>,
    ) -> Result<Self, UserAuthsysError> {
        let key = key.into();
        let content = content.into();
        check_name(&key, || "key".to_owned())?;
        if content.len() > CONTENT_MAX_BYTES {
            return Err(UserAuthsysError::ContentTooLong {
                path: "content".to_owned(),
                bytes: content.len(),
            });
        }
        Ok(Self { key, content })
    }

    /// The key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The content (a credential: do not log it).
    pub fn content(&self) -> &str {
        &self.content
    }
}

impl fmt::Debug for AuthValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthValue")
            .field("key", &self.key)
            .field("content", &"<redacted>")
            .finish()
    }
}

/// One claim of an AuthSys with its values (keys unique).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "AuthClaimInput")]
pub struct AuthClaim {
    claim: String,
    values: Vec<AuthValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthClaimInput {
    claim: String,
    #[serde(default)]
    values: Vec<AuthValue>,
}

impl TryFrom<AuthClaimInput> for AuthClaim {
    type Error = UserAuthsysError;

    fn try_from(input: AuthClaimInput) -> Result<Self, Self::Error> {
        Self::new(input.claim, input.values)
    }
}

impl AuthClaim {
    /// Checks the name and that no key repeats. Errors name `claim` or `values[i].key`.
    pub fn new(claim: impl Into<String>, values: Vec<AuthValue>) -> Result<Self, UserAuthsysError> {
        let claim = claim.into();
        check_name(&claim, || "claim".to_owned())?;
        check_unique(values.iter().map(AuthValue::key), |i| {
            format!("values[{i}].key")
        })?;
        Ok(Self { claim, values })
    }

    /// The claim name.
    pub fn claim(&self) -> &str {
        &self.claim
    }

    /// The values in order.
    pub fn values(&self) -> &[AuthValue] {
        &self.values
    }

    /// The value with this key.
    pub fn value(&self, key: &str) -> Option<&AuthValue> {
        self.values.iter().find(|value| value.key == key)
    }
}

/// One AuthSys of a user with its claims (claim names unique).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "UserAuthsysInput")]
pub struct UserAuthsys {
    authsys: String,
    claims: Vec<AuthClaim>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserAuthsysInput {
    authsys: String,
    #[serde(default)]
    claims: Vec<AuthClaim>,
}

impl TryFrom<UserAuthsysInput> for UserAuthsys {
    type Error = UserAuthsysError;

    fn try_from(input: UserAuthsysInput) -> Result<Self, Self::Error> {
        Self::new(input.authsys, input.claims)
    }
}

impl UserAuthsys {
    /// Checks the name and that no claim repeats. Errors name `authsys` or `claims[i].claim`.
    pub fn new(
        authsys: impl Into<String>,
        claims: Vec<AuthClaim>,
    ) -> Result<Self, UserAuthsysError> {
        let authsys = authsys.into();
        check_name(&authsys, || "authsys".to_owned())?;
        check_unique(claims.iter().map(AuthClaim::claim), |i| {
            format!("claims[{i}].claim")
        })?;
        Ok(Self { authsys, claims })
    }

    /// The AuthSys name.
    pub fn authsys(&self) -> &str {
        &self.authsys
    }

    /// The claims in order.
    pub fn claims(&self) -> &[AuthClaim] {
        &self.claims
    }

    /// The claim with this name.
    pub fn claim(&self, claim: &str) -> Option<&AuthClaim> {
        self.claims.iter().find(|c| c.claim == claim)
    }
}

/// A user's whole ordered AuthSys list (the body of `PUT /v1/users/{login}/authsys`), with
/// AuthSys names unique.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "Vec<UserAuthsys>", into = "Vec<UserAuthsys>")]
pub struct UserAuthsysList(Vec<UserAuthsys>);

impl TryFrom<Vec<UserAuthsys>> for UserAuthsysList {
    type Error = UserAuthsysError;

    fn try_from(list: Vec<UserAuthsys>) -> Result<Self, Self::Error> {
        Self::new(list)
    }
}

impl From<UserAuthsysList> for Vec<UserAuthsys> {
    fn from(list: UserAuthsysList) -> Self {
        list.0
    }
}

impl UserAuthsysList {
    /// Checks that no AuthSys name repeats. Errors name `authsys[i].authsys`.
    pub fn new(list: Vec<UserAuthsys>) -> Result<Self, UserAuthsysError> {
        check_unique(list.iter().map(UserAuthsys::authsys), |i| {
            format!("authsys[{i}].authsys")
        })?;
        Ok(Self(list))
    }

    /// The AuthSys entries in order.
    pub fn as_slice(&self) -> &[UserAuthsys] {
        &self.0
    }

    /// The AuthSys names in order (for [`super::authsys::AuthsysRules::effective`]).
    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(UserAuthsys::authsys).collect()
    }

    /// The entry for this AuthSys name.
    pub fn find(&self, authsys: &str) -> Option<&UserAuthsys> {
        find_authsys(&self.0, authsys)
    }
}

/// The entry for this AuthSys name in a slice of entries.
pub fn find_authsys<'a>(list: &'a [UserAuthsys], authsys: &str) -> Option<&'a UserAuthsys> {
    list.iter().find(|entry| entry.authsys == authsys)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;

    #[test]
    fn api_shape_round_trips() {
        let body = serde_json::json!([
            {"authsys": "vpn", "claims": [
                {"claim": "device", "values": [
                    {"key": "d1", "content": "{\"hash\":\"abc\"}"},
                    {"key": "d2", "content": "x,y,z"}
                ]}
            ]},
            {"authsys": "erp", "claims": []}
        ]);
        let list: UserAuthsysList = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(list.names(), ["vpn", "erp"]);
        let value = list
            .find("vpn")
            .unwrap()
            .claim("device")
            .unwrap()
            .value("d2")
            .unwrap();
        assert_eq!(value.content(), "x,y,z");
        assert_eq!(serde_json::to_value(&list).unwrap(), body);
    }

    #[test]
    fn refusals_name_the_field() {
        let rows = [
            (
                serde_json::json!([{"authsys": ""}]),
                "authsys: must not be empty",
            ),
            (
                serde_json::json!([{"authsys": "a"}, {"authsys": "a"}]),
                "authsys[1].authsys",
            ),
            (
                serde_json::json!([{"authsys": "a", "claims": [{"claim": "c"}, {"claim": "c"}]}]),
                "claims[1].claim",
            ),
            (
                serde_json::json!([{"authsys": "a", "claims": [{"claim": "c", "values": [
                    {"key": "k", "content": "1"}, {"key": "k", "content": "2"}]}]}]),
                "values[1].key",
            ),
            (
                serde_json::json!([{"authsys": "a", "claims": [{"claim": "c", "values": [
                    {"key": "k\u{7}", "content": "1"}]}]}]),
                "key: must not contain control characters",
            ),
            (serde_json::json!([{"authsys": "a", "extra": 1}]), "extra"),
        ];
        for (i, (body, needle)) in rows.into_iter().enumerate() {
            let err = serde_json::from_value::<UserAuthsysList>(body).unwrap_err();
            assert!(err.to_string().contains(needle), "row {i}: {err}");
        }
    }

    #[test]
    fn content_is_bounded_and_redacted() {
        let too_long = "x".repeat(CONTENT_MAX_BYTES + 1);
        assert_eq!(
            AuthValue::new("k", too_long).unwrap_err(),
            UserAuthsysError::ContentTooLong {
                path: "content".into(),
                bytes: CONTENT_MAX_BYTES + 1
            }
        );
        let value = AuthValue::new("k", "s3cr3t-hash".to_owned()).unwrap();
        let debug = format!("{value:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert!(debug.contains("redacted"), "{debug}");
    }
}
