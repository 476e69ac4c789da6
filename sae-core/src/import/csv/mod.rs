//! CSV imports (RFC 4180 quoting, through the `csv` crate): tokens ([`TokenCsvReader`]) and
//! users ([`UserCsvReader`]), and the users export ([`UserCsvWriter`]).
//!
//! Each reader yields one [`Outcome`](super::Outcome) per data row, in order, with the row
//! number a spreadsheet shows for it (a quoted cell spanning several lines is one row; the
//! header, blank and comment lines count as rows). Cells are trimmed; an empty cell is an
//! absent value. Errors name the column, never quote a value (a value may be a secret).
//! A row whose problem is its own is skipped with a [`RowError`]; a problem of the whole
//! file (a header naming an unknown column, a file that is not UTF-8 CSV at all) is a
//! fatal [`CsvError`].

mod tokens;
mod users;

use std::collections::{HashMap, VecDeque};
use std::io::Read;

use thiserror::Error;

pub use tokens::{TokenCsvReader, TokenLayout};
pub use users::{
    ImportedUser, NormalizedValue, USER_COLUMNS, UserCsvReader, UserCsvWriter, UserRecord,
};

use crate::password::HashError;

/// Why a CSV row was not imported.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RowError {
    /// A required cell is empty.
    #[error("{field}: is required")]
    Missing {
        /// The column.
        field: &'static str,
    },
    /// A cell holds a value SAE refuses.
    #[error("{field}: {problem}")]
    Invalid {
        /// The column.
        field: &'static str,
        /// What is wrong with it (never the value itself).
        problem: &'static str,
    },
    /// The token type is neither HOTP nor TOTP.
    #[error("type: {found:?} is not supported (only hotp and totp)")]
    UnsupportedType {
        /// The type given.
        found: String,
    },
    /// The password hash cannot be used.
    #[error("password_hash: {0}")]
    PasswordHash(HashError),
    /// An earlier row has the same serial or login.
    #[error("{field}: row {first_row} has the same {field}")]
    Duplicate {
        /// `serial` or `login`.
        field: &'static str,
        /// The first row with it.
        first_row: u64,
    },
}

impl RowError {
    /// Stable snake_case code for reports.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Missing { .. } => "missing_field",
            Self::Invalid { .. } => "invalid_field",
            Self::UnsupportedType { .. } => "unsupported_type",
            Self::PasswordHash(_) => "invalid_password_hash",
            Self::Duplicate { .. } => "duplicate",
        }
    }

    /// The column at fault.
    #[must_use]
    pub const fn field(&self) -> &'static str {
        match self {
            Self::Missing { field }
            | Self::Invalid { field, .. }
            | Self::Duplicate { field, .. } => field,
            Self::UnsupportedType { .. } => "type",
            Self::PasswordHash(_) => "password_hash",
        }
    }
}

/// Why a whole CSV file was refused. After one of these the reader yields nothing more.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CsvError {
    /// The input could not be read.
    #[error("row {row}: the file could not be read: {problem}")]
    Read {
        /// Spreadsheet row where reading stopped.
        row: u64,
        /// The I/O or CSV error.
        problem: String,
    },
    /// The header names a column this import does not know.
    #[error("header: unknown column {name:?} (known: {known})")]
    UnknownColumn {
        /// The column name.
        name: String,
        /// The known columns, comma-separated.
        known: &'static str,
    },
    /// The header names a column twice.
    #[error("header: column {name:?} appears twice")]
    DuplicateColumn {
        /// The column name.
        name: String,
    },
    /// The header lacks a required column.
    #[error("header: column {name} is required")]
    MissingColumn {
        /// The column name.
        name: &'static str,
    },
    /// The output of a writer failed.
    #[error("the CSV output could not be written: {problem}")]
    Write {
        /// The I/O error.
        problem: String,
    },
    /// The file has no header row where one is required.
    #[error("the file is empty: a header row is required")]
    Empty,
}

/// One record with the spreadsheet row it starts on.
struct Row {
    number: u64,
    record: csv::ByteRecord,
}

/// The input, noting where its line feeds are, so that the end of a record can be told
/// apart from the end of its line. Offsets before the last record are forgotten, so this
/// holds at most the `csv` reader's read-ahead.
struct Newlines<R: Read> {
    inner: R,
    offset: u64,
    at: VecDeque<u64>,
}

impl<R: Read> Read for Newlines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, &byte) in buf[..n].iter().enumerate() {
            if byte == b'\n' {
                self.at.push_back(self.offset + i as u64);
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

impl<R: Read> Newlines<R> {
    fn is_newline(&self, offset: u64) -> bool {
        self.at.binary_search(&offset).is_ok()
    }

    fn forget_before(&mut self, offset: u64) {
        while self.at.front().is_some_and(|&at| at < offset) {
            self.at.pop_front();
        }
    }
}

/// The records of a CSV file, numbered as a spreadsheet numbers them.
///
/// The `csv` crate skips blank and comment lines and reports a record's position as where
/// its reading began (before those lines), so the row is worked out from where the record
/// ended instead: the reader's line there, minus the line breaks inside the record's cells,
/// minus the line feed that ended it (a CR LF's LF is only read with the next record).
struct Rows<R: Read> {
    reader: csv::Reader<Newlines<R>>,
    /// Line breaks inside quoted cells of earlier records (a spreadsheet row each fewer).
    embedded_newlines: u64,
    /// Row number of the last record read (for errors).
    last_row: u64,
}

impl<R: Read> Rows<R> {
    fn new(input: R, comments: bool) -> Self {
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .comment(comments.then_some(b'#'))
            .from_reader(Newlines {
                inner: input,
                offset: 0,
                at: VecDeque::new(),
            });
        Self {
            reader,
            embedded_newlines: 0,
            last_row: 0,
        }
    }

    /// The next record, or `None` at the end.
    fn next(&mut self) -> Result<Option<Row>, CsvError> {
        let mut record = csv::ByteRecord::new();
        match self.reader.read_byte_record(&mut record) {
            Ok(false) => Ok(None),
            Ok(true) => {
                let end = self.reader.position().clone();
                let inside = record
                    .iter()
                    .map(|cell| cell.iter().fold(0, |n, &b| n + u64::from(b == b'\n')))
                    .sum::<u64>();
                let ended_by_line_feed =
                    end.byte() > 0 && self.reader.get_ref().is_newline(end.byte() - 1);
                let line = end.line() - inside - u64::from(ended_by_line_feed);
                self.reader.get_mut().forget_before(end.byte());
                // The `csv` crate counts LF only: records ended by a lone CR (old Mac files)
                // all sit on its line 1, so each row is at least one past the previous.
                let number = line
                    .saturating_sub(self.embedded_newlines)
                    .max(self.last_row + 1);
                self.embedded_newlines += inside;
                self.last_row = number;
                Ok(Some(Row { number, record }))
            }
            Err(error) => Err(CsvError::Read {
                row: self.last_row + 1,
                problem: error.to_string(),
            }),
        }
    }
}

/// The next record for an iterator: `None` at the end and after an error, which is
/// returned once.
fn next_row<R: Read>(rows: &mut Rows<R>, done: &mut bool) -> Option<Result<Row, CsvError>> {
    if *done {
        return None;
    }
    let next = rows.next().transpose();
    if !matches!(next, Some(Ok(_))) {
        *done = true;
    }
    next
}

/// The trimmed text of cell `index`, `None` when absent or empty.
fn cell<'a>(
    record: &'a csv::ByteRecord,
    index: Option<usize>,
    field: &'static str,
) -> Result<Option<&'a str>, RowError> {
    let Some(bytes) = index.and_then(|i| record.get(i)) else {
        return Ok(None);
    };
    let text = std::str::from_utf8(bytes).map_err(|_| RowError::Invalid {
        field,
        problem: "is not valid UTF-8",
    })?;
    let text = text.trim();
    Ok((!text.is_empty()).then_some(text))
}

/// Maps header cells to column indexes, refusing unknown and repeated names.
fn header_columns(
    record: &csv::ByteRecord,
    known: &'static [&'static str],
    listing: &'static str,
) -> Result<HashMap<&'static str, usize>, CsvError> {
    let mut columns = HashMap::new();
    for (index, raw) in record.iter().enumerate() {
        let name = String::from_utf8_lossy(raw).trim().to_ascii_lowercase();
        let Some(&known_name) = known.iter().find(|k| **k == name) else {
            return Err(CsvError::UnknownColumn {
                name: name.chars().take(64).collect(),
                known: listing,
            });
        };
        if columns.insert(known_name, index).is_some() {
            return Err(CsvError::DuplicateColumn { name });
        }
    }
    Ok(columns)
}

/// Refuses a row with cells beyond the header.
fn check_width(record: &csv::ByteRecord, width: usize) -> Result<(), RowError> {
    let extra = record
        .iter()
        .skip(width)
        .any(|cell| !cell.iter().all(u8::is_ascii_whitespace));
    if extra {
        return Err(RowError::Invalid {
            field: "row",
            problem: "has more cells than the header has columns",
        });
    }
    Ok(())
}

/// Serials or logins seen so far, with their row.
#[derive(Default)]
struct Seen(HashMap<String, u64>);

impl Seen {
    /// Records `key` at `row`, or says which row had it first.
    fn check(&mut self, field: &'static str, key: &str, row: u64) -> Result<(), RowError> {
        match self.0.get(key) {
            Some(&first_row) => Err(RowError::Duplicate { field, first_row }),
            None => {
                self.0.insert(key.to_owned(), row);
                Ok(())
            }
        }
    }
}
