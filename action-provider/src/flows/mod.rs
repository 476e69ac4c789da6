//! Authentication flows: each reads what it needs, lets `sae-core` decide, then writes the
//! outcome in one short transaction.

pub mod hash;
pub mod lockout;
pub mod otp;
pub mod password;
pub mod request;
