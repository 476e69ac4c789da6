//! IMAP framing: tagged commands out, responses in (parsed by `imap-proto`), with the
//! server's own text kept for error messages; quoting and modified UTF-7 for arguments.

use data_encoding::BASE64_NOPAD;
use imap_proto::{Response, Status};

use super::super::error::InboundError;
use super::super::net::Conn;

/// Longest text kept from a server line for an error message, in characters.
const MAX_TEXT: usize = 300;

/// Room for a response's protocol around a message literal (FETCH items, headers).
const RESPONSE_OVERHEAD: usize = 64 * 1024;

/// One response of the server.
#[derive(Debug)]
pub(crate) enum Event {
    /// An untagged response (`* …`) other than BYE.
    Untagged(Response<'static>),
    /// A continuation request (`+ text`): the text after `+ `.
    Continue(String),
    /// The completion of a command.
    Done {
        /// The command's tag.
        tag: String,
        /// OK, NO or BAD.
        status: Status,
        /// The server's text after the tag, e.g. `NO [AUTHENTICATIONFAILED] Authentication failed.`
        text: String,
    },
    /// `* BYE text`: the server is closing the connection.
    Bye(String),
}

/// A connection speaking IMAP.
pub(crate) struct ImapConn {
    pub(crate) conn: Conn,
    next_tag: u32,
    max_response: usize,
}

impl ImapConn {
    /// IMAP over `conn`; a response may hold a message of `max_message_bytes`.
    pub(crate) fn new(conn: Conn, max_message_bytes: usize) -> Self {
        Self {
            conn,
            next_tag: 1,
            max_response: max_message_bytes + RESPONSE_OVERHEAD,
        }
    }

    /// Sends `TAG command` and returns the tag. `command` must not end with CR LF.
    pub(crate) async fn command(
        &mut self,
        operation: &'static str,
        command: &str,
    ) -> Result<String, InboundError> {
        let tag = format!("S{}", self.next_tag);
        self.next_tag += 1;
        let line = zeroize::Zeroizing::new(format!("{tag} {command}\r\n"));
        self.conn.send(operation, line.as_bytes()).await?;
        Ok(tag)
    }

    /// Sends one untagged line (a SASL response), CR LF added.
    pub(crate) async fn line(
        &mut self,
        operation: &'static str,
        text: &str,
    ) -> Result<(), InboundError> {
        let line = zeroize::Zeroizing::new(format!("{text}\r\n"));
        self.conn.send(operation, line.as_bytes()).await
    }

    /// The next response.
    pub(crate) async fn event(&mut self, operation: &'static str) -> Result<Event, InboundError> {
        loop {
            if let Some(event) = next_event(&mut self.conn.buf)? {
                return Ok(event);
            }
            if self.conn.buf.len() > self.max_response {
                return Err(InboundError::Protocol {
                    text: format!(
                        "a response larger than {} bytes while {operation}",
                        self.max_response
                    ),
                });
            }
            self.conn.read_more(operation).await?;
        }
    }

    /// Sends `command` and collects the untagged responses up to its completion.
    /// Returns them with the completion's status and text.
    pub(crate) async fn run(
        &mut self,
        operation: &'static str,
        command: &str,
    ) -> Result<(Vec<Response<'static>>, Status, String), InboundError> {
        let tag = self.command(operation, command).await?;
        let mut untagged = Vec::new();
        loop {
            match self.event(operation).await? {
                Event::Untagged(response) => untagged.push(response),
                Event::Done {
                    tag: done,
                    status,
                    text,
                } if done == tag => return Ok((untagged, status, text)),
                Event::Done { text, .. } => {
                    return Err(InboundError::Protocol {
                        text: format!("a completion for another command: {text}"),
                    });
                }
                Event::Continue(text) => {
                    return Err(InboundError::Protocol {
                        text: format!("an unexpected continuation request: + {text}"),
                    });
                }
                Event::Bye(text) => {
                    return Err(InboundError::Unavailable {
                        command: operation,
                        text: format!("BYE {text}"),
                    });
                }
            }
        }
    }
}

/// Takes the next whole response out of `buf`; `None` when more bytes are needed.
///
/// An untagged line imap-proto cannot parse (an extension it does not know) is skipped
/// when it carries no literal; a tagged line it cannot parse is read by its first words.
pub(crate) fn next_event(buf: &mut Vec<u8>) -> Result<Option<Event>, InboundError> {
    loop {
        if buf.is_empty() {
            return Ok(None);
        }
        let line_end = buf.windows(2).position(|w| w == b"\r\n");
        let first_line = text_of(&buf[..line_end.unwrap_or(buf.len())]);
        match parse_guarded(buf) {
            Parsed::Whole(used, response) => {
                let event = event_of(response, &first_line);
                buf.drain(..used);
                return Ok(Some(event));
            }
            Parsed::Incomplete => return Ok(None),
            Parsed::Invalid => {
                let Some(end) = line_end else {
                    return Ok(None);
                };
                let line = &buf[..end];
                if line.starts_with(b"* ") && !ends_with_literal(line) {
                    buf.drain(..end + 2);
                    continue;
                }
                if let Some(event) = tagged_by_hand(&first_line) {
                    buf.drain(..end + 2);
                    return Ok(Some(event));
                }
                return Err(InboundError::Protocol {
                    text: format!("not an IMAP response: {first_line}"),
                });
            }
        }
    }
}

/// What imap-proto made of the start of a buffer.
enum Parsed {
    /// A response, and how many bytes it used.
    Whole(usize, Response<'static>),
    /// More bytes are needed.
    Incomplete,
    /// Not a response imap-proto understands (or one it panicked on).
    Invalid,
}

/// `Response::parse`, with its panics contained. imap-proto 0.17 slices a response text
/// after a response code at byte 1 without checking for a character boundary, so
/// `* OK [CAPABILITY IMAP4rev1]\xff…` panics (found by `fuzz/mail_wire`); a server's bytes
/// must never take the client down.
fn parse_guarded(data: &[u8]) -> Parsed {
    std::panic::catch_unwind(|| match Response::parse(data) {
        Ok((rest, response)) => Parsed::Whole(data.len() - rest.len(), response.into_owned()),
        Err(e) if e.is_incomplete() => Parsed::Incomplete,
        Err(_) => Parsed::Invalid,
    })
    .unwrap_or(Parsed::Invalid)
}

fn event_of(response: Response<'static>, first_line: &str) -> Event {
    match response {
        Response::Done { tag, status, .. } => Event::Done {
            tag: tag.0,
            status,
            text: after_first_word(first_line).to_owned(),
        },
        Response::Continue(_) => Event::Continue(
            first_line
                .strip_prefix('+')
                .unwrap_or(first_line)
                .trim_start()
                .to_owned(),
        ),
        Response::Data {
            status: Status::Bye,
            ..
        } => Event::Bye(after_first_word(after_first_word(first_line)).to_owned()),
        other => Event::Untagged(other),
    }
}

/// `TAG OK|NO|BAD text` read by hand.
fn tagged_by_hand(line: &str) -> Option<Event> {
    let mut words = line.splitn(3, ' ');
    let tag = words.next()?;
    let status = match words.next()?.to_ascii_uppercase().as_str() {
        "OK" => Status::Ok,
        "NO" => Status::No,
        "BAD" => Status::Bad,
        _ => return None,
    };
    if tag.is_empty() || tag.starts_with(['*', '+']) {
        return None;
    }
    Some(Event::Done {
        tag: tag.to_owned(),
        status,
        text: after_first_word(line).to_owned(),
    })
}

fn after_first_word(line: &str) -> &str {
    line.split_once(' ').map_or("", |(_, rest)| rest)
}

/// True when a line ends with a literal announcement `{n}` or `{n+}`.
fn ends_with_literal(line: &[u8]) -> bool {
    line.ends_with(b"}") && line.contains(&b'{')
}

/// A server line as text for messages: lossy UTF-8, no control characters, clipped.
fn text_of(line: &[u8]) -> String {
    String::from_utf8_lossy(line)
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_TEXT)
        .collect()
}

/// `value` as an IMAP quoted string, or `None` when it has CR, LF or NUL (which only a
/// literal could carry).
pub(crate) fn quoted(value: &str) -> Option<String> {
    if value.contains(['\r', '\n', '\0']) {
        return None;
    }
    Some(format!(
        "\"{}\"",
        value.replace('\\', "\\\\").replace('"', "\\\"")
    ))
}

/// A mailbox name in IMAP's modified UTF-7 (RFC 3501 §5.1.3), quoted.
pub(crate) fn mailbox_name(name: &str) -> String {
    let mut out = String::new();
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        out.push('&');
        out.push_str(&BASE64_NOPAD.encode(&bytes).replace('/', ","));
        out.push('-');
        pending.clear();
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut units = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush(&mut pending, &mut out);
    // The account refused CR, LF and NUL in folder names: quoting always succeeds.
    quoted(&out).unwrap_or_default()
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;

    fn events(data: &[u8]) -> Vec<Event> {
        let mut buf = data.to_vec();
        let mut out = Vec::new();
        while let Some(event) = next_event(&mut buf).expect("parses") {
            out.push(event);
        }
        out
    }

    #[test]
    fn completions_keep_the_servers_text() {
        let got = events(
            b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] Dovecot ready.\r\n\
              S1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n+ eyJzIjoxfQ==\r\n\
              * BYE Shutting down\r\n",
        );
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(matches!(&got[0], Event::Untagged(Response::Data { .. })));
        match &got[1] {
            Event::Done { tag, status, text } => {
                assert_eq!(tag, "S1");
                assert_eq!(*status, Status::No);
                assert_eq!(text, "NO [AUTHENTICATIONFAILED] Authentication failed.");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&got[2], Event::Continue(c) if c == "eyJzIjoxfQ=="));
        assert!(matches!(&got[3], Event::Bye(t) if t == "Shutting down"));
    }

    #[test]
    fn partial_input_waits_and_literals_are_whole() {
        let mut buf = b"* 1 FETCH (UID 7 BODY[]<0> {10}\r\n0123".to_vec();
        assert!(next_event(&mut buf).expect("incomplete").is_none());
        buf.extend_from_slice(b"456789)\r\n");
        let Some(Event::Untagged(Response::Fetch(1, attributes))) =
            next_event(&mut buf).expect("parses")
        else {
            panic!("a FETCH");
        };
        assert!(buf.is_empty());
        assert!(attributes.iter().any(|a| matches!(
            a,
            imap_proto::AttributeValue::BodySection { data: Some(d), .. } if d.as_ref() == b"0123456789"
        )));
    }

    #[test]
    fn unknown_untagged_lines_are_skipped_and_garbage_refused() {
        let got = events(b"* XWEIRD-EXTENSION (a b {c)\r\nS2 OK done\r\n");
        assert_eq!(got.len(), 1, "{got:?}");
        let mut garbage = b"hello there\r\n".to_vec();
        assert!(next_event(&mut garbage).is_err());
    }

    #[test]
    fn a_response_imap_proto_panics_on_is_skipped() {
        // imap-proto 0.17 panics on this line (a response code followed by a non-ASCII
        // byte); the client skips it like any untagged line it cannot read.
        let got = events(b"* OK [CAPABILITY IMAP4rev1]\xff\xffdy\r\nS1 OK done\r\n");
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(matches!(&got[0], Event::Done { tag, .. } if tag == "S1"));
    }

    #[test]
    fn quoting_and_modified_utf7() {
        assert_eq!(quoted(r#"a"b\c"#).as_deref(), Some(r#""a\"b\\c""#));
        assert_eq!(quoted("a\r\nb"), None);
        assert_eq!(mailbox_name("INBOX"), "\"INBOX\"");
        assert_eq!(mailbox_name("Bounces & Co"), "\"Bounces &- Co\"");
        // RFC 3501 §5.1.3 example: ~peter/mail/台北/日本語
        assert_eq!(
            mailbox_name("~peter/mail/\u{53f0}\u{5317}/\u{65e5}\u{672c}\u{8a9e}"),
            "\"~peter/mail/&U,BTFw-/&ZeVnLIqe-\""
        );
        assert_eq!(mailbox_name("Entrada é"), "\"Entrada &AOk-\"");
    }
}
