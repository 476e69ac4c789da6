//! [`OutgoingMail`]: one plain-text mail to one recipient, and its MIME rendering.

use std::fmt;

use lettre::address::Envelope;
use lettre::message::Mailbox;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::{Address, Message};

use super::account::SmtpAccount;
use super::error::SendError;
use super::tracking::Tracking;

/// Longest subject accepted, in characters.
const MAX_SUBJECT_CHARS: usize = 998;

/// What a mail is for; it decides which optional headers it gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailKind {
    /// Carries a one-time code: never a read receipt request (a receipt would tell a
    /// third party when the code was read, and the code must not linger).
    Code,
    /// A notification: asks for a read receipt when the account has a read-receipt address.
    Notification,
    /// The "test configuration" mail: no read receipt.
    Test,
}

/// One plain-text mail to one recipient. `Debug` hides the body (it may hold a code).
#[derive(Clone)]
pub struct OutgoingMail {
    to: Address,
    subject: String,
    body: String,
    kind: MailKind,
    tracking: Option<Tracking>,
}

/// A mail rendered for one account: the MIME message with its envelope, and the
/// Message-ID it carries when it is tracked.
pub(crate) struct Rendered {
    pub(crate) message: Message,
    pub(crate) message_id: Option<String>,
}

impl OutgoingMail {
    /// A mail to `to` (a bare address, `user@example.com`). The subject must be a single
    /// line of at most 998 characters.
    pub fn new(
        to: &str,
        subject: impl Into<String>,
        body: impl Into<String>,
        kind: MailKind,
    ) -> Result<Self, MailError> {
        let to = to
            .trim()
            .parse::<Address>()
            .map_err(|e| MailError::InvalidRecipient {
                reason: e.to_string(),
            })?;
        let subject = subject.into();
        if subject.chars().count() > MAX_SUBJECT_CHARS || subject.contains(['\r', '\n']) {
            return Err(MailError::InvalidSubject);
        }
        Ok(Self {
            to,
            subject,
            body: body.into(),
            kind,
            tracking: None,
        })
    }

    /// The same mail, tracked: every send gets a new Message-ID naming the request and
    /// attempt, and a VERP envelope sender when the account's return path has a `+` tag
    /// (see [`Tracking`]). Bounces are traced back through either.
    #[must_use]
    pub fn with_tracking(mut self, tracking: Tracking) -> Self {
        self.tracking = Some(tracking);
        self
    }

    /// The request and attempt the mail belongs to, if tracked.
    pub fn tracking(&self) -> Option<&Tracking> {
        self.tracking.as_ref()
    }

    /// The "test configuration" mail for `account_name`, to `to`.
    pub fn test(to: &str, account_name: &str) -> Result<Self, MailError> {
        Self::new(
            to,
            format!("SAE test mail ({account_name})"),
            format!(
                "This is a test mail sent by SAE through the SMTP account \"{account_name}\".\r\n\
                 If you can read it, the account's configuration works.\r\n"
            ),
            MailKind::Test,
        )
    }

    /// The recipient.
    pub fn to(&self) -> &Address {
        &self.to
    }

    /// The subject.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The plain-text body.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// What the mail is for.
    pub fn kind(&self) -> MailKind {
        self.kind
    }

    /// The MIME message and envelope sent through `account`. A tracked mail draws its
    /// Message-ID's random part from the OS generator.
    pub(crate) fn render(&self, account: &SmtpAccount) -> Result<Rendered, SendError> {
        let mut builder = Message::builder()
            .from(account.sender().clone())
            .to(Mailbox::new(None, self.to.clone()))
            .subject(self.subject.as_str());
        let mut envelope_sender = account.envelope_sender().clone();
        let mut message_id = None;
        if let Some(tracking) = &self.tracking {
            let id = tracking
                .message_id(account.sender().email.domain(), &mut rand::rngs::SysRng)
                .map_err(|e| SendError::Message {
                    reason: e.to_string(),
                })?;
            builder = builder.message_id(Some(id.clone()));
            message_id = Some(id);
            if let Some(verp) = tracking.verp_address(&envelope_sender) {
                envelope_sender = verp;
            }
        }
        if let Some(reply_to) = account.reply_to() {
            builder = builder.reply_to(reply_to.clone());
        }
        if self.kind == MailKind::Notification
            && let Some(receipts) = account.read_receipt_to()
        {
            builder = builder.raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Disposition-Notification-To"),
                format!("<{receipts}>"),
            ));
        }
        let envelope =
            Envelope::new(Some(envelope_sender), vec![self.to.clone()]).map_err(|e| {
                SendError::Message {
                    reason: e.to_string(),
                }
            })?;
        builder
            .envelope(envelope)
            .header(ContentType::TEXT_PLAIN)
            .body(match account.footer() {
                // RFC 3676 §4.3 signature separator: mail readers show what follows as a
                // signature.
                Some(footer) => format!("{}\n\n-- \n{footer}", self.body.trim_end()),
                None => self.body.clone(),
            })
            .map(|message| Rendered {
                message,
                message_id,
            })
            .map_err(|e| SendError::Message {
                reason: e.to_string(),
            })
    }
}

impl fmt::Debug for OutgoingMail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingMail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .field("kind", &self.kind)
            .field("tracking", &self.tracking)
            .finish()
    }
}

/// Why a mail could not be built. Each message names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// The recipient is not a valid address.
    #[error("to is not a valid mail address: {reason}")]
    InvalidRecipient {
        /// The parser's reason.
        reason: String,
    },
    /// The subject has a line break or is longer than 998 characters.
    #[error("subject must be one line of at most 998 characters")]
    InvalidSubject,
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;
    use crate::email::smtp::SmtpAccountSettings;

    fn account(read_receipt_to: Option<&str>) -> SmtpAccount {
        let mut s = SmtpAccountSettings::new("main", "smtp.example.com", "SAE <sae@example.com>");
        s.read_receipt_to = read_receipt_to.map(str::to_owned);
        s.reply_to = Some("help@example.com".into());
        s.return_path = Some("bounces@example.com".into());
        SmtpAccount::new(s).expect("valid")
    }

    fn rendered(mail: &OutgoingMail, account: &SmtpAccount) -> String {
        let rendered = mail.render(account).expect("renders");
        String::from_utf8(rendered.message.formatted()).expect("utf-8")
    }

    #[test]
    fn read_receipt_header_only_on_notifications() {
        let rows = [
            (
                "code with receipts configured",
                MailKind::Code,
                Some("r@example.com"),
                false,
            ),
            (
                "test with receipts configured",
                MailKind::Test,
                Some("r@example.com"),
                false,
            ),
            (
                "notification with receipts",
                MailKind::Notification,
                Some("r@example.com"),
                true,
            ),
            (
                "notification without receipts",
                MailKind::Notification,
                None,
                false,
            ),
        ];
        for (name, kind, receipts, expected) in rows {
            let mail = OutgoingMail::new("user@example.com", "Hello", "Your code is 123456", kind)
                .expect("valid");
            let text = rendered(&mail, &account(receipts));
            assert_eq!(
                text.contains("Disposition-Notification-To: <r@example.com>"),
                expected,
                "row {name}: {text}"
            );
        }
    }

    #[test]
    fn the_account_footer_follows_a_signature_separator() {
        let mail = OutgoingMail::new(
            "user@example.com",
            "Hi",
            "Your code is 123456\n",
            MailKind::Code,
        )
        .expect("valid");
        let plain = rendered(&mail, &account(None));
        assert!(
            plain.ends_with("\r\n\r\nYour code is 123456\r\n"),
            "{plain}"
        );
        let mut s = SmtpAccountSettings::new("main", "smtp.example.com", "sae@example.com");
        s.footer = Some("Example Corp\nDo not reply".into());
        let with_footer = rendered(&mail, &SmtpAccount::new(s).expect("valid"));
        assert!(
            with_footer.ends_with(
                "\r\n\r\nYour code is 123456\r\n\r\n-- \r\nExample Corp\r\nDo not reply"
            ),
            "{with_footer}"
        );
    }

    #[test]
    fn envelope_and_headers() {
        let account = account(None);
        let mail =
            OutgoingMail::new("user@example.com", "Hi", "body", MailKind::Code).expect("valid");
        let message = mail.render(&account).expect("renders").message;
        assert_eq!(
            message
                .envelope()
                .from()
                .map(ToString::to_string)
                .as_deref(),
            Some("bounces@example.com")
        );
        let text = String::from_utf8(message.formatted()).expect("utf-8");
        assert!(text.contains("From: SAE <sae@example.com>"), "{text}");
        assert!(text.contains("Reply-To: help@example.com"), "{text}");
        assert!(text.contains("To: user@example.com"), "{text}");
    }

    #[test]
    fn tracked_mails_carry_the_request_in_message_id_and_verp() {
        use crate::email::smtp::tracking::{parse_message_id, parse_verp_address};
        let tracking = Tracking::new("0123abcd", 2).expect("valid");
        let mail = OutgoingMail::new("user@example.org", "Hi", "body", MailKind::Code)
            .expect("valid")
            .with_tracking(tracking.clone());
        let mut s = SmtpAccountSettings::new("main", "smtp.example.com", "SAE <sae@example.com>");
        s.return_path = Some("bounces+sae@example.net".into());
        let rendered = mail
            .render(&SmtpAccount::new(s).expect("valid"))
            .expect("renders");
        let id = rendered
            .message_id
            .clone()
            .expect("a tracked mail has an id");
        assert_eq!(parse_message_id(&id), Some(tracking.clone()));
        assert!(id.ends_with("@example.com>"), "sender's domain: {id}");
        let text = String::from_utf8(rendered.message.formatted()).expect("utf-8");
        assert!(text.contains(&format!("Message-ID: {id}")), "{text}");
        let from = rendered.message.envelope().from().expect("envelope sender");
        assert_eq!(from.to_string(), "bounces+sae=0123abcd=2@example.net");
        assert_eq!(parse_verp_address(from.as_ref()), Some(tracking));
        let second = mail.render(&account(None)).expect("renders");
        assert_ne!(second.message_id, Some(id), "a new id per send");
        assert_eq!(
            second
                .message
                .envelope()
                .from()
                .map(ToString::to_string)
                .as_deref(),
            Some("bounces@example.com"),
            "no + tag, no VERP"
        );
    }

    #[test]
    fn invalid_mails_are_refused() {
        let rows: &[(&str, &str, &str, &str)] = &[
            ("bad recipient", "nobody", "s", "to"),
            (
                "subject with newline",
                "a@example.com",
                "s\r\nBcc: x@y.z",
                "subject",
            ),
            (
                "subject too long",
                "a@example.com",
                &"x".repeat(999),
                "subject",
            ),
        ];
        for (name, to, subject, field) in rows {
            let err = OutgoingMail::new(to, *subject, "b", MailKind::Code).expect_err(name);
            assert!(err.to_string().starts_with(field), "row {name}: {err}");
        }
    }

    #[test]
    fn debug_hides_the_body() {
        let mail =
            OutgoingMail::new("a@example.com", "s", "code 987654", MailKind::Code).expect("valid");
        assert!(!format!("{mail:?}").contains("987654"));
    }
}
