//! Streaming readers for token and user imports: PSKC (RFC 6030) key containers and CSV
//! files (SPEC §5.1).
//!
//! Everything here is pure: the caller opens the file (or receives the upload) and hands in
//! an [`std::io::BufRead`] / [`std::io::Read`]; the readers never open files, read a clock
//! or touch a database. Each reader is an iterator that yields one [`Outcome`] per item (a
//! PSKC `KeyPackage`, a CSV row), in file order, as soon as the item has been read, so a
//! 100,000-key file never sits in memory. A fatal problem (a malformed or truncated file, a
//! wrong pre-shared key or password, an unknown CSV column) ends the iteration with an
//! error instead.
//!
//! * [`pskc`]: [`pskc::PskcReader`] over a key container: plaintext, pre-shared-key
//!   (AES-CBC with HMAC, AES key wrap) and password-based (PBKDF2) encryption.
//! * [`csv`]: [`csv::TokenCsvReader`] (privacyIDEA's headerless layout and SAE's headed
//!   one) and [`csv::UserCsvReader`], plus [`csv::UserCsvWriter`] for the users export.
//!
//! Storing is the caller's part: when the caller did not ask to skip bad items, a file with
//! any skipped item must store nothing, so the caller imports inside one transaction (or
//! reads the file twice: once as a dry run).

pub mod csv;
pub mod pskc;
mod token;

pub use token::{ImportedToken, TokenKind};

/// The fate of one item of an import file: imported, or skipped with a reason.
///
/// `position` is what a person looks for in the file: the 1-based number of the PSKC
/// `KeyPackage`, or the 1-based row of a CSV file as a spreadsheet numbers it (the header
/// is row 1). `id` names the item when the file gave it a name (a serial, a login), so a
/// report can say which token or user was skipped.
#[derive(Debug)]
pub enum Outcome<T, R> {
    /// The item was read and validated; the caller may store it.
    Imported {
        /// Package number or spreadsheet row.
        position: u64,
        /// The validated item.
        item: T,
    },
    /// The item cannot be imported.
    Skipped {
        /// Package number or spreadsheet row.
        position: u64,
        /// The item's serial or login, when the file gave one.
        id: Option<String>,
        /// Why it was skipped.
        reason: R,
    },
}

impl<T, R> Outcome<T, R> {
    /// Package number or spreadsheet row of the item.
    #[must_use]
    pub const fn position(&self) -> u64 {
        match self {
            Self::Imported { position, .. } | Self::Skipped { position, .. } => *position,
        }
    }

    /// The imported item, or `None` when it was skipped.
    #[must_use]
    pub fn imported(self) -> Option<T> {
        match self {
            Self::Imported { item, .. } => Some(item),
            Self::Skipped { .. } => None,
        }
    }

    /// The reason, or `None` when the item was imported.
    #[must_use]
    pub const fn skip_reason(&self) -> Option<&R> {
        match self {
            Self::Imported { .. } => None,
            Self::Skipped { reason, .. } => Some(reason),
        }
    }
}
