//! `sae mail scan-bounce` end to end: the built binary over the bounce corpus of the delivery
//! tests (the RFC 3464 Appendix C examples, real bounces of many MTAs from flufl.bounce, and
//! SAE-shaped ones; see `delivery/tests/data/bounces/README.md`): one JSON line per file,
//! every bounce with its failed recipients.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

fn corpus() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../delivery/tests/data/bounces");
    let mut files: Vec<PathBuf> = ["rfc3464", "flufl", "sae"]
        .iter()
        .flat_map(|d| std::fs::read_dir(root.join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files
}

fn scan(files: &[PathBuf]) -> (Vec<Value>, String, bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_sae"))
        .args(["mail", "scan-bounce"])
        .args(files)
        .env_remove("SAE_LOG")
        .output()
        .expect("the sae binary runs");
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        lines,
        String::from_utf8(out.stderr).unwrap(),
        out.status.success(),
    )
}

fn line_of<'a>(lines: &'a [Value], name: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["file"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("no line for {name}"))
}

#[test]
fn scan_bounce_reads_every_corpus_file_and_finds_the_failed_recipients() {
    let files = corpus();
    assert!(files.len() >= 40, "the corpus is there: {}", files.len());
    let (lines, stderr, ok) = scan(&files);
    assert!(ok && stderr.is_empty(), "{stderr}");
    assert_eq!(lines.len(), files.len(), "one line per file");
    for line in &lines {
        let kind = line["kind"].as_str().unwrap();
        if kind == "bounced" || kind == "delayed" {
            let failed = line["failed_recipients"].as_array().unwrap();
            assert!(!failed.is_empty(), "a bounce names its recipients: {line}");
            assert!(failed.iter().all(|r| r["address"].is_string()), "{line}");
        }
    }
    // RFC 3464 C.2: three recipients, in report order: failed, delayed, failed.
    let c2 = line_of(&lines, "c2_multi_recipient.eml");
    assert_eq!(c2["kind"], json!("bounced"));
    assert_eq!(c2["format"], json!("rfc3464"));
    let actions: Vec<&str> = c2["failed_recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["failed", "delayed", "failed"], "{c2}");
    assert_eq!(line_of(&lines, "c4_delayed.eml")["kind"], json!("delayed"));
    // A Postfix text report, with status and diagnostic.
    let postfix = line_of(&lines, "postfix_01.eml");
    assert_eq!(postfix["kind"], json!("bounced"));
    assert_eq!(postfix["format"], json!("non_standard"));
    // SAE's own tracking, from the Message-ID quoted in the report.
    let tracked = line_of(&lines, "postfix_dsn_tracked.eml");
    assert!(
        tracked["original_message_id"]
            .as_str()
            .unwrap()
            .starts_with("<sae.")
    );
    assert!(tracked["tracking"]["request_id"].is_string(), "{tracked}");
    assert_eq!(
        line_of(&lines, "auto_reply.eml")["kind"],
        json!("auto_reply")
    );
    assert_eq!(
        line_of(&lines, "groupwise_03.eml")["kind"],
        json!("not_a_bounce")
    );
}

#[test]
fn scan_bounce_reports_an_unreadable_file_and_goes_on() {
    let mut files = corpus();
    files.truncate(1);
    files.insert(0, PathBuf::from("/nonexistent/bounce.eml"));
    let (lines, stderr, ok) = scan(&files);
    assert!(!ok, "exit status 1");
    assert_eq!(lines.len(), 1, "the readable file is still printed");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("/nonexistent/bounce.eml"), "{stderr}");
}
