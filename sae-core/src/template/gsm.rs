//! SMS encoding and segment count (3GPP TS 23.038 GSM 7-bit default alphabet, UCS-2).
//!
//! A text made only of characters of the GSM-7 basic table and its extension table is sent
//! as GSM-7: one septet per basic character, two per extension character (an escape and the
//! character: form feed, `^ { } \ [ ~ ] |` and `€`). One SMS holds 160 septets; a multipart
//! SMS holds 153 per segment (the rest is the concatenation header), and an escape pair is
//! never split across segments. Any other character makes the whole text UCS-2: 70 UTF-16
//! code units in one SMS, 67 per segment when multipart, a surrogate pair never split.

use serde::Serialize;

/// How an SMS text is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsEncoding {
    /// GSM 7-bit default alphabet (with the extension table).
    Gsm7,
    /// UCS-2 (UTF-16 code units).
    Ucs2,
}

impl SmsEncoding {
    /// Units that fit in a single SMS.
    pub fn single_capacity(self) -> usize {
        match self {
            Self::Gsm7 => 160,
            Self::Ucs2 => 70,
        }
    }

    /// Units that fit in each segment of a multipart SMS.
    pub fn segment_capacity(self) -> usize {
        match self {
            Self::Gsm7 => 153,
            Self::Ucs2 => 67,
        }
    }
}

/// The encoding and size of an SMS text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct SmsEstimate {
    encoding: SmsEncoding,
    units: usize,
    segments: usize,
}

impl SmsEstimate {
    /// The encoding the text needs.
    pub fn encoding(&self) -> SmsEncoding {
        self.encoding
    }

    /// Length in septets (GSM-7) or UTF-16 code units (UCS-2).
    pub fn units(&self) -> usize {
        self.units
    }

    /// Number of SMS the text takes (1 for an empty text).
    pub fn segments(&self) -> usize {
        self.segments
    }
}

/// Septets of `c` in GSM-7 (1 basic, 2 extension), or `None` when GSM-7 cannot encode it.
fn gsm7_septets(c: char) -> Option<usize> {
    const BASIC_NON_ASCII: &str = "£¥èéùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà";
    match c {
        '\n' | '\r' | ' '..='?' | '@'..='Z' | 'a'..='z' | '_' => Some(1),
        '\u{c}' | '^' | '{' | '}' | '\\' | '[' | '~' | ']' | '|' | '€' => Some(2),
        c if !c.is_ascii() && BASIC_NON_ASCII.contains(c) => Some(1),
        _ => None,
    }
}

/// The encoding and number of SMS segments of `text`.
pub fn estimate_sms(text: &str) -> SmsEstimate {
    let gsm: Option<usize> = text.chars().map(gsm7_septets).sum();
    match gsm {
        Some(units) => SmsEstimate {
            encoding: SmsEncoding::Gsm7,
            units,
            segments: count_segments(
                SmsEncoding::Gsm7,
                units,
                text.chars().filter_map(gsm7_septets),
            ),
        },
        None => {
            let units = text.encode_utf16().count();
            SmsEstimate {
                encoding: SmsEncoding::Ucs2,
                units,
                segments: count_segments(
                    SmsEncoding::Ucs2,
                    units,
                    text.chars().map(char::len_utf16),
                ),
            }
        }
    }
}

/// Fills segments with indivisible units of the given sizes (an escape pair, a surrogate pair).
fn count_segments(
    encoding: SmsEncoding,
    total: usize,
    sizes: impl Iterator<Item = usize>,
) -> usize {
    if total <= encoding.single_capacity() {
        return 1;
    }
    let capacity = encoding.segment_capacity();
    let mut segments = 1;
    let mut used = 0;
    for size in sizes {
        if used + size > capacity {
            segments += 1;
            used = 0;
        }
        used += size;
    }
    segments
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn estimate(text: &str) -> (SmsEncoding, usize, usize) {
        let e = estimate_sms(text);
        (e.encoding(), e.units(), e.segments())
    }

    #[test]
    fn boundaries() {
        use SmsEncoding::{Gsm7, Ucs2};
        let a = |n: usize| "a".repeat(n);
        let rows: Vec<(&str, String, (SmsEncoding, usize, usize))> = vec![
            ("empty", String::new(), (Gsm7, 0, 1)),
            ("160 GSM", a(160), (Gsm7, 160, 1)),
            ("161 GSM", a(161), (Gsm7, 161, 2)),
            ("306 GSM", a(306), (Gsm7, 306, 2)),
            ("307 GSM", a(307), (Gsm7, 307, 3)),
            (
                "80 extension chars = 160 septets",
                "€".repeat(80),
                (Gsm7, 160, 1),
            ),
            (
                "159 + 1 extension = 161 septets",
                format!("{}€", a(159)),
                (Gsm7, 161, 2),
            ),
            // 152 septets then an escape pair: the pair moves whole to segment 2.
            (
                "escape pair at segment boundary",
                format!("{}[{}", a(152), a(152)),
                (Gsm7, 306, 3),
            ),
            (
                "escape pair just fits",
                format!("{}[{}", a(151), a(153)),
                (Gsm7, 306, 2),
            ),
            ("70 UCS-2", "ç".repeat(70), (Ucs2, 70, 1)),
            ("71 UCS-2", "ç".repeat(71), (Ucs2, 71, 2)),
            ("134 UCS-2", "ç".repeat(134), (Ucs2, 134, 2)),
            ("135 UCS-2", "ç".repeat(135), (Ucs2, 135, 3)),
            (
                "one non-GSM char makes all UCS-2",
                format!("{}ç", a(69)),
                (Ucs2, 70, 1),
            ),
            ("35 emoji = 70 units", "😀".repeat(35), (Ucs2, 70, 1)),
            // 66 units then a surrogate pair: the pair moves whole to segment 2.
            (
                "surrogate pair at segment boundary",
                format!("{}😀{}", "ç".repeat(66), "ç".repeat(66)),
                (Ucs2, 134, 3),
            ),
            (
                "Portuguese with ó is UCS-2",
                "Seu código é 123456".to_owned(),
                (Ucs2, 19, 1),
            ),
            ("GSM accents", "Ça £5 à Ñ ¿Δ?".to_owned(), (Gsm7, 13, 1)),
        ];
        for (name, text, expected) in rows {
            assert_eq!(estimate(&text), expected, "row {name}");
        }
    }

    #[test]
    fn septets_per_character() {
        let rows: [(char, Option<usize>); 16] = [
            ('a', Some(1)),
            ('@', Some(1)),
            ('$', Some(1)),
            ('_', Some(1)),
            ('\n', Some(1)),
            ('¤', Some(1)),
            ('{', Some(2)),
            ('|', Some(2)),
            ('\u{c}', Some(2)),
            ('€', Some(2)),
            ('`', None),
            ('\t', None),
            ('ç', None),
            ('ó', None),
            ('\u{1b}', None),
            ('😀', None),
        ];
        for (c, expected) in rows {
            assert_eq!(gsm7_septets(c), expected, "row {c:?}");
        }
    }

    #[test]
    fn basic_table_has_128_entries_with_escape() {
        let ascii = (0u8..128)
            .map(char::from)
            .filter(|c| gsm7_septets(*c) == Some(1))
            .count();
        let non_ascii = "£¥èéùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà".chars().count();
        // 127 printable/control characters plus the escape code itself.
        assert_eq!(ascii + non_ascii + 1, 128);
    }

    proptest! {
        /// A multipart GSM-7 SMS wastes at most one septet per segment (a moved escape pair).
        #[test]
        fn gsm_segments_are_tight(text in "[a€]{161,700}") {
            let e = estimate_sms(&text);
            prop_assert_eq!(e.encoding(), SmsEncoding::Gsm7);
            prop_assert!(e.segments() >= e.units().div_ceil(153), "{:?}", e);
            prop_assert!(e.segments() <= e.units().div_ceil(152), "{:?}", e);
        }

        /// The same for UCS-2 with surrogate pairs.
        #[test]
        fn ucs2_segments_are_tight(text in "[ç😀]{36,300}") {
            let e = estimate_sms(&text);
            prop_assert_eq!(e.encoding(), SmsEncoding::Ucs2);
            if e.units() > 70 {
                prop_assert!(e.segments() >= e.units().div_ceil(67), "{:?}", e);
                prop_assert!(e.segments() <= e.units().div_ceil(66), "{:?}", e);
            } else {
                prop_assert_eq!(e.segments(), 1);
            }
        }
    }
}
