//! Password policy: hashing, strength rules and history (SPEC §4.4, seed 001 §2.4.2).
//!
//! A [`PasswordPolicy`] (the Global rule or an AuthSys rule) is parsed once from its JSON
//! form ([`PasswordPolicyInput`]) and then used for every operation:
//!
//! * setting a password: [`PasswordPolicy::test`] (every unmet strength requirement),
//!   [`PasswordHistory::find_reuse`] with [`PasswordPolicy::differ`], then
//!   [`HashPolicy::hash`] and [`PasswordHistory::record`];
//! * logging in: [`StoredHash::parse`] + [`StoredHash::verify`] (which says whether to
//!   rehash with the current policy), and [`ResetEvery::is_expired`] for `password_expired`;
//! * importing users: [`StoredHash::parse`] accepts PHC strings and the legacy salted
//!   sha256/sha512 format of [`legacy`].

pub mod hash;
pub mod history;
pub mod strength;

pub mod expiry;
pub mod hash_params;
pub mod legacy;
pub mod pattern;
pub mod policy;

pub use expiry::{ExpiryError, ResetEvery};
pub use hash::{HashAlgorithm, HashError, StoredHash, Verification};
pub use hash_params::{Argon2Params, HashParamsInput, HashPolicy, Pbkdf2Rounds};
pub use history::{Differ, HistoryError, PasswordHistory, Reused};
pub use policy::{PasswordPolicy, PasswordPolicyInput, PolicyError};
pub use strength::{PatternInput, Requirement, Strength, StrengthError, StrengthLevel, Unmet};
