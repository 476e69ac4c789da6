//! AuthSys password rules (SPEC §4.4): an ordered list of per-AuthSys policies, globally
//! enabled or not. The rule applied to a user is the first one, in list order, whose
//! `authsys_id` is among the user's AuthSys names ("first match wins"); otherwise the Global
//! rule applies.
//!
//! Generic over the policy type `P` (the password policy), so this module only decides which
//! policy applies. The JSON shape is `{enabled, rules: [{authsys_id, ...policy fields}]}`:
//! the policy's own fields sit next to `authsys_id`.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

/// Longest `authsys_id`, in characters.
pub const AUTHSYS_ID_MAX_CHARS: usize = 255;

/// Errors of the AuthSys rule list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthsysRuleError {
    /// `authsys_id` is empty or only spaces.
    #[error("authsys_id: must not be empty")]
    EmptyAuthsysId,
    /// `authsys_id` is longer than [`AUTHSYS_ID_MAX_CHARS`].
    #[error("authsys_id: {chars} characters is too long; at most 255 are allowed")]
    AuthsysIdTooLong {
        /// Its length in characters.
        chars: usize,
    },
    /// `authsys_id` contains a control character.
    #[error("authsys_id: must not contain control characters")]
    AuthsysIdControlChar,
    /// Another rule already names this AuthSys (a second one could never match).
    #[error("authsys_id: a rule for AuthSys {authsys_id:?} already exists (at position {index})")]
    DuplicateAuthsysId {
        /// The repeated id.
        authsys_id: String,
        /// 0-based position of the existing rule.
        index: usize,
    },
    /// A rule index is past the end of the list.
    #[error("index: rule {index} does not exist; the list has {len} rules")]
    IndexOutOfRange {
        /// The requested index.
        index: usize,
        /// The number of rules.
        len: usize,
    },
    /// The first rule cannot move up.
    #[error("index: rule {index} is already the first")]
    AlreadyFirst {
        /// The requested index.
        index: usize,
    },
    /// The last rule cannot move down.
    #[error("index: rule {index} is already the last")]
    AlreadyLast {
        /// The requested index.
        index: usize,
    },
}

/// A validated AuthSys name as used in rules: not empty, at most 255 characters, no control
/// characters. Compared exactly (case-sensitive) with the user's AuthSys names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AuthsysId(String);

impl AuthsysId {
    /// Checks the name.
    pub fn new(id: impl Into<String>) -> Result<Self, AuthsysRuleError> {
        let id = id.into();
        if id.trim().is_empty() {
            return Err(AuthsysRuleError::EmptyAuthsysId);
        }
        let chars = id.chars().count();
        if chars > AUTHSYS_ID_MAX_CHARS {
            return Err(AuthsysRuleError::AuthsysIdTooLong { chars });
        }
        if id.chars().any(char::is_control) {
            return Err(AuthsysRuleError::AuthsysIdControlChar);
        }
        Ok(Self(id))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AuthsysId {
    type Error = AuthsysRuleError;

    fn try_from(id: String) -> Result<Self, Self::Error> {
        Self::new(id)
    }
}

impl From<AuthsysId> for String {
    fn from(id: AuthsysId) -> Self {
        id.0
    }
}

/// One rule: the policy applied to users of one AuthSys.
///
/// Serialises as the policy's fields plus `authsys_id`. Deserialising requires a
/// self-describing format (JSON); unknown fields are refused when `P` refuses them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthsysRule<P> {
    authsys_id: AuthsysId,
    #[serde(flatten)]
    policy: P,
}

impl<P> AuthsysRule<P> {
    /// A rule applying `policy` to users of `authsys_id`.
    pub fn new(authsys_id: AuthsysId, policy: P) -> Self {
        Self { authsys_id, policy }
    }

    /// The AuthSys this rule applies to.
    pub fn authsys_id(&self) -> &AuthsysId {
        &self.authsys_id
    }

    /// The policy of this rule.
    pub fn policy(&self) -> &P {
        &self.policy
    }
}

impl<'de, P: serde::de::DeserializeOwned> Deserialize<'de> for AuthsysRule<P> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // `#[serde(flatten)]` would silently drop unknown fields; splitting the object by hand
        // lets `P`'s own `deny_unknown_fields` see every remaining member.
        let mut object = serde_json::Map::<String, serde_json::Value>::deserialize(deserializer)?;
        let id = match object.remove("authsys_id") {
            Some(serde_json::Value::String(id)) => id,
            Some(_) => return Err(D::Error::custom("authsys_id: must be a string")),
            None => return Err(D::Error::missing_field("authsys_id")),
        };
        let authsys_id = AuthsysId::new(id).map_err(D::Error::custom)?;
        let policy = P::deserialize(serde_json::Value::Object(object)).map_err(D::Error::custom)?;
        Ok(Self { authsys_id, policy })
    }
}

/// Which rule [`AuthsysRules::effective`] chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum RuleSource<'a> {
    /// The Global rule (the list is disabled, or no rule matched).
    Global,
    /// An AuthSys rule.
    Authsys {
        /// 0-based position in the list.
        index: usize,
        /// The AuthSys it names.
        authsys_id: &'a str,
    },
}

/// The ordered AuthSys rule list and its global switch. `Default` is disabled and empty.
///
/// Invariant: no two rules name the same AuthSys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthsysRules<P> {
    enabled: bool,
    rules: Vec<AuthsysRule<P>>,
}

impl<P> Default for AuthsysRules<P> {
    fn default() -> Self {
        Self {
            enabled: false,
            rules: Vec::new(),
        }
    }
}

/// The body of `PUT /v1/policies/authsys` before the duplicate check.
#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    bound(deserialize = "P: serde::de::DeserializeOwned")
)]
struct AuthsysRulesInput<P> {
    enabled: bool,
    #[serde(default = "Vec::new")]
    rules: Vec<AuthsysRule<P>>,
}

impl<'de, P: serde::de::DeserializeOwned> Deserialize<'de> for AuthsysRules<P> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let input = AuthsysRulesInput::<P>::deserialize(deserializer)?;
        Self::new(input.enabled, input.rules).map_err(D::Error::custom)
    }
}

impl<P> AuthsysRules<P> {
    /// A list from its parts; refuses two rules with the same `authsys_id`.
    pub fn new(enabled: bool, rules: Vec<AuthsysRule<P>>) -> Result<Self, AuthsysRuleError> {
        for (i, rule) in rules.iter().enumerate() {
            if let Some(index) = rules[..i]
                .iter()
                .position(|earlier| earlier.authsys_id == rule.authsys_id)
            {
                return Err(AuthsysRuleError::DuplicateAuthsysId {
                    authsys_id: rule.authsys_id.0.clone(),
                    index,
                });
            }
        }
        Ok(Self { enabled, rules })
    }

    /// Whether the AuthSys rules apply at all.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Switches the AuthSys rules on or off (the list is kept either way).
    pub fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    /// The rules in order.
    pub fn rules(&self) -> &[AuthsysRule<P>] {
        &self.rules
    }

    /// The position of the rule for `authsys_id`, if any.
    pub fn position(&self, authsys_id: &str) -> Option<usize> {
        self.rules
            .iter()
            .position(|rule| rule.authsys_id.as_str() == authsys_id)
    }

    /// The policy for a user who belongs to the AuthSys names `user_authsys`: the first rule in
    /// list order naming one of them, or `global` when the list is disabled or nothing matches.
    pub fn effective<'a, S: AsRef<str>>(
        &'a self,
        global: &'a P,
        user_authsys: &[S],
    ) -> (&'a P, RuleSource<'a>) {
        if !self.enabled {
            return (global, RuleSource::Global);
        }
        self.rules
            .iter()
            .enumerate()
            .find(|(_, rule)| {
                user_authsys
                    .iter()
                    .any(|name| name.as_ref() == rule.authsys_id.as_str())
            })
            .map_or((global, RuleSource::Global), |(index, rule)| {
                (
                    &rule.policy,
                    RuleSource::Authsys {
                        index,
                        authsys_id: rule.authsys_id.as_str(),
                    },
                )
            })
    }

    /// Appends a rule at the end (lowest priority) and returns its index.
    pub fn add(&mut self, rule: AuthsysRule<P>) -> Result<usize, AuthsysRuleError> {
        self.refuse_duplicate(&rule.authsys_id, None)?;
        self.rules.push(rule);
        Ok(self.rules.len() - 1)
    }

    /// Replaces the rule at `index`, keeping its place in the order.
    pub fn edit(&mut self, index: usize, rule: AuthsysRule<P>) -> Result<(), AuthsysRuleError> {
        self.check_index(index)?;
        self.refuse_duplicate(&rule.authsys_id, Some(index))?;
        self.rules[index] = rule;
        Ok(())
    }

    /// Removes and returns the rule at `index`.
    pub fn delete(&mut self, index: usize) -> Result<AuthsysRule<P>, AuthsysRuleError> {
        self.check_index(index)?;
        Ok(self.rules.remove(index))
    }

    /// Swaps the rule at `index` with the one before it (raises its priority).
    pub fn move_up(&mut self, index: usize) -> Result<(), AuthsysRuleError> {
        self.check_index(index)?;
        if index == 0 {
            return Err(AuthsysRuleError::AlreadyFirst { index });
        }
        self.rules.swap(index - 1, index);
        Ok(())
    }

    /// Swaps the rule at `index` with the one after it (lowers its priority).
    pub fn move_down(&mut self, index: usize) -> Result<(), AuthsysRuleError> {
        self.check_index(index)?;
        if index + 1 == self.rules.len() {
            return Err(AuthsysRuleError::AlreadyLast { index });
        }
        self.rules.swap(index, index + 1);
        Ok(())
    }

    fn check_index(&self, index: usize) -> Result<(), AuthsysRuleError> {
        if index < self.rules.len() {
            Ok(())
        } else {
            Err(AuthsysRuleError::IndexOutOfRange {
                index,
                len: self.rules.len(),
            })
        }
    }

    fn refuse_duplicate(
        &self,
        authsys_id: &AuthsysId,
        except: Option<usize>,
    ) -> Result<(), AuthsysRuleError> {
        match self.position(authsys_id.as_str()) {
            Some(index) if Some(index) != except => Err(AuthsysRuleError::DuplicateAuthsysId {
                authsys_id: authsys_id.0.clone(),
                index,
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;

    /// A stand-in for the password policy.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Policy {
        differ: u8,
    }

    fn rule(id: &str, differ: u8) -> AuthsysRule<Policy> {
        AuthsysRule::new(AuthsysId::new(id).unwrap(), Policy { differ })
    }

    fn list(ids: &[&str]) -> AuthsysRules<Policy> {
        let rules = ids.iter().zip(1..).map(|(id, n)| rule(id, n)).collect();
        AuthsysRules::new(true, rules).unwrap()
    }

    const GLOBAL: Policy = Policy { differ: 0 };

    #[test]
    fn first_match_wins_in_list_order() {
        let rules = list(&["vpn", "erp", "mail"]);
        // (user's AuthSys names in the user's own order, expected differ, expected source)
        let rows: [(&[&str], u8, RuleSource<'_>); 6] = [
            (
                &["mail", "erp"],
                2,
                RuleSource::Authsys {
                    index: 1,
                    authsys_id: "erp",
                },
            ),
            (
                &["erp", "vpn", "mail"],
                1,
                RuleSource::Authsys {
                    index: 0,
                    authsys_id: "vpn",
                },
            ),
            (
                &["mail"],
                3,
                RuleSource::Authsys {
                    index: 2,
                    authsys_id: "mail",
                },
            ),
            (
                &["crm", "mail"],
                3,
                RuleSource::Authsys {
                    index: 2,
                    authsys_id: "mail",
                },
            ),
            (&["crm"], 0, RuleSource::Global),
            (&[], 0, RuleSource::Global),
        ];
        for (user, differ, source) in rows {
            let (policy, got) = rules.effective(&GLOBAL, user);
            assert_eq!((policy.differ, got), (differ, source), "row {user:?}");
        }
    }

    #[test]
    fn reordering_changes_the_winner() {
        let mut rules = list(&["vpn", "erp"]);
        let user = ["erp", "vpn"];
        assert_eq!(rules.effective(&GLOBAL, &user).0.differ, 1);
        rules.move_down(0).unwrap();
        assert_eq!(rules.effective(&GLOBAL, &user).0.differ, 2);
        rules.move_up(1).unwrap();
        assert_eq!(rules.effective(&GLOBAL, &user).0.differ, 1);
    }

    #[test]
    fn disabled_list_applies_global() {
        let mut rules = list(&["vpn"]);
        rules.set_enabled(false);
        assert_eq!(
            rules.effective(&GLOBAL, &["vpn"]),
            (&GLOBAL, RuleSource::Global)
        );
    }

    #[test]
    fn matching_is_exact() {
        let rules = list(&["VPN"]);
        assert_eq!(
            rules.effective(&GLOBAL, &["vpn", " VPN"]).1,
            RuleSource::Global
        );
    }

    #[test]
    fn edit_operations_and_their_errors() {
        let mut rules = list(&["a", "b", "c"]);
        assert_eq!(rules.add(rule("d", 9)), Ok(3));
        assert_eq!(
            rules.add(rule("b", 9)),
            Err(AuthsysRuleError::DuplicateAuthsysId {
                authsys_id: "b".into(),
                index: 1
            })
        );
        assert_eq!(
            rules.edit(0, rule("c", 9)),
            Err(AuthsysRuleError::DuplicateAuthsysId {
                authsys_id: "c".into(),
                index: 2
            })
        );
        rules.edit(2, rule("c", 7)).unwrap();
        assert_eq!(rules.rules()[2].policy().differ, 7);
        rules.edit(2, rule("z", 7)).unwrap();
        assert_eq!(rules.position("z"), Some(2));
        assert_eq!(
            rules.move_up(0),
            Err(AuthsysRuleError::AlreadyFirst { index: 0 })
        );
        assert_eq!(
            rules.move_down(3),
            Err(AuthsysRuleError::AlreadyLast { index: 3 })
        );
        let out_of_range = Err(AuthsysRuleError::IndexOutOfRange { index: 4, len: 4 });
        assert_eq!(rules.move_up(4), out_of_range);
        assert_eq!(rules.move_down(4), out_of_range);
        assert_eq!(rules.edit(4, rule("q", 1)), out_of_range);
        assert_eq!(rules.delete(4).map(|_| ()), out_of_range);
        assert_eq!(rules.delete(0).unwrap().authsys_id().as_str(), "a");
        let order: Vec<_> = rules
            .rules()
            .iter()
            .map(|r| r.authsys_id().as_str())
            .collect();
        assert_eq!(order, ["b", "z", "d"]);
    }

    #[test]
    fn authsys_id_is_validated() {
        let rows = [
            ("", Some(AuthsysRuleError::EmptyAuthsysId)),
            ("  ", Some(AuthsysRuleError::EmptyAuthsysId)),
            ("a\nb", Some(AuthsysRuleError::AuthsysIdControlChar)),
            ("vpn", None),
        ];
        for (id, expected) in rows {
            assert_eq!(AuthsysId::new(id).err(), expected, "row {id:?}");
        }
        let long = "x".repeat(256);
        assert_eq!(
            AuthsysId::new(long).err(),
            Some(AuthsysRuleError::AuthsysIdTooLong { chars: 256 })
        );
    }

    #[test]
    fn json_shape_round_trips_and_refuses_unknown_fields() {
        let body = serde_json::json!({
            "enabled": true,
            "rules": [{"authsys_id": "vpn", "differ": 3}, {"authsys_id": "erp", "differ": 1}]
        });
        let rules: AuthsysRules<Policy> = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(rules.rules().len(), 2);
        assert_eq!(serde_json::to_value(&rules).unwrap(), body);

        let rows = [
            (
                serde_json::json!({"enabled": true, "rules": [{"authsys_id": "vpn", "differ": 3, "x": 1}]}),
                "x",
            ),
            (
                serde_json::json!({"enabled": true, "rules": [{"differ": 3}]}),
                "authsys_id",
            ),
            (
                serde_json::json!({"enabled": true, "rules": [{"authsys_id": "", "differ": 3}]}),
                "authsys_id",
            ),
            (serde_json::json!({"enabled": true, "extra": 1}), "extra"),
            (
                serde_json::json!({"enabled": true, "rules": [{"authsys_id": "a", "differ": 1}, {"authsys_id": "a", "differ": 2}]}),
                "already exists",
            ),
        ];
        for (i, (body, needle)) in rows.into_iter().enumerate() {
            let err = serde_json::from_value::<AuthsysRules<Policy>>(body).unwrap_err();
            assert!(err.to_string().contains(needle), "row {i}: {err}");
        }
    }

    #[test]
    fn rule_source_serialises() {
        let source = RuleSource::Authsys {
            index: 1,
            authsys_id: "erp",
        };
        assert_eq!(
            serde_json::to_value(source).unwrap(),
            serde_json::json!({"rule": "authsys", "index": 1, "authsys_id": "erp"})
        );
        assert_eq!(
            serde_json::to_value(RuleSource::Global).unwrap(),
            serde_json::json!({"rule": "global"})
        );
    }
}
