//! Row types: `NewX` to insert, `X` as read back.

pub mod user;
