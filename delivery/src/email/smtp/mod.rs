//! SMTP: accounts, the mail, one send through lettre, and the classification of failures.

mod account;
mod error;
mod mail;
mod transport;

pub use account::{
    AccountError, DEFAULT_SMTP_TIMEOUT, Security, SmtpAccount, SmtpAccountSettings, SmtpAuth,
    Warning,
};
pub use error::{ErrorClass, SendError};
pub use mail::{MailError, MailKind, OutgoingMail};
pub use transport::{Accepted, send_mail};
