//! Password policy: hashing, strength rules and history.

pub mod hash;
pub mod history;
pub mod strength;
