//! POP3 replies (RFC 1939, RFC 2449 response codes and CAPA, RFC 5034 AUTH
//! continuations), parsed by hand: the protocol is a few line shapes.

use super::super::error::InboundError;

/// Longest UIDL (RFC 1939 §7: 1 to 70 characters in 0x21..=0x7E).
const MAX_UIDL_LEN: usize = 70;

/// One status line of the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `+OK text`.
    Ok(String),
    /// `-ERR text`.
    Err(String),
    /// `+ challenge` (a SASL step; the challenge may be empty).
    Continue(String),
}

/// Parses a status line (without CR LF).
pub fn parse_reply(line: &[u8]) -> Result<Reply, InboundError> {
    let text = String::from_utf8_lossy(line);
    let (kind, rest) = match text.split_once(' ') {
        Some((kind, rest)) => (kind, rest),
        None => (text.as_ref(), ""),
    };
    let rest = clip(rest);
    if kind.eq_ignore_ascii_case("+OK") {
        Ok(Reply::Ok(rest))
    } else if kind.eq_ignore_ascii_case("-ERR") {
        Ok(Reply::Err(rest))
    } else if kind == "+" {
        Ok(Reply::Continue(rest))
    } else {
        Err(InboundError::Protocol {
            text: format!("not a POP3 status line: {}", clip(&text)),
        })
    }
}

/// The RFC 2449 / RFC 3206 response code at the start of an `-ERR` text
/// (`[IN-USE] …` → `IN-USE`).
pub fn response_code(text: &str) -> Option<&str> {
    let rest = text.trim_start().strip_prefix('[')?;
    let (code, _) = rest.split_once(']')?;
    (!code.is_empty() && !code.contains(char::is_whitespace)).then_some(code)
}

/// True when an `-ERR` says the refusal is temporary (`IN-USE`, `LOGIN-DELAY`,
/// `SYS/TEMP`).
pub fn is_temporary(text: &str) -> bool {
    response_code(text).is_some_and(|code| {
        ["IN-USE", "LOGIN-DELAY", "SYS/TEMP"]
            .iter()
            .any(|c| code.eq_ignore_ascii_case(c))
    })
}

/// `+OK count size` of STAT.
pub fn parse_stat(text: &str) -> Result<(u32, u64), InboundError> {
    let mut words = text.split_whitespace();
    match (
        words.next().and_then(|w| w.parse().ok()),
        words.next().and_then(|w| w.parse().ok()),
    ) {
        (Some(count), Some(size)) => Ok((count, size)),
        _ => Err(InboundError::Protocol {
            text: format!("not a STAT answer: {}", clip(text)),
        }),
    }
}

/// One line of a UIDL listing: message number and unique id.
pub fn parse_uidl_line(line: &str) -> Result<(u32, String), InboundError> {
    let mut words = line.split_whitespace();
    let number = words.next().and_then(|w| w.parse::<u32>().ok());
    let uidl = words.next();
    match (number, uidl, words.next()) {
        (Some(number), Some(uidl), None)
            if number > 0
                && uidl.len() <= MAX_UIDL_LEN
                && uidl.bytes().all(|b| (0x21..=0x7e).contains(&b)) =>
        {
            Ok((number, uidl.to_owned()))
        }
        _ => Err(InboundError::Protocol {
            text: format!("not a UIDL line: {}", clip(line)),
        }),
    }
}

/// One line of a LIST listing: message number and size in octets.
pub fn parse_list_line(line: &str) -> Result<(u32, u64), InboundError> {
    let mut words = line.split_whitespace();
    match (
        words.next().and_then(|w| w.parse::<u32>().ok()),
        words.next().and_then(|w| w.parse::<u64>().ok()),
    ) {
        (Some(number), Some(size)) if number > 0 => Ok((number, size)),
        _ => Err(InboundError::Protocol {
            text: format!("not a LIST line: {}", clip(line)),
        }),
    }
}

/// What CAPA said (RFC 2449) that the client uses: the SASL mechanisms. (STLS is sent
/// whether or not CAPA lists it: a server without it answers `-ERR`.)
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// The SASL mechanisms (upper case).
    pub sasl: Vec<String>,
}

impl Capabilities {
    /// Adds one CAPA line.
    pub fn add_line(&mut self, line: &str) {
        let mut words = line.split_whitespace();
        if words.next().is_some_and(|w| w.eq_ignore_ascii_case("SASL")) {
            self.sasl.extend(words.map(str::to_ascii_uppercase));
        }
    }

    /// True when `mechanism` is among the SASL mechanisms.
    pub fn has_sasl(&self, mechanism: &str) -> bool {
        self.sasl.iter().any(|m| m.eq_ignore_ascii_case(mechanism))
    }
}

/// A line of a multi-line answer with the RFC 1939 §3 byte-stuffing removed; `None` for
/// the terminating `.`.
pub fn unstuff(line: &[u8]) -> Option<&[u8]> {
    match line {
        b"." => None,
        [b'.', rest @ ..] => Some(rest),
        _ => Some(line),
    }
}

/// At most 300 characters of a server text, without control characters.
fn clip(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(300).collect()
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
    fn status_lines() {
        let rows: &[(&[u8], Option<Reply>)] = &[
            (
                b"+OK Dovecot ready.",
                Some(Reply::Ok("Dovecot ready.".into())),
            ),
            (b"+ok", Some(Reply::Ok(String::new()))),
            (
                b"-ERR [AUTH] Authentication failed.",
                Some(Reply::Err("[AUTH] Authentication failed.".into())),
            ),
            (
                b"+ eyJzdGF0dXMiOiI0MDEifQ==",
                Some(Reply::Continue("eyJzdGF0dXMiOiI0MDEifQ==".into())),
            ),
            (b"+ ", Some(Reply::Continue(String::new()))),
            (b"+", Some(Reply::Continue(String::new()))),
            (b"* OK imap?", None),
            (b"", None),
        ];
        for (line, expected) in rows {
            assert_eq!(
                parse_reply(line).ok(),
                *expected,
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn response_codes() {
        assert_eq!(response_code("[IN-USE] mailbox locked"), Some("IN-USE"));
        assert_eq!(response_code("no code"), None);
        assert_eq!(response_code("[] empty"), None);
        assert!(is_temporary("[SYS/TEMP] try later"));
        assert!(!is_temporary("[AUTH] bad password"));
    }

    #[test]
    fn listings() {
        assert_eq!(parse_stat("3 1200").expect("stat"), (3, 1200));
        assert!(parse_stat("three").is_err());
        assert_eq!(
            parse_uidl_line("1 000000014b2f6f1a").expect("uidl"),
            (1, "000000014b2f6f1a".into())
        );
        for bad in [
            "0 x",
            "1",
            "1 a b",
            "x y",
            &format!("1 {}", "u".repeat(71)),
            "1 caf\u{e9}",
        ] {
            assert!(parse_uidl_line(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_list_line("2 345").expect("list"), (2, 345));
        assert!(parse_list_line("2").is_err());
    }

    #[test]
    fn capabilities_and_unstuffing() {
        let mut capa = Capabilities::default();
        for line in [
            "TOP",
            "SASL PLAIN xoauth2 OAUTHBEARER",
            "STLS",
            "USER",
            "UIDL",
        ] {
            capa.add_line(line);
        }
        assert!(capa.has_sasl("XOAUTH2") && capa.has_sasl("plain"));
        assert!(!capa.has_sasl("LOGIN"));
        assert_eq!(unstuff(b"."), None);
        assert_eq!(unstuff(b"..dot"), Some(&b".dot"[..]));
        assert_eq!(unstuff(b"text"), Some(&b"text"[..]));
    }
}
