//! The IMAP client (RFC 3501; SASL-IR RFC 4959, UIDPLUS RFC 4315 when offered).

mod wire;

use imap_proto::{AttributeValue, Capability, MailboxDatum, Response, ResponseCode, Status};
use wire::{Event, ImapConn};

use super::account::{InboundAccount, InboundAuth};
use super::error::InboundError;
use super::net::Conn;
use super::position::{ImapPosition, Position};
use super::sasl::{self, Login};
use super::{Fetched, InboundMessage, MailboxStatus, MessageRef};
use crate::email::{SecretString, Security};

/// A logged-in IMAP session.
struct Session {
    imap: ImapConn,
    capabilities: Vec<String>,
}

/// What SELECT / EXAMINE said about the folder.
#[derive(Default)]
struct Opened {
    exists: u32,
    uid_validity: Option<u32>,
    uid_next: Option<u32>,
}

pub(crate) async fn test(
    account: &InboundAccount,
    access_token: Option<&SecretString>,
) -> Result<MailboxStatus, InboundError> {
    let mut session = Session::open(account, access_token).await?;
    let opened = session.open_folder(account, true).await?;
    let unseen = session.search("UNSEEN").await?.len();
    session.logout().await;
    Ok(MailboxStatus {
        messages: opened.exists,
        unseen: Some(u32::try_from(unseen).unwrap_or(u32::MAX)),
        size_bytes: None,
        uid_validity: opened.uid_validity,
        uid_next: opened.uid_next,
    })
}

pub(crate) async fn fetch_new(
    account: &InboundAccount,
    access_token: Option<&SecretString>,
    position: &ImapPosition,
) -> Result<Fetched, InboundError> {
    let mut session = Session::open(account, access_token).await?;
    let opened = session.open_folder(account, account.keep_copy()).await?;
    let uid_validity = opened.uid_validity.ok_or_else(|| InboundError::Protocol {
        text: "the server gave no UIDVALIDITY for the folder".into(),
    })?;
    let changed = position.uid_validity != 0 && position.uid_validity != uid_validity;
    let last_uid = if position.uid_validity == uid_validity {
        position.last_uid
    } else {
        0
    };

    // Messages an earlier, committed check processed: delete them when asked to.
    let mut deleted = 0;
    if !account.keep_copy() && last_uid > 0 {
        deleted = session.delete_up_to(last_uid).await?;
    }

    let mut new: Vec<u32> = session
        .search(&format!("UID {}:*", last_uid.saturating_add(1)))
        .await?
        .into_iter()
        .filter(|uid| *uid > last_uid)
        .collect();
    new.sort_unstable();
    let more = new.len() > account.max_messages();
    new.truncate(account.max_messages());
    let messages = session.fetch(&new, account.max_message_bytes()).await?;
    session.logout().await;
    let last_uid = messages
        .iter()
        .filter_map(|m| match m.id {
            MessageRef::Uid(uid) => Some(uid),
            MessageRef::Uidl(_) => None,
        })
        .max()
        .unwrap_or(last_uid);
    Ok(Fetched {
        messages,
        position: Position::Imap(ImapPosition {
            uid_validity,
            last_uid,
        }),
        deleted,
        more,
        uid_validity_changed: changed,
    })
}

impl Session {
    /// Connects, reads the greeting, upgrades with STARTTLS when asked, and logs in.
    async fn open(
        account: &InboundAccount,
        access_token: Option<&SecretString>,
    ) -> Result<Self, InboundError> {
        // Built first: an OAuth2 account without a token fails before any connection.
        let login = sasl::login(account, access_token)?;
        let mut imap = ImapConn::new(Conn::open(account).await?, account.max_message_bytes());
        let mut capabilities = match imap.event("reading the greeting").await? {
            Event::Untagged(Response::Data {
                status: Status::Ok,
                outcome,
            }) => capability_names(outcome.code.as_ref()),
            Event::Bye(text) => {
                return Err(InboundError::Unavailable {
                    command: "greeting",
                    text,
                });
            }
            other => {
                return Err(InboundError::Protocol {
                    text: format!("not an IMAP greeting: {other:?}"),
                });
            }
        };
        if account.security() == Security::StartTls {
            let (_, status, text) = imap.run("sending STARTTLS", "STARTTLS").await?;
            if status != Status::Ok {
                return Err(InboundError::StartTlsRefused { text });
            }
            imap.conn = imap.conn.start_tls(account).await?;
            // Capabilities seen before TLS may have been forged.
            capabilities.clear();
        }
        let mut session = Self { imap, capabilities };
        if session.capabilities.is_empty() {
            session.refresh_capabilities().await?;
        }
        // A password goes by SASL PLAIN, else the LOGIN command, else SASL LOGIN.
        match account.auth() {
            InboundAuth::Password { username, password } if !session.has("AUTH=PLAIN") => {
                if !session.has("LOGINDISABLED") {
                    session.login(username, password).await?;
                } else if session.has("AUTH=LOGIN") {
                    session
                        .authenticate(&sasl::login_mechanism(username, password))
                        .await?;
                } else {
                    return Err(InboundError::Authentication {
                        text:
                            "the server disabled LOGIN and offers neither AUTH=PLAIN nor AUTH=LOGIN"
                                .into(),
                    });
                }
            }
            _ => session.authenticate(&login).await?,
        }
        Ok(session)
    }

    async fn refresh_capabilities(&mut self) -> Result<(), InboundError> {
        let (untagged, status, text) = self.imap.run("asking CAPABILITY", "CAPABILITY").await?;
        if status != Status::Ok {
            return Err(refused("CAPABILITY", text));
        }
        for response in untagged {
            if let Response::Capabilities(list) = response {
                self.capabilities = list.iter().map(capability_name).collect();
            }
        }
        Ok(())
    }

    fn has(&self, capability: &str) -> bool {
        self.capabilities
            .iter()
            .any(|c| c.eq_ignore_ascii_case(capability))
    }

    /// `AUTHENTICATE mechanism` (with the first response inline when the mechanism allows
    /// it and the server offers SASL-IR) and the exchange that follows.
    async fn authenticate(&mut self, login: &Login) -> Result<(), InboundError> {
        let inline = login.inline_first && self.has("SASL-IR");
        let command = if inline {
            zeroize::Zeroizing::new(format!(
                "AUTHENTICATE {} {}",
                login.mechanism, *login.responses[0]
            ))
        } else {
            zeroize::Zeroizing::new(format!("AUTHENTICATE {}", login.mechanism))
        };
        let tag = self.imap.command("authenticating", &command).await?;
        let mut next = usize::from(inline);
        let mut challenge = None;
        loop {
            match self.imap.event("authenticating").await? {
                Event::Continue(_) if next < login.responses.len() => {
                    self.imap
                        .line("authenticating", &login.responses[next])
                        .await?;
                    next += 1;
                }
                Event::Continue(text) if challenge.is_none() => {
                    challenge = Some(sasl::challenge_text(&text));
                    self.imap
                        .line("authenticating", login.after_error_challenge)
                        .await?;
                }
                Event::Continue(_) => {
                    return Err(InboundError::Protocol {
                        text: "the server sent a second SASL error challenge".into(),
                    });
                }
                Event::Done {
                    tag: done,
                    status,
                    text,
                } if done == tag => {
                    if status == Status::Ok {
                        return Ok(());
                    }
                    return Err(login_error(text, challenge));
                }
                Event::Done { text, .. } | Event::Bye(text) => {
                    return Err(login_error(text, challenge));
                }
                Event::Untagged(_) => {}
            }
        }
    }

    /// `LOGIN user password` (servers that offer no AUTH=PLAIN), with quoted strings.
    async fn login(&mut self, username: &str, password: &SecretString) -> Result<(), InboundError> {
        let (Some(user), Some(pass)) = (wire::quoted(username), wire::quoted(password.expose()))
        else {
            return Err(InboundError::PasswordNotSendable);
        };
        let pass = zeroize::Zeroizing::new(pass);
        let command = zeroize::Zeroizing::new(format!("LOGIN {user} {}", *pass));
        let (_, status, text) = self.imap.run("logging in", &command).await?;
        if status != Status::Ok {
            return Err(login_error(text, None));
        }
        Ok(())
    }

    /// SELECT (or EXAMINE when `read_only`) the account's folder.
    async fn open_folder(
        &mut self,
        account: &InboundAccount,
        read_only: bool,
    ) -> Result<Opened, InboundError> {
        let verb = if read_only { "EXAMINE" } else { "SELECT" };
        let command = format!("{verb} {}", wire::mailbox_name(account.folder()));
        let (untagged, status, text) = self.imap.run("opening the folder", &command).await?;
        if status != Status::Ok {
            return Err(InboundError::Folder {
                folder: account.folder().to_owned(),
                text,
            });
        }
        let mut opened = Opened::default();
        for response in &untagged {
            match response {
                Response::MailboxData(MailboxDatum::Exists(n)) => opened.exists = *n,
                Response::Data { outcome, .. } => match outcome.code {
                    Some(ResponseCode::UidValidity(v)) => opened.uid_validity = Some(v),
                    Some(ResponseCode::UidNext(v)) => opened.uid_next = Some(v),
                    _ => {}
                },
                _ => {}
            }
        }
        Ok(opened)
    }

    /// `SEARCH criteria` (with `UID` criteria the numbers are UIDs: this client only
    /// searches by UID or counts).
    async fn search(&mut self, criteria: &str) -> Result<Vec<u32>, InboundError> {
        let command = format!("UID SEARCH {criteria}");
        let (untagged, status, text) = self.imap.run("searching", &command).await?;
        if status != Status::Ok {
            return Err(refused("UID SEARCH", text));
        }
        Ok(untagged
            .into_iter()
            .flat_map(|response| match response {
                Response::MailboxData(MailboxDatum::Search(uids)) => uids,
                _ => Vec::new(),
            })
            .collect())
    }

    /// Marks UIDs 1..=`last_uid` deleted and expunges them (only them with UIDPLUS).
    /// Returns how many the server expunged.
    async fn delete_up_to(&mut self, last_uid: u32) -> Result<u32, InboundError> {
        let range = format!("1:{last_uid}");
        let (_, status, text) = self
            .imap
            .run(
                "deleting",
                &format!("UID STORE {range} +FLAGS.SILENT (\\Deleted)"),
            )
            .await?;
        if status != Status::Ok {
            return Err(refused("UID STORE", text));
        }
        let expunge = if self.has("UIDPLUS") {
            format!("UID EXPUNGE {range}")
        } else {
            "EXPUNGE".to_owned()
        };
        let (untagged, status, text) = self.imap.run("expunging", &expunge).await?;
        if status != Status::Ok {
            return Err(refused("EXPUNGE", text));
        }
        let expunged = untagged
            .iter()
            .filter(|r| matches!(r, Response::Expunge(_)))
            .count();
        Ok(u32::try_from(expunged).unwrap_or(u32::MAX))
    }

    /// Fetches `uids` (ascending), each cut to `max` bytes, without setting `\Seen`.
    async fn fetch(
        &mut self,
        uids: &[u32],
        max: usize,
    ) -> Result<Vec<InboundMessage>, InboundError> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let set = uids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let command = format!("UID FETCH {set} (UID RFC822.SIZE BODY.PEEK[]<0.{max}>)");
        let (untagged, status, text) = self.imap.run("fetching", &command).await?;
        if status != Status::Ok {
            return Err(refused("UID FETCH", text));
        }
        let mut messages: Vec<InboundMessage> = untagged
            .into_iter()
            .filter_map(|response| match response {
                Response::Fetch(_, attributes) => fetched_message(attributes),
                _ => None,
            })
            .filter(|m| matches!(m.id, MessageRef::Uid(uid) if uids.contains(&uid)))
            .collect();
        messages.sort_by_key(|m| match m.id {
            MessageRef::Uid(uid) => uid,
            MessageRef::Uidl(_) => 0,
        });
        messages.dedup_by_key(|m| m.id.clone());
        Ok(messages)
    }

    /// LOGOUT, best effort: the work is done, a failure here changes nothing.
    async fn logout(&mut self) {
        let _ = self.imap.run("logging out", "LOGOUT").await;
    }
}

/// A FETCH response as a message; `None` without a UID or a body.
fn fetched_message(attributes: Vec<AttributeValue<'static>>) -> Option<InboundMessage> {
    let mut uid = None;
    let mut size = None;
    let mut body = None;
    for attribute in attributes {
        match attribute {
            AttributeValue::Uid(u) => uid = Some(u),
            AttributeValue::Rfc822Size(s) => size = Some(u64::from(s)),
            AttributeValue::BodySection { data, .. } | AttributeValue::Rfc822(data) => {
                body = Some(data.map(std::borrow::Cow::into_owned).unwrap_or_default());
            }
            _ => {}
        }
    }
    let raw = body?;
    let size = size.unwrap_or(raw.len() as u64);
    Some(InboundMessage {
        id: MessageRef::Uid(uid?),
        truncated: size > raw.len() as u64,
        size,
        raw,
    })
}

fn capability_names(code: Option<&ResponseCode<'_>>) -> Vec<String> {
    match code {
        Some(ResponseCode::Capabilities(list)) => list.iter().map(capability_name).collect(),
        _ => Vec::new(),
    }
}

fn capability_name(capability: &Capability<'_>) -> String {
    match capability {
        Capability::Imap4rev1 => "IMAP4rev1".to_owned(),
        Capability::Auth(mechanism) => format!("AUTH={mechanism}"),
        Capability::Atom(atom) => atom.to_string(),
    }
}

/// A refused login: `[UNAVAILABLE]` is temporary; the SASL error challenge is appended.
fn login_error(text: String, challenge: Option<String>) -> InboundError {
    let text = match challenge {
        Some(challenge) => format!("{text} (challenge: {challenge})"),
        None => text,
    };
    if is_temporary(&text) {
        InboundError::Unavailable {
            command: "login",
            text,
        }
    } else {
        InboundError::Authentication { text }
    }
}

/// True for the response codes of temporary refusals (RFC 5530 `UNAVAILABLE`, `INUSE`).
fn is_temporary(text: &str) -> bool {
    text.contains("[UNAVAILABLE]") || text.contains("[INUSE]")
}

/// A refused command: `[UNAVAILABLE]` / `[INUSE]` are temporary.
fn refused(command: &'static str, text: String) -> InboundError {
    if is_temporary(&text) {
        InboundError::Unavailable { command, text }
    } else {
        InboundError::Refused { command, text }
    }
}

/// Reads IMAP responses from `data` as the client does (see [`super::fuzzing`]).
pub(crate) fn fuzz_responses(data: &[u8]) {
    let mut buf = data.to_vec();
    while let Ok(Some(event)) = wire::next_event(&mut buf) {
        match event {
            Event::Untagged(Response::Fetch(_, attributes)) => {
                if let Some(message) = fetched_message(attributes) {
                    assert!(message.truncated == (message.size > message.raw.len() as u64));
                }
            }
            Event::Untagged(Response::Data { outcome, .. }) => {
                let _ = capability_names(outcome.code.as_ref());
            }
            Event::Continue(text) => {
                let _ = sasl::challenge_text(&text);
            }
            _ => {}
        }
    }
}
