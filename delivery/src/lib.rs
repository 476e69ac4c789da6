#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod email;
mod error;
mod secret;
pub mod sms;

use sae_core::template;

pub use error::{Classified, ErrorClass, Outcome};
pub use secret::SecretString;
// The SMS channel's items, also at the crate root (where they were before e-mail came).
pub use sms::{
    Attempt, AttemptRecord, Broker, BrokerConfig, BrokerLabel, BrokerMode, Budget, Budgets,
    ConfigError, Delivery, MessageError, SendError, SmsConfig, SmsConfigInput, SmsMessage,
    SmsSender, next_broker,
};
