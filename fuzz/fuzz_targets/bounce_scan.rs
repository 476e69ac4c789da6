//! Bounce reading (`delivery::email::inbound::bounce::scan`) over arbitrary messages, and
//! the tracking Message-ID / VERP parsers over arbitrary text.
#![no_main]

use delivery::email::inbound::bounce::{BounceKind, RecipientAction, scan, scan_json_line};
use delivery::email::smtp::tracking::{parse_message_id, parse_verp_tag};
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: {
        // `scan` contains the panics of mail-parser's debug assertions (delivery's
        // `parse_guarded`; libfuzzer-sys's hook would abort before they unwind). Any
        // other panic still aborts and is reported.
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.location().is_some_and(|l| l.file().contains("/mail-parser-")) {
                return;
            }
            abort(info);
        }));
    },
    |data: &[u8]| {
    let report = scan(data);
    // The kind follows from the recipients when there are any.
    let any_failed = report
        .failed_recipients
        .iter()
        .any(|r| r.action == RecipientAction::Failed);
    match report.kind {
        BounceKind::Bounced => {}
        BounceKind::Delayed => assert!(!any_failed),
        BounceKind::AutoReply | BounceKind::NotABounce => {
            assert!(report.failed_recipients.is_empty())
        }
    }
    if any_failed {
        assert_eq!(report.kind, BounceKind::Bounced);
    }
    assert_eq!(report.format.is_some(), !report.failed_recipients.is_empty());
    for recipient in &report.failed_recipients {
        assert!(!recipient.address.is_empty());
        if let Some(diagnostic) = &recipient.diagnostic {
            assert!(diagnostic.chars().count() <= 500 && !diagnostic.is_empty());
        }
        if let Some(status) = &recipient.status {
            let fields: Vec<&str> = status.split('.').collect();
            assert_eq!(fields.len(), 3, "{status}");
            assert!(matches!(fields[0], "2" | "4" | "5"), "{status}");
        }
    }
    // Each address once.
    for (i, a) in report.failed_recipients.iter().enumerate() {
        for b in &report.failed_recipients[i + 1..] {
            assert!(!a.address.eq_ignore_ascii_case(&b.address));
        }
    }
    let line: serde_json::Value =
        serde_json::from_str(&scan_json_line("f", data)).expect("the JSON line parses");
    assert_eq!(line["file"], "f");

    // What parses as SAE's tracking writes back to an id that parses the same.
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(tracking) = parse_message_id(text) {
            let mut rng = rand::rngs::SysRng;
            let id = tracking.message_id("example.com", &mut rng).expect("random");
            assert_eq!(parse_message_id(&id), Some(tracking));
        }
        if let Some(tracking) = parse_verp_tag(text) {
            let tag = format!("sae={}={}", tracking.request_id(), tracking.attempt());
            assert_eq!(parse_verp_tag(&tag), Some(tracking));
        }
    }
    }
);
