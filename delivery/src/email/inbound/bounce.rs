//! Reading bounces: what a raw inbound message says about an outbound mail.
//!
//! [`scan`] parses the message with `mail-parser` and reads, in this order:
//! 1. RFC 3464 delivery status notifications: every `message/delivery-status` (or
//!    `message/global-delivery-status`) part, wherever it sits (`multipart/report`, or the
//!    `multipart/mixed` some gateways use); each per-recipient group gives a
//!    [`FailedRecipient`] with its `Action`, `Status` and `Diagnostic-Code`.
//! 2. Otherwise, when the message looks like a bounce (null return path, a mailer-daemon or
//!    postmaster sender, a bounce subject, Exim's `X-Failed-Recipients`), the non-standard
//!    forms: the human-readable report of Postfix, Exim, qmail, sendmail, Exchange, Gmail,
//!    Yahoo and others (`<addr>: reason` lines, address lists after "the following
//!    address(es) failed", "did not reach the following recipient(s)", …).
//! 3. Otherwise an auto-reply (RFC 3834 `Auto-Submitted: auto-replied`, `X-Autoreply`,
//!    "Automatic reply:" / "Out of Office" subjects) or not a bounce.
//!
//! In every case it also looks for the original Message-ID (an attached `message/rfc822`,
//! a `text/rfc822-headers` part, the copy of the headers quoted after the report, else the
//! bounce's own `In-Reply-To` / `References`) and for a VERP tag (`local+TAG@domain` in
//! `X-Original-To`, `Delivered-To`, `Envelope-To` or `To`), and decodes SAE's tracking
//! (request and attempt, see [`Tracking`]) from either.

mod dsn;
mod origin;
mod text;

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use serde::Serialize;

use crate::email::smtp::Tracking;

/// Longest diagnostic kept per recipient, in characters.
const MAX_DIAGNOSTIC_CHARS: usize = 500;

/// What a message is, as far as outbound mail is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BounceKind {
    /// Delivery failed for good for at least one recipient (`Action: failed`, usually a
    /// 5.x.x status; also a 4.x.x status the reporting server gave up on).
    Bounced,
    /// Delivery is delayed (`Action: delayed`, 4.x.x) and still being retried.
    Delayed,
    /// An automatic reply (out of office, vacation): the mail was delivered.
    AutoReply,
    /// Anything else (a person's reply, a read receipt, spam).
    NotABounce,
}

/// What happened to one recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientAction {
    /// Delivery failed for good.
    Failed,
    /// Delivery is delayed and still being retried.
    Delayed,
}

/// Where the recipients of a report were read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    /// An RFC 3464 `message/delivery-status` part.
    Rfc3464,
    /// The human-readable text of a non-standard bounce (or Exim's `X-Failed-Recipients`).
    NonStandard,
}

/// One recipient a bounce reports on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailedRecipient {
    /// The address as the report gives it (`Final-Recipient`, else `Original-Recipient`,
    /// without the `rfc822;` type and angle brackets).
    pub address: String,
    /// Failed or delayed.
    pub action: RecipientAction,
    /// The enhanced status code (RFC 3463), e.g. `5.1.1`, when the report gives one.
    pub status: Option<String>,
    /// The remote server's answer or the reporting server's explanation (unfolded, at most
    /// 500 characters).
    pub diagnostic: Option<String>,
}

/// Everything [`scan`] read from one message. Serialises to the JSON line printed by
/// `sae mail scan-bounce`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BounceReport {
    /// What the message is.
    pub kind: BounceKind,
    /// Where the recipients were read from (`None` when there are none).
    pub format: Option<ReportFormat>,
    /// The recipients it reports on, in report order, each address once.
    pub failed_recipients: Vec<FailedRecipient>,
    /// The Message-ID of the mail it is about, with angle brackets.
    pub original_message_id: Option<String>,
    /// The `+` tag of the address the message was delivered to (VERP), if any.
    pub verp_tag: Option<String>,
    /// SAE's request and attempt, decoded from the original Message-ID or the VERP tag.
    pub tracking: Option<Tracking>,
}

/// Reads `raw` (a whole RFC 5322 message as fetched from the mailbox). Never fails: a
/// message that does not parse is [`BounceKind::NotABounce`] with nothing found.
pub fn scan(raw: &[u8]) -> BounceReport {
    let Some(message) = parse_guarded(|| MessageParser::default().parse(raw)) else {
        return BounceReport {
            kind: BounceKind::NotABounce,
            format: None,
            failed_recipients: Vec::new(),
            original_message_id: None,
            verp_tag: None,
            tracking: None,
        };
    };
    let (format, failed_recipients) = recipients(&message);
    let kind = if let Some(first) = failed_recipients.first() {
        if failed_recipients
            .iter()
            .any(|r| r.action == RecipientAction::Failed)
        {
            BounceKind::Bounced
        } else {
            debug_assert_eq!(first.action, RecipientAction::Delayed);
            BounceKind::Delayed
        }
    } else if origin::looks_like_bounce(&message) {
        if text::says_delayed(&message) {
            BounceKind::Delayed
        } else {
            BounceKind::Bounced
        }
    } else if origin::is_auto_reply(&message) {
        BounceKind::AutoReply
    } else {
        BounceKind::NotABounce
    };
    let original_message_id = origin::original_message_id(&message);
    let verp_tag = origin::verp_tag(&message);
    let tracking = origin::tracking(raw, original_message_id.as_deref(), verp_tag.as_deref());
    BounceReport {
        kind,
        format: (!failed_recipients.is_empty()).then_some(format),
        failed_recipients,
        original_message_id,
        verp_tag,
        tracking,
    }
}

/// Runs a mail-parser call; a panic inside it is `None`.
///
/// mail-parser 0.11 checks some internal states with `debug_assert!` that crafted MIME
/// reaches (found by `fuzz/bounce_scan`: "Invalid part ID, could not find multipart");
/// release builds go on, debug builds (tests, development servers) would panic. A bounce
/// is outside input, so the panic is contained here rather than taking down the caller.
fn parse_guarded<'x>(
    parse: impl FnOnce() -> Option<Message<'x>> + std::panic::UnwindSafe,
) -> Option<Message<'x>> {
    std::panic::catch_unwind(parse).ok().flatten()
}

/// The JSON line `sae mail scan-bounce` prints for the message read from `file`: the
/// [`BounceReport`] fields with `"file"` first.
pub fn scan_json_line(file: &str, raw: &[u8]) -> String {
    #[derive(Serialize)]
    struct Line<'a> {
        file: &'a str,
        #[serde(flatten)]
        report: BounceReport,
    }
    #[expect(
        clippy::expect_used,
        reason = "strings, numbers, options and lists always serialise to JSON"
    )]
    serde_json::to_string(&Line {
        file,
        report: scan(raw),
    })
    .expect("serialisable")
}

/// The recipients, from the DSN parts if they name any, else from the text of a message
/// that looks like a bounce.
fn recipients(message: &Message<'_>) -> (ReportFormat, Vec<FailedRecipient>) {
    let from_dsn = dsn::recipients(message);
    if !from_dsn.is_empty() {
        return (ReportFormat::Rfc3464, from_dsn);
    }
    if origin::looks_like_bounce(message) {
        let delayed = text::says_delayed(message);
        return (
            ReportFormat::NonStandard,
            text::recipients(message, delayed),
        );
    }
    (ReportFormat::NonStandard, Vec::new())
}

/// The parts of `message` that are its own (not inside an attached message), in order.
fn own_parts<'a, 'x>(message: &'a Message<'x>) -> Vec<&'a mail_parser::MessagePart<'x>> {
    let mut out = Vec::new();
    collect_parts(message, 0, &mut out);
    out
}

fn collect_parts<'a, 'x>(
    message: &'a Message<'x>,
    id: u32,
    out: &mut Vec<&'a mail_parser::MessagePart<'x>>,
) {
    let Some(part) = message.part(id) else {
        return;
    };
    out.push(part);
    if let PartType::Multipart(children) = &part.body {
        for child in children {
            // A part never lists itself or an ancestor; the guard keeps a corrupt tree finite.
            if *child > id {
                collect_parts(message, *child, out);
            }
        }
    }
}

/// True when `part`'s content type is `ctype/subtype` (ASCII case-insensitive).
fn is_type(part: &mail_parser::MessagePart<'_>, ctype: &str, subtype: &str) -> bool {
    part.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case(ctype)
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case(subtype))
    })
}

/// Folds white space to single spaces and clips to [`MAX_DIAGNOSTIC_CHARS`]; `None` when
/// nothing is left.
fn clean_diagnostic(text: &str) -> Option<String> {
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.is_empty() {
        return None;
    }
    Some(folded.chars().take(MAX_DIAGNOSTIC_CHARS).collect())
}

/// The first RFC 3463 enhanced status code (`class.subject.detail`, class 2, 4 or 5) in
/// `text` that is not part of a longer dotted number (an IP address, a version).
fn enhanced_status(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut start = 0;
    while let Some(offset) = text[start..].find(['2', '4', '5']) {
        let at = start + offset;
        start = at + 1;
        if at > 0 && (bytes[at - 1].is_ascii_digit() || bytes[at - 1] == b'.') {
            continue;
        }
        if let Some(len) = status_len(&bytes[at..]) {
            let end = at + len;
            let continues = bytes.get(end).is_some_and(|b| b.is_ascii_digit())
                || (bytes.get(end) == Some(&b'.')
                    && bytes.get(end + 1).is_some_and(u8::is_ascii_digit));
            if !continues {
                return Some(text[at..end].to_owned());
            }
        }
    }
    None
}

/// Length of `D.N.N` at the start of `bytes` (N: 1 to 3 digits).
fn status_len(bytes: &[u8]) -> Option<usize> {
    if bytes.get(1) != Some(&b'.') {
        return None;
    }
    let mut at = 2;
    for field in 0..2 {
        let digits = bytes[at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if !(1..=3).contains(&digits) {
            return None;
        }
        at += digits;
        if field == 0 {
            if bytes.get(at) != Some(&b'.') {
                return None;
            }
            at += 1;
        }
    }
    Some(at)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;

    #[test]
    fn enhanced_status_codes_are_found_but_not_inside_addresses() {
        let rows: &[(&str, Option<&str>)] = &[
            ("550 5.1.1 <a@b>... User unknown", Some("5.1.1")),
            ("(#4.4.1)", Some("4.4.1")),
            ("host 195.7.46.14 said 550", None),
            ("host 5.7.46.14 said", None),
            ("Status: 5.0.0 (permanent failure)", Some("5.0.0")),
            ("version 25.4.1", None),
            ("4.2.22", Some("4.2.22")),
            ("5.1.1234", None),
            ("2.0.0 ok", Some("2.0.0")),
            ("", None),
        ];
        for (text, expected) in rows {
            assert_eq!(enhanced_status(text).as_deref(), *expected, "{text:?}");
        }
    }

    #[test]
    fn garbage_is_not_a_bounce() {
        for raw in [&b""[..], b"\xff\xfe", b"no headers here at all"] {
            let report = scan(raw);
            assert_eq!(report.kind, BounceKind::NotABounce, "{raw:?}");
            assert!(report.failed_recipients.is_empty());
        }
    }

    #[test]
    fn diagnostics_are_unfolded_and_clipped() {
        assert_eq!(
            clean_diagnostic("smtp; 550 a\r\n   b\tc").as_deref(),
            Some("smtp; 550 a b c")
        );
        assert_eq!(clean_diagnostic(" \r\n "), None);
        let long = clean_diagnostic(&"é".repeat(600)).expect("text");
        assert_eq!(long.chars().count(), MAX_DIAGNOSTIC_CHARS);
    }
}
