#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod email;
pub mod error;
pub mod failover;
pub mod sms;

use sae_core::template;

pub use error::SendError;
pub use failover::{BrokerLabel, BrokerMode, Outcome, next_broker};
pub use sms::{
    Attempt, AttemptRecord, Broker, BrokerConfig, Budget, Budgets, ConfigError, Delivery,
    MessageError, SmsConfig, SmsConfigInput, SmsMessage, SmsSender,
};
