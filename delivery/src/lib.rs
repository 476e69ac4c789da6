//! SAE delivery: sends SMS through brokers and e-mail through SMTP.
//!
//! Empty until the delivery issues land; nothing here claims to send anything yet.
#![forbid(unsafe_code)]

pub mod email;
