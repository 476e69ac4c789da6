//! `xs:dateTime` (`2006-05-01T00:00:00Z`) to Unix seconds, for the PSKC policy dates.
//!
//! Accepted: `YYYY-MM-DDThh:mm:ss`, optional fraction (ignored), optional `Z` or `±hh:mm`
//! offset (none means UTC). Years 1..=9999.

/// Seconds since 1970-01-01T00:00:00Z, or `None` when `text` is not an `xs:dateTime`.
pub(super) fn parse(text: &str) -> Option<i64> {
    let text = text.trim();
    let bytes = text.as_bytes();
    if bytes.len() < 19 || bytes[4] != b'-' || bytes[7] != b'-' || bytes[10] != b'T' {
        return None;
    }
    if bytes[13] != b':' || bytes[16] != b':' {
        return None;
    }
    let year = number(text.get(0..4)?)?;
    let month = number(text.get(5..7)?)?;
    let day = number(text.get(8..10)?)?;
    let hour = number(text.get(11..13)?)?;
    let minute = number(text.get(14..16)?)?;
    let second = number(text.get(17..19)?)?;
    if year == 0 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    // 24:00:00 is allowed by XML Schema as the end of a day.
    let end_of_day = hour == 24 && minute == 0 && second == 0;
    if (hour > 23 && !end_of_day) || minute > 59 || second > 59 {
        return None;
    }
    let mut rest = text.get(19..)?;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "" | "Z" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            let zone = &rest[1..];
            if zone.len() != 5 || zone.as_bytes()[2] != b':' {
                return None;
            }
            let (hours, minutes) = (number(&zone[..2])?, number(&zone[3..])?);
            if hours > 14 || minutes > 59 {
                return None;
            }
            sign * (hours * 3600 + minutes * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// A run of ASCII digits.
fn number(digits: &str) -> Option<i64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

const fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

const fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
const fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_instants() {
        for (text, expected) in [
            ("1970-01-01T00:00:00Z", Some(0)),
            ("2006-05-01T00:00:00Z", Some(1_146_441_600)),
            ("2006-05-31T00:00:00Z", Some(1_149_033_600)),
            ("2000-02-29T12:34:56", Some(951_827_696)),
            ("2000-02-29T12:34:56.789Z", Some(951_827_696)),
            ("2006-05-01T02:00:00+02:00", Some(1_146_441_600)),
            ("2006-04-30T22:00:00-02:00", Some(1_146_441_600)),
            ("1969-12-31T23:59:59Z", Some(-1)),
            ("2006-05-01T24:00:00Z", Some(1_146_528_000)),
            ("2001-02-29T00:00:00Z", None),
            ("2006-13-01T00:00:00Z", None),
            ("2006-05-01 00:00:00Z", None),
            ("2006-05-01T00:00:00+2:00", None),
            ("2006-05-01T00:00:60Z", None),
            ("2006-05-01T00:00:00.Z", None),
            ("0000-01-01T00:00:00Z", None),
            ("2006-05-01", None),
            ("", None),
        ] {
            assert_eq!(parse(text), expected, "{text}");
        }
    }

    proptest! {
        /// Every instant from year 1 to 9999 prints (as UTC) and parses back.
        #[test]
        fn round_trip(seconds in -62_135_596_800_i64..=253_402_300_799) {
            let days = seconds.div_euclid(86_400);
            let of_day = seconds.rem_euclid(86_400);
            // Inverse of days_from_civil (Hinnant's civil_from_days).
            let z = days + 719_468;
            let era = z.div_euclid(146_097);
            let doe = z - era * 146_097;
            let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
            let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            let mp = (5 * doy + 2) / 153;
            let day = doy - (153 * mp + 2) / 5 + 1;
            let month = if mp < 10 { mp + 3 } else { mp - 9 };
            let year = yoe + era * 400 + i64::from(month <= 2);
            let text = format!(
                "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
                of_day / 3600,
                of_day / 60 % 60,
                of_day % 60
            );
            prop_assert_eq!(parse(&text), Some(seconds), "{}", text);
        }

        #[test]
        fn never_panics(text in "\\PC{0,40}") {
            let _ = parse(&text);
        }
    }
}
