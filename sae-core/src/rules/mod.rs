//! AuthSys password rules and MFA "hash always present" rules.

pub mod authsys;
pub mod mfa;
