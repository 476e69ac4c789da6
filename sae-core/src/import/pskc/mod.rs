//! PSKC (RFC 6030) key containers, read as a stream.
//!
//! [`PskcReader`] reads the container header (`EncryptionKey`, `MACMethod`) when it is
//! created, then yields one [`PskcOutcome`] per key, in file order, without ever holding
//! more than one `KeyPackage`. RFC 6030 puts one `Key` in each `KeyPackage`, so the
//! outcome's position is the package number; python-pskc writes all the keys of a device
//! into one package, and then each key counts as one position. It reads:
//!
//! * HOTP and TOTP keys (`urn:ietf:params:xml:ns:keyprov:pskc:hotp`, `…:totp`, and the
//!   `#hotp`/`#totp` forms of drafts and vendors); anything else is skipped as
//!   [`SkipReason::UnsupportedAlgorithm`];
//! * plaintext secrets (`PlainValue`);
//! * secrets encrypted with a pre-shared key: AES-128/192/256-CBC (IV in front) with the
//!   `MACMethod` HMAC (SHA-1, SHA-2) over IV ‖ ciphertext, checked in constant time before
//!   decryption, and AES key wrap (RFC 3394, RFC 5649);
//! * password-based encryption: PBKDF2 (`DerivedKey`, PRF HMAC-SHA-1 or SHA-2);
//! * `Counter`, `Time`, `TimeInterval`, `TimeDrift`, `ResponseFormat` (`Length` 6..=10,
//!   `Encoding` DECIMAL), `Suite` (the hash), `SerialNo`, `Manufacturer`, `Issuer`, `UserId`,
//!   `Key Id`, and the policy dates; several devices per file.
//!
//! A wrong pre-shared key or password fails the whole file with
//! [`PskcError::WrongKeyOrPassword`] at the first MAC check (the MAC key's own decryption,
//! or the first `ValueMAC`), unless [`PskcOptions::skip_bad`] is set: then each package it
//! cannot open is skipped with [`SkipReason::WrongKeyOrPassword`] and the rest go through.
//! A malformed or truncated file is a fatal [`PskcError`] naming the line and byte offset.
//!
//! ```
//! use sae_core::import::{Outcome, pskc::{PskcOptions, PskcReader}};
//!
//! let xml = br#"<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">
//!   <KeyPackage><Key Id="1" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
//!     <Data><Secret><PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=</PlainValue></Secret></Data>
//!   </Key></KeyPackage></KeyContainer>"#;
//! let reader = PskcReader::new(&xml[..], PskcOptions::default())?;
//! for outcome in reader {
//!     match outcome? {
//!         Outcome::Imported { item, .. } => assert_eq!(item.secret.expose_bytes(), b"12345678901234567890"),
//!         Outcome::Skipped { reason, .. } => panic!("{reason}"),
//!     }
//! }
//! # Ok::<(), sae_core::import::pskc::PskcError>(())
//! ```

mod convert;
mod crypto;
mod datetime;
mod events;
mod header;
mod keys;
mod package;
mod reason;
mod uris;

use std::collections::{HashMap, VecDeque};
use std::io::BufRead;
use std::sync::LazyLock;

use data_encoding::Encoding;
use zeroize::Zeroizing;

pub use reason::{KeyKind, PskcError, SkipReason};

use self::events::{Cursor, Node};
use self::header::Header;
use self::keys::Keys;
use self::package::{Device, RawKey, RawPackage};
use super::{ImportedToken, Outcome};
use crate::secret::Secret;

/// What a [`PskcReader`] yields for each key package.
pub type PskcOutcome = Outcome<ImportedToken, SkipReason>;

/// The key that opens the encrypted secrets of a file.
#[derive(Debug, Clone, Default)]
pub enum KeyMaterial {
    /// No key: only plaintext secrets can be imported.
    #[default]
    None,
    /// The pre-shared AES key (16, 24 or 32 bytes).
    PreSharedKey(Secret),
    /// The password of a PBKDF2-protected file, as UTF-8 bytes.
    Password(Secret),
}

/// How to read a file.
#[derive(Debug, Clone, Default)]
pub struct PskcOptions {
    /// The pre-shared key or password.
    pub key: KeyMaterial,
    /// Skip packages that fail their MAC check or cannot be decrypted with the key given,
    /// instead of failing the whole file.
    pub skip_bad: bool,
}

/// A streaming reader of one PSKC file: an iterator of per-package outcomes.
///
/// After a fatal error (`Some(Err(_))`) the iterator yields nothing more.
pub struct PskcReader<R: BufRead> {
    cursor: Cursor<R>,
    keys: Keys,
    skip_bad: bool,
    /// Serials imported so far, with their position.
    serials: HashMap<String, u64>,
    /// Keys read so far (the last position given).
    count: u64,
    /// Outcomes of the package read last, not yet yielded.
    queue: VecDeque<PskcOutcome>,
    /// The cursor stands just inside a `KeyPackage` that has not been read yet.
    at_package: bool,
    done: bool,
}

impl<R: BufRead> PskcReader<R> {
    /// Reads the container header and prepares the keys.
    ///
    /// # Errors
    /// A file that is not a PSKC 1.0 container or is malformed up to its first package; a
    /// key of the wrong kind or length; an unusable key derivation or MAC method; and,
    /// unless `skip_bad`, a wrong pre-shared key or password detected on the MAC key.
    pub fn new(input: R, options: PskcOptions) -> Result<Self, PskcError> {
        let mut cursor = Cursor::new(input);
        let root = match cursor.next()? {
            Node::Open(start) => start,
            Node::Close => return Err(cursor.malformed("an end tag comes before any element")),
            Node::Eof => return Err(cursor.malformed("the file holds no XML element")),
        };
        let root_name = &cursor.path()[0];
        if root_name != "KeyContainer" {
            return Err(PskcError::NotPskc {
                found: reason::echo(root_name),
            });
        }
        if let Some(version) = root.attribute("Version")
            && version.trim() != "1.0"
        {
            return Err(PskcError::UnsupportedVersion {
                found: reason::echo(version),
            });
        }
        let mut header = Header::default();
        let at_package = loop {
            match cursor.next()? {
                Node::Open(_) if cursor.path().len() == 2 && cursor.path()[1] == "KeyPackage" => {
                    break true;
                }
                Node::Open(start) => header.open(&cursor.path()[1..], &start),
                Node::Close if cursor.path().len() == 1 => break false,
                Node::Close => header.close(&cursor.path()[1..], cursor.text()),
                Node::Eof => return Err(cursor.truncated()),
            }
        };
        let keys = Keys::establish(&header, &options.key, options.skip_bad)?;
        Ok(Self {
            cursor,
            keys,
            skip_bad: options.skip_bad,
            serials: HashMap::new(),
            count: 0,
            queue: VecDeque::new(),
            at_package,
            done: !at_package,
        })
    }

    /// Reads the package the cursor stands in into the queue, then moves to the next one.
    fn read_package(&mut self) -> Result<(), PskcError> {
        let mut raw = RawPackage::default();
        loop {
            match self.cursor.next()? {
                Node::Open(start) => {
                    if self.cursor.path().len() > 2 {
                        raw.open(&self.cursor.path()[2..], &start);
                    }
                }
                Node::Close if self.cursor.path().len() == 2 => break,
                Node::Close => raw.close(&self.cursor.path()[2..], self.cursor.text()),
                Node::Eof => return Err(self.cursor.truncated()),
            }
        }
        if raw.keys.is_empty() {
            self.count += 1;
            self.queue.push_back(Outcome::Skipped {
                position: self.count,
                id: raw.device.serial_no.as_deref().map(reason::echo),
                reason: SkipReason::InvalidParameter {
                    field: "Key",
                    problem: "the KeyPackage holds no Key",
                },
            });
        }
        for key in std::mem::take(&mut raw.keys) {
            self.count += 1;
            let outcome = self.outcome(&raw.device, key, self.count)?;
            self.queue.push_back(outcome);
        }
        self.advance()
    }

    /// The outcome of one key.
    fn outcome(
        &mut self,
        device: &Device,
        key: RawKey,
        position: u64,
    ) -> Result<PskcOutcome, PskcError> {
        let serial = convert::serial_of(device, &key);
        Ok(
            match convert::convert(device, key, &mut self.keys, position, self.skip_bad)? {
                Ok(token) => match token.serial.as_ref().and_then(|s| self.serials.get(s)) {
                    Some(&first) => Outcome::Skipped {
                        position,
                        id: serial,
                        reason: SkipReason::DuplicateSerial { first },
                    },
                    None => {
                        if let Some(serial) = &token.serial {
                            self.serials.insert(serial.clone(), position);
                        }
                        Outcome::Imported {
                            position,
                            item: token,
                        }
                    }
                },
                Err(reason) => Outcome::Skipped {
                    position,
                    id: serial.map(|s| reason::echo(&s)),
                    reason,
                },
            },
        )
    }

    /// Moves to the next `KeyPackage`, skipping anything else (a `Signature`), or to the
    /// end of the container.
    fn advance(&mut self) -> Result<(), PskcError> {
        loop {
            match self.cursor.next()? {
                Node::Open(_) if self.cursor.path().len() == 2 => {
                    match self.cursor.path()[1].as_str() {
                        "KeyPackage" => {
                            self.at_package = true;
                            return Ok(());
                        }
                        name @ ("EncryptionKey" | "MACMethod") => {
                            return Err(self.cursor.malformed(format!(
                                "<{name}> must come before the first KeyPackage"
                            )));
                        }
                        _ => self.cursor.skip_element()?,
                    }
                }
                Node::Open(_) => {}
                Node::Close if self.cursor.path().len() == 1 => {
                    self.at_package = false;
                    return Ok(());
                }
                Node::Close => {}
                Node::Eof => return Err(self.cursor.truncated()),
            }
        }
    }
}

impl<R: BufRead> Iterator for PskcReader<R> {
    type Item = Result<PskcOutcome, PskcError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(outcome) = self.queue.pop_front() {
                return Some(Ok(outcome));
            }
            if self.done || !self.at_package {
                return None;
            }
            if let Err(error) = self.read_package() {
                self.done = true;
                self.queue.clear();
                return Some(Err(error));
            }
            if !self.at_package {
                self.done = true;
            }
        }
    }
}

/// Base64 as XML Schema writes it: whitespace anywhere, padding required, lenient about
/// the unused bits of the last character.
static BASE64: LazyLock<Encoding> = LazyLock::new(|| {
    let mut spec = data_encoding::BASE64.specification();
    spec.ignore.push_str(" \t\r\n");
    spec.check_trailing_bits = false;
    spec.encoding()
        .unwrap_or_else(|_| data_encoding::BASE64.clone())
});

/// Decodes `text` into a buffer that is wiped on drop (also when decoding fails).
fn decode_base64(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let input = text.as_bytes();
    let mut out = Zeroizing::new(vec![0u8; BASE64.decode_len(input.len()).ok()?]);
    let len = BASE64.decode_mut(input, &mut out).ok()?;
    out.truncate(len);
    Some(out)
}
