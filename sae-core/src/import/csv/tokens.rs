//! Token CSV files, in two layouts.
//!
//! **privacyIDEA's OATH CSV** (headerless; `#` starts a comment line), as privacyIDEA and
//! LinOTP import it: `serial, seed, [type], [digits], [time step | counter], [hash]` —
//! the seed in hexadecimal; type `hotp` (default) or `totp`; digits 6 by default; the fifth
//! cell is the time step of a TOTP token (30 by default) or the counter of a HOTP token
//! (0 by default); the sixth, LinOTP's extension, the hash (`sha1`, `sha256`, `sha512`).
//! Without it the hash follows the seed length, as LinOTP does: 32 bytes SHA-256, 64 bytes
//! SHA-512, anything else SHA-1.
//!
//! **SAE's headed layout**: a header row naming the columns, in any order:
//! `serial,type,secret_hex,secret_base32,algorithm,digits,period,counter,login` — `type` and
//! one secret column are required, and each row fills exactly one secret cell.

use std::io::Read;

use super::{CsvError, RowError, Rows, Seen, cell, check_width, header_columns, next_row};
use crate::codec::CodecError;
use crate::config::check_login;
use crate::import::{ImportedToken, Outcome, TokenKind};
use crate::otp::{Algorithm, Digits, TimeStep};
use crate::secret::{Secret, SecretError};

/// Columns of SAE's layout.
const SAE_COLUMNS: &[&str] = &[
    "serial",
    "type",
    "secret_hex",
    "secret_base32",
    "algorithm",
    "digits",
    "period",
    "counter",
    "login",
];
const SAE_LISTING: &str =
    "serial, type, secret_hex, secret_base32, algorithm, digits, period, counter, login";

/// Longest serial accepted, in characters.
const MAX_SERIAL_LEN: usize = 128;

/// Which layout a token file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenLayout {
    /// SAE's when the first row is a header naming SAE columns, privacyIDEA's otherwise.
    #[default]
    Detect,
    /// privacyIDEA's headerless OATH CSV.
    PrivacyIdea,
    /// SAE's headed layout.
    Sae,
}

/// The layout resolved, with the header's column positions for SAE's.
enum Resolved {
    PrivacyIdea,
    Sae(std::collections::HashMap<&'static str, usize>, usize),
}

/// A streaming reader of a token CSV file: an iterator of per-row outcomes.
pub struct TokenCsvReader<R: Read> {
    rows: Rows<R>,
    layout: Resolved,
    /// A data row read while detecting the layout, to be yielded first.
    pending: Option<super::Row>,
    serials: Seen,
    done: bool,
}

impl<R: Read> TokenCsvReader<R> {
    /// Reads the header (for SAE's layout) and prepares the reader.
    ///
    /// # Errors
    /// An unreadable file, or a header with an unknown or repeated column or without a
    /// required one.
    pub fn new(input: R, layout: TokenLayout) -> Result<Self, CsvError> {
        let mut rows = Rows::new(input, true);
        let first = rows.next()?;
        let headed = match (&first, layout) {
            (_, TokenLayout::Sae) => true,
            (_, TokenLayout::PrivacyIdea) | (None, TokenLayout::Detect) => false,
            (Some(row), TokenLayout::Detect) => row.record.iter().any(|cell| {
                let name = String::from_utf8_lossy(cell).trim().to_ascii_lowercase();
                ["serial", "type", "secret_hex", "secret_base32"].contains(&name.as_str())
            }),
        };
        let (layout, pending) = if headed {
            let header = first.ok_or(CsvError::Empty)?;
            let columns = header_columns(&header.record, SAE_COLUMNS, SAE_LISTING)?;
            for required in ["type"] {
                if !columns.contains_key(required) {
                    return Err(CsvError::MissingColumn { name: "type" });
                }
            }
            if !columns.contains_key("secret_hex") && !columns.contains_key("secret_base32") {
                return Err(CsvError::MissingColumn {
                    name: "secret_hex or secret_base32",
                });
            }
            (Resolved::Sae(columns, header.record.len()), None)
        } else {
            (Resolved::PrivacyIdea, first)
        };
        Ok(Self {
            rows,
            layout,
            pending,
            serials: Seen::default(),
            done: false,
        })
    }

    fn convert(&mut self, row: &super::Row) -> Result<ImportedToken, RowError> {
        let token = match &self.layout {
            Resolved::PrivacyIdea => privacy_idea_row(&row.record)?,
            Resolved::Sae(columns, width) => {
                check_width(&row.record, *width)?;
                sae_row(&row.record, |name| columns.get(name).copied())?
            }
        };
        if let Some(serial) = &token.serial {
            self.serials.check("serial", serial, row.number)?;
        }
        Ok(token)
    }
}

impl<R: Read> Iterator for TokenCsvReader<R> {
    type Item = Result<Outcome<ImportedToken, RowError>, CsvError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let row = match self.pending.take() {
            Some(row) => row,
            None => match next_row(&mut self.rows, &mut self.done)? {
                Ok(row) => row,
                Err(error) => return Some(Err(error)),
            },
        };
        let position = row.number;
        Some(Ok(match self.convert(&row) {
            Ok(item) => Outcome::Imported { position, item },
            Err(reason) => Outcome::Skipped {
                position,
                id: serial_cell(&row.record, &self.layout),
                reason,
            },
        }))
    }
}

/// The serial of a row, for the report of a skipped one.
fn serial_cell(record: &csv::ByteRecord, layout: &Resolved) -> Option<String> {
    let index = match layout {
        Resolved::PrivacyIdea => Some(0),
        Resolved::Sae(columns, _) => columns.get("serial").copied(),
    };
    cell(record, index, "serial")
        .ok()
        .flatten()
        .map(|serial| serial.chars().take(MAX_SERIAL_LEN).collect())
}

/// `serial, seed, [type], [digits], [time step | counter], [hash]`.
fn privacy_idea_row(record: &csv::ByteRecord) -> Result<ImportedToken, RowError> {
    if record.len() > 6 {
        check_width(record, 6)?;
    }
    let get = |index, field| cell(record, Some(index), field);
    let serial = get(0, "serial")?.ok_or(RowError::Missing { field: "serial" })?;
    let seed = get(1, "seed")?.ok_or(RowError::Missing { field: "seed" })?;
    let secret = Secret::from_hex(seed).map_err(|e| secret_error("seed", &e))?;
    let totp = match get(2, "type")? {
        None => false,
        Some(kind) => token_type(kind)?,
    };
    let digits = digits(get(3, "digits")?)?;
    let fifth = get(4, if totp { "time step" } else { "counter" })?;
    let kind = if totp {
        TokenKind::Totp {
            period: period(fifth, "time step")?,
            drift: 0,
        }
    } else {
        TokenKind::Hotp {
            counter: counter(fifth)?,
        }
    };
    let algorithm = match get(5, "hash")? {
        Some(name) => name.parse::<Algorithm>().map_err(|_| RowError::Invalid {
            field: "hash",
            problem: "must be sha1, sha256 or sha512",
        })?,
        None => match secret.byte_len() {
            32 => Algorithm::Sha256,
            64 => Algorithm::Sha512,
            _ => Algorithm::Sha1,
        },
    };
    let mut token = ImportedToken::new(kind, algorithm, digits, secret);
    token.serial = Some(check_serial(serial)?);
    Ok(token)
}

/// One row of SAE's layout; `column` gives a column's index.
fn sae_row(
    record: &csv::ByteRecord,
    column: impl Fn(&str) -> Option<usize>,
) -> Result<ImportedToken, RowError> {
    let get = |field: &'static str| cell(record, column(field), field);
    let totp = token_type(get("type")?.ok_or(RowError::Missing { field: "type" })?)?;
    let secret = match (get("secret_hex")?, get("secret_base32")?) {
        (Some(hex), None) => Secret::from_hex(hex).map_err(|e| secret_error("secret_hex", &e))?,
        (None, Some(b32)) => {
            Secret::from_base32(b32).map_err(|e| secret_error("secret_base32", &e))?
        }
        (Some(_), Some(_)) => {
            return Err(RowError::Invalid {
                field: "secret_hex",
                problem: "give secret_hex or secret_base32, not both",
            });
        }
        (None, None) => {
            return Err(RowError::Missing {
                field: "secret_hex or secret_base32",
            });
        }
    };
    let algorithm = match get("algorithm")? {
        None => Algorithm::Sha1,
        Some(name) => name.parse().map_err(|_| RowError::Invalid {
            field: "algorithm",
            problem: "must be sha1, sha256 or sha512",
        })?,
    };
    let digits = digits(get("digits")?)?;
    let (period_cell, counter_cell) = (get("period")?, get("counter")?);
    let kind = if totp {
        if counter_cell.is_some() {
            return Err(RowError::Invalid {
                field: "counter",
                problem: "applies to hotp tokens only",
            });
        }
        TokenKind::Totp {
            period: period(period_cell, "period")?,
            drift: 0,
        }
    } else {
        if period_cell.is_some() {
            return Err(RowError::Invalid {
                field: "period",
                problem: "applies to totp tokens only",
            });
        }
        TokenKind::Hotp {
            counter: counter(counter_cell)?,
        }
    };
    let mut token = ImportedToken::new(kind, algorithm, digits, secret);
    token.serial = get("serial")?.map(check_serial).transpose()?;
    if let Some(login) = get("login")? {
        check_login(login).map_err(|_| RowError::Invalid {
            field: "login",
            problem: "must be 1 to 255 characters without control characters or '/'",
        })?;
        token.user = Some(login.to_owned());
    }
    Ok(token)
}

/// `true` for TOTP, `false` for HOTP.
fn token_type(kind: &str) -> Result<bool, RowError> {
    if kind.eq_ignore_ascii_case("totp") {
        Ok(true)
    } else if kind.eq_ignore_ascii_case("hotp") {
        Ok(false)
    } else {
        Err(RowError::UnsupportedType {
            found: kind.chars().take(32).collect(),
        })
    }
}

fn digits(cell: Option<&str>) -> Result<Digits, RowError> {
    cell.map_or(Ok(Digits::SIX), |text| {
        text.parse::<u8>()
            .ok()
            .and_then(|n| Digits::new(n).ok())
            .ok_or(RowError::Invalid {
                field: "digits",
                problem: "must be a number from 6 to 10",
            })
    })
}

fn period(cell: Option<&str>, field: &'static str) -> Result<TimeStep, RowError> {
    cell.map_or(Ok(TimeStep::default()), |text| {
        text.parse::<TimeStep>().map_err(|_| RowError::Invalid {
            field,
            problem: "must be a whole number of seconds, at least 1",
        })
    })
}

fn counter(cell: Option<&str>) -> Result<u64, RowError> {
    cell.map_or(Ok(0), |text| {
        text.parse::<u64>().map_err(|_| RowError::Invalid {
            field: "counter",
            problem: "must be a whole number from 0 to 2^64-1",
        })
    })
}

fn check_serial(serial: &str) -> Result<String, RowError> {
    if serial.chars().count() > MAX_SERIAL_LEN {
        return Err(RowError::Invalid {
            field: "serial",
            problem: "is longer than 128 characters",
        });
    }
    if serial.chars().any(char::is_control) {
        return Err(RowError::Invalid {
            field: "serial",
            problem: "contains a control character",
        });
    }
    Ok(serial.to_owned())
}

/// A secret decoding error, without the offending character (it is part of the secret).
fn secret_error(field: &'static str, error: &SecretError) -> RowError {
    let problem = match error {
        SecretError::TooShort => "is empty",
        SecretError::Encoding(CodecError::OddHexLength { .. }) => "has an odd number of hex digits",
        SecretError::Encoding(CodecError::InvalidHexChar { .. }) => "is not hexadecimal",
        SecretError::Encoding(
            CodecError::InvalidBase32Char { .. }
            | CodecError::Base32DataAfterPadding { .. }
            | CodecError::InvalidBase32Length { .. },
        ) => "is not base32",
        SecretError::Encoding(_) | SecretError::RandomSource => "is not validly encoded",
    };
    RowError::Invalid { field, problem }
}
