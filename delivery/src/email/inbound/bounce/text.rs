//! Non-standard bounces: the recipients named in the human-readable report of a message
//! that looks like a bounce, and whether it is only a delay warning.
//!
//! Two shapes cover the common servers:
//! - **address lines**: `<user@example.com>: reason…` (Postfix, qmail, Yahoo) or
//!   `  user@example.com:` followed by the reason (Exim); continuation lines, more indented
//!   or up to the next blank line, are the diagnostic;
//! - **lists after a trigger sentence**: "The following address(es) failed:", "did not reach
//!   the following recipient(s):" (Exchange), "Delivery to the following recipient failed
//!   permanently:" (Gmail), "----- The following addresses had permanent fatal errors -----"
//!   (sendmail): the address lines of the paragraph that follows.
//!
//! Only the report is read: it ends where the copy of the original message begins
//! ("--- Below this line is a copy of the message.", "----- Original message -----", …).

use std::sync::LazyLock;

use mail_parser::Message;
use regex::Regex;

use super::{FailedRecipient, RecipientAction, clean_diagnostic, enhanced_status};

/// Longest report text read, in bytes.
const MAX_REPORT_BYTES: usize = 256 * 1024;

/// Non-blank lines allowed between a trigger sentence and the first address.
const MAX_LINES_BEFORE_LIST: usize = 6;

/// Lines (lower case, trimmed, leading dashes ignored) that start the copy of the
/// original message.
const ORIGINAL_MARKERS: &[&str] = &[
    "below this line is a copy of the message",
    "original message follows",
    "original message",
    "this is a copy of the message",
    "copy of the original message",
    "message header follows",
    "the header of the original message",
    "headers of the original message",
    "undelivered message follows",
    "returned message follows",
    "the first 50 lines of your original message",
    "message body suppressed",
];

/// Sentences (lower case) after which the failed addresses are listed.
const TRIGGERS: &[&str] = &[
    "following address",
    "following recipient",
    "following user",
    "following destination",
    "did not reach",
    "delivery has failed to these recipients",
    "could not be delivered to",
    "was not delivered to",
    "wasn't delivered to",
    "couldn't be delivered to",
    "unable to deliver",
    "address to which",
    "not yet been delivered",
    "your message to",
    "intended recipient",
    "delivery failed",
    "undeliverable to",
    "undeliverable address",
    "failed addresses follow",
];

/// How far after a trigger phrase an address on the same line may start, in bytes (when no
/// colon introduces it).
const SAME_LINE_REACH: usize = 4;

/// Phrases (lower case) of delay warnings.
const DELAY_PHRASES: &[&str] = &[
    "has been delayed",
    "have been delayed",
    "delivery delayed",
    "delayed mail",
    "message delayed",
    "(delay)",
    "warning message only",
    "this is just a warning",
    "this is a warning",
    "will be retried",
    "will retry",
    "will continue to",
    "delivery attempts will continue",
    "still trying",
    "not yet been delivered",
    "has been postponed",
];

/// Phrases (lower case) that say the server gave up, which outweigh any delay phrase.
const PERMANENT_PHRASES: &[&str] = &[
    "permanent error",
    "permanent fatal",
    "failed permanently",
    "permanently failed",
    "giving up",
    "given up",
    "not going to try again",
];

static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    #[expect(clippy::expect_used, reason = "a constant pattern, covered by the tests")]
    Regex::new(
        r"(?i)[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}",
    )
    .expect("valid pattern")
});

static ADDRESS_LINE: LazyLock<Regex> = LazyLock::new(|| {
    #[expect(
        clippy::expect_used,
        reason = "a constant pattern, covered by the tests"
    )]
    Regex::new(r"^\s*<?([^\s<>:]+@[^\s<>:]+?)>?\s*:(.*)$").expect("valid pattern")
});

/// The recipients named in the report of `message`, as `Delayed` when `delayed`, else
/// `Failed`. Addresses in Exim's `X-Failed-Recipients` header are added when the text
/// does not name them.
pub(super) fn recipients(message: &Message<'_>, delayed: bool) -> Vec<FailedRecipient> {
    let action = if delayed {
        RecipientAction::Delayed
    } else {
        RecipientAction::Failed
    };
    let report = report_text(message);
    let mut found = address_lines(&report.report);
    if found.is_empty() {
        found = trigger_lists(&report.report);
    }
    let header = message
        .header_raw("X-Failed-Recipients")
        .unwrap_or_default()
        .to_owned();
    for address in ADDRESS.find_iter(&header) {
        push(&mut found, address.as_str(), String::new());
    }
    found
        .into_iter()
        .map(|(address, diagnostic)| FailedRecipient {
            status: enhanced_status(&diagnostic),
            diagnostic: clean_diagnostic(&diagnostic),
            address,
            action,
        })
        .collect()
}

/// True when the subject or the report says delivery is only delayed, and nothing says the
/// server gave up.
pub(super) fn says_delayed(message: &Message<'_>) -> bool {
    let subject = message.subject().unwrap_or_default().to_lowercase();
    let report = report_text(message).report.to_lowercase();
    let delay = DELAY_PHRASES
        .iter()
        .any(|p| subject.contains(p) || report.contains(p))
        || subject.starts_with("warning");
    delay && !PERMANENT_PHRASES.iter().any(|p| report.contains(p))
}

/// The text quoted after the report (the copy of the original message's headers), if the
/// report has one.
pub(super) fn quoted_original(message: &Message<'_>) -> Option<String> {
    report_text(message).quoted
}

/// A message's readable text, split where the copy of the original begins.
struct Report {
    report: String,
    quoted: Option<String>,
}

fn report_text(message: &Message<'_>) -> Report {
    let mut text = String::new();
    for index in 0..message.text_body_count() {
        if let Some(body) = message.body_text(index) {
            text.push_str(&body);
            text.push('\n');
        }
        if text.len() > MAX_REPORT_BYTES {
            break;
        }
    }
    split_report(&text.replace("\r\n", "\n"))
}

/// Splits `text` at the first line that starts the copy of the original message.
fn split_report(text: &str) -> Report {
    let mut report = String::new();
    let mut lines = text.lines();
    for line in lines.by_ref() {
        if is_original_marker(line) {
            let quoted: Vec<&str> = lines.skip_while(|l| l.trim().is_empty()).collect();
            return Report {
                report,
                quoted: (!quoted.is_empty()).then(|| quoted.join("\r\n") + "\r\n"),
            };
        }
        report.push_str(line);
        report.push('\n');
    }
    Report {
        report,
        quoted: None,
    }
}

fn is_original_marker(line: &str) -> bool {
    let bare = line
        .trim()
        .trim_matches(|c: char| c == '-' || c == '=' || c == '_' || c.is_whitespace())
        .to_lowercase();
    ORIGINAL_MARKERS.iter().any(|m| bare.starts_with(m))
}

/// `<addr>: reason` and `addr:` lines, each with its continuation lines.
fn address_lines(report: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    let mut open: Option<(usize, usize)> = None; // (index in found, indentation)
    for line in report.lines() {
        if line.trim().is_empty() {
            open = None;
            continue;
        }
        let indent = indentation(line);
        let continues = open.is_some_and(|(_, at)| indent > at);
        if !continues
            && let Some(captures) = ADDRESS_LINE.captures(line)
            && let Some(address) = captures.get(1).and_then(|m| valid_address(m.as_str()))
        {
            let rest = captures.get(2).map_or("", |m| m.as_str());
            open = Some((push(&mut found, &address, rest.to_owned()), indent));
            continue;
        }
        if let Some((index, _)) = open {
            found[index].1.push(' ');
            found[index].1.push_str(line.trim());
        }
    }
    found
}

/// The address lines of the paragraph after each trigger sentence.
fn trigger_lists(report: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = report.lines().collect();
    let mut found: Vec<(String, String)> = Vec::new();
    for (at, line) in lines.iter().enumerate() {
        let lower = line.to_lowercase();
        let ends: Vec<usize> = TRIGGERS
            .iter()
            .filter_map(|t| lower.find(t).map(|i| i + t.len()))
            .collect();
        if ends.is_empty() {
            continue;
        }
        // Lower-casing may change byte lengths (non-ASCII): `get` keeps the slicing safe.
        let same_line = ends
            .iter()
            .find_map(|end| line.get(*end..).and_then(same_line_address));
        match same_line {
            Some(address) => {
                push(&mut found, &address, String::new());
            }
            None => list_after(&lines[at + 1..], &mut found),
        }
    }
    found
}

/// The address right after a trigger phrase (`… delivered to <a@b.c>`, `… attempts: a@b.c`):
/// one that starts within [`SAME_LINE_REACH`] bytes or right after a colon.
fn same_line_address(rest: &str) -> Option<String> {
    let found = ADDRESS
        .find_iter(rest)
        .find(|m| valid_address(m.as_str()).is_some())?;
    let before = rest[..found.start()].trim_end_matches([' ', '\t', '<', '"', '\'']);
    let close = found.start() <= SAME_LINE_REACH || before.ends_with(':');
    close.then(|| valid_address(found.as_str())).flatten()
}

/// Reads the list that follows a trigger sentence into `found`.
fn list_after(lines: &[&str], found: &mut Vec<(String, String)>) {
    let mut first_indent: Option<usize> = None;
    let mut open: Option<usize> = None;
    let mut blank_seen = false;
    let mut before_list = 0;
    for line in lines {
        if line.trim().is_empty() {
            blank_seen = true;
            continue;
        }
        let indent = indentation(line);
        // After a blank line only a line that begins with an address continues the list.
        let new_entry = first_indent.is_none_or(|first| indent <= first)
            && (!blank_seen || open.is_none() || begins_with_address(line));
        if new_entry && let Some(address) = first_address(line) {
            first_indent.get_or_insert(indent);
            let rest = line.split_once(&*address).map_or("", |(_, r)| r);
            open = Some(push(found, &address, rest.to_owned()));
            blank_seen = false;
            continue;
        }
        match open {
            None => {
                before_list += 1;
                if before_list > MAX_LINES_BEFORE_LIST {
                    return;
                }
            }
            // A paragraph without an address ends the list.
            Some(_) if blank_seen => return,
            Some(index) => {
                found[index].1.push(' ');
                found[index].1.push_str(line.trim());
            }
        }
    }
}

/// Adds `address` (or extends its diagnostic if already there); returns its index.
fn push(found: &mut Vec<(String, String)>, address: &str, diagnostic: String) -> usize {
    if let Some(index) = found
        .iter()
        .position(|(a, _)| a.eq_ignore_ascii_case(address))
    {
        if !diagnostic.trim().is_empty() {
            found[index].1.push(' ');
            found[index].1.push_str(&diagnostic);
        }
        return index;
    }
    found.push((address.to_owned(), diagnostic));
    found.len() - 1
}

/// The first mail address in `line`.
fn first_address(line: &str) -> Option<String> {
    ADDRESS
        .find_iter(line)
        .find_map(|m| valid_address(m.as_str()))
}

/// True when the line's first word (after `<` or `"`) is an address.
fn begins_with_address(line: &str) -> bool {
    let word = line
        .trim_start()
        .trim_start_matches(['<', '"'])
        .split(|c: char| c.is_whitespace() || matches!(c, '>' | '"' | ':' | ',' | ';'))
        .next()
        .unwrap_or_default();
    valid_address(word).is_some()
}

/// `candidate` as an address, without the `SMTP=` of Exchange's X.400 forms; `None` when
/// it is not a whole address.
fn valid_address(candidate: &str) -> Option<String> {
    let candidate = match candidate.get(..5) {
        Some(prefix) if prefix.eq_ignore_ascii_case("smtp=") => &candidate[5..],
        _ => candidate,
    };
    let found = ADDRESS.find(candidate)?;
    (found.start() == 0 && found.end() == candidate.len()).then(|| candidate.to_owned())
}

fn indentation(line: &str) -> usize {
    line.chars()
        .take_while(|c| c.is_whitespace())
        .map(|c| if c == '\t' { 8 } else { 1 })
        .sum()
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
    fn addresses_are_whole_and_lose_exchange_prefixes() {
        let rows: &[(&str, Option<&str>)] = &[
            ("user@example.com", Some("user@example.com")),
            ("SMTP=userx@example.COM", Some("userx@example.COM")),
            ("david...@gmail.com", None),
            ("a@b", None),
            ("user@example.com.", None),
        ];
        for (candidate, expected) in rows {
            assert_eq!(
                valid_address(candidate).as_deref(),
                *expected,
                "{candidate:?}"
            );
        }
        assert_eq!(
            first_address("c=US;a= ;p=IKON;dda:SMTP=userx@example.COM; on Fri").as_deref(),
            Some("userx@example.COM")
        );
    }

    #[test]
    fn address_lines_take_their_continuations() {
        let report = "intro\n\n<a@example.com>: host x said: 550 5.1.1\n    <a@example.com>... User unknown\n\n\
                      <b@example.org>:\nmailbox full\n\nbye\n";
        let found = address_lines(report);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].0, "a@example.com");
        assert!(found[0].1.contains("User unknown"), "{found:?}");
        assert_eq!(
            found[1],
            ("b@example.org".to_owned(), " mailbox full".to_owned())
        );
    }

    #[test]
    fn lists_after_triggers_stop_at_the_next_paragraph() {
        let report = "Your message\n  To: list@example.net\n\ndid not reach the following recipient(s):\n\n\
                      x@example.com on Fri\n    The recipient name is not recognized\n\nMore text with y@example.com\n";
        let found = trigger_lists(report);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "x@example.com");
        assert!(found[0].1.contains("not recognized"));
        let sendmail = "--- The following addresses had permanent fatal errors ---\nz@shaft.example\n    (expanded from: z@nfg.example)\n\n--- Transcript ---\n";
        let found = trigger_lists(sendmail);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "z@shaft.example");
    }

    #[test]
    fn addresses_on_the_trigger_line_must_follow_it_closely() {
        let rows: &[(&str, Option<&str>)] = &[
            (" <a@example.com>", Some("a@example.com")),
            (" 20 attempts: a@example.com", Some("a@example.com")),
            (
                "s could not be delivered because they refuse mail from l@example.net:",
                None,
            ),
            (" and then some text a@example.com", None),
        ];
        for (rest, expected) in rows {
            assert_eq!(same_line_address(rest).as_deref(), *expected, "{rest:?}");
        }
    }

    #[test]
    fn the_copy_of_the_original_is_not_read() {
        let text = "report a@example.com\n\n--- Below this line is a copy of the message.\n\nMessage-ID: <x@y>\nTo: b@example.com\n";
        let split = split_report(text);
        assert_eq!(split.report, "report a@example.com\n\n");
        assert_eq!(
            split.quoted.as_deref(),
            Some("Message-ID: <x@y>\r\nTo: b@example.com\r\n")
        );
        assert!(is_original_marker("   ----- Original message -----"));
        assert!(!is_original_marker(
            "The original message was received at Sat"
        ));
        assert!(split_report("no marker\n").quoted.is_none());
    }
}
