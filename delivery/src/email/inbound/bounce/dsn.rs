//! RFC 3464 delivery status notifications: the per-recipient field groups of every
//! `message/delivery-status` part.
//!
//! The part's body is a series of field groups separated by blank lines: first the
//! per-message fields (`Reporting-MTA`, …), then one group per recipient
//! (`Final-Recipient`, `Action`, `Status`, `Diagnostic-Code`, …). Each group is read with
//! mail-parser's header parser (folded lines, encoded words), not by hand.

use std::borrow::Cow;

use mail_parser::{Header, Message, MessageParser, PartType};

use super::{
    FailedRecipient, RecipientAction, clean_diagnostic, enhanced_status, is_type, own_parts,
    parse_guarded,
};

/// The recipients of every delivery-status part of `message` that failed or were delayed
/// (`delivered`, `relayed` and `expanded` recipients are left out), each address once; if
/// it has none, those of an attached message that is itself a report.
pub(super) fn recipients(message: &Message<'_>) -> Vec<FailedRecipient> {
    let own = own_recipients(message);
    if !own.is_empty() {
        return own;
    }
    // A gateway that wraps the whole report as an attachment (multipart/mixed around a
    // message/rfc822 that is the DSN): one level down.
    own_parts(message)
        .into_iter()
        .find_map(|part| match &part.body {
            PartType::Message(inner) if is_report(inner) => Some(own_recipients(inner)),
            _ => None,
        })
        .unwrap_or_default()
}

/// True when `message` has a delivery-status part of its own.
pub(super) fn is_report(message: &Message<'_>) -> bool {
    own_parts(message).iter().any(|part| is_status_part(part))
}

fn is_status_part(part: &mail_parser::MessagePart<'_>) -> bool {
    is_type(part, "message", "delivery-status")
        || is_type(part, "message", "global-delivery-status")
}

fn own_recipients(message: &Message<'_>) -> Vec<FailedRecipient> {
    let mut out: Vec<FailedRecipient> = Vec::new();
    for part in own_parts(message) {
        if !is_status_part(part) {
            continue;
        }
        let body: Cow<'_, str> = match &part.body {
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
                String::from_utf8_lossy(bytes)
            }
            PartType::Text(text) => Cow::Borrowed(text.as_ref()),
            _ => continue,
        };
        for group in field_groups(&body) {
            if let Some(recipient) = recipient(&group)
                && !out
                    .iter()
                    .any(|r| r.address.eq_ignore_ascii_case(&recipient.address))
            {
                out.push(recipient);
            }
        }
    }
    out
}

/// The field groups of a delivery-status body, split at blank lines.
fn field_groups(body: &str) -> Vec<String> {
    let mut groups = Vec::new();
    let mut current = String::new();
    for line in body.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                groups.push(std::mem::take(&mut current));
            }
        } else {
            current.push_str(line);
            current.push_str("\r\n");
        }
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

/// The recipient of one per-recipient group; `None` for the per-message group, a group
/// without a recipient, and recipients that were delivered, relayed or expanded.
fn recipient(group: &str) -> Option<FailedRecipient> {
    let mut raw = group.as_bytes().to_vec();
    raw.extend_from_slice(b"\r\n");
    let parsed = parse_guarded(|| {
        MessageParser::new()
            .default_header_text()
            .parse_headers(&raw)
    })?;
    let headers = parsed.headers();
    let address = recipient_address(headers)?;
    let status = field(headers, "Status").and_then(|s| enhanced_status(&s));
    let action = field(headers, "Action")
        .map(|a| a.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let action = if action.starts_with("delay") {
        RecipientAction::Delayed
    } else if ["delivered", "relayed", "expanded"]
        .iter()
        .any(|done| action.starts_with(done))
    {
        return None;
    } else if !action.is_empty() {
        // `failed`, and the `failure` / `error` some servers write.
        RecipientAction::Failed
    } else {
        // No Action field: the status class says it.
        match status.as_deref().and_then(|s| s.chars().next()) {
            Some('2') => return None,
            Some('4') => RecipientAction::Delayed,
            _ => RecipientAction::Failed,
        }
    };
    let diagnostic = field(headers, "Diagnostic-Code")
        .map(|d| strip_type(&d).to_owned())
        .and_then(|d| clean_diagnostic(&d));
    Some(FailedRecipient {
        address,
        action,
        status,
        diagnostic,
    })
}

/// The address the report is about: the `Original-Recipient` when it is an `rfc822`
/// address (the address the sender gave, before forwarding or rewriting: what SAE sent
/// to), else the `Final-Recipient`, else an `Original-Recipient` of another type.
fn recipient_address(headers: &[Header<'_>]) -> Option<String> {
    let original = field(headers, "Original-Recipient");
    if let Some(value) = &original
        && value
            .split_once(';')
            .is_some_and(|(kind, _)| kind.trim().eq_ignore_ascii_case("rfc822"))
        && let Some(address) = generic_address(value)
    {
        return Some(address);
    }
    field(headers, "Final-Recipient")
        .and_then(|value| generic_address(&value))
        .or_else(|| original.and_then(|value| generic_address(&value)))
}

/// The text of the last field called `name` (ASCII case-insensitive).
fn field(headers: &[Header<'_>], name: &str) -> Option<String> {
    headers
        .iter()
        .rev()
        .find(|h| h.name().eq_ignore_ascii_case(name))
        .and_then(|h| h.value().as_text())
        .map(str::to_owned)
}

/// `rfc822; <user@example.com>` → `user@example.com`; a value without a type is taken as
/// it is. `None` when nothing is left.
fn generic_address(value: &str) -> Option<String> {
    let address = strip_type(value)
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    (!address.is_empty()).then(|| address.to_owned())
}

/// The value after an `address-type ;` or `diagnostic-type ;` prefix.
fn strip_type(value: &str) -> &str {
    match value.split_once(';') {
        Some((kind, rest)) if is_type_token(kind.trim()) => rest.trim(),
        _ => value.trim(),
    }
}

fn is_type_token(kind: &str) -> bool {
    !kind.is_empty()
        && kind
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
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
    fn groups_split_at_blank_and_white_lines() {
        let groups = field_groups("A: 1\n\nB: 2\r\nC: 3\n \t\nD: 4\n");
        assert_eq!(groups, ["A: 1\r\n", "B: 2\r\nC: 3\r\n", "D: 4\r\n"]);
    }

    #[test]
    fn a_group_gives_one_recipient() {
        let group = "Final-Recipient: rfc822; <Ana@Example.org>\r\nAction: failed\r\n\
                     Status: 5.1.1 (bad mailbox)\r\nDiagnostic-Code: smtp; 550 5.1.1\r\n  no such user\r\n";
        let r = recipient(group).expect("recipient");
        assert_eq!(r.address, "Ana@Example.org");
        assert_eq!(r.action, RecipientAction::Failed);
        assert_eq!(r.status.as_deref(), Some("5.1.1"));
        assert_eq!(r.diagnostic.as_deref(), Some("550 5.1.1 no such user"));
    }

    #[test]
    fn actions_and_missing_fields() {
        let rows: &[(&str, Option<RecipientAction>)] = &[
            (
                "Final-Recipient: rfc822;a@b.c\r\nAction: delayed\r\n",
                Some(RecipientAction::Delayed),
            ),
            (
                "Final-Recipient: rfc822;a@b.c\r\nAction: delivered\r\nStatus: 2.0.0\r\n",
                None,
            ),
            ("Final-Recipient: rfc822;a@b.c\r\nAction: relayed\r\n", None),
            (
                "Final-Recipient: rfc822;a@b.c\r\nStatus: 4.4.7\r\n",
                Some(RecipientAction::Delayed),
            ),
            ("Final-Recipient: rfc822;a@b.c\r\nStatus: 2.1.5\r\n", None),
            (
                "Final-Recipient: rfc822;a@b.c\r\n",
                Some(RecipientAction::Failed),
            ),
            ("Reporting-MTA: dns; mx.example.com\r\n", None),
            ("Final-Recipient: rfc822;\r\nAction: failed\r\n", None),
            (
                "Original-Recipient: rfc822;o@b.c\r\nAction: failed\r\n",
                Some(RecipientAction::Failed),
            ),
            (
                "Final-Recipient: rfc822;a@b.c\r\nAction: failure\r\n",
                Some(RecipientAction::Failed),
            ),
            (
                "Final-Recipient: rfc822;a@b.c\r\nAction: error\r\nStatus: 4.0.0\r\n",
                Some(RecipientAction::Failed),
            ),
        ];
        for (group, expected) in rows {
            assert_eq!(recipient(group).map(|r| r.action), *expected, "{group:?}");
        }
    }

    #[test]
    fn the_original_rfc822_recipient_is_preferred() {
        let rows: &[(&str, &str)] = &[
            (
                "Original-recipient: rfc822;a@example.com\r\nFinal-recipient: rfc822;a@sims-ms-daemon\r\n",
                "a@example.com",
            ),
            (
                "Original-Recipient: rfc822; b@example.uk\r\nFinal-Recipient: x400; /S=b/C=GB/\r\n",
                "b@example.uk",
            ),
            (
                "Original-Recipient: x400; /S=c/\r\nFinal-Recipient: rfc822;c@example.org\r\n",
                "c@example.org",
            ),
            ("Original-Recipient: unknown; nair_s\r\n", "nair_s"),
        ];
        for (group, expected) in rows {
            let r = recipient(group).expect(group);
            assert_eq!(r.address, *expected, "{group:?}");
        }
    }

    #[test]
    fn addresses_lose_their_type_and_brackets() {
        let rows: &[(&str, Option<&str>)] = &[
            (
                "rfc822;louisl@larry.slip.umd.edu",
                Some("louisl@larry.slip.umd.edu"),
            ),
            (" RFC822 ; <a@b.c> ", Some("a@b.c")),
            ("unknown; nair_s", Some("nair_s")),
            ("a@b.c", Some("a@b.c")),
            ("rfc822;", None),
        ];
        for (value, expected) in rows {
            assert_eq!(generic_address(value).as_deref(), *expected, "{value:?}");
        }
    }
}
