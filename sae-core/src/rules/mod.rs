//! AuthSys password rules and MFA "hash always present" rules.
//!
//! - [`authsys`]: which password policy applies to a user (first matching AuthSys rule, else
//!   Global).
//! - [`mfa`]: the `authenticationHash` check over the user's AuthSys data.
//! - [`user_authsys`]: a user's AuthSys → AuthClaim → AuthValue data.
//! - [`position`]: selecting a JSON key or CSV column of an AuthValue content.

pub mod authsys;
pub mod mfa;
pub mod position;
pub mod user_authsys;
