//! Lockout and throttle settings: validated types and their JSON form.

use serde::{Deserialize, Serialize};

/// Why lockout or throttle settings were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LockoutError {
    /// `attempts` outside 1..=10.
    #[error("attempts must be between 1 and 10, got {value}")]
    AttemptsOutOfRange {
        /// The refused value.
        value: u32,
    },
    /// `minutes` outside 1..=525600 (one year).
    #[error("minutes must be between 1 and 525600 (one year), got {value}")]
    MinutesOutOfRange {
        /// The refused value.
        value: u32,
    },
    /// `throttle.after` outside 1..=100.
    #[error("throttle.after must be between 1 and 100 failures, got {value}")]
    ThrottleAfterOutOfRange {
        /// The refused value.
        value: u32,
    },
    /// `throttle.max_delay_s` outside 1..=86400.
    #[error("throttle.max_delay_s must be between 1 and 86400 seconds, got {value}")]
    ThrottleMaxDelayOutOfRange {
        /// The refused value.
        value: u32,
    },
}

impl LockoutError {
    /// The JSON field the error is about (for the API's problem+json `field`).
    #[must_use]
    pub fn field(&self) -> &'static str {
        match self {
            LockoutError::AttemptsOutOfRange { .. } => "attempts",
            LockoutError::MinutesOutOfRange { .. } => "minutes",
            LockoutError::ThrottleAfterOutOfRange { .. } => "throttle.after",
            LockoutError::ThrottleMaxDelayOutOfRange { .. } => "throttle.max_delay_s",
        }
    }
}

/// Number of consecutive failures of one factor that locks the user: 1..=10 (seed: "o limite é 10").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempts(u8);

impl Attempts {
    /// Largest accepted value.
    pub const MAX: u8 = 10;

    /// Checks `1 <= value <= 10`.
    ///
    /// # Errors
    /// [`LockoutError::AttemptsOutOfRange`].
    pub fn new(value: u32) -> Result<Self, LockoutError> {
        match u8::try_from(value) {
            Ok(v @ 1..=Self::MAX) => Ok(Self(v)),
            _ => Err(LockoutError::AttemptsOutOfRange { value }),
        }
    }

    /// The number of failures.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0 as u32
    }
}

/// Duration of a temporary lock in minutes: 1..=525600 (one year).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockMinutes(u32);

impl LockMinutes {
    /// Largest accepted value (365 days).
    pub const MAX: u32 = 525_600;

    /// Checks `1 <= value <= 525600`.
    ///
    /// # Errors
    /// [`LockoutError::MinutesOutOfRange`].
    pub fn new(value: u32) -> Result<Self, LockoutError> {
        if (1..=Self::MAX).contains(&value) {
            Ok(Self(value))
        } else {
            Err(LockoutError::MinutesOutOfRange { value })
        }
    }

    /// The minutes.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0
    }

    /// The duration in milliseconds.
    #[must_use]
    pub const fn millis(self) -> u64 {
        self.0 as u64 * 60_000
    }
}

/// What a lock does once `attempts` is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockType {
    /// Locked until an administrator unlocks the user.
    Permanent,
    /// Locked for the given time, then the lock and all counters clear by themselves.
    Temporary(LockMinutes),
}

const DEFAULT_MINUTES: LockMinutes = LockMinutes(15);

/// Lockout settings: off by default (as in the seed); when off, failures never lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockoutPolicy {
    enabled: bool,
    attempts: Attempts,
    block: BlockType,
}

impl LockoutPolicy {
    /// Builds a policy from validated parts.
    #[must_use]
    pub const fn new(enabled: bool, attempts: Attempts, block: BlockType) -> Self {
        Self {
            enabled,
            attempts,
            block,
        }
    }

    /// Whether failures can lock at all.
    #[must_use]
    pub const fn enabled(&self) -> bool {
        self.enabled
    }

    /// Consecutive failures of one factor that lock the user.
    #[must_use]
    pub const fn attempts(&self) -> Attempts {
        self.attempts
    }

    /// Permanent or temporary lock.
    #[must_use]
    pub const fn block(&self) -> BlockType {
        self.block
    }
}

impl Default for LockoutPolicy {
    /// Disabled; if enabled without other changes: 5 attempts, temporary 15-minute lock
    /// (a temporary lock limits the damage of an attacker locking users out on purpose).
    fn default() -> Self {
        Self {
            enabled: false,
            attempts: Attempts(5),
            block: BlockType::Temporary(DEFAULT_MINUTES),
        }
    }
}

/// Throttle settings (RFC 4226 §7.3): on by default, after 5 failures, at most 900 s.
///
/// The delay formula is documented on [`crate::lockout::throttle_delay`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    enabled: bool,
    after: u32,
    max_delay_s: u32,
}

impl ThrottlePolicy {
    /// Default number of free consecutive failures.
    pub const DEFAULT_AFTER: u32 = 5;
    /// Default cap of the delay in seconds.
    pub const DEFAULT_MAX_DELAY_S: u32 = 900;

    /// Checks `1 <= after <= 100` and `1 <= max_delay_s <= 86400` (also when disabled).
    ///
    /// # Errors
    /// [`LockoutError::ThrottleAfterOutOfRange`], [`LockoutError::ThrottleMaxDelayOutOfRange`].
    pub fn new(enabled: bool, after: u32, max_delay_s: u32) -> Result<Self, LockoutError> {
        if !(1..=100).contains(&after) {
            return Err(LockoutError::ThrottleAfterOutOfRange { value: after });
        }
        if !(1..=86_400).contains(&max_delay_s) {
            return Err(LockoutError::ThrottleMaxDelayOutOfRange { value: max_delay_s });
        }
        Ok(Self {
            enabled,
            after,
            max_delay_s,
        })
    }

    /// A disabled throttle (keeps the default numbers for when it is turned back on).
    #[must_use]
    pub const fn disabled() -> Self {
        Self {
            enabled: false,
            after: Self::DEFAULT_AFTER,
            max_delay_s: Self::DEFAULT_MAX_DELAY_S,
        }
    }

    /// Whether attempts are throttled at all.
    #[must_use]
    pub const fn enabled(&self) -> bool {
        self.enabled
    }

    /// Consecutive failures allowed before delays start.
    #[must_use]
    pub const fn after(&self) -> u32 {
        self.after
    }

    /// Cap of the delay, in seconds.
    #[must_use]
    pub const fn max_delay_s(&self) -> u32 {
        self.max_delay_s
    }
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            after: Self::DEFAULT_AFTER,
            max_delay_s: Self::DEFAULT_MAX_DELAY_S,
        }
    }
}

/// The whole `PUT /v1/config/lockout` resource: lockout plus throttle, validated.
///
/// Serde goes through [`LockoutConfigInput`]; to get the structured error (with
/// [`LockoutError::field`]) deserialize the input and call `try_from` yourself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "LockoutConfigInput", into = "LockoutConfigInput")]
pub struct LockoutConfig {
    lockout: LockoutPolicy,
    throttle: ThrottlePolicy,
}

impl LockoutConfig {
    /// Combines validated parts.
    #[must_use]
    pub const fn new(lockout: LockoutPolicy, throttle: ThrottlePolicy) -> Self {
        Self { lockout, throttle }
    }

    /// The lockout part.
    #[must_use]
    pub const fn lockout(&self) -> &LockoutPolicy {
        &self.lockout
    }

    /// The throttle part.
    #[must_use]
    pub const fn throttle(&self) -> &ThrottlePolicy {
        &self.throttle
    }
}

/// Block type as spelled in JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockTypeName {
    /// `"permanent"`.
    Permanent,
    /// `"temporary"`.
    Temporary,
}

/// Unvalidated JSON form of [`LockoutConfig`]:
/// `{enabled, attempts, block_type: "permanent"|"temporary", minutes?, throttle?: {enabled,
/// after, max_delay_s}}`. Missing fields take the defaults (off, 5, temporary, 15 minutes,
/// throttle on after 5 up to 900 s); `minutes` is ignored for a permanent block; unknown
/// fields are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockoutConfigInput {
    /// Lockout on or off (default off).
    #[serde(default)]
    pub enabled: bool,
    /// Failures that lock, 1..=10 (default 5).
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// Permanent or temporary (default temporary).
    #[serde(default = "default_block_type")]
    pub block_type: BlockTypeName,
    /// Lock duration of a temporary block, 1..=525600 (default 15); ignored when permanent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<u32>,
    /// Throttle settings (default on, 5, 900).
    #[serde(default)]
    pub throttle: ThrottleInput,
}

fn default_attempts() -> u32 {
    LockoutPolicy::default().attempts.get()
}

fn default_block_type() -> BlockTypeName {
    BlockTypeName::Temporary
}

/// Unvalidated JSON form of [`ThrottlePolicy`]; missing fields take the defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThrottleInput {
    /// Throttle on or off (default on).
    pub enabled: bool,
    /// Free consecutive failures, 1..=100 (default 5).
    pub after: u32,
    /// Cap of the delay in seconds, 1..=86400 (default 900).
    pub max_delay_s: u32,
}

impl Default for ThrottleInput {
    fn default() -> Self {
        let t = ThrottlePolicy::default();
        Self {
            enabled: t.enabled,
            after: t.after,
            max_delay_s: t.max_delay_s,
        }
    }
}

impl TryFrom<ThrottleInput> for ThrottlePolicy {
    type Error = LockoutError;

    fn try_from(input: ThrottleInput) -> Result<Self, Self::Error> {
        ThrottlePolicy::new(input.enabled, input.after, input.max_delay_s)
    }
}

impl TryFrom<LockoutConfigInput> for LockoutConfig {
    type Error = LockoutError;

    fn try_from(input: LockoutConfigInput) -> Result<Self, Self::Error> {
        let attempts = Attempts::new(input.attempts)?;
        let block = match input.block_type {
            BlockTypeName::Permanent => BlockType::Permanent,
            BlockTypeName::Temporary => {
                let minutes = input.minutes.unwrap_or(DEFAULT_MINUTES.0);
                BlockType::Temporary(LockMinutes::new(minutes)?)
            }
        };
        let throttle = ThrottlePolicy::try_from(input.throttle)?;
        Ok(Self {
            lockout: LockoutPolicy::new(input.enabled, attempts, block),
            throttle,
        })
    }
}

impl From<LockoutConfig> for LockoutConfigInput {
    fn from(config: LockoutConfig) -> Self {
        let (block_type, minutes) = match config.lockout.block {
            BlockType::Permanent => (BlockTypeName::Permanent, None),
            BlockType::Temporary(m) => (BlockTypeName::Temporary, Some(m.get())),
        };
        Self {
            enabled: config.lockout.enabled,
            attempts: config.lockout.attempts.get(),
            block_type,
            minutes,
            throttle: ThrottleInput {
                enabled: config.throttle.enabled,
                after: config.throttle.after,
                max_delay_s: config.throttle.max_delay_s,
            },
        }
    }
}

/// The administrators' lockout (`PUT /v1/config/admin-lockout`): temporary only — a
/// permanent lock of the console's well-known logins would be a denial of service anyone
/// could cause — after `attempts` failures (default 10) for `minutes` (default 15), plus
/// the throttle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "AdminLockoutInput", into = "AdminLockoutInput")]
pub struct AdminLockout {
    attempts: Attempts,
    minutes: LockMinutes,
    throttle: ThrottlePolicy,
}

impl AdminLockout {
    /// Default failures that lock an administrator.
    pub const DEFAULT_ATTEMPTS: u32 = 10;
    /// Default lock duration, minutes.
    pub const DEFAULT_MINUTES: u32 = 15;

    /// The gate's configuration: lockout on, temporary, with the throttle.
    #[must_use]
    pub fn config(&self) -> LockoutConfig {
        LockoutConfig::new(
            LockoutPolicy::new(true, self.attempts, BlockType::Temporary(self.minutes)),
            self.throttle,
        )
    }
}

impl Default for AdminLockout {
    fn default() -> Self {
        Self {
            attempts: Attempts(10),
            minutes: LockMinutes(15),
            throttle: ThrottlePolicy::default(),
        }
    }
}

/// Unvalidated JSON form of [`AdminLockout`]: `{attempts?, minutes?, throttle?}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminLockoutInput {
    /// Failures that lock, 1..=10 (default 10).
    #[serde(default = "default_admin_attempts")]
    pub attempts: u32,
    /// Lock duration, 1..=525600 minutes (default 15).
    #[serde(default = "default_admin_minutes")]
    pub minutes: u32,
    /// Throttle settings (default on, 5, 900).
    #[serde(default)]
    pub throttle: ThrottleInput,
}

fn default_admin_attempts() -> u32 {
    AdminLockout::DEFAULT_ATTEMPTS
}

fn default_admin_minutes() -> u32 {
    AdminLockout::DEFAULT_MINUTES
}

impl TryFrom<AdminLockoutInput> for AdminLockout {
    type Error = LockoutError;

    fn try_from(input: AdminLockoutInput) -> Result<Self, Self::Error> {
        Ok(Self {
            attempts: Attempts::new(input.attempts)?,
            minutes: LockMinutes::new(input.minutes)?,
            throttle: ThrottlePolicy::try_from(input.throttle)?,
        })
    }
}

impl From<AdminLockout> for AdminLockoutInput {
    fn from(a: AdminLockout) -> Self {
        Self {
            attempts: a.attempts.get(),
            minutes: a.minutes.get(),
            throttle: ThrottleInput {
                enabled: a.throttle.enabled,
                after: a.throttle.after,
                max_delay_s: a.throttle.max_delay_s,
            },
        }
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

    #[test]
    fn bounds_are_enforced_and_name_the_field() {
        // (json, expected field of the error or None when accepted)
        let rows: &[(&str, Option<&str>)] = &[
            (
                r#"{"enabled":true,"attempts":1,"block_type":"permanent"}"#,
                None,
            ),
            (
                r#"{"enabled":true,"attempts":10,"block_type":"permanent"}"#,
                None,
            ),
            (
                r#"{"enabled":true,"attempts":0,"block_type":"permanent"}"#,
                Some("attempts"),
            ),
            (
                r#"{"enabled":true,"attempts":11,"block_type":"permanent"}"#,
                Some("attempts"),
            ),
            (
                r#"{"enabled":true,"attempts":300,"block_type":"permanent"}"#,
                Some("attempts"),
            ),
            (
                r#"{"enabled":true,"attempts":3,"block_type":"temporary"}"#,
                None,
            ),
            (
                r#"{"enabled":true,"attempts":3,"block_type":"temporary","minutes":0}"#,
                Some("minutes"),
            ),
            (
                r#"{"enabled":true,"attempts":3,"block_type":"temporary","minutes":525600}"#,
                None,
            ),
            (
                r#"{"enabled":true,"attempts":3,"block_type":"temporary","minutes":525601}"#,
                Some("minutes"),
            ),
            (
                r#"{"enabled":true,"attempts":3,"block_type":"permanent","minutes":0}"#,
                None,
            ),
            (
                r#"{"enabled":false,"attempts":3,"block_type":"permanent","throttle":{"after":0}}"#,
                Some("throttle.after"),
            ),
            (
                r#"{"enabled":false,"attempts":3,"block_type":"permanent","throttle":{"after":101}}"#,
                Some("throttle.after"),
            ),
            (
                r#"{"enabled":false,"attempts":3,"block_type":"permanent","throttle":{"max_delay_s":0}}"#,
                Some("throttle.max_delay_s"),
            ),
            (
                r#"{"enabled":false,"attempts":3,"block_type":"permanent","throttle":{"max_delay_s":86401}}"#,
                Some("throttle.max_delay_s"),
            ),
            (
                r#"{"enabled":false,"attempts":3,"block_type":"permanent","throttle":{"enabled":false,"after":3,"max_delay_s":60}}"#,
                None,
            ),
        ];
        for (json, expected) in rows {
            let input: LockoutConfigInput =
                serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"));
            let got = LockoutConfig::try_from(input).err().map(|e| e.field());
            assert_eq!(got, *expected, "row {json}");
        }
    }

    #[test]
    fn defaults_are_off_lockout_and_on_throttle() {
        let c: LockoutConfig = serde_json::from_str("{}").unwrap();
        assert!(!c.lockout().enabled());
        assert!(c.throttle().enabled());
        assert_eq!(c.throttle().after(), 5);
        assert_eq!(c.throttle().max_delay_s(), 900);
        assert_eq!(c, LockoutConfig::default());
    }

    #[test]
    fn json_round_trip_matches_the_api_shape() {
        let json = r#"{"enabled":true,"attempts":3,"block_type":"temporary","minutes":30,"throttle":{"enabled":true,"after":4,"max_delay_s":600}}"#;
        let c: LockoutConfig = serde_json::from_str(json).unwrap();
        assert_eq!(c.lockout().block(), BlockType::Temporary(LockMinutes(30)));
        assert_eq!(serde_json::to_string(&c).unwrap(), json);
        let perm = r#"{"enabled":true,"attempts":3,"block_type":"permanent","throttle":{"enabled":false,"after":5,"max_delay_s":900}}"#;
        let p: LockoutConfig = serde_json::from_str(perm).unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), perm);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let r: Result<LockoutConfig, _> = serde_json::from_str(r#"{"enabld":true}"#);
        assert!(r.is_err());
    }

    #[test]
    fn error_messages_name_field_and_bound() {
        let e = Attempts::new(11).unwrap_err();
        assert_eq!(e.to_string(), "attempts must be between 1 and 10, got 11");
    }

    #[test]
    fn administrators_lock_temporarily_only() {
        let a: AdminLockout = serde_json::from_str("{}").unwrap();
        assert_eq!(a, AdminLockout::default());
        let cfg = a.config();
        assert!(cfg.lockout().enabled());
        assert_eq!(cfg.lockout().attempts().get(), 10);
        assert_eq!(
            cfg.lockout().block(),
            BlockType::Temporary(LockMinutes::new(15).unwrap())
        );
        for (json, field) in [
            (r#"{"attempts":0}"#, "attempts"),
            (r#"{"attempts":11}"#, "attempts"),
            (r#"{"minutes":0}"#, "minutes"),
            (r#"{"throttle":{"after":0}}"#, "throttle.after"),
        ] {
            let input: AdminLockoutInput = serde_json::from_str(json).unwrap();
            let e = AdminLockout::try_from(input).unwrap_err();
            assert_eq!(e.field(), field, "{json}");
        }
        assert!(
            serde_json::from_str::<AdminLockoutInput>(r#"{"block_type":"permanent"}"#).is_err(),
            "no permanent block for administrators"
        );
    }
}
