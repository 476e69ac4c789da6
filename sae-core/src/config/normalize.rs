//! Normalisation of the user fields that the IM switches compare: e-mail, mobile, document.
//!
//! Two values are "the same" for a uniqueness switch when their normalised forms are equal,
//! so the store keeps (or indexes) the normalised form next to what the user typed.

use super::ConfigError;

/// Longest e-mail address accepted, in bytes (RFC 5321 path limit minus the brackets).
const EMAIL_MAX_LEN: usize = 254;
/// Fewest digits of a normalised mobile number.
const MOBILE_MIN_DIGITS: usize = 8;
/// Most digits of a normalised mobile number (E.164).
const MOBILE_MAX_DIGITS: usize = 15;
/// Longest document accepted before normalisation, in bytes.
const DOCUMENT_MAX_LEN: usize = 64;

/// Trims and lower-cases an e-mail address after checking it looks like one: exactly one `@`,
/// a non-empty local part, a domain with a dot and no empty label, no spaces or control
/// characters, at most 254 bytes. Errors name the `email` field.
pub fn normalize_email(input: &str) -> Result<String, ConfigError> {
    let trimmed = input.trim();
    match email_problem(trimmed) {
        Some(reason) => Err(ConfigError::InvalidEmail {
            field: "email",
            reason,
        }),
        None => Ok(trimmed.to_lowercase()),
    }
}

/// Longest login accepted, in characters.
pub const LOGIN_MAX_CHARS: usize = 255;

/// The structural rules every login follows, whatever the IM policy: 1 to 255 characters,
/// no control characters, no format (zero-width, bidi), unassigned or private-use ones, no leading or trailing spaces, no `/` (logins appear in URL
/// paths). Errors name the `login` field and never quote it.
pub fn check_login(login: &str) -> Result<(), ConfigError> {
    let reason = if login.is_empty() {
        "must not be empty"
    } else if login.chars().count() > LOGIN_MAX_CHARS {
        "must be at most 255 characters"
    } else if login.chars().any(char::is_control) {
        "must not contain control characters"
    } else if !login.is_ascii() && login.chars().any(super::login::forbidden_in_login) {
        "must not contain invisible, formatting, private-use or unassigned characters"
    } else if login.trim() != login {
        "must not start or end with spaces"
    } else if login.contains('/') {
        "must not contain '/'"
    } else {
        return Ok(());
    };
    Err(ConfigError::InvalidLogin { reason })
}

/// Checks that a login is a valid e-mail address (for `login_is_email`). The login is taken
/// as given: surrounding spaces are refused, not trimmed. Errors name the `login` field.
pub fn check_login_is_email(login: &str) -> Result<(), ConfigError> {
    match email_problem(login) {
        Some(reason) => Err(ConfigError::InvalidEmail {
            field: "login",
            reason,
        }),
        None => Ok(()),
    }
}

fn email_problem(address: &str) -> Option<&'static str> {
    if address.is_empty() {
        return Some("it is empty");
    }
    if address.len() > EMAIL_MAX_LEN {
        return Some("it is longer than 254 characters");
    }
    if address.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("it contains a space or a control character");
    }
    let Some((local, domain)) = address.split_once('@') else {
        return Some("it has no @");
    };
    if domain.contains('@') {
        return Some("it has more than one @");
    }
    if local.is_empty() {
        return Some("nothing comes before the @");
    }
    if domain.is_empty() {
        return Some("no domain comes after the @");
    }
    if !domain.contains('.') {
        return Some("the domain has no dot");
    }
    if domain.split('.').any(str::is_empty) {
        return Some("the domain has an empty label (a leading, trailing or double dot)");
    }
    None
}

/// Normalises a mobile number to E.164-like digits: spaces, parentheses, dashes and dots are
/// removed, so is a leading `+`; without a `+`, a leading `00` international prefix is
/// dropped. Letters and other characters are refused; 8 to 15 digits must remain.
/// `"+55 (11) 9 1234-5678"`, `"0055 11 91234 5678"` and `"5511912345678"` are the same number.
pub fn normalize_mobile(input: &str) -> Result<String, ConfigError> {
    let refuse = |reason| Err(ConfigError::InvalidMobile { reason });
    let trimmed = input.trim();
    let (has_plus, rest) = match trimmed.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    let mut digits = String::with_capacity(MOBILE_MAX_DIGITS + 2);
    for c in rest.chars() {
        match c {
            '0'..='9' => {
                // Two extra digits leave room for the "00" prefix removed below.
                if digits.len() > MOBILE_MAX_DIGITS + 2 {
                    return refuse("it has more than 15 digits");
                }
                digits.push(c);
            }
            '(' | ')' | '-' | '.' => {}
            c if c.is_whitespace() => {}
            '+' => return refuse("a + is allowed only at the start"),
            c if c.is_alphabetic() => return refuse("letters are not allowed"),
            _ => {
                return refuse(
                    "only digits, spaces, parentheses, dashes, dots and a leading + are allowed",
                );
            }
        }
    }
    if !has_plus && digits.starts_with("00") {
        digits.replace_range(..2, "");
    }
    if digits.len() < MOBILE_MIN_DIGITS {
        return refuse("it has fewer than 8 digits");
    }
    if digits.len() > MOBILE_MAX_DIGITS {
        return refuse("it has more than 15 digits");
    }
    Ok(digits)
}

/// Normalises a document (national id such as a CPF `"123.456.789-09"`) to its digits.
/// Refused when no digit remains or the input is longer than 64 bytes.
pub fn normalize_document(input: &str) -> Result<String, ConfigError> {
    if input.len() > DOCUMENT_MAX_LEN {
        return Err(ConfigError::InvalidDocument {
            reason: "it is longer than 64 characters",
        });
    }
    let digits: String = input.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return Err(ConfigError::InvalidDocument {
            reason: "it contains no digits",
        });
    }
    Ok(digits)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;

    #[test]
    fn login_structure() {
        let reason = |login: &str| match check_login(login) {
            Ok(()) => None,
            Err(ConfigError::InvalidLogin { reason }) => Some(reason),
            Err(other) => panic!("{other}"),
        };
        assert_eq!(reason("alice"), None);
        assert_eq!(reason("alice@example.com"), None);
        assert_eq!(reason(&"é".repeat(255)), None);
        assert_eq!(reason(""), Some("must not be empty"));
        assert_eq!(
            reason(&"a".repeat(256)),
            Some("must be at most 255 characters")
        );
        assert_eq!(
            reason("al\tice"),
            Some("must not contain control characters")
        );
        assert_eq!(reason(" alice"), Some("must not start or end with spaces"));
        assert_eq!(reason("a/b"), Some("must not contain '/'"));
    }

    #[test]
    fn mobile_forms_of_the_same_number_agree() {
        let same = [
            "+55 (11) 9 1234-5678",
            "5511912345678",
            "+5511912345678",
            "0055 11 91234.5678",
            "  55-11-91234-5678 ",
        ];
        for input in same {
            assert_eq!(
                normalize_mobile(input).as_deref(),
                Ok("5511912345678"),
                "row {input:?}"
            );
        }
        assert_eq!(
            normalize_mobile("+55 (11) 9 1234-5678"),
            normalize_mobile("5511912345678")
        );
    }

    #[test]
    fn mobile_refusals_say_why() {
        let rows = [
            ("", "fewer than 8"),
            ("+55 11 912", "fewer than 8"),
            ("1234567890123456", "more than 15"),
            ("00 1234567890123456", "more than 15"),
            ("+55 11 9abc-5678", "letters"),
            ("55+11912345678", "only at the start"),
            ("5511912345678#", "only digits"),
            ("٥٥١١٩١٢٣٤٥٦٧٨", "only digits"),
        ];
        for (input, why) in rows {
            let err = normalize_mobile(input).unwrap_err();
            assert_eq!(err.field(), "mobile", "row {input:?}");
            assert!(err.to_string().contains(why), "row {input:?}: {err}");
        }
    }

    #[test]
    fn mobile_keeps_zeros_after_a_plus() {
        // With a '+', "00" is not an international prefix to strip.
        assert_eq!(normalize_mobile("+001234567").as_deref(), Ok("001234567"));
        assert_eq!(
            normalize_mobile("001234567"),
            Err(ConfigError::InvalidMobile {
                reason: "it has fewer than 8 digits"
            })
        );
    }

    #[test]
    fn email_cases() {
        let rows: [(&str, Option<&str>); 12] = [
            ("  Ana.Silva@Example.COM ", Some("ana.silva@example.com")),
            ("a@b.co", Some("a@b.co")),
            ("", None),
            ("ana", None),
            ("@example.com", None),
            ("ana@", None),
            ("ana@example", None),
            ("ana@@example.com", None),
            ("ana@x@example.com", None),
            ("ana silva@example.com", None),
            ("ana@example..com", None),
            ("ana@.example.com", None),
        ];
        for (input, expected) in rows {
            let got = normalize_email(input);
            assert_eq!(got.as_deref().ok(), expected, "row {input:?}: {got:?}");
        }
        let long = format!("{}@example.com", "a".repeat(243));
        assert!(normalize_email(&long).is_err(), "255 bytes must be refused");
        let max = format!("{}@example.com", "a".repeat(242));
        assert!(normalize_email(&max).is_ok(), "254 bytes must be accepted");
    }

    #[test]
    fn email_error_names_the_field() {
        assert_eq!(normalize_email("x").unwrap_err().field(), "email");
        let err = check_login_is_email(" ana@example.com").unwrap_err();
        assert_eq!(err.field(), "login");
        assert!(err.to_string().starts_with("login:"), "{err}");
    }

    #[test]
    fn document_cases() {
        let rows: [(&str, Option<&str>); 5] = [
            ("123.456.789-09", Some("12345678909")),
            ("12345678909", Some("12345678909")),
            (" 12.345.678/0001-95 ", Some("12345678000195")),
            ("", None),
            ("abc-def", None),
        ];
        for (input, expected) in rows {
            let got = normalize_document(input);
            assert_eq!(got.as_deref().ok(), expected, "row {input:?}");
        }
        assert_eq!(
            normalize_document(&"1".repeat(65)).unwrap_err().field(),
            "document"
        );
    }
}
