//! The container header: what comes before the first `KeyPackage` (`EncryptionKey` and
//! `MACMethod`), collected as text while streaming and interpreted by [`super::keys`].

use super::events::Start;

/// Deepest relative path [`names`] lays out (deeper paths match no pattern).
const MAX_NAMES: usize = 8;

/// The names of `rel` as a stack array of `&str`, for slice patterns without allocating:
/// `match names(rel).as_slice() { ["Data", "Secret"] => … }` (a deeper path gives an
/// empty slice, which no pattern of interest matches).
pub(super) fn names(rel: &[String]) -> Names<'_> {
    let mut array = [""; MAX_NAMES];
    let len = if rel.len() <= MAX_NAMES { rel.len() } else { 0 };
    for (slot, name) in array.iter_mut().zip(&rel[..len]) {
        *slot = name;
    }
    Names { array, len }
}

/// See [`names`].
pub(super) struct Names<'a> {
    array: [&'a str; MAX_NAMES],
    len: usize,
}

impl<'a> Names<'a> {
    pub(super) fn as_slice(&self) -> &[&'a str] {
        &self.array[..self.len]
    }
}

/// True when the element path `rel` (below `KeyContainer`) is exactly `names`.
pub(super) fn at(rel: &[String], names: &[&str]) -> bool {
    rel.len() == names.len() && rel.iter().zip(names).all(|(a, b)| a == b)
}

/// How the file protects its secrets.
#[derive(Debug, Default)]
pub(super) enum Protection {
    /// No `EncryptionKey`: plaintext, or a pre-shared key the file does not name.
    #[default]
    Unnamed,
    /// `EncryptionKey/KeyName`: a pre-shared key.
    PreShared,
    /// `EncryptionKey/DerivedKey`: a password through a key derivation.
    Derived(Derivation),
    /// `EncryptionKey/X509Data` (or another key SAE cannot hold): asymmetric encryption.
    Asymmetric,
}

/// The raw `DerivedKey` parameters.
#[derive(Debug, Default)]
pub(super) struct Derivation {
    pub(super) method: Option<String>,
    pub(super) salt: Option<String>,
    pub(super) iterations: Option<String>,
    pub(super) key_length: Option<String>,
    pub(super) prf: Option<String>,
}

/// The raw `MACMethod`.
#[derive(Debug, Default)]
pub(super) struct MacMethod {
    /// Its `Algorithm` URI.
    pub(super) algorithm: String,
    /// `MACKey/EncryptionMethod Algorithm`.
    pub(super) key_cipher: Option<String>,
    /// `MACKey/CipherData/CipherValue` (base64).
    pub(super) key_value: Option<String>,
}

/// The header as read so far.
#[derive(Debug, Default)]
pub(super) struct Header {
    pub(super) protection: Protection,
    pub(super) mac: Option<MacMethod>,
}

const DERIVED: [&str; 2] = ["EncryptionKey", "DerivedKey"];
const METHOD: [&str; 3] = ["EncryptionKey", "DerivedKey", "KeyDerivationMethod"];

impl Header {
    /// An element below `KeyContainer` opened (`rel` includes it).
    pub(super) fn open(&mut self, rel: &[String], start: &Start) {
        if at(rel, &DERIVED) {
            self.protection = Protection::Derived(Derivation::default());
        } else if at(rel, &["EncryptionKey", "X509Data"]) {
            self.protection = Protection::Asymmetric;
        } else if at(rel, &["EncryptionKey", "KeyName"]) {
            if matches!(self.protection, Protection::Unnamed) {
                self.protection = Protection::PreShared;
            }
        } else if at(rel, &METHOD) {
            if let Protection::Derived(derivation) = &mut self.protection {
                derivation.method = start.attribute("Algorithm").map(str::to_owned);
            }
        } else if at(
            rel,
            &[METHOD[0], METHOD[1], METHOD[2], "PBKDF2-params", "PRF"],
        ) {
            if let (Protection::Derived(derivation), Some(uri)) =
                (&mut self.protection, start.attribute("Algorithm"))
            {
                derivation.prf = Some(uri.to_owned());
            }
        } else if at(rel, &["MACMethod"]) {
            self.mac = Some(MacMethod {
                algorithm: start.attribute("Algorithm").unwrap_or_default().to_owned(),
                ..MacMethod::default()
            });
        } else if at(rel, &["MACMethod", "MACKey", "EncryptionMethod"])
            && let Some(mac) = &mut self.mac
        {
            mac.key_cipher = start.attribute("Algorithm").map(str::to_owned);
        }
    }

    /// An element below `KeyContainer` closed with `text`.
    pub(super) fn close(&mut self, rel: &[String], text: &str) {
        let text = text.trim();
        if let Protection::Derived(derivation) = &mut self.protection
            && rel.len() >= 5
            && at(
                &rel[..4],
                &[METHOD[0], METHOD[1], METHOD[2], "PBKDF2-params"],
            )
        {
            let slot = match *names(&rel[4..]).as_slice() {
                ["Salt", "Specified"] => &mut derivation.salt,
                ["IterationCount"] => &mut derivation.iterations,
                ["KeyLength"] => &mut derivation.key_length,
                // python-pskc writes the PRF URI as text rather than as an attribute.
                ["PRF"] if !text.is_empty() => &mut derivation.prf,
                _ => return,
            };
            *slot = Some(text.to_owned());
        } else if at(rel, &["MACMethod", "MACKey", "CipherData", "CipherValue"])
            && let Some(mac) = &mut self.mac
        {
            mac.key_value = Some(text.to_owned());
        }
    }
}
