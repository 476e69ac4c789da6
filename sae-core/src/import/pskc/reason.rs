//! Why a key package was skipped ([`SkipReason`]) and why a whole file failed
//! ([`PskcError`]). Neither ever holds key material: only element names, algorithm URIs,
//! serials and positions.

use core::fmt;

use thiserror::Error;

/// Longest algorithm URI or element name repeated in a reason (longer ones are cut).
const MAX_ECHO: usize = 120;

/// Cuts text taken from the file to [`MAX_ECHO`] characters for a report.
pub(super) fn echo(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(MAX_ECHO) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Why one `KeyPackage` was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// The key's algorithm is neither HOTP nor TOTP (a PIN, OCRA, a vendor algorithm).
    UnsupportedAlgorithm {
        /// The `Key Algorithm` URI.
        uri: String,
    },
    /// The secret is encrypted with a method SAE cannot decrypt (RSA, 3DES, Camellia, …).
    UnsupportedEncryption {
        /// The `EncryptionMethod Algorithm` URI.
        uri: String,
    },
    /// The key's `Policy` asks for something SAE does not enforce (a PIN checked by the
    /// server, a transaction limit, a usage other than OTP, an unknown policy element).
    UnsupportedPolicy {
        /// The policy element (`PINPolicy`, `KeyUsage`, `NumberOfTransactions`, …).
        element: String,
    },
    /// The package carries no secret (for instance only a `KeyReference`).
    MissingSecret,
    /// The secret is AES-CBC encrypted but the file has no `MACMethod` or the value no
    /// `ValueMAC`: its integrity cannot be checked, so it is not decrypted.
    MissingMac,
    /// The `ValueMAC` does not match, although the key was proven right by the file: the
    /// value was altered.
    BadMac,
    /// The `ValueMAC` does not match and nothing in the file proves the key right: the
    /// pre-shared key or password is wrong (or the value was altered). Only reported per
    /// package with `skip_bad`; otherwise it is the fatal [`PskcError::WrongKeyOrPassword`].
    WrongKeyOrPassword,
    /// The value passed its integrity check but does not decrypt (bad padding, a key wrap
    /// of an impossible length).
    DecryptionFailed,
    /// An earlier package of the file has the same serial.
    DuplicateSerial {
        /// Package number of the first one.
        first: u64,
    },
    /// A parameter is missing or has a value SAE refuses.
    InvalidParameter {
        /// The PSKC element or attribute (`ResponseFormat.Length`, `Counter`, `SerialNo`, …).
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
}

impl SkipReason {
    /// Stable snake_case code for reports: `unsupported_algorithm`, `bad_mac`, ….
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedAlgorithm { .. } => "unsupported_algorithm",
            Self::UnsupportedEncryption { .. } => "unsupported_encryption",
            Self::UnsupportedPolicy { .. } => "unsupported_policy",
            Self::MissingSecret => "missing_secret",
            Self::MissingMac => "missing_mac",
            Self::BadMac => "bad_mac",
            Self::WrongKeyOrPassword => "wrong_key_or_password",
            Self::DecryptionFailed => "decryption_failed",
            Self::DuplicateSerial { .. } => "duplicate_serial",
            Self::InvalidParameter { .. } => "invalid_parameter",
        }
    }

    /// The PSKC element at fault, when one is.
    #[must_use]
    pub const fn field(&self) -> Option<&'static str> {
        match self {
            Self::InvalidParameter { field, .. } => Some(field),
            Self::MissingSecret => Some("Secret"),
            Self::BadMac | Self::MissingMac => Some("ValueMAC"),
            Self::DuplicateSerial { .. } => Some("SerialNo"),
            _ => None,
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedAlgorithm { uri } => {
                write!(f, "algorithm {uri:?} is not supported (only HOTP and TOTP)")
            }
            Self::UnsupportedEncryption { uri } => {
                write!(f, "encryption method {uri:?} is not supported")
            }
            Self::UnsupportedPolicy { element } => {
                write!(f, "policy {element} cannot be enforced by SAE")
            }
            Self::MissingSecret => f.write_str("the key package holds no secret"),
            Self::MissingMac => f.write_str(
                "the secret is AES-CBC encrypted without a MAC (MACMethod and ValueMAC), so \
                 its integrity cannot be checked",
            ),
            Self::BadMac => f.write_str("the MAC of the secret does not match: it was altered"),
            Self::WrongKeyOrPassword => f.write_str(
                "the MAC of the secret does not match: the pre-shared key or password is wrong \
                 (or the value was altered)",
            ),
            Self::DecryptionFailed => {
                f.write_str("the secret does not decrypt although its MAC matches")
            }
            Self::DuplicateSerial { first } => {
                write!(f, "key package {first} has the same serial")
            }
            Self::InvalidParameter { field, problem } => write!(f, "{field}: {problem}"),
        }
    }
}

/// Which secret protects a key container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A pre-shared AES key (`EncryptionKey/KeyName`).
    PreSharedKey,
    /// A password, through PBKDF2 (`EncryptionKey/DerivedKey`).
    Password,
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PreSharedKey => "a pre-shared key",
            Self::Password => "a password",
        })
    }
}

/// Why a whole PSKC file was refused. After one of these the reader yields nothing more.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PskcError {
    /// The file is not well-formed XML (or uses a DTD, an undeclared entity, nesting or
    /// text beyond the limits).
    #[error("line {line} (byte {offset}): the file is not valid XML: {problem}")]
    Malformed {
        /// 1-based line.
        line: u64,
        /// Byte offset.
        offset: u64,
        /// What the XML reader found.
        problem: String,
    },
    /// The file ends inside an element.
    #[error("line {line} (byte {offset}): the file ends inside <{open_element}>: it is truncated")]
    Truncated {
        /// 1-based line of the end.
        line: u64,
        /// Byte offset of the end.
        offset: u64,
        /// The innermost element left open.
        open_element: String,
    },
    /// The root element is not a PSKC `KeyContainer`.
    #[error("the file is not a PSKC key container: its root element is <{found}>")]
    NotPskc {
        /// The root element's local name.
        found: String,
    },
    /// The `KeyContainer Version` is not 1.0.
    #[error("PSKC version {found:?} is not supported (only 1.0, RFC 6030)")]
    UnsupportedVersion {
        /// The version attribute.
        found: String,
    },
    /// The keys are encrypted and no key or password was given.
    #[error("the secrets are encrypted: give {needed}")]
    KeyRequired {
        /// What the file needs.
        needed: KeyKind,
    },
    /// A pre-shared key was given for a password-protected file, or the reverse.
    #[error("the file is protected by {needed}, but {given} was given")]
    WrongKeyKind {
        /// What the file needs.
        needed: KeyKind,
        /// What the caller gave.
        given: KeyKind,
    },
    /// The pre-shared key's length does not fit the file's cipher.
    #[error(
        "the file uses {cipher}, whose key is {expected} bytes long; the pre-shared key has {given} bytes"
    )]
    KeyLength {
        /// The cipher (`aes128-cbc`, `kw-aes256`, …).
        cipher: &'static str,
        /// The key length it needs.
        expected: usize,
        /// The length given.
        given: usize,
    },
    /// The pre-shared key or password is wrong: the MAC key did not decrypt, or the first
    /// MAC checked did not match before anything proved the key right.
    #[error("{}", wrong_key_message(*.position))]
    WrongKeyOrPassword {
        /// The package whose MAC failed; `None` when the MAC key itself did not decrypt.
        position: Option<u64>,
    },
    /// The `MACMethod` cannot be used (unknown algorithm or MAC key encryption, a MAC key
    /// that is not valid base64).
    #[error("MACMethod: {problem}")]
    MacMethod {
        /// What is wrong, with the URI when one is unsupported.
        problem: String,
    },
    /// The password-based key derivation cannot be done.
    #[error("EncryptionKey/DerivedKey: {field}: {problem}")]
    KeyDerivation {
        /// The element at fault (`KeyDerivationMethod`, `Salt`, `IterationCount`, …).
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
}

fn wrong_key_message(position: Option<u64>) -> String {
    match position {
        None => {
            "the pre-shared key or password is wrong: the MAC key does not decrypt with it".into()
        }
        Some(n) => format!(
            "the pre-shared key or password is wrong: the MAC of key package {n}, the first one \
             checked, does not match (or that package was altered)"
        ),
    }
}
