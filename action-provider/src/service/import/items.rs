//! The items of an import file, whatever its format: sae-core's PSKC and CSV readers mapped
//! onto one shape ([`Item`]: a position, the item's name, the item or why it is skipped).

use std::io::BufRead;

use sae_core::import::csv::{ImportedUser, TokenCsvReader, TokenLayout, UserCsvReader};
use sae_core::import::pskc::{KeyMaterial, PskcOptions, PskcReader};
use sae_core::import::{ImportedToken, Outcome};

/// Why an item is not imported: a stable code and the reason in words (names and positions
/// only, never a value from the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// Stable snake_case code (`bad_mac`, `duplicate_serial`, `unknown_user`, …).
    pub reason: String,
    /// In words.
    pub detail: String,
}

impl Skip {
    /// A skip with `reason` and `detail`.
    pub fn new(reason: &str, detail: impl Into<String>) -> Self {
        Self {
            reason: reason.to_owned(),
            detail: detail.into(),
        }
    }
}

/// One item of a file, in file order.
#[derive(Debug)]
pub struct Item<T> {
    /// Package number or spreadsheet row.
    pub position: u64,
    /// The serial or login the file gives it.
    pub id: Option<String>,
    /// The validated item, or why it is skipped.
    pub body: Result<T, Skip>,
}

/// The items of a file; `Err` ends the file (a fatal problem, in words).
pub type Items<'a, T> = Box<dyn Iterator<Item = Result<Item<T>, String>> + 'a>;

/// A token file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// PSKC (RFC 6030).
    Pskc,
    /// CSV (privacyIDEA's layout or SAE's headed one).
    Csv,
}

impl Format {
    /// Parses `pskc` or `csv`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "pskc" | "xml" => Some(Self::Pskc),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }

    /// The format of a file whose first non-blank character is `<` (after a byte-order
    /// mark) is PSKC, anything else CSV.
    pub fn sniff(input: &mut dyn BufRead) -> std::io::Result<Self> {
        let head = input.fill_buf()?;
        let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        Ok(match head.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'<') => Self::Pskc,
            _ => Self::Csv,
        })
    }
}

fn item<T, R: std::fmt::Display>(
    outcome: Outcome<T, R>,
    code: impl Fn(&R) -> &'static str,
) -> Item<T> {
    match outcome {
        Outcome::Imported { position, item } => Item {
            position,
            id: None,
            body: Ok(item),
        },
        Outcome::Skipped {
            position,
            id,
            reason,
        } => Item {
            position,
            id,
            body: Err(Skip::new(code(&reason), reason.to_string())),
        },
    }
}

/// The tokens of a PSKC or CSV file.
///
/// # Errors
/// The file's first fatal problem (not PSKC, a wrong key kind, an unknown CSV column, …).
pub fn tokens<'a, R: BufRead + 'a>(
    mut input: R,
    format: Option<Format>,
    key: KeyMaterial,
    skip_bad: bool,
) -> Result<Items<'a, ImportedToken>, String> {
    let format = match format {
        Some(f) => f,
        None => {
            Format::sniff(&mut input).map_err(|e| format!("the file could not be read: {e}"))?
        }
    };
    let named = |mut item: Item<ImportedToken>| {
        if let Ok(token) = &item.body {
            item.id.clone_from(&token.serial);
        }
        item
    };
    match format {
        Format::Pskc => {
            let reader =
                PskcReader::new(input, PskcOptions { key, skip_bad }).map_err(|e| e.to_string())?;
            Ok(Box::new(reader.map(move |o| {
                o.map(|o| named(item(o, sae_core::import::pskc::SkipReason::code)))
                    .map_err(|e| e.to_string())
            })))
        }
        Format::Csv => {
            if !matches!(key, KeyMaterial::None) {
                return Err("a CSV file is not encrypted: give no psk or password".into());
            }
            let reader =
                TokenCsvReader::new(input, TokenLayout::Detect).map_err(|e| e.to_string())?;
            Ok(Box::new(reader.map(move |o| {
                o.map(|o| named(item(o, sae_core::import::csv::RowError::code)))
                    .map_err(|e| e.to_string())
            })))
        }
    }
}

/// The users of a CSV file.
///
/// # Errors
/// The file's first fatal problem (an unknown column, no header, …).
pub fn users<'a, R: BufRead + 'a>(input: R) -> Result<Items<'a, ImportedUser>, String> {
    let reader = UserCsvReader::new(input).map_err(|e| e.to_string())?;
    Ok(Box::new(reader.map(|o| {
        o.map(|o| {
            let mut item = item(o, sae_core::import::csv::RowError::code);
            if let Ok(user) = &item.body {
                item.id = Some(user.login.clone());
            }
            item
        })
        .map_err(|e| e.to_string())
    })))
}
