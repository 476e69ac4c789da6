//! SMTP: accounts, the mail, one send through lettre, and the classification of failures.

pub(crate) mod account;
mod error;
mod mail;
pub mod tracking;
mod transport;

pub use account::{
    AccountError, DEFAULT_SMTP_TIMEOUT, Security, SmtpAccount, SmtpAccountSettings, SmtpAuth,
    Warning,
};
pub use error::SendError;
pub use mail::{MailError, MailKind, OutgoingMail};
pub use tracking::{Tracking, TrackingError};
pub use transport::{Accepted, authenticate, send_mail};
