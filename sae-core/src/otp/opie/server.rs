//! Server side of OPIE: the stored state, verification, and the two enrolments (SPEC §4.1),
//! neither of which keeps a pass phrase.

use rand::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::hash::chain;
use super::{Algorithm, Challenge, Count, ListEntry, OpieError, Otp, PassPhrase, Seed};

/// What the server stores for an OPIE token: algorithm, seed, count `n` and the OTP for `n`
/// (the last one accepted, or the enrolment one). It holds no secret that lets anyone compute
/// the next OTP to be accepted.
#[derive(Debug, Clone)]
pub struct OpieState {
    algorithm: Algorithm,
    seed: Seed,
    count: Count,
    last_otp: Otp,
}

/// The result of a paper enrolment: the state to store and the list to print for the user.
/// The list is zeroized on drop; the pass phrase that produced it is already gone.
#[derive(Debug)]
pub struct PaperEnrolment {
    state: OpieState,
    list: Zeroizing<Vec<ListEntry>>,
}

impl OpieState {
    /// Rebuilds a state read back from storage (a count of 0 is allowed: it is exhausted).
    #[must_use]
    pub fn from_parts(algorithm: Algorithm, seed: Seed, count: Count, last_otp: Otp) -> Self {
        Self {
            algorithm,
            seed,
            count,
            last_otp,
        }
    }

    /// Client-initialised enrolment: the client computed `otp` for sequence `count` from its
    /// own pass phrase; the server stores it and will next ask for `count − 1`.
    ///
    /// # Errors
    /// [`OpieError::CountOutOfRange`] for a count of 0 (nothing would be left to ask for).
    pub fn enrol_client(
        algorithm: Algorithm,
        seed: Seed,
        count: Count,
        otp: Otp,
    ) -> Result<Self, OpieError> {
        Ok(Self::from_parts(
            algorithm,
            seed,
            count.check_enrolment()?,
            otp,
        ))
    }

    /// Paper enrolment: draws a pass phrase (24 characters, 120 bits) and, unless `seed` is
    /// given, a seed (`ke123456` style) from `rng`; computes the printed list of the next
    /// `list_size` OTPs (sequence numbers `count − 1` down to `count − list_size`) and the
    /// state holding only the OTP for `count`. The pass phrase is zeroized before returning.
    ///
    /// Any cryptographic RNG works, e.g. `rand::rng()` or
    /// `rand::rand_core::UnwrapErr(rand::rngs::SysRng)`.
    ///
    /// # Errors
    /// [`OpieError::CountOutOfRange`] for a count of 0, [`OpieError::ListSizeOutOfRange`]
    /// unless `1 <= list_size <= count`.
    pub fn enrol_paper<R: CryptoRng + ?Sized>(
        rng: &mut R,
        algorithm: Algorithm,
        seed: Option<Seed>,
        count: Count,
        list_size: u64,
    ) -> Result<PaperEnrolment, OpieError> {
        let count = count.check_enrolment()?;
        if list_size == 0 || list_size > u64::from(count.get()) {
            return Err(OpieError::ListSizeOutOfRange {
                list_size,
                max: count.get(),
            });
        }
        let seed = seed.unwrap_or_else(|| Seed::random(rng));
        let pass_phrase = PassPhrase::random(rng);
        let (list, top) = chain(algorithm, &seed, &pass_phrase, count, list_size)?;
        drop(pass_phrase);
        Ok(PaperEnrolment {
            state: Self::from_parts(algorithm, seed, count, top),
            list,
        })
    }

    /// The hash algorithm.
    #[must_use]
    pub const fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The seed.
    #[must_use]
    pub const fn seed(&self) -> &Seed {
        &self.seed
    }

    /// The count `n`: the sequence number of the stored OTP. The next OTP asked for is `n − 1`.
    #[must_use]
    pub const fn count(&self) -> Count {
        self.count
    }

    /// The stored OTP (for sequence `n`), to persist.
    #[must_use]
    pub const fn last_otp(&self) -> Otp {
        self.last_otp
    }

    /// Whether the count is 0, so no OTP can be accepted any more.
    #[must_use]
    pub const fn is_exhausted(&self) -> bool {
        self.count.get() == 0
    }

    /// The challenge to show: `otp-<algorithm> <n − 1> <seed>`.
    ///
    /// # Errors
    /// [`OpieError::Exhausted`] at count 0.
    pub fn challenge(&self) -> Result<Challenge, OpieError> {
        let sequence = self.count.pred().ok_or(OpieError::Exhausted)?;
        Ok(Challenge::new(self.algorithm, sequence, self.seed))
    }

    /// Verifies an OTP typed as six words or 16 hex digits (detected automatically); see
    /// [`OpieState::verify_otp`].
    ///
    /// # Errors
    /// [`OpieError::Exhausted`], [`OpieError::MalformedOtp`], [`OpieError::WrongOtp`] or
    /// [`OpieError::Replayed`].
    pub fn verify(&self, presented: &str) -> Result<Self, OpieError> {
        if self.is_exhausted() {
            return Err(OpieError::Exhausted);
        }
        self.verify_otp(Otp::parse(presented)?)
    }

    /// Verifies the OTP for `n − 1`: one hash-and-fold of it must equal the stored OTP
    /// (compared in constant time). On success returns the new state to store — count
    /// `n − 1`, stored OTP = `presented` — which the caller must persist atomically, replacing
    /// this one; `self` is left unchanged.
    ///
    /// # Errors
    /// [`OpieError::Exhausted`] at count 0; [`OpieError::Replayed`] when `presented` is the
    /// stored OTP (the one accepted last); [`OpieError::WrongOtp`] otherwise.
    pub fn verify_otp(&self, presented: Otp) -> Result<Self, OpieError> {
        let Some(count) = self.count.pred() else {
            return Err(OpieError::Exhausted);
        };
        let matches = presented.next(self.algorithm).ct_eq(&self.last_otp);
        let replayed = presented.ct_eq(&self.last_otp);
        if bool::from(matches) {
            Ok(Self {
                algorithm: self.algorithm,
                seed: self.seed,
                count,
                last_otp: presented,
            })
        } else if bool::from(replayed) {
            Err(OpieError::Replayed)
        } else {
            Err(OpieError::WrongOtp)
        }
    }
}

impl PaperEnrolment {
    /// The state to store.
    #[must_use]
    pub const fn state(&self) -> &OpieState {
        &self.state
    }

    /// The printed list, in the order the OTPs will be asked for.
    #[must_use]
    pub fn list(&self) -> &[ListEntry] {
        &self.list
    }

    /// Both parts, by value.
    #[must_use]
    pub fn into_parts(self) -> (OpieState, Zeroizing<Vec<ListEntry>>) {
        (self.state, self.list)
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;
    use crate::otp::opie::compute;

    fn phrase() -> PassPhrase {
        PassPhrase::new("This is a test.").unwrap()
    }

    fn count(n: u64) -> Count {
        Count::new(n).unwrap()
    }

    fn client_state(algorithm: Algorithm, n: u64) -> OpieState {
        let seed = Seed::new("TeSt").unwrap();
        let otp = compute(algorithm, &seed, &phrase(), count(n));
        OpieState::enrol_client(algorithm, seed, count(n), otp).unwrap()
    }

    #[test]
    fn verifies_down_to_exhaustion() {
        for algorithm in [Algorithm::Md4, Algorithm::Md5, Algorithm::Sha1] {
            let mut state = client_state(algorithm, 5);
            for n in (0..5).rev() {
                let challenge = state.challenge().unwrap();
                assert_eq!(challenge.sequence(), count(n), "{algorithm} n={n}");
                let otp = challenge.respond(&phrase());
                // Alternate the two input forms.
                let typed = if n % 2 == 0 {
                    otp.to_words().to_lowercase()
                } else {
                    otp.to_hex()
                };
                let next = state.verify(&typed).unwrap();
                assert_eq!(next.count(), count(n), "{algorithm} n={n}");
                assert_eq!(next.last_otp().to_u64(), otp.to_u64(), "{algorithm} n={n}");
                assert_eq!(
                    next.verify(&typed).unwrap_err(),
                    if n == 0 {
                        OpieError::Exhausted
                    } else {
                        OpieError::Replayed
                    },
                    "{algorithm} n={n}: same OTP again"
                );
                state = next;
            }
            assert!(state.is_exhausted(), "{algorithm}");
            assert_eq!(state.challenge().unwrap_err(), OpieError::Exhausted);
            let any = compute(algorithm, state.seed(), &phrase(), Count::ZERO);
            assert_eq!(state.verify_otp(any).unwrap_err(), OpieError::Exhausted);
        }
    }

    #[test]
    fn rejects_wrong_and_malformed_otps() {
        let state = client_state(Algorithm::Md5, 100);
        // The RFC vector for count 99 is the right answer; others are not.
        let rows: [(&str, Result<u32, OpieError>); 6] = [
            ("BAIL TUFT BITS GANG CHEF THY", Ok(99)),
            ("50FE 1962 C496 5880", Ok(99)),
            // Count 1's OTP: well formed, wrong sequence number.
            ("EASE OIL FUM CURE AWRY AVIS", Err(OpieError::WrongOtp)),
            ("50FE 1962 C496 5881", Err(OpieError::WrongOtp)),
            (
                "BAIL TUFT BITS GANG CHEF THE",
                Err(OpieError::MalformedOtp(
                    crate::otp::opie::words::DecodeError::BadChecksum,
                )),
            ),
            (
                "",
                Err(OpieError::MalformedOtp(
                    crate::otp::opie::words::DecodeError::Empty,
                )),
            ),
        ];
        for (input, expected) in rows {
            let result = state.verify(input).map(|s| s.count().get());
            assert_eq!(result, expected, "input {input:?}");
        }
        // A skipped OTP (count 98) is not accepted either: only n − 1 is.
        let skipped = compute(Algorithm::Md5, state.seed(), &phrase(), count(98));
        assert_eq!(state.verify_otp(skipped).unwrap_err(), OpieError::WrongOtp);
    }

    #[test]
    fn enrolment_count_bounds() {
        let seed = Seed::new("ke1234").unwrap();
        let otp = Otp::from_u64(1);
        assert_eq!(
            OpieState::enrol_client(Algorithm::Md5, seed, Count::ZERO, otp).unwrap_err(),
            OpieError::CountOutOfRange {
                count: 0,
                min: 1,
                max: Count::MAX
            }
        );
        assert!(OpieState::enrol_client(Algorithm::Md5, seed, count(10_000), otp).is_ok());
        let mut rng = rand::rng();
        let rows: [(u64, u64, OpieError); 3] = [
            (
                0,
                1,
                OpieError::CountOutOfRange {
                    count: 0,
                    min: 1,
                    max: Count::MAX,
                },
            ),
            (
                5,
                0,
                OpieError::ListSizeOutOfRange {
                    list_size: 0,
                    max: 5,
                },
            ),
            (
                5,
                6,
                OpieError::ListSizeOutOfRange {
                    list_size: 6,
                    max: 5,
                },
            ),
        ];
        for (n, size, error) in rows {
            let result = OpieState::enrol_paper(&mut rng, Algorithm::Sha1, None, count(n), size);
            assert_eq!(result.unwrap_err(), error, "count {n}, list size {size}");
        }
    }

    #[test]
    fn paper_list_is_accepted_one_by_one() {
        let mut rng = rand::rng();
        let enrolment =
            OpieState::enrol_paper(&mut rng, Algorithm::Sha1, None, count(20), 20).unwrap();
        let (mut state, list) = enrolment.into_parts();
        assert_eq!(state.count(), count(20));
        assert_eq!(list.len(), 20);
        assert!(Seed::new(state.seed().as_str()).is_ok());
        for entry in list.iter() {
            let challenge = state.challenge().unwrap();
            assert_eq!(
                challenge.sequence().get(),
                entry.sequence(),
                "list entry order"
            );
            state = state
                .verify(&entry.otp().to_words())
                .unwrap_or_else(|e| panic!("entry {}: {e}", entry.sequence()));
        }
        assert!(state.is_exhausted());
    }

    #[test]
    fn paper_keeps_a_given_seed_and_lists_a_prefix() {
        let mut rng = rand::rng();
        let seed = Seed::new("Paper1").unwrap();
        let enrolment =
            OpieState::enrol_paper(&mut rng, Algorithm::Md4, Some(seed), count(50), 3).unwrap();
        assert_eq!(enrolment.state().seed().as_str(), "paper1");
        let sequences: Vec<u32> = enrolment.list().iter().map(ListEntry::sequence).collect();
        assert_eq!(sequences, [49, 48, 47]);
        let after = enrolment
            .state()
            .verify_otp(enrolment.list()[0].otp())
            .unwrap();
        assert_eq!(after.count(), count(49));
        // Two enrolments draw different pass phrases, hence different lists.
        let other = OpieState::enrol_paper(
            &mut rng,
            Algorithm::Md4,
            Some(Seed::new("paper1").unwrap()),
            count(50),
            3,
        )
        .unwrap();
        assert_ne!(
            other.list()[0].otp().to_u64(),
            enrolment.list()[0].otp().to_u64()
        );
    }

    #[test]
    fn paper_enrolment_accepts_os_and_thread_rngs() {
        let mut os = rand::rand_core::UnwrapErr(rand::rngs::SysRng);
        let by_os = OpieState::enrol_paper(&mut os, Algorithm::Md5, None, count(2), 1);
        assert_eq!(by_os.map(|e| e.list().len()).ok(), Some(1));
        let dyn_rng: &mut dyn rand::CryptoRng = &mut rand::rng();
        let by_dyn = OpieState::enrol_paper(dyn_rng, Algorithm::Md5, None, count(2), 2);
        assert_eq!(by_dyn.map(|e| e.list().len()).ok(), Some(2));
    }

    #[test]
    fn state_round_trips_through_storage_parts() {
        let state = client_state(Algorithm::Sha1, 7);
        let stored_hex = state.last_otp().to_hex();
        let restored = OpieState::from_parts(
            state.algorithm(),
            Seed::new(state.seed().as_str()).unwrap(),
            state.count(),
            Otp::from_hex(&stored_hex).unwrap(),
        );
        let answer = compute(Algorithm::Sha1, state.seed(), &phrase(), count(6));
        assert_eq!(restored.verify_otp(answer).unwrap().count(), count(6));
        assert!(!format!("{restored:?}").contains(&stored_hex));
    }
}
