//! IMAP and POP3 against a real Dovecot (password logins): TLS and STARTTLS with a
//! self-signed certificate (refused unless ignored), keep copy on and off, a restart in
//! the middle of a mailbox (each message processed exactly once), size limits, the
//! server's own error texts, timeouts.

use std::collections::BTreeMap;
use std::time::Duration;

use delivery::Classified;
use delivery::email::Security;
use delivery::email::inbound::bounce::scan;
use delivery::email::inbound::{
    self, Fetched, InboundAccount, InboundAuth, InboundError, InboundSettings, Position, Protocol,
};

use crate::dovecot::{Dovecot, Ports, User};

pub const USER: User = User {
    name: "bounces@sae.test",
    password: "imap-pw-S3CRET",
};

/// The bounce samples delivered into the mailbox, with the failed recipient of each.
const SAMPLES: &[(&str, &str)] = &[
    ("rfc3464/c1_simple.eml", "louisl@larry.slip.umd.edu"),
    ("rfc3464/c4_delayed.eml", "thomas@de-montfort.ac.uk"),
    ("flufl/postfix_01.eml", "xxxxx@local.ie"),
    ("flufl/qmail_01.eml", "userx@example.de"),
    ("sae/postfix_dsn_tracked.eml", "nobody@example.org"),
];

pub fn sample(file: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/bounces")
        .join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The port and security of each way to reach Dovecot.
pub fn endpoint(ports: Ports, protocol: Protocol, security: Security) -> u16 {
    match (protocol, security) {
        (Protocol::Imap, Security::Tls) => ports.imaps,
        (Protocol::Imap, _) => ports.imap,
        (Protocol::Pop3, Security::Tls) => ports.pop3s,
        (Protocol::Pop3, _) => ports.pop3,
    }
}

/// An account on the Dovecot at `ports`, certificate checks off (the certificate is
/// self-signed) unless `edit` turns them on.
pub fn account(
    ports: Ports,
    protocol: Protocol,
    security: Security,
    auth: InboundAuth,
    edit: impl FnOnce(&mut InboundSettings),
) -> InboundAccount {
    let mut s = InboundSettings::new("dovecot", protocol, "127.0.0.1", auth);
    s.security = security;
    s.port = endpoint(ports, protocol, security);
    s.dangerous_ignore_cert_errors = true;
    s.timeout = Duration::from_secs(20);
    edit(&mut s);
    InboundAccount::new(s).expect("valid account")
}

pub fn password(user: &User) -> InboundAuth {
    InboundAuth::Password {
        username: user.name.into(),
        password: user.password.into(),
    }
}

/// The failed recipient each fetched message names (read by the bounce parser).
fn recipients(fetched: &[Fetched]) -> Vec<String> {
    let mut out: Vec<String> = fetched
        .iter()
        .flat_map(|f| &f.messages)
        .map(|m| scan(&m.raw).failed_recipients[0].address.clone())
        .collect();
    out.sort();
    out
}

fn expected_recipients() -> Vec<String> {
    let mut out: Vec<String> = SAMPLES.iter().map(|(_, r)| (*r).to_owned()).collect();
    out.sort();
    out
}

/// Checks until nothing new comes, two messages at a time; between checks only the
/// stored JSON of the position survives, as across a restart of the server.
async fn drain_in_pairs(account: &InboundAccount) -> Vec<Fetched> {
    let mut position = Position::start(account.protocol());
    let mut rounds = Vec::new();
    for _ in 0..10 {
        let fetched = inbound::fetch_new(account, None, &position)
            .await
            .expect("fetch");
        assert!(fetched.messages.len() <= 2, "max_messages is 2");
        let stored = serde_json::to_string(&fetched.position).expect("store");
        position = serde_json::from_str(&stored).expect("load");
        let done = fetched.messages.is_empty();
        rounds.push(fetched);
        if done {
            return rounds;
        }
    }
    panic!("the mailbox never ran dry");
}

#[tokio::test]
async fn a_restart_in_the_middle_processes_each_message_once() {
    let Some(dovecot) = Dovecot::start(&[USER], None) else {
        return;
    };
    for (file, _) in SAMPLES {
        dovecot.deliver(USER.name, &sample(file));
    }
    for (protocol, security) in [
        (Protocol::Imap, Security::Tls),
        (Protocol::Pop3, Security::StartTls),
    ] {
        let account = account(dovecot.ports, protocol, security, password(&USER), |s| {
            s.max_messages = 2;
        });
        let status = inbound::test(&account, None).await.expect("test");
        assert_eq!(status.messages, 5, "{protocol}");
        let rounds = drain_in_pairs(&account).await;
        assert_eq!(rounds.len(), 4, "{protocol}: 2 + 2 + 1 + nothing");
        assert!(
            rounds[0].more && rounds[1].more && !rounds[2].more,
            "{protocol}"
        );
        assert_eq!(
            recipients(&rounds),
            expected_recipients(),
            "{protocol}: each once"
        );
        let tracked = rounds
            .iter()
            .flat_map(|r| &r.messages)
            .filter_map(|m| scan(&m.raw).tracking)
            .collect::<Vec<_>>();
        assert_eq!(tracked.len(), 1, "{protocol}: the SAE sample is traced");
        assert_eq!(tracked[0].attempt(), 2);
        // Keep copy: everything is still there, and IMAP left it unseen.
        let status = inbound::test(&account, None).await.expect("test");
        assert_eq!(status.messages, 5, "{protocol}: kept");
        if protocol == Protocol::Imap {
            assert_eq!(status.unseen, Some(5), "BODY.PEEK sets no \\Seen");
            assert!(status.uid_validity.is_some());
        }
    }
}

#[tokio::test]
async fn without_keep_copy_committed_messages_are_deleted_at_the_next_check() {
    let Some(dovecot) = Dovecot::start(&[USER], None) else {
        return;
    };
    for protocol in [Protocol::Imap, Protocol::Pop3] {
        let account = account(
            dovecot.ports,
            protocol,
            Security::StartTls,
            password(&USER),
            |s| {
                s.keep_copy = false;
            },
        );
        for (file, _) in &SAMPLES[..3] {
            dovecot.deliver(USER.name, &sample(file));
        }
        let first = inbound::fetch_new(&account, None, &Position::start(protocol))
            .await
            .expect("first check");
        assert_eq!((first.messages.len(), first.deleted), (3, 0), "{protocol}");
        // A message arrives between the checks; the first three were processed and
        // their position committed, so the next check deletes them.
        dovecot.deliver(USER.name, &sample(SAMPLES[3].0));
        let second = inbound::fetch_new(&account, None, &first.position)
            .await
            .expect("second check");
        assert_eq!(
            (second.messages.len(), second.deleted),
            (1, 3),
            "{protocol}"
        );
        let third = inbound::fetch_new(&account, None, &second.position)
            .await
            .expect("third check");
        assert_eq!((third.messages.len(), third.deleted), (0, 1), "{protocol}");
        let status = inbound::test(&account, None).await.expect("test");
        assert_eq!(status.messages, 0, "{protocol}: the mailbox is empty");
        let all = recipients(&[first, second]);
        let mut expected: Vec<String> = SAMPLES[..4].iter().map(|(_, r)| (*r).to_owned()).collect();
        expected.sort();
        assert_eq!(all, expected, "{protocol}: each message once");
        if let Position::Pop3(p) = &third.position {
            assert!(p.uidls.is_empty(), "deleted messages leave the position");
        }
    }
}

#[tokio::test]
async fn a_self_signed_certificate_is_refused_unless_ignored() {
    let Some(dovecot) = Dovecot::start(&[USER], None) else {
        return;
    };
    for protocol in [Protocol::Imap, Protocol::Pop3] {
        for security in [Security::Tls, Security::StartTls] {
            let checked = account(dovecot.ports, protocol, security, password(&USER), |s| {
                s.dangerous_ignore_cert_errors = false;
            });
            assert!(checked.warnings().is_empty());
            let err = inbound::test(&checked, None)
                .await
                .expect_err("an untrusted certificate");
            assert!(
                matches!(&err, InboundError::Tls { text } if text.contains("UnknownIssuer")),
                "{protocol} {security:?}: {err}"
            );
            assert!(err.is_permanent() && !err.is_authentication());
            let ignoring = account(dovecot.ports, protocol, security, password(&USER), |_| {});
            assert!(!ignoring.warnings().is_empty(), "ignoring is warned about");
            inbound::test(&ignoring, None)
                .await
                .unwrap_or_else(|e| panic!("{protocol} {security:?} ignoring: {e}"));
        }
        let plain = account(
            dovecot.ports,
            protocol,
            Security::None,
            password(&USER),
            |_| {},
        );
        inbound::test(&plain, None)
            .await
            .unwrap_or_else(|e| panic!("{protocol} plain: {e}"));
    }
}

#[tokio::test]
async fn errors_carry_the_servers_text_and_no_secret() {
    let Some(dovecot) = Dovecot::start(&[USER], None) else {
        return;
    };
    let wrong = InboundAuth::Password {
        username: USER.name.into(),
        password: "wrong-pw-XYZZY".into(),
    };
    let rows = [
        (Protocol::Imap, "[AUTHENTICATIONFAILED]"),
        (Protocol::Pop3, "[AUTH]"),
    ];
    for (protocol, code) in rows {
        let account = account(
            dovecot.ports,
            protocol,
            Security::Tls,
            wrong.clone(),
            |_| {},
        );
        let err = inbound::test(&account, None)
            .await
            .expect_err("wrong password");
        assert!(err.is_authentication(), "{protocol}: {err}");
        let text = format!("{err} {err:?}");
        assert!(text.contains(code), "{protocol}: {text}");
        assert!(
            !text.contains("XYZZY"),
            "{protocol}: the password leaked: {text}"
        );
    }
    let folder = account(
        dovecot.ports,
        Protocol::Imap,
        Security::Tls,
        password(&USER),
        |s| {
            s.folder = "Devoluções".into();
        },
    );
    let err = inbound::test(&folder, None)
        .await
        .expect_err("no such folder");
    // The server's own words, with the name it decoded from modified UTF-7.
    assert!(
        matches!(&err, InboundError::Folder { text, .. }
            if text.starts_with("NO ") && text.contains("Mailbox doesn't exist: Devoluções")),
        "{err}"
    );
    assert!(
        !dovecot.log().contains(USER.password),
        "the password is not logged"
    );
}

#[tokio::test]
async fn without_sasl_plain_the_login_mechanism_is_used() {
    // Only SASL LOGIN offered (Dovecot then also disables the IMAP LOGIN command, which
    // needs PLAIN): the username and the password go after the server's two prompts.
    const QUOTED: User = User {
        name: "quoted@sae.test",
        password: r#"pa"ss\word"#,
    };
    let Some(dovecot) = Dovecot::start_with(&[USER, QUOTED], None, "login") else {
        return;
    };
    for user in [&USER, &QUOTED] {
        for protocol in [Protocol::Imap, Protocol::Pop3] {
            let account = account(
                dovecot.ports,
                protocol,
                Security::Tls,
                password(user),
                |_| {},
            );
            inbound::test(&account, None)
                .await
                .unwrap_or_else(|e| panic!("{protocol} {}: {e}\n{}", user.name, dovecot.log()));
        }
    }
    let log = dovecot.log();
    assert!(
        !log.contains("method=PLAIN"),
        "no SASL PLAIN was used:\n{log}"
    );
}

#[tokio::test]
async fn long_messages_are_cut_to_the_limit() {
    let Some(dovecot) = Dovecot::start(&[USER], None) else {
        return;
    };
    let mut raw = sample("rfc3464/c2_multi_recipient.eml");
    let body_line = format!("{}\r\n", "x".repeat(998));
    raw.extend(body_line.repeat(300).into_bytes());
    dovecot.deliver(USER.name, &raw);
    for protocol in [Protocol::Imap, Protocol::Pop3] {
        let account = account(
            dovecot.ports,
            protocol,
            Security::Tls,
            password(&USER),
            |s| {
                s.max_message_bytes = 16 * 1024;
            },
        );
        let fetched = inbound::fetch_new(&account, None, &Position::start(protocol))
            .await
            .expect("fetch");
        let message = &fetched.messages[0];
        assert!(message.truncated, "{protocol}");
        assert!(
            message.raw.len() <= 16 * 1024,
            "{protocol}: {}",
            message.raw.len()
        );
        assert!(
            message.size > 300_000,
            "{protocol}: the full size is reported"
        );
        // The report comes first, so a cut bounce is still read.
        let report = scan(&message.raw);
        assert_eq!(report.failed_recipients.len(), 3, "{protocol}");
    }
}

#[tokio::test]
async fn unreachable_and_silent_servers_fail_in_time() {
    let refused = account(
        Ports::free(),
        Protocol::Imap,
        Security::Tls,
        password(&USER),
        |_| {},
    );
    let err = inbound::test(&refused, None)
        .await
        .expect_err("nobody listens");
    assert!(
        matches!(err, InboundError::Connect { .. }) && err.is_transient(),
        "{err}"
    );
    // A server that accepts and never says a word.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let held = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let mut by_protocol = BTreeMap::new();
    for protocol in [Protocol::Imap, Protocol::Pop3] {
        let silent = account(
            Ports {
                imap: port,
                imaps: port,
                pop3: port,
                pop3s: port,
            },
            protocol,
            Security::None,
            password(&USER),
            |s| s.timeout = Duration::from_millis(300),
        );
        let err = inbound::test(&silent, None).await.expect_err("silence");
        assert!(err.is_timeout() && err.is_transient(), "{protocol}: {err}");
        by_protocol.insert(protocol.as_str(), err.to_string());
    }
    held.abort();
    assert!(by_protocol["imap"].contains("greeting"), "{by_protocol:?}");
}
