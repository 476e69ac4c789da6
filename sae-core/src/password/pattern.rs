//! Custom strength patterns: validation, compilation under size limits, and explanations
//! for the PCRE constructs the `regex` crate does not support.

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use super::strength::StrengthError;

/// Longest custom pattern accepted, in bytes.
pub const MAX_PATTERN_BYTES: usize = 256;
/// Longest message accepted, in characters.
pub const MAX_MESSAGE_CHARS: usize = 200;
/// Compiled size limit of one pattern, in bytes.
const SIZE_LIMIT: usize = 512 * 1024;
/// Lazy DFA cache limit of one pattern, in bytes.
const DFA_SIZE_LIMIT: usize = 1024 * 1024;
/// Group nesting limit of one pattern.
const NEST_LIMIT: u32 = 32;

/// A pattern and its message as written in JSON: `{pattern, message}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternInput {
    /// A `regex` crate pattern that must match somewhere in the password.
    pub pattern: String,
    /// What to tell the user when it does not, e.g. "needs a digit".
    pub message: String,
}

/// One compiled requirement: a pattern that must match, and its message.
#[derive(Clone, Debug)]
pub struct Requirement {
    regex: Regex,
    message: String,
}

impl Requirement {
    /// The pattern as written.
    #[must_use]
    pub fn pattern(&self) -> &str {
        self.regex.as_str()
    }

    /// The message shown when the pattern does not match.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the pattern matches somewhere in `password`.
    #[must_use]
    pub fn is_met(&self, password: &str) -> bool {
        self.regex.is_match(password)
    }
}

impl PartialEq for Requirement {
    fn eq(&self, other: &Self) -> bool {
        self.pattern() == other.pattern() && self.message == other.message
    }
}

impl Eq for Requirement {}

#[expect(
    clippy::expect_used,
    reason = "preset patterns are constants; the presets test compiles every one of them"
)]
pub(crate) fn preset_requirement(pattern: &str, message: &str) -> Requirement {
    Requirement {
        regex: builder(pattern).build().expect("preset pattern compiles"),
        message: message.to_owned(),
    }
}

fn builder(pattern: &str) -> RegexBuilder {
    let mut b = RegexBuilder::new(pattern);
    b.size_limit(SIZE_LIMIT)
        .dfa_size_limit(DFA_SIZE_LIMIT)
        .nest_limit(NEST_LIMIT);
    b
}

/// Validates and compiles the custom pattern at `index`.
pub(crate) fn compile(index: usize, input: &PatternInput) -> Result<Requirement, StrengthError> {
    let message = input.message.trim();
    if message.is_empty() {
        return Err(StrengthError::MessageEmpty { index });
    }
    if message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(StrengthError::MessageTooLong { index });
    }
    let pattern = input.pattern.as_str();
    if pattern.is_empty() {
        return Err(StrengthError::PatternEmpty { index });
    }
    if pattern.len() > MAX_PATTERN_BYTES {
        return Err(StrengthError::PatternTooLong {
            index,
            len: pattern.len(),
        });
    }
    match builder(pattern).build() {
        Ok(regex) => Ok(Requirement {
            regex,
            message: message.to_owned(),
        }),
        Err(regex::Error::CompiledTooBig(limit)) => {
            Err(StrengthError::PatternTooLarge { index, limit })
        }
        Err(other) => Err(explain(index, pattern, &other)),
    }
}

/// Turns a syntax error into a specific message for the constructs people bring from PCRE.
fn explain(index: usize, pattern: &str, error: &regex::Error) -> StrengthError {
    match unsupported_construct(pattern) {
        Some(Construct::LookAround) => StrengthError::LookAround { index },
        Some(Construct::Backreference) => StrengthError::Backreference { index },
        None => {
            let text = error.to_string();
            // The crate's message is multi-line (pattern, carets, "error: …"); keep the
            // explanation line.
            let detail = text
                .lines()
                .find_map(|l| l.strip_prefix("error: "))
                .unwrap_or("the pattern could not be parsed")
                .to_owned();
            StrengthError::Syntax { index, detail }
        }
    }
}

enum Construct {
    LookAround,
    Backreference,
}

/// Finds the first look-around or back-reference outside escapes.
fn unsupported_construct(pattern: &str) -> Option<Construct> {
    let bytes = pattern.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                let next = bytes.get(i + 1).copied();
                let named = next == Some(b'k') && bytes.get(i + 2) == Some(&b'<');
                if matches!(next, Some(b'1'..=b'9')) || named {
                    return Some(Construct::Backreference);
                }
                i += 2;
            }
            b'(' if bytes.get(i + 1) == Some(&b'?') => {
                let rest = &bytes[i + 2..];
                if rest.starts_with(b"=")
                    || rest.starts_with(b"!")
                    || rest.starts_with(b"<=")
                    || rest.starts_with(b"<!")
                {
                    return Some(Construct::LookAround);
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;
    use crate::password::strength::Strength;

    fn input(pattern: &str, message: &str) -> PatternInput {
        PatternInput {
            pattern: pattern.to_owned(),
            message: message.to_owned(),
        }
    }

    #[test]
    fn bad_custom_patterns_are_refused_naming_the_index() {
        let big = "x".repeat(MAX_PATTERN_BYTES + 1);
        // (pattern, message, expected field, a word the message must contain)
        let rows: &[(&str, &str, &str, &str)] = &[
            ("(?=.*[0-9])", "m", "patterns[1].pattern", "look-ahead"),
            ("(?!.*password)", "m", "patterns[1].pattern", "look-ahead"),
            ("(?<=a)b", "m", "patterns[1].pattern", "look-behind"),
            ("(?<!a)b", "m", "patterns[1].pattern", "two patterns"),
            (r"(a)\1", "m", "patterns[1].pattern", "back-references"),
            (
                r"(?<n>a)\k<n>",
                "m",
                "patterns[1].pattern",
                "back-references",
            ),
            (
                "[a-",
                "m",
                "patterns[1].pattern",
                "unclosed character class",
            ),
            ("(?>a)", "m", "patterns[1].pattern", "invalid pattern"),
            (r"\w{100}", "m", "patterns[1].pattern", "too large"),
            (&big, "m", "patterns[1].pattern", "at most 256"),
            ("", "m", "patterns[1].pattern", "empty"),
            ("[0-9]", "  ", "patterns[1].message", "empty"),
        ];
        for (pattern, message, field, word) in rows {
            let err = Strength::custom(8, &[input("ok", "fine"), input(pattern, message)])
                .expect_err(pattern);
            assert_eq!(err.field(), *field, "row {pattern:?}");
            let text = err.to_string();
            assert!(text.starts_with(field), "row {pattern:?}: {text}");
            assert!(text.contains(word), "row {pattern:?}: {text}");
        }
    }

    #[test]
    fn escaped_parentheses_and_named_groups_are_not_look_around() {
        let s = Strength::custom(
            1,
            &[
                input(r"\(\?=", "literal"),
                input("(?<word>[a-z]+)", "named"),
            ],
        );
        assert!(s.is_ok(), "{s:?}");
    }
}
