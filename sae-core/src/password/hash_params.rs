//! Cost parameters of the password hashing algorithms, with their bounds.
//!
//! The same bounds apply to a policy and to a stored hash about to be verified, so a stored
//! (or imported) string cannot make verification allocate gigabytes or spin for minutes.

use serde::{Deserialize, Serialize};

use super::hash::{HashAlgorithm, HashError};

/// Argon2 cost parameters. The output is always 32 bytes and the salt 16 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Argon2Params {
    m_kib: u32,
    t: u32,
    p: u32,
}

impl Argon2Params {
    /// OWASP's recommendation for argon2id: m = 19456 KiB (19 MiB), t = 2, p = 1.
    pub const OWASP: Self = Self {
        m_kib: 19_456,
        t: 2,
        p: 1,
    };
    /// Largest memory cost accepted, in KiB (1 GiB).
    pub const MAX_M_KIB: u32 = 1 << 20;
    /// Largest number of passes accepted.
    pub const MAX_T: u32 = 16;
    /// Largest degree of parallelism accepted.
    pub const MAX_P: u32 = 16;

    /// Checks `1 <= p <= 16`, `max(8, 8·p) <= m_kib <= 1048576`, `1 <= t <= 16`.
    ///
    /// # Errors
    /// [`HashError::ParamOutOfRange`] naming `m_kib`, `t` or `p`.
    pub fn new(m_kib: u32, t: u32, p: u32) -> Result<Self, HashError> {
        check("p", p, 1, Self::MAX_P)?;
        check("m_kib", m_kib, 8 * p, Self::MAX_M_KIB)?;
        check("t", t, 1, Self::MAX_T)?;
        Ok(Self { m_kib, t, p })
    }

    /// Memory cost in KiB.
    #[must_use]
    pub const fn m_kib(&self) -> u32 {
        self.m_kib
    }

    /// Number of passes.
    #[must_use]
    pub const fn t(&self) -> u32 {
        self.t
    }

    /// Degree of parallelism (lanes).
    #[must_use]
    pub const fn p(&self) -> u32 {
        self.p
    }
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self::OWASP
    }
}

/// PBKDF2 iteration count: 1000..=10 000 000 (1000 is the `pbkdf2` crate's floor).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pbkdf2Rounds(u32);

impl Pbkdf2Rounds {
    /// OWASP's recommendation for PBKDF2-HMAC-SHA256.
    pub const OWASP_SHA256: Self = Self(600_000);
    /// OWASP's recommendation for PBKDF2-HMAC-SHA512.
    pub const OWASP_SHA512: Self = Self(210_000);
    /// Smallest count accepted.
    pub const MIN: u32 = 1_000;
    /// Largest count accepted.
    pub const MAX: u32 = 10_000_000;

    /// Checks `1000 <= rounds <= 10_000_000`.
    ///
    /// # Errors
    /// [`HashError::ParamOutOfRange`] naming `rounds`.
    pub fn new(rounds: u32) -> Result<Self, HashError> {
        check("rounds", rounds, Self::MIN, Self::MAX)?;
        Ok(Self(rounds))
    }

    /// The iteration count.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0
    }
}

fn check(name: &'static str, value: u32, min: u32, max: u32) -> Result<(), HashError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(HashError::ParamOutOfRange {
            name,
            value: u64::from(value),
            min: u64::from(min),
            max: u64::from(max),
        })
    }
}

/// Unvalidated JSON form of the cost parameters (`hash_params` in a password policy):
/// `{m_kib?, t?, p?}` for argon2id, `{rounds?}` for PBKDF2. Missing fields take OWASP's
/// recommendation; a field of the other family is refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashParamsInput {
    /// Argon2 memory cost in KiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub m_kib: Option<u32>,
    /// Argon2 passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t: Option<u32>,
    /// Argon2 parallelism.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<u32>,
    /// PBKDF2 iterations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds: Option<u32>,
}

/// How new passwords are hashed: an algorithm with its cost parameters.
///
/// The default is argon2id with OWASP's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashPolicy {
    /// Argon2id, version 0x13.
    Argon2id(Argon2Params),
    /// PBKDF2-HMAC-SHA256 (OWASP: 600 000 rounds).
    Pbkdf2Sha256(Pbkdf2Rounds),
    /// PBKDF2-HMAC-SHA512 (OWASP: 210 000 rounds).
    Pbkdf2Sha512(Pbkdf2Rounds),
}

impl Default for HashPolicy {
    fn default() -> Self {
        Self::recommended(HashAlgorithm::Argon2id)
    }
}

impl HashPolicy {
    /// `algorithm` with OWASP's recommended parameters.
    #[must_use]
    pub const fn recommended(algorithm: HashAlgorithm) -> Self {
        match algorithm {
            HashAlgorithm::Argon2id => Self::Argon2id(Argon2Params::OWASP),
            HashAlgorithm::Pbkdf2Sha256 => Self::Pbkdf2Sha256(Pbkdf2Rounds::OWASP_SHA256),
            HashAlgorithm::Pbkdf2Sha512 => Self::Pbkdf2Sha512(Pbkdf2Rounds::OWASP_SHA512),
        }
    }

    /// The algorithm.
    #[must_use]
    pub const fn algorithm(&self) -> HashAlgorithm {
        match self {
            Self::Argon2id(_) => HashAlgorithm::Argon2id,
            Self::Pbkdf2Sha256(_) => HashAlgorithm::Pbkdf2Sha256,
            Self::Pbkdf2Sha512(_) => HashAlgorithm::Pbkdf2Sha512,
        }
    }

    /// Builds a policy from its JSON parts; absent parameters take OWASP's values.
    ///
    /// # Errors
    /// [`HashError::ParamOutOfRange`] or [`HashError::ParamNotApplicable`].
    pub fn from_input(
        algorithm: HashAlgorithm,
        params: Option<&HashParamsInput>,
    ) -> Result<Self, HashError> {
        let recommended = Self::recommended(algorithm);
        let Some(input) = params else {
            return Ok(recommended);
        };
        let not_for = |name: &'static str| HashError::ParamNotApplicable { name, algorithm };
        match recommended {
            Self::Argon2id(d) => {
                if input.rounds.is_some() {
                    return Err(not_for("rounds"));
                }
                Ok(Self::Argon2id(Argon2Params::new(
                    input.m_kib.unwrap_or(d.m_kib),
                    input.t.unwrap_or(d.t),
                    input.p.unwrap_or(d.p),
                )?))
            }
            Self::Pbkdf2Sha256(d) | Self::Pbkdf2Sha512(d) => {
                for (name, value) in [("m_kib", input.m_kib), ("t", input.t), ("p", input.p)] {
                    if value.is_some() {
                        return Err(not_for(name));
                    }
                }
                let rounds = Pbkdf2Rounds::new(input.rounds.unwrap_or(d.get()))?;
                Ok(match algorithm {
                    HashAlgorithm::Pbkdf2Sha512 => Self::Pbkdf2Sha512(rounds),
                    _ => Self::Pbkdf2Sha256(rounds),
                })
            }
        }
    }

    /// The JSON parameters, or `None` when they are the recommended ones (so the API's
    /// `hash_params` only appears when an administrator changed it).
    #[must_use]
    pub fn to_input(&self) -> Option<HashParamsInput> {
        if *self == Self::recommended(self.algorithm()) {
            return None;
        }
        Some(match self {
            Self::Argon2id(a) => HashParamsInput {
                m_kib: Some(a.m_kib),
                t: Some(a.t),
                p: Some(a.p),
                rounds: None,
            },
            Self::Pbkdf2Sha256(r) | Self::Pbkdf2Sha512(r) => HashParamsInput {
                rounds: Some(r.get()),
                ..HashParamsInput::default()
            },
        })
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
    fn argon2_bounds() {
        // (m, t, p, refused parameter)
        let rows: &[(u32, u32, u32, Option<&str>)] = &[
            (19_456, 2, 1, None),
            (8, 1, 1, None),
            (7, 1, 1, Some("m_kib")),
            (16, 1, 2, None),
            (15, 1, 2, Some("m_kib")),
            (1 << 20, 16, 16, None),
            ((1 << 20) + 1, 1, 1, Some("m_kib")),
            (64, 0, 1, Some("t")),
            (64, 17, 1, Some("t")),
            (64, 1, 0, Some("p")),
            (1024, 1, 17, Some("p")),
        ];
        for &(m, t, p, refused) in rows {
            let got = Argon2Params::new(m, t, p).err().map(|e| match e {
                HashError::ParamOutOfRange { name, .. } => name,
                other => panic!("({m},{t},{p}): unexpected {other}"),
            });
            assert_eq!(got, refused, "row ({m},{t},{p})");
        }
    }

    #[test]
    fn pbkdf2_bounds() {
        for (rounds, ok) in [
            (999, false),
            (1000, true),
            (10_000_000, true),
            (10_000_001, false),
        ] {
            assert_eq!(Pbkdf2Rounds::new(rounds).is_ok(), ok, "rounds {rounds}");
        }
    }

    #[test]
    fn input_round_trip_and_family_check() {
        let argon = HashParamsInput {
            m_kib: Some(64),
            t: Some(1),
            p: Some(1),
            rounds: None,
        };
        let policy = HashPolicy::from_input(HashAlgorithm::Argon2id, Some(&argon)).unwrap();
        assert_eq!(
            policy,
            HashPolicy::Argon2id(Argon2Params::new(64, 1, 1).unwrap())
        );
        assert_eq!(policy.to_input(), Some(argon));
        assert_eq!(
            HashPolicy::default().to_input(),
            None,
            "recommended params are implicit"
        );
        let wrong = HashParamsInput {
            rounds: Some(5000),
            ..HashParamsInput::default()
        };
        assert!(matches!(
            HashPolicy::from_input(HashAlgorithm::Argon2id, Some(&wrong)),
            Err(HashError::ParamNotApplicable { name: "rounds", .. })
        ));
        assert_eq!(
            HashPolicy::from_input(HashAlgorithm::Pbkdf2Sha512, Some(&wrong)).unwrap(),
            HashPolicy::Pbkdf2Sha512(Pbkdf2Rounds::new(5000).unwrap())
        );
        assert!(matches!(
            HashPolicy::from_input(HashAlgorithm::Pbkdf2Sha256, Some(&argon)),
            Err(HashError::ParamNotApplicable { name: "m_kib", .. })
        ));
    }
}
