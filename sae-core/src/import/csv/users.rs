//! User CSV files: a header row naming the columns (any order, `login` required) from
//! `login,name,email,document,mobile,wallet,password_hash`, then one user per row.
//!
//! Each row is checked as `POST /v1/users` checks its body: the login's structure
//! ([`check_login`]), e-mail, mobile and document normalised by the IM rules, the password
//! hash parsed by [`StoredHash::parse`] (PHC strings and the legacy salted SHA-2 forms). The
//! IM policy (login must be an e-mail address, uniqueness switches) and the wallet's
//! existence are the caller's checks, against its store.
//!
//! [`UserCsvWriter`] writes the same layout, so an export imports again unchanged.

use std::io::{Read, Write};

use super::{CsvError, RowError, Rows, Seen, cell, check_width, header_columns, next_row};
use crate::config::{
    ConfigError, check_login, normalize_document, normalize_email, normalize_mobile,
};
use crate::import::Outcome;
use crate::password::StoredHash;

/// The columns, in the order the writer uses.
pub const USER_COLUMNS: &[&str] = &[
    "login",
    "name",
    "email",
    "document",
    "mobile",
    "wallet",
    "password_hash",
];
const USER_LISTING: &str = "login, name, email, document, mobile, wallet, password_hash";

/// A value as given (trimmed) and in the normalised form uniqueness checks compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalizedValue {
    /// As the file gave it, trimmed.
    pub raw: String,
    /// Normalised (lower-case e-mail, mobile digits, document digits).
    pub normalized: String,
}

/// One user read from a CSV file, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportedUser {
    /// The login.
    pub login: String,
    /// Display name.
    pub name: Option<String>,
    /// E-mail address.
    pub email: Option<NormalizedValue>,
    /// National id.
    pub document: Option<NormalizedValue>,
    /// Mobile number.
    pub mobile: Option<NormalizedValue>,
    /// Wallet name (its existence is the caller's check).
    pub wallet: Option<String>,
    /// Imported password hash.
    pub password_hash: Option<StoredHash>,
}

/// A streaming reader of a user CSV file: an iterator of per-row outcomes.
pub struct UserCsvReader<R: Read> {
    rows: Rows<R>,
    columns: std::collections::HashMap<&'static str, usize>,
    width: usize,
    logins: Seen,
    done: bool,
}

impl<R: Read> UserCsvReader<R> {
    /// Reads the header row.
    ///
    /// # Errors
    /// An empty or unreadable file, or a header with an unknown or repeated column or
    /// without `login`.
    pub fn new(input: R) -> Result<Self, CsvError> {
        let mut rows = Rows::new(input, false);
        let header = rows.next()?.ok_or(CsvError::Empty)?;
        let columns = header_columns(&header.record, USER_COLUMNS, USER_LISTING)?;
        if !columns.contains_key("login") {
            return Err(CsvError::MissingColumn { name: "login" });
        }
        Ok(Self {
            rows,
            columns,
            width: header.record.len(),
            logins: Seen::default(),
            done: false,
        })
    }

    fn convert(&mut self, record: &csv::ByteRecord, row: u64) -> Result<ImportedUser, RowError> {
        check_width(record, self.width)?;
        let get = |field: &'static str| cell(record, self.columns.get(field).copied(), field);
        let login = get("login")?.ok_or(RowError::Missing { field: "login" })?;
        check_login(login).map_err(|e| config_error("login", &e))?;
        let normalized = |field, normalize: fn(&str) -> Result<String, ConfigError>| {
            get(field)?
                .map(|raw| {
                    normalize(raw)
                        .map(|normalized| NormalizedValue {
                            raw: raw.to_owned(),
                            normalized,
                        })
                        .map_err(|e| config_error(field, &e))
                })
                .transpose()
        };
        let user = ImportedUser {
            login: login.to_owned(),
            name: get("name")?.map(str::to_owned),
            email: normalized("email", normalize_email)?,
            document: normalized("document", normalize_document)?,
            mobile: normalized("mobile", normalize_mobile)?,
            wallet: get("wallet")?.map(str::to_owned),
            password_hash: get("password_hash")?
                .map(StoredHash::parse)
                .transpose()
                .map_err(RowError::PasswordHash)?,
        };
        self.logins.check("login", login, row)?;
        Ok(user)
    }
}

impl<R: Read> Iterator for UserCsvReader<R> {
    type Item = Result<Outcome<ImportedUser, RowError>, CsvError>;

    fn next(&mut self) -> Option<Self::Item> {
        let row = match next_row(&mut self.rows, &mut self.done)? {
            Ok(row) => row,
            Err(error) => return Some(Err(error)),
        };
        let position = row.number;
        Some(Ok(match self.convert(&row.record, position) {
            Ok(item) => Outcome::Imported { position, item },
            Err(reason) => Outcome::Skipped {
                position,
                id: cell(&row.record, self.columns.get("login").copied(), "login")
                    .ok()
                    .flatten()
                    .map(|login| login.chars().take(255).collect()),
                reason,
            },
        }))
    }
}

/// The reason of a normalisation error, under the CSV column's name.
fn config_error(field: &'static str, error: &ConfigError) -> RowError {
    let problem = match error {
        ConfigError::InvalidEmail { reason, .. }
        | ConfigError::InvalidMobile { reason }
        | ConfigError::InvalidDocument { reason }
        | ConfigError::InvalidLogin { reason } => reason,
        _ => "is invalid",
    };
    RowError::Invalid { field, problem }
}

/// One user to export.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserRecord<'a> {
    /// The login.
    pub login: &'a str,
    /// Display name.
    pub name: Option<&'a str>,
    /// E-mail address as stored.
    pub email: Option<&'a str>,
    /// National id as stored.
    pub document: Option<&'a str>,
    /// Mobile number as stored.
    pub mobile: Option<&'a str>,
    /// Wallet name.
    pub wallet: Option<&'a str>,
    /// Stored password hash (leave `None` to export without hashes).
    pub password_hash: Option<&'a str>,
}

/// Writes users in the layout [`UserCsvReader`] reads (RFC 4180 quoting, CRLF-free `\n`
/// line ends, header first).
///
/// Cells are written as they are: a value starting with `=`, `+`, `-` or `@` is not
/// defused for spreadsheet programs (a mobile number starts with `+`), so the file is for
/// re-import, not for opening in a spreadsheet as is.
pub struct UserCsvWriter<W: Write> {
    writer: csv::Writer<W>,
}

impl<W: Write> UserCsvWriter<W> {
    /// Starts the file with its header row.
    ///
    /// # Errors
    /// [`CsvError::Write`] when the output fails.
    pub fn new(output: W) -> Result<Self, CsvError> {
        let mut writer = csv::WriterBuilder::new().from_writer(output);
        writer.write_record(USER_COLUMNS).map_err(write_error)?;
        Ok(Self { writer })
    }

    /// Appends one user.
    ///
    /// # Errors
    /// [`CsvError::Write`] when the output fails.
    pub fn write(&mut self, user: &UserRecord<'_>) -> Result<(), CsvError> {
        let cells = [
            Some(user.login),
            user.name,
            user.email,
            user.document,
            user.mobile,
            user.wallet,
            user.password_hash,
        ];
        self.writer
            .write_record(cells.iter().map(|cell| cell.unwrap_or_default()))
            .map_err(write_error)
    }

    /// Writes out what is buffered (to stream an export a page at a time).
    ///
    /// # Errors
    /// [`CsvError::Write`] when the output fails.
    pub fn flush(&mut self) -> Result<(), CsvError> {
        self.writer.flush().map_err(|e| CsvError::Write {
            problem: e.to_string(),
        })
    }

    /// Flushes and returns the output.
    ///
    /// # Errors
    /// [`CsvError::Write`] when the output fails.
    pub fn finish(self) -> Result<W, CsvError> {
        self.writer.into_inner().map_err(|e| CsvError::Write {
            problem: e.error().to_string(),
        })
    }
}

fn write_error(error: csv::Error) -> CsvError {
    CsvError::Write {
        problem: error.to_string(),
    }
}
