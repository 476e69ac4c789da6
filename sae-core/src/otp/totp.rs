//! TOTP (RFC 6238): HOTP over the time step `(unix_time - T0) / step`, with a clock-drift
//! window, extra past steps (`token_window`) and replay rejection.
//!
//! Time is an argument (Unix seconds); this module never reads a clock.

use core::fmt;
use core::num::NonZeroU64;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{Algorithm, Code, Digits, Hotp, OtpError, Verified};
use crate::secret::Secret;

/// The TOTP time step (period) in seconds: at least 1, default 30.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct TimeStep(NonZeroU64);

impl TimeStep {
    /// 30 seconds, the default every authenticator app uses.
    pub const THIRTY_SECONDS: Self = Self(NonZeroU64::MIN.saturating_add(29));

    /// A step of `seconds` seconds.
    ///
    /// # Errors
    /// [`OtpError::TimeStepZero`] for 0.
    pub const fn new(seconds: u64) -> Result<Self, OtpError> {
        match NonZeroU64::new(seconds) {
            Some(seconds) => Ok(Self(seconds)),
            None => Err(OtpError::TimeStepZero),
        }
    }

    /// The step in seconds.
    #[must_use]
    pub const fn seconds(self) -> u64 {
        self.0.get()
    }
}

impl Default for TimeStep {
    fn default() -> Self {
        Self::THIRTY_SECONDS
    }
}

impl TryFrom<u64> for TimeStep {
    type Error = OtpError;

    fn try_from(seconds: u64) -> Result<Self, Self::Error> {
        Self::new(seconds)
    }
}

impl From<TimeStep> for u64 {
    fn from(step: TimeStep) -> Self {
        step.seconds()
    }
}

impl FromStr for TimeStep {
    type Err = OtpError;

    /// Parses a number of seconds; anything that is not a positive integer is refused as
    /// [`OtpError::TimeStepZero`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<u64>()
            .map_err(|_| OtpError::TimeStepZero)
            .and_then(Self::new)
    }
}

impl fmt::Display for TimeStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The TOTP acceptance window: `look_around` steps of clock drift both ways (default 1,
/// as RFC 6238 §5.2 recommends; at most 10) and `token_window − 1` further past steps
/// (`token_window` 1..=10, default 1 = only the current step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TotpWindow {
    look_around: u8,
    token_window: u8,
}

impl TotpWindow {
    /// Largest clock-drift tolerance accepted, in steps.
    pub const MAX_LOOK_AROUND: u8 = 10;
    /// Largest token window accepted.
    pub const MAX_TOKEN_WINDOW: u8 = 10;

    /// A window of `look_around` steps both ways plus `token_window − 1` past steps.
    ///
    /// # Errors
    /// [`OtpError::LookAroundTooLarge`], [`OtpError::TokenWindowOutOfRange`].
    pub const fn new(look_around: u8, token_window: u8) -> Result<Self, OtpError> {
        if look_around > Self::MAX_LOOK_AROUND {
            return Err(OtpError::LookAroundTooLarge {
                look_around,
                max: Self::MAX_LOOK_AROUND,
            });
        }
        if token_window == 0 || token_window > Self::MAX_TOKEN_WINDOW {
            return Err(OtpError::TokenWindowOutOfRange {
                token_window,
                max: Self::MAX_TOKEN_WINDOW,
            });
        }
        Ok(Self {
            look_around,
            token_window,
        })
    }

    /// Steps of clock drift tolerated both ways.
    #[must_use]
    pub const fn look_around(self) -> u8 {
        self.look_around
    }

    /// How many of the most recent steps are accepted before the drift tolerance.
    #[must_use]
    pub const fn token_window(self) -> u8 {
        self.token_window
    }

    /// Number of steps checked before the current one.
    const fn past_steps(self) -> u64 {
        // token_window >= 1 is guaranteed by the constructor.
        self.look_around as u64 + self.token_window.saturating_sub(1) as u64
    }
}

impl Default for TotpWindow {
    fn default() -> Self {
        Self {
            look_around: 1,
            token_window: 1,
        }
    }
}

/// A TOTP generator and verifier for one secret, with its HMAC key state precomputed.
///
/// Replay state is the caller's: pass the last accepted time step (`None` before the
/// first success) and persist [`Verified::counter`] atomically.
#[derive(Clone)]
pub struct Totp {
    hotp: Hotp,
    step: TimeStep,
    t0: u64,
}

impl Totp {
    /// Keys a generator for `secret` with time step `step` and epoch `t0` (Unix seconds,
    /// usually 0).
    #[must_use]
    pub fn new(
        secret: &Secret,
        algorithm: Algorithm,
        digits: Digits,
        step: TimeStep,
        t0: u64,
    ) -> Self {
        Self {
            hotp: Hotp::new(secret, algorithm, digits),
            step,
            t0,
        }
    }

    /// The HMAC hash function.
    #[must_use]
    pub const fn algorithm(&self) -> Algorithm {
        self.hotp.algorithm()
    }

    /// The number of digits of a code.
    #[must_use]
    pub const fn digits(&self) -> Digits {
        self.hotp.digits()
    }

    /// The time step.
    #[must_use]
    pub const fn step(&self) -> TimeStep {
        self.step
    }

    /// The epoch T0 (Unix seconds).
    #[must_use]
    pub const fn t0(&self) -> u64 {
        self.t0
    }

    /// The time step counter at `unix_time`: `(unix_time − T0) / step`.
    ///
    /// # Errors
    /// [`OtpError::TimeBeforeT0`] when `unix_time < T0`.
    pub const fn counter_at(&self, unix_time: u64) -> Result<u64, OtpError> {
        match unix_time.checked_sub(self.t0) {
            Some(elapsed) => Ok(elapsed / self.step.seconds()),
            None => Err(OtpError::TimeBeforeT0 {
                unix_time,
                t0: self.t0,
            }),
        }
    }

    /// The code at `unix_time` (format it with [`super::format_code`]).
    ///
    /// # Errors
    /// [`OtpError::TimeBeforeT0`].
    pub fn generate(&self, unix_time: u64) -> Result<u32, OtpError> {
        Ok(self.hotp.generate(self.counter_at(unix_time)?))
    }

    /// The code for time step counter `counter`.
    #[must_use]
    pub fn generate_for_counter(&self, counter: u64) -> u32 {
        self.hotp.generate(counter)
    }

    /// Verifies `code` at `unix_time` against the steps from
    /// `current − look_around − (token_window − 1)` to `current + look_around`, clamped
    /// to `0..=u64::MAX`.
    ///
    /// The whole window is always computed and compared in constant time; steps at or
    /// below `last_accepted` are never accepted, and a code matching only such steps is
    /// reported as [`OtpError::CodeReused`]. When several steps match, the lowest fresh
    /// one wins. [`Verified::drift`] is the matched step minus the current one.
    ///
    /// # Errors
    /// [`OtpError::TimeBeforeT0`], [`OtpError::CodeReused`], [`OtpError::InvalidCode`],
    /// [`OtpError::CodeLength`] (code parsed with another number of digits).
    pub fn verify(
        &self,
        code: &Code,
        unix_time: u64,
        last_accepted: Option<u64>,
        window: TotpWindow,
    ) -> Result<Verified, OtpError> {
        let current = self.counter_at(unix_time)?;
        let first = current.saturating_sub(window.past_steps());
        let last = current.saturating_add(u64::from(window.look_around));
        self.hotp
            .verify_range(code, first..=last, last_accepted, current)
    }
}

impl fmt::Debug for Totp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Totp")
            .field("algorithm", &self.algorithm())
            .field("digits", &self.digits())
            .field("step", &self.step)
            .field("t0", &self.t0)
            .finish_non_exhaustive()
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
    use std::collections::BTreeMap;

    #[derive(Deserialize)]
    struct Rfc6238 {
        step: u64,
        t0: u64,
        digits: u8,
        seeds_ascii: BTreeMap<String, String>,
        rows: Vec<Rfc6238Row>,
    }

    #[derive(Deserialize)]
    struct Rfc6238Row {
        unix_time: u64,
        #[serde(rename = "T_hex")]
        t_hex: String,
        sha1: String,
        sha256: String,
        sha512: String,
    }

    const SEED: &[u8] = b"12345678901234567890";

    fn totp(algorithm: Algorithm, digits: u8, step: u64, t0: u64) -> Totp {
        let seed: Vec<u8> = SEED
            .iter()
            .copied()
            .cycle()
            .take(algorithm.secret_len())
            .collect();
        Totp::new(
            &Secret::from_bytes(&seed).expect("non-empty"),
            algorithm,
            Digits::new(digits).expect("in range"),
            TimeStep::new(step).expect("non-zero"),
            t0,
        )
    }

    fn code_at(totp: &Totp, counter: u64) -> Code {
        let text = format_code(totp.generate_for_counter(counter), totp.digits());
        Code::parse(text.as_str(), totp.digits()).expect("formatted codes parse")
    }

    fn window(look_around: u8, token_window: u8) -> TotpWindow {
        TotpWindow::new(look_around, token_window).expect("in range")
    }

    #[test]
    fn rfc6238_appendix_b_vectors() {
        let vectors: Rfc6238 =
            serde_json::from_str(include_str!("../../data/rfc6238_appendix_b.json"))
                .expect("the RFC 6238 vector file is valid JSON");
        for (name, seed) in &vectors.seeds_ascii {
            let algorithm: Algorithm = name.parse().expect("known algorithm");
            let generator = Totp::new(
                &Secret::from_bytes(seed.as_bytes()).expect("non-empty"),
                algorithm,
                Digits::new(vectors.digits).expect("in range"),
                TimeStep::new(vectors.step).expect("non-zero"),
                vectors.t0,
            );
            for row in &vectors.rows {
                let expected = match algorithm {
                    Algorithm::Sha1 => &row.sha1,
                    Algorithm::Sha256 => &row.sha256,
                    Algorithm::Sha512 => &row.sha512,
                };
                let counter = generator.counter_at(row.unix_time).expect("after T0");
                assert_eq!(
                    format!("{counter:016X}"),
                    row.t_hex,
                    "T, {name} at {}",
                    row.unix_time
                );
                let value = generator.generate(row.unix_time).expect("after T0");
                assert_eq!(
                    format_code(value, generator.digits()).as_str(),
                    expected,
                    "TOTP, {name} at {}",
                    row.unix_time
                );
                let presented = Code::parse(expected, generator.digits()).expect("8 digits");
                let verified =
                    generator.verify(&presented, row.unix_time, None, TotpWindow::default());
                assert_eq!(
                    verified.map(|v| (v.counter(), v.drift())),
                    Ok((counter, 0)),
                    "verify, {name} at {}",
                    row.unix_time
                );
            }
        }
    }

    #[test]
    fn matches_oathtool_with_other_steps_and_digits() {
        // oathtool --totp=<hash> -d <digits> -s <step> --now <time> 3132...3930 (20-byte key)
        let key = Secret::from_bytes(SEED).expect("non-empty");
        let rows = [
            (Algorithm::Sha512, 8, 1, 100, "76623507"),
            (Algorithm::Sha256, 6, 30, 2_000_000_000, "428693"),
        ];
        for (algorithm, digits, step, unix_time, expected) in rows {
            let digits = Digits::new(digits).expect("in range");
            let step = TimeStep::new(step).expect("non-zero");
            let generator = Totp::new(&key, algorithm, digits, step, 0);
            let value = generator.generate(unix_time).expect("after T0");
            assert_eq!(
                format_code(value, digits).as_str(),
                expected,
                "{algorithm}, step {step}, at {unix_time}"
            );
        }
    }

    #[test]
    fn time_before_t0_is_an_error() {
        let generator = totp(Algorithm::Sha1, 6, 30, 1_000);
        let before = OtpError::TimeBeforeT0 {
            unix_time: 999,
            t0: 1_000,
        };
        assert_eq!(generator.counter_at(999), Err(before));
        assert_eq!(generator.generate(999), Err(before));
        let presented = code_at(&generator, 0);
        assert_eq!(
            generator
                .verify(&presented, 999, None, TotpWindow::default())
                .map(|v| v.counter()),
            Err(before)
        );
        assert_eq!(generator.counter_at(1_000), Ok(0));
        assert_eq!(generator.counter_at(1_029), Ok(0));
        assert_eq!(generator.counter_at(1_030), Ok(1));
    }

    #[test]
    fn window_shape() {
        let generator = totp(Algorithm::Sha1, 8, 30, 0);
        let now = 100 * 30 + 7; // step 100
        // (look_around, token_window, presented step, expected drift or error)
        let cases: &[(u8, u8, u64, Result<i64, OtpError>)] = &[
            (0, 1, 100, Ok(0)),
            (0, 1, 99, Err(OtpError::InvalidCode)),
            (0, 1, 101, Err(OtpError::InvalidCode)),
            (1, 1, 99, Ok(-1)),
            (1, 1, 101, Ok(1)),
            (1, 1, 98, Err(OtpError::InvalidCode)),
            (1, 1, 102, Err(OtpError::InvalidCode)),
            (1, 3, 97, Ok(-3)),
            (1, 3, 96, Err(OtpError::InvalidCode)),
            (1, 3, 102, Err(OtpError::InvalidCode)),
            (0, 3, 98, Ok(-2)),
            (0, 3, 101, Err(OtpError::InvalidCode)),
        ];
        for &(look_around, token_window, step, expected) in cases {
            let result = generator
                .verify(
                    &code_at(&generator, step),
                    now,
                    None,
                    window(look_around, token_window),
                )
                .map(|v| v.drift());
            assert_eq!(
                result, expected,
                "look_around {look_around}, token_window {token_window}, step {step}"
            );
        }
    }

    #[test]
    fn replay_boundary() {
        let generator = totp(Algorithm::Sha1, 8, 30, 0);
        let now = 100 * 30;
        let current = code_at(&generator, 100);
        assert_eq!(
            generator.verify(&current, now, Some(100), TotpWindow::default()),
            Err(OtpError::CodeReused),
            "step == last accepted"
        );
        assert_eq!(
            generator
                .verify(&current, now, Some(99), TotpWindow::default())
                .map(|v| v.counter()),
            Ok(100),
            "step == last accepted + 1"
        );
        let previous = code_at(&generator, 99);
        assert_eq!(
            generator.verify(&previous, now, Some(100), TotpWindow::default()),
            Err(OtpError::CodeReused),
            "step below last accepted, inside the window"
        );
        let ahead = code_at(&generator, 101);
        assert_eq!(
            generator
                .verify(&ahead, now, Some(100), TotpWindow::default())
                .map(|v| v.counter()),
            Ok(101),
            "a later step is still fresh"
        );
    }

    #[test]
    fn time_zero_and_u64_max_clamp_the_window() {
        let generator = totp(Algorithm::Sha1, 8, 30, 0);
        let wide = window(10, 10);
        let first = code_at(&generator, 0);
        assert_eq!(
            generator
                .verify(&first, 0, None, wide)
                .map(|v| (v.counter(), v.drift())),
            Ok((0, 0))
        );
        let per_second = totp(Algorithm::Sha1, 8, 1, 0);
        let top = code_at(&per_second, u64::MAX);
        assert_eq!(
            per_second
                .verify(&top, u64::MAX, None, wide)
                .map(|v| (v.counter(), v.drift())),
            Ok((u64::MAX, 0))
        );
        assert_eq!(
            per_second.verify(&top, u64::MAX, Some(u64::MAX), wide),
            Err(OtpError::CodeReused)
        );
        let late = code_at(&per_second, u64::MAX);
        assert_eq!(
            per_second
                .verify(&late, u64::MAX - 3, Some(u64::MAX - 1), wide)
                .map(|v| (v.counter(), v.drift())),
            Ok((u64::MAX, 3))
        );
    }

    #[test]
    fn window_and_step_bounds() {
        assert_eq!(TimeStep::new(0), Err(OtpError::TimeStepZero));
        assert_eq!(TimeStep::default().seconds(), 30);
        assert_eq!("45".parse::<TimeStep>().map(TimeStep::seconds), Ok(45));
        assert_eq!("0".parse::<TimeStep>(), Err(OtpError::TimeStepZero));
        assert_eq!(TotpWindow::default(), window(1, 1));
        assert_eq!(
            TotpWindow::new(11, 1),
            Err(OtpError::LookAroundTooLarge {
                look_around: 11,
                max: 10
            })
        );
        assert_eq!(
            TotpWindow::new(1, 0),
            Err(OtpError::TokenWindowOutOfRange {
                token_window: 0,
                max: 10
            })
        );
        assert!(TotpWindow::new(1, 11).is_err());
        assert!(TotpWindow::new(10, 10).is_ok());
    }

    proptest! {
        #[test]
        fn verify_never_panics_or_wraps(
            unix_time in prop_oneof![any::<u64>(), 0u64..200, u64::MAX - 200..=u64::MAX],
            t0 in prop_oneof![Just(0u64), any::<u64>()],
            step in prop_oneof![Just(1u64), Just(30u64), any::<u64>().prop_map(|s| s.max(1))],
            look_around in 0u8..=10,
            token_window in 1u8..=10,
            last in prop_oneof![Just(None), any::<u64>().prop_map(Some)],
            presented in 0u32..100_000_000,
        ) {
            let generator = totp(Algorithm::Sha1, 8, step, t0);
            let code = Code::parse(format_code(presented, Digits::EIGHT).as_str(), Digits::EIGHT)
                .expect("8 digits");
            match generator.verify(&code, unix_time, last, window(look_around, token_window)) {
                Ok(verified) => {
                    let current = generator.counter_at(unix_time).expect("verified");
                    prop_assert!(last.is_none_or(|l| verified.counter() > l));
                    prop_assert!(verified.drift() <= i64::from(look_around));
                    prop_assert!(
                        verified.drift() >= -(i64::from(look_around) + i64::from(token_window) - 1)
                    );
                    prop_assert_eq!(
                        i128::from(verified.counter()) - i128::from(current),
                        i128::from(verified.drift())
                    );
                }
                Err(OtpError::TimeBeforeT0 { .. }) => prop_assert!(unix_time < t0),
                Err(error) => prop_assert!(
                    matches!(error, OtpError::InvalidCode | OtpError::CodeReused),
                    "unexpected {:?}", error
                ),
            }
        }

        #[test]
        fn the_current_code_verifies_near_zero(unix_time in 0u64..120, look_around in 0u8..=10) {
            let generator = totp(Algorithm::Sha256, 6, 30, 0);
            let current = generator.counter_at(unix_time).expect("t0 = 0");
            let code = code_at(&generator, current);
            let verified = generator.verify(&code, unix_time, None, window(look_around, 1));
            // A window wider than the counter is clamped at step 0; a code colliding with
            // an earlier step (1 in 10^6 per step) may match that step instead.
            prop_assert!(verified.is_ok());
        }
    }
}
