//! Who sent a message and what it refers to: bounce and auto-reply signals, the original
//! Message-ID, the VERP tag and SAE's tracking.

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

use super::{dsn, is_type, own_parts, parse_guarded, text};
use crate::email::smtp::Tracking;
use crate::email::smtp::tracking::{parse_message_id, parse_verp_tag, plus_tag};

/// Local parts of the addresses bounces come from.
const DAEMON_LOCAL_PARTS: &[&str] = &[
    "mailer-daemon",
    "mailer_daemon",
    "mailerdaemon",
    "mail-daemon",
    "postmaster",
    "mdaemon",
    "mail.delivery.system",
    "ndr",
];

/// Subject fragments (lower case) of bounces and delay warnings. Specific on purpose: a
/// person's reply about a code that "was not delivered" must not read as a bounce.
const BOUNCE_SUBJECTS: &[&str] = &[
    "undeliverable",
    "undelivered mail",
    "non-delivery",
    "nondeliverable",
    "delivery status notification",
    "delivery failure",
    "delivery notification",
    "delivery warning",
    "delivery delayed",
    "delayed mail",
    "mail delivery failed",
    "returned mail",
    "failure notice",
    "warning: could not send message",
    "warning: message",
    "has not yet been delivered",
];

/// Subject prefixes (lower case) of replies and forwards, whose subjects say nothing.
const REPLY_PREFIXES: &[&str] = &["re:", "aw:", "fw:", "fwd:", "tr:", "wg:"];

/// Display-name fragments (lower case) of bounce senders.
const BOUNCE_SENDER_NAMES: &[&str] = &["mail delivery", "delivery subsystem", "mailer-daemon"];

/// Subject prefixes (lower case) of automatic replies.
const AUTO_REPLY_SUBJECTS: &[&str] = &[
    "auto:",
    "automatic reply",
    "autoreply",
    "auto-reply",
    "auto reply",
    "out of office",
    "out of the office",
    "abwesenheitsnotiz",
    "réponse automatique",
    "respuesta automática",
    "resposta automática",
    "risposta automatica",
];

/// Headers that name the address a message was delivered to, most trusted first.
const RECIPIENT_HEADERS: &[&str] = &[
    "X-Original-To",
    "Delivered-To",
    "Envelope-To",
    "X-Envelope-To",
    "To",
];

/// True when the message has the marks of a bounce or delay warning: a delivery-status
/// report, Exim's `X-Failed-Recipients`, a null return path, a daemon sender, or a bounce
/// subject (not a reply's). A read receipt (`report-type=disposition-notification`) is not.
pub(super) fn looks_like_bounce(message: &Message<'_>) -> bool {
    let read_receipt = message.content_type().is_some_and(|ct| {
        ct.attribute("report-type")
            .is_some_and(|t| t.eq_ignore_ascii_case("disposition-notification"))
    });
    if read_receipt {
        return false;
    }
    if dsn::is_report(message) || raw_header(message, "X-Failed-Recipients").is_some() {
        return true;
    }
    let null_return_path = raw_header(message, "Return-Path").is_some_and(|v| {
        v.trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .trim()
            .is_empty()
    });
    let daemon_sender = message.from().and_then(|a| a.first()).is_some_and(|from| {
        let local = from
            .address()
            .and_then(|a| a.rsplit_once('@').map(|(l, _)| l.to_ascii_lowercase()))
            .unwrap_or_default();
        let name = from.name().unwrap_or_default().to_lowercase();
        DAEMON_LOCAL_PARTS.contains(&local.as_str())
            || BOUNCE_SENDER_NAMES.iter().any(|n| name.contains(n))
    });
    let subject = message.subject().unwrap_or_default().trim().to_lowercase();
    let bounce_subject = !REPLY_PREFIXES.iter().any(|p| subject.starts_with(p))
        && BOUNCE_SUBJECTS.iter().any(|s| subject.contains(s));
    null_return_path || daemon_sender || bounce_subject
}

/// True for an automatic reply (RFC 3834 `Auto-Submitted: auto-replied`, the
/// `X-Autoreply` / `X-Autorespond` marks, `Precedence: auto_reply`, or an auto-reply
/// subject). Call it only for messages that are not bounces (bounces are auto-replied
/// too).
pub(super) fn is_auto_reply(message: &Message<'_>) -> bool {
    let header_says = |name: &str, value: &str| {
        raw_header(message, name).is_some_and(|v| v.trim().to_ascii_lowercase().starts_with(value))
    };
    if header_says("Auto-Submitted", "auto-replied")
        || raw_header(message, "X-Autoreply").is_some()
        || raw_header(message, "X-Autorespond").is_some()
        || header_says("Precedence", "auto_reply")
    {
        return true;
    }
    let subject = message.subject().unwrap_or_default().trim().to_lowercase();
    AUTO_REPLY_SUBJECTS.iter().any(|s| subject.starts_with(s))
}

/// The Message-ID of the mail the message is about: from an attached `message/rfc822`,
/// a `text/rfc822-headers` part, the headers quoted after a text report, else the
/// message's own `In-Reply-To` or last `References` entry.
pub(super) fn original_message_id(message: &Message<'_>) -> Option<String> {
    for part in own_parts(message) {
        let id = match &part.body {
            // A report wrapped by a gateway: the original is attached inside it.
            PartType::Message(inner) if dsn::is_report(inner) => original_message_id(inner),
            PartType::Message(inner) => inner.message_id().map(str::to_owned),
            PartType::Text(text) if is_type(part, "text", "rfc822-headers") => {
                headers_message_id(text.as_bytes())
            }
            _ => None,
        };
        if let Some(id) = id {
            return Some(bracketed(&id));
        }
    }
    if let Some(quoted) = text::quoted_original(message)
        && let Some(id) = headers_message_id(quoted.as_bytes())
    {
        return Some(bracketed(&id));
    }
    if let Some(id) = message.in_reply_to().as_text() {
        return Some(bracketed(id));
    }
    message
        .references()
        .as_text_list()
        .and_then(|ids| ids.last())
        .map(|id| bracketed(id))
        .or_else(|| message.references().as_text().map(bracketed))
}

/// The `+` tag of the first delivery address that has one.
pub(super) fn verp_tag(message: &Message<'_>) -> Option<String> {
    RECIPIENT_HEADERS.iter().find_map(|name| {
        let value = raw_header(message, name)?;
        value
            .split([',', ' ', '\t', '\r', '\n'])
            .filter(|word| word.contains('@'))
            .find_map(|word| plus_tag(word.trim_matches(['"', '(', ')', ';'])))
            .map(str::to_owned)
    })
}

/// SAE's tracking: from the original Message-ID, else the VERP tag, else any Message-ID
/// SAE wrote that appears anywhere in the raw message (a bounce that quotes the original
/// in a way nothing above understood).
pub(super) fn tracking(
    raw: &[u8],
    original_message_id: Option<&str>,
    verp_tag: Option<&str>,
) -> Option<Tracking> {
    original_message_id
        .and_then(parse_message_id)
        .or_else(|| verp_tag.and_then(parse_verp_tag))
        .or_else(|| find_sae_message_id(raw))
}

/// The first `<sae.…@…>` in `raw` that parses as SAE's Message-ID.
fn find_sae_message_id(raw: &[u8]) -> Option<Tracking> {
    let text = String::from_utf8_lossy(raw);
    text.match_indices("<sae.").find_map(|(at, _)| {
        let rest = &text[at..];
        let end = rest.find('>')?;
        parse_message_id(&rest[..=end])
    })
}

/// The Message-ID in a block of header lines.
fn headers_message_id(headers: &[u8]) -> Option<String> {
    parse_guarded(|| MessageParser::new().parse_headers(headers))?
        .message_id()
        .map(str::to_owned)
}

/// The raw value of the top-level header `name`.
fn raw_header<'a>(message: &'a Message<'_>, name: &str) -> Option<&'a str> {
    message
        .root_part()
        .headers()
        .iter()
        .rev()
        .find(|h| h.name().eq_ignore_ascii_case(name))
        .map(|h| {
            let start = h.offset_start() as usize;
            let end = h.offset_end() as usize;
            message
                .raw_message()
                .get(start..end)
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or_default()
        })
}

/// `id` with one pair of angle brackets.
fn bracketed(id: &str) -> String {
    format!(
        "<{}>",
        id.trim().trim_start_matches('<').trim_end_matches('>')
    )
}
