//! HOTP (RFC 4226): generation, verification with a look-ahead window, two-code
//! resynchronisation (§7.4) and replay rejection.
//!
//! The HMAC (RFC 2104) key state is computed once, in [`Hotp::new`] (see the `mac` submodule):
//! a code then costs exactly two hash compressions and no allocation. Verification
//! computes every code of its window and compares in constant time, without early exit.

mod mac;

use core::fmt;
use core::ops::RangeInclusive;

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use super::{Algorithm, Code, Digits, OtpError, Verified};
use crate::secret::Secret;
use mac::KeyedMac;

/// Look-ahead window of a HOTP verification: how many counters beyond the next expected
/// one are tried (RFC 4226 §7.4, parameter *s*). Default 10, at most 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HotpWindow {
    look_ahead: u32,
}

impl HotpWindow {
    /// Largest look-ahead accepted; beyond it, use two-code resynchronisation.
    pub const MAX_LOOK_AHEAD: u32 = 100;

    /// A window trying the next expected counter and `look_ahead` more.
    ///
    /// # Errors
    /// [`OtpError::LookAheadTooLarge`] above [`Self::MAX_LOOK_AHEAD`].
    pub const fn new(look_ahead: u32) -> Result<Self, OtpError> {
        if look_ahead > Self::MAX_LOOK_AHEAD {
            return Err(OtpError::LookAheadTooLarge {
                look_ahead,
                max: Self::MAX_LOOK_AHEAD,
            });
        }
        Ok(Self { look_ahead })
    }

    /// Number of counters tried beyond the next expected one.
    #[must_use]
    pub const fn look_ahead(self) -> u32 {
        self.look_ahead
    }
}

impl Default for HotpWindow {
    fn default() -> Self {
        Self { look_ahead: 10 }
    }
}

/// Search range of a two-code resynchronisation (RFC 4226 §7.4): how many counters beyond
/// the next expected one the first of the two codes may be. Default 100, 1..=1000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResyncWindow {
    range: u32,
}

impl ResyncWindow {
    /// Largest range accepted.
    pub const MAX_RANGE: u32 = 1000;

    /// A resynchronisation range of `range` counters.
    ///
    /// # Errors
    /// [`OtpError::ResyncRangeOutOfBounds`] for 0 or above [`Self::MAX_RANGE`].
    pub const fn new(range: u32) -> Result<Self, OtpError> {
        if range == 0 || range > Self::MAX_RANGE {
            return Err(OtpError::ResyncRangeOutOfBounds {
                range,
                max: Self::MAX_RANGE,
            });
        }
        Ok(Self { range })
    }

    /// Number of counters searched beyond the next expected one.
    #[must_use]
    pub const fn range(self) -> u32 {
        self.range
    }
}

impl Default for ResyncWindow {
    fn default() -> Self {
        Self { range: 100 }
    }
}

/// A HOTP generator and verifier for one secret, with its HMAC key state precomputed.
///
/// Counters are `u64`. Replay state is the caller's: pass the last accepted counter
/// (`None` before the first success) and persist [`Verified::counter`] atomically.
#[derive(Clone)]
pub struct Hotp {
    mac: KeyedMac,
    algorithm: Algorithm,
    digits: Digits,
}

impl Hotp {
    /// Keys a generator for `secret` (any length ≥ 1 byte).
    #[must_use]
    pub fn new(secret: &Secret, algorithm: Algorithm, digits: Digits) -> Self {
        Self {
            mac: KeyedMac::new(secret.expose_bytes(), algorithm),
            algorithm,
            digits,
        }
    }

    /// The HMAC hash function.
    #[must_use]
    pub const fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The number of digits of a code.
    #[must_use]
    pub const fn digits(&self) -> Digits {
        self.digits
    }

    /// The code for `counter` (format it with [`super::format_code`]).
    #[must_use]
    pub fn generate(&self, counter: u64) -> u32 {
        self.mac.hotp(counter, self.digits)
    }

    /// Verifies `code` against the counters from the next expected one
    /// (`last_accepted + 1`, or 0) through `window.look_ahead()` more.
    ///
    /// The whole window is always computed and compared in constant time. The last
    /// accepted counter is also computed, so that presenting the most recently used code
    /// again is reported as [`OtpError::CodeReused`] rather than as an invalid code. When
    /// several counters match, the lowest fresh one wins. Once `u64::MAX` has been
    /// accepted, no counter is fresh any more.
    ///
    /// # Errors
    /// [`OtpError::CodeReused`] when the code matches only the last accepted counter,
    /// [`OtpError::InvalidCode`] when it matches nothing, [`OtpError::CodeLength`] when it
    /// was parsed with another number of digits.
    pub fn verify(
        &self,
        code: &Code,
        last_accepted: Option<u64>,
        window: HotpWindow,
    ) -> Result<Verified, OtpError> {
        self.check_digits(code)?;
        let next = next_counter(last_accepted);
        let first = last_accepted.unwrap_or(0);
        let last = next.map_or(u64::MAX, |n| n.saturating_add(u64::from(window.look_ahead)));
        let counter = scan(
            &self.mac,
            self.digits,
            code.value(),
            first..=last,
            last_accepted,
        )?;
        Ok(Verified::new(counter, next.unwrap_or(u64::MAX)))
    }

    /// Two-code resynchronisation (RFC 4226 §7.4): accepts when `first` and `second` are
    /// the codes of two consecutive fresh counters *c*, *c + 1* with *c* within
    /// `range.range()` counters of the next expected one. Returns *c + 1*, to be stored as
    /// the last accepted counter.
    ///
    /// The whole range is computed and compared in constant time; the most recent pairs
    /// at or below the last accepted counter are computed too, so a replayed pair is
    /// reported as such.
    ///
    /// # Errors
    /// [`OtpError::CodeReused`], [`OtpError::InvalidCode`], [`OtpError::CodeLength`] as for
    /// [`Hotp::verify`].
    pub fn resync(
        &self,
        first: &Code,
        second: &Code,
        last_accepted: Option<u64>,
        range: ResyncWindow,
    ) -> Result<Verified, OtpError> {
        self.check_digits(first)?;
        self.check_digits(second)?;
        let next = next_counter(last_accepted);
        // The pair (c, c + 1) needs c + 1 to exist, so c stops at u64::MAX - 1.
        let lowest = last_accepted.map_or(0, |last| last.saturating_sub(1));
        let highest = next
            .map_or(u64::MAX, |n| n.saturating_add(u64::from(range.range)))
            .min(u64::MAX - 1)
            .max(lowest);
        let counter = scan_pairs(
            &self.mac,
            self.digits,
            [first.value(), second.value()],
            lowest..=highest,
            last_accepted,
        )?;
        Ok(Verified::new(counter, next.unwrap_or(u64::MAX)))
    }

    /// Verifies `code` against every counter of `counters` (used by TOTP, whose
    /// counters are time steps); `expected` is the counter drift is measured from.
    pub(crate) fn verify_range(
        &self,
        code: &Code,
        counters: RangeInclusive<u64>,
        last_accepted: Option<u64>,
        expected: u64,
    ) -> Result<Verified, OtpError> {
        self.check_digits(code)?;
        let counter = scan(
            &self.mac,
            self.digits,
            code.value(),
            counters,
            last_accepted,
        )?;
        Ok(Verified::new(counter, expected))
    }

    /// Refuses a code parsed for another number of digits.
    fn check_digits(&self, code: &Code) -> Result<(), OtpError> {
        if code.digits() == self.digits {
            Ok(())
        } else {
            Err(OtpError::CodeLength {
                expected: self.digits.get(),
                found: usize::from(code.digits().get()),
            })
        }
    }
}

impl fmt::Debug for Hotp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hotp")
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .finish_non_exhaustive()
    }
}

/// The counter after `last_accepted` (0 when nothing was accepted yet); `None` when
/// `u64::MAX` was accepted and no fresh counter is left.
fn next_counter(last_accepted: Option<u64>) -> Option<u64> {
    last_accepted.map_or(Some(0), |last| last.checked_add(1))
}

/// Whether `counter` is above the last accepted one, as a `Choice`.
fn is_fresh(counter: u64, last_accepted: Option<u64>) -> Choice {
    Choice::from(u8::from(last_accepted.is_none_or(|last| counter > last)))
}

/// Constant-time scan of `counters` for `code`: the lowest fresh matching counter, or
/// why there is none.
fn scan(
    mac: &KeyedMac,
    digits: Digits,
    code: u64,
    counters: RangeInclusive<u64>,
    last_accepted: Option<u64>,
) -> Result<u64, OtpError> {
    let mut found = Choice::from(0);
    let mut reused = Choice::from(0);
    let mut matched: u64 = 0;
    mac.for_each_code(digits, counters, |counter, candidate| {
        let equal = u64::from(candidate).ct_eq(&code);
        let fresh = is_fresh(counter, last_accepted);
        let take = equal & fresh & !found;
        matched.conditional_assign(&counter, take);
        found |= take;
        reused |= equal & !fresh;
    });
    scan_outcome(found, matched, reused)
}

/// Constant-time scan for `codes` at consecutive counters (c, c + 1) with c in `firsts`
/// (whose end must be below `u64::MAX`): the c + 1 of the lowest fresh pair. Each code
/// is computed once.
fn scan_pairs(
    mac: &KeyedMac,
    digits: Digits,
    codes: [u64; 2],
    firsts: RangeInclusive<u64>,
    last_accepted: Option<u64>,
) -> Result<u64, OtpError> {
    let (start, end) = firsts.into_inner();
    let mut found = Choice::from(0);
    let mut reused = Choice::from(0);
    let mut matched: u64 = 0;
    let mut previous: Option<u32> = None;
    mac.for_each_code(digits, start..=end.saturating_add(1), |counter, current| {
        // `previous` is the code of counter − 1; it is missing only on the first call.
        if let Some(previous) = previous {
            let first_equal = u64::from(previous).ct_eq(&codes[0]);
            let equal = first_equal & u64::from(current).ct_eq(&codes[1]);
            let fresh = is_fresh(counter.saturating_sub(1), last_accepted);
            let take = equal & fresh & !found;
            matched.conditional_assign(&counter, take);
            found |= take;
            reused |= equal & !fresh;
        }
        previous = Some(current);
    });
    scan_outcome(found, matched, reused)
}

/// Turns the outcome of a constant-time scan into the verification answer.
fn scan_outcome(found: Choice, counter: u64, reused: Choice) -> Result<u64, OtpError> {
    if bool::from(found) {
        Ok(counter)
    } else if bool::from(reused) {
        Err(OtpError::CodeReused)
    } else {
        Err(OtpError::InvalidCode)
    }
}

#[cfg(test)]
#[allow(
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;
    use crate::otp::format_code;
    use proptest::prelude::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Rfc4226 {
        secret_ascii: String,
        digits: u8,
        algorithm: String,
        rows: Vec<Rfc4226Row>,
    }

    #[derive(Deserialize)]
    struct Rfc4226Row {
        counter: u64,
        truncated_dec: u32,
        hotp: String,
    }

    fn rfc4226() -> Rfc4226 {
        serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/rfc4226_appendix_d.json"
        )))
        .expect("the RFC 4226 vector file is valid JSON")
    }

    fn hotp(secret: &[u8], algorithm: Algorithm, digits: u8) -> Hotp {
        Hotp::new(
            &Secret::from_bytes(secret).expect("non-empty"),
            algorithm,
            Digits::new(digits).expect("in range"),
        )
    }

    fn code(hotp: &Hotp, counter: u64) -> Code {
        let text = format_code(hotp.generate(counter), hotp.digits());
        Code::parse(text.as_str(), hotp.digits()).expect("formatted codes parse")
    }

    fn window(look_ahead: u32) -> HotpWindow {
        HotpWindow::new(look_ahead).expect("in range")
    }

    #[test]
    fn rfc4226_appendix_d_codes() {
        let vectors = rfc4226();
        assert_eq!(vectors.algorithm, "sha1");
        let generator = hotp(
            vectors.secret_ascii.as_bytes(),
            Algorithm::Sha1,
            vectors.digits,
        );
        for row in &vectors.rows {
            let value = generator.generate(row.counter);
            assert_eq!(
                format_code(value, generator.digits()).as_str(),
                row.hotp,
                "HOTP, counter {}",
                row.counter
            );
            let presented = Code::parse(&row.hotp, generator.digits()).expect("6 digits");
            let verified = generator.verify(
                &presented,
                row.counter.checked_sub(1),
                HotpWindow::default(),
            );
            assert_eq!(
                verified.map(|v| (v.counter(), v.drift())),
                Ok((row.counter, 0)),
                "verify, counter {}",
                row.counter
            );
        }
    }

    #[test]
    fn ten_digit_hotp_is_the_zero_padded_31_bit_value() {
        let vectors = rfc4226();
        let generator = hotp(vectors.secret_ascii.as_bytes(), Algorithm::Sha1, 10);
        for row in &vectors.rows {
            let text = format_code(generator.generate(row.counter), generator.digits());
            assert_eq!(
                text.as_str(),
                format!("{:010}", row.truncated_dec),
                "counter {}",
                row.counter
            );
        }
    }

    #[test]
    fn matches_oathtool_at_u64_max() {
        // oathtool --hotp -d 8 3132333435363738393031323334353637383930 -c 18446744073709551615
        let generator = hotp(b"12345678901234567890", Algorithm::Sha1, 8);
        assert_eq!(
            format_code(generator.generate(u64::MAX), generator.digits()).as_str(),
            "63094451"
        );
    }

    #[test]
    fn verify_accepts_within_the_look_ahead_and_reports_drift() {
        let generator = hotp(b"12345678901234567890", Algorithm::Sha1, 6);
        // (last accepted, presented counter, look-ahead, expected (counter, drift))
        type Row = (Option<u64>, u64, u32, Result<(u64, i64), OtpError>);
        let cases: &[Row] = &[
            (None, 0, 10, Ok((0, 0))),
            (None, 10, 10, Ok((10, 10))),
            (None, 11, 10, Err(OtpError::InvalidCode)),
            (Some(4), 5, 0, Ok((5, 0))),
            (Some(4), 6, 0, Err(OtpError::InvalidCode)),
            (Some(4), 9, 5, Ok((9, 4))),
            (Some(4), 4, 10, Err(OtpError::CodeReused)),
            (Some(4), 3, 10, Err(OtpError::InvalidCode)),
        ];
        for &(last, counter, look_ahead, expected) in cases {
            let result = generator
                .verify(&code(&generator, counter), last, window(look_ahead))
                .map(|v| (v.counter(), v.drift()));
            assert_eq!(
                result, expected,
                "last {last:?}, counter {counter}, look-ahead {look_ahead}"
            );
        }
    }

    #[test]
    fn verify_refuses_a_code_of_another_length() {
        let generator = hotp(b"12345678901234567890", Algorithm::Sha1, 6);
        let eight = Code::parse("12345678", Digits::EIGHT).expect("valid");
        assert_eq!(
            generator.verify(&eight, None, HotpWindow::default()),
            Err(OtpError::CodeLength {
                expected: 6,
                found: 8
            })
        );
    }

    #[test]
    fn counters_at_the_top_of_u64_never_wrap() {
        let generator = hotp(b"12345678901234567890", Algorithm::Sha1, 8);
        let top = code(&generator, u64::MAX);
        // u64::MAX is reachable from just below it, with a window reaching past the end.
        let verified = generator.verify(&top, Some(u64::MAX - 1), window(100));
        assert_eq!(
            verified.map(|v| (v.counter(), v.drift())),
            Ok((u64::MAX, 0))
        );
        let verified = generator.verify(&top, Some(u64::MAX - 5), window(100));
        assert_eq!(verified.map(|v| v.counter()), Ok(u64::MAX));
        // Once u64::MAX is accepted, nothing is fresh any more.
        assert_eq!(
            generator.verify(&top, Some(u64::MAX), window(100)),
            Err(OtpError::CodeReused)
        );
        let low = code(&generator, 0);
        assert!(
            generator.verify(&low, Some(u64::MAX), window(100)).is_err(),
            "counter 0 accepted after u64::MAX"
        );
    }

    #[test]
    fn resync_finds_consecutive_codes_beyond_the_look_ahead() {
        let generator = hotp(b"12345678901234567890", Algorithm::Sha1, 6);
        let range = ResyncWindow::default();
        let last = Some(9);
        let (first, second) = (code(&generator, 60), code(&generator, 61));
        assert_eq!(
            generator.verify(&first, last, HotpWindow::default()),
            Err(OtpError::InvalidCode),
            "precondition: beyond the look-ahead"
        );
        let verified = generator.resync(&first, &second, last, range);
        assert_eq!(verified.map(|v| (v.counter(), v.drift())), Ok((61, 51)));
        // Not consecutive, or in the wrong order: refused.
        let third = code(&generator, 62);
        assert_eq!(
            generator.resync(&first, &third, last, range),
            Err(OtpError::InvalidCode)
        );
        assert_eq!(
            generator.resync(&second, &first, last, range),
            Err(OtpError::InvalidCode)
        );
        // Beyond the resynchronisation range: refused.
        let (far, farther) = (code(&generator, 200), code(&generator, 201));
        assert_eq!(
            generator.resync(&far, &farther, last, range),
            Err(OtpError::InvalidCode)
        );
        let wide = ResyncWindow::new(1000).expect("in range");
        assert_eq!(
            generator
                .resync(&far, &farther, last, wide)
                .map(|v| v.counter()),
            Ok(201)
        );
    }

    #[test]
    fn resync_rejects_replayed_pairs() {
        let generator = hotp(b"12345678901234567890", Algorithm::Sha1, 6);
        let range = ResyncWindow::default();
        let pair = |c: u64| (code(&generator, c), code(&generator, c + 1));
        let (a, b) = pair(41);
        assert_eq!(
            generator.resync(&a, &b, Some(42), range),
            Err(OtpError::CodeReused),
            "pair ending at the last accepted counter"
        );
        let (a, b) = pair(42);
        assert_eq!(
            generator.resync(&a, &b, Some(42), range),
            Err(OtpError::CodeReused),
            "pair starting at the last accepted counter"
        );
        let (a, b) = pair(43);
        assert_eq!(
            generator
                .resync(&a, &b, Some(42), range)
                .map(|v| v.counter()),
            Ok(44),
            "first fresh pair"
        );
        let (a, b) = pair(u64::MAX - 1);
        assert_eq!(
            generator
                .resync(&a, &b, Some(u64::MAX - 2), range)
                .map(|v| v.counter()),
            Ok(u64::MAX),
            "pair ending at u64::MAX"
        );
        assert_eq!(
            generator.resync(&a, &b, Some(u64::MAX), range),
            Err(OtpError::CodeReused),
            "nothing is fresh after u64::MAX"
        );
    }

    #[test]
    fn window_bounds() {
        assert_eq!(HotpWindow::default().look_ahead(), 10);
        assert!(HotpWindow::new(100).is_ok());
        assert_eq!(
            HotpWindow::new(101),
            Err(OtpError::LookAheadTooLarge {
                look_ahead: 101,
                max: 100
            })
        );
        assert_eq!(ResyncWindow::default().range(), 100);
        assert!(ResyncWindow::new(0).is_err());
        assert!(ResyncWindow::new(1001).is_err());
    }

    #[test]
    fn debug_does_not_show_key_material() {
        let generator = hotp(b"12345678901234567890", Algorithm::Sha1, 6);
        assert_eq!(
            format!("{generator:?}"),
            "Hotp { algorithm: Sha1, digits: Digits(6), .. }"
        );
    }

    proptest! {
        #[test]
        fn replay_boundary(last in any::<u64>()) {
            let generator = hotp(b"12345678901234567890", Algorithm::Sha1, 8);
            let replayed = generator.verify(&code(&generator, last), Some(last), window(10));
            // The code of `last` may also equal a fresh counter's code by chance (1 in 10^8
            // per counter); then accepting that fresh counter is correct.
            if let Ok(verified) = replayed {
                prop_assert!(verified.counter() > last);
            } else {
                prop_assert_eq!(replayed, Err(OtpError::CodeReused));
            }
            if let Some(next) = last.checked_add(1) {
                let fresh = generator.verify(&code(&generator, next), Some(last), window(10));
                prop_assert_eq!(fresh.map(|v| (v.counter(), v.drift())), Ok((next, 0)));
            }
        }

        #[test]
        fn resync_accepts_any_pair_within_the_range(
            last in prop_oneof![Just(None), any::<u64>().prop_map(Some), (u64::MAX - 300..=u64::MAX).prop_map(Some)],
            offset in 0u64..=100,
        ) {
            let generator = hotp(b"12345678901234567890", Algorithm::Sha1, 8);
            let next = last.map_or(Some(0), |l| l.checked_add(1));
            let start = next.and_then(|n| n.checked_add(offset));
            match start.and_then(|c| c.checked_add(1).map(|d| (c, d))) {
                Some((c, d)) => {
                    let verified = generator.resync(
                        &code(&generator, c),
                        &code(&generator, d),
                        last,
                        ResyncWindow::default(),
                    );
                    // A chance collision (1 in 10^16 per pair) could only pick a lower pair.
                    prop_assert_eq!(
                        verified.map(|v| (v.counter(), v.drift())),
                        Ok((d, i64::try_from(offset + 1).expect("small")))
                    );
                }
                None => {
                    // The pair would pass u64::MAX: nothing fresh is left to accept.
                    let top = code(&generator, u64::MAX);
                    let below = code(&generator, u64::MAX - 1);
                    let result = generator.resync(&below, &top, last, ResyncWindow::default());
                    prop_assert!(result.is_err() || last.is_none_or(|l| l < u64::MAX - 1));
                }
            }
        }

        #[test]
        fn verify_never_panics_and_never_accepts_an_old_counter(
            last in prop_oneof![Just(None), any::<u64>().prop_map(Some), (u64::MAX - 20..=u64::MAX).prop_map(Some)],
            counter in prop_oneof![any::<u64>(), 0u64..30, u64::MAX - 30..=u64::MAX],
            look_ahead in 0u32..=100,
        ) {
            let generator = hotp(b"12345678901234567890", Algorithm::Sha1, 6);
            let presented = code(&generator, counter);
            if let Ok(verified) = generator.verify(&presented, last, window(look_ahead)) {
                prop_assert!(last.is_none_or(|l| verified.counter() > l));
                prop_assert!(verified.drift() >= 0 && verified.drift() <= i64::from(look_ahead));
            }
            let second = code(&generator, counter.saturating_add(1));
            if let Ok(verified) = generator.resync(&presented, &second, last, ResyncWindow::default()) {
                prop_assert!(last.is_none_or(|l| verified.counter() > l.saturating_add(1)));
            }
        }
    }
}
