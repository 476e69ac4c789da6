//! Row types: `NewX` to insert, `X` as read back.

pub mod token;
pub mod user;
