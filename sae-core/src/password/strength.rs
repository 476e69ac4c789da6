//! Password strength levels as lists of patterns that must all match.
//!
//! Every level is a minimum and maximum length (in characters, i.e. Unicode scalar values)
//! plus a list of [`Requirement`]s — a pattern in the `regex` crate's syntax that must match
//! *somewhere* in the password, and a message shown when it does not:
//!
//! | level    | length  | patterns (message)                                            |
//! |----------|---------|---------------------------------------------------------------|
//! | `off`    | 1..=128 | none                                                          |
//! | `weak`   | 8..=128 | `[\p{L}\p{N}]` (a letter or a digit): letters only or digits only suffice, as in the seed |
//! | `medium` | 10..=128| `\p{L}` (a letter), `\p{N}` (a digit)                         |
//! | `strong` | 12..=128| `\p{Ll}` (lower-case), `\p{Lu}` (upper-case), `\p{N}` (digit), `[^\p{L}\p{N}]` (special character: anything that is neither a letter nor a digit, space included) |
//! | `custom` | `min_length` (default 8)..=128 | the administrator's patterns      |
//!
//! Custom patterns are validated when saved ([`Strength::custom`]): at most 16 patterns of
//! at most 256 bytes, each compiled under a size limit, with a non-empty message. The
//! `regex` crate runs in linear time and has no look-around nor back-references; such
//! patterns are refused with a message explaining how to split them into several patterns
//! (`(?=.*[0-9])(?=.*[A-Z])` becomes the two patterns `[0-9]` and `[A-Z]`).
//!
//! [`Strength::test`] (the "password test") returns every unmet requirement, not only the
//! first.

use serde::{Deserialize, Serialize};

use super::pattern::{MAX_MESSAGE_CHARS, MAX_PATTERN_BYTES, compile, preset_requirement};
pub use super::pattern::{PatternInput, Requirement};

/// Longest password accepted at every level, in characters.
pub const MAX_LENGTH: usize = 128;
/// Most custom patterns accepted.
pub const MAX_PATTERNS: usize = 16;
/// Default `min_length` of the custom level.
pub const DEFAULT_CUSTOM_MIN_LENGTH: usize = 8;

/// Why a custom strength rule was refused. Each message starts with the field it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StrengthError {
    /// More than [`MAX_PATTERNS`] patterns.
    #[error("patterns: at most {MAX_PATTERNS} patterns are allowed, got {count}")]
    TooManyPatterns {
        /// Number of patterns given.
        count: usize,
    },
    /// `patterns` given with a preset level.
    #[error("patterns: only used with strength \"custom\"; remove them or choose custom")]
    PatternsNotCustom,
    /// `min_length` outside 1..=128.
    #[error("min_length must be between 1 and {MAX_LENGTH}, got {value}")]
    MinLengthOutOfRange {
        /// The refused value.
        value: u32,
    },
    /// `min_length` given with a preset level.
    #[error("min_length: only used with strength \"custom\"; presets have their own minimum")]
    MinLengthNotCustom,
    /// An empty pattern.
    #[error("patterns[{index}].pattern: is empty")]
    PatternEmpty {
        /// Position in `patterns`.
        index: usize,
    },
    /// A pattern longer than [`MAX_PATTERN_BYTES`].
    #[error("patterns[{index}].pattern: is {len} bytes long, at most {MAX_PATTERN_BYTES} allowed")]
    PatternTooLong {
        /// Position in `patterns`.
        index: usize,
        /// Its length in bytes.
        len: usize,
    },
    /// A look-ahead `(?=…)`/`(?!…)` or look-behind `(?<=…)`/`(?<!…)`.
    #[error(
        "patterns[{index}].pattern: look-ahead and look-behind ((?=, (?!, (?<=, (?<!) are not \
         supported: write one pattern per requirement, e.g. [0-9] and [A-Z] as two patterns \
         instead of (?=.*[0-9])(?=.*[A-Z]); for \"must not contain\" describe what is allowed \
         from start to end, e.g. ^[^ ]*$ for \"no spaces\""
    )]
    LookAround {
        /// Position in `patterns`.
        index: usize,
    },
    /// A back-reference `\1` or `\k<name>`.
    #[error(
        "patterns[{index}].pattern: back-references (\\1, \\k<name>) are not supported: \
         patterns run in linear time and cannot refer to an earlier group; split the \
         requirement into simpler patterns"
    )]
    Backreference {
        /// Position in `patterns`.
        index: usize,
    },
    /// Any other syntax error; `detail` is the `regex` crate's one-line explanation.
    #[error("patterns[{index}].pattern: invalid pattern: {detail}")]
    Syntax {
        /// Position in `patterns`.
        index: usize,
        /// What the parser reported.
        detail: String,
    },
    /// The pattern compiles to more than the size limit (e.g. large counted repetitions of
    /// Unicode classes).
    #[error(
        "patterns[{index}].pattern: is too large once compiled (over {limit} bytes): use a \
         smaller repetition count (min_length covers length) or split it into several patterns"
    )]
    PatternTooLarge {
        /// Position in `patterns`.
        index: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// An empty (or blank) message.
    #[error(
        "patterns[{index}].message: is empty; say what the password needs, e.g. \"needs a digit\""
    )]
    MessageEmpty {
        /// Position in `patterns`.
        index: usize,
    },
    /// A message longer than [`MAX_MESSAGE_CHARS`].
    #[error("patterns[{index}].message: is longer than {MAX_MESSAGE_CHARS} characters")]
    MessageTooLong {
        /// Position in `patterns`.
        index: usize,
    },
}

impl StrengthError {
    /// The JSON field the error is about, e.g. `patterns[2].pattern` or `min_length`.
    #[must_use]
    pub fn field(&self) -> String {
        match self {
            Self::TooManyPatterns { .. } | Self::PatternsNotCustom => "patterns".to_owned(),
            Self::MinLengthOutOfRange { .. } | Self::MinLengthNotCustom => "min_length".to_owned(),
            Self::PatternEmpty { index }
            | Self::PatternTooLong { index, .. }
            | Self::LookAround { index }
            | Self::Backreference { index }
            | Self::Syntax { index, .. }
            | Self::PatternTooLarge { index, .. } => format!("patterns[{index}].pattern"),
            Self::MessageEmpty { index } | Self::MessageTooLong { index } => {
                format!("patterns[{index}].message")
            }
        }
    }
}

/// Strength level (`strength` in a password policy).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StrengthLevel {
    /// Only the length cap (and a minimum of one character). Default, as in the seed.
    #[default]
    Off,
    /// At least 8 characters; letters only or digits only suffice.
    Weak,
    /// At least 10 characters with a letter and a digit.
    Medium,
    /// At least 12 characters with lower-case, upper-case, digit and special character.
    Strong,
    /// The administrator's patterns and minimum length.
    Custom,
}

/// An unmet requirement reported by [`Strength::test`]: `{pattern?, message}` in JSON
/// (`pattern` is absent for the length requirements).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unmet {
    /// The pattern that did not match, if the requirement is a pattern.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// What the password needs.
    pub message: String,
}

/// A validated strength rule with its patterns compiled once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Strength {
    level: StrengthLevel,
    min_length: usize,
    requirements: Vec<Requirement>,
}

impl Default for Strength {
    fn default() -> Self {
        Self::preset(StrengthLevel::Off)
    }
}

impl Strength {
    /// The rule of a preset level. `Custom` without patterns gives the default custom
    /// minimum length and no patterns.
    #[must_use]
    pub fn preset(level: StrengthLevel) -> Self {
        let (min_length, rules): (usize, &[(&str, &str)]) = match level {
            StrengthLevel::Off => (1, &[]),
            StrengthLevel::Weak => (8, &[(r"[\p{L}\p{N}]", "needs a letter or a digit")]),
            StrengthLevel::Medium => (
                10,
                &[(r"\p{L}", "needs a letter"), (r"\p{N}", "needs a digit")],
            ),
            StrengthLevel::Strong => (
                12,
                &[
                    (r"\p{Ll}", "needs a lower-case letter"),
                    (r"\p{Lu}", "needs an upper-case letter"),
                    (r"\p{N}", "needs a digit"),
                    (
                        r"[^\p{L}\p{N}]",
                        "needs a special character (neither letter nor digit)",
                    ),
                ],
            ),
            StrengthLevel::Custom => (DEFAULT_CUSTOM_MIN_LENGTH, &[]),
        };
        Self {
            level,
            min_length,
            requirements: rules
                .iter()
                .map(|&(p, m)| preset_requirement(p, m))
                .collect(),
        }
    }

    /// A custom rule: `min_length` (1..=128) and the administrator's patterns, validated
    /// and compiled.
    ///
    /// # Errors
    /// The first problem found, as a [`StrengthError`] naming `min_length` or
    /// `patterns[i].pattern` / `patterns[i].message`.
    pub fn custom(min_length: u32, patterns: &[PatternInput]) -> Result<Self, StrengthError> {
        let min = usize::try_from(min_length).unwrap_or(usize::MAX);
        if !(1..=MAX_LENGTH).contains(&min) {
            return Err(StrengthError::MinLengthOutOfRange { value: min_length });
        }
        if patterns.len() > MAX_PATTERNS {
            return Err(StrengthError::TooManyPatterns {
                count: patterns.len(),
            });
        }
        let requirements = patterns
            .iter()
            .enumerate()
            .map(|(index, input)| compile(index, input))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            level: StrengthLevel::Custom,
            min_length: min,
            requirements,
        })
    }

    /// The level.
    #[must_use]
    pub const fn level(&self) -> StrengthLevel {
        self.level
    }

    /// Minimum length in characters.
    #[must_use]
    pub const fn min_length(&self) -> usize {
        self.min_length
    }

    /// Maximum length in characters (always [`MAX_LENGTH`]).
    #[must_use]
    pub const fn max_length(&self) -> usize {
        MAX_LENGTH
    }

    /// The patterns with their messages, to show the administrator.
    #[must_use]
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// The password test: every requirement `password` does not meet (length first, then
    /// each pattern in order); empty when it satisfies the rule.
    #[must_use]
    pub fn test(&self, password: &str) -> Vec<Unmet> {
        let mut unmet = Vec::new();
        let chars = password.chars().count();
        if chars < self.min_length {
            unmet.push(Unmet {
                pattern: None,
                message: format!("needs at least {} characters", self.min_length),
            });
        }
        if chars > MAX_LENGTH {
            unmet.push(Unmet {
                pattern: None,
                message: format!("must have at most {MAX_LENGTH} characters"),
            });
        }
        for r in &self.requirements {
            if !r.is_met(password) {
                unmet.push(Unmet {
                    pattern: Some(r.pattern().to_owned()),
                    message: r.message().to_owned(),
                });
            }
        }
        unmet
    }

    /// The custom patterns in JSON form (empty for presets, whose patterns are implied by
    /// the level).
    #[must_use]
    pub fn custom_patterns(&self) -> Vec<PatternInput> {
        if self.level != StrengthLevel::Custom {
            return Vec::new();
        }
        self.requirements
            .iter()
            .map(|r| PatternInput {
                pattern: r.pattern().to_owned(),
                message: r.message().to_owned(),
            })
            .collect()
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;

    fn input(pattern: &str, message: &str) -> PatternInput {
        PatternInput {
            pattern: pattern.to_owned(),
            message: message.to_owned(),
        }
    }

    fn unmet_messages(s: &Strength, password: &str) -> Vec<String> {
        s.test(password).into_iter().map(|u| u.message).collect()
    }

    #[test]
    fn presets_accept_and_refuse() {
        // (level, password, number of unmet requirements)
        let rows: &[(StrengthLevel, &str, usize)] = &[
            (StrengthLevel::Off, "a", 0),
            (StrengthLevel::Off, "", 1),
            (StrengthLevel::Weak, "abcdefgh", 0),
            (StrengthLevel::Weak, "12345678", 0),
            (StrengthLevel::Weak, "abcdefg", 1),
            (StrengthLevel::Weak, "!!!!!!!!", 1),
            (StrengthLevel::Medium, "abcdefghi1", 0),
            (StrengthLevel::Medium, "áçãõêéíóú1", 0),
            (StrengthLevel::Medium, "abcdefghij", 1),
            (StrengthLevel::Medium, "1234567890", 1),
            (StrengthLevel::Medium, "abc", 2),
            (StrengthLevel::Strong, "Abcdefghij1!", 0),
            (StrengthLevel::Strong, "Abcdefghij1 ", 0),
            (StrengthLevel::Strong, "abcdefghij1!", 1),
            (StrengthLevel::Strong, "ABCDEFGHIJ1!", 1),
            (StrengthLevel::Strong, "Abcdefghijk!", 1),
            (StrengthLevel::Strong, "Abcdefghijk1", 1),
            (StrengthLevel::Strong, "", 5),
        ];
        for (level, password, expected) in rows {
            let s = Strength::preset(*level);
            let unmet = s.test(password);
            assert_eq!(unmet.len(), *expected, "{level:?} {password:?}: {unmet:?}");
        }
    }

    #[test]
    fn every_level_caps_length_at_128() {
        for level in [
            StrengthLevel::Off,
            StrengthLevel::Weak,
            StrengthLevel::Medium,
            StrengthLevel::Strong,
            StrengthLevel::Custom,
        ] {
            let s = Strength::preset(level);
            let ok = format!("Aa1!{}", "x".repeat(124));
            let long = format!("{ok}x");
            assert!(s.test(&ok).is_empty(), "{level:?}: 128 characters pass");
            assert_eq!(
                unmet_messages(&s, &long),
                vec!["must have at most 128 characters"],
                "{level:?}: 129 characters"
            );
            let multibyte = "é".repeat(128);
            assert!(
                s.test(&multibyte).iter().all(|u| u.pattern.is_some()),
                "{level:?}: length counts characters, not bytes"
            );
        }
    }

    #[test]
    fn test_reports_every_unmet_requirement() {
        let s = Strength::preset(StrengthLevel::Strong);
        let unmet = s.test("abc");
        assert_eq!(
            unmet,
            vec![
                Unmet {
                    pattern: None,
                    message: "needs at least 12 characters".into()
                },
                Unmet {
                    pattern: Some(r"\p{Lu}".into()),
                    message: "needs an upper-case letter".into()
                },
                Unmet {
                    pattern: Some(r"\p{N}".into()),
                    message: "needs a digit".into()
                },
                Unmet {
                    pattern: Some(r"[^\p{L}\p{N}]".into()),
                    message: "needs a special character (neither letter nor digit)".into()
                },
            ]
        );
        let json = serde_json::to_string(&unmet[..2]).unwrap();
        assert_eq!(
            json,
            r#"[{"message":"needs at least 12 characters"},{"pattern":"\\p{Lu}","message":"needs an upper-case letter"}]"#
        );
    }

    #[test]
    fn custom_patterns_are_compiled_and_applied() {
        let s = Strength::custom(
            6,
            &[
                input("[0-9]", "needs a digit"),
                input("(?i)^[a-z0-9]+$", "letters and digits only"),
            ],
        )
        .unwrap();
        assert_eq!(s.level(), StrengthLevel::Custom);
        assert!(s.test("abc123").is_empty());
        assert_eq!(
            unmet_messages(&s, "abc-de"),
            vec!["needs a digit", "letters and digits only"]
        );
        assert_eq!(
            unmet_messages(&s, "ab1"),
            vec!["needs at least 6 characters"]
        );
        assert_eq!(s.custom_patterns().len(), 2);
        assert!(
            Strength::preset(StrengthLevel::Strong)
                .custom_patterns()
                .is_empty()
        );
    }

    #[test]
    fn custom_limits() {
        let many: Vec<_> = (0..=MAX_PATTERNS).map(|_| input("a", "m")).collect();
        assert_eq!(
            Strength::custom(8, &many).unwrap_err(),
            StrengthError::TooManyPatterns {
                count: MAX_PATTERNS + 1
            }
        );
        for (min, ok) in [(0, false), (1, true), (128, true), (129, false)] {
            assert_eq!(Strength::custom(min, &[]).is_ok(), ok, "min_length {min}");
        }
        let long_message = "m".repeat(MAX_MESSAGE_CHARS + 1);
        assert_eq!(
            Strength::custom(8, &[input("a", &long_message)])
                .unwrap_err()
                .field(),
            "patterns[0].message"
        );
    }
}
