#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod acl;
pub mod codec;
pub mod config;
pub mod import;
pub mod lockout;
pub mod otp;
pub mod password;
pub mod rules;
pub mod secret;
pub mod template;
