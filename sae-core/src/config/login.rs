//! Logins are identities (SPEC §4.8): stored as given, unique by a canonical key, and
//! refused when they would pass for an existing login written in another script.
//!
//! - The **key** is NFC, then Unicode default case folding, then NFC again (folding can
//!   un-normalise): `Ana`, `ANA` and `ana` share one key, NFC and NFD `café` too.
//! - The **skeleton** is UTS #39's (`confusables.txt`) of the key: `аna` with a Cyrillic
//!   `а` and `ana` share one.
//! - Two logins are **confusable** when their skeletons are equal, their keys differ and
//!   their resolved script sets differ (UTS #39 mixed-script and whole-script confusables:
//!   Cyrillic `аna` against Latin `ana`, all-Cyrillic `асе` against Latin `ace`). Look-alikes
//!   within one script (`rn` and `m`, `l` and `1`) are not refused: they are ordinary,
//!   distinct logins in every directory, and refusing them would reject real names.
//!
//! Characters no login may hold (control, format such as zero-width and bidi marks,
//! unassigned, private use, surrogate, line and paragraph separators) are refused by
//! [`check_login`](super::check_login).

use unicode_normalization::UnicodeNormalization as _;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory as _};
use unicode_security::MixedScript as _;

/// The canonical forms of a login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginKeys {
    /// What uniqueness and lookups use.
    pub key: String,
    /// What confusable detection compares (indexed, not unique).
    pub skeleton: String,
}

impl LoginKeys {
    /// The key and skeleton of `login` (which [`check_login`](super::check_login) accepted;
    /// any string gives an answer).
    pub fn of(login: &str) -> Self {
        let key = login_key(login);
        let skeleton = unicode_security::skeleton(&key).collect();
        Self { key, skeleton }
    }
}

/// The canonical key: NFC, default case folding, NFC. Lookups compute the same key, so
/// `GET /v1/users/ANA` finds `ana`.
pub fn login_key(login: &str) -> String {
    // ASCII is its own NFC, and its default case folding is its lower case: every lookup by
    // an ASCII login (nearly all of them) skips the Unicode tables.
    if login.is_ascii() {
        return login.to_ascii_lowercase();
    }
    let nfc: String = login.nfc().collect();
    caseless::default_case_fold_str(&nfc).nfc().collect()
}

/// Whether a character may never appear in a login: control, format (zero-width, bidi
/// marks), unassigned, private use, surrogate, line or paragraph separator.
pub fn forbidden_in_login(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::Unassigned
            | GeneralCategory::PrivateUse
            | GeneralCategory::Surrogate
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    )
}

/// Whether `candidate` would pass for `existing` although it is another login: same
/// skeleton, different key, and different resolved script sets (see the module docs).
pub fn confusable(candidate: &str, existing: &str) -> bool {
    let (a, b) = (LoginKeys::of(candidate), LoginKeys::of(existing));
    a.skeleton == b.skeleton
        && a.key != b.key
        && a.key.as_str().resolve_script_set() != b.key.as_str().resolve_script_set()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_a_fixed_point_for_every_character_and_with_combining_marks() {
        // Folding can un-normalise (e.g. U+0345 folds to iota): the closing NFC must make the
        // key stable, or a lookup by key would miss the row the key was stored for.
        let marks = ["", "\u{301}", "\u{345}", "\u{308}\u{301}", "\u{327}"];
        for c in (0..0x3_0000u32).filter_map(char::from_u32) {
            for m in marks {
                let login = format!("{c}{m}");
                let key = login_key(&login);
                assert_eq!(login_key(&key), key, "{login:?}");
            }
        }
    }

    /// The full rule, without the ASCII shortcut of [`login_key`].
    fn unicode_key(login: &str) -> String {
        let nfc: String = login.nfc().collect();
        caseless::default_case_fold_str(&nfc).nfc().collect()
    }

    #[test]
    fn the_ascii_shortcut_gives_the_full_rule_s_key() {
        for a in 0..128u8 {
            for b in 0..128u8 {
                let login = String::from_utf8(vec![a, b, b'x']).unwrap();
                assert_eq!(login_key(&login), unicode_key(&login), "{login:?}");
            }
            // Only control characters among ASCII are forbidden, which `check_login` refuses
            // before it would ask about the other categories.
            let c = char::from(a);
            assert_eq!(forbidden_in_login(c), c.is_control(), "{c:?}");
        }
    }

    #[test]
    fn case_and_normalisation_share_a_key() {
        let nfc = "caf\u{e9}";
        let nfd = "cafe\u{301}";
        assert_ne!(nfc, nfd);
        assert_eq!(login_key(nfc), login_key(nfd));
        assert_eq!(login_key("Ana"), "ana");
        assert_eq!(login_key("ANA"), login_key("ana"));
        // Full folding, not just lower-casing.
        assert_eq!(login_key("STRASSE"), login_key("straße"));
        assert_eq!(login_key("Ωmega"), login_key("ωMEGA"));
    }

    #[test]
    fn other_scripts_that_look_alike_are_confusable() {
        // Cyrillic а (U+0430) in a Latin word: mixed-script confusable.
        assert!(confusable("\u{430}na", "ana"));
        assert!(confusable("\u{430}dmin", "admin"));
        // Whole-script confusable: all Cyrillic against all Latin.
        assert!(confusable("\u{430}\u{441}\u{435}", "ace"));
        // Case does not hide it.
        assert!(confusable("\u{410}NA", "ana"));
    }

    #[test]
    fn same_login_and_same_script_look_alikes_are_not() {
        assert!(
            !confusable("Ana", "ana"),
            "the same key is a duplicate, not a look-alike"
        );
        assert!(!confusable("barn", "bam"));
        assert!(!confusable("user1", "userl"));
        assert!(!confusable("ana", "anna"));
        assert!(!confusable("jos\u{e9}", "jose"));
        assert!(!confusable("\u{441}\u{43b}\u{430}\u{432}\u{430}", "slava"));
    }

    #[test]
    fn invisible_and_unassigned_characters_are_forbidden() {
        for c in [
            '\u{200b}', '\u{200d}', '\u{202e}', '\u{feff}', '\u{7}', '\u{e000}', '\u{2028}',
        ] {
            assert!(forbidden_in_login(c), "{:?}", c);
        }
        assert!(
            forbidden_in_login(char::from_u32(0x0378).unwrap()),
            "unassigned"
        );
        for c in ['a', '\u{e9}', '\u{430}', '1', '.', '@', ' ', '\u{4e2d}'] {
            assert!(!forbidden_in_login(c), "{:?}", c);
        }
    }
}
