//! Refusing to turn a switch on while existing users violate it.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;

use serde::Serialize;

use super::normalize::{check_login_is_email, normalize_document, normalize_mobile};
use super::{ConfigError, ImConfig};

/// How many conflicts [`find_conflicts`] reports at most.
pub const MAX_REPORTED_CONFLICTS: usize = 10;

/// The stored fields of one existing user that the switches look at.
///
/// A borrowed view the caller fills from its store; values are given as stored (the
/// normalisation happens here). An absent or empty field never conflicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExistingUser<'a> {
    /// The user's login.
    pub login: &'a str,
    /// The user's document, if any.
    pub document: Option<&'a str>,
    /// The user's mobile number, if any.
    pub mobile: Option<&'a str>,
}

/// One reason why a switch cannot be turned on. Serialises as
/// `{"switch": "unique_mobile", "login": …, "other_login": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "switch", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Conflict {
    /// `login_is_email`: this login is not an e-mail address.
    LoginIsEmail {
        /// The offending login.
        login: String,
    },
    /// `unique_document`: two users share a document.
    UniqueDocument {
        /// The later user in the scan.
        login: String,
        /// The earlier user with the same document.
        other_login: String,
    },
    /// `unique_mobile`: two users share a mobile number.
    UniqueMobile {
        /// The later user in the scan.
        login: String,
        /// The earlier user with the same mobile number.
        other_login: String,
    },
}

impl Conflict {
    /// The API field of the switch that this conflict blocks.
    pub fn switch(&self) -> &'static str {
        match self {
            Self::LoginIsEmail { .. } => "login_is_email",
            Self::UniqueDocument { .. } => "unique_document",
            Self::UniqueMobile { .. } => "unique_mobile",
        }
    }
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LoginIsEmail { login } => {
                write!(
                    f,
                    "login_is_email: login {login:?} is not an e-mail address"
                )
            }
            Self::UniqueDocument { login, other_login } => write!(
                f,
                "unique_document: users {other_login:?} and {login:?} have the same document"
            ),
            Self::UniqueMobile { login, other_login } => write!(
                f,
                "unique_mobile: users {other_login:?} and {login:?} have the same mobile number"
            ),
        }
    }
}

/// The message of [`ConfigError::ConflictsWithExistingUsers`].
pub(super) fn describe(conflicts: &[Conflict]) -> String {
    let mut text = String::from("refused: existing users violate the switch being turned on (");
    text.push_str(if conflicts.len() >= MAX_REPORTED_CONFLICTS {
        "first conflicts"
    } else {
        "all conflicts"
    });
    text.push_str("): ");
    for (i, conflict) in conflicts.iter().enumerate() {
        if i > 0 {
            text.push_str("; ");
        }
        text.push_str(&conflict.to_string());
    }
    text
}

/// Lists the first [`MAX_REPORTED_CONFLICTS`] conflicts that the switches turned on between
/// `previous` and `next` would have with `users`. Switches already on are not re-checked, and
/// when no switch is turned on the iterator is not consumed at all.
///
/// Documents and mobile numbers are compared in normalised form; a stored value that does not
/// normalise (e.g. a document without digits) is skipped, since it cannot collide with a
/// normalised one.
pub fn find_conflicts<'a>(
    previous: &ImConfig,
    next: &ImConfig,
    users: impl IntoIterator<Item = ExistingUser<'a>>,
) -> Vec<Conflict> {
    let login_on = next.login_is_email() && !previous.login_is_email();
    let document_on = next.unique_document() && !previous.unique_document();
    let mobile_on = next.unique_mobile() && !previous.unique_mobile();
    let mut conflicts = Vec::new();
    if !(login_on || document_on || mobile_on) {
        return conflicts;
    }
    let mut documents: HashMap<String, &str> = HashMap::new();
    let mut mobiles: HashMap<String, &str> = HashMap::new();
    for user in users {
        if login_on && check_login_is_email(user.login).is_err() {
            conflicts.push(Conflict::LoginIsEmail {
                login: user.login.to_owned(),
            });
        }
        if document_on
            && let Some(other) = first_holder(
                &mut documents,
                user.document,
                user.login,
                normalize_document,
            )
        {
            conflicts.push(Conflict::UniqueDocument {
                login: user.login.to_owned(),
                other_login: other.to_owned(),
            });
        }
        if mobile_on
            && let Some(other) =
                first_holder(&mut mobiles, user.mobile, user.login, normalize_mobile)
        {
            conflicts.push(Conflict::UniqueMobile {
                login: user.login.to_owned(),
                other_login: other.to_owned(),
            });
        }
        if conflicts.len() >= MAX_REPORTED_CONFLICTS {
            conflicts.truncate(MAX_REPORTED_CONFLICTS);
            break;
        }
    }
    conflicts
}

/// Records `login` as holder of `value` and returns the earlier holder, if any.
fn first_holder<'a>(
    seen: &mut HashMap<String, &'a str>,
    value: Option<&str>,
    login: &'a str,
    normalize: impl Fn(&str) -> Result<String, ConfigError>,
) -> Option<&'a str> {
    let key = normalize(value?).ok()?;
    match seen.entry(key) {
        Entry::Occupied(entry) => Some(*entry.get()),
        Entry::Vacant(entry) => {
            entry.insert(login);
            None
        }
    }
}

/// Refuses the change from `previous` to `next` when [`find_conflicts`] finds any.
pub fn check_switches<'a>(
    previous: &ImConfig,
    next: &ImConfig,
    users: impl IntoIterator<Item = ExistingUser<'a>>,
) -> Result<(), ConfigError> {
    let conflicts = find_conflicts(previous, next, users);
    if conflicts.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::ConflictsWithExistingUsers { conflicts })
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use crate::config::ImConfigInput;

    fn config(login_is_email: bool, unique_document: bool, unique_mobile: bool) -> ImConfig {
        ImConfig::try_from(ImConfigInput {
            login_is_email,
            unique_document,
            unique_mobile,
            ..ImConfigInput::default()
        })
        .unwrap()
    }

    fn user<'a>(login: &'a str, document: &'a str, mobile: &'a str) -> ExistingUser<'a> {
        let opt = |s: &'a str| (!s.is_empty()).then_some(s);
        ExistingUser {
            login,
            document: opt(document),
            mobile: opt(mobile),
        }
    }

    #[test]
    fn duplicate_mobile_in_other_spelling_is_a_conflict() {
        let users = [
            user("ana@example.com", "", "+55 (11) 9 1234-5678"),
            user("bia@example.com", "", "5511900000000"),
            user("caio@example.com", "", "5511912345678"),
        ];
        let off = ImConfig::default();
        let err = check_switches(&off, &config(false, false, true), users).unwrap_err();
        let ConfigError::ConflictsWithExistingUsers { conflicts } = &err else {
            panic!("unexpected error {err:?}");
        };
        assert_eq!(
            conflicts,
            &[Conflict::UniqueMobile {
                login: "caio@example.com".into(),
                other_login: "ana@example.com".into()
            }]
        );
        assert_eq!(err.field(), "unique_mobile");
        assert!(err.to_string().contains("\"caio@example.com\""), "{err}");
    }

    #[test]
    fn each_switch_finds_its_conflicts() {
        let users = [
            user("ana", "123.456.789-09", ""),
            user("bia@example.com", "12345678909", ""),
            user("caio@example.com", "no digits", "+44 20 7946 0000"),
            user("dan@example.com", "also none", "442079460000"),
        ];
        let off = ImConfig::default();
        let rows = [
            (config(true, false, false), vec!["login_is_email"]),
            (config(false, true, false), vec!["unique_document"]),
            (config(false, false, true), vec!["unique_mobile"]),
            (
                config(true, true, true),
                vec!["login_is_email", "unique_document", "unique_mobile"],
            ),
        ];
        for (i, (next, expected)) in rows.into_iter().enumerate() {
            let got: Vec<_> = find_conflicts(&off, &next, users)
                .iter()
                .map(Conflict::switch)
                .collect();
            assert_eq!(got, expected, "row {i}");
        }
    }

    #[test]
    fn switches_already_on_are_not_rechecked() {
        let on = config(true, true, true);
        let users = [
            user("not-an-email", "1", "5511912345678"),
            user("x", "1", "5511912345678"),
        ];
        assert!(check_switches(&on, &on, users).is_ok());
    }

    #[test]
    fn no_switch_turned_on_does_not_scan() {
        let mut scanned = false;
        let users = std::iter::from_fn(|| {
            scanned = true;
            None
        });
        assert!(check_switches(&ImConfig::default(), &config(false, false, false), users).is_ok());
        assert!(!scanned, "the user iterator must not be consumed");
    }

    #[test]
    fn at_most_ten_conflicts_are_listed() {
        let logins: Vec<String> = (0..50).map(|i| format!("user{i}")).collect();
        let mut consumed = 0;
        let users = logins.iter().map(|login| {
            consumed += 1;
            user(login, "", "")
        });
        let found = find_conflicts(&ImConfig::default(), &config(true, false, false), users);
        assert_eq!(found.len(), MAX_REPORTED_CONFLICTS);
        assert_eq!(consumed, MAX_REPORTED_CONFLICTS, "the scan must stop early");
        let message = ConfigError::ConflictsWithExistingUsers { conflicts: found }.to_string();
        assert!(message.contains("first conflicts"), "{message}");
    }

    #[test]
    fn conflict_serialises_with_its_switch() {
        let conflict = Conflict::UniqueDocument {
            login: "b".into(),
            other_login: "a".into(),
        };
        assert_eq!(
            serde_json::to_value(&conflict).unwrap(),
            serde_json::json!({"switch": "unique_document", "login": "b", "other_login": "a"})
        );
    }
}
