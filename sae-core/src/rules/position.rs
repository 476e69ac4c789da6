//! Selecting the part of an AuthValue content that an MFA rule compares (SPEC §4.5).
//!
//! The content is plain text, a JSON object or a CSV line. The rule's optional `position`
//! decides:
//! - no position: the whole content;
//! - the content parses as a JSON object: the position is a top-level key (a plain key, not a
//!   dotted path: `"a.b"` is the key `a.b`); its value must be a string or an integer (an
//!   integer is compared as its decimal text); a key that appears twice is ambiguous and
//!   refused;
//! - otherwise, when the position is all ASCII digits: a 0-based CSV column (RFC 4180: fields
//!   separated by commas, optionally quoted with `"`, `""` inside quotes is one quote, commas
//!   and line breaks inside quotes are data; one trailing line break is ignored; the content
//!   must be a single record);
//! - otherwise the content is refused as not a JSON object.
//!
//! These parsers take untrusted input (they are fuzz targets): they never panic, and JSON
//! nesting is bounded by `serde_json`'s recursion limit.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use zeroize::Zeroizing;

/// Longest position, in characters.
pub const POSITION_MAX_CHARS: usize = 255;

/// Errors of a position and of selecting content with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PositionError {
    /// The position is longer than [`POSITION_MAX_CHARS`].
    #[error("position: {chars} characters is too long; at most 255 are allowed")]
    TooLong {
        /// Its length in characters.
        chars: usize,
    },
    /// The position contains a control character.
    #[error("position: must not contain control characters")]
    ControlChar,
    /// The content is not a JSON object and the position is not a CSV column number.
    #[error(
        "position: the content is not a JSON object, and {position:?} is not a CSV column number"
    )]
    ContentNotJsonObject {
        /// The rule's position.
        position: String,
    },
    /// The JSON object has no member with this key.
    #[error("position: the JSON content has no key {key:?}")]
    JsonKeyMissing {
        /// The rule's position.
        key: String,
    },
    /// The JSON object has this key more than once.
    #[error("position: the JSON content has the key {key:?} more than once")]
    JsonKeyDuplicated {
        /// The rule's position.
        key: String,
    },
    /// The member's value is not a string or an integer.
    #[error("position: the value of key {key:?} is not a string or an integer")]
    JsonValueNotText {
        /// The rule's position.
        key: String,
    },
    /// The content is not a valid single CSV record.
    #[error("position: the content is not a valid CSV line: {reason}")]
    NotCsv {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The CSV line has fewer columns than the position asks for.
    #[error("position: column {column} does not exist; the CSV line has {columns} columns")]
    ColumnOutOfRange {
        /// The requested 0-based column.
        column: usize,
        /// How many columns the line has.
        columns: usize,
    },
}

/// A validated position: at most 255 characters, no control characters, not empty. All-digit
/// positions also name a CSV column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    text: String,
    column: Option<usize>,
}

impl Position {
    /// Checks a position; an empty string means "no position" and gives `Ok(None)`.
    pub fn new(text: impl Into<String>) -> Result<Option<Self>, PositionError> {
        let text = text.into();
        if text.is_empty() {
            return Ok(None);
        }
        let chars = text.chars().count();
        if chars > POSITION_MAX_CHARS {
            return Err(PositionError::TooLong { chars });
        }
        if text.chars().any(char::is_control) {
            return Err(PositionError::ControlChar);
        }
        let column = if text.bytes().all(|b| b.is_ascii_digit()) {
            // Too many digits for a usize: no such column can exist, so it is only a key.
            text.parse().ok()
        } else {
            None
        };
        Ok(Some(Self { text, column }))
    }

    /// The position as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The CSV column it names, when it is all digits.
    pub fn column(&self) -> Option<usize> {
        self.column
    }
}

/// Selected content: borrowed from the AuthValue, or an unescaped copy held in zeroized
/// memory. `Debug` does not show it.
pub struct Selected<'a>(SelectedInner<'a>);

enum SelectedInner<'a> {
    Borrowed(&'a str),
    Owned(Zeroizing<String>),
}

impl Selected<'_> {
    /// The selected text (a credential: do not log it).
    pub fn as_str(&self) -> &str {
        match &self.0 {
            SelectedInner::Borrowed(text) => text,
            SelectedInner::Owned(text) => text,
        }
    }
}

impl fmt::Debug for Selected<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Selected(<redacted>)")
    }
}

/// Selects the part of `content` at `position` (see the module documentation).
pub fn select<'a>(
    content: &'a str,
    position: Option<&Position>,
) -> Result<Selected<'a>, PositionError> {
    let Some(position) = position else {
        return Ok(Selected(SelectedInner::Borrowed(content)));
    };
    let key = || position.text.clone();
    match json_member(content, &position.text) {
        JsonMember::Found(text) => Ok(Selected(SelectedInner::Owned(text))),
        JsonMember::Missing => Err(PositionError::JsonKeyMissing { key: key() }),
        JsonMember::Duplicated => Err(PositionError::JsonKeyDuplicated { key: key() }),
        JsonMember::NotText => Err(PositionError::JsonValueNotText { key: key() }),
        JsonMember::NotObject => match position.column {
            Some(column) => csv_field(content, column),
            None => Err(PositionError::ContentNotJsonObject { position: key() }),
        },
    }
}

/// The field at 0-based `column` of a single RFC 4180 CSV record. The whole line is checked,
/// also past the column.
pub fn csv_field(line: &str, column: usize) -> Result<Selected<'_>, PositionError> {
    let not_csv = |reason| Err(PositionError::NotCsv { reason });
    let record = line
        .strip_suffix("\r\n")
        .or_else(|| line.strip_suffix('\n'))
        .unwrap_or(line);
    let bytes = record.as_bytes();
    let mut at = 0;
    let mut index = 0;
    let mut found = None;
    loop {
        let field = if bytes.get(at) == Some(&b'"') {
            let start = at + 1;
            let mut end = start;
            let mut escaped = false;
            loop {
                match bytes.get(end) {
                    None => return not_csv("a quoted field is not closed"),
                    Some(b'"') if bytes.get(end + 1) == Some(&b'"') => {
                        escaped = true;
                        end += 2;
                    }
                    Some(b'"') => break,
                    Some(_) => end += 1,
                }
            }
            at = end + 1;
            if !matches!(bytes.get(at), None | Some(b',')) {
                return not_csv("text follows a closing quote");
            }
            let raw = record.get(start..end).unwrap_or_default();
            (index == column).then(|| {
                if escaped {
                    Selected(SelectedInner::Owned(Zeroizing::new(
                        raw.replace("\"\"", "\""),
                    )))
                } else {
                    Selected(SelectedInner::Borrowed(raw))
                }
            })
        } else {
            let start = at;
            while let Some(&byte) = bytes.get(at) {
                match byte {
                    b',' => break,
                    b'"' => return not_csv("a quote appears inside an unquoted field"),
                    b'\r' | b'\n' => {
                        return not_csv("a line break outside quotes starts a second line");
                    }
                    _ => at += 1,
                }
            }
            let raw = record.get(start..at).unwrap_or_default();
            (index == column).then_some(Selected(SelectedInner::Borrowed(raw)))
        };
        if field.is_some() {
            found = field;
        }
        index += 1;
        if bytes.get(at) == Some(&b',') {
            at += 1;
        } else {
            break;
        }
    }
    found.ok_or(PositionError::ColumnOutOfRange {
        column,
        columns: index,
    })
}

/// The outcome of looking a key up in content that may be a JSON object.
enum JsonMember {
    NotObject,
    Missing,
    Duplicated,
    NotText,
    Found(Zeroizing<String>),
}

/// Looks `key` up among the top-level members of `content` without building a JSON tree:
/// other members are skipped, and only the selected value is copied (into zeroized memory).
fn json_member(content: &str, key: &str) -> JsonMember {
    let mut deserializer = serde_json::Deserializer::from_str(content);
    let member = ObjectMember { key }.deserialize(&mut deserializer);
    match member.and_then(|member| deserializer.end().map(|()| member)) {
        Ok(member) => member,
        Err(_) => JsonMember::NotObject,
    }
}

struct ObjectMember<'k> {
    key: &'k str,
}

impl<'de> DeserializeSeed<'de> for ObjectMember<'_> {
    type Value = JsonMember;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<JsonMember, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectMember<'_> {
    type Value = JsonMember;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonMember, A::Error> {
        let mut member = JsonMember::Missing;
        while let Some(is_key) = map.next_key_seed(KeyIs(self.key))? {
            if !is_key {
                map.next_value::<IgnoredAny>()?;
            } else if matches!(member, JsonMember::Missing) {
                member = map.next_value_seed(TextValue)?;
            } else {
                map.next_value::<IgnoredAny>()?;
                member = JsonMember::Duplicated;
            }
        }
        Ok(member)
    }
}

/// Deserialises a map key into "is it the key we look for", without allocating.
struct KeyIs<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

/// Deserialises the selected member: strings and integers become text, anything else is
/// consumed and reported as not text.
struct TextValue;

impl<'de> DeserializeSeed<'de> for TextValue {
    type Value = JsonMember;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<JsonMember, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TextValue {
    type Value = JsonMember;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<JsonMember, E> {
        Ok(JsonMember::Found(Zeroizing::new(text.to_owned())))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<JsonMember, E> {
        Ok(JsonMember::Found(Zeroizing::new(text)))
    }

    fn visit_u64<E: de::Error>(self, number: u64) -> Result<JsonMember, E> {
        Ok(JsonMember::Found(Zeroizing::new(number.to_string())))
    }

    fn visit_i64<E: de::Error>(self, number: i64) -> Result<JsonMember, E> {
        Ok(JsonMember::Found(Zeroizing::new(number.to_string())))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<JsonMember, E> {
        Ok(JsonMember::NotText)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<JsonMember, E> {
        Ok(JsonMember::NotText)
    }

    fn visit_unit<E: de::Error>(self) -> Result<JsonMember, E> {
        Ok(JsonMember::NotText)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonMember, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(JsonMember::NotText)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonMember, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(JsonMember::NotText)
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pos(text: &str) -> Option<Position> {
        Position::new(text).unwrap()
    }

    fn select_str(content: &str, position: &str) -> Result<String, PositionError> {
        select(content, pos(position).as_ref()).map(|s| s.as_str().to_owned())
    }

    #[test]
    fn csv_columns_with_quoting() {
        let line = r#"plain,"with, comma","say ""hi""",,"","multi
line",last"#;
        let rows: [(usize, &str); 7] = [
            (0, "plain"),
            (1, "with, comma"),
            (2, r#"say "hi""#),
            (3, ""),
            (4, ""),
            (5, "multi\nline"),
            (6, "last"),
        ];
        for (column, expected) in rows {
            let got = csv_field(line, column).map(|s| s.as_str().to_owned());
            assert_eq!(got.as_deref(), Ok(expected), "column {column}");
        }
        assert_eq!(
            csv_field(line, 7).unwrap_err(),
            PositionError::ColumnOutOfRange {
                column: 7,
                columns: 7
            }
        );
    }

    #[test]
    fn csv_line_endings_and_errors() {
        let rows: [(&str, usize, Result<&str, PositionError>); 11] = [
            ("a,b\r\n", 1, Ok("b")),
            ("a,b\n", 1, Ok("b")),
            ("a,\"b\"\n", 1, Ok("b")),
            ("", 0, Ok("")),
            ("a,", 1, Ok("")),
            (
                "",
                1,
                Err(PositionError::ColumnOutOfRange {
                    column: 1,
                    columns: 1,
                }),
            ),
            (
                "a,b\nc,d",
                0,
                Err(PositionError::NotCsv {
                    reason: "a line break outside quotes starts a second line",
                }),
            ),
            (
                "a,\"b",
                0,
                Err(PositionError::NotCsv {
                    reason: "a quoted field is not closed",
                }),
            ),
            (
                "\"a\"x,b",
                1,
                Err(PositionError::NotCsv {
                    reason: "text follows a closing quote",
                }),
            ),
            (
                "a\"b,c",
                1,
                Err(PositionError::NotCsv {
                    reason: "a quote appears inside an unquoted field",
                }),
            ),
            // An error after the column is still an error: the line is checked whole.
            (
                "a,b,\"c",
                0,
                Err(PositionError::NotCsv {
                    reason: "a quoted field is not closed",
                }),
            ),
        ];
        for (line, column, expected) in rows {
            let got = csv_field(line, column).map(|s| s.as_str().to_owned());
            assert_eq!(
                got,
                expected.map(str::to_owned),
                "row {line:?} column {column}"
            );
        }
    }

    #[test]
    fn json_keys_and_fallback_to_csv() {
        let rows: [(&str, &str, Result<&str, PositionError>); 13] = [
            (r#"{"hash":"abc","other":1}"#, "hash", Ok("abc")),
            (r#" {"a":{"hash":"x"},"hash":"y"} "#, "hash", Ok("y")),
            (r#"{"pin":123456}"#, "pin", Ok("123456")),
            (r#"{"pin":-5}"#, "pin", Ok("-5")),
            (r#"{"esc":"a\"b\u00e9"}"#, "esc", Ok("a\"bé")),
            (r#"{"2":"by key"}"#, "2", Ok("by key")),
            (r#"{"a.b":"dotted"}"#, "a.b", Ok("dotted")),
            (
                r#"{"hash":"abc"}"#,
                "nope",
                Err(PositionError::JsonKeyMissing { key: "nope".into() }),
            ),
            (
                r#"{"h":1,"h":2}"#,
                "h",
                Err(PositionError::JsonKeyDuplicated { key: "h".into() }),
            ),
            (
                r#"{"h":[1]}"#,
                "h",
                Err(PositionError::JsonValueNotText { key: "h".into() }),
            ),
            (
                r#"{"h":1.5}"#,
                "h",
                Err(PositionError::JsonValueNotText { key: "h".into() }),
            ),
            ("x,y,z", "2", Ok("z")),
            (
                "x,y,z",
                "hash",
                Err(PositionError::ContentNotJsonObject {
                    position: "hash".into(),
                }),
            ),
        ];
        for (content, position, expected) in rows {
            let got = select_str(content, position);
            assert_eq!(
                got,
                expected.map(str::to_owned),
                "row {content:?} at {position:?}"
            );
        }
    }

    #[test]
    fn json_that_is_not_an_object_is_csv() {
        // A JSON array or a broken object is not an object: digits fall back to CSV.
        assert_eq!(select_str("[1,2]", "1").as_deref(), Ok("2]"));
        assert_eq!(
            select_str(r#"{"a":1"#, "0").unwrap_err(),
            PositionError::NotCsv {
                reason: "a quote appears inside an unquoted field"
            }
        );
        assert_eq!(
            select_str(r#"{"a":1} x"#, "1").unwrap_err(),
            PositionError::NotCsv {
                reason: "a quote appears inside an unquoted field"
            }
        );
    }

    #[test]
    fn no_position_is_the_whole_content() {
        assert_eq!(select("a,b", None).unwrap().as_str(), "a,b");
        assert_eq!(Position::new("").unwrap(), None);
    }

    #[test]
    fn position_validation() {
        assert_eq!(pos("2").unwrap().column(), Some(2));
        assert_eq!(pos("02").unwrap().column(), Some(2));
        assert_eq!(pos("2a").unwrap().column(), None);
        assert_eq!(pos("99999999999999999999999").unwrap().column(), None);
        assert_eq!(
            Position::new("a\tb").unwrap_err(),
            PositionError::ControlChar
        );
        assert_eq!(
            Position::new("k".repeat(256)).unwrap_err(),
            PositionError::TooLong { chars: 256 }
        );
    }

    #[test]
    fn deep_json_does_not_overflow() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(select_str(&deep, "a").is_err());
    }

    proptest! {
        #[test]
        fn select_never_panics(content in any::<String>(), position in "[a-z0-9\"]{0,4}") {
            let position = Position::new(position).unwrap();
            let _ = select(&content, position.as_ref());
        }

        #[test]
        fn csv_never_panics(line in "[a-z,\"\r\n]{0,40}", column in 0usize..8) {
            let _ = csv_field(&line, column);
        }

        #[test]
        fn quoted_fields_round_trip(fields in proptest::collection::vec(any::<String>(), 1..5), pick in 0usize..5) {
            let line: Vec<String> = fields.iter().map(|f| format!("\"{}\"", f.replace('"', "\"\""))).collect();
            let line = line.join(",");
            let column = pick % fields.len();
            let got = csv_field(&line, column).unwrap();
            prop_assert_eq!(got.as_str(), fields[column].as_str());
        }
    }
}
