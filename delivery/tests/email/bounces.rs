//! Bounce reading over a corpus: the RFC 3464 examples, real-world bounces from many mail
//! servers (flufl.bounce's test data, Apache-2.0) and SAE's own tracked mails. See
//! `tests/data/bounces/README.md` for where each sample comes from.

use delivery::email::inbound::bounce::{
    BounceKind::{self, AutoReply, Bounced, Delayed, NotABounce},
    RecipientAction, ReportFormat, scan, scan_json_line,
};
use delivery::email::smtp::tracking::parse_message_id;

/// Failed.
const F: RecipientAction = RecipientAction::Failed;
/// Delayed.
const D: RecipientAction = RecipientAction::Delayed;

type Row = (
    &'static str,
    BounceKind,
    &'static [(&'static str, RecipientAction, Option<&'static str>)],
);

/// (file under tests/data/bounces, kind, failed recipients: address, action, status)
const CORPUS: &[Row] = &[
    (
        "flufl/dsn_01.eml",
        Bounced,
        &[("userx@example.com", F, Some("5.0.0"))],
    ),
    (
        "flufl/dsn_02.eml",
        Bounced,
        &[("zzzzz@example.uk", F, Some("4.4.7"))],
    ),
    (
        "flufl/dsn_03.eml",
        Bounced,
        &[("userx@example.be", F, None)],
    ),
    (
        "flufl/dsn_05.eml",
        Delayed,
        &[("userx@example.cz", D, Some("4.4.1"))],
    ),
    (
        "flufl/dsn_06.eml",
        Delayed,
        &[("userx@example.com", D, Some("4.4.0"))],
    ),
    (
        "flufl/dsn_10.eml",
        Bounced,
        &[("anne.person@dom.ain", F, Some("5.0.0"))],
    ),
    (
        "flufl/dsn_11.eml",
        Bounced,
        &[("joem@example.com", F, Some("5.1.1"))],
    ),
    (
        "flufl/dsn_13.eml",
        Bounced,
        &[("userx@example.com", F, Some("5.1.1"))],
    ),
    (
        "flufl/dsn_15.eml",
        Bounced,
        &[("userx@example.com", F, Some("5.1.1"))],
    ),
    (
        "flufl/dsn_17.eml",
        Delayed,
        &[("userx@example.fi", D, Some("4.3.0"))],
    ),
    (
        "flufl/dsn_18.eml",
        Bounced,
        &[("email@replaced.net", F, Some("5.0.0"))],
    ),
    (
        "flufl/exim_01.eml",
        Bounced,
        &[("userx@its.example.nl", F, Some("5.1.1"))],
    ),
    (
        "flufl/groupwise_02.eml",
        Bounced,
        &[("userx@example.com", F, None)],
    ),
    ("flufl/groupwise_03.eml", NotABounce, &[]),
    (
        "flufl/hotpop_01.eml",
        Bounced,
        &[("userx@example.com", F, None)],
    ),
    (
        "flufl/microsoft_01.eml",
        Bounced,
        &[("userx@example.COM", F, None)],
    ),
    (
        "flufl/microsoft_02.eml",
        Bounced,
        &[("userx@example.COM", F, None)],
    ),
    (
        "flufl/netscape_01.eml",
        Bounced,
        &[("aaaaa@corel.com", F, None), ("bbbbb@corel.com", F, None)],
    ),
    (
        "flufl/postfix_01.eml",
        Bounced,
        &[("xxxxx@local.ie", F, Some("5.1.1"))],
    ),
    (
        "flufl/postfix_02.eml",
        Bounced,
        &[("yyyyy@digicool.com", F, None)],
    ),
    (
        "flufl/postfix_05.eml",
        Bounced,
        &[("userx@example.net", F, None)],
    ),
    (
        "flufl/qmail_01.eml",
        Bounced,
        &[("userx@example.de", F, None)],
    ),
    (
        "flufl/qmail_04.eml",
        Bounced,
        &[("userx@example.au", F, None)],
    ),
    ("flufl/qmail_06.eml", Bounced, &[("ntl@xxx.com", F, None)]),
    (
        "flufl/qmail_07.eml",
        Bounced,
        &[("user@example.net", F, None)],
    ),
    ("flufl/qmail_08.eml", AutoReply, &[]),
    (
        "flufl/sendmail_01.eml",
        Bounced,
        &[("zzzzz@shaft.coal.nl", F, None)],
    ),
    (
        "flufl/simple_01.eml",
        Bounced,
        &[("bbbsss@example.com", F, None)],
    ),
    (
        "flufl/simple_03.eml",
        Delayed,
        &[("userx@example.za", D, None)],
    ),
    (
        "flufl/simple_17.eml",
        Bounced,
        &[("userx@example.com", F, None)],
    ),
    (
        "flufl/simple_28.eml",
        Delayed,
        &[("userx@example.com", D, None)],
    ),
    (
        "flufl/simple_40.eml",
        Delayed,
        &[("user@example.com", D, None)],
    ),
    (
        "flufl/smtp32_01.eml",
        Bounced,
        &[("userx@example.ph", F, None)],
    ),
    (
        "flufl/yahoo_01.eml",
        Bounced,
        &[("userx@example.com", F, Some("4.4.1"))],
    ),
    (
        "flufl/yahoo_04.eml",
        Bounced,
        &[("userx@example.es", F, None), ("usery@example.uk", F, None)],
    ),
    (
        "flufl/yahoo_11.eml",
        Bounced,
        &[("bad_user@aol.com", F, Some("5.1.1"))],
    ),
    (
        "flufl/yahoo_13.eml",
        Bounced,
        &[("bogus-address@example.net", F, Some("5.1.1"))],
    ),
    (
        "rfc3464/c1_simple.eml",
        Bounced,
        &[("louisl@larry.slip.umd.edu", F, Some("4.0.0"))],
    ),
    (
        "rfc3464/c2_multi_recipient.eml",
        Bounced,
        &[
            ("arathib@vnet.ibm.com", F, Some("5.0.0")),
            ("johnh@hpnjld.njd.hp.com", D, Some("4.0.0")),
            ("wsnell@sdcc13.ucsd.edu", F, Some("5.0.0")),
        ],
    ),
    (
        "rfc3464/c3_foreign_gateway.eml",
        Bounced,
        &[("nair_s", F, Some("5.0.0"))],
    ),
    (
        "rfc3464/c4_delayed.eml",
        Delayed,
        &[("thomas@de-montfort.ac.uk", D, Some("4.0.0"))],
    ),
    ("sae/auto_reply.eml", AutoReply, &[]),
    (
        "sae/postfix_dsn_tracked.eml",
        Bounced,
        &[("nobody@example.org", F, Some("5.1.1"))],
    ),
    (
        "sae/verp_only_no_copy.eml",
        Bounced,
        &[("gone@example.net", F, None)],
    ),
];

fn sample(file: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/bounces")
        .join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_sample_gives_its_failed_recipients() {
    let mut failures = Vec::new();
    for (file, kind, expected) in CORPUS {
        let report = scan(&sample(file));
        let got: Vec<(&str, RecipientAction, Option<&str>)> = report
            .failed_recipients
            .iter()
            .map(|r| (r.address.as_str(), r.action, r.status.as_deref()))
            .collect();
        if report.kind != *kind || got != *expected {
            failures.push(format!(
                "{file}: expected {kind:?} {expected:?}, got {:?} {got:?}",
                report.kind
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} rows differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_corpus_covers_every_sample_on_disk() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bounces");
    let mut on_disk = Vec::new();
    for dir in ["flufl", "rfc3464", "sae"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("sample folder") {
            let name = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            if name.ends_with(".eml") {
                on_disk.push(format!("{dir}/{name}"));
            }
        }
    }
    on_disk.sort();
    let mut listed: Vec<String> = CORPUS.iter().map(|(f, ..)| (*f).to_owned()).collect();
    listed.sort();
    assert_eq!(
        listed, on_disk,
        "every sample has a row, every row a sample"
    );
}

#[test]
fn dsn_fields_are_read_as_written() {
    let report = scan(&sample("rfc3464/c2_multi_recipient.eml"));
    assert_eq!(report.format, Some(ReportFormat::Rfc3464));
    let first = &report.failed_recipients[0];
    assert_eq!(
        first.diagnostic.as_deref(),
        Some("550 'arathib@vnet.IBM.COM' is not a registered gateway user"),
        "the folded Diagnostic-Code is unfolded, without its smtp; type"
    );
    assert_eq!(report.failed_recipients[1].diagnostic, None);
    let report = scan(&sample("flufl/postfix_01.eml"));
    assert_eq!(report.format, Some(ReportFormat::NonStandard));
    let diagnostic = report.failed_recipients[0]
        .diagnostic
        .as_deref()
        .unwrap_or_default();
    assert!(
        diagnostic.contains("550 5.1.1") && diagnostic.contains("User unknown"),
        "{diagnostic}"
    );
}

#[test]
fn original_message_ids_come_from_the_returned_message() {
    let rows: &[(&str, Option<&str>)] = &[
        // message/rfc822 attachment
        (
            "flufl/dsn_11.eml",
            Some("<mailman.0.1035637201.19036.mailman-developers@python.org>"),
        ),
        // a report wrapped in multipart/mixed by a gateway: the inner report's attachment
        (
            "flufl/dsn_15.eml",
            Some("<mailman.4360.1149475419.1567.gpc-talk@grizz.org>"),
        ),
        // the copy of the original quoted after Exim's text report
        (
            "flufl/exim_01.eml",
            Some("<19990920022322.A19735@stereo.rotzorg.org>"),
        ),
        // text/rfc822-headers
        (
            "sae/postfix_dsn_tracked.eml",
            Some("<sae.4f1c2a9b8e7d6c5b4a3f2e1d0c9b8a7f.2.0a1b2c3d4e5f60718293a4b5@sae.example>"),
        ),
        // In-Reply-To of an automatic reply
        (
            "sae/auto_reply.eml",
            Some("<sae.4f1c2a9b8e7d6c5b4a3f2e1d0c9b8a7f.1.ffeeddccbbaa998877665544@sae.example>"),
        ),
        // "Message removed": nothing to find
        ("flufl/qmail_01.eml", None),
    ];
    for (file, expected) in rows {
        assert_eq!(
            scan(&sample(file)).original_message_id.as_deref(),
            *expected,
            "{file}"
        );
    }
}

#[test]
fn tracking_comes_from_the_message_id_or_the_verp_tag() {
    let tracked = scan(&sample("sae/postfix_dsn_tracked.eml"));
    let tracking = tracked.tracking.expect("tracked");
    assert_eq!(tracking.request_id(), "4f1c2a9b8e7d6c5b4a3f2e1d0c9b8a7f");
    assert_eq!(tracking.attempt(), 2);
    assert_eq!(
        tracked.verp_tag.as_deref(),
        Some("sae=4f1c2a9b8e7d6c5b4a3f2e1d0c9b8a7f=2")
    );
    let verp_only = scan(&sample("sae/verp_only_no_copy.eml"));
    assert_eq!(verp_only.original_message_id, None);
    let tracking = verp_only.tracking.expect("tracked by VERP alone");
    assert_eq!(tracking.request_id(), "0c9b8a7f4f1c2a9b8e7d6c5b4a3f2e1d");
    assert_eq!(tracking.attempt(), 1);
    let reply = scan(&sample("sae/auto_reply.eml"));
    assert_eq!(reply.tracking.map(|t| t.attempt()), Some(1));
    // A list server's VERP (Mailman) is reported as a tag but is not SAE's tracking.
    let mailman = scan(&sample("flufl/simple_40.eml"));
    assert_eq!(mailman.verp_tag.as_deref(), Some("user=example.com"));
    assert_eq!(mailman.tracking, None);
}

#[test]
fn tracking_survives_a_bounce_that_only_quotes_the_id() {
    // A bounce whose structure says nothing, but whose text quotes SAE's Message-ID.
    let id = "<sae.00ff.3.000102030405060708090a0b@sae.example>";
    let raw = format!(
        "From: postmaster@example.net\r\nSubject: Undeliverable: Your code\r\n\r\n\
         Your message {id} could not be delivered.\r\n"
    );
    let report = scan(raw.as_bytes());
    assert_eq!(report.kind, Bounced);
    assert_eq!(report.tracking, parse_message_id(id));
}

#[test]
fn a_reply_about_a_missing_code_is_not_a_bounce() {
    let raw = "From: Ana <ana@example.org>\r\nSubject: Re: Undeliverable code?\r\n\
               In-Reply-To: <sae.00ff.3.000102030405060708090a0b@sae.example>\r\n\r\n\
               The code could not be delivered to ana@example.org, says my phone.\r\n";
    let report = scan(raw.as_bytes());
    assert_eq!(report.kind, NotABounce);
    assert!(report.failed_recipients.is_empty());
    assert!(report.tracking.is_some(), "still traced, for the record");
}

#[test]
fn the_json_line_names_the_file_and_every_field() {
    let line = scan_json_line("c1.eml", &sample("rfc3464/c1_simple.eml"));
    let value: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(value["file"], "c1.eml");
    assert_eq!(value["kind"], "bounced");
    assert_eq!(value["format"], "rfc3464");
    assert_eq!(
        value["failed_recipients"][0]["address"],
        "louisl@larry.slip.umd.edu"
    );
    assert_eq!(value["failed_recipients"][0]["action"], "failed");
    assert_eq!(value["failed_recipients"][0]["status"], "4.0.0");
    assert_eq!(
        value["failed_recipients"][0]["diagnostic"],
        "426 connection timed out"
    );
    assert!(value["original_message_id"].is_null());
    assert!(value["tracking"].is_null());
    let tracked = scan_json_line("t.eml", &sample("sae/postfix_dsn_tracked.eml"));
    let value: serde_json::Value = serde_json::from_str(&tracked).expect("JSON");
    assert_eq!(value["tracking"]["attempt"], 2);
    assert_eq!(
        value["tracking"]["request_id"],
        "4f1c2a9b8e7d6c5b4a3f2e1d0c9b8a7f"
    );
}

#[test]
fn a_message_that_trips_mail_parsers_debug_assertion_is_read_without_panicking() {
    // Found by fuzz/bounce_scan: mail-parser 0.11 `debug_assert!`s on this MIME tree
    // ("Invalid part ID, could not find multipart"); tests are debug builds, so without the
    // guard in `scan` this test would panic.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz/bounce_scan_mail_parser_debug_assert.eml");
    let raw = std::fs::read(path).expect("sample");
    let report = scan(&raw);
    assert!(report.failed_recipients.len() <= 1, "{report:?}");
}
