//! The XML layer of the PSKC reader: quick-xml's streaming `Reader` reduced to element
//! starts (local name + attributes), element ends with their text, and the end of input.
//!
//! No tree is ever built: the only state is the stack of open element names and the text of
//! the innermost element. Namespaces are matched by local name (files use `pskc:`, `xenc:`,
//! `ds:`, `xenc11:` and `pkcs5:` prefixes, or none, inconsistently). Names of the PSKC
//! vocabulary are matched without regard to case and given their canonical spelling:
//! privacyIDEA's exports pass through an HTML serialiser that lower-cases every element
//! and attribute name (`<keypackage>`, `algorithm="…"`). A DTD is refused (no
//! entity expansion), as are undeclared entities, nesting deeper than [`MAX_DEPTH`] and
//! element text longer than [`MAX_TEXT`]. Every byte the reader buffered is wiped before the
//! buffer is reused, so plaintext secrets do not linger in it.

use std::io::BufRead;

use quick_xml::events::Event;
use quick_xml::{Reader, XmlVersion};
use zeroize::{Zeroize, Zeroizing};

use super::PskcError;

/// Deepest element nesting accepted (PSKC needs about 8).
pub(super) const MAX_DEPTH: usize = 32;
/// Longest text of one element, in bytes (a certificate fits; a key is far shorter).
pub(super) const MAX_TEXT: usize = 64 * 1024;

/// An element start: its attributes (local names, unescaped values). Its name is the last
/// entry of [`Cursor::path`].
#[derive(Debug)]
pub(super) struct Start {
    pub(super) attributes: Vec<(String, String)>,
}

impl Start {
    /// The value of the attribute with local name `name`.
    pub(super) fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// What the cursor found next.
#[derive(Debug)]
pub(super) enum Node {
    /// An element opened; it is now the last entry of [`Cursor::path`].
    Open(Start),
    /// The element at the end of [`Cursor::path`] closed; its text is in [`Cursor::text`]
    /// until the next call. The name is popped on the next call.
    Close,
    /// The input ended.
    Eof,
}

/// A streaming cursor over an XML document.
pub(super) struct Cursor<R: BufRead> {
    reader: Reader<R>,
    buf: Vec<u8>,
    path: Vec<String>,
    text: Zeroizing<String>,
    pop_pending: bool,
    line: u64,
}

impl<R: BufRead> Cursor<R> {
    pub(super) fn new(input: R) -> Self {
        let mut reader = Reader::from_reader(input);
        let config = reader.config_mut();
        config.expand_empty_elements = true;
        config.check_end_names = true;
        config.trim_text(false);
        Self {
            reader,
            buf: Vec::with_capacity(256),
            path: Vec::with_capacity(MAX_DEPTH),
            text: Zeroizing::new(String::with_capacity(256)),
            pop_pending: false,
            line: 1,
        }
    }

    /// Local names of the open elements, outermost first.
    pub(super) fn path(&self) -> &[String] {
        &self.path
    }

    /// Text of the element that just closed (raw, untrimmed).
    pub(super) fn text(&self) -> &str {
        &self.text
    }

    /// Byte offset of the reader's position.
    pub(super) const fn offset(&self) -> u64 {
        self.reader.buffer_position()
    }

    /// A malformed-file error at the current position.
    pub(super) fn malformed(&self, problem: impl Into<String>) -> PskcError {
        PskcError::Malformed {
            line: self.line,
            offset: self.offset(),
            problem: problem.into(),
        }
    }

    /// Reads up to the next element start or end (or the end of input).
    pub(super) fn next(&mut self) -> Result<Node, PskcError> {
        if self.pop_pending {
            self.path.pop();
            self.pop_pending = false;
            self.text.zeroize();
        }
        loop {
            self.wipe_buf();
            let event = match self.reader.read_event_into(&mut self.buf) {
                Ok(event) => event,
                Err(error) => {
                    self.line += count_newlines(&self.buf);
                    return Err(PskcError::Malformed {
                        line: self.line,
                        offset: self.reader.error_position(),
                        problem: error.to_string(),
                    });
                }
            };
            let line = self.line;
            let offset = self.reader.buffer_position();
            let bad = |problem: String| PskcError::Malformed {
                line,
                offset,
                problem,
            };
            let text = &mut self.text;
            let element = self.path.last().map_or("", String::as_str);
            let mut opened = None;
            let node = match event {
                Event::Start(start) => {
                    let name = canonical(start.local_name().as_ref());
                    let mut attributes = Vec::new();
                    for attribute in start.attributes() {
                        let attribute = attribute.map_err(|e| bad(e.to_string()))?;
                        let key = canonical(attribute.key.local_name().as_ref());
                        let value = attribute
                            .normalized_value(XmlVersion::Implicit1_0)
                            .map_err(|e| bad(e.to_string()))?
                            .into_owned();
                        attributes.push((key, value));
                    }
                    opened = Some(name);
                    Some(Node::Open(Start { attributes }))
                }
                Event::End(_) => Some(Node::Close),
                Event::Text(content) => {
                    push_text(text, element, &content.xml10_content()).map_err(bad)?;
                    None
                }
                Event::CData(data) => {
                    push_text(text, element, &data).map_err(bad)?;
                    None
                }
                Event::GeneralRef(reference) => {
                    let resolved = match reference.resolve_char_ref() {
                        Ok(Some(c)) => c,
                        Ok(None) => match reference.as_ref() {
                            "lt" => '<',
                            "gt" => '>',
                            "amp" => '&',
                            "apos" => '\'',
                            "quot" => '"',
                            other => return Err(bad(format!("undeclared entity &{other};"))),
                        },
                        Err(error) => return Err(bad(error.to_string())),
                    };
                    push_text(text, element, resolved.encode_utf8(&mut [0; 4])).map_err(bad)?;
                    None
                }
                Event::DocType(_) => {
                    return Err(bad(
                        "a document type declaration (DTD) is not allowed".into()
                    ));
                }
                Event::Eof => Some(Node::Eof),
                // `expand_empty_elements` turns `<a/>` into a start and an end.
                Event::Empty(_) => return Err(bad("unexpanded empty element".into())),
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) => None,
            };
            // Delimiters (`<`, `>`) hold no newline; everything else of the event is in buf.
            let newlines = count_newlines(&self.buf);
            self.line += newlines;
            match node {
                Some(Node::Open(start)) => {
                    self.path.extend(opened);
                    if self.path.len() > MAX_DEPTH {
                        return Err(self
                            .malformed(format!("elements are nested more than {MAX_DEPTH} deep")));
                    }
                    self.text.zeroize();
                    return Ok(Node::Open(start));
                }
                Some(Node::Close) => {
                    self.pop_pending = true;
                    return Ok(Node::Close);
                }
                Some(Node::Eof) => return Ok(Node::Eof),
                None => {}
            }
        }
    }

    /// Skips the content of the element that just opened, up to and including its end.
    pub(super) fn skip_element(&mut self) -> Result<(), PskcError> {
        let depth = self.path.len();
        loop {
            match self.next()? {
                Node::Open(_) => {}
                Node::Close if self.path.len() == depth => return Ok(()),
                Node::Close => {}
                Node::Eof => return Err(self.truncated()),
            }
        }
    }

    /// The error for an input that ends inside an element.
    pub(super) fn truncated(&self) -> PskcError {
        PskcError::Truncated {
            line: self.line,
            offset: self.offset(),
            open_element: self.path.last().cloned().unwrap_or_default(),
        }
    }

    /// Wipes what the last event left in the read buffer, then empties it.
    fn wipe_buf(&mut self) {
        self.buf.as_mut_slice().zeroize();
        self.buf.clear();
    }
}

impl<R: BufRead> Drop for Cursor<R> {
    fn drop(&mut self) {
        self.wipe_buf();
    }
}

/// Element and attribute names of the PSKC vocabulary, in their canonical spelling.
const VOCABULARY: &[&str] = &[
    "KeyContainer",
    "KeyPackage",
    "DeviceInfo",
    "SerialNo",
    "Manufacturer",
    "UserId",
    "Key",
    "Issuer",
    "AlgorithmParameters",
    "ResponseFormat",
    "Suite",
    "Data",
    "Secret",
    "PlainValue",
    "EncryptedValue",
    "EncryptionMethod",
    "CipherData",
    "CipherValue",
    "ValueMAC",
    "Counter",
    "Time",
    "TimeInterval",
    "TimeDrift",
    "Policy",
    "StartDate",
    "ExpiryDate",
    "PINPolicy",
    "KeyUsage",
    "NumberOfTransactions",
    "EncryptionKey",
    "KeyName",
    "DerivedKey",
    "KeyDerivationMethod",
    "PBKDF2-params",
    "Salt",
    "Specified",
    "IterationCount",
    "KeyLength",
    "PRF",
    "X509Data",
    "MACMethod",
    "MACKey",
    "Signature",
    "CryptoModuleInfo",
    "KeyProfileId",
    "KeyReference",
    "FriendlyName",
    "Version",
    "Id",
    "Algorithm",
    "Length",
    "Encoding",
    "PINUsageMode",
];

/// `name` in its canonical spelling when it is a PSKC name in another case.
fn canonical(name: &str) -> String {
    // Conforming files spell names as RFC 6030 does, all starting with a capital.
    if name.starts_with(|c: char| c.is_ascii_uppercase()) {
        return name.to_owned();
    }
    VOCABULARY
        .iter()
        .find(|known| known.eq_ignore_ascii_case(name))
        .map_or_else(|| name.to_owned(), |known| (*known).to_owned())
}

/// Appends `content` to the text of `element`, refusing more than [`MAX_TEXT`] bytes.
fn push_text(text: &mut String, element: &str, content: &str) -> Result<(), String> {
    if text.len() + content.len() > MAX_TEXT {
        return Err(format!(
            "the text of <{element}> is longer than {MAX_TEXT} bytes"
        ));
    }
    text.push_str(content);
    Ok(())
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}
