//! The POP3 client (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH).

pub(crate) mod reply;

use std::collections::{BTreeMap, BTreeSet};

use reply::{Capabilities, Reply};

use super::account::{InboundAccount, InboundAuth};
use super::error::InboundError;
use super::net::Conn;
use super::position::{Pop3Position, Position};
use super::sasl::{self, Login};
use super::{Fetched, InboundMessage, MailboxStatus, MessageRef};
use crate::email::{SecretString, Security};

/// Longest status or listing line accepted (RFC 2449 allows 512 octets for replies).
const MAX_LINE: usize = 8 * 1024;

/// Longest command line with an initial SASL response (RFC 5034 §4: 255 octets);
/// longer responses go after a `+` continuation.
const MAX_COMMAND: usize = 255;

/// A logged-in POP3 session.
struct Session {
    conn: Conn,
}

pub(crate) async fn test(
    account: &InboundAccount,
    access_token: Option<&SecretString>,
) -> Result<MailboxStatus, InboundError> {
    let mut session = Session::open(account, access_token).await?;
    let text = session.ok("STAT", b"STAT\r\n").await?;
    let (messages, size) = reply::parse_stat(&text)?;
    session.quit().await?;
    Ok(MailboxStatus {
        messages,
        unseen: None,
        size_bytes: Some(size),
        uid_validity: None,
        uid_next: None,
    })
}

pub(crate) async fn fetch_new(
    account: &InboundAccount,
    access_token: Option<&SecretString>,
    position: &Pop3Position,
) -> Result<Fetched, InboundError> {
    let mut session = Session::open(account, access_token).await?;
    session.ok("UIDL", b"UIDL\r\n").await?;
    let mut listed: Vec<(u32, String)> = Vec::new();
    for line in session.listing("reading UIDL").await? {
        listed.push(reply::parse_uidl_line(&line)?);
    }
    session.ok("LIST", b"LIST\r\n").await?;
    let mut sizes = BTreeMap::new();
    for line in session.listing("reading LIST").await? {
        let (number, size) = reply::parse_list_line(&line)?;
        sizes.insert(number, size);
    }

    // Messages processed by an earlier (committed) check: delete them when asked to.
    let mut marked = BTreeSet::new();
    if !account.keep_copy() {
        for (number, uidl) in listed.iter().filter(|(_, u)| position.uidls.contains(u)) {
            let command = format!("DELE {number}\r\n");
            session.ok("DELE", command.as_bytes()).await?;
            marked.insert(uidl.clone());
        }
    }

    let new: Vec<&(u32, String)> = listed
        .iter()
        .filter(|(_, uidl)| !position.uidls.contains(uidl))
        .collect();
    let more = new.len() > account.max_messages();
    let mut messages = Vec::new();
    for (number, uidl) in new.into_iter().take(account.max_messages()) {
        let command = format!("RETR {number}\r\n");
        session.ok("RETR", command.as_bytes()).await?;
        let (raw, truncated) = session.message(account.max_message_bytes()).await?;
        messages.push(InboundMessage {
            id: MessageRef::Uidl(uidl.clone()),
            size: sizes.get(number).copied().unwrap_or(raw.len() as u64),
            raw,
            truncated,
        });
    }

    // QUIT commits the deletions (RFC 1939 §6); without its +OK nothing was deleted.
    let committed = session.quit().await.is_ok();
    let present: BTreeSet<&String> = listed.iter().map(|(_, u)| u).collect();
    let mut uidls: BTreeSet<String> = position
        .uidls
        .iter()
        .filter(|u| present.contains(u) && !(committed && marked.contains(*u)))
        .cloned()
        .collect();
    uidls.extend(messages.iter().filter_map(|m| match &m.id {
        MessageRef::Uidl(uidl) => Some(uidl.clone()),
        MessageRef::Uid(_) => None,
    }));
    Ok(Fetched {
        messages,
        position: Position::Pop3(Pop3Position { uidls }),
        deleted: if committed {
            u32::try_from(marked.len()).unwrap_or(u32::MAX)
        } else {
            0
        },
        more,
        uid_validity_changed: false,
    })
}

impl Session {
    /// Connects, reads the greeting, upgrades with STLS when asked, and logs in.
    async fn open(
        account: &InboundAccount,
        access_token: Option<&SecretString>,
    ) -> Result<Self, InboundError> {
        // Built first: an OAuth2 account without a token fails before any connection.
        let login = sasl::login(account, access_token)?;
        let mut session = Self {
            conn: Conn::open(account).await?,
        };
        match session.reply("reading the greeting").await? {
            Reply::Ok(_) => {}
            Reply::Err(text) | Reply::Continue(text) => {
                return Err(InboundError::Unavailable {
                    command: "greeting",
                    text,
                });
            }
        }
        if account.security() == Security::StartTls {
            session.conn.send("sending STLS", b"STLS\r\n").await?;
            match session.reply("waiting for STLS").await? {
                Reply::Ok(_) => {}
                Reply::Err(text) | Reply::Continue(text) => {
                    return Err(InboundError::StartTlsRefused { text });
                }
            }
            session.conn = session.conn.start_tls(account).await?;
        }
        let capabilities = session.capabilities().await?;
        // A password goes by SASL PLAIN, else SASL LOGIN, else USER/PASS (servers that
        // list no SASL mechanism; Dovecot lists USER even when it would refuse it).
        match account.auth() {
            InboundAuth::Password { username, password } if !capabilities.has_sasl("PLAIN") => {
                if capabilities.has_sasl("LOGIN") {
                    session
                        .authenticate(&sasl::login_mechanism(username, password))
                        .await?;
                } else {
                    session.user_pass(username, password).await?;
                }
            }
            _ => session.authenticate(&login).await?,
        }
        Ok(session)
    }

    /// CAPA, or no capabilities when the server does not know the command.
    async fn capabilities(&mut self) -> Result<Capabilities, InboundError> {
        self.conn.send("sending CAPA", b"CAPA\r\n").await?;
        let mut capabilities = Capabilities::default();
        if let Reply::Ok(_) = self.reply("reading CAPA").await? {
            for line in self.listing("reading CAPA").await? {
                capabilities.add_line(&line);
            }
        }
        Ok(capabilities)
    }

    /// `AUTH mechanism [initial-response]` and the exchange that follows.
    async fn authenticate(&mut self, login: &Login) -> Result<(), InboundError> {
        let mut command = zeroize::Zeroizing::new(format!("AUTH {}", login.mechanism));
        let inline =
            login.inline_first && command.len() + 1 + login.responses[0].len() + 2 <= MAX_COMMAND;
        if inline {
            command.push(' ');
            command.push_str(&login.responses[0]);
        }
        command.push_str("\r\n");
        self.conn.send("sending AUTH", command.as_bytes()).await?;
        let mut next = usize::from(inline);
        let mut challenge = None;
        loop {
            match self.reply("authenticating").await? {
                Reply::Ok(_) => return Ok(()),
                Reply::Continue(_) if next < login.responses.len() => {
                    let line = zeroize::Zeroizing::new(format!("{}\r\n", *login.responses[next]));
                    self.conn.send("authenticating", line.as_bytes()).await?;
                    next += 1;
                }
                Reply::Continue(text) if challenge.is_none() => {
                    challenge = Some(sasl::challenge_text(&text));
                    let line = format!("{}\r\n", login.after_error_challenge);
                    self.conn.send("authenticating", line.as_bytes()).await?;
                }
                Reply::Continue(_) => {
                    return Err(InboundError::Protocol {
                        text: "the server sent a second SASL error challenge".into(),
                    });
                }
                Reply::Err(text) => return Err(login_error(text, challenge)),
            }
        }
    }

    /// USER and PASS (servers that offer no SASL PLAIN).
    async fn user_pass(
        &mut self,
        username: &str,
        password: &SecretString,
    ) -> Result<(), InboundError> {
        if [username, password.expose()]
            .iter()
            .any(|v| v.contains(['\r', '\n', '\0']))
        {
            return Err(InboundError::PasswordNotSendable);
        }
        let user = format!("USER {username}\r\n");
        self.conn.send("sending USER", user.as_bytes()).await?;
        if let Reply::Err(text) | Reply::Continue(text) = self.reply("sending USER").await? {
            return Err(login_error(text, None));
        }
        let pass = zeroize::Zeroizing::new(format!("PASS {}\r\n", password.expose()));
        self.conn.send("sending PASS", pass.as_bytes()).await?;
        match self.reply("sending PASS").await? {
            Reply::Ok(_) => Ok(()),
            Reply::Err(text) | Reply::Continue(text) => Err(login_error(text, None)),
        }
    }

    /// Sends `command` and expects `+OK`; returns its text.
    async fn ok(&mut self, name: &'static str, command: &[u8]) -> Result<String, InboundError> {
        self.conn.send(name, command).await?;
        match self.reply(name).await? {
            Reply::Ok(text) => Ok(text),
            Reply::Err(text) | Reply::Continue(text) if reply::is_temporary(&text) => {
                Err(InboundError::Unavailable {
                    command: name,
                    text,
                })
            }
            Reply::Err(text) | Reply::Continue(text) => Err(InboundError::Refused {
                command: name,
                text,
            }),
        }
    }

    async fn reply(&mut self, operation: &'static str) -> Result<Reply, InboundError> {
        let line = self.conn.read_line(operation, MAX_LINE).await?;
        reply::parse_reply(&line)
    }

    /// The lines of a multi-line listing, up to the terminating `.`.
    async fn listing(&mut self, operation: &'static str) -> Result<Vec<String>, InboundError> {
        let mut lines = Vec::new();
        loop {
            let line = self.conn.read_line(operation, MAX_LINE).await?;
            match reply::unstuff(&line) {
                None => return Ok(lines),
                Some(text) => lines.push(String::from_utf8_lossy(text).into_owned()),
            }
        }
    }

    /// A message sent by RETR, unstuffed, lines joined with CR LF, kept up to `max` bytes
    /// (the rest is read and dropped).
    async fn message(&mut self, max: usize) -> Result<(Vec<u8>, bool), InboundError> {
        let mut raw = Vec::new();
        let mut truncated = false;
        loop {
            let room = max.saturating_sub(raw.len());
            // At least two bytes, so that a cut ".." line is never taken for the final ".".
            let (line, cut) = self.conn.read_line_capped("fetching", room + 2).await?;
            if !cut && line == b"." {
                return Ok((raw, truncated));
            }
            let text = line.strip_prefix(b".").unwrap_or(&line);
            if cut || text.len() + 2 > room {
                truncated = true;
            }
            let keep = text.len().min(room);
            raw.extend_from_slice(&text[..keep]);
            if raw.len() + 2 <= max {
                raw.extend_from_slice(b"\r\n");
            }
        }
    }

    /// QUIT: ends the session and, on `+OK`, commits the deletions.
    async fn quit(&mut self) -> Result<(), InboundError> {
        self.ok("QUIT", b"QUIT\r\n").await.map(|_| ())
    }
}

/// A refused login: temporary refusals are [`InboundError::Unavailable`].
fn login_error(text: String, challenge: Option<String>) -> InboundError {
    let text = match challenge {
        Some(challenge) => format!("{text} (challenge: {challenge})"),
        None => text,
    };
    if reply::is_temporary(&text) {
        InboundError::Unavailable {
            command: "login",
            text,
        }
    } else {
        InboundError::Authentication { text }
    }
}

/// Feeds every line of `data` to the reply parsers (see [`super::fuzzing`]).
pub(crate) fn fuzz_lines(data: &[u8]) {
    let mut capabilities = Capabilities::default();
    for line in data.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Ok(Reply::Err(text)) = reply::parse_reply(line) {
            let _ = reply::is_temporary(&text);
        }
        let text = String::from_utf8_lossy(line);
        let _ = reply::parse_stat(&text);
        if let Ok((number, uidl)) = reply::parse_uidl_line(&text) {
            assert!(number > 0 && !uidl.is_empty() && uidl.len() <= 70);
        }
        let _ = reply::parse_list_line(&text);
        capabilities.add_line(&text);
        if let Some(unstuffed) = reply::unstuff(line) {
            assert!(unstuffed.len() + 1 >= line.len());
        }
    }
}
